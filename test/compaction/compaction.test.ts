/**
 * Compaction (mm/compaction.c, mm/migrate.c, 6.12) on a small x86-64 machine: 32 MiB, a 2 MiB kernel
 * image, no THP. Its DMA32 zone is PFN 0x1000–0x1fff: eight 512-page pageblocks, of which 0x1000 (the
 * kernel image), 0x1a00 and 0x1e00 hold boot reservations... until user memory fills them.
 *
 * The workload: one process writes "page i" into each of 2048 pages (8 MiB), then unmaps every even page,
 * leaving every other frame free: 1025 free order-0 pages and no free block of order 9 or 10.
 * The PFNs below were derived from the algorithm as implemented after compaction.c and checked by hand
 * against its rules: the migrate scanner isolates from the lowest pageblock up, 32 pages per batch
 * (COMPACT_CLUSTER_MAX) and then the rest of the pageblock (finish_pageblock); cc->migratepages is built
 * with list_add (head), so a batch migrates its highest source first; the free scanner isolates from the
 * highest Movable pageblock down, in ascending PFN order (list_add_tail), and compaction_alloc takes the
 * list head: the lowest free frame.
 */
import { describe, expect, it } from "vitest";
import { swapCacheMachine } from "./helpers";
import { boot, MmError, type Machine, type Process } from "../../src";

const P = 4096;

/** `page0Last`: unmap page 0 (PFN 0x1201) after the other even pages, so its frame heads the free list */
function fragmented(page0Last = false): { m: Machine; p: Process; base: bigint } {
  const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
  const p = m.spawn("app");
  const a = p.mmap("8MiB");
  m.quietly(() => {
    for (let i = 0; i < 2048; i++) p.write(a.addr + BigInt(i * P), `page ${i}`);
    for (let i = page0Last ? 2 : 0; i < 2048; i += 2) p.munmap(a.addr + BigInt(i * P), P);
    if (page0Last) p.munmap(a.addr, P);
  });
  return { m, p, base: a.addr };
}

/** take DMA's free blocks of order ≥ 9, so that high-order requests cannot fall back to it */
function drainDMA(m: Machine): void {
  for (const o of [10, 10, 10, 9]) m.allocPages(o, "GFP_DMA");
}

const pfnAt = (p: Process, va: bigint) => Number(p.translate(va).pa! / BigInt(P));
const dma32 = (m: Machine) => m.cat("/proc/buddyinfo").lines.find((l) => l.includes("DMA32"))!;

