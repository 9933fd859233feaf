/**
 * Memory pressure at the facade: swap, the LRU lists, kswapd and direct reclaim, mlock.
 *
 *   m = boot({ arch: "x86_64", ram: "128MiB", swap: "64MiB" })
 *   p = m.spawn(); a = p.mmap("100MiB"); p.touch(a.addr, "100MiB")   // more than fits: kswapd swaps
 *   m.swapInfo()        // /proc/swaps, slots used, the swap cache
 *   m.lru()             // the LRU lists per node: inactive/active anon and file, unevictable
 *   m.reclaim("4MiB")   // reclaim now (like writing to memory.reclaim)
 *   p.mlock(a.addr, "1MiB"); p.mlockall("current"); p.munlock(...); p.setrlimit("memlock", "16MiB")
 */
import { z } from "zod";
import { MmError } from "../errors";
import type { TraceEvent } from "../kernel/trace";
import { fmtBytes, hex, parseSize } from "../lib/units";
import { PG_anon, PG_mlocked } from "../mm/memmap";
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, do_mlock, do_mlockall, type mlock_result } from "../mm/mlock";
import { LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LRU_UNEVICTABLE, NR_LRU_LISTS, lru_of, lru_names, lru_pages } from "../mm/swap";
import { si_swapinfo, total_swap_pages, nr_swap_pages } from "../mm/swapfile";
import { kswapd_run_pending, reclaim_pages, type kswapd_report } from "../mm/vmscan";
import { proc_swaps } from "../proc/swaps";
import { Renderable } from "../render/renderable";
import type { Block, CellLike, View } from "../render/view";
import { Machine } from "./machine";
import { Process, parseAddr, parseLen } from "./process";
import { parseArg } from "./schemas";

function traceBlocks(trace: TraceEvent[]): Block[] {
  return trace.length ? [{ kind: "trace", events: trace }] : [];
}

