/**
 * Processes, demand paging, faults, SIGSEGV, bad input, TLB, the shared kernel half, snapshots.
 */
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";
import { MmError } from "../../src/errors";
import { state_equal } from "../../src/kernel/snapshot";
import { map_kernel_page, unmap_kernel_page, PAGE_KERNEL } from "../../src/mm/pgtable";

function meminfo(m: ReturnType<typeof boot>, key: string): number {
  const l = m.cat("/proc/meminfo").lines.find((x) => x.startsWith(key + ":"))!;
  return Number(/(\d+) kB/.exec(l)![1]);
}

describe("isolation and demand paging", () => {
  test("two processes, same virtual address, different frames", () => {
    for (const arch of ["x86", "x86_pae", "x86_64"] as const) {
      const m = boot({ arch, ram: "256MiB" });
      const a = m.spawn("a");
      const b = m.spawn("b");
      const ma = a.mmap("4KiB");
      const mb = b.mmap("4KiB");
      expect(ma.addr).toBe(mb.addr);
      ma.write("from a");
      mb.write("from b");
      const ta = a.translate(ma.addr);
      const tb = b.translate(mb.addr);
      expect(ta.pfn).not.toBe(tb.pfn);
      expect(a.read(ma.addr, 6).text).toBe("from a");
      expect(b.read(mb.addr, 6).text).toBe("from b");
      m.check();
    }
  });
  test("mmap of 1 GiB costs no frame; one byte costs one frame plus the page tables", () => {
    const m = boot({ arch: "x86_64", ram: "2GiB" });
    const p = m.spawn("sh");
    const free0 = m.freePagesCount;
    const pt0 = p.pageTables;
    const big = p.mmap("1GiB");
    expect(m.freePagesCount).toBe(free0);
    const w = big.write("x", 0x12345678n);
    expect(w.faults.map((f) => f.fn)).toEqual(["do_anonymous_page"]);
    const newTables = p.pageTables - pt0;
    expect(newTables).toBeGreaterThanOrEqual(1);
    expect(m.freePagesCount).toBe(free0 - 1 - newTables);
    // a read of an untouched page maps the zero page: no frame
    const r = big.read(4, 0x4000_0000n - 4096n);
    expect(r.faults[0]!.why).toMatch(/zero page/);
    expect(p.rss.anon).toBe(1 + 1); // the stack's top page + our page
    m.check();
    big.munmap();
    m.check();
  });
  test("the zero page, then a write: wp_page_copy replaces it", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const a = p.mmap("4KiB");
    a.read(8);
    const zero = p.translate(a.addr).pfn;
    const w = a.write("hello");
    expect(w.faults.map((f) => f.fn)).toEqual(["wp_page_copy"]);
    expect(p.translate(a.addr).pfn).not.toBe(zero);
    expect(a.read(5).text).toBe("hello");
    expect(p.minflt).toBe(2);
    m.check();
  });
  test("page tables show in /proc/meminfo PageTables and AnonPages", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const pt0 = meminfo(m, "PageTables");
    const p = m.spawn("sh");
    const a = p.mmap("1MiB");
    a.touch();
    expect(meminfo(m, "AnonPages")).toBe((256 + 1) * 4);
    // the pgd is not in PageTables (6.12 x86 allocates it with __get_free_pages)
    expect(meminfo(m, "PageTables") - pt0).toBe((p.pageTables - 1) * 4);
    p.exit();
    expect(meminfo(m, "AnonPages")).toBe(0);
    expect(meminfo(m, "PageTables")).toBe(pt0);
    m.check();
  });
  test("the stack grows down on a fault just below it", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const st = p.vmas.find((v) => v.name === "[stack]")!;
    p.write(st.start - 0x3000n, "deep");
    expect(p.vmas.find((v) => v.name === "[stack]")!.start).toBe(st.start - 0x3000n);
    m.check();
  });
});