describe("m.compact(): the whole zone (order -1, as /proc/sys/vm/compact_memory)", () => {
  it("moves the low pages to the top holes, exactly, and frees order-9 blocks", () => {
    const { m, p, base } = fragmented();
    m.check();
    expect(dma32(m)).toBe("Node 0, zone    DMA32   1025      1      1      1      2      2      2      2      2      0      0 ");
    // before: page 1 is at 0x1202, page 3 at 0x1204 (pages 0.. were handed out from PFN 0x1201 up)
    expect(pfnAt(p, base + 1n * BigInt(P))).toBe(0x1202);
    expect(pfnAt(p, base + 3n * BigInt(P))).toBe(0x1204);
    const r = m.compact("DMA32");
    expect(r.result).toBe("COMPACT_COMPLETE");
    expect(r.migrated).toBe(289);
    // the first batch: 32 pages of pageblock 0x1200, highest first, into the holes of pageblock 0x1c00
    expect(r.moves.slice(0, 4)).toEqual([
      { from: 0x123e, to: 0x1c01 },
      { from: 0x123c, to: 0x1c03 },
      { from: 0x123a, to: 0x1c05 },
      { from: 0x1238, to: 0x1c07 },
    ]);
    expect(r.moves[31]).toEqual({ from: 0x1200, to: 0x1c3f });
    // the second batch finishes pageblock 0x1200 (finish_pageblock): 224 pages, from 0x13fe down
    expect(r.moves[32]).toEqual({ from: 0x13fe, to: 0x1c41 });
    expect(r.moves[r.moves.length - 1]).toEqual({ from: 0x1800, to: 0x1a41 });
    // every page moved up, to a frame that was free
    for (const mv of r.moves) expect(mv.to).toBeGreaterThan(mv.from);
    expect(new Set(r.moves.map((mv) => mv.to)).size).toBe(r.moves.length);
    expect(r.vmstat).toEqual({
      compact_migrate_scanned: 2560,
      compact_free_scanned: 1090,
      compact_isolated: 802,
      compact_stall: 0,
      compact_fail: 0,
      compact_success: 0,
      pgmigrate_success: 289,
      // the last batch found no free page left above the migrate scanner (-ENOMEM): the scanners met
      pgmigrate_fail: 1,
    });
    expect(dma32(m)).toBe("Node 0, zone    DMA32    447      0      0      0      1      1      2      1      1      2      0 ");
    m.check();
  });

  it("the PTEs now map the new frames, and the process reads its old bytes at the same addresses", () => {
    const { m, p, base } = fragmented();
    const r = m.compact("DMA32");
    const moved = new Map(r.moves.map((mv) => [mv.from, mv.to]));
    expect(pfnAt(p, base + 1n * BigInt(P))).toBe(0x1c3d);
    expect(moved.get(0x1202)).toBe(0x1c3d);
    expect(pfnAt(p, base + 3n * BigInt(P))).toBe(0x1c3b);
    for (let i = 1; i < 2048; i += 2) expect(p.read(base + BigInt(i * P), 12).text).toBe(`page ${i}`);
    // and the even pages are still gone
    expect(() => p.read(base, 1)).toThrow(MmError);
    m.check();
  });

  it("reports the pageblocks unmovable pages kept from freeing", () => {
    const { m } = fragmented();
    const r = m.compact("DMA32");
    expect(r.zones[0]!.blocked).toEqual([
      { start: 0x1000, migratetype: "Movable", pages: { "kernel image": 512 } },
      { start: 0x1400, migratetype: "Unmovable", pages: { "page table": 15, "zero page": 1 } },
    ]);
    const after = r.zones[0]!.after.pageblocks.map((b) => [b.start, b.free]);
    expect(after).toEqual([
      [0x1000, 0],
      [0x1200, 512],
      [0x1400, 496],
      [0x1600, 512],
      [0x1800, 288],
      [0x1a00, 223],
      [0x1c00, 0],
      [0x1e00, 0],
    ]);
  });

  it("one unmovable page is enough to keep a pageblock from becoming free", () => {
    const { m } = fragmented(true);
    // a GFP_HIGHUSER_MOVABLE page nobody put on the LRU (a driver's page): the Movable order-0 list's
    // head, the hole page 0 left in pageblock 0x1200 among the user pages
    const pin = m.allocPages(0, "GFP_HIGHUSER_MOVABLE");
    expect(pin.pfn).toBe(0x1201);
    const r = m.compact("DMA32");
    expect(r.migrated).toBe(289);
    expect(r.zones[0]!.blocked[1]).toEqual({ start: 0x1200, migratetype: "Movable", pages: { "kernel page": 1 } });
    const b = r.zones[0]!.after.pageblocks.find((x) => x.start === 0x1200)!;
    expect([b.free, b.movable, b.unmovable]).toEqual([511, 0, 1]);
    // pageblock 0x1200 cannot become an order-9 block: only 0x1600's is free
    expect(r.zones[0]!.after.nr_free).toEqual([448, 1, 1, 1, 2, 2, 3, 2, 2, 1, 0]);
    m.check();
  });

  it("kernel allocations claim a pageblock of their own, which compaction cannot empty", () => {
    const { m } = fragmented();
    // 600 GFP_KERNEL pages: they fill the Unmovable pageblock 0x1400, then claim the mostly free 0x1600
    // (steal_suitable_fallback: free + alike ≥ half a pageblock)
    m.quietly(() => {
      for (let i = 0; i < 600; i++) m.allocPages(0, "GFP_KERNEL");
    });
    const r = m.compact("DMA32");
    expect(r.zones[0]!.blocked).toEqual([
      { start: 0x1000, migratetype: "Movable", pages: { "kernel image": 512 } },
      { start: 0x1400, migratetype: "Unmovable", pages: { "page table": 15, "kernel page": 496, "zero page": 1 } },
      { start: 0x1600, migratetype: "Unmovable", pages: { "kernel page": 104 } },
    ]);
    expect(r.zones[0]!.after.blockCounts).toEqual([2, 6, 0, 0, 0, 0]);
    expect(r.zones[0]!.after.nr_free[9]).toBe(1);
    m.check();
  });

  it("keeps /proc/pagetypeinfo consistent with the free lists", () => {
    const { m } = fragmented();
    m.compact();
    const t = m.cat("/proc/pagetypeinfo").text;
    const rows = t.split("\n").filter((l) => l.startsWith("Node    0, zone    DMA32, type"));
    const perOrder = new Array(11).fill(0);
    for (const l of rows) l.trim().split(/\s+/).slice(-11).forEach((v, o) => (perOrder[o] += Number(v)));
    expect(perOrder.join(" ")).toBe(dma32(m).trim().split(/\s+/).slice(4).join(" "));
    expect(t).toContain("Node 0, zone    DMA32            1            7            0            0            0            0 ");
  });

  it("passes over a pageblock a 2 MiB compound page fills without scanning it (pageblock_skip_persistent)", () => {
    const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
    m.kmalloc("2MiB"); // kmalloc_large(): an order-9 __GFP_COMP block, pageblock 0x1400
    const r = m.compact("DMA32");
    // suitable_migration_source() is false for it in every mode: 6 of the 7 pageblocks below the free
    // scanner's 0x1e00 are scanned, 0x1400 is not (the facade still names what fills it). As in 6.12's
    // isolate_migratepages_block(), the free order-10 block at 0x1800 counts 1024 from its head (the
    // PageBuddy skip is not clipped to the pageblock) and its upper half again frame by frame in 0x1a00:
    // 512 + 512 + 0 + 512 + 1024 + 512 + 512
    expect(r.zones[0]!.migrateScanned).toBe(3584);
    expect(r.zones[0]!.blocked).toEqual([
      { start: 0x1000, migratetype: "Movable", pages: { "kernel image": 512 } },
      { start: 0x1400, migratetype: "Unmovable", pages: { "kernel page": 512 } },
    ]);
    expect(r.trace.some((e) => e.fn === "suitable_migration_source")).toBe(true);
    m.check();
  });

  it("with no zone compacts every zone (DMA has nothing to move)", () => {
    const { m } = fragmented();
    const r = m.compact();
    expect(r.zones.map((z) => [z.zone, z.result, z.migrated])).toEqual([
      ["DMA", "COMPACT_COMPLETE", 0],
      ["DMA32", "COMPACT_COMPLETE", 289],
    ]);
    m.check();
  });
});

