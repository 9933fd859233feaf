/**
 * Page reclaim (mm/vmscan.c, Linux 6.12, the classic active/inactive LRU — not MGLRU): kswapd and
 * direct reclaim scan the LRU lists of a node from the tail, give referenced pages a second chance,
 * and swap out anonymous pages that were not used recently.
 *
 * - kswapd: woken by the allocator when a zone falls below its low watermark (wakeup_kswapd), it runs
 *   balance_pgdat() until some eligible zone of the node is above its high watermark, at falling
 *   priorities (DEF_PRIORITY 12 → 1). mmlab runs kswapd at the next schedule point — after the fault or
 *   facade call that woke it — not concurrently (see kswapd_run_pending()).
 * - direct reclaim: an allocation still failing at the min watermark calls try_to_free_pages(), which
 *   reclaims SWAP_CLUSTER_MAX (32) pages at falling priorities (allocstall).
 * - shrink_lruvec(): each evictable list is scanned `size >> priority` pages, in batches of 32;
 *   the active anon list only when the inactive one is low (inactive_is_low(): inactive * ratio < active,
 *   ratio = int_sqrt(10 × GiB) or 1).
 * - shrink_active_list(): pages from the tail of the active list move to the inactive list (pgdeactivate);
 *   their accessed bits are cleared (anonymous pages are not protected by being referenced here).
 * - shrink_folio_list() after folio_check_references(): a page whose PTEs were referenced is kept for
 *   another trip (PG_referenced set), or activated if it was referenced before too or mapped more than
 *   once; an unreferenced anonymous page gets a swap slot (add_to_swap), loses its mappings
 *   (try_to_unmap: PTEs become swap entries), is written if dirty (pageout → swap_writepage), leaves the
 *   swap cache and is freed (pgsteal). A page of a VM_LOCKED VMA is moved to the unevictable list.
 * Kernel memory (slab, page tables, vmalloc, the kernel image) is never on an LRU list, so it is never
 * reclaimed here. Page-cache (file) pages sit on the file lists for accounting but are not reclaimed
 * (page-cache eviction is not modelled); without swap, anonymous pages cannot be reclaimed either
 * (can_reclaim_anon_pages()), and the allocator goes on to the OOM killer.
 */
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { PG_active, PG_anon, PG_dirty, PG_lru, PG_mlocked, PG_swapbacked, PG_unevictable } from "./memmap";
import type { pglist_data, zone } from "./mmzone";
import { WMARK_HIGH } from "./mmzone";
import { anon_excl } from "./memory";
import { __free_pages, __zone_watermark_ok, reclaim_hooks } from "./page_alloc";
import { clear_frames } from "./page_contents";
import { folio_referenced, try_to_unmap } from "./rmap";
import { LRU_ACTIVE_ANON, LRU_INACTIVE_ANON, NR_LRU_LISTS, PG_referenced, PG_swapcache, lru_of, lruvec_add_folio, lruvec_del_folio, lru_forget } from "./swap";
import { add_to_swap_cache, delete_from_swap_cache, swap_writepage } from "./swap_state";
import { get_swap_page, nr_swap_pages, vm_swap_full } from "./swapfile";

const F = "mm/vmscan.c";
export const SWAP_CLUSTER_MAX = 32;
export const DEF_PRIORITY = 12;

export interface scan_control {
  nr_to_reclaim: number;
  nr_reclaimed: number;
  nr_scanned: number;
  priority: number;
  /** highest zone index eligible (pages in higher zones are skipped) */
  reclaim_idx: number;
  kswapd: boolean;
  /** counts for the trace */
  nr_activated: number;
  nr_deactivated: number;
  nr_kept: number;
  nr_swapped: number;
}

function int_sqrt(x: number): number {
  return Math.floor(Math.sqrt(x));
}

/** can_reclaim_anon_pages(): anonymous pages can go only where there is free swap */
export function can_reclaim_anon_pages(ms: MachineState): boolean {
  return ms.swap !== undefined && nr_swap_pages(ms) > 0;
}

