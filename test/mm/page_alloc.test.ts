/**
 * The buddy allocator against worked examples: the kernel's own comments, the seeds' 128 KiB / 132 KiB
 * examples, and PFNs derived by hand from mm/page_alloc.c (6.12) for the default machines.
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src";
import { __find_buddy_pfn } from "../../src/mm/internal";
import { MIGRATE_MOVABLE, MIGRATE_UNMOVABLE } from "../../src/mm/mmzone";

const KiB = 1024;

function freeList(m: ReturnType<typeof boot>, zone: string, order: number, mt: number) {
  return m.findZone(zone).list_pfns(order, mt);
}

describe("__find_buddy_pfn (mm/internal.h)", () => {
  it("PFN 8's order-1 buddy is 8 ^ 2 = 10, as the comment above it says", () => {
    expect(__find_buddy_pfn(8, 1)).toBe(10);
    expect(__find_buddy_pfn(10, 1)).toBe(8);
    expect(__find_buddy_pfn(0x100, 3)).toBe(0x108);
  });
});

describe("the seeds' worked examples on a 64-frame toy", () => {
  it("128 KiB is order 5, split from order 6; the other half goes on the order-5 list", () => {
    const m = boot({ arch: "toy", ram: "256KiB" });
    expect(m.cat("/proc/buddyinfo").text).toBe("Node 0, zone   Normal      0      0      0      0      0      0      1      0      0      0      0 \n");
    const b = m.allocPages("128KiB");
    expect(b.order).toBe(5);
    expect(b.pfn).toBe(0);
    expect(b.wasted).toBe(0);
    expect(freeList(m, "Normal", 5, MIGRATE_MOVABLE)).toEqual([0x20]);
    expect(m.cat("/proc/buddyinfo").text).toBe("Node 0, zone   Normal      0      0      0      0      0      1      0      0      0      0      0 \n");
    const split = b.trace.find((e) => e.fn === "expand");
    expect(split?.text).toContain("upper half 0x20 (order 5");
    // freeing it merges back to order 6
    const f = b.free();
    expect(f.merged).toEqual({ pfn: 0, order: 6 });
    expect(f.trace.some((e) => e.fn === "__free_one_page" && e.text.includes("buddy 0x20 is free"))).toBe(true);
    expect(m.cat("/proc/buddyinfo").text).toBe("Node 0, zone   Normal      0      0      0      0      0      0      1      0      0      0      0 \n");
    m.check();
  });

  it("132 KiB takes order 6 and wastes 124 KiB to internal fragmentation", () => {
    const m = boot({ arch: "toy", ram: "256KiB" });
    const b = m.allocPages("132KiB");
    expect(b.order).toBe(6);
    expect(b.bytes).toBe(256 * KiB);
    expect(b.wasted).toBe(124 * KiB);
    expect(String(b)).toContain("internal fragmentation: 124 KiB of 256 KiB unused");
  });
});

describe("expand() keeps the lowest piece and hands back the upper halves (mm/page_alloc.c)", () => {
  it("an order-3 block at 0x100 serving an order-0 request frees 0x104 (o2), 0x102 (o1), 0x101 (o0)", () => {
    // 0x108 frames: boot frees an order-8 block at 0 and an order-3 block at 0x100
    const m = boot({ arch: "toy", ram: 0x108 * 4096 });
    const b = m.allocPages(0);
    expect(b.pfn).toBe(0x100);
    expect(freeList(m, "Normal", 2, MIGRATE_MOVABLE)).toEqual([0x104]);
    expect(freeList(m, "Normal", 1, MIGRATE_MOVABLE)).toEqual([0x102]);
    expect(freeList(m, "Normal", 0, MIGRATE_MOVABLE)).toEqual([0x101]);
    expect(freeList(m, "Normal", 8, MIGRATE_MOVABLE)).toEqual([0]);
    // the next three order-0 requests take the list heads in turn
    expect([m.allocPages(0).pfn, m.allocPages(0).pfn, m.allocPages(0).pfn]).toEqual([0x101, 0x102, 0x103]);
  });

  it("__rmqueue_smallest takes the list head: upper halves go to the head, so the newest split is reused first", () => {
    const m = boot({ arch: "toy", ram: "64KiB" }); // 16 frames, one order-4 block
    const pfns = Array.from({ length: 16 }, () => m.allocPages(0).pfn);
    expect(pfns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(() => m.allocPages(0)).toThrow(/ENOMEM/);
  });
});

describe("__free_one_page and buddy_merge_likely: head or tail", () => {
  it("a freed page goes to the tail when its order+1 buddy is already free, else to the head", () => {
    const m = boot({ arch: "toy", ram: "64KiB" }); // 16 frames
    const b = Array.from({ length: 8 }, () => m.allocPages(0)); // 0..7; free: 8 (order 3)
    b[2]!.free();
    b[3]!.free(); // 2 and 3 merge into order 1 at 2
    expect(freeList(m, "Normal", 1, MIGRATE_MOVABLE)).toEqual([2]);
    b[5]!.free(); // buddy 4 in use; order-1 buddy of 4 (6) not free: head
    const f0 = b[0]!.free(); // buddy 1 in use; the order-1 buddy of 0 is 2, free at order 1: tail
    expect(f0.trace.find((e) => e.fn === "__add_to_free_list")!.text).toContain("to the tail");
    expect(freeList(m, "Normal", 0, MIGRATE_MOVABLE)).toEqual([5, 0]);
    // freeing 1 merges 0+1, then with 2 (order 1) into an order-2 block at 0
    const f1 = b[1]!.free();
    expect(f1.merged).toEqual({ pfn: 0, order: 2 });
    m.check();
  });

  it("merges stop at MAX_PAGE_ORDER: freeing everything on a 4 MiB+ toy leaves order-10 blocks", () => {
    const m = boot({ arch: "toy", ram: "8MiB" }); // 2048 frames: two order-10 blocks
    const blocks = Array.from({ length: 20 }, (_, i) => m.allocPages(i % 4));
    for (const b of blocks.reverse()) b.free();
    expect(m.cat("/proc/buddyinfo").text.trim().split(/\s+/).slice(-11).map(Number)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    m.check();
  });
});

describe("zones, migratetypes and fallbacks on the default machine (32-bit, 2 GiB)", () => {
  it("the first GFP_KERNEL page claims the lowest free order-10 Movable block of Normal for Unmovable", () => {
    const m = boot();
    // Normal starts at 16 MiB (PFN 0x1000) where the 10 MiB kernel image sits: free from 0x1a00,
    // order 9 at 0x1a00, then order-10 blocks from 0x1c00 (FPI_TO_TAIL keeps them ascending)
    const b = m.allocPages(0, "GFP_KERNEL");
    expect(b.zone).toBe("Normal");
    expect(b.pfn).toBe(0x1c00);
    expect(b.migratetype).toBe("Unmovable");
    const z = m.findZone("Normal");
    for (let o = 0; o < 10; o++) expect(z.list_pfns(o, MIGRATE_UNMOVABLE)).toEqual([0x1c00 + (1 << o)]);
    expect(b.trace.map((e) => e.fn)).toContain("__rmqueue_fallback");
    expect(b.trace.find((e) => e.fn === "steal_suitable_fallback")!.text).toContain("claim the whole block 0x1c00 for Unmovable");
    // the second one takes the order-0 Unmovable list head without any fallback
    const c = m.allocPages(0);
    expect(c.pfn).toBe(0x1c01);
    expect(c.trace.map((e) => e.fn)).not.toContain("__rmqueue_fallback");
  });

  it("GFP_HIGHUSER_MOVABLE goes to HighMem first; GFP_DMA to DMA; GFP_DMA32 is Normal on 32-bit", () => {
    const m = boot();
    const hi = m.allocPages(0, "GFP_HIGHUSER_MOVABLE");
    expect(hi.zone).toBe("HighMem");
    // highmem was freed page by page; its first two pages 0x36ffe-0x36fff merged into an order-1 block
    expect(hi.pfn).toBe(0x36ffe);
    expect(m.allocPages(0, "GFP_KERNEL|GFP_DMA").zone).toBe("DMA");
    expect(m.allocPages(0, "GFP_DMA32").zone).toBe("Normal");
  });

  it("x86-64: GFP_DMA32 stays below 4 GiB, GFP_KERNEL uses Normal, zonelist falls back Normal → DMA32 → DMA", () => {
    const m = boot({ arch: "x86_64", ram: "8GiB" });
    const a = m.allocPages(0, "GFP_DMA32");
    expect(a.zone).toBe("DMA32");
    expect(a.pa < 1n << 32n).toBe(true);
    expect(m.allocPages(0).zone).toBe("Normal");
    const small = boot({ arch: "x86_64", ram: "2GiB" }); // no Normal zone: GFP_KERNEL is served by DMA32
    expect(small.allocPages(0).zone).toBe("DMA32");
  });

  it("ENOMEM names the zones tried and the watermark that stopped each", () => {
    const m = boot({ arch: "toy", ram: "64KiB" });
    m.allocPages(4);
    let err: unknown;
    try {
      m.allocPages(0);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "ENOMEM" });
    expect(String((err as Error).message)).toMatch(/page allocation failure: order:0 .* zones tried: Node 0 Normal \(free 0 ≤ min watermark 0\)/);
    expect(m.dmesg().text).toContain("mmlab: page allocation failure: order:0, mode:0x100cca(GFP_HIGHUSER_MOVABLE), nodemask=(null)");
  });

  it("watermarks stop an allocation that would dip into the reserve; __GFP_HIGH may go below min", () => {
    const m = boot({ arch: "toy", ram: "4MiB", minFreeKbytes: 512 }); // min 128 pages of 1024
    const z = m.findZone("Normal");
    expect(z._watermark.slice(0, 3)).toEqual([128, 160, 192]);
    m.quietly(() => {
      while (z.nr_free_pages > 128) m.allocPages(0);
    });
    expect(() => m.allocPages(0)).toThrow(/min watermark 128/);
    expect(m.allocPages(0, "GFP_ATOMIC").order).toBe(0); // ALLOC_MIN_RESERVE halves min
  });
});
