// Golden PFN sequences of fixed workloads, recorded BEFORE the allocator's hot paths were optimized
// for `npm run bench`: an optimization must hand out the same PFNs, merge the same way and emit the
// same trace text. Each workload is driven by a seeded xorshift32 through the public API; we keep the
// first PFNs literally and an FNV-1a hash of everything (every alloc's PFN, every free's merged block,
// the trace text of the traced prefix, and /proc/buddyinfo + /proc/pagetypeinfo at the end).
import { describe, expect, it } from "vitest";
import { boot, type Machine } from "../src/api/machine";
import type { PageBlock } from "../src/api/results";
import { MmError } from "../src/errors";
import { state_equal } from "../src/kernel/snapshot";
import type { TraceEvent } from "../src/kernel/trace";

function xorshift32(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

class Fnv {
  h = 0x811c9dc5;
  str(s: string): void {
    for (let i = 0; i < s.length; i++) this.h = Math.imul(this.h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  }
  num(n: number): void {
    this.str(String(n) + ",");
  }
}

interface Outcome {
  first: number[];
  allocs: number;
  frees: number;
  enomem: number;
  hash: string;
  traceHash: string;
  traceEvents: number;
}

/** `steps` random operations after the seed; `traced` of them with tracing on (the rest quietly) */
function run(m: Machine, kind: "order0" | "mixed", steps: number, limit: number, traced: number, gfps: (string | undefined)[]): Outcome {
  const rnd = xorshift32(kind === "order0" ? 12345 : 67890);
  const live: PageBlock[] = [];
  const h = new Fnv();
  const th = new Fnv();
  const first: number[] = [];
  let allocs = 0;
  let frees = 0;
  let enomem = 0;
  let traceEvents = 0;
  const eat = (t: TraceEvent[]) => {
    for (const e of t) {
      traceEvents++;
      th.str(`${e.depth}|${e.fn}|${e.file}|${e.text}|${JSON.stringify(e.data ?? null)}\n`);
    }
  };
  for (let i = 0; i < steps; i++) {
    m.tracing = i < traced;
    const r = rnd();
    if (live.length === 0 || ((r & 1) === 0 && live.length < limit) || (i < limit / 2 && (r & 3) !== 3)) {
      let order = 0;
      if (kind === "mixed") {
        const w = rnd() % 1000;
        order = w < 500 ? 0 : w < 750 ? 1 : w < 875 ? 2 : w < 975 ? 3 : 4 + (rnd() % 4);
      }
      const gfp = gfps[rnd() % gfps.length];
      try {
        const b = m.allocPages(order, gfp);
        live.push(b);
        allocs++;
        h.num(b.pfn);
        if (first.length < 24) first.push(b.pfn);
        if (m.tracing) eat(b.trace);
      } catch (e) {
        if (!(e instanceof MmError) || e.code !== "ENOMEM") throw e;
        enomem++;
        h.num(-1);
      }
    } else {
      const k = rnd() % live.length;
      const b = live[k]!;
      live[k] = live[live.length - 1]!;
      live.pop();
      const f = b.free();
      frees++;
      h.num(f.merged.pfn);
      h.num(f.merged.order);
      if (m.tracing) eat(f.trace);
    }
  }
  m.tracing = true;
  h.str(m.cat("/proc/buddyinfo").text);
  h.str(m.cat("/proc/pagetypeinfo").text);
  m.check();
  return { first, allocs, frees, enomem, hash: h.h.toString(16), traceHash: th.h.toString(16), traceEvents };
}

describe("bench workloads hand out the same PFNs as before the hot-path optimizations", () => {
  it("toy 4 MiB, order 0", () => {
    const o = run(boot({ arch: "toy", ram: "4MiB" }), "order0", 3000, 700, 400, [undefined]);
    expect(o).toEqual(GOLDEN.toy_order0);
  });
  it("toy 4 MiB, mixed orders", () => {
    const o = run(boot({ arch: "toy", ram: "4MiB" }), "mixed", 3000, 150, 400, [undefined]);
    expect(o).toEqual(GOLDEN.toy_mixed);
  });
  it("boot() default, order 0, mixed GFP", () => {
    const o = run(boot(), "order0", 6000, 2000, 600, [undefined, undefined, "GFP_HIGHUSER_MOVABLE", "GFP_USER", "GFP_DMA", "GFP_ATOMIC"]);
    expect(o).toEqual(GOLDEN.default_order0);
  });
  it("boot() default, mixed orders, mixed GFP", () => {
    const o = run(boot(), "mixed", 6000, 1500, 600, [undefined, undefined, "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_DMA", "GFP_ATOMIC"]);
    expect(o).toEqual(GOLDEN.default_mixed);
  });
  it("x86_64 4 GiB (DMA32 + Normal, ALLOC_NOFRAGMENT), mixed orders", () => {
    const o = run(boot({ arch: "x86_64", ram: "4GiB" }), "mixed", 6000, 1500, 600, [undefined, "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER_MOVABLE", "GFP_DMA32", "GFP_NOWAIT"]);
    expect(o).toEqual(GOLDEN.x86_64_mixed);
  });
});

// The quiet fast paths (tracing off) must do exactly what the traced general path does: the same
// workload with tracing on throughout and off throughout hands out the same PFNs and ends in the same
// state. (Unlike the goldens above, this stays meaningful when the allocator itself changes.)
describe("tracing off takes the same path as tracing on", () => {
  const cases: [string, () => Machine, "order0" | "mixed", (string | undefined)[]][] = [
    ["toy 4 MiB", () => boot({ arch: "toy", ram: "4MiB" }), "mixed", [undefined]],
    ["boot() default", () => boot(), "mixed", [undefined, "GFP_HIGHUSER_MOVABLE", "GFP_DMA", "GFP_ATOMIC", "GFP_KERNEL|__GFP_RECLAIMABLE"]],
    ["x86_64 4 GiB, 2 nodes", () => boot({ arch: "x86_64", ram: "4GiB", nodes: 2 }), "mixed", [undefined, "GFP_HIGHUSER_MOVABLE", "GFP_DMA32", "GFP_NOWAIT|__GFP_THISNODE"]],
  ];
  for (const [name, mk, kind, gfps] of cases)
    it(name, () => {
      const traced = mk();
      const quiet = mk();
      const a = run(traced, kind, 3000, 1200, 3000, gfps);
      const b = run(quiet, kind, 3000, 1200, 0, gfps);
      expect(b.hash).toBe(a.hash);
      expect(b.first).toEqual(a.first);
      expect(state_equal(traced.ms, quiet.ms)).toBe(true);
    });
});

const GOLDEN: Record<string, Outcome> = {
  toy_order0: {"first":[0,1,0,2,3,4,3,5,5,6,7,8,9,10,11,12,13,14,15,12,16,17,18,19],"allocs":1579,"frees":1421,"enomem":0,"hash":"3c7c26f9","traceHash":"598c9d73","traceEvents":1574},
  toy_mixed: {"first":[0,0,2,3,0,1,8,0,4,0,16,0,3,4,6,3,20,5,22,0,20,0,22,24],"allocs":1554,"frees":1446,"enomem":0,"hash":"4e8dc259","traceHash":"abbf44a5","traceEvents":1428},
  default_order0: {"first":[7168,225278,225279,1024,7168,7169,523264,1025,7168,7170,7171,7172,7173,523265,1025,7174,7175,1026,523266,1027,7174,7176,523267,7177],"allocs":3263,"frees":2737,"enomem":0,"hash":"1f083ab7","traceHash":"a1de5b6c","traceEvents":2466},
  default_mixed: {"first":[225278,7168,7170,7171,8192,7168,1024,7169,8192,225278,7172,8193,8194,8192,7176,225278,7178,7169,7180,7171,7178,7171,7180,7184],"allocs":3231,"frees":2769,"enomem":0,"hash":"4118bb79","traceHash":"1e241fd","traceEvents":2539},
  x86_64_mixed: {"first":[1048576,1048576,13312,1048576,1049600,1049601,1049608,1048577,1049600,1049602,1049604,1048576,13313,13314,1049602,13313,1048578,1049600,1048580,1048576,1049616,1048576,1048577,1049624],"allocs":3231,"frees":2769,"enomem":0,"hash":"5ecf7b51","traceHash":"e977f669","traceEvents":2566},
};