/** lruvec_lru_size() over zones ≤ reclaim_idx */
function lru_size(ms: MachineState, node: pglist_data, lru: number, reclaim_idx: number): number {
  const l = lru_of(ms);
  let n = 0;
  for (const z of node.node_zones) if (z.zone_idx <= reclaim_idx) n += l.zone_count[z.id * NR_LRU_LISTS + lru]!;
  return n;
}

/** inactive_is_low() for the anon lists */
export function inactive_is_low(ms: MachineState, node: pglist_data, reclaim_idx: number): boolean {
  const inactive = lru_size(ms, node, LRU_INACTIVE_ANON, reclaim_idx);
  const active = lru_size(ms, node, LRU_ACTIVE_ANON, reclaim_idx);
  const gb = (inactive + active) >> (30 - Math.log2(ms.page_size));
  const ratio = gb ? int_sqrt(10 * gb) : 1;
  return inactive * ratio < active;
}

/**
 * isolate_lru_folios(): up to `nr_to_scan` pages from the tail of the list, skipping pages of zones
 * above reclaim_idx (they go back to the head); returns the isolated pages and how many were scanned.
 */
function isolate_lru_folios(ms: MachineState, node: pglist_data, lru: number, nr_to_scan: number, sc: scan_control): { list: number[]; scanned: number } {
  const l = lru_of(ms);
  const k = node.node_id * NR_LRU_LISTS + lru;
  const list: number[] = [];
  const skipped: number[] = [];
  let scanned = 0;
  const total = l.count[k]!;
  const zoneid = ms.mem_map.zoneid;
  for (let seen = 0; scanned < nr_to_scan && seen < total; seen++) {
    const pfn = l.tail[k]!;
    if (pfn === -1) break;
    lruvec_del_folio(ms, pfn);
    if (((zoneid[pfn]! - 1) & 7) > sc.reclaim_idx) {
      skipped.push(pfn);
      // pgskip_<zone>: a page of a zone the caller cannot use
      const zn = ms.page_zone(pfn).name;
      const key = `pgskip_${({ DMA: "dma", DMA32: "dma32", Normal: "normal", HighMem: "high", Movable: "movable", Device: "device" } as Record<string, string>)[zn] ?? "normal"}` as keyof typeof ms.vmstat;
      ms.vmstat[key]++;
      continue;
    }
    scanned++;
    list.push(pfn);
  }
  for (const pfn of skipped) lruvec_add_folio(ms, pfn);
  return { list, scanned };
}

/** shrink_active_list(): deactivate pages from the tail of the active anon list */
function shrink_active_list(ms: MachineState, node: pglist_data, nr_to_scan: number, sc: scan_control): void {
  const { list, scanned } = isolate_lru_folios(ms, node, LRU_ACTIVE_ANON, nr_to_scan, sc);
  ms.vmstat.pgrefill += scanned;
  const mmap = ms.mem_map;
  for (const pfn of list) {
    // folio_referenced() clears the accessed bits; only executable file pages would stay active
    if (mmap.mapcount[pfn]! > 0) folio_referenced(ms, pfn);
    mmap.flags[pfn]! &= ~PG_active;
    lru_of(ms).flags2[pfn]! &= ~PG_referenced;
    lruvec_add_folio(ms, pfn);
    ms.vmstat.pgdeactivate++;
    sc.nr_deactivated++;
  }
}

/** free a reclaimed page: it leaves every list and goes back to the buddy allocator */
function free_reclaimed(ms: MachineState, pfn: number): void {
  const mmap = ms.mem_map;
  lru_forget(ms, pfn);
  anon_excl(ms)[pfn] = 0;
  mmap.flags[pfn]! &= ~(PG_anon | PG_lru | PG_swapbacked | PG_dirty | PG_active | PG_unevictable | PG_mlocked);
  mmap.mapcount[pfn] = 0;
  mmap.refcount[pfn] = 1;
  clear_frames(ms, pfn);
  const was = ms.trace.on;
  ms.trace.on = false;
  try {
    __free_pages(ms, pfn, 0);
  } finally {
    ms.trace.on = was;
  }
}

