/**
 * The kernel log: m.dmesg() (dmesg --notime), the OOM report line by line as mm/oom_kill.c and
 * mm/show_mem.c print it in 6.12, and the segfault line of arch/x86/mm/fault.c show_signal_msg().
 */
import { describe, expect, it } from "vitest";
import { Dmesg, MmError, boot } from "../../src";

describe("the OOM report, exactly", () => {
  it("x86-64, 128 MiB, a (20 MiB) b (30 MiB) c: GFP_KERNEL from the machine kills b", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const a = m.spawn("a");
    const b = m.spawn("b");
    m.spawn("c");
    m.quietly(() => {
      a.mmap("20MiB").touch();
      b.mmap("30MiB").touch();
    });
    const mark = m.dmesg().length;
    m.quietly(() => {
      while (!m.oomKills().length) m.allocPages(0);
    });
    expect(m.dmesg().since(mark).lines).toEqual([
      "mmlab invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
      "Mem-Info:",
      "Node 0 DMA: 0*4kB 0*8kB 0*16kB 1*32kB (U) 0*64kB 0*128kB 0*256kB 0*512kB 1*1024kB (M) 0*2048kB 0*4096kB = 1056kB",
      "Node 0 DMA32: 1*4kB (M) 0*8kB 2*16kB (UM) 2*32kB (UM) 2*64kB (UM) 2*128kB (UM) 1*256kB (M) 2*512kB (UM) 2*1024kB (UM) 0*2048kB 0*4096kB = 3812kB",
      "0 total pagecache pages",
      "0 pages in swap cache",
      "Free swap  = 0kB",
      "Total swap = 0kB",
      "32670 pages RAM",
      "0 pages HighMem/MovableOnly",
      "9374 pages reserved",
      "0 pages cma reserved",
      "0 pages hwpoisoned",
      "Tasks state (memory values in pages):",
      "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
      "[   1000]  1000  1000     5164     5121     5121        0         0    53248        0             0 a",
      "[   1001]  1000  1001     7724     7681     7681        0         0    73728        0             0 b",
      "[   1002]  1000  1002       44        1        1        0         0    12288        0             0 c",
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=b,pid=1001,uid=1000",
      // K(x) = pages × 4: total_vm 7724 → 30896 kB, anon 7681 → 30724 kB; pgtables 73728 B >> 10 = 72 kB
      "Out of memory: Killed process 1001 (b) total-vm:30896kB, anon-rss:30724kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:72kB oom_score_adj:0",
    ]);
    // the report holds the same lines
    expect(m.oomKills()[0]!.log).toEqual(m.dmesg().since(mark).lines);
  });

  it("32-bit: no \"Node 0\" prefix without CONFIG_NUMA, HighMem counted, the allocating task named", () => {
    // vmalloc=768M leaves ≈ 240 MiB of lowmem: the rest of the 256 MiB is HighMem
    const m = boot({ arch: "x86", ram: "256MiB", vmalloc: "768MiB" });
    const p = m.spawn("sh");
    p.oomScoreAdj(250);
    const mark = m.dmesg().length;
    expect(() => m.quietly(() => p.mmap("240MiB").touch())).toThrow(MmError);
    const log = m.dmesg().since(mark).lines;
    expect(log[0]).toBe("sh invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=250");
    expect(log.slice(2, 5).map((l) => l.split(":")[0])).toEqual(["DMA", "Normal", "HighMem"]);
    expect(log).toContain("65438 pages RAM"); // 65536 less page 0 and the 0x9f–0xff hole
    expect(log).toContain("6146 pages HighMem/MovableOnly");
    expect(log).toContain("3294 pages reserved");
    expect(log.at(-2)).toMatch(/^Out of memory: Killed process 1000 \(sh\) total-vm:245928kB, anon-rss:\d+kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:\d+kB oom_score_adj:250$/);
    // the failed allocation of the dying task is logged under its name (current->comm)
    expect(m.dmesg().since(mark).grep("page allocation failure").lines).toEqual(["sh: page allocation failure: order:0, mode:0x100cca(GFP_HIGHUSER_MOVABLE), nodemask=(null),cpuset=/,mems_allowed=0"]);
    m.check();
  }, 30000);
});

describe("segfaults", () => {
  it("show_signal_msg() without ip/sp (mmlab models no registers), with the CPU", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB", cpus: 2 });
    const p = m.spawn("sh");
    const q = m.spawn("cat").migrate(1);
    expect(() => p.read(0x1000)).toThrow(/^SIGSEGV/);
    const ro = q.mmap("4KiB", "r");
    expect(() => q.write(ro.addr, "x")).toThrow(/^SIGSEGV/);
    expect(m.dmesg().tail(2).lines).toEqual([
      "sh[1000]: segfault at 1000 error 4 likely on CPU 0 (core 0, socket 0)",
      // error 6 would be a write to a missing page; 7 = present | write | user (a read-only page)
      `cat[1001]: segfault at ${ro.addr.toString(16)} error 6 likely on CPU 1 (core 1, socket 0)`,
    ]);
  });
});

describe("m.dmesg()", () => {
  it("lines, text without timestamps, grep, tail, since", () => {
    const m = boot({ arch: "toy", ram: "64KiB" });
    const d = m.dmesg();
    expect(d).toBeInstanceOf(Dmesg);
    expect(d.text).toBe(d.lines.join("\n"));
    expect(String(d)).toBe(d.text);
    const n = d.length;
    m.allocPages(4);
    // GFP_ATOMIC never reclaims nor OOMs: the failure is one warn_alloc() line
    expect(() => m.allocPages(0, "GFP_ATOMIC")).toThrow(/^ENOMEM/);
    const now = m.dmesg();
    expect(now.since(n).lines).toEqual(["mmlab: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null),cpuset=/,mems_allowed=0"]);
    expect(now.tail(1).lines).toEqual(now.since(n).lines);
    expect(now.grep("page allocation failure").length).toBe(1);
    expect(now.grep(/^Zone ranges:$/).lines).toEqual(["Zone ranges:"]);
    expect(now.tail(0).length).toBe(0);
    // the notable lines are listed in the rendering, the whole log shown verbatim
    const txt = now.toString();
    expect(txt).toContain("mmlab: page allocation failure");
    expect(now.toText()).toContain("what happened");
    expect(now.toHTML()).toContain("dmesg --notime");
    expect(now.view().summary).toBe(`dmesg (${n + 1} lines)`);
  });

  it("a snapshot keeps the log and the OOM reports; the branches diverge", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB" });
    const p = m.spawn("p");
    m.quietly(() => p.mmap("40MiB").touch());
    m.quietly(() => {
      while (!m.oomKills().length) m.allocPages(0);
    });
    const s = m.snapshot();
    const m2 = boot(s);
    expect(m2.dmesg().lines).toEqual(m.dmesg().lines);
    expect(m2.oomKills().map((k) => k.victim?.pid)).toEqual([1000]);
    m2.spawn("q");
    expect(m.ms.procs!.tasks.size).toBe(0);
    m2.check();
  });
});