describe("a high-order allocation and compaction", () => {
  it("an order-9 request that cannot wait fails before compaction and succeeds after", () => {
    const { m } = fragmented();
    drainDMA(m);
    expect(() => m.allocPages(9, "GFP_NOWAIT")).toThrow(/page allocation failure: order:9/);
    m.check();
    m.compact("DMA32");
    // two order-9 blocks now (0x1200 and 0x1600); the fallback takes the Movable list's head, 0x1600,
    // the block that merged last
    expect(m.findZone("DMA32").list_pfns(9, 1)).toEqual([0x1600, 0x1200]);
    const b = m.allocPages(9, "GFP_NOWAIT");
    expect([b.pfn, b.zone]).toEqual([0x1600, "DMA32"]);
    m.check();
  });

  it("an order-9 GFP_KERNEL request compacts directly in the slow path (__alloc_pages_direct_compact)", () => {
    const { m, p, base } = fragmented();
    drainDMA(m);
    const b = m.allocPages(9, "GFP_KERNEL");
    expect([b.pfn, b.zone]).toEqual([0x1200, "DMA32"]);
    const fns = b.trace.map((e) => e.fn);
    expect(fns).toContain("__alloc_pages_direct_compact");
    expect(fns).toContain("compact_zone");
    const v = m.ms.vmstat;
    // a targeted run stops as soon as the block exists: only pageblock 0x1200's 256 pages moved.
    // The free side is 6.12's fast_isolate_freepages() (every run with cc->order > 0 tries it first):
    // 1st call: migrate_pfn 0x123f, free_pfn 0x1e00: top quarter ≥ 0x1a00, top half ≥ 0x1800. The
    // Movable lists of orders 8…1 hold one block each (0x1700…0x1602, 8 scanned, none that high), order
    // 0's is walked from its tail for 256 entries (limit pageblock_nr_pages/2: 0x1601, 0x1201…0x13fd):
    // nothing; direct compaction then restarts the free scanner at min_pfn 0x1800 and
    // fast_isolate_around() takes 32 pages from 0x1800–0x183f (64 scanned): 264 + 64.
    // 2nd call (224 pages to place): migrate_pfn 0x1400, free_pfn 0x1800: top quarter ≥ 0x1600, so the
    // order-7 block 0x1680 is taken at once (1 + 127 scanned), then 0x1600–0x167f around it (128
    // scanned, 127 pages): 328 + 128 + 128 = 584.
    expect([v.compact_stall, v.compact_success, v.compact_fail, v.pgmigrate_success, v.compact_migrate_scanned, v.compact_free_scanned]).toEqual([1, 1, 0, 256, 1024, 584]);
    expect(b.trace.find((e) => e.fn === "steal_suitable_fallback")!.text).toBe("order 9 ≥ pageblock_order 9: claim the whole block 0x1200 for Unmovable (was Movable)");
    for (let i = 1; i < 2048; i += 2) expect(p.read(base + BigInt(i * P), 12).text).toBe(`page ${i}`);
    m.check();
  });

  it("a targeted m.compact(zone, { order }) stops once a free block of that order exists", () => {
    const { m } = fragmented();
    const r = m.compact("DMA32", { order: 9 });
    expect(r.result).toBe("COMPACT_SUCCESS");
    expect(r.migrated).toBe(256);
    // not direct compaction: when fast_isolate_freepages() finds nothing in the top half (1st batch: 264
    // free-list entries scanned) the linear free scanner runs from the zone's end (0x1e00: 512 scanned,
    // 0x1c00–0x1c3f: 64); for the 2nd batch the order-0 list's tail (rotated there by the 1st search)
    // yields 0x1c41 in the top quarter after 10 entries, and fast_isolate_around() scans 0x1c00–0x1dff
    expect(r.zones[0]!.freeScanned).toBe(264 + 512 + 64 + 10 + 512);
    expect(r.moves.slice(0, 2)).toEqual([
      { from: 0x123e, to: 0x1c01 },
      { from: 0x123c, to: 0x1c03 },
    ]);
    expect(r.moves[32]).toEqual({ from: 0x13fe, to: 0x1c41 });
    expect(r.zones[0]!.after.nr_free[9]).toBe(1);
    // nothing left to do: the watermark check with a free order-9 block passes at once
    const again = m.compact("DMA32", { order: 9 });
    expect(again.result).toBe("COMPACT_SUCCESS");
    expect(again.migrated).toBe(0);
    m.check();
  });

  it("below pageblock_order a targeted run takes 32 pages per batch all through the pageblock (check_drain)", () => {
    const { m } = fragmented();
    const z = m.findZone("DMA32");
    // no free block of order 1 or more left in DMA32: only the 1025 order-0 holes
    m.quietly(() => {
      for (let o = 10; o >= 1; o--) while (z.nr_free[o]! > 0) m.allocPages(o, "GFP_HIGHUSER_MOVABLE");
    });
    const r = m.compact("DMA32", { order: 3 });
    expect(r.result).toBe("COMPACT_SUCCESS");
    expect(r.migrated).toBe(256);
    // 6.12 compact_zone(): after a batch the migrate scanner has left the order-3-aligned block it migrated
    // from, so check_drain zeroes last_migrated_pfn and the next batch is no finish_pageblock rescan: the
    // 2nd batch is 0x1240–0x127e (32 pages, highest first), not the rest of the pageblock. Each batch's
    // destinations come from fast_isolate_freepages(): a tail entry of the order-0 list in the top quarter,
    // then fast_isolate_around() over its pageblock 0x1c00 from the start.
    expect(r.moves[32]).toEqual({ from: 0x127e, to: 0x1c41 });
    expect(r.moves[64]).toEqual({ from: 0x12be, to: 0x1c81 });
    expect([r.zones[0]!.migrateScanned, r.zones[0]!.freeScanned]).toEqual([1024, 3080]);
    expect(r.zones[0]!.after.nr_free[9]).toBe(1);
    m.check();
  });

  it("compaction_suitable() skips a zone whose free memory is too little to migrate into", () => {
    const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
    const p = m.spawn("app");
    const a = p.mmap("11MiB");
    // fill DMA32 until it sits near its watermarks
    m.quietly(() => p.touch(a.addr, "11MiB"));
    const r = m.compact("DMA32", { order: 9 });
    expect(r.result).toBe("COMPACT_SKIPPED");
    expect(r.zones[0]!.why).toMatch(/watermark/);
    expect(r.migrated).toBe(0);
    m.check();
  });
});

