/**
 * Misuse property: random heap corruption (writes anywhere in the heap, double frees, frees of wild
 * pointers) between random calls. Every call either succeeds or throws (malloc_abort, or the host's
 * SIGSEGV for an unmapped address) — and a call that throws leaves the allocator, the break, the
 * mappings and mallinfo2 exactly as before. Never a hang, never a JS TypeError.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { malloc_abort, ptmalloc } from "../../src/libc/malloc";
import { sparse_host, sparse_host_fault } from "../../src/libc/sparse_host";

type op =
  | { k: "malloc"; n: number }
  | { k: "free"; i: number; delta: number }
  | { k: "realloc"; i: number; n: number }
  | { k: "calloc"; n: number }
  | { k: "poke"; i: number; off: number; byte: number };

const op_arb: fc.Arbitrary<op> = fc.oneof(
  { arbitrary: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 200, max: 5000 }), fc.integer({ min: 100000, max: 250000 })).map((n) => ({ k: "malloc" as const, n })), weight: 5 },
  { arbitrary: fc.record({ i: fc.nat(), delta: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.integer({ min: -64, max: 64 }), weight: 1 }) }).map((r) => ({ k: "free" as const, ...r })), weight: 4 },
  { arbitrary: fc.record({ i: fc.nat(), n: fc.integer({ min: 0, max: 3000 }) }).map((r) => ({ k: "realloc" as const, ...r })), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 3000 }).map((n) => ({ k: "calloc" as const, n })), weight: 1 },
  { arbitrary: fc.record({ i: fc.nat(), off: fc.integer({ min: -24, max: 40 }), byte: fc.nat(255) }).map((r) => ({ k: "poke" as const, ...r })), weight: 1 },
);

function state(m: ptmalloc, h: sparse_host): string {
  return JSON.stringify({ v: m.inspect(), p: m.params, brk: h.brk, maps: h.maps }, (_k, x) => (typeof x === "bigint" ? x.toString(16) : x));
}

function run(bits: 32 | 64, ops: op[]): void {
  const h = new sparse_host({ bits });
  const m = new ptmalloc(h);
  const ptrs: bigint[] = []; // every pointer ever returned (freed ones stay: double frees wanted)
  for (const o of ops) {
    const pick = (i: number) => (ptrs.length ? ptrs[i % ptrs.length]! : 0n);
    if (o.k === "poke") {
      const a = pick(o.i) + BigInt(o.off);
      try {
        h.write(a, new Uint8Array([o.byte]));
      } catch {
        /* unmapped: nothing */
      }
      continue;
    }
    const before = state(m, h);
    try {
      let r = 0n;
      if (o.k === "malloc") r = m.malloc(o.n);
      else if (o.k === "calloc") r = m.calloc(1, o.n);
      else if (o.k === "free") m.free(pick(o.i) + BigInt(o.delta));
      else r = m.realloc(pick(o.i), o.n);
      if (r) ptrs.push(r);
    } catch (e) {
      if (!(e instanceof malloc_abort || e instanceof sparse_host_fault)) throw e;
      expect(state(m, h)).toBe(before);
    }
  }
}

describe("ptmalloc under misuse: aborts are clean", () => {
  for (const bits of [64, 32] as const)
    it(`${bits}-bit`, () => {
      fc.assert(fc.property(fc.array(op_arb, { minLength: 1, maxLength: 80, size: "max" }), (ops) => run(bits, ops)), { numRuns: 150, seed: bits });
    }, 120_000);
});
