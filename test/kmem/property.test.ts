/**
 * Random kmalloc/kfree/vmalloc/vfree/kmap/kunmap/kmem_cache sequences (fast-check): m.check() after
 * every step (slab counts consistent, no frame both in a slab and free, vmalloc areas disjoint with
 * guards, every kmap slot accounted, plus the buddy allocator's own invariants); at the end, freeing
 * everything gives every frame back.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import type { KmallocResult, KmapResult, VmallocArea } from "../../src/api/kmem";
import "../../src/api/kmem";
import { PG_table } from "../../src/mm/memmap";

const SIZES = [0, 1, 8, 9, 64, 65, 96, 100, 128, 129, 192, 193, 256, 500, 1024, 2000, 4096, 8192, 8193, 20000, 131072];

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("kmalloc" as const), size: fc.nat({ max: SIZES.length - 1 }), raw: fc.nat({ max: 9000 }), useRaw: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("kfree" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("vmalloc" as const), pages: fc.integer({ min: 1, max: 40 }) }) },
  // big enough that the pages[] array itself is vmalloc'd (> 1024 pointers on 32-bit, > 512 on x86-64)
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("vmalloc" as const), pages: fc.integer({ min: 500, max: 1100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("vfree" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("kmap" as const), pfn: fc.nat(), local: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("kunmap" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cache" as const), size: fc.integer({ min: 1, max: 3000 }), pick: fc.nat() }) },
);

describe("property: random kernel-memory operations keep every invariant", () => {
  for (const [cfg, runs] of [
    [{ ram: "64MiB" }, 12],
    [{ ram: "1GiB" }, 4],
    [{ arch: "x86_pae" as const, ram: "1GiB" }, 4],
    [{ arch: "x86_64" as const, ram: "128MiB" }, 8],
  ] as const) {
    it(`${"arch" in cfg ? cfg.arch : "x86"} ${cfg.ram}: 150 steps × ${runs} runs, m.check() after each`, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 150, maxLength: 150 }), (ops) => {
          const m = boot({ ...cfg, trace: false });
          const tables = () => {
            let n = 0;
            for (let p = 0; p < m.ms.max_pfn; p++) if (m.ms.mem_map.flags[p]! & PG_table) n++;
            return n;
          };
          const free0 = m.freePagesCount + tables();
          const objs: KmallocResult[] = [];
          const areas: VmallocArea[] = [];
          const maps: KmapResult[] = [];
          const caches = [m.kmemCacheCreate("prop_a", 40), m.kmemCacheCreate("prop_b", 1000, { flags: ["SLAB_HWCACHE_ALIGN"] })];
          for (const o of ops) {
            try {
              switch (o.kind) {
                case "kmalloc":
                  objs.push(m.kmalloc(o.useRaw ? o.raw : SIZES[o.size]!));
                  break;
                case "kfree":
                  if (objs.length) m.free(objs.splice(o.pick % objs.length, 1)[0]!);
                  break;
                case "vmalloc":
                  areas.push(m.vmalloc(o.pages * 4096 - (o.pages % 3)));
                  break;
                case "vfree":
                  if (areas.length) areas.splice(o.pick % areas.length, 1)[0]!.free();
                  break;
                case "kmap": {
                  const pfn = m.ms.max_pfn - 1 - (o.pfn % m.ms.max_pfn);
                  if (!m.ms.pfn_valid(pfn)) break;
                  maps.push(o.local ? m.kmapLocal(pfn) : m.kmap(pfn));
                  break;
                }
                case "kunmap": {
                  // kmap_local must be undone in reverse order: take the newest local mapping, or any kmap
                  let i = -1;
                  maps.forEach((x, idx) => {
                    if (x.kind === "local") i = idx;
                  });
                  const j = o.pick % 2 && i >= 0 ? i : maps.findIndex((x) => x.kind !== "local");
                  if (j >= 0) maps.splice(j, 1)[0]!.free();
                  break;
                }
                case "cache":
                  objs.push(caches[o.pick % 2]!.alloc());
                  break;
              }
            } catch (e) {
              const code = (e as { code?: string }).code;
              // memory may run out on the small machines; the local kmap stack may overflow: both are refusals
              if (code !== "ENOMEM" && !(code === "EBUG" && /KM_MAX_IDX/.test(String(e)))) throw e;
            }
            m.check();
          }
          for (const x of objs) x.free();
          for (const a of areas) a.free();
          for (const k of maps.filter((x) => x.kind !== "local")) k.free();
          for (const k of maps.filter((x) => x.kind === "local").reverse()) k.free();
          m.check();
          for (const c of caches) c.destroy();
          // what is left are the kmalloc caches' empty slabs (CPU slab + up to min_partial per cache)
          const slabPages = m.ms.slab!.caches.reduce((a, c) => a + [...(c.cpu_slab ? [c.cpu_slab] : []), ...c.node[0]!.partial].reduce((b, s) => b + 2 ** s.order, 0), 0);
          for (const c of m.ms.slab!.caches) for (const s of [...(c.cpu_slab ? [c.cpu_slab] : []), ...c.node.flatMap((n) => [...n.partial, ...n.full])]) expect(s.inuse).toBe(0);
          // … and the kernel page tables vmalloc and kmap needed (the kernel keeps them too)
          expect(m.freePagesCount + slabPages + tables()).toBe(free0);
          expect(m.ms.vmalloc?.areas.length ?? 0).toBe(0);
          expect(m.ms.kmap?.page_address_map.size ?? 0).toBe(m.ms.kmap ? [...m.ms.kmap.pkmap_count].filter((c) => c === 1).length : 0);
          m.check();
        }),
        { numRuns: runs, seed: 5, endOnFailure: true },
      );
    }, 120_000);
  }
});
