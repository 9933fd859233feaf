/**
 * Property: random malloc / free / realloc / fork / write / exit across processes keep every invariant
 * (m.check() after each step: refcount/mapcount = mappings, RSS = present PTEs, every heap consistent by
 * glibc's own checks), the bytes each process wrote stay its own, and after every process exits no
 * frame is leaked.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import { type Process } from "../../src/api/process";
import "../../src/api/process";

const op = fc.oneof(
  fc.record({ k: fc.constant("malloc" as const), who: fc.nat(), size: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 1000, max: 140000 })) }),
  fc.record({ k: fc.constant("free" as const), who: fc.nat(), which: fc.nat() }),
  fc.record({ k: fc.constant("realloc" as const), who: fc.nat(), which: fc.nat(), size: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ k: fc.constant("write" as const), who: fc.nat(), which: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constant("fork" as const), who: fc.nat() }),
  fc.record({ k: fc.constant("exit" as const), who: fc.nat() }),
);

interface live {
  p: Process;
  /** pointer → the byte this process last wrote at its start (0: none yet) */
  ptrs: { addr: bigint; byte: number }[];
}

describe("random malloc/free/realloc/fork/write/exit keep every invariant", () => {
  for (const arch of ["x86_64", "x86"] as const) {
    test(arch, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
          const m = boot({ arch, ram: "64MiB", trace: false } as never);
          m.spawn("warmup").exit();
          const free0 = m.freePagesCount;
          const procs: live[] = [{ p: m.spawn("t"), ptrs: [] }];
          for (const o of ops) {
            if (!procs.length) procs.push({ p: m.spawn("t"), ptrs: [] });
            const L = procs[o.who % procs.length]!;
            const pick = (n: number) => L.ptrs.length ? n % L.ptrs.length : -1;
            switch (o.k) {
              case "malloc": {
                const a = L.p.malloc(o.size);
                L.ptrs.push({ addr: a.addr, byte: 0 });
                break;
              }
              case "free": {
                const i = pick(o.which);
                if (i < 0) break;
                L.p.free(L.ptrs[i]!.addr);
                L.ptrs.splice(i, 1);
                break;
              }
              case "realloc": {
                const i = pick(o.which);
                if (i < 0) break;
                const r = L.p.realloc(L.ptrs[i]!.addr, o.size) as { addr: bigint };
                L.ptrs[i] = { addr: r.addr, byte: L.ptrs[i]!.byte };
                break;
              }
              case "write": {
                const i = pick(o.which);
                if (i < 0) break;
                L.p.write(L.ptrs[i]!.addr, [o.byte]);
                L.ptrs[i]!.byte = o.byte;
                break;
              }
              case "fork": {
                if (procs.length >= 4) break;
                procs.push({ p: L.p.fork(), ptrs: L.ptrs.map((x) => ({ ...x })) });
                break;
              }
              case "exit":
                L.p.exit();
                procs.splice(procs.indexOf(L), 1);
                break;
            }
            m.check();
            // every process still reads the bytes it wrote (copy-on-write kept them apart)
            for (const q of procs) for (const x of q.ptrs) if (x.byte) expect(q.p.read(x.addr, 1).bytes[0]).toBe(x.byte);
          }
          for (const q of procs) q.p.exit();
          m.check();
          expect(m.freePagesCount).toBe(free0);
        }),
        { numRuns: 60, seed: 4 },
      );
    });
  }
});
