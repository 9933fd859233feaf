/**
 * /proc text, byte for byte: literal expectations derived from mm/vmstat.c and fs/proc/meminfo.c, and
 * the column layout compared with this machine's own /proc files (a real Linux kernel we did not write).
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { boot } from "../../src";

const host = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : undefined);

describe("/proc/buddyinfo", () => {
  it("default machine: one line per populated zone, %6lu columns, a space before each newline", () => {
    const t = boot().cat("/proc/buddyinfo").text;
    const lines = t.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(3);
    // the first MiB is reserved: DMA holds 0x100-0xfff = an order-8, an order-9 and three order-10 blocks
    expect(lines[0]).toBe("Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 ");
    for (const l of lines) expect(l).toMatch(/^Node 0, zone [ A-Za-z]{8} ( {0,5}\d+ ){11}$/);
    expect(lines.map((l) => l.slice(13, 21))).toEqual(["     DMA", "  Normal", " HighMem"]);
  });

  it("x86-64: DMA, DMA32, Normal; the DMA line is what a freshly booted PC shows", () => {
    const t = boot({ arch: "x86_64", ram: "8GiB" }).cat("/proc/buddyinfo").text;
    expect(t.split("\n")[0]).toBe("Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 ");
    expect(t).toMatch(/^Node 0, zone    DMA32 /m);
    expect(t).toMatch(/^Node 0, zone   Normal /m);
  });

  it("has the same column layout as this machine's /proc/buddyinfo", () => {
    const real = host("/proc/buddyinfo");
    if (!real) return;
    const ours = boot({ arch: "x86_64", ram: "8GiB" }).cat("/proc/buddyinfo").text;
    const shape = (l: string) => l.replace(/\d/g, "9").replace(/ (DMA32|Normal|DMA|HighMem|Movable)/, " ZONE");
    expect(shape(ours.split("\n")[0]!)).toBe(shape(real.split("\n")[0]!));
  });
});

describe("/proc/zoneinfo", () => {
  const m = boot({ arch: "x86_64", ram: "24GiB" });
  const text = m.cat("/proc/zoneinfo").text;
  const zoneBlock = (name: string) => {
    const start = text.indexOf(`Node 0, zone ${name.padStart(8)}`);
    const next = text.indexOf("\nNode ", start + 1);
    return text.slice(start, next < 0 ? undefined : next + 1);
  };

  it("DMA spans 4095 pages from PFN 1, 3998 present (the 640K–1M hole), 3840 managed (first MiB reserved)", () => {
    const dma = zoneBlock("DMA");
    expect(dma).toContain("\n        spanned  4095\n        present  3998\n        managed  3840\n        cma      0\n");
    expect(dma).toMatch(/\n  start_pfn:           1\n$/);
    expect(dma).toContain("\n  per-node stats\n      nr_inactive_anon 0\n");
  });

  it("min_free_kbytes is 67584 with THP (khugepaged: 512 × 3 zones × 11), and the watermarks follow", () => {
    expect(m.ms.sysctl.min_free_kbytes).toBe(67584);
    const pages_min = 67584 / 4;
    const zi = (n: string) => m.zoneInfo(n);
    const lowmem = zi("DMA").managed + zi("DMA32").managed + zi("Normal").managed;
    for (const n of ["DMA", "DMA32", "Normal"]) {
      const z = zi(n);
      const min = Math.floor((pages_min * z.managed) / lowmem);
      const delta = Math.max(min >> 2, Math.floor((z.managed * 10) / 10000));
      expect(z.watermarks).toEqual({ min, low: min + delta, high: min + 2 * delta, promo: min + 3 * delta });
      expect(zoneBlock(n)).toContain(`\n        min      ${min}\n        low      ${min + delta}\n        high     ${min + 2 * delta}\n        promo    ${min + 3 * delta}\n`);
    }
    // protection: lowmem_reserve[j] = managed pages of the zones above, / 256 for DMA and DMA32
    const dma32 = zi("DMA32").managed;
    const normal = zi("Normal").managed;
    expect(zoneBlock("DMA")).toContain(`protection: (0, ${Math.floor(dma32 / 256)}, ${Math.floor((dma32 + normal) / 256)}, ${Math.floor((dma32 + normal) / 256)}, ${Math.floor((dma32 + normal) / 256)})`);
  });

  it("empty Movable and Device zones print exactly as this kind of kernel prints them", () => {
    const expected =
      "Node 0, zone  Movable\n  pages free     0\n        boost    0\n        min      32\n        low      32\n        high     32\n        promo    32\n        spanned  0\n        present  0\n        managed  0\n        cma      0\n        protection: (0, 0, 0, 0, 0)\n";
    expect(zoneBlock("Movable")).toBe(expected);
    const real = host("/proc/zoneinfo");
    if (real && real.includes("zone  Movable\n  pages free     0")) {
      const i = real.indexOf("Node 0, zone  Movable");
      expect(real.slice(i, i + expected.length)).toBe(expected);
      const j = real.indexOf("Node 0, zone   Device");
      expect(zoneBlock("Device")).toBe(real.slice(j));
    }
  });

  it("the worked watermark example: 262144 managed pages, min_free_kbytes 4096 → 1024/1286/1548/1810", () => {
    const toy = boot({ arch: "toy", ram: "1GiB", minFreeKbytes: 4096 });
    expect(toy.zoneInfo("Normal").watermarks).toEqual({ min: 1024, low: 1286, high: 1548, promo: 1810 });
  });

  it("min_free_kbytes without THP is int_sqrt(lowmem_kbytes * 16): 1 GiB of lowmem → about 4096", () => {
    const x = boot({ arch: "x86_64", ram: "1GiB", thp: false });
    const managed = x.zoneInfo("DMA").managed + x.zoneInfo("DMA32").managed;
    expect(x.ms.sysctl.min_free_kbytes).toBe(Math.floor(Math.sqrt(managed * 4 * 16)));
    expect(x.ms.sysctl.min_free_kbytes).toBeGreaterThan(3900);
    expect(x.ms.sysctl.min_free_kbytes).toBeLessThanOrEqual(4096);
  });
});

describe("/proc/pagetypeinfo", () => {
  it("header, per-type free counts and pageblock counts", () => {
    const t = boot().cat("/proc/pagetypeinfo").text;
    expect(t.startsWith("Page block order: 10\nPages per block:  1024\n\nFree pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n")).toBe(true);
    expect(t).toContain("Node    0, zone      DMA, type    Unmovable      0      0      0      0      0      0      0      0      0      0      0 \n");
    expect(t).toContain("Node    0, zone      DMA, type      Movable      0      0      0      0      0      0      0      0      1      1      3 \n");
    expect(t).toContain("\nNumber of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n");
    // 4095 pages from PFN 1 walked in 1024-page steps: 4 pageblocks, all Movable at boot
    expect(t).toContain("Node 0, zone      DMA            0            4            0            0            0            0 \n");
    const x = boot({ arch: "x86_64", ram: "4GiB" }).cat("/proc/pagetypeinfo").text;
    expect(x.startsWith("Page block order: 9\nPages per block:  512\n")).toBe(true);
  });

  it("its header line is this machine's", () => {
    const real = host("/proc/pagetypeinfo");
    if (!real) return;
    const ours = boot({ arch: "x86_64", ram: "4GiB" }).cat("/proc/pagetypeinfo").text;
    expect(ours.split("\n").slice(0, 4)).toEqual(real.split("\n").slice(0, 4));
  });
});

describe("/proc/meminfo", () => {
  it("16-column labels, values right-aligned in 8 columns, kB; MemTotal is the managed pages", () => {
    const m = boot();
    const t = m.cat("/proc/meminfo").text;
    const lines = t.trimEnd().split("\n");
    expect(lines[0]).toBe(`MemTotal:       ${String(m.ms.totalram_pages * 4).padStart(8)} kB`);
    expect(lines.slice(0, 3).map((l) => l.split(":")[0])).toEqual(["MemTotal", "MemFree", "MemAvailable"]);
    for (const l of lines) expect(l).toMatch(/^(HugePages_\w+: {3,}\d+|[A-Za-z0-9_()]+: +\d+ kB)$/);
    // MemAvailable = free − totalreserve_pages (no page cache, no reclaimable slab yet)
    const free = m.freePagesCount;
    expect(t).toContain(`MemAvailable:   ${String((free - m.ms.totalreserve_pages) * 4).padStart(8)} kB\n`);
    // 32-bit: the highmem lines
    expect(t).toMatch(/\nHighTotal: +\d+ kB\nHighFree: +\d+ kB\nLowTotal: +\d+ kB\nLowFree: +\d+ kB\n/);
    expect(t).toMatch(/\nDirectMap4k: +\d+ kB\nDirectMap4M: +\d+ kB\n$/);
  });

  it("x86-64: VmallocTotal 34359738367 kB, and every shared label sits in the same columns as this machine's", () => {
    const t = boot({ arch: "x86_64", ram: "4GiB" }).cat("/proc/meminfo").text;
    expect(t).toContain("VmallocTotal:   34359738367 kB\n");
    const real = host("/proc/meminfo");
    if (!real) return;
    const cols = (s: string) => new Map(s.trimEnd().split("\n").map((l) => [l.split(":")[0], l.length - l.trimStart().length + l.indexOf(":")]));
    const ours = new Map(t.trimEnd().split("\n").map((l) => [l.split(":")[0]!, l]));
    let compared = 0;
    for (const l of real.trimEnd().split("\n")) {
      const k = l.split(":")[0]!;
      const o = ours.get(k);
      if (!o || /\d{9,}/.test(l) || /\d{9,}/.test(o)) continue;
      expect(o.length, k).toBe(l.length); // same label width, value width and unit
      compared++;
    }
    void cols;
    expect(compared).toBeGreaterThan(30);
  });
});

describe("/sys/kernel/debug/extfrag (mm/vmstat.c unusable_free_index, __fragmentation_index)", () => {
  it("computes what this machine's kernel prints for its own free lists (DMA and DMA32 hold still)", async () => {
    const { unusable_free_index, fragmentation_index } = await import("../../src/proc/vmstat");
    const bi = host("/proc/buddyinfo");
    const ui = host("/sys/kernel/debug/extfrag/unusable_index");
    const ei = host("/sys/kernel/debug/extfrag/extfrag_index");
    if (!bi || !ui || !ei) return; // debugfs not mounted here
    const counts = new Map(bi.trim().split("\n").map((l) => [l.slice(0, 21), l.slice(22).trim().split(/\s+/).map(Number)]));
    const fmt = (i: number, w = 0) => `${String(Math.trunc(i / 1000)).padStart(w)}.${String(Math.abs(i % 1000)).padStart(3, "0")}`;
    let compared = 0;
    for (const zone of ["     DMA", "   DMA32"]) {
      const key = `Node 0, zone ${zone}`;
      const nr = counts.get(key);
      const u = ui.split("\n").find((l) => l.startsWith(key));
      const e = ei.split("\n").find((l) => l.startsWith(key));
      if (!nr || !u || !e) continue;
      expect(`${key} ${nr.map((_, o) => fmt(unusable_free_index(nr, o))).join(" ")} `).toBe(u);
      expect(`${key} ${nr.map((_, o) => fmt(fragmentation_index(nr, o), 2)).join(" ")} `).toBe(e);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });

  it("a fragmented toy: plenty free, no order-3 block", () => {
    const m = boot({ arch: "toy", ram: "64KiB", trace: false });
    const pages = Array.from({ length: 16 }, () => m.allocPages(0));
    pages.filter((_, i) => i % 2 === 0).forEach((p) => p.free());
    // 8 free pages, all order 0: unusable for order ≥ 1; extfrag index for order k = 1000 - (1000 + 8000/2^k) / 8
    expect(m.cat("/sys/kernel/debug/extfrag/unusable_index").text).toBe("Node 0, zone   Normal 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n");
    expect(m.cat("/sys/kernel/debug/extfrag/extfrag_index").text).toBe("Node 0, zone   Normal -1.000  0.375  0.625  0.750  0.813  0.844  0.860  0.868  0.872  0.874  0.875 \n");
  });
});
