/**
 * Random operation sequences (fast-check): after every step m.check() must hold, and on the toy the PFNs
 * must equal those of an independent, deliberately plain re-implementation of 6.12's algorithm
 * (arrays for lists, no typed-array links) — a differential test of the list discipline.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boot, type PageBlock } from "../../src";

/** the reference: free lists as arrays (index 0 = list head), buddy_merge_likely, FPI_TO_TAIL at boot */
class ReferenceBuddy {
  lists: number[][] = Array.from({ length: 11 }, () => []);
  freeOrder = new Map<number, number>(); // head pfn -> order of free blocks
  constructor(readonly frames: number) {
    let start = 0;
    while (start < frames) {
      let order = start ? Math.min(10, Math.log2(start & -start)) : 10;
      while (start + (1 << order) > frames) order--;
      this.free(start, order, true);
      start += 1 << order;
    }
  }
  isFree(pfn: number, order: number) {
    return pfn >= 0 && pfn < this.frames && this.freeOrder.get(pfn) === order;
  }
  alloc(order: number): number {
    for (let cur = order; cur <= 10; cur++) {
      const list = this.lists[cur]!;
      if (!list.length) continue;
      const pfn = list.shift()!;
      this.freeOrder.delete(pfn);
      for (let h = cur - 1; h >= order; h--) {
        const half = pfn + (1 << h);
        this.lists[h]!.unshift(half);
        this.freeOrder.set(half, h);
      }
      return pfn;
    }
    return -1;
  }
  free(pfn: number, order: number, toTail = false) {
    let buddy = 0;
    while (order < 10) {
      buddy = pfn ^ (1 << order);
      if (!this.isFree(buddy, order)) break;
      this.lists[order]!.splice(this.lists[order]!.indexOf(buddy), 1);
      this.freeOrder.delete(buddy);
      pfn &= buddy;
      order++;
    }
    let tail = toTail;
    if (!toTail && order < 9) {
      const higher = buddy & pfn;
      tail = this.isFree(higher ^ (1 << (order + 1)), order + 1);
    }
    if (tail) this.lists[order]!.push(pfn);
    else this.lists[order]!.unshift(pfn);
    this.freeOrder.set(pfn, order);
  }
}

const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("alloc" as const), order: fc.nat({ max: 10 }), skew: fc.nat({ max: 99 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
);

describe("property: random alloc/free on the toy equals the reference and keeps every invariant", () => {
  it("6,000 steps, m.check() after each", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 300, maxLength: 300 }), fc.constantFrom(64, 100, 512, 1000), (ops, frames) => {
        const m = boot({ arch: "toy", ram: frames * 4096, trace: false });
        const ref = new ReferenceBuddy(frames);
        const live: PageBlock[] = [];
        for (const o of ops) {
          if (o.kind === "alloc") {
            // skew toward small orders, as real workloads are
            const order = o.skew < 70 ? o.order % 3 : o.order % 8;
            const want = ref.alloc(order);
            if (want < 0) {
              expect(() => m.allocPages(order)).toThrow(/ENOMEM/);
            } else {
              const b = m.allocPages(order);
              expect(b.pfn).toBe(want);
              live.push(b);
            }
          } else if (live.length) {
            const b = live.splice(o.pick % live.length, 1)[0]!;
            ref.free(b.pfn, b.order);
            b.free();
          }
          m.check();
        }
        for (const b of live) b.free();
        m.check();
        expect(m.freePagesCount).toBe(frames);
      }),
      { numRuns: 20, seed: 20261125 },
    );
  }, 120_000);
});

const GFPS = ["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|GFP_DMA", "GFP_ATOMIC", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_USER", "GFP_DMA32", "GFP_NOWAIT"];

function pcWorkload(cfg: Parameters<typeof boot>[0], runs: number, steps: number) {
  fc.assert(
    fc.property(
      fc.array(fc.record({ alloc: fc.nat({ max: 9 }), order: fc.nat({ max: 10 }), gfp: fc.nat({ max: GFPS.length - 1 }), pick: fc.nat() }), { minLength: steps, maxLength: steps }),
      (ops) => {
        const m = boot({ ...cfg, trace: false });
        const free0 = m.freePagesCount;
        const live: PageBlock[] = [];
        for (const o of ops) {
          if (o.alloc < 6 || !live.length) {
            const order = o.order < 7 ? o.order % 4 : o.order;
            try {
              live.push(m.allocPages(order, GFPS[o.gfp]));
            } catch (e) {
              expect((e as { code?: string }).code).toBe("ENOMEM");
            }
          } else live.splice(o.pick % live.length, 1)[0]!.free();
          m.check();
        }
        for (const b of live) b.free();
        m.check();
        expect(m.freePagesCount).toBe(free0);
      },
    ),
    { numRuns: runs, seed: 7 },
  );
}

describe("property: zones, GFP flags, migratetype fallbacks and pageblock stealing on PC machines", () => {
  it("32-bit, 32 MiB (DMA + Normal): 3,000 steps", () => pcWorkload({ ram: "32MiB" }, 10, 300), 120_000);
  it("x86-64, 64 MiB (DMA + DMA32): 3,000 steps", () => pcWorkload({ arch: "x86_64", ram: "64MiB" }, 10, 300), 120_000);
  it("32-bit PAE, 1 GiB with HighMem, and a 2-node NUMA machine with ZONE_MOVABLE: 1,000 steps", () => {
    pcWorkload({ arch: "x86_pae", ram: "1GiB" }, 2, 250);
    pcWorkload({ arch: "x86_64", nodes: ["64MiB", "64MiB"], movablecore: "32MiB" }, 2, 250);
  }, 240_000);
});