/** folio_free_swap()-like cleanup on activation when swap is short (activate_locked in shrink_folio_list) */
function maybe_free_swap(ms: MachineState, pfn: number): void {
  if (lru_of(ms).flags2[pfn]! & PG_swapcache && (vm_swap_full(ms) || ms.mem_map.flags[pfn]! & PG_mlocked)) {
    const off = ms.mem_map.priv[pfn]!;
    if ((ms.swap!.swap_map[off]! & 0x3f) === 0) delete_from_swap_cache(ms, pfn);
  }
}

/** shrink_folio_list(): decide each isolated inactive page's fate; returns pages reclaimed */
function shrink_folio_list(ms: MachineState, list: number[], sc: scan_control): number {
  const mmap = ms.mem_map;
  const l = lru_of(ms);
  const tr = ms.trace;
  let reclaimed = 0;
  for (const pfn of list) {
    const f = mmap.flags[pfn]!;
    // folio_check_references()
    let referenced = 0;
    let locked = false;
    if (mmap.mapcount[pfn]! > 0) ({ referenced, locked } = folio_referenced(ms, pfn));
    const referenced_folio = (l.flags2[pfn]! & PG_referenced) !== 0;
    l.flags2[pfn]! &= ~PG_referenced;
    if (locked) {
      // mlock_vma_folio(): found in a VM_LOCKED VMA — to the unevictable list
      mmap.flags[pfn]! |= PG_mlocked | PG_unevictable;
      mmap.flags[pfn]! &= ~PG_active;
      ms.vmstat.unevictable_pgs_culled++;
      lruvec_add_folio(ms, pfn);
      continue;
    }
    if (referenced) {
      l.flags2[pfn]! |= PG_referenced;
      if (referenced_folio || referenced > 1) {
        // FOLIOREF_ACTIVATE
        mmap.flags[pfn]! |= PG_active;
        ms.vmstat.pgactivate++;
        sc.nr_activated++;
        lruvec_add_folio(ms, pfn);
      } else {
        // FOLIOREF_KEEP: another trip around the inactive list
        sc.nr_kept++;
        lruvec_add_folio(ms, pfn);
      }
      continue;
    }
    if (!(f & PG_anon)) {
      // a page-cache page: not reclaimed by this model
      sc.nr_kept++;
      lruvec_add_folio(ms, pfn);
      continue;
    }
    // FOLIOREF_RECLAIM: an anonymous page nobody used since the last scan
    let off: number;
    if (l.flags2[pfn]! & PG_swapcache) off = mmap.priv[pfn]!;
    else {
      // add_to_swap(): a slot, the swap cache, and the page marked dirty so that it is written
      off = get_swap_page(ms);
      if (off < 0) {
        // activate_locked: swap is full
        mmap.flags[pfn]! |= PG_active;
        ms.vmstat.pgactivate++;
        sc.nr_activated++;
        lruvec_add_folio(ms, pfn);
        continue;
      }
      add_to_swap_cache(ms, pfn, off);
      mmap.flags[pfn]! |= PG_dirty;
    }
    if (mmap.mapcount[pfn]! > 0) {
      const n = try_to_unmap(ms, pfn, off);
      if (n < 0 || mmap.mapcount[pfn]! > 0) {
        mmap.flags[pfn]! |= PG_active;
        maybe_free_swap(ms, pfn);
        lruvec_add_folio(ms, pfn);
        continue;
      }
    }
    const wrote = (mmap.flags[pfn]! & PG_dirty) !== 0;
    if (wrote) swap_writepage(ms, pfn); // pageout(): synchronous, the page is clean at once
    // __remove_mapping(): only if nobody else holds a reference (the swap cache's is the last)
    if (mmap.refcount[pfn] !== 1) {
      sc.nr_kept++;
      lruvec_add_folio(ms, pfn);
      continue;
    }
    if (tr.on && sc.nr_swapped < 8) tr.emit("shrink_folio_list", F, `PFN ${hex(pfn)}: not referenced since the last scan → ${wrote ? `written to swap slot ${off} (pageout)` : `already in swap slot ${off}, clean: no write`}, PTEs now hold the swap entry, frame freed`, { pfn, slot: off });
    delete_from_swap_cache(ms, pfn);
    free_reclaimed(ms, pfn);
    sc.nr_swapped++;
    reclaimed++;
  }
  return reclaimed;
}

