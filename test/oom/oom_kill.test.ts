/**
 * The OOM killer (src/mm/oom_kill.ts after mm/oom_kill.c, Linux 6.12): with no swap, reclaim finds
 * nothing, so an order-0 GFP_KERNEL or user-page allocation that cannot be met kills the process
 * oom_badness() ranks first. Numbers below are worked by hand from the processes' RSS and page tables
 * on an x86-64 machine with 128 MiB (totalram_pages 23296, so oom_score_adj counts in units of 23).
 */
import { describe, expect, it } from "vitest";
import { three } from "./helpers";
import { MmError, boot, type Machine } from "../../src";

/** machine-level GFP_KERNEL pages until the OOM killer has run `kills` times (or ENOMEM) */
function pressure(m: Machine, kills = 1): { blocks: ReturnType<Machine["allocPages"]>[]; error?: MmError } {
  const blocks: ReturnType<Machine["allocPages"]>[] = [];
  const start = m.oomKills().length;
  return m.quietly(() => {
    for (;;) {
      try {
        blocks.push(m.allocPages(0));
      } catch (e) {
        if (e instanceof MmError) return { blocks, error: e };
        throw e;
      }
      if (m.oomKills().length >= start + kills) return { blocks };
    }
  });
}


describe("oom_badness() and the victim", () => {
  it("scores rss + swapents + page tables (pgd excluded) and kills the highest: b", () => {
    const { m, a, b, c } = three();
    // hand-worked: a = 5121 rss (5120 touched + the stack page) + 13 page-table pages, b = 7681 + 18, c = 1 + 3
    expect([a.rss.total, a.pageTables - 1, b.rss.total, b.pageTables - 1, c.rss.total, c.pageTables - 1]).toEqual([5121, 13, 7681, 18, 1, 3]);
    pressure(m);
    const r = m.oomKills()[0]!;
    expect(r.totalpages).toBe(23296);
    expect(r.tasks.map((t) => [t.pid, t.points])).toEqual([
      [1000, 5134],
      [1001, 7699],
      [1002, 4],
    ]);
    expect(r.victim).toMatchObject({ pid: 1001, name: "b", points: 7699, killed: [1001], deferred: false });
    expect(r.invoker).toEqual({ pid: undefined, comm: "mmlab", oomScoreAdj: 0 });
    expect([a.alive, b.alive, c.alive]).toEqual([true, false, true]);
    expect(m.cat("/proc/vmstat").text).toMatch(/^oom_kill 1$/m);
    m.check();
  }, 30000);

  it("oom_score_adj 1000 makes the smallest process the victim (1000 × 23 = 23000 pages)", () => {
    const { m, a, b, c } = three();
    c.oomScoreAdj(1000);
    pressure(m);
    const r = m.oomKills()[0]!;
    expect(r.tasks.map((t) => t.points)).toEqual([5134, 7699, 4 + 23000]);
    expect(r.victim?.pid).toBe(c.pid);
    expect([a.alive, b.alive, c.alive]).toEqual([true, true, false]);
  }, 30000);

  it("a negative oom_score_adj can outweigh size: b at −200 (7699 − 4600 = 3099) loses to a", () => {
    const { m, a, b } = three();
    b.oomScoreAdj(-200);
    pressure(m);
    expect(m.oomKills()[0]!.tasks.map((t) => t.points)).toEqual([5134, 3099, 4]);
    expect(m.oomKills()[0]!.victim?.pid).toBe(a.pid);
  }, 30000);

  it("−1000 is never chosen, not even when it is the only big process; then the next ones go, one per OOM", () => {
    const { m, a, b, c } = three();
    b.oomScoreAdj(-1000);
    pressure(m, 3);
    const kills = m.oomKills();
    expect(kills.map((k) => k.victim?.pid)).toEqual([a.pid, c.pid, undefined]);
    expect(kills[0]!.tasks.find((t) => t.pid === b.pid)!.points).toBeNull();
    expect(b.alive).toBe(true);
    // with only b left, nothing is killable: the kernel would panic; the allocation fails instead
    expect(m.dmesg().lines.at(-2)).toBe("Out of memory and no killable processes...");
    expect(m.cat(`/proc/${b.pid}/oom_score`).text).toBe("0\n");
  }, 30000);

  it("no killable process: the report, then ENOMEM", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const p = m.spawn("init-like");
    p.oomScoreAdj(-1000);
    const { error } = pressure(m);
    expect(error?.code).toBe("ENOMEM");
    const r = m.oomKills()[0]!;
    expect(r.victim).toBeUndefined();
    expect(r.log.at(-1)).toBe("Out of memory and no killable processes...");
    expect(r.log).toContain("[   1000]  1000  1000       44        1        1        0         0    12288        0         -1000 init-like");
    expect(p.alive).toBe(true);
    m.check();
  }, 30000);

  it("a tie goes to the process scanned last (points < chosen_points skips only strictly smaller)", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const [x, y, z] = ["x", "y", "z"].map((n) => m.spawn(n));
    m.quietly(() => {
      for (const p of [x!, y!]) p.mmap("16MiB").touch();
      z!.mmap("4MiB").touch();
    });
    pressure(m);
    const r = m.oomKills()[0]!;
    expect(r.tasks[0]!.points).toBe(r.tasks[1]!.points);
    expect(r.victim?.pid).toBe(y!.pid);
    expect([x!.alive, y!.alive, z!.alive]).toEqual([true, false, true]);
  }, 30000);

  it("threads share the mm: one row per process, and the whole thread group dies", () => {
    const { m, a, b } = three();
    const t = b.thread();
    pressure(m);
    const r = m.oomKills()[0]!;
    expect(r.tasks.map((x) => x.pid)).toEqual([1000, 1001, 1002]);
    expect(r.victim).toMatchObject({ pid: 1001, killed: [1001, 1003] });
    expect([a.alive, b.alive, t.alive]).toEqual([true, false, false]);
    m.check();
  }, 30000);
});

