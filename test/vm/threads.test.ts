/**
 * Threads share an mm: one set of page tables, so a switch between two threads of one mm on a CPU loads
 * no new CR3 and flushes nothing, while a switch to another process flushes every non-global entry and
 * keeps the global kernel ones (arch/x86/mm/tlb.c switch_mm_irqs_off, no PCID).
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src";

describe("threads and the TLB", () => {
  it("a thread sees the process's memory; switching between them keeps the TLB, another process flushes it", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const p = m.spawn("server");
    const a = p.mmap("64KiB").write("shared by threads");
    const t = p.thread();
    expect(t.tgid).toBe(p.pid);
    expect(t.read(a.addr, 17).text).toBe("shared by threads");
    const first = p.translate(a.addr);
    const byThread = t.translate(a.addr);
    expect(byThread.pfn).toBe(first.pfn);
    // same mm on the same CPU: no switch_mm, the entry the leader filled is a hit for the thread
    expect(byThread.tlb).toBe("hit");
    expect(byThread.trace.some((e) => e.fn === "switch_mm_irqs_off")).toBe(false);
    // a kernel address filled now is global: it survives a process switch, the user entry does not
    const k = p.translate(0xffff888000100000n, { mode: "kernel" });
    expect(k.pa).toBe(0x100000n);
    const q = m.spawn("other");
    q.translate(q.vmas[0]!.start);
    expect(p.translate(a.addr).tlb).toBe("miss");
    expect(p.translate(0xffff888000100000n, { mode: "kernel" }).tlb).toBe("hit");
    m.check();
  });

  it("the mm lives until its last task exits (mmput)", () => {
    const m = boot({ ram: "64MiB" });
    m.spawn("warmup").exit(); // the first process also sets up the zero page and shared kernel tables
    const free0 = m.freePagesCount;
    const p = m.spawn("a");
    const t = p.thread();
    const a = p.mmap("16KiB").write("x");
    p.exit();
    expect(t.read(a.addr, 1).text).toBe("x");
    m.check();
    t.exit();
    m.check();
    expect(m.freePagesCount).toBe(free0);
    expect(() => t.malloc(8)).toThrow(/ESRCH|no such process|exited/);
  });

  it("malloc from a thread is refused with a clear reason (one arena per process)", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" });
    const p = m.spawn("a");
    expect(() => p.thread().malloc(16)).toThrow(/^EINVAL: this: malloc from a thread/);
    expect(p.malloc(16).addr > 0n).toBe(true);
    m.check();
  });
});