describe("SIGSEGV kills the process and frees its memory", () => {
  test("access outside any VMA, write to read-only, PROT_NONE, exec of NX", () => {
    const m = boot({ arch: "x86_pae", ram: "256MiB" });
    const warm = m.spawn("warm");
    warm.exit();
    const free0 = m.freePagesCount;
    const cases: [string, (p: ReturnType<typeof m.spawn>) => unknown, RegExp][] = [
      ["unmapped", (p) => p.read(0x10000n, 4), /no VMA/],
      ["read-only", (p) => p.write(p.mmap("4KiB", "r").addr, "x"), /without write permission/],
      ["none", (p) => p.read(p.mmap("4KiB", "none").addr, 1), /PROT_NONE/],
      ["text write", (p) => p.write(0x08048000n, "x"), /without write permission/],
    ];
    for (const [, f, why] of cases) {
      const p = m.spawn("warm");
      p.mmap("1MiB").touch();
      let err: unknown;
      try {
        f(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MmError);
      expect((err as MmError).code).toBe("SIGSEGV");
      expect((err as MmError).message).toMatch(why);
      expect(p.alive).toBe(false);
      expect(() => p.mmap("4KiB")).toThrow(/ESRCH.*SIGSEGV/);
      expect(m.freePagesCount).toBe(free0);
      m.check();
    }
    expect(m.dmesg().text).toMatch(/warm\[\d+\]: segfault at 10000 error 4/);
  });
});

describe("bad input changes nothing", () => {
  test("EINVAL / EFAULT / ESRCH / ENOMEM name the argument", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    p.mmap("8KiB").touch();
    const before = m.snapshot();
    const bad: [() => unknown, string, RegExp][] = [
      [() => p.mmap(0), "EINVAL", /^EINVAL: len/],
      [() => p.mmap("5GiB"), "EINVAL", /len/],
      [() => p.mmap("4KiB", "rwq"), "EINVAL", /prot/],
      [() => p.mmap("4KiB", "rw", "sideways"), "EINVAL", /flags/],
      [() => p.mmap("4KiB", "rw", "private|fixed", 0x10001000n + 1n), "EINVAL", /page-aligned/],
      [() => p.munmap(0x1001n, 4096), "EINVAL", /addr/],
      [() => p.mprotect(0x40000000n, 4096, "r"), "ENOMEM", /not mapped/],
      [() => p.read(0x1_0000_0000n, 4), "EFAULT", /va/],
      [() => p.translate(-1), "EFAULT", /va/],
      [() => p.write(0x1000, ""), "EINVAL", /data/],
      [() => m.process(4242), "ESRCH", /pid/],
      [() => m.spawn("bad name"), "EINVAL", /name/],
    ];
    for (const [f, code, re] of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, String(f)).toBeInstanceOf(MmError);
      expect((err as MmError).code).toBe(code);
      expect((err as MmError).message).toMatch(re);
      expect(state_equal(before.ms, m.ms)).toBe(true);
    }
    m.check();
  });
});

describe("the TLB", () => {
  test("hits, misses, flush on munmap and mprotect, global kernel entries survive a switch", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const a = m.spawn("a");
    const b = m.spawn("b");
    const x = a.mmap("8KiB");
    x.write("hi");
    expect(a.translate(x.addr).tlb).toBe("hit");
    x.mprotect("r");
    expect(a.translate(x.addr).tlb).toBe("miss");
    expect(a.translate(x.addr).tlb).toBe("hit");
    // a kernel (global) entry loaded under a survives the switch to b
    const k = 0xffff888000100000n;
    expect(a.translate(k, { mode: "kernel" }).tlb).toBe("miss");
    expect(a.translate(k, { mode: "kernel" }).tlb).toBe("hit");
    b.translate(0x1000n);
    expect(b.translate(k, { mode: "kernel" }).tlb).toBe("hit");
    // a's user entry did not survive
    expect(a.translate(x.addr).tlb).toBe("miss");
    x.munmap();
    const t = a.translate(x.addr);
    expect(t.tlb).toBe("miss");
    expect(t.fault?.kind).toBe("not-present");
    const s = m.tlbStats()[0]!;
    expect(s.hits).toBeGreaterThan(0);
    expect(s.misses).toBeGreaterThan(0);
  });
  test("size and policy are configurable", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    m.setTlb({ size: 2, policy: "fifo" });
    const p = m.spawn("sh");
    const a = p.mmap("16KiB");
    a.touch();
    expect(m.tlbStats()[0]!.entries).toBeLessThanOrEqual(2);
    expect(() => m.setTlb({ size: 0 })).toThrow(/EINVAL/);
  });
});

