#!/usr/bin/env node
// `node bench/fork.js`: (1) fork of an x86-64 process with 1 GiB of touched anonymous memory — the
// page tables are copied (262,144 PTEs write-protected in parent and child, 514 table frames from the
// buddy allocator), no data; target < 50 ms. (2) 1 M malloc/free pairs of mixed small sizes in one
// simulated process (glibc 2.39 ptmalloc, every header and tcache store through the process's TLB);
// target ≥ 1 M pairs/s. Tracing off. Plain JS: requires ../dist (npm run build first).
// Exports run() for bench/run.js; run standalone it prints the figures.
"use strict";
const path = require("node:path");
const DIST = path.join(__dirname, "..", "dist");
const { boot } = require(path.join(DIST, "api", "machine"));
require(path.join(DIST, "api", "process"));

const now = () => Number(process.hrtime.bigint()) / 1e9;
const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

function forkBench({ repeat = 4, gib = 1 } = {}) {
  const m = boot({ arch: "x86_64", ram: "4GiB", trace: false });
  const p = m.spawn("big");
  const a = p.mmap(`${gib}GiB`);
  const t0 = now();
  p.touch(a, `${gib}GiB`);
  const touchS = now() - t0;
  // the first fork write-protects every PTE; later forks find them read-only already (the parent has
  // not written since), so they only copy: both are reported
  const times = [];
  let first;
  for (let i = 0; i < repeat; i++) {
    const s = now();
    const c = p.fork();
    times.push(now() - s);
    if (!first) first = c.forked;
    c.exit();
  }
  m.check();
  const later = times.slice(1).sort((x, y) => x - y);
  return { gib, touchS, firstMs: times[0] * 1e3, laterBestMs: later.length ? later[0] * 1e3 : NaN, ptes: first.shared, wrprotected: first.wrprotected, pageTables: first.pageTables, target: 50 };
}

function mallocBench({ pairs = 1 << 20, seed = 0x9e3779b9 } = {}) {
  const m = boot({ arch: "x86_64", ram: "1GiB", trace: false });
  const p = m.spawn("malloc");
  // the libc object itself (the facade builds a result object per call; this measures the allocator
  // and the memory path — MMU/TLB — it drives). Warm-up through the facade makes the heap.
  p.free(p.malloc(16));
  const { libc_of } = require(path.join(DIST, "api", "malloc"));
  const l = libc_of(m.ms, p.task()).libc;
  l.trace_on = false;
  let x = seed >>> 0;
  const sizes = new Uint16Array(pairs);
  for (let i = 0; i < pairs; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    sizes[i] = 8 + (x % 505); // 8..512 bytes: tcache, fastbin and smallbin sizes
  }
  // keep a window of 64 live blocks so frees are not all immediate reuse
  const win = new Array(64).fill(0);
  const t0 = now();
  for (let i = 0; i < pairs; i++) {
    const k = i & 63;
    if (win[k]) l.free(win[k]);
    win[k] = l.malloc(sizes[i]);
  }
  const s = now() - t0;
  for (const v of win) if (v) l.free(v);
  if (l.check().length) throw new Error("heap inconsistent after the bench: " + l.check()[0]);
  m.check();
  // the facade (result objects, heap snapshot per call): a smaller run, informational
  const n2 = 2000;
  const t1 = now();
  for (let i = 0; i < n2; i++) p.malloc(sizes[i]).free();
  const s2 = now() - t1;
  return { pairs, seconds: s, pairsPerS: pairs / s, facadePairsPerS: n2 / s2, target: 1e6 };
}

function run(opts = {}) {
  const f = forkBench(opts.fork);
  const mb = mallocBench(opts.malloc);
  const lines = [
    `fork of an x86-64 process with ${f.gib} GiB touched anonymous memory: ${fmt(f.firstMs, 1)} ms (target < ${f.target} ms; a repeat fork ${fmt(f.laterBestMs, 1)} ms) — ${fmt(f.ptes)} PTEs shared, ${fmt(f.wrprotected)} write-protected, ${fmt(f.pageTables)} page-table frames for the child [touching the 1 GiB first took ${fmt(f.touchS, 2)} s]`,
    `malloc/free: ${fmt(mb.pairs)} pairs of 8..512-byte requests in ${fmt(mb.seconds, 2)} s = ${fmt(mb.pairsPerS / 1e6, 2)} M pairs/s (target ≥ 1 M pairs/s); through the facade (result objects): ${fmt(mb.facadePairsPerS / 1e3, 1)} k pairs/s`,
  ];
  return { fork: f, malloc: mb, lines };
}

module.exports = { run };
if (require.main === module) for (const l of run().lines) console.log(l);