describe("other machines", () => {
  it("32-bit x86: user pages live in HighMem, and compaction moves them there", () => {
    const m = boot({ seed: 3 });
    const p = m.spawn("a"), q = m.spawn("b");
    const ma = p.mmap(6000 * P), mb = q.mmap(6000 * P);
    m.quietly(() => {
      for (let i = 0; i < 6000; i++) {
        ma.write("a" + i, i * P);
        mb.write("b" + i, i * P);
      }
    });
    q.exit();
    const r = m.quietly(() => m.compact());
    expect(r.zones.map((z) => [z.zone, z.result, z.migrated])).toEqual([
      ["DMA", "COMPACT_COMPLETE", 0],
      ["Normal", "COMPACT_COMPLETE", 0],
      ["HighMem", "COMPACT_COMPLETE", 2560],
    ]);
    for (const mv of r.moves) expect(m.ms.page_zone(mv.to).name).toBe("HighMem");
    for (let i = 0; i < 6000; i += 5) expect(p.read(ma.addr + BigInt(i * P), 8).text).toBe("a" + i);
    m.check();
  });

  it("a toy zone smaller than one pageblock: the scanners meet at once", () => {
    const t = boot({ arch: "toy", ram: "256KiB" });
    const r = t.compact();
    expect([r.result, r.migrated, r.zones[0]!.migrateScanned, r.zones[0]!.freeScanned]).toEqual(["COMPACT_COMPLETE", 0, 0, 0]);
    t.check();
  });
});

