/**
 * Property: random workloads under memory pressure — processes mapping, touching and writing more than
 * RAM, reading back, forking, exiting, locking and unlocking, unmapping, explicit reclaim, kernel
 * allocations — keep every invariant (m.check() after each step: each frame in one state, free lists,
 * refcount/mapcount = mappings + swap cache, every swap slot referenced exactly as many times as PTEs
 * name it, LRU lists well formed, no anonymous page lost), every byte a process wrote reads back the
 * same whether its page is in RAM, in the swap cache or in swap, locked pages are never in swap, and
 * after every process exits all swap slots and user frames are free again.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { boot, MmError, type Machine, type Process } from "../../src/index";
import type { MachineState } from "../../src/kernel/machine";
import { entry_read, pt_format_of, pt_lookup } from "../../src/mm/pgtable";

const PAGE = 4096;
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("map" as const), who: fc.nat(), pages: fc.integer({ min: 1, max: 2048 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("write" as const), who: fc.nat(), which: fc.nat(), page: fc.nat(), tag: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("read" as const), who: fc.nat(), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("fork" as const), who: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("exit" as const), who: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("munmap" as const), who: fc.nat(), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("mlock" as const), who: fc.nat(), which: fc.nat(), lock: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("reclaim" as const), pages: fc.integer({ min: 1, max: 4096 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("kmalloc" as const), size: fc.integer({ min: 8, max: 8192 }) }) },
);

interface region {
  addr: bigint;
  pages: number;
  locked: boolean;
  /** page index → the tag last written there */
  tags: Map<number, number>;
}
interface live {
  p: Process;
  regions: region[];
}

const msOf = (m: Machine) => (m as unknown as { ms: MachineState }).ms;

function pteAt(m: Machine, p: Process, va: bigint) {
  const s = msOf(m);
  const slot = pt_lookup(s, p.task().mm!.pgd, va);
  if (!slot) return undefined;
  return entry_read(s, pt_format_of(s.arch), slot.table, slot.idx, { lo: 0, hi: 0 });
}

describe("random workloads under memory pressure keep every invariant and every byte", () => {
  for (const arch of ["x86", "x86_64"] as const) {
    test(arch, () => {
      let pressured = 0;
      let swappedIn = 0;
      fc.assert(
        fc.property(fc.array(op, { minLength: 5, maxLength: 60 }), (ops) => {
          // 32-bit: 32 MiB RAM (~20 MiB free); x86-64: 64 MiB (~26 MiB free: a 34 MiB kernel image); 24 MiB swap
          const m = boot({ arch, ram: arch === "x86" ? "32MiB" : "64MiB", swap: "24MiB", trace: false });
          const s = msOf(m);
          let procs: live[] = [{ p: m.spawn("w"), regions: [] }];
          const killed = (e: unknown) => e instanceof MmError && (e.code === "SIGKILL" || e.code === "ESRCH" || e.code === "ENOMEM");
          for (const o of ops) {
            procs = procs.filter((l) => l.p.alive);
            if (!procs.length) procs.push({ p: m.spawn("w"), regions: [] });
            const L = procs[((o as { who?: number }).who ?? 0) % procs.length]!;
            const R = "which" in o && L.regions.length ? L.regions[o.which % L.regions.length] : undefined;
            try {
              switch (o.k) {
                case "map": {
                  const mp = L.p.mmap(o.pages * PAGE);
                  L.regions.push({ addr: mp.addr, pages: o.pages, locked: false, tags: new Map() });
                  L.p.touch(mp.addr, o.pages * PAGE);
                  break;
                }
                case "write":
                  if (R) {
                    const pg = o.page % R.pages;
                    L.p.write(R.addr + BigInt(pg * PAGE + 16), `tag ${o.tag};`);
                    R.tags.set(pg, o.tag);
                  }
                  break;
                case "read":
                  if (R) for (const [pg, tag] of R.tags) expect(L.p.read(R.addr + BigInt(pg * PAGE + 16), String(`tag ${tag};`.length)).text).toBe(`tag ${tag};`);
                  break;
                case "fork": {
                  const c = L.p.fork();
                  // mlock is not inherited
                  procs.push({ p: c, regions: L.regions.map((r) => ({ ...r, locked: false, tags: new Map(r.tags) })) });
                  break;
                }
                case "exit":
                  L.p.exit();
                  break;
                case "munmap":
                  if (R) {
                    L.p.munmap(R.addr, R.pages * PAGE);
                    L.regions.splice(L.regions.indexOf(R), 1);
                  }
                  break;
                case "mlock":
                  if (R) {
                    if (o.lock) L.p.mlock(R.addr, R.pages * PAGE);
                    else L.p.munlock(R.addr, R.pages * PAGE);
                    R.locked = o.lock;
                  }
                  break;
                case "reclaim":
                  m.reclaim(o.pages);
                  break;
                case "kmalloc":
                  m.kmalloc(o.size);
                  break;
              }
            } catch (e) {
              // the OOM killer may take any process, mlock may pass RLIMIT_MEMLOCK: both are Linux's answers
              if (!(killed(e) || (e instanceof MmError && o.k === "mlock"))) throw e;
              if (e instanceof MmError && o.k === "mlock" && R) R.locked = false;
            }
            m.check();
            // locked pages are never in swap
            for (const l of procs)
              if (l.p.alive)
                for (const r of l.regions)
                  if (r.locked)
                    for (let pg = 0; pg < r.pages; pg++) {
                      const e = pteAt(m, l.p, r.addr + BigInt(pg * PAGE));
                      expect(e && e.lo & 1).toBe(1);
                    }
          }
          // every surviving process still reads what it wrote
          for (const l of procs)
            if (l.p.alive) for (const r of l.regions) for (const [pg, tag] of r.tags) expect(l.p.read(r.addr + BigInt(pg * PAGE + 16), String(`tag ${tag};`.length)).text).toBe(`tag ${tag};`);
          for (const l of procs) if (l.p.alive) l.p.exit();
          m.check();
          expect(s.swap!.inuse_pages).toBe(0);
          expect(s.swapcache?.pages.size ?? 0).toBe(0);
          if (s.vmstat.pswpout + s.vmstat.swpout_zero > 0) pressured++;
          if (s.vmstat.pswpin + s.vmstat.swpin_zero > 0) swappedIn++;
        }),
        { numRuns: 25, seed: 20261125 },
      );
      // the workloads did press the machine: most runs swapped out, many read pages back
      expect(pressured).toBeGreaterThan(10);
      expect(swappedIn).toBeGreaterThanOrEqual(3);
    }, 240_000);
  }
});
