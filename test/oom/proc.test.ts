/**
 * /proc/PID/oom_score and /proc/PID/oom_score_adj (fs/proc/base.c), and p.oomScoreAdj(). oom_score is
 * (1000 + badness × 1000 / totalpages) × 2 / 3 in C long arithmetic, worked by hand below for an x86-64
 * machine with 128 MiB: totalpages = 23296 (no swap), so oom_score_adj counts in units of 23 pages.
 */
import { describe, expect, it } from "vitest";
import { three } from "./helpers";
import { MmError, OomReport, boot } from "../../src";


describe("/proc/PID/oom_score", () => {
  it("badness a = 5121 + 13, b = 7681 + 18, c = 1 + 3 → 813, 886, 666", () => {
    const { m, a, b, c } = three();
    // a: 5134000 / 23296 = 220 → (1000 + 220) × 2 / 3 = 813; b: 7699000 / 23296 = 330 → 886; c: 0 → 666
    expect([a, b, c].map((p) => m.cat(`/proc/${p.pid}/oom_score`).text)).toEqual(["813\n", "886\n", "666\n"]);
    expect([a.oomScore, b.oomScore, c.oomScore]).toEqual([813, 886, 666]);
  });

  it("with oom_score_adj: +1000, +500, −500 (truncating toward zero), −1000 → 0", () => {
    const { m, a, b, c } = three();
    a.oomScoreAdj(1000); // 5134 + 23000 = 28134 → 1207 → 1471
    b.oomScoreAdj(500); // 7699 + 11500 = 19199 → 824 → 1216
    c.oomScoreAdj(-500); // 4 − 11500 = −11496 → −493 → 338
    expect([a, b, c].map((p) => m.cat(`/proc/${p.pid}/oom_score`).text)).toEqual(["1471\n", "1216\n", "338\n"]);
    a.oomScoreAdj(-1000);
    expect(m.cat(`/proc/${a.pid}/oom_score`).text).toBe("0\n");
  });
});

describe("oom_score_adj", () => {
  it("reads 0 by default, is set within −1000..1000, and /proc/PID/oom_score_adj shows it", () => {
    const { m, a } = three();
    expect(a.oomScoreAdj()).toBe(0);
    expect(m.cat(`/proc/${a.pid}/oom_score_adj`).text).toBe("0\n");
    expect(a.oomScoreAdj(-1000)).toBe(-1000);
    expect(m.cat(`/proc/${a.pid}/oom_score_adj`).text).toBe("-1000\n");
    expect(a.oomScoreAdj()).toBe(-1000);
  });

  it.each([1001, -1001, 2.5, "100", Number.NaN])("rejects %s with EINVAL and changes nothing", (v) => {
    const { a } = three();
    a.oomScoreAdj(7);
    let e: unknown;
    try {
      a.oomScoreAdj(v as number);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(MmError);
    expect((e as MmError).code).toBe("EINVAL");
    expect((e as MmError).message).toMatch(/^EINVAL: value: /);
    expect(a.oomScoreAdj()).toBe(7);
  });

  it("fork inherits it (copy_signal); a thread shares it with its group", () => {
    const { a } = three();
    a.oomScoreAdj(300);
    const child = a.fork();
    expect(child.oomScoreAdj()).toBe(300);
    child.oomScoreAdj(-20);
    expect(a.oomScoreAdj()).toBe(300);
    const t = a.thread();
    expect(t.oomScoreAdj()).toBe(300);
    t.oomScoreAdj(900);
    expect(a.oomScoreAdj()).toBe(900);
    expect(child.oomScoreAdj()).toBe(-20);
  });

  it("a dead process answers ESRCH", () => {
    const { m, c } = three();
    c.exit();
    expect(() => c.oomScoreAdj()).toThrow(/^ESRCH: pid 1002: no such process \(it exited\)/);
    expect(() => m.cat(`/proc/${c.pid}/oom_score`)).toThrow(/^ESRCH/);
  });
});

describe("m.oomKills()", () => {
  it("renders the scores, the victim and the log", () => {
    const { m, b } = three();
    b.oomScoreAdj(100);
    m.quietly(() => {
      while (!m.oomKills().length) m.allocPages(0);
    });
    const r = m.oomKills()[0]!;
    expect(r).toBeInstanceOf(OomReport);
    expect(r.view().summary).toBe("OomReport mmlab order-0: killed 1001 (b), badness 9999");
    const txt = r.toString();
    expect(txt).toContain("oom_score_adj counts in units of totalpages/1000 = 23 pages");
    expect(txt).toMatch(/1001 +b +7681 +0 +18 +100 +\+2300 +9999/);
    expect(r.toHTML()).toContain("Out of memory: Killed process 1001 (b)");
    expect(r.toJSON().victim).toEqual({ pid: 1001, name: "b", points: 9999, killed: [1001], deferred: false });
  });
});

describe("every arch", () => {
  it.each([
    [{ arch: "x86", ram: "64MiB" }],
    [{ arch: "x86_pae", ram: "64MiB" }],
    [{ arch: "x86_64", ram: "128MiB", la57: true }],
    [{ arch: "toy", ram: "256KiB" }],
    [{ arch: "x86", ram: "64MiB", split: "1G/3G" }],
  ] as const)("%j: oom_score, an OOM kill, the memory back", (cfg) => {
    const m = boot(cfg);
    const p = m.spawn("p");
    const free0 = m.freePagesCount;
    const q = m.spawn("q");
    m.quietly(() => {
      const len = BigInt(m.pageSize) * BigInt(Math.floor(m.freePagesCount / 4));
      q.mmap(len).touch();
    });
    expect(Number(m.cat(`/proc/${q.pid}/oom_score`).text)).toBeGreaterThan(Number(m.cat(`/proc/${p.pid}/oom_score`).text));
    const blocks: { free(): unknown }[] = [];
    m.quietly(() => {
      while (!m.oomKills().length) blocks.push(m.allocPages(0));
    });
    expect(m.oomKills()[0]!.victim?.pid).toBe(q.pid);
    expect([p.alive, q.alive]).toEqual([true, false]);
    m.check();
    m.quietly(() => blocks.forEach((b) => b.free()));
    expect(m.freePagesCount).toBe(free0);
    m.check();
  }, 30000);
});