/** the vm_event counters reclaim moves, for before/after deltas */
const WATCH = ["pswpout", "pswpin", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct", "pgactivate", "pgdeactivate", "pgmajfault", "allocstall"] as const;
type Counters = Record<(typeof WATCH)[number], number>;
function counters(m: Machine): Counters {
  const v = m.ms.vmstat;
  const o = {} as Counters;
  for (const k of WATCH) o[k] = v[k];
  return o;
}

/** the LRU lists of each node, with the first pages at each list's tail (what reclaim looks at next) */
export class LruView extends Renderable {
  constructor(
    readonly pages: { node: number; lists: Record<(typeof lru_names)[number], number> }[],
    readonly tails: { node: number; list: string; pfns: number[] }[],
    readonly pageSize: number,
  ) {
    super();
  }
  view(): View {
    const rows: CellLike[][] = [];
    for (const n of this.pages)
      for (const name of lru_names) {
        const c = n.lists[name];
        const t = this.tails.find((x) => x.node === n.node && x.list === name)!;
        rows.push([`node ${n.node}`, name, c, fmtBytes(BigInt(c) * BigInt(this.pageSize)), t.pfns.length ? t.pfns.map((p) => hex(p)).join(" ") + (c > t.pfns.length ? " …" : "") : "—"]);
      }
    const total = this.pages.reduce((a, n) => a + Object.values(n.lists).reduce((x, y) => x + y, 0), 0);
    return {
      title: "LRU lists",
      summary: `LRU lists: ${total} pages`,
      blocks: [
        { kind: "table", columns: ["node", "list", "pages", "size", "tail first (reclaim scans from here)"], rows, align: ["l", "l", "r", "r", "l"] },
        { kind: "text", tone: "muted", text: "New anonymous pages join the inactive anon list; a page referenced twice is activated; shrink_active_list() moves pages back when the inactive list is low; reclaim swaps out unreferenced pages from the inactive tail. mlocked pages sit on the unevictable list and are never scanned. Kernel memory (slab, page tables, vmalloc) is on no list at all." },
      ],
    };
  }
  toJSON() {
    return { pages: this.pages, tails: this.tails };
  }
}

/** what a reclaim call (or a kswapd run) did */
export class ReclaimResult extends Renderable {
  constructor(
    readonly what: string,
    readonly reclaimed: number,
    readonly delta: Counters,
    readonly runs: kswapd_report[],
    readonly trace: TraceEvent[],
    readonly pageSize: number,
  ) {
    super();
  }
  view(): View {
    const items: { label: string; value: CellLike; note?: string }[] = [{ label: "reclaimed", value: `${this.reclaimed} pages (${fmtBytes(BigInt(this.reclaimed) * BigInt(this.pageSize))})` }];
    for (const k of WATCH) if (this.delta[k]) items.push({ label: k, value: `+${this.delta[k]}` });
    for (const r of this.runs) items.push({ label: `kswapd${r.node}`, value: `scanned ${r.scanned}, reclaimed ${r.reclaimed}, ${r.balanced ? "balanced" : "not balanced"} at priority ${r.priority}` });
    return { title: this.what, summary: `${this.what}: ${this.reclaimed} pages reclaimed`, blocks: [{ kind: "kv", items }, ...traceBlocks(this.trace)] };
  }
  toJSON() {
    return { what: this.what, reclaimed: this.reclaimed, delta: this.delta, runs: this.runs };
  }
}

/** an mlock/munlock/mlockall result */
export class MlockResult extends Renderable {
  constructor(
    readonly what: string,
    readonly result: mlock_result,
    readonly lockedVm: number,
    readonly limit: number,
    readonly unevictable: number,
    readonly trace: TraceEvent[],
    readonly pageSize: number,
  ) {
    super();
  }
  view(): View {
    const kb = (n: number) => `${(n * this.pageSize) / 1024} kB`;
    return {
      title: this.what,
      summary: `${this.what}: ${this.result.locked} pages ${/munlock/.test(this.what) ? "unlocked" : "locked"}`,
      blocks: [
        {
          kind: "kv",
          items: [
            { label: "pages faulted in", value: this.result.faulted, note: "__mm_populate" },
            { label: /munlock/.test(this.what) ? "pages unlocked" : "pages locked (PG_mlocked)", value: this.result.locked, note: /munlock/.test(this.what) ? "back on the inactive list: swappable again" : "moved to the unevictable LRU list: never swapped" },
            { label: "locked_vm", value: `${this.lockedVm} pages (${kb(this.lockedVm)}) of RLIMIT_MEMLOCK ${kb(this.limit)}`, note: "/proc/PID/status VmLck" },
            { label: "Unevictable (all)", value: kb(this.unevictable) },
          ],
        },
        ...traceBlocks(this.trace),
      ],
    };
  }
  toJSON() {
    return { what: this.what, ...this.result, lockedVm: this.lockedVm, limit: this.limit };
  }
}

/** the swap area: /proc/swaps and its use */
export class SwapInfo extends Renderable {
  constructor(
    readonly text: string,
    readonly totalKb: number,
    readonly usedKb: number,
    readonly cachedPages: number,
    readonly slots: { used: number; total: number; map: Uint8Array | undefined },
    readonly pageSize: number,
  ) {
    super();
  }
  override toString(): string {
    return this.text;
  }
  view(): View {
    const blocks: Block[] = [{ kind: "pre", text: this.text }];
    blocks.push({
      kind: "kv",
      items: [
        { label: "SwapTotal", value: `${this.totalKb} kB`, note: "slot 0 holds the swap header" },
        { label: "used", value: `${this.usedKb} kB (${this.slots.used} slots)` },
        { label: "SwapCached", value: `${(this.cachedPages * this.pageSize) / 1024} kB`, note: "pages in RAM that also have a copy in swap: reclaiming them again needs no write" },
      ],
    });
    if (this.slots.map && this.slots.total > 0) {
      const segs: { start: number; len: number; tone: "used" | "free" | "reserved" }[] = [];
      const map = this.slots.map;
      let i = 0;
      while (i < map.length) {
        const tone = i === 0 ? "reserved" : map[i] ? "used" : "free";
        let j = i + 1;
        while (j < map.length && j !== 1 && (map[j] ? "used" : "free") === tone) j++;
        segs.push({ start: i, len: j - i, tone });
        i = j;
      }
      blocks.push({ kind: "bar", title: "swap slots", base: 0, total: map.length, unit: "page", segments: segs, legend: [{ tone: "used", label: "in use" }, { tone: "free", label: "free" }, { tone: "reserved", label: "header" }] });
    }
    return { title: "/proc/swaps", summary: `swap: ${this.usedKb} of ${this.totalKb} kB used`, blocks };
  }
  toJSON() {
    return { text: this.text, totalKb: this.totalKb, usedKb: this.usedKb, cachedPages: this.cachedPages };
  }
}

declare module "./machine" {
  interface Machine {
    /** the swap area: /proc/swaps, slots in use, the swap cache */
    swapInfo(): SwapInfo;
    /** the LRU lists of every node (pages per list, the tail reclaim looks at next) */
    lru(): LruView;
    /** run kswapd now if an allocation woke it (it otherwise runs at the next schedule point) */
    kswapd(): ReclaimResult;
    /** reclaim up to `amount` (pages, or a size like "4MiB") from a node now, as writing to memory.reclaim does */
    reclaim(amount: number | string, node?: number): ReclaimResult;
  }
}

declare module "./process" {
  interface Process {
    /** mlock(addr, len): lock the range in RAM (fault it in, PG_mlocked, unevictable); ENOMEM over RLIMIT_MEMLOCK */
    mlock(addr: bigint | number | string, len: number | bigint | string): MlockResult;
    /** munlock(addr, len) */
    munlock(addr: bigint | number | string, len: number | bigint | string): MlockResult;
    /** mlockall("current" | "future" | "onfault" or a list of them) */
    mlockall(flags?: string | string[]): MlockResult;
    /** munlockall() */
    munlockall(): MlockResult;
    /** setrlimit(RLIMIT_MEMLOCK, bytes): "memlock" is the one resource modelled */
    setrlimit(resource: "memlock", value: number | bigint | string): MlockResult;
    /** pages of this process now in swap (MM_SWAPENTS) */
    readonly swapped: number;
  }
}

function reclaimResult(m: Machine, what: string, before: Counters, reclaimed: number, runs: kswapd_report[]): ReclaimResult {
  const after = counters(m);
  const delta = {} as Counters;
  for (const k of WATCH) delta[k] = after[k] - before[k];
  return new ReclaimResult(what, reclaimed, delta, runs, m.ms.trace.take(), m.pageSize);
}

Machine.prototype.swapInfo = function (this: Machine) {
  const ms = this.ms;
  const si = ms.swap;
  const info = si_swapinfo(ms);
  return new SwapInfo(proc_swaps(ms), info.total_kb, info.used_kb, ms.swapcache?.pages.size ?? 0, { used: si ? si.inuse_pages : 0, total: total_swap_pages(ms), map: si?.swap_map }, this.pageSize);
};

Machine.prototype.lru = function (this: Machine) {
  const ms = this.ms;
  const pages = ms.nodes.map((n) => {
    const c = lru_pages(ms, n.node_id);
    return { node: n.node_id, lists: Object.fromEntries(lru_names.map((name, i) => [name, c[i]!])) as Record<(typeof lru_names)[number], number> };
  });
  const tails: { node: number; list: string; pfns: number[] }[] = [];
  const l = ms.lru;
  for (const n of ms.nodes)
    for (let i = 0; i < NR_LRU_LISTS; i++) {
      const pfns: number[] = [];
      if (l) for (let p = l.tail[n.node_id * NR_LRU_LISTS + i]!; p !== -1 && pfns.length < 6; p = l.prev[p]!) pfns.push(p);
      tails.push({ node: n.node_id, list: lru_names[i]!, pfns });
    }
  void LRU_ACTIVE_ANON, LRU_INACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_FILE, LRU_UNEVICTABLE, lru_of;
  return new LruView(pages, tails, this.pageSize);
};

Machine.prototype.kswapd = function (this: Machine) {
  this.ms.trace.take();
  const before = counters(this);
  const runs = kswapd_run_pending(this.ms);
  return reclaimResult(this, runs.length ? "kswapd" : "kswapd: not woken (every zone is above its low watermark, or nothing woke it)", before, runs.reduce((a, r) => a + r.reclaimed, 0), runs);
};

Machine.prototype.reclaim = function (this: Machine, amount: number | string, node = 0) {
  const ms = this.ms;
  const nid = parseArg(z.number().int().min(0).max(ms.nodes.length - 1), node, "node");
  let pages: number;
  if (typeof amount === "number") pages = parseArg(z.number().int().min(1).max(ms.max_pfn), amount, "amount");
  else {
    const b = parseSize(amount);
    if (b === undefined || b <= 0n || b > BigInt(ms.max_pfn) * BigInt(ms.page_size)) throw new MmError("EINVAL", `amount: a number of pages (1..${ms.max_pfn}) or a size like "4MiB", got ${JSON.stringify(amount)}`, { arg: "amount" });
    pages = Number((b + BigInt(ms.page_size) - 1n) / BigInt(ms.page_size));
  }
  ms.trace.take();
  const before = counters(this);
  const n = reclaim_pages(ms, nid, pages);
  if (ms.trace.on) ms.trace.emit("try_to_free_mem_cgroup_pages", "mm/vmscan.c", `memory.reclaim: asked for ${pages} pages, reclaimed ${n}${ms.swap ? "" : " (no swap: anonymous memory cannot be reclaimed)"}`);
  return reclaimResult(this, `reclaim ${pages} pages from node ${nid}`, before, n, []);
};

function mlockResult(p: Process, what: string, r: mlock_result): MlockResult {
  const ms = p.machine.ms;
  const trace = ms.trace.take();
  if (!r.ok) throw new MmError(r.errno ?? "ENOMEM", `${what}: ${r.why}`, { trace });
  const mm = p.task().mm!;
  let unev = 0;
  for (const c of ms.lru ? [lru_pages(ms)[LRU_UNEVICTABLE]!] : [0]) unev += c;
  return new MlockResult(what, r, mm.locked_vm, mm.rlim_memlock / ms.page_size, unev, trace, ms.page_size);
}

/** mlock/munlock: validate, then do_mlock() */
function lockRange(p: Process, addr: bigint | number | string, len: number | bigint | string, lock: boolean): MlockResult {
  const ms = p.machine.ms;
  const task = p.task();
  const a = parseAddr(ms, addr, "addr");
  // a zero length is no error for mlock(2): 0, or EPERM from can_do_mlock() with RLIMIT_MEMLOCK 0
  const l = len === 0 || len === 0n || len === "0" ? 0n : parseLen(ms, len, "len", task.mm!.task_size);
  ms.trace.take();
  return mlockResult(p, `${lock ? "mlock" : "munlock"}(${hex(a)}, ${fmtBytes(l)}) pid ${p.pid}`, do_mlock(ms, task, a, l, lock));
}

Process.prototype.mlock = function (this: Process, addr, len) {
  return lockRange(this, addr, len, true);
};

Process.prototype.munlock = function (this: Process, addr, len) {
  return lockRange(this, addr, len, false);
};

Process.prototype.mlockall = function (this: Process, flags: string | string[] = "current") {
  const ms = this.machine.ms;
  const task = this.task();
  const list = Array.isArray(flags) ? flags : [flags];
  let f = 0;
  for (const x of list) {
    const k = String(x).toLowerCase().replace(/^mcl_/, "");
    if (k === "current") f |= MCL_CURRENT;
    else if (k === "future") f |= MCL_FUTURE;
    else if (k === "onfault") f |= MCL_ONFAULT;
    else throw new MmError("EINVAL", `flags: "current", "future" and/or "onfault" (MCL_*), got ${JSON.stringify(x)}`, { arg: "flags" });
  }
  if (!(f & (MCL_CURRENT | MCL_FUTURE))) throw new MmError("EINVAL", `flags: MCL_ONFAULT needs MCL_CURRENT or MCL_FUTURE`, { arg: "flags" });
  ms.trace.take();
  return mlockResult(this, `mlockall(${list.map((x) => `MCL_${String(x).toUpperCase().replace(/^MCL_/, "")}`).join("|")}) pid ${this.pid}`, do_mlockall(ms, task, f));
};

Process.prototype.munlockall = function (this: Process) {
  const ms = this.machine.ms;
  const task = this.task();
  ms.trace.take();
  return mlockResult(this, `munlockall() pid ${this.pid}`, do_mlockall(ms, task, 0));
};

Process.prototype.setrlimit = function (this: Process, resource, value) {
  const ms = this.machine.ms;
  const mm = this.task().mm!;
  if (String(resource).toLowerCase().replace(/^rlimit_/, "") !== "memlock") throw new MmError("EINVAL", `resource: "memlock" (RLIMIT_MEMLOCK) is the one modelled, got ${JSON.stringify(resource)}`, { arg: "resource" });
  const b = parseSize(value);
  if (b === undefined || b < 0n || b > 1n << 40n) throw new MmError("EINVAL", `value: a size in bytes (0 .. 1 TiB), e.g. "16MiB", got ${JSON.stringify(value)}`, { arg: "value" });
  ms.trace.take();
  mm.rlim_memlock = Number(b);
  return mlockResult(this, `setrlimit(RLIMIT_MEMLOCK, ${fmtBytes(b)}) pid ${this.pid}`, { ok: true, why: "", locked: 0, faulted: 0 });
};

Object.defineProperty(Process.prototype, "swapped", {
  get(this: Process) {
    return this.task().mm!.rss.swapents;
  },
});

void PG_anon, PG_mlocked, nr_swap_pages;
