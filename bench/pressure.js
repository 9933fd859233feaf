#!/usr/bin/env node
// `node bench/pressure.js`: memory pressure (issue 6). A 4 GiB x86-64 machine with a 1 GiB swap area
// runs six processes that touch 6 GiB in total, one GiB each, while at most four are alive:
//   p1..p4 touch 1 GiB each (RAM fills: kswapd and direct reclaim swap the coldest pages out),
//   p1 and p2 read their first 256 MiB back (major faults, pswpin),
//   p1 exits, p5 touches 1 GiB; p2 exits, p6 touches 1 GiB.
// Reports the reclaim throughput (pages reclaimed per second of the run), the swap traffic, and the
// total time (target < 10 s). m.check() at the end (every invariant, swap and LRU included). Tracing
// off. Plain JS: requires ../dist (npm run build first). Exports run() for bench/run.js.
"use strict";
const path = require("node:path");
const DIST = path.join(__dirname, "..", "dist");
const { boot } = require(path.join(DIST, "index"));

const now = () => Number(process.hrtime.bigint()) / 1e9;
const fmt = (n, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

function run() {
  const t0 = now();
  const m = boot({ arch: "x86_64", ram: "4GiB", swap: "1GiB", trace: false });
  const v = m.ms.vmstat;
  const procs = [];
  const touch = (p, len) => {
    const a = p.mmap(len);
    p.touch(a.addr, len);
    return a;
  };
  const maps = [];
  for (let i = 0; i < 4; i++) {
    const p = m.spawn(`p${i + 1}`);
    procs.push(p);
    maps.push(touch(p, "1GiB"));
  }
  const phases = [["touch 4 × 1 GiB", now() - t0]];
  for (let i = 0; i < 2; i++) procs[i].touch(maps[i].addr, "256MiB", "read");
  phases.push(["read back 2 × 256 MiB", now() - t0]);
  procs[0].exit();
  const p5 = m.spawn("p5");
  touch(p5, "1GiB");
  procs[1].exit();
  const p6 = m.spawn("p6");
  touch(p6, "1GiB");
  const runS = now() - t0;
  phases.push(["p5, p6 touch 1 GiB each", runS]);
  console.log(phases.map(([n, t]) => `${n}: ${fmt(t, 2)} s`).join("; "));
  const tc = now();
  m.check();
  const checkS = now() - tc;
  const reclaimed = v.pgsteal_kswapd + v.pgsteal_direct;
  const rows = [
    { name: "pressure: 4 GiB + 1 GiB swap, 6 GiB touched by 6 processes", value: runS, unit: "s", target: "< 10 s", pass: runS < 10 },
    { name: "  reclaim throughput (pages reclaimed / run time)", value: reclaimed / runS, unit: "pages/s", target: "info", pass: null },
    { name: `  pages reclaimed (kswapd ${fmt(v.pgsteal_kswapd)}, direct ${fmt(v.pgsteal_direct)})`, value: reclaimed, unit: "pages", target: "info", pass: null },
    // p.touch() leaves pages all zeros: 6.12 writes none of them (the zeromap: swpout_zero / swpin_zero)
    { name: `  swapped out (pswpout + swpout_zero) / in (pswpin + swpin_zero) / pgmajfault`, value: v.pswpout + v.swpout_zero, unit: `/ ${fmt(v.pswpin + v.swpin_zero)} / ${fmt(v.pgmajfault)}`, target: "info", pass: null },
    { name: `  m.check() after the run`, value: checkS, unit: "s", target: "info", pass: null },
  ];
  if (v.oom_kill) rows.push({ name: "  OOM kills (none expected: peak 4 GiB live < RAM + swap)", value: v.oom_kill, unit: "", target: "0", pass: false });
  return rows;
}

if (require.main === module) {
  const rows = run();
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${(r.unit === "s" ? `${fmt(r.value, 2)} s` : `${fmt(r.value)} ${r.unit}`).padStart(28)}  ${String(r.target).padStart(8)}  ${r.pass === null ? "" : r.pass ? "PASS" : "FAIL"}`);
  process.exitCode = rows.every((r) => r.pass !== false) ? 0 : 1;
}

module.exports = { run };