/** shrink_inactive_list() */
function shrink_inactive_list(ms: MachineState, node: pglist_data, nr_to_scan: number, sc: scan_control): number {
  const { list, scanned } = isolate_lru_folios(ms, node, LRU_INACTIVE_ANON, nr_to_scan, sc);
  sc.nr_scanned += scanned;
  if (sc.kswapd) ms.vmstat.pgscan_kswapd += scanned;
  else ms.vmstat.pgscan_direct += scanned;
  ms.vmstat.pgscan_anon += scanned;
  const n = shrink_folio_list(ms, list, sc);
  if (sc.kswapd) ms.vmstat.pgsteal_kswapd += n;
  else ms.vmstat.pgsteal_direct += n;
  ms.vmstat.pgsteal_anon += n;
  return n;
}

/** shrink_lruvec() → shrink_list() for the anon lists of a node */
function shrink_lruvec(ms: MachineState, node: pglist_data, sc: scan_control): void {
  if (!can_reclaim_anon_pages(ms)) return;
  // prepare_scan_control(): deactivate anon only when the inactive list is low
  const may_deactivate = inactive_is_low(ms, node, sc.reclaim_idx);
  let nr_inactive = lru_size(ms, node, LRU_INACTIVE_ANON, sc.reclaim_idx) >> sc.priority;
  let nr_active = lru_size(ms, node, LRU_ACTIVE_ANON, sc.reclaim_idx) >> sc.priority;
  while (nr_inactive > 0 || nr_active > 0) {
    if (nr_inactive > 0) {
      const n = Math.min(nr_inactive, SWAP_CLUSTER_MAX);
      nr_inactive -= n;
      sc.nr_reclaimed += shrink_inactive_list(ms, node, n, sc);
    }
    if (nr_active > 0) {
      const n = Math.min(nr_active, SWAP_CLUSTER_MAX);
      nr_active -= n;
      if (may_deactivate) shrink_active_list(ms, node, n, sc);
    }
    if (sc.nr_reclaimed >= sc.nr_to_reclaim && !sc.kswapd) break;
  }
  // "Even if we did not try to evict anon pages at all, we want to rebalance the anon lru active/inactive ratio."
  if (inactive_is_low(ms, node, sc.reclaim_idx)) shrink_active_list(ms, node, SWAP_CLUSTER_MAX, sc);
}

function new_sc(nr_to_reclaim: number, reclaim_idx: number, kswapd: boolean): scan_control {
  return { nr_to_reclaim, nr_reclaimed: 0, nr_scanned: 0, priority: DEF_PRIORITY, reclaim_idx, kswapd, nr_activated: 0, nr_deactivated: 0, nr_kept: 0, nr_swapped: 0 };
}

function zname(z: zone): string {
  return `Node ${z.node.node_id} ${z.name}`;
}

/** pgdat_balanced(): some zone ≤ highest_zoneidx is above its high watermark for `order` */
export function pgdat_balanced(ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number): boolean {
  let any = false;
  for (const z of node.node_zones) {
    if (z.zone_idx > highest_zoneidx || !z.managed_pages) continue;
    any = true;
    const mark = z.wmark_pages(WMARK_HIGH);
    if (__zone_watermark_ok(ms, z, order, mark, highest_zoneidx, 0, z.nr_free_pages)) return true;
  }
  return !any;
}

/** what one kswapd run did, for results that show it */
export interface kswapd_report {
  node: number;
  reclaimed: number;
  scanned: number;
  priority: number;
  balanced: boolean;
}

