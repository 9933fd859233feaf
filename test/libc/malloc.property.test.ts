/**
 * Random malloc/free/realloc/calloc/malloc_trim sequences (fast-check) on both word sizes: after every
 * step check() finds nothing, every live block still holds the bytes written into it (no chunk overlaps
 * another or its header), user pointers are 16-aligned and usable sizes cover the request.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ptmalloc } from "../../src/libc/malloc";
import { sparse_host } from "../../src/libc/sparse_host";

type op =
  | { k: "malloc"; n: number }
  | { k: "calloc"; n: number; s: number }
  | { k: "free"; i: number }
  | { k: "realloc"; i: number; n: number }
  | { k: "trim" };

const size = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 130 }), weight: 6 },
  { arbitrary: fc.integer({ min: 131, max: 1100 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1101, max: 20000 }), weight: 2 },
  { arbitrary: fc.integer({ min: 100000, max: 300000 }), weight: 1 },
  { arbitrary: fc.constantFrom(0, 24, 25, 120, 121, 1032, 1033, 131048, 131049, 131056), weight: 1 },
  { arbitrary: fc.constantFrom(1100, 1200, 1500, 2000, 3000, 3100), weight: 3 }, // equal large sizes: skip lists
);
const op_arb: fc.Arbitrary<op> = fc.oneof(
  { arbitrary: size.map((n) => ({ k: "malloc" as const, n })), weight: 6 },
  { arbitrary: fc.record({ n: fc.integer({ min: 0, max: 16 }), s: fc.integer({ min: 0, max: 600 }) }).map((r) => ({ k: "calloc" as const, ...r })), weight: 1 },
  { arbitrary: fc.nat().map((i) => ({ k: "free" as const, i })), weight: 5 },
  { arbitrary: fc.record({ i: fc.nat(), n: size }).map((r) => ({ k: "realloc" as const, ...r })), weight: 2 },
  { arbitrary: fc.constant({ k: "trim" as const }), weight: 1 },
);

interface block {
  p: bigint;
  n: number;
  fill: number;
}

function fill(h: sparse_host, b: block): void {
  if (b.n) h.write(b.p, new Uint8Array(b.n).fill(b.fill));
}
function intact(h: sparse_host, b: block, upto = b.n): boolean {
  const edge = 64;
  const n = Math.min(upto, b.n);
  if (n <= 2 * edge) return h.read(b.p, n).every((x) => x === b.fill);
  return h.read(b.p, edge).every((x) => x === b.fill) && h.read(b.p + BigInt(n - edge), edge).every((x) => x === b.fill);
}

function run(bits: 32 | 64, ops: op[]): void {
  const h = new sparse_host({ bits });
  const m = new ptmalloc(h);
  const live: block[] = [];
  let serial = 0;
  for (const o of ops) {
    switch (o.k) {
      case "malloc":
      case "calloc": {
        const n = o.k === "malloc" ? o.n : o.n * o.s;
        const p = o.k === "malloc" ? m.malloc(o.n) : m.calloc(o.n, o.s);
        expect(p).not.toBe(0n);
        expect(p % 16n).toBe(0n);
        expect(m.malloc_usable_size(p)).toBeGreaterThanOrEqual(n);
        if (o.k === "calloc" && n) expect(h.read(p, n).every((x) => x === 0)).toBe(true);
        const b = { p, n, fill: (++serial % 255) + 1 };
        fill(h, b);
        live.push(b);
        break;
      }
      case "free": {
        if (!live.length) break;
        const [b] = live.splice(o.i % live.length, 1);
        expect(intact(h, b!)).toBe(true);
        m.free(b!.p);
        break;
      }
      case "realloc": {
        if (!live.length) break;
        const j = o.i % live.length;
        const b = live[j]!;
        expect(intact(h, b)).toBe(true);
        const p = m.realloc(b.p, o.n);
        if (o.n === 0) {
          expect(p).toBe(0n);
          live.splice(j, 1);
          break;
        }
        expect(p % 16n).toBe(0n);
        const kept = { p, n: Math.min(b.n, o.n), fill: b.fill };
        expect(intact(h, kept)).toBe(true);
        const nb = { p, n: o.n, fill: b.fill };
        fill(h, nb);
        live[j] = nb;
        break;
      }
      case "trim":
        m.malloc_trim(0);
        break;
    }
    const problems = m.check();
    if (problems.length) throw new Error(`after ${JSON.stringify(o)}: ${problems.join("; ")}`);
    for (const b of live) if (!intact(h, b)) throw new Error(`block ${b.p.toString(16)} (${b.n}) overwritten after ${JSON.stringify(o)}`);
  }
  for (const b of live) m.free(b.p);
  expect(m.check()).toEqual([]);
  expect(m.inspect().mmapped).toEqual([]);
  expect(h.maps).toEqual([]); // every mapping returned
}

describe("ptmalloc property: random sequences keep the heap consistent and the data intact", () => {
  for (const bits of [64, 32] as const)
    it(`${bits}-bit`, () => {
      fc.assert(
        fc.property(fc.array(op_arb, { minLength: 1, maxLength: 120, size: "max" }), (ops) => run(bits, ops)),
        { numRuns: 120, seed: bits === 64 ? 4242 : 3232 },
      );
    }, 120_000);
});
