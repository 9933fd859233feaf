/**
 * Property: any sequence of mmap / munmap / mprotect / touch / brk / exit keeps every invariant
 * (m.check(): VMAs sorted and disjoint, RSS = present PTEs, refcount/mapcount = mappings, page-table
 * frames accounted, the buddy allocator consistent), on every paging format.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import { type Process } from "../../src/api/process";
import "../../src/api/process";
import { MmError } from "../../src/errors";

const op = fc.oneof(
  fc.record({ k: fc.constant("mmap" as const), pages: fc.integer({ min: 1, max: 24 }), prot: fc.constantFrom("rw", "r", "none", "rwx"), shared: fc.boolean(), fixedAt: fc.option(fc.integer({ min: 0, max: 63 })) }),
  fc.record({ k: fc.constant("munmap" as const), which: fc.nat(), from: fc.integer({ min: -2, max: 20 }), pages: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant("mprotect" as const), which: fc.nat(), from: fc.integer({ min: 0, max: 20 }), pages: fc.integer({ min: 1, max: 10 }), prot: fc.constantFrom("rw", "r", "none", "r-x") }),
  fc.record({ k: fc.constant("touch" as const), which: fc.nat(), page: fc.nat(40), write: fc.boolean() }),
  fc.record({ k: fc.constant("brk" as const), delta: fc.integer({ min: -8, max: 40 }) }),
  fc.record({ k: fc.constant("exit" as const) }),
);

describe("random address-space operations keep every invariant", () => {
  for (const cfg of [{ arch: "x86", ram: "64MiB" }, { arch: "x86_pae", ram: "64MiB" }, { arch: "x86_64", ram: "64MiB" }, { arch: "toy", ram: "2MiB", pageSize: 1024, levels: 3, vaBits: 24 }] as const) {
    test(cfg.arch + (cfg.arch === "toy" ? " toy" : ""), () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
          const m = boot({ ...(cfg as object), trace: false } as never);
          const P = BigInt(m.pageSize);
          let p: Process = m.spawn("t");
          let maps: bigint[] = [];
          const base = p.brk().value!;
          for (const o of ops) {
            if (!p.alive) {
              p = m.spawn("t");
              maps = [];
            }
            try {
              switch (o.k) {
                case "mmap": {
                  const fixed = o.fixedAt !== null && maps.length ? maps[o.fixedAt % maps.length]! : undefined;
                  const mp = p.mmap(BigInt(o.pages) * P, o.prot, (o.shared ? "shared" : "private") + (fixed !== undefined ? "|fixed" : ""), fixed);
                  maps.push(mp.addr);
                  break;
                }
                case "munmap":
                  if (maps.length) {
                    const a = maps[o.which % maps.length]! + BigInt(o.from) * P;
                    if (a > 0n) p.munmap(a, BigInt(o.pages) * P);
                  }
                  break;
                case "mprotect":
                  if (maps.length) p.mprotect(maps[o.which % maps.length]! + BigInt(o.from) * P, BigInt(o.pages) * P, o.prot);
                  break;
                case "touch":
                  if (maps.length) {
                    const a = maps[o.which % maps.length]! + BigInt(o.page) * P;
                    if (o.write) p.write(a, "z");
                    else p.read(a, 1);
                  }
                  break;
                case "brk":
                  p.brk(base + BigInt(o.delta) * P);
                  if (o.delta > 0) p.touch(base, BigInt(o.delta) * P);
                  break;
                case "exit":
                  p.exit();
                  break;
              }
            } catch (e) {
              if (!(e instanceof MmError)) throw e;
              expect(["SIGSEGV", "ENOMEM", "EINVAL", "EPERM", "EFAULT"]).toContain(e.code);
            }
            m.check();
          }
          if (p.alive) {
            const rss = p.rss.total;
            expect(rss).toBe(p.vmas.reduce((a, v) => a + v.rss, 0));
            p.exit();
          }
          m.check();
        }),
        { numRuns: 40, seed: 42 },
      );
    });
  }
});
