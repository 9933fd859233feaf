/**
 * The kernel's address space: lowmem / vmalloc / pkmap bounds for each 32-bit split and RAM size,
 * derived by hand from arch/x86/include/asm/pgtable_32_areas.h (6.12) with CPU_ENTRY_AREA_BASE
 * 0xff800000 (see src/arch/pgtable_32_areas.ts), and the x86-64 table of Documentation/arch/x86/x86_64/mm.rst.
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";

const MiB = 1n << 20n;

function region(m: ReturnType<typeof boot>, name: string) {
  const r = m.layout.regions.filter((x) => x.name === name);
  expect(r.length).toBeGreaterThan(0);
  return { start: r[0]!.start, end: r[r.length - 1]!.end };
}
const zones = (m: ReturnType<typeof boot>) => m.nodes[0]!.zones.map((z) => z.name);

describe("32-bit x86 (no PAE), 3G/1G", () => {
  it("a 512 MiB machine is all lowmem: high_memory = PAGE_OFFSET + 512 MiB, no HighMem zone", () => {
    const m = boot({ ram: "512MiB" });
    expect(m.ms.max_low_pfn).toBe(m.ms.max_pfn);
    expect(zones(m)).not.toContain("HighMem");
    expect(region(m, "lowmem")).toEqual({ start: 0xc0000000n, end: 0xe0000000n });
    expect(region(m, "vmalloc gap")).toEqual({ start: 0xe0000000n, end: 0xe0800000n });
    expect(region(m, "vmalloc")).toEqual({ start: 0xe0800000n, end: 0xfeffe000n });
    expect(region(m, "pkmap")).toEqual({ start: 0xff000000n, end: 0xff400000n });
  });
  it("a 2 GiB machine has HighMem above MAXMEM = VMALLOC_END - PAGE_OFFSET - 128 MiB = 880 MiB - 8 KiB", () => {
    const m = boot({ ram: "2GiB" });
    expect(m.ms.max_low_pfn).toBe(0x36ffe);
    expect(zones(m)).toContain("HighMem");
    expect(region(m, "lowmem").end).toBe(0xf6ffe000n);
    expect(region(m, "vmalloc")).toEqual({ start: 0xf77fe000n, end: 0xfeffe000n });
    expect(region(m, "pkmap").end - region(m, "pkmap").start).toBe(1024n * 4096n);
  });
  it("classicMaxmem: the textbook 896 MiB (1 GiB - 128 MiB)", () => {
    const m = boot({ ram: "2GiB", classicMaxmem: true });
    expect(BigInt(m.ms.max_low_pfn) * 4096n).toBe(896n * MiB);
    expect(region(m, "lowmem").end).toBe(0xf8000000n);
    expect(region(m, "vmalloc").start).toBe(0xf8800000n);
  });
  it("vmalloc=256M moves the lowmem limit down by 136 MiB (reserve = size + VMALLOC_OFFSET)", () => {
    const m = boot({ ram: "2GiB", vmalloc: "256M" });
    expect(BigInt(m.ms.max_low_pfn) * 4096n).toBe(0xfeffe000n - 0xc0000000n - 264n * MiB);
    const c = boot({ ram: "2GiB", vmalloc: "256M", classicMaxmem: true });
    expect(BigInt(c.ms.max_low_pfn) * 4096n).toBe(760n * MiB);
    expect(region(c, "vmalloc")).toEqual({ start: 0xef800000n + 8n * MiB, end: 0xfeffe000n });
  });
  it("2G/2G: PAGE_OFFSET 0x80000000, lowmem up to 0xf6ffe000; a 2 GiB machine still has a little HighMem", () => {
    const m = boot({ ram: "2GiB", split: "2G/2G" });
    expect(region(m, "user")).toEqual({ start: 0n, end: 0x80000000n });
    expect(m.ms.max_low_pfn).toBe(0x76ffe);
    expect(zones(m)).toContain("HighMem");
    expect(region(m, "vmalloc").start).toBe(0xf77fe000n);
  });
  it("1G/3G: PAGE_OFFSET 0x40000000: 2 GiB of RAM is all lowmem", () => {
    const m = boot({ ram: "2GiB", split: "1G/3G" });
    expect(m.ms.max_low_pfn).toBe(m.ms.max_pfn);
    expect(zones(m)).not.toContain("HighMem");
    expect(region(m, "vmalloc").start).toBe(0x40000000n + BigInt(m.ms.max_pfn) * 4096n + 8n * MiB);
  });
});

describe("32-bit x86 with PAE", () => {
  it("2 MiB PMDs: PKMAP_BASE 0xff400000, VMALLOC_END 0xff3fe000, lowmem to 0xf73fe000 (883 MiB), LAST_PKMAP 512", () => {
    const m = boot({ arch: "x86_pae", ram: "2GiB" });
    expect(region(m, "lowmem").end).toBe(0xf73fe000n);
    expect(region(m, "vmalloc")).toEqual({ start: 0xf7bfe000n, end: 0xff3fe000n });
    expect(region(m, "pkmap")).toEqual({ start: 0xff400000n, end: 0xff400000n + 512n * 4096n });
  });
});

describe("x86-64 (Documentation/arch/x86/x86_64/mm.rst)", () => {
  it("4-level: direct map, vmalloc, vmemmap, kernel text, modules, vsyscall", () => {
    const m = boot({ arch: "x86_64", ram: "4GiB" });
    expect(region(m, "direct map")).toEqual({ start: 0xffff888000000000n, end: 0xffffc88000000000n });
    expect(region(m, "vmalloc")).toEqual({ start: 0xffffc90000000000n, end: 0xffffe90000000000n });
    expect(region(m, "vmemmap").start).toBe(0xffffea0000000000n);
    expect(region(m, "kernel text")).toEqual({ start: 0xffffffff80000000n, end: 0xffffffffa0000000n });
    expect(region(m, "modules")).toEqual({ start: 0xffffffffa0000000n, end: 0xffffffffff000000n });
    expect(region(m, "vsyscall").start).toBe(0xffffffffff600000n);
    const rs = m.layout.regions;
    for (let i = 1; i < rs.length; i++) expect(rs[i]!.start).toBe(rs[i - 1]!.end);
  });
  it("5-level: direct map ff11000000000000, vmalloc ffa0000000000000 (12800 TB), vmemmap ffd4000000000000", () => {
    const m = boot({ arch: "x86_64", la57: true, ram: "4GiB" });
    expect(region(m, "direct map").start).toBe(0xff11000000000000n);
    expect(region(m, "vmalloc")).toEqual({ start: 0xffa0000000000000n, end: 0xffa0000000000000n + (12800n << 40n) });
    expect(region(m, "vmemmap").start).toBe(0xffd4000000000000n);
    const v = m.vmalloc(1);
    expect(v.addr).toBe(0xffa0000000000000n);
  });
});

describe("m.whereis", () => {
  it("names lowmem PFNs, kmalloc objects, vmalloc pages and guard pages, pkmap slots, holes", () => {
    const m = boot({ ram: "2GiB" });
    expect(m.whereis(0xc0100000n).pfn).toBe(0x100);
    const k = m.kmalloc(40);
    const w = m.whereis(k.ptr + 3n);
    expect(w.what).toMatch(/allocated kmalloc-64 object/);
    const v = m.vmalloc(5000);
    expect(m.whereis(v.addr + 4096n).pfn).toBe(v.pfns[1]);
    expect(m.whereis(v.addr + 8192n).what).toMatch(/guard page/);
    expect(m.whereis(0xf7000000n).region).toBe("vmalloc gap");
    expect(m.whereis(0x08048000).region).toBe("user");
    const hp = m.ms.max_low_pfn + 10;
    const km = m.kmap(hp);
    expect(m.whereis(km.vaddr).pfn).toBe(hp);
    expect(m.whereis(0xfeffe000n).what).toMatch(/hole/);
  });
  it("x86-64 addresses above 2^53 must be bigints", () => {
    const m = boot({ arch: "x86_64", ram: "4GiB" });
    expect(() => m.whereis(2 ** 60)).toThrow(/bigint/);
    expect(m.whereis(0xffffffffff600000n).region).toBe("vsyscall");
  });
});