/**
 * balance_pgdat(): reclaim from the node at falling priority until it is balanced (some eligible zone
 * above its high watermark) or priority 1 is done.
 */
export function balance_pgdat(ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number): kswapd_report {
  const tr = ms.trace;
  ms.vmstat.pageoutrun++;
  if (pgdat_balanced(ms, node, order, highest_zoneidx)) {
    ms.vmstat.kswapd_high_wmark_hit_quickly++;
    return { node: node.node_id, reclaimed: 0, scanned: 0, priority: DEF_PRIORITY, balanced: true };
  }
  const sc = new_sc(0, highest_zoneidx, true);
  for (const z of node.node_zones) if (z.zone_idx <= highest_zoneidx && z.managed_pages) sc.nr_to_reclaim += Math.max(z.wmark_pages(WMARK_HIGH), SWAP_CLUSTER_MAX);
  const was = tr.on;
  if (was) tr.emit("balance_pgdat", F, `kswapd${node.node_id} runs: no zone up to ${node.node_zones[highest_zoneidx]?.name ?? "?"} is above its high watermark; reclaim up to ${sc.nr_to_reclaim} pages at falling priority`);
  tr.depth++;
  let balanced = false;
  for (sc.priority = DEF_PRIORITY; sc.priority >= 1; sc.priority--) {
    const before = sc.nr_reclaimed;
    shrink_lruvec(ms, node, sc);
    if (pgdat_balanced(ms, node, order, highest_zoneidx)) {
      balanced = true;
      break;
    }
    if (sc.nr_reclaimed - before === 0 && !can_reclaim_anon_pages(ms)) break;
  }
  tr.depth--;
  if (was) {
    const z = node.node_zones.filter((zz) => zz.zone_idx <= highest_zoneidx && zz.managed_pages).map((zz) => `${zname(zz)} free ${zz.nr_free_pages} (high ${zz.wmark_pages(WMARK_HIGH)})`).join(", ");
    tr.emit("balance_pgdat", F, `kswapd${node.node_id}: scanned ${sc.nr_scanned}, reclaimed ${sc.nr_reclaimed} (${sc.nr_swapped} swapped out, ${sc.nr_activated} activated, ${sc.nr_deactivated} deactivated, ${sc.nr_kept} kept for another trip), ${balanced ? "balanced" : "not balanced"} at priority ${sc.priority}: ${z}`, { reclaimed: sc.nr_reclaimed, scanned: sc.nr_scanned });
  }
  return { node: node.node_id, reclaimed: sc.nr_reclaimed, scanned: sc.nr_scanned, priority: sc.priority, balanced };
}

// ---------------------------------------------------------------- kswapd wakeups

export class kswapd_state {
  /** per node: the pending wakeup's order and highest zone index (-1: asleep) */
  readonly pending_order: Int32Array;
  readonly pending_zoneidx: Int32Array;
  /** reports of the runs since the facade last collected them */
  runs: kswapd_report[] = [];
  constructor(nodes: number, from?: kswapd_state) {
    this.pending_order = from ? from.pending_order.slice() : new Int32Array(nodes).fill(-1);
    this.pending_zoneidx = from ? from.pending_zoneidx.slice() : new Int32Array(nodes).fill(-1);
  }
  clone_for(_ms: MachineState): kswapd_state {
    return new kswapd_state(this.pending_order.length, this);
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** kswapd per node, see src/mm/vmscan.ts */
    kswapd?: kswapd_state;
  }
}

function kswapd_of(ms: MachineState): kswapd_state {
  return (ms.kswapd ??= new kswapd_state(ms.nodes.length));
}

/** wakeup_kswapd(): note the wakeup; kswapd runs at the next schedule point */
function wakeup_kswapd_hook(ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number): void {
  if (!ms.lru) return; // nothing on any LRU list: nothing kswapd could do
  const k = kswapd_of(ms);
  const id = node.node_id;
  if (k.pending_order[id]! < order) k.pending_order[id] = order;
  if (k.pending_zoneidx[id]! < highest_zoneidx) k.pending_zoneidx[id] = highest_zoneidx;
  if (ms.trace.on) ms.trace.emit("wakeup_kswapd", F, `kswapd${id} woken (order ${order}): it reclaims once this task gives up the CPU`);
}