describe("the kernel half is shared", () => {
  test("a kernel page mapped once is seen by every process (32-bit, new pgd entry synced)", () => {
    for (const arch of ["x86", "x86_pae", "x86_64"] as const) {
      const m = boot({ arch, ram: "256MiB" });
      const a = m.spawn("a");
      const blk = m.allocPages(0);
      const va = arch === "x86_64" ? 0xffffc90000000000n : 0xf8000000n;
      const pt0 = meminfo(m, "PageTables");
      expect(map_kernel_page(m.ms, va, blk.pfn, PAGE_KERNEL)).toBe(0);
      expect(meminfo(m, "PageTables")).toBeGreaterThan(pt0);
      const b = m.spawn("b");
      for (const p of [a, b]) expect(p.translate(va, { mode: "kernel" }).pfn).toBe(blk.pfn);
      expect(a.translate(va).fault?.reason).toMatch(/supervisor/);
      expect(m.translate(va).pfn).toBe(blk.pfn);
      m.check();
      expect(unmap_kernel_page(m.ms, va)).toBe(blk.pfn);
      expect(a.translate(va, { mode: "kernel" }).fault?.kind).toBe("not-present");
    }
  });
});

describe("shared anonymous memory, exit, snapshots, frames", () => {
  test("a shmem object lives until its last mapping goes", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const free0 = m.freePagesCount;
    const pt0 = p.pageTables;
    const s = p.mmap("16KiB", "rw", "shared");
    s.touch("read");
    expect(meminfo(m, "Shmem")).toBe(16);
    expect(p.rss.shmem).toBe(4);
    p.mprotect(s.addr + 0x1000n, 4096, "r");
    p.munmap(s.addr, 0x2000);
    expect(meminfo(m, "Shmem")).toBe(16);
    m.check();
    p.munmap(s.addr + 0x2000n, 0x2000);
    expect(meminfo(m, "Shmem")).toBe(0);
    // the PTE table stays: the [vvar]/[vdso] VMAs next to it still use it (free_pgtables' ceiling)
    expect(m.freePagesCount + (p.pageTables - pt0)).toBe(free0);
    m.check();
  });
  test("exit frees every frame and page table", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    m.spawn("warm").exit();
    const free0 = m.freePagesCount;
    const p = m.spawn("warm");
    p.mmap("2MiB").touch();
    p.brk(p.brk().value! + 0x10000n);
    p.touch(p.brk().value! - 0x10000n, 0x10000);
    p.exit();
    expect(m.freePagesCount).toBe(free0);
    expect(m.ps()).toEqual([]);
    m.check();
  });
  test("snapshots branch processes", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const a = p.mmap("4KiB");
    a.write("before");
    const m2 = boot(m.snapshot());
    const p2 = m2.process(p.pid);
    p2.write(a.addr, "after!");
    expect(p.read(a.addr, 6).text).toBe("before");
    expect(p2.read(a.addr, 6).text).toBe("after!");
    m.check();
    m2.check();
  });
  test("m.frame() dumps a page table's entries", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const t = p.mmap("4KiB").write("x").translate();
    const pgd = m.frame(t.steps[0]!.table);
    expect(pgd.flags).toContain("table");
    expect(pgd.entries!.some((e) => e.index === t.steps[0]!.index && e.pfn === t.steps[1]!.table)).toBe(true);
    expect(m.frame(t.pfn!).bytes[0]).toBe("x".charCodeAt(0));
  });
  test("fluent: p.mmap(len).write(s).translate() renders the walk", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const t = m.spawn("sh").mmap("1MiB").write("hi").translate();
    const s = t.toString();
    expect(s).toMatch(/pgd/);
    expect(s).toMatch(/pte/);
    expect(s).toMatch(/PA 0x/);
    expect(t.toHTML()).toMatch(/<svg|<div|<table/);
  });
  test("ASLR on (seeded) moves mmap_base and the stack, deterministically", () => {
    const mk = () => {
      const m = boot({ arch: "x86_64", ram: "512MiB", seed: 5 });
      m.aslr = true;
      return m.spawn("sh").maps.text;
    };
    expect(mk()).toBe(mk());
    expect(mk()).not.toMatch(/7ffffffde000-7ffffffff000/);
  });
});

