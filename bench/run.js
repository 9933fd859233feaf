#!/usr/bin/env node
// `npm run bench`: boot time and bytes per frame of a 64 GiB machine; alloc/free throughput on a
// 16 GiB machine (2^22 frames) for an order-0 and a mixed-order workload, at four levels:
//   (a) the engine (alloc_pages_pfn, the bulk entry to __alloc_pages / __free_pages, with the checks the facade makes: order and GFP zone
//       before an alloc, free_pages_check() before a free; tracing off), each run in a fresh Node process as
//       each C run is a fresh process; (a') the same loop in the main process after the other runs (informational),
//   (b) the public API with result objects, tracing off (m.allocPages(order, gfp) / block.free()),
//   (c) the public API with tracing on (informational),
//   (d) bench/buddy.c, a tight C implementation of the same algorithm (cc -O2), same workload, same
//       checks (its free_pages_check() is the kernel's free_page_is_bad(), done on every free).
// The workload is one deterministic op sequence (xorshift32): allocate `fill` blocks, then `steps`
// random operations (alloc or free a random live block, even odds). Every level prints an FNV-1a
// checksum of the PFNs it was handed: (a), (b) and (d) must agree, which is how we know the C code
// runs the same algorithm. Plain JS on purpose: it requires ../dist, built by `npm run bench`.
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const path = require("node:path");
const v8 = require("node:v8");
const vm = require("node:vm");

v8.setFlagsFromString("--expose_gc");
const gc = vm.runInNewContext("gc");

const DIST = path.join(__dirname, "..", "dist");
const { boot } = require(path.join(DIST, "api", "machine"));
const PA = require(path.join(DIST, "mm", "page_alloc"));
const { BYTES_PER_FRAME } = require(path.join(DIST, "mm", "memmap"));
const { GFP_HIGHUSER_MOVABLE } = require(path.join(DIST, "mm", "gfp"));
const { MIGRATE_TYPES } = require(path.join(DIST, "mm", "mmzone"));

const QUICK = process.argv.includes("--quick");
const GFP = "GFP_HIGHUSER_MOVABLE"; // movable requests: no migratetype fallback, same as buddy.c
const WORKLOADS = [
  { name: "order-0", kind: 0, seed: 0x2545f491, fill: 1 << 20, steps: QUICK ? 1 << 20 : 2 << 20 },
  { name: "mixed", kind: 1, seed: 0x9e3779b9, fill: 1 << 18, steps: QUICK ? 1 << 20 : 2 << 20 },
];
// tracing on builds text for every kernel step: a smaller run of the same kinds
const TRACED = WORKLOADS.map((w) => ({ ...w, fill: 1 << 14, steps: QUICK ? 20000 : 100000 }));
const TARGET = { bootS: 0.5, bytesPerFrame: 32, cRatio: 3, apiUs: 2 };
// best of REPEAT runs for the engine and for C, of REPEAT_API for the API (the machine may be shared:
// the fastest run is the least disturbed one)
const REPEAT = QUICK ? 1 : 3;
const REPEAT_API = QUICK ? 1 : 2;

const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const mops = (ops, s) => `${fmt(ops / s / 1e6, 2)} M ops/s`;

