#!/usr/bin/env node
// `node bench/fork.js`: (1) fork of an x86-64 process with 1 GiB of touched anonymous memory — the
// page tables are copied (262,144 PTEs write-protected in parent and child, 514 table frames from the
// buddy allocator), no data; target < 50 ms. (2) 1 M malloc/free pairs of mixed small sizes in one
// simulated process (glibc 2.39 ptmalloc, every header and tcache store through the process's TLB) at
// three levels: the libc engine, the facade (p.malloc/p.free, result objects) and the bulk entry
// points (p.mallocQuiet/p.freeQuiet); target ≥ 1 M pairs/s; best of 3 runs each. Tracing off.
// Plain JS: requires ../dist (npm run build first).
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

function mallocBench({ pairs = 1 << 20, rounds = 3, seed = 0x9e3779b9 } = {}) {
  // the workload: `pairs` malloc/free pairs of 8..512-byte requests (tcache, fastbin and smallbin
  // sizes), a window of 64 live blocks so frees are not all immediate reuse; xorshift32 sizes
  let x = seed >>> 0;
  const sizes = new Uint16Array(pairs);
  for (let i = 0; i < pairs; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    sizes[i] = 8 + (x % 505);
  }
  const { libc_of } = require(path.join(DIST, "api", "malloc"));
  // each level on a fresh x86-64 process, tracing off; `rounds` runs of the whole workload, the best
  // reported (the machine's other load moves single runs a lot)
  const level = (name, drive) => {
    const m = boot({ arch: "x86_64", ram: "1GiB", trace: false });
    const p = m.spawn("malloc");
    const win = new Array(64).fill(0);
    const step = drive(m, p);
    const runs = [];
    const cpuRuns = []; // pairs per second of this process's CPU time: what the machine's other load moves less
    for (let r = 0; r < rounds; r++) {
      const c0 = process.cpuUsage();
      const t0 = now();
      for (let i = 0; i < pairs; i++) step(win, i & 63, sizes[i]);
      runs.push(pairs / (now() - t0));
      const c = process.cpuUsage(c0);
      cpuRuns.push(pairs / ((c.user + c.system) / 1e6));
    }
    for (let k = 0; k < 64; k++) if (win[k]) step.free(win[k]);
    m.check(); // every heap consistent (glibc's own checks), TLB and page tables too
    return { name, runs, best: Math.max(...runs), cpuRuns, cpuBest: Math.max(...cpuRuns) };
  };
  // (1) the libc engine: ptmalloc's malloc/free (bigint pointers) writing every header and tcache
  // entry into the process's memory through its TLB (process_host)
  const engine = level("libc engine (ptmalloc.malloc/free)", (m, p) => {
    p.free(p.malloc(16)); // ptmalloc_init and the first heap, through the facade
    const l = libc_of(m.ms, p.task()).libc;
    l.trace_on = false;
    const step = (win, k, n) => {
      if (win[k]) l.free(win[k]);
      win[k] = l.malloc(n);
    };
    step.free = (v) => l.free(v);
    return step;
  });
  // (2) the facade: p.malloc(n) → Allocation, p.free(allocation) → HeapState (validation, result
  // objects; their heap pictures are taken only if looked at)
  const facade = level("facade (p.malloc/p.free, result objects)", (m, p) => {
    const step = (win, k, n) => {
      if (win[k]) p.free(win[k]);
      win[k] = p.malloc(n);
    };
    step.free = (a) => p.free(a);
    return step;
  });
  // (3) the bulk entry points: the same calls and validation, a bigint pointer instead of a result
  const quiet = level("bulk (p.mallocQuiet/p.freeQuiet)", (m, p) => {
    const step = (win, k, n) => {
      if (win[k]) p.freeQuiet(win[k]);
      win[k] = p.mallocQuiet(n);
    };
    step.free = (v) => p.freeQuiet(v);
    return step;
  });
  return { pairs, rounds, pairsPerS: engine.best, engine, facade, quiet, facadePairsPerS: facade.best, quietPairsPerS: quiet.best, target: 1e6 };
}

function run(opts = {}) {
  const f = forkBench(opts.fork);
  const mb = mallocBench(opts.malloc);
  const lines = [
    `fork of an x86-64 process with ${f.gib} GiB touched anonymous memory: ${fmt(f.firstMs, 1)} ms (target < ${f.target} ms; a repeat fork ${fmt(f.laterBestMs, 1)} ms) — ${fmt(f.ptes)} PTEs shared, ${fmt(f.wrprotected)} write-protected, ${fmt(f.pageTables)} page-table frames for the child [touching the 1 GiB first took ${fmt(f.touchS, 2)} s]`,
    ...[mb.engine, mb.facade, mb.quiet].map(
      (lv) => `malloc/free, ${fmt(mb.pairs)} pairs of 8..512-byte requests, ${lv.name}: ${fmt(lv.best / 1e6, 2)} M pairs/s (best of ${mb.rounds}: ${lv.runs.map((r) => fmt(r / 1e6, 2)).join(", ")}; per CPU-second ${lv.cpuRuns.map((r) => fmt(r / 1e6, 2)).join(", ")}; target ≥ 1 M pairs/s)`,
    ),
  ];
  return { fork: f, malloc: mb, lines };
}

module.exports = { run };
if (require.main === module) for (const l of run().lines) console.log(l);