describe("with swap", () => {
  it("totalpages = RAM + swap slots; swap entries count in the badness as resident pages do", () => {
    // 16 MiB of swap = 4096 slots, one of them the header: 4095 (SwapTotal 16380 kB)
    const m = boot({ arch: "x86_64", ram: "128MiB", swap: "16MiB" });
    const a = m.spawn("a");
    const b = m.spawn("b");
    m.quietly(() => a.mmap("30MiB").touch());
    expect(() => m.quietly(() => b.mmap("80MiB").touch())).toThrow(/^SIGKILL: pid 1001 \(b\) was killed by the OOM killer/);
    const r = m.oomKills()[0]!;
    expect(r.totalpages).toBe(23296 + 4095);
    expect(r.toString()).toContain("oom_score_adj counts in units of totalpages/1000 = 27 pages");
    const [ra, rb] = r.tasks;
    // a was swapped out to make room for b, and scores what it scored with no swap: 7681 + 18 = 7699
    expect(ra!.swapents).toBeGreaterThan(0);
    expect(ra!.rss + ra!.swapents).toBe(7681);
    for (const t of r.tasks) expect(t.points).toBe(t.rss + t.swapents + t.pgtablesBytes / 4096);
    expect(ra!.points).toBe(7699);
    expect(r.victim?.pid).toBe(b.pid);
    expect(rb!.points).toBeGreaterThan(7699);
    expect(r.log).toContain("Total swap = 16380kB");
    expect(r.log.filter((l) => /^\[ +100[01]\]/.test(l)).map((l) => l.split(/ +/)[10])).toEqual([String(ra!.swapents), String(rb!.swapents)]);
    expect(a.alive).toBe(true);
    m.check();
  }, 30000);
});