function xorshift32(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
/** orders 0..3 weighted 50/25/12.5/10 %, 2.5 % larger (4..9) */
function mixedOrder(rnd) {
  const w = rnd() % 1000;
  return w < 500 ? 0 : w < 750 ? 1 : w < 875 ? 2 : w < 975 ? 3 : 4 + (rnd() % 6);
}
const fnv = (h, v) => Math.imul(h ^ v, 0x01000193) >>> 0;

// ------------------------------------------------------------------ (a) the engine

function runEngine(w) {
  const m = boot({ arch: "x86_64", ram: "16GiB", trace: false });
  const ms = m.ms;
  ms.trace.on = false;
  const g = GFP_HIGHUSER_MOVABLE;
  const MAX = ms.MAX_PAGE_ORDER;
  const cap = w.fill * 2 + 16;
  const live = new Int32Array(cap);
  const lord = new Uint8Array(cap);
  let nlive = 0;
  let ops = 0;
  let h = 0x811c9dc5;
  const rnd = xorshift32(w.seed);
  gc();
  const t0 = now();
  const total = w.fill + w.steps;
  for (let i = 0; i < total; i++) {
    if (i < w.fill || nlive === 0 || ((rnd() & 1) === 0 && nlive < cap)) {
      const order = w.kind === 1 ? mixedOrder(rnd) : 0;
      // the facade's checks: order in range, a zone the GFP flags allow
      if (!Number.isInteger(order) || order < 0 || order > MAX) throw new Error("order");
      if (PA.gfp_zone(ms, g) < 0) throw new Error("gfp");
      const pfn = PA.alloc_pages_pfn(ms, g, order, 0);
      ops++;
      h = fnv(h, pfn);
      if (pfn < 0) continue;
      live[nlive] = pfn;
      lord[nlive++] = order;
    } else {
      // (nlive >>> 0: an unsigned divisor lets V8 compile the % as the integer division buddy.c does;
      // with a signed one it is a floating-point remainder, an x87 fprem loop, harness time billed to
      // the engine)
      const k = rnd() % (nlive >>> 0);
      const pfn = live[k];
      const order = lord[k];
      live[k] = live[--nlive];
      lord[k] = lord[nlive];
      if (PA.free_pages_check(ms, pfn, order)) throw new Error("bad page");
      PA.__free_pages(ms, pfn, order);
      ops++;
    }
  }
  const s = now() - t0;
  if (ms.vmstat.extfrag !== 0) throw new Error("the engine fell back to another migratetype: buddy.c would not");
  return { ops, s, h };
}

/**
 * (a) in a fresh Node process, as each (d) is a fresh C process: one workload's type feedback (and that of
 * the API and traced runs) must not shape the compiled code of the next. In one long process V8 stops
 * inlining free_pages_check() and the quiet free path into this loop after the order-0 and traced runs,
 * and the mixed run pays ~90 instructions per op for it (cachegrind); that figure is printed too, as (a').
 */
function runEngineChild(w) {
  const idx = WORKLOADS.indexOf(w);
  const r = spawnSync(process.execPath, [__filename, "--engine-child", String(idx), ...(QUICK ? ["--quick"] : [])], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`engine child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

// ------------------------------------------------------------------ (b), (c) the public API

function runApi(w, tracing) {
  const m = boot({ arch: "x86_64", ram: "16GiB" });
  const run = () => {
    const cap = w.fill * 2 + 16;
    const live = new Array(cap);
    let nlive = 0;
    let ops = 0;
    let h = 0x811c9dc5;
    let events = 0;
    const rnd = xorshift32(w.seed);
    gc();
    const t0 = now();
    const total = w.fill + w.steps;
    for (let i = 0; i < total; i++) {
      if (i < w.fill || nlive === 0 || ((rnd() & 1) === 0 && nlive < cap)) {
        const order = w.kind === 1 ? mixedOrder(rnd) : 0;
        let b;
        try {
          b = m.allocPages(order, GFP);
        } catch (e) {
          if (e.code !== "ENOMEM") throw e;
          ops++;
          h = fnv(h, -1);
          continue;
        }
        ops++;
        h = fnv(h, b.pfn);
        events += b.trace.length;
        live[nlive++] = b;
      } else {
        const k = rnd() % (nlive >>> 0);
        const b = live[k];
        live[k] = live[--nlive];
        live[nlive] = undefined;
        const f = b.free();
        events += f.trace.length;
        ops++;
      }
    }
    return { ops, s: now() - t0, h, events };
  };
  if (tracing) {
    m.tracing = true;
    return run();
  }
  return m.quietly(run);
}

// ------------------------------------------------------------------ (d) C

/** the free ranges memblock_free_all() hands to the buddy allocator: RAM minus memblock.reserved */
function freeRanges(ms) {
  const out = [];
  const res = [...ms.reserved].sort((a, b) => a.base - b.base);
  for (const [s, e] of [...ms.ram_ranges].sort((a, b) => a[0] - b[0])) {
    let cur = s;
    for (const r of res) {
      const rs = r.base;
      const re = r.base + r.size;
      if (re <= cur || rs >= e) continue;
      if (rs > cur) out.push([cur, Math.min(rs, e)]);
      cur = Math.max(cur, re);
      if (cur >= e) break;
    }
    if (cur < e) out.push([cur, e]);
  }
  return out;
}

function zonelistFor(ms) {
  const hi = PA.gfp_zone(ms, GFP_HIGHUSER_MOVABLE);
  return { hi, zl: PA.node_zonelist(ms, 0).filter((z) => z.zone_idx <= hi) };
}

/** FNV of every free list, zone by zone (zonelist order), list by list, head to tail */
function freeListChecksum(ms) {
  let h = 0x811c9dc5;
  const next = ms.mem_map.next;
  for (const z of zonelistFor(ms).zl)
    for (let li = 0; li < ms.NR_PAGE_ORDERS * MIGRATE_TYPES; li++) for (let p = z.list_head[li]; p !== -1; p = next[p]) h = fnv(h, p);
  return h;
}

/** compile buddy.c; return a function running one workload in it (or the reason there is no C) */
function prepareC() {
  const src = path.join(__dirname, "buddy.c");
  const bin = path.join(__dirname, "buddy_c");
  const cc = ["cc", "gcc", "clang"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
  if (!cc) return { error: "no C compiler (cc/gcc/clang) on PATH: C comparison skipped" };
  try {
    execFileSync(cc, ["-O2", "-o", bin, src], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    return { error: `${cc} -O2 failed: ${String(e.stderr || e.message).trim()}` };
  }
  // the machine's layout after boot: zones in zonelist order, watermarks, the ranges memblock frees
  const m = boot({ arch: "x86_64", ram: "16GiB", trace: false });
  const ms = m.ms;
  const { hi, zl } = zonelistFor(ms);
  const lines = [`${ms.max_pfn} ${ms.MAX_PAGE_ORDER} ${ms.pageblock_order} ${zl.length}`];
  for (const z of zl) lines.push(`${z.id} ${z.zone_start_pfn} ${z.zone_end_pfn} ${z.wmark_pages(0)} ${z.wmark_pages(1)} ${z.lowmem_reserve[hi] ?? 0}`);
  const fr = freeRanges(ms);
  lines.push(String(fr.length), ...fr.map(([s, e]) => `${s} ${e}`));
  const layout = lines.join("\n") + "\n";
  const bootSumJs = freeListChecksum(ms);
  const run = (w) => {
    const out = execFileSync(bin, { input: layout + `${w.kind} ${w.seed >>> 0} ${w.fill} ${w.steps}\n`, encoding: "utf8", maxBuffer: 1 << 20 });
    const [kind, ops, s, h, bootSum, bootS] = out.trim().split(" ").map(Number);
    return { kind, ops, s, h, bootSum, bootS };
  };
  return { cc, bootSumJs, run };
}

// ------------------------------------------------------------------ boot of 64 GiB

function benchBoot() {
  gc();
  const rss0 = process.memoryUsage().rss;
  const times = [];
  let m;
  for (let i = 0; i < 3; i++) {
    m = undefined;
    gc();
    const t0 = now();
    m = boot({ arch: "x86_64", ram: "64GiB" });
    times.push(now() - t0);
  }
  gc();
  const rss1 = process.memoryUsage().rss;
  const ms = m.ms;
  let bytes = 0;
  const arrays = [];
  for (const [k, v] of Object.entries(ms.mem_map))
    if (ArrayBuffer.isView(v)) {
      bytes += v.byteLength;
      arrays.push(`${k} ${v.BYTES_PER_ELEMENT}`);
    }
  bytes += ms.pageblock_mt.byteLength;
  return { times, median: median(times), maxPfn: ms.max_pfn, bytes, perFrame: bytes / ms.max_pfn, arrays, rssGrowth: rss1 - rss0, free: m.freePagesCount };
}

// ------------------------------------------------------------------ main

function main() {
  const T0 = now();
  const row = (...c) => console.log(c.join("  "));
  const os = require("node:os");
  const load = () => os.loadavg()[0].toFixed(2);
  console.log(`mmlab bench — node ${process.version}, ${os.cpus()[0].model.trim()} ×${os.cpus().length}, load average ${load()}${QUICK ? " (--quick)" : ""}\n`);

  const b = benchBoot();
  console.log(`boot({ arch: "x86_64", ram: "64GiB" }): ${b.times.map((t) => `${fmt(t * 1000, 1)} ms`).join(", ")} → median ${fmt(b.median * 1000, 1)} ms`);
  console.log(`  max_pfn ${fmt(b.maxPfn)} frames; mem_map + pageblock bytes ${fmt(b.bytes)} = ${fmt(b.perFrame, 3)} B/frame (BYTES_PER_FRAME ${BYTES_PER_FRAME}; arrays: ${b.arrays.join(", ")}, pageblock_mt 1 per ${1 << 9})`);
  console.log(`  RSS growth with one 64 GiB machine alive: ${fmt(b.rssGrowth / 2 ** 20, 1)} MiB (${fmt(b.rssGrowth / b.maxPfn, 1)} B/frame)\n`);
  b.m = undefined;
  gc();

  console.log(`throughput on boot({ arch: "x86_64", ram: "16GiB" }), gfp ${GFP}; ops = allocs + frees`);
  const results = [];
  const c = prepareC();
  if (c.error) console.log(`  (d) C: ${c.error}`);
  const best = (prev, r, what) => {
    if (prev && r.h !== prev.h) throw new Error(`${what} is not deterministic`);
    return !prev || r.s < prev.s ? r : prev;
  };
  for (const w of WORKLOADS) {
    // C and the engine take turns, so that both see the same conditions
    let e;
    let cr;
    for (let i = 0; i < REPEAT; i++) {
      if (c.run) cr = best(cr, c.run(w), "buddy.c");
      e = best(e, runEngineChild(w), "the engine");
      gc();
    }
    // (a'): the same loop in this process, after whatever ran before it (informational)
    const e2 = runEngine(w);
    gc();
    if (e2.h !== e.h) throw new Error("the engine is not deterministic across processes");
    let a;
    for (let i = 0; i < REPEAT_API; i++) {
      a = best(a, runApi(w, false), "the API");
      gc();
    }
    const wt = TRACED.find((x) => x.kind === w.kind);
    const t = runApi(wt, true);
    gc();
    console.log(`\n  ${w.name}: fill ${fmt(w.fill)} live blocks, then ${fmt(w.steps)} random alloc/free (${fmt(w.fill + w.steps)} ops${REPEAT > 1 ? `; (a), (d) best of ${REPEAT}, (b) of ${REPEAT_API}` : ""})`);
    console.log(`    (a) engine            ${mops(e.ops, e.s).padStart(16)}  ${fmt((e.s / e.ops) * 1e9, 0).padStart(5)} ns/op   checksum ${e.h.toString(16)}   (a fresh process per run, as for C)`);
    console.log(`    (a') same, in-process ${mops(e2.ops, e2.s).padStart(16)}  ${fmt((e2.s / e2.ops) * 1e9, 0).padStart(5)} ns/op   (after the runs before it: informational)`);
    console.log(`    (b) API, quiet        ${mops(a.ops, a.s).padStart(16)}  ${fmt((a.s / a.ops) * 1e9, 0).padStart(5)} ns/op   checksum ${a.h.toString(16)}${a.h === e.h ? "" : "  ≠ engine!"}`);
    console.log(`    (c) API, tracing on   ${mops(t.ops, t.s).padStart(16)}  ${fmt((t.s / t.ops) * 1e9, 0).padStart(5)} ns/op   (${fmt(wt.fill + wt.steps)} ops, ${fmt(t.events / t.ops, 1)} trace events/op)`);
    let ratio;
    if (cr) {
      const same = cr.h === e.h && cr.bootSum === c.bootSumJs;
      ratio = cr.ops / cr.s / (e.ops / e.s);
      console.log(`    (d) C (${c.cc} -O2)      ${mops(cr.ops, cr.s).padStart(16)}  ${fmt((cr.s / cr.ops) * 1e9, 0).padStart(5)} ns/op   checksum ${cr.h.toString(16)} ${same ? "= engine (same PFNs, same boot free lists)" : `≠ engine! (boot lists ${cr.bootSum === c.bootSumJs ? "equal" : "differ"})`}`);
      console.log(`    C / engine = ${fmt(ratio, 2)}×;  API ${fmt((a.s / a.ops) * 1e6, 3)} µs per alloc or free (quiet), ${fmt((t.s / t.ops) * 1e6, 2)} µs traced`);
      if (!same) process.exitCode = 1;
    } else console.log(`    API ${fmt((a.s / a.ops) * 1e6, 3)} µs per alloc or free (quiet), ${fmt((t.s / t.ops) * 1e6, 2)} µs traced`);
    if (a.h !== e.h) process.exitCode = 1;
    results.push({ w, e, a, t, cr, ratio });
  }

  const pf = (ok) => (ok ? "PASS" : "FAIL");
  const rows = [["target", "measured", "limit", ""]];
  rows.push(["boot 64 GiB (median of 3)", `${fmt(b.median, 3)} s`, `< ${TARGET.bootS} s`, pf(b.median < TARGET.bootS)]);
  rows.push(["bytes per frame", `${fmt(b.perFrame, 3)} B`, `≤ ${TARGET.bytesPerFrame} B`, pf(b.perFrame <= TARGET.bytesPerFrame)]);
  for (const r of results) {
    if (r.ratio !== undefined) rows.push([`C / engine, ${r.w.name}`, `${fmt(r.ratio, 2)}×`, `≤ ${TARGET.cRatio}×`, pf(r.ratio <= TARGET.cRatio)]);
    else rows.push([`C / engine, ${r.w.name}`, "n/a", `≤ ${TARGET.cRatio}×`, "SKIP (no C compiler)"]);
    const us = (r.a.s / r.a.ops) * 1e6;
    rows.push([`API µs/op (quiet), ${r.w.name}`, `${fmt(us, 3)} µs`, `≤ ${TARGET.apiUs} µs`, pf(us <= TARGET.apiUs)]);
  }
  // the other subsystems' benchmarks (each a module whose run() returns { name, value, unit, target, pass })
  for (const file of ["vm.js", "kmem.js", "fork.js", "pressure.js"]) {
    const mod = path.join(__dirname, file);
    if (!require("node:fs").existsSync(mod)) continue;
    console.log(`\n${file}: running…`);
    let res = require(mod).run();
    if (!Array.isArray(res) && res.fork && res.malloc)
      res = [
        { name: "fork, 1 GiB touched (x86-64)", value: res.fork.firstMs, unit: "ms", target: "< 50 ms", pass: res.fork.firstMs < 50 },
        { name: "malloc+free pairs, mixed small (libc engine)", value: res.malloc.pairsPerS, unit: "/s", target: "≥ 1 M/s", pass: res.malloc.pairsPerS >= 1e6 },
        { name: "malloc+free pairs, p.malloc/p.free (result objects)", value: res.malloc.facadePairsPerS, unit: "/s", target: "≥ 1 M/s", pass: res.malloc.facadePairsPerS >= 1e6 },
        { name: "malloc+free pairs, p.mallocQuiet/p.freeQuiet (bulk)", value: res.malloc.quietPairsPerS, unit: "/s", target: "≥ 1 M/s", pass: res.malloc.quietPairsPerS >= 1e6 },
      ];
    for (const r of res) {
      if (r.pass === null || r.pass === undefined) continue;
      const v = r.unit === "s" ? `${fmt(r.value, 3)} s` : r.unit === "ms" ? `${fmt(r.value, 1)} ms` : `${Math.round(r.value).toLocaleString("en-US")} ${r.unit}`;
      rows.push([r.name.trim(), v, String(r.target), pf(r.pass)]);
    }
  }
  const wid = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\nsummary (total bench time ${fmt(now() - T0, 1)} s; load average now ${load()} on ${os.cpus().length} CPUs: other work on the machine slows the JS runs more than C's)`);

  for (const r of rows) row(...r.map((c, i) => c.padEnd(wid[i])));
  if (rows.some((r) => r[3] === "FAIL")) process.exitCode = 1;
}

if (process.argv.includes("--engine-child")) {
  // one (a) run for bench/run.js's main process: prints { ops, s, h } as JSON
  const w = WORKLOADS[Number(process.argv[process.argv.indexOf("--engine-child") + 1])];
  console.log(JSON.stringify(runEngine(w)));
} else main();