describe("pinned pages", () => {
  it("a pinned page in the swap cache is isolated anyway and fails in migrate_pages() (6.12 tests pins only when folio_mapping() is NULL)", () => {
    const { m, p, ma, n, l, src } = swapCacheMachine();
    expect(src).toBe(0x1800);
    const keep = BigInt(l.index[src]!) * BigInt(P);
    // unmap everything but that page and every 8th frame of DMA32's top pageblocks (room to migrate into)
    m.quietly(() => {
      for (let i = 0; i < n; i++) {
        const va = ma.addr + BigInt(i * P);
        const pa = p.translate(va).pa;
        const pfn = pa === undefined ? -1 : Number(pa / BigInt(P));
        if (va !== keep && !(pfn >= 0x1c00 && pfn < 0x2000 && pfn % 8 === 0)) p.munmap(va, P);
      }
    });
    expect([m.ms.mem_map.refcount[src], m.ms.mem_map.mapcount[src]]).toEqual([2, 1]); // the PTE and the swap cache
    m.ms.mem_map.refcount[src]!++; // a pin
    const r = m.compact("DMA32");
    // isolated (compact_isolated: it and its destination), then -EAGAIN in the move (refcount 3, 2 expected)
    expect([r.vmstat.compact_isolated, r.vmstat.pgmigrate_success, r.vmstat.pgmigrate_fail]).toEqual([2, 0, 1]);
    expect(r.zones[0]!.blocked.some((b) => "pinned" in b.pages)).toBe(false);
    expect(Number(p.translate(keep).pa! / BigInt(P))).toBe(src);
    m.ms.mem_map.refcount[src]!--;
    m.check();
  });
});

describe("m.compact() arguments", () => {
  it("rejects unknown and empty zones, and opts without a zone", () => {
    const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
    expect(() => m.compact("HighMem")).toThrow(MmError);
    try {
      m.compact("Bogus");
    } catch (e) {
      expect((e as MmError).code).toBe("EINVAL");
    }
    expect(() => m.compact("Normal")).toThrow(/has no memory/);
    expect(() => m.compact(undefined, { order: 3 })).toThrow(/need a zone/);
    expect(() => m.compact("DMA32", { order: 11 })).toThrow(MmError);
    expect(() => m.compact("DMA32", { node: 1 })).toThrow(MmError);
  });

  it("renders as text and HTML", () => {
    const { m } = fragmented();
    const r = m.compact("DMA32");
    const v = r.view();
    expect(v.summary).toBe("Compaction DMA32 COMPLETE: 289 pages migrated");
    const text = JSON.stringify(v.blocks);
    expect(text).toContain("type before  MMUMMMMM");
    expect(text).toContain("used after   U·U·mmmU");
    expect(typeof r.toHTML()).toBe("string");
  });
});