describe("the memory comes back", () => {
  it("the victim's frames and page tables return to the free lists (m.check(), MemFree)", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const a = m.spawn("a");
    const free0 = m.freePagesCount;
    const memfree0 = m.cat("/proc/meminfo").text.match(/^MemFree:\s+(\d+) kB$/m)![1];
    const b = m.spawn("b");
    m.quietly(() => b.mmap("40MiB").touch());
    const { blocks } = pressure(m);
    expect(b.alive).toBe(false);
    expect(a.alive).toBe(true);
    m.check();
    m.quietly(() => blocks.forEach((x) => x.free()));
    expect(m.freePagesCount).toBe(free0);
    expect(m.cat("/proc/meminfo").text.match(/^MemFree:\s+(\d+) kB$/m)![1]).toBe(memfree0);
    m.check();
  }, 30000);

  it("the allocating process itself: its call throws SIGKILL, later calls ESRCH, its memory is freed", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const small = m.spawn("small");
    const free0 = m.freePagesCount;
    const hog = m.spawn("hog");
    // 90 MiB: under RAM + swap (else mmap itself refuses it, __vm_enough_memory), over what is free
    const map = hog.mmap("90MiB");
    let e: unknown;
    try {
      m.quietly(() => map.touch());
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(MmError);
    expect((e as MmError).code).toBe("SIGKILL");
    expect((e as MmError).message).toMatch(/^SIGKILL: pid 1001 \(hog\) was killed by the OOM killer: "Out of memory: Killed process 1001 \(hog\) total-vm:\d+kB, anon-rss:\d+kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:\d+kB oom_score_adj:0"\. Its memory went back to the allocator\.$/);
    expect(hog.alive).toBe(false);
    expect(hog.state).toBe("killed");
    expect(() => hog.read(map.addr)).toThrow(/^ESRCH: pid 1001: no such process \(killed by SIGKILL: killed by the OOM killer \(Out of memory: Killed process 1001 \(hog\)/);
    const r = m.oomKills()[0]!;
    expect(r.invoker).toEqual({ pid: 1001, comm: "hog", oomScoreAdj: 0 });
    expect(r.victim).toMatchObject({ pid: 1001, deferred: true });
    expect(r.log[0]).toBe("hog invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0");
    expect(small.alive).toBe(true);
    expect(m.freePagesCount).toBe(free0);
    m.check();
  }, 30000);

  it("the allocating process at −1000 with nothing else to kill: its fault fails with ENOMEM, it lives", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const p = m.spawn("p");
    p.oomScoreAdj(-1000);
    expect(() => m.quietly(() => p.mmap("90MiB").touch())).toThrow(/^ENOMEM: out of memory handling a page fault at 0x[0-9a-f]+: nothing could be reclaimed and the OOM killer/);
    expect(p.alive).toBe(true);
    // Linux would panic("System is deadlocked on memory") after this line
    expect(m.dmesg().tail(2).lines).toEqual(["Out of memory and no killable processes...", "p: page allocation failure: order:0, mode:0x100cca(GFP_HIGHUSER_MOVABLE), nodemask=(null),cpuset=/,mems_allowed=0"]);
    m.check();
  }, 30000);

  it("the allocating process survives when another one scores higher", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const big = m.spawn("big");
    m.quietly(() => big.mmap("60MiB").touch());
    const p = m.spawn("p");
    const acc = m.quietly(() => p.mmap("30MiB").touch());
    expect(acc.len).toBe(0);
    expect(big.alive).toBe(false);
    expect(p.alive).toBe(true);
    expect(p.rss.anon).toBe(30 * 256 + 1);
    expect(m.oomKills()[0]!.invoker.comm).toBe("p");
    m.check();
  }, 30000);
});

describe("requests that never OOM", () => {
  it("GFP_ATOMIC and GFP_NOWAIT under pressure fail with ENOMEM and kill nobody", () => {
    const { m, a, b, c } = three();
    const atomic: unknown[] = [];
    let err: unknown;
    m.quietly(() => {
      try {
        for (;;) atomic.push(m.allocPages(0, "GFP_ATOMIC"));
      } catch (e) {
        err = e;
      }
    });
    expect((err as MmError).code).toBe("ENOMEM");
    expect(() => m.kmalloc("16KiB", "GFP_ATOMIC")).toThrow(/^ENOMEM/);
    expect(() => m.kmalloc("16KiB", "GFP_NOWAIT")).toThrow(/^ENOMEM/);
    expect(m.oomKills()).toEqual([]);
    expect(m.dmesg().grep("oom").length).toBe(0);
    expect([a.alive, b.alive, c.alive]).toEqual([true, true, true]);
    expect(m.cat("/proc/vmstat").text).toMatch(/^oom_kill 0$/m);
    m.check();
  }, 30000);

  it("a lowmem request (GFP_DMA) and an order-4 request fail without the OOM killer; order 3 may OOM", () => {
    const { m, b } = three();
    m.quietly(() => {
      try {
        for (;;) m.allocPages(0, "GFP_KERNEL|GFP_DMA");
      } catch {
        /* the DMA zone is full */
      }
      try {
        for (;;) m.allocPages(0, "GFP_ATOMIC");
      } catch {
        /* every zone is at its reserve */
      }
    });
    expect(m.oomKills()).toEqual([]);
    // order 4 > PAGE_ALLOC_COSTLY_ORDER: "The OOM killer will not help higher order allocs"
    expect(() => m.allocPages(4)).toThrow(/^ENOMEM: page allocation failure: order:4/);
    expect(m.oomKills()).toEqual([]);
    expect(m.allocPages(3).order).toBe(3);
    expect(m.oomKills().map((k) => k.victim?.pid)).toEqual([b.pid]);
    expect(m.oomKills()[0]!.log[0]).toBe("mmlab invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=3, oom_score_adj=0");
    m.check();
  }, 30000);
});