/** kswapd_run_pending(): the schedule point — every woken kswapd runs balance_pgdat() now */
export function kswapd_run_pending(ms: MachineState): kswapd_report[] {
  const k = ms.kswapd;
  if (!k) return [];
  const out: kswapd_report[] = [];
  for (let id = 0; id < k.pending_order.length; id++) {
    const order = k.pending_order[id]!;
    if (order < 0) continue;
    const zidx = k.pending_zoneidx[id]!;
    k.pending_order[id] = -1;
    k.pending_zoneidx[id] = -1;
    const r = balance_pgdat(ms, ms.nodes[id]!, order, zidx);
    out.push(r);
    k.runs.push(r);
    if (k.runs.length > 64) k.runs.shift();
  }
  return out;
}

/** is some kswapd waiting to run */
export function kswapd_pending(ms: MachineState): boolean {
  const k = ms.kswapd;
  if (!k) return false;
  for (let i = 0; i < k.pending_order.length; i++) if (k.pending_order[i]! >= 0) return true;
  return false;
}

/**
 * try_to_free_pages() → do_try_to_free_pages(): direct reclaim of SWAP_CLUSTER_MAX pages from the
 * zonelist's nodes, priority 12 → 0. Returns the pages reclaimed.
 */
export function try_to_free_pages(ms: MachineState, _gfp: number, _order: number, zl: zone[], highest_zoneidx: number): number {
  if (!ms.lru) return 0;
  const sc = new_sc(SWAP_CLUSTER_MAX, highest_zoneidx, false);
  // __count_zid_vm_events(ALLOCSTALL, sc->reclaim_idx, 1)
  const zn = zl.find((z) => z.zone_idx === highest_zoneidx)?.name ?? ms.nodes[0]!.node_zones[highest_zoneidx]?.name;
  const key = `allocstall_${({ DMA: "dma", DMA32: "dma32", Normal: "normal", HighMem: "high", Movable: "movable", Device: "device" } as Record<string, string>)[zn ?? "Normal"] ?? "normal"}` as keyof typeof ms.vmstat;
  ms.vmstat[key]++;
  const nodes: pglist_data[] = [];
  for (const z of zl) if (z.zone_idx <= highest_zoneidx && !nodes.includes(z.node)) nodes.push(z.node);
  for (sc.priority = DEF_PRIORITY; sc.priority >= 0; sc.priority--) {
    for (const n of nodes) shrink_lruvec(ms, n, sc);
    if (sc.nr_reclaimed >= sc.nr_to_reclaim) break;
  }
  if (ms.trace.on) ms.trace.emit("try_to_free_pages", F, `direct reclaim: scanned ${sc.nr_scanned}, reclaimed ${sc.nr_reclaimed} page${sc.nr_reclaimed === 1 ? "" : "s"} (${sc.nr_swapped} swapped out)${sc.nr_reclaimed ? "" : ": nothing reclaimable"}`, { reclaimed: sc.nr_reclaimed });
  return sc.nr_reclaimed;
}

/** reclaim up to `nr` pages from a node on demand (the facade's m.reclaim(), like memory.reclaim) */
export function reclaim_pages(ms: MachineState, nid: number, nr: number): number {
  if (!ms.lru) return 0;
  const node = ms.nodes[nid]!;
  const sc = new_sc(nr, node.node_zones.length - 1, false);
  for (sc.priority = DEF_PRIORITY; sc.priority >= 0 && sc.nr_reclaimed < nr; sc.priority--) shrink_lruvec(ms, node, sc);
  return sc.nr_reclaimed;
}

reclaim_hooks.wakeup_kswapd = wakeup_kswapd_hook;
reclaim_hooks.try_to_free_pages = try_to_free_pages;
