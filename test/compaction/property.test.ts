/**
 * Random workloads with compaction (fast-check): processes write pages, unmap some, fork (shared
 * copy-on-write pages have two mappings), exit; the kernel kmallocs and frees; and at random points the
 * zone is compacted — whole (m.compact), targeted (m.compact(zone, { order })), or directly by a
 * high-order GFP_KERNEL allocation (__alloc_pages_direct_compact). After every step m.check() holds, and
 * after every compaction each live process reads back exactly the bytes it wrote, at the same addresses.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boot, MmError, type KmallocResult, type Machine, type PageBlock, type Process } from "../../src";

const P = 4096;
const PAGES = 256; // each process maps 1 MiB

type Op =
  | { k: "spawn" }
  | { k: "write"; proc: number; page: number; val: number }
  | { k: "fill"; proc: number; from: number; n: number; val: number }
  | { k: "unmap"; proc: number; page: number }
  | { k: "fork"; proc: number }
  | { k: "exit"; proc: number }
  | { k: "kmalloc"; size: number }
  | { k: "kfree"; idx: number }
  | { k: "compact" }
  | { k: "compactOrder"; order: number }
  | { k: "alloc"; order: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ k: "spawn" } as Op) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("write" as const), proc: fc.nat(7), page: fc.nat(PAGES - 1), val: fc.nat(999) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("fill" as const), proc: fc.nat(7), from: fc.nat(PAGES - 1), n: fc.integer({ min: 1, max: 96 }), val: fc.nat(999) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant("unmap" as const), proc: fc.nat(7), page: fc.nat(PAGES - 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("fork" as const), proc: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("exit" as const), proc: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("kmalloc" as const), size: fc.integer({ min: 8, max: 16384 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("kfree" as const), idx: fc.nat(31) }) },
  { weight: 2, arbitrary: fc.constant({ k: "compact" } as Op) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("compactOrder" as const), order: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("alloc" as const), order: fc.integer({ min: 4, max: 9 }) }) },
);

interface Proc {
  p: Process;
  base: bigint;
  /** page index → the text last written there */
  pages: Map<number, string>;
  unmapped: Set<number>;
}

function verify(procs: Proc[]): void {
  for (const pr of procs)
    for (const [i, text] of pr.pages) expect(pr.p.read(pr.base + BigInt(i * P), text.length + 1).text).toBe(text);
}

/** pages migrated over every run, and how many of them were mapped by two processes (fork) */
const seen = { migrated: 0, shared: 0 };