describe("Accessed and Dirty", () => {
  test("the walker sets D on the leaf of a write (a shared page mapped clean by a read fault)", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const s = p.mmap("4KiB", "rw", "shared");
    s.read(1);
    const t = p.translate(s.addr);
    const pte = () => m.frame(t.steps[1]!.table).entries!.find((e) => e.index === t.steps[1]!.index)!;
    expect(pte().flags).toContain("RW");
    expect(pte().flags).not.toContain("D");
    expect(pte().flags).toContain("A");
    const w = p.translate(s.addr, { access: "write" });
    expect(w.tlb).toBe("miss"); // a clean TLB entry cannot serve a write: the walker must set D
    expect(pte().flags).toContain("D");
    expect(p.translate(s.addr, { access: "write" }).tlb).toBe("hit");
    expect(p.smaps.text).toMatch(/Shared_Dirty:\s+0 kB\nPrivate_Clean:\s+0 kB\nPrivate_Dirty:\s+4 kB/);
  });
  test("PROT_NONE PTEs keep their frame (PROTNONE) and fault", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" });
    const p = m.spawn("sh");
    const a = p.mmap("4KiB");
    a.write("keep");
    a.mprotect("none");
    const t = p.translate(a.addr);
    expect(t.fault?.kind).toBe("not-present");
    expect(t.steps.at(-1)!.flags).toContain("PROTNONE");
    a.mprotect("r");
    expect(a.read(4).text).toBe("keep");
    m.check();
  });
});

describe("TLB view and keys", () => {
  test("kernel 4 KiB pages, 2 MiB and 1 GiB pages and user pages coexist in one TLB", () => {
    const m = boot({ arch: "x86_64", ram: "1536MiB" });
    const p = m.spawn("sh");
    const blk = m.allocPages(0);
    const kva = 0xffffc90000003000n;
    expect(map_kernel_page(m.ms, kva, blk.pfn)).toBe(0);
    const a = p.mmap("8KiB");
    a.write("u");
    const vas = [kva, 0xffff888000000000n + 0x123000n, 0xffff888000000000n + (1n << 30n) + 0x5000n, a.addr];
    const pas = vas.map((v) => p.translate(v, { mode: "kernel" }).pa);
    const again = vas.map((v) => p.translate(v, { mode: "kernel" }));
    expect(again.map((t) => t.tlb)).toEqual(["hit", "hit", "hit", "hit"]);
    expect(again.map((t) => t.pa)).toEqual(pas);
    expect(pas[0]).toBe(BigInt(blk.pfn) * 4096n);
    const v = m.tlb(0);
    // (plus the stack page that exec's argv copy left in the TLB)
    expect(v.entries.map((e) => e.pageSize)).toEqual(expect.arrayContaining([1 << 30, 2 << 20, 4096, 4096]));
    expect(v.entries.some((e) => e.va === kva && e.global)).toBe(true);
    expect(v.toString()).toMatch(/TLB of CPU 0/);
    expect(p.migrate(1).cpu).toBe(1);
    expect(p.translate(a.addr).tlb).toBe("miss");
  });
});

describe("big touches stay cheap to show", () => {
  test("touching 64 MiB keeps a short trace and renders", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const p = m.spawn("sh");
    const a = p.mmap("64MiB");
    const t = a.touch();
    expect(t.faultCount).toBe(16384);
    expect(t.faults.length).toBe(64); // the first records only
    expect(t.trace.length).toBeLessThan(400);
    expect(t.trace.at(-1)!.text).toMatch(/more pages touched/);
    expect(t.toString().length).toBeLessThan(60000);
    expect(m.tracing).toBe(true);
    m.check();
  });
});