function run(ops: Op[]): void {
  const m: Machine = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
  m.tracing = false;
  const procs: Proc[] = [];
  const kobjs: KmallocResult[] = [];
  const blocks: PageBlock[] = [];
  const spawn = () => {
    const p = m.spawn(`w${procs.length}`);
    const a = p.mmap(PAGES * P);
    procs.push({ p, base: a.addr, pages: new Map(), unmapped: new Set() });
  };
  // the filler: 6 MiB written, then two pages of every three unmapped, so that user pages and holes
  // spread over every Movable pageblock and the free scanner finds targets above the migrate scanner
  const filler = m.spawn("filler");
  const fa = filler.mmap(1536 * P);
  const fp: Proc = { p: filler, base: fa.addr, pages: new Map(), unmapped: new Set() };
  for (let i = 0; i < 1536; i++) {
    const t = `f:${i}`;
    filler.write(fa.addr + BigInt(i * P), t + "\0");
    if (i % 3 === 2) fp.pages.set(i, t);
  }
  for (let i = 0; i < 1536; i++) if (i % 3 !== 2) filler.munmap(fa.addr + BigInt(i * P), P);
  spawn();
  const all = () => [fp, ...procs];
  for (const op of ops) {
    const pr = "proc" in op ? procs[op.proc % Math.max(1, procs.length)] : undefined;
    try {
      switch (op.k) {
        case "spawn":
          if (procs.length < 6) spawn();
          break;
        case "write":
          if (pr && !pr.unmapped.has(op.page)) {
            const t = `${pr.p.pid}:${op.page}:${op.val}`;
            pr.p.write(pr.base + BigInt(op.page * P), t + "\0");
            pr.pages.set(op.page, t);
          }
          break;
        case "fill":
          if (pr)
            for (let i = op.from; i < Math.min(PAGES, op.from + op.n); i++) {
              if (pr.unmapped.has(i)) continue;
              const t = `${pr.p.pid}:${i}:${op.val}`;
              pr.p.write(pr.base + BigInt(i * P), t + "\0");
              pr.pages.set(i, t);
            }
          break;
        case "unmap":
          if (pr && !pr.unmapped.has(op.page)) {
            pr.p.munmap(pr.base + BigInt(op.page * P), P);
            pr.unmapped.add(op.page);
            pr.pages.delete(op.page);
          }
          break;
        case "fork":
          if (pr && procs.length < 6) {
            const c = pr.p.fork();
            procs.push({ p: c, base: pr.base, pages: new Map(pr.pages), unmapped: new Set(pr.unmapped) });
          }
          break;
        case "exit":
          if (pr && procs.length > 1) {
            pr.p.exit();
            procs.splice(procs.indexOf(pr), 1);
          }
          break;
        case "kmalloc":
          if (kobjs.length < 32) kobjs.push(m.kmalloc(op.size));
          break;
        case "kfree":
          if (kobjs.length) kobjs.splice(op.idx % kobjs.length, 1)[0]!.free();
          break;
        case "compact": {
          const before = m.freePagesCount;
          const r = m.compact("DMA32");
          seen.migrated += r.migrated;
          for (const mv of r.moves) if (m.ms.mem_map.mapcount[mv.to]! > 1) seen.shared++;
          expect(m.freePagesCount).toBe(before);
          for (const mv of r.moves) expect(mv.to).toBeGreaterThan(mv.from);
          verify(all());
          break;
        }
        case "compactOrder":
          m.compact("DMA32", { order: op.order });
          verify(all());
          break;
        case "alloc":
          if (blocks.length < 2) blocks.push(m.allocPages(op.order, "GFP_KERNEL"));
          verify(all());
          break;
      }
    } catch (e) {
      // running out of memory is a legitimate outcome of a random workload (ENOMEM, or the OOM killer
      // taking a process); nothing else is
      if (!(e instanceof MmError) || !/ENOMEM|killed|Out of memory/i.test(`${e.code} ${e.message}`)) throw e;
      for (let i = procs.length - 1; i >= 0; i--) if (!procs[i]!.p.alive) procs.splice(i, 1);
    }
    m.check();
  }
  m.compact();
  m.check();
  verify(all());
}

describe("compaction under random workloads", () => {
  it("keeps every invariant and every byte (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60 }), (ops) => {
        run(ops);
      }),
      { numRuns: 40, seed: 20261125 },
    );
    // the runs did migrate pages, shared ones among them
    expect(seen.migrated).toBeGreaterThan(500);
    expect(seen.shared).toBeGreaterThan(0);
  }, 120_000);

  it("a fixed heavy workload: fill, fork, punch holes, compact", () => {
    const ops: Op[] = [{ k: "fill", proc: 0, from: 0, n: 96, val: 1 }, { k: "fork", proc: 0 }, { k: "spawn" }, { k: "fill", proc: 2, from: 0, n: 96, val: 2 }];
    for (let i = 0; i < 96; i += 3) ops.push({ k: "unmap", proc: 0, page: i }, { k: "write", proc: 1, page: i + 1, val: 7 });
    ops.push({ k: "kmalloc", size: 4096 }, { k: "compact" }, { k: "alloc", order: 9 }, { k: "compactOrder", order: 10 });
    run(ops);
  });
});
