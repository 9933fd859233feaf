/**
 * Page reclaim (mm/vmscan.c, Linux 6.12, the classic active/inactive LRU — not MGLRU): kswapd and
 * direct reclaim scan the LRU lists of a node from the tail, give referenced pages a second chance,
 * and swap out anonymous pages that were not used recently.
 *
 * - kswapd: woken by the allocator when a zone falls below its low watermark (wakeup_kswapd: not when
 *   the node is already balanced, nor after 16 fruitless runs), it runs balance_pgdat() — priority 12
 *   down to 1, lowered only when a pass scanned less than nr_to_reclaim or reclaimed nothing — and then
 *   tries to sleep; while the node is still unbalanced it counts kswapd_high_wmark_hit_quickly and runs
 *   again. mmlab runs kswapd at the next schedule point — after the fault or facade call that woke it
 *   — to completion, not concurrently (kswapd_run_pending()).
 * - direct reclaim: an allocation still failing at the min watermark calls try_to_free_pages(), which
 *   reclaims SWAP_CLUSTER_MAX (32) pages at priorities 12 → 0 (allocstall_<zone>, and again on the
 *   memcg_full_walk / force_deactivate retries when nothing was reclaimed).
 * - shrink_lruvec(): get_scan_count() decides how much of each list to scan (SCAN_ANON when the file
 *   LRU is tiny, else SCAN_FRACT by swappiness 60 and the lru_note_cost() costs, SCAN_EQUAL at
 *   priority 0), in batches of 32; the active list is deactivated only when the inactive one is low
 *   (inactive_is_low(): inactive * ratio < active, ratio = int_sqrt(10 × GiB) or 1, node-wide).
 * - shrink_active_list(): pages from the tail of the active list move to the inactive list (pgdeactivate);
 *   their accessed bits are cleared (anonymous pages are not protected by being referenced here).
 * - shrink_folio_list() after folio_check_references(): a page whose PTEs were referenced is kept for
 *   another trip (PG_referenced set), or activated if it was referenced before too or mapped more than
 *   once; an unreferenced anonymous page gets a swap slot (add_to_swap), loses its mappings
 *   (try_to_unmap: PTEs become swap entries), is written if dirty (pageout → swap_writepage), leaves the
 *   swap cache and is freed (pgsteal). A page of a VM_LOCKED VMA is mlocked and moved to the
 *   unevictable list.
 * Kernel memory (slab, page tables, vmalloc, the kernel image) is never on an LRU list, so it is never
 * reclaimed here. Page-cache (file) pages sit on the file lists but are not reclaimed (page-cache
 * eviction is not modelled; reclaim balances as 6.12 does with an empty file LRU — see get_scan_count());
 * without swap, anonymous pages cannot be reclaimed either (can_reclaim_anon_pages()), and the allocator
 * goes on to the OOM killer. Not modelled: workingset shadow entries (workingset_* counters, refault
 * costs, refault-driven deactivation), writeback throttling, reclaim/compaction for order > 0.
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
import { LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, NR_LRU_LISTS, PG_referenced, PG_swapcache, PG_workingset, lru_of, lruvec_add_folio, lruvec_del_folio, __page_cache_release } from "./swap";
import { add_to_swap_cache, delete_from_swap_cache, swap_writepage } from "./swap_state";
import { get_swap_page, nr_swap_pages, swap_count, total_swap_pages, vm_swap_full } from "./swapfile";

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
  /** sc->order (kswapd: lowered to 0 after compact_gap pages) */
  order: number;
  /** cgroup_reclaim(sc): memory.reclaim-style reclaim (no pgscan/pgsteal_kswapd/direct, no pgrefill, no file_is_tiny) */
  cgroup: boolean;
  may_swap: boolean;
  /** prepare_scan_control(): sc->may_deactivate & DEACTIVATE_ANON */
  may_deactivate_anon: boolean;
  force_deactivate: boolean;
  skipped_deactivate: boolean;
  file_is_tiny: boolean;
  /** the lruvec's anon_cost / file_cost when the scan began */
  anon_cost: number;
  file_cost: number;
  /** counts for the trace */
  nr_activated: number;
  nr_deactivated: number;
  nr_kept: number;
  nr_swapped: number;
}

function int_sqrt(x: number): number {
  return Math.floor(Math.sqrt(x));
}

/** can_reclaim_anon_pages(): anonymous pages can go only where there is free swap (get_nr_swap_pages() > 0) */
export function can_reclaim_anon_pages(ms: MachineState): boolean {
  return ms.swap !== undefined && nr_swap_pages(ms) > 0;
}

/** can_age_anon_pages() (6.12): aging the anon LRU is worth it if swap is *present* (total_swap_pages > 0),
 * even when it is full */
function can_age_anon_pages(ms: MachineState): boolean {
  return total_swap_pages(ms) > 0;
}

/** vm_swappiness (mm/vmscan.c): 60; MAX_SWAPPINESS 200 (include/linux/swap.h) */
export const vm_swappiness = 60;
const MAX_SWAPPINESS = 200;

/** lruvec_lru_size(lruvec, lru, zone_idx): pages of the list in zones ≤ reclaim_idx */
function lru_size(ms: MachineState, node: pglist_data, lru: number, reclaim_idx: number): number {
  const l = lru_of(ms);
  let n = 0;
  for (const z of node.node_zones) if (z.zone_idx <= reclaim_idx) n += l.zone_count[z.id * NR_LRU_LISTS + lru]!;
  return n;
}

/** lruvec_page_state(lruvec, NR_LRU_BASE + lru): the node-wide length of a list (all zones) */
function node_lru(ms: MachineState, node: pglist_data, lru: number): number {
  return lru_of(ms).count[node.node_id * NR_LRU_LISTS + lru]!;
}

/**
 * inactive_is_low(lruvec, LRU_INACTIVE_ANON) (6.12): node-wide list sizes (lruvec_page_state, not
 * limited to the reclaim zones): inactive * ratio < active, ratio = int_sqrt(10 × GiB) or 1.
 */
export function inactive_is_low(ms: MachineState, node: pglist_data, _reclaim_idx?: number): boolean {
  const inactive = node_lru(ms, node, LRU_INACTIVE_ANON);
  const active = node_lru(ms, node, LRU_ACTIVE_ANON);
  const gb = (inactive + active) >> (30 - Math.log2(ms.page_size));
  const ratio = gb ? int_sqrt(10 * gb) : 1;
  return inactive * ratio < active;
}

/**
 * lru_note_cost() (mm/swap.c, 6.12): reclaim cost of a list type — nr_io * SWAP_CLUSTER_MAX + nr_rotated —
 * added to lruvec->anon_cost (file_cost); both halve when their sum passes a quarter of the evictable
 * LRU pages. get_scan_count() steers scanning away from the costlier type. mmlab notes the anon cost of
 * shrink_inactive_list(); refault costs (lru_note_cost_refault, workingset shadows) are not modelled.
 */
function lru_note_cost(ms: MachineState, node: pglist_data, file: boolean, nr_io: number, nr_rotated: number): void {
  const k = kswapd_of(ms);
  const id = node.node_id;
  const cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated;
  if (file) k.file_cost[id]! += cost;
  else k.anon_cost[id]! += cost;
  const lrusize = node_lru(ms, node, LRU_INACTIVE_ANON) + node_lru(ms, node, LRU_ACTIVE_ANON) + node_lru(ms, node, LRU_INACTIVE_FILE) + node_lru(ms, node, LRU_ACTIVE_FILE);
  if (k.file_cost[id]! + k.anon_cost[id]! > Math.floor(lrusize / 4)) {
    k.file_cost[id] = Math.floor(k.file_cost[id]! / 2);
    k.anon_cost[id] = Math.floor(k.anon_cost[id]! / 2);
  }
}

/**
 * prepare_scan_control() (6.12), for the anon side: the lruvec's costs, may_deactivate (DEACTIVATE_ANON
 * when inactive_is_low — refault-driven deactivation needs workingset shadows, not modelled), and
 * file_is_tiny (global reclaim only): free + file ≤ Σ high watermarks, anon not being deactivated, and
 * inactive anon >> priority > 0. File pages count as 0 here: mmlab does not evict page cache (see
 * get_scan_count()).
 */
function prepare_scan_control(ms: MachineState, node: pglist_data, sc: scan_control): void {
  const k = kswapd_of(ms);
  sc.anon_cost = k.anon_cost[node.node_id]!;
  sc.file_cost = k.file_cost[node.node_id]!;
  sc.may_deactivate_anon = sc.force_deactivate || inactive_is_low(ms, node);
  sc.file_is_tiny = false;
  if (!sc.cgroup) {
    let total_high_wmark = 0;
    let free = 0;
    for (const z of node.node_zones) {
      free += z.nr_free_pages;
      if (z.managed_pages) total_high_wmark += z.wmark_pages(WMARK_HIGH);
    }
    const file = 0; // NR_ACTIVE_FILE + NR_INACTIVE_FILE as reclaim sees it: page cache is not evicted in mmlab
    const anon = node_lru(ms, node, LRU_INACTIVE_ANON);
    sc.file_is_tiny = file + free <= total_high_wmark && !sc.may_deactivate_anon && anon >> sc.priority > 0;
  }
}

/**
 * get_scan_count() (6.12) → how many pages of [inactive anon, active anon] to scan at this priority.
 * - no free swap (can_reclaim_anon_pages false): SCAN_FILE, anon 0;
 * - priority 0 (and swappiness ≠ 0): SCAN_EQUAL, every page of both lists;
 * - file_is_tiny: SCAN_ANON, size >> priority;
 * - (cache_trim_mode needs inactive file pages, see below)
 * - else SCAN_FRACT: size >> priority scaled by ap / (ap + fp), where with anon_cost a and file_cost f:
 *   total = a + f, ap = 60 (total + a + total + f + 1) / (total + a + 1), fp = 140 (…) / (total + f + 1)
 *   — with no cost recorded yet 60 / 200 of the anon lists.
 * Page cache: 6.12 would balance against the file lists (cache_trim_mode: with inactive file pages >>
 * priority and the file list not low it scans *only* file pages; SCAN_FRACT would also scan file). mmlab
 * does not evict page cache, so it balances as 6.12 does when the file LRU is empty — exact for a machine
 * without mapped page cache (the usual case: anonymous memory only), an approximation otherwise.
 */
export function get_scan_count(ms: MachineState, node: pglist_data, sc: scan_control): [number, number] {
  const sizes = [lru_size(ms, node, LRU_INACTIVE_ANON, sc.reclaim_idx), lru_size(ms, node, LRU_ACTIVE_ANON, sc.reclaim_idx)];
  if (!sc.may_swap || !can_reclaim_anon_pages(ms)) return [0, 0]; // SCAN_FILE
  if (!sc.priority && vm_swappiness) return [sizes[0]!, sizes[1]!]; // SCAN_EQUAL
  if (sc.file_is_tiny) return [sizes[0]! >> sc.priority, sizes[1]! >> sc.priority]; // SCAN_ANON
  // SCAN_FRACT
  let total_cost = sc.anon_cost + sc.file_cost;
  const anon_cost = total_cost + sc.anon_cost;
  const file_cost = total_cost + sc.file_cost;
  total_cost = anon_cost + file_cost;
  const ap = Math.floor((vm_swappiness * (total_cost + 1)) / (anon_cost + 1));
  const fp = Math.floor(((MAX_SWAPPINESS - vm_swappiness) * (total_cost + 1)) / (file_cost + 1));
  const den = ap + fp;
  // div64_u64(scan * fraction[file], denominator): the root memcg is online, so rounding down
  return [Math.floor(((sizes[0]! >> sc.priority) * ap) / den), Math.floor(((sizes[1]! >> sc.priority) * ap) / den)];
}

/**
 * isolate_lru_folios() (6.12): up to `nr_to_scan` eligible pages from the tail of the list. Pages of
 * zones above reclaim_idx are skipped (pgskip_<zone>) and spliced back at the list head in the order met;
 * they are not counted against nr_to_scan, but *are* in the returned nr_scanned (total_scan), which is
 * what pgscan_* and pgrefill count.
 */
function isolate_lru_folios(ms: MachineState, node: pglist_data, lru: number, nr_to_scan: number, sc: scan_control): { list: number[]; scanned: number } {
  const l = lru_of(ms);
  const k = node.node_id * NR_LRU_LISTS + lru;
  const list: number[] = [];
  const skipped: number[] = [];
  let scan = 0;
  let total_scan = 0;
  const total = l.count[k]!;
  const zoneid = ms.mem_map.zoneid;
  for (let seen = 0; scan < nr_to_scan && seen < total; seen++) {
    const pfn = l.tail[k]!;
    if (pfn === -1) break;
    lruvec_del_folio(ms, pfn);
    total_scan++;
    if (((zoneid[pfn]! - 1) & 7) > sc.reclaim_idx) {
      skipped.push(pfn);
      // __count_zid_vm_events(PGSCAN_SKIP, zid, nr_skipped[zid])
      const zn = ms.page_zone(pfn).name;
      const key = `pgskip_${({ DMA: "dma", DMA32: "dma32", Normal: "normal", HighMem: "high", Movable: "movable", Device: "device" } as Record<string, string>)[zn] ?? "normal"}` as keyof typeof ms.vmstat;
      ms.vmstat[key]++;
      continue;
    }
    scan++;
    list.push(pfn);
  }
  for (const pfn of skipped) lruvec_add_folio(ms, pfn);
  return { list, scanned: total_scan };
}

/**
 * mlock_vma_folio() as folio_referenced_one() / try_to_unmap_one() call it for a page found mapped in a
 * VM_LOCKED VMA ("Restore the mlock which got missed"): mlock_folio() sets PG_mlocked (NR_MLOCK,
 * unevictable_pgs_mlocked); the page is isolated, so __mlock_folio() leaves it, and the putback
 * (folio_putback_lru → lru_add) puts it on the unevictable list: unevictable_pgs_culled.
 */
function mlock_isolated_folio(ms: MachineState, pfn: number): void {
  const mmap = ms.mem_map;
  if (!(mmap.flags[pfn]! & PG_mlocked)) {
    mmap.flags[pfn]! |= PG_mlocked;
    ms.vmstat.unevictable_pgs_mlocked++;
  }
}

/** folio_putback_lru() of an isolated page that is not evictable (PG_mlocked): lru_add() → unevictable list */
function putback_unevictable(ms: MachineState, pfn: number): void {
  const mmap = ms.mem_map;
  const was = (mmap.flags[pfn]! & PG_unevictable) !== 0;
  mmap.flags[pfn]! &= ~PG_active;
  mmap.flags[pfn]! |= PG_unevictable;
  if (!was) ms.vmstat.unevictable_pgs_culled++;
  lruvec_add_folio(ms, pfn);
}

/**
 * shrink_active_list() (6.12): pages from the tail of the active anon list go to the inactive list
 * (pgdeactivate) whether or not they were referenced — only referenced *executable file* pages stay
 * active; folio_referenced() clears their accessed bits. PG_referenced is left as it is (a deactivated
 * page used again is reactivated at its next inactive scan: "the mark is set for activated folios as
 * well so that recently deactivated but used folios are quickly recovered"), PG_workingset is set.
 * A page found in a VM_LOCKED VMA is mlocked and goes to the unevictable list instead (not counted in
 * pgdeactivate). pgrefill counts every page scanned, skipped ones too.
 */
export function shrink_active_list(ms: MachineState, node: pglist_data, nr_to_scan: number, sc: scan_control): void {
  const { list, scanned } = isolate_lru_folios(ms, node, LRU_ACTIVE_ANON, nr_to_scan, sc);
  if (!sc.cgroup) ms.vmstat.pgrefill += scanned;
  const mmap = ms.mem_map;
  const l = lru_of(ms);
  for (const pfn of list) {
    if (mmap.mapcount[pfn]! > 0 && folio_referenced(ms, pfn).locked) mlock_isolated_folio(ms, pfn);
    mmap.flags[pfn]! &= ~PG_active;
    l.flags2[pfn]! |= PG_workingset;
    // move_folios_to_lru(): an unevictable page is put back through folio_putback_lru
    if (mmap.flags[pfn]! & PG_mlocked) {
      putback_unevictable(ms, pfn);
      continue;
    }
    lruvec_add_folio(ms, pfn);
    ms.vmstat.pgdeactivate++;
    sc.nr_deactivated++;
  }
}

/** free_unref_folios() at the end of shrink_folio_list(): a reclaimed page leaves every list and goes back to the buddy allocator */
function free_unref_folio(ms: MachineState, pfn: number): void {
  const mmap = ms.mem_map;
  __page_cache_release(ms, pfn);
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

/**
 * activate_locked in shrink_folio_list() (6.12): "Not a candidate for swapping, so reclaim swap space":
 * a swap-cache page loses its slot when swap is more than half full or the page is mlocked
 * (folio_free_swap(): only if no PTE still names the slot; the page becomes dirty). Then, unless
 * mlocked, it is activated (pgactivate). The caller puts it back. Returns false if the page is gone
 * (only the swap cache held it: move_folios_to_lru frees it).
 */
function activate_locked(ms: MachineState, pfn: number, sc: scan_control): boolean {
  const mmap = ms.mem_map;
  if (lru_of(ms).flags2[pfn]! & PG_swapcache && (vm_swap_full(ms) || mmap.flags[pfn]! & PG_mlocked)) {
    const off = mmap.priv[pfn]!;
    if (swap_count(ms, off) === 0) {
      delete_from_swap_cache(ms, pfn);
      mmap.flags[pfn]! |= PG_dirty;
      if (mmap.refcount[pfn] === 0) {
        free_unref_folio(ms, pfn);
        return false;
      }
    }
  }
  if (!(mmap.flags[pfn]! & PG_mlocked)) {
    mmap.flags[pfn]! |= PG_active;
    ms.vmstat.pgactivate++;
    sc.nr_activated++;
  }
  return true;
}

/** move_folios_to_lru() for one page: the unevictable list if mlocked, else the head of its list */
function putback(ms: MachineState, pfn: number): void {
  if (ms.mem_map.flags[pfn]! & PG_mlocked) putback_unevictable(ms, pfn);
  else lruvec_add_folio(ms, pfn);
}

/**
 * shrink_folio_list() (6.12) for isolated inactive pages, in the order isolated; returns the pages
 * reclaimed and how many were written (stat->nr_pageout, for lru_note_cost).
 * folio_check_references(): VM_LOCKED → activate_locked (mlocked: unevictable list); PTEs referenced →
 * PG_referenced set, FOLIOREF_ACTIVATE if PG_referenced was already set or more than one PTE was young,
 * else FOLIOREF_KEEP; otherwise FOLIOREF_RECLAIM. add_to_swap() failing → activate_locked;
 * try_to_unmap() leaving a mapping → activate_locked; pageout() → swap_writepage (synchronous: clean at
 * once); __remove_mapping() needs the swap cache's reference to be the last (else keep_locked).
 */
function shrink_folio_list(ms: MachineState, list: number[], sc: scan_control): { reclaimed: number; pageout: number } {
  const mmap = ms.mem_map;
  const l = lru_of(ms);
  const tr = ms.trace;
  let reclaimed = 0;
  let pageout = 0;
  for (const pfn of list) {
    sc.nr_scanned++;
    const f = mmap.flags[pfn]!;
    // folio_check_references()
    let referenced = 0;
    let locked = false;
    if (mmap.mapcount[pfn]! > 0) ({ referenced, locked } = folio_referenced(ms, pfn));
    const referenced_folio = (l.flags2[pfn]! & PG_referenced) !== 0;
    l.flags2[pfn]! &= ~PG_referenced;
    if (locked) {
      // "The supposedly reclaimable folio was found to be in a VM_LOCKED vma. Let the folio, now
      // marked Mlocked, be moved to the unevictable list." (FOLIOREF_ACTIVATE → activate_locked)
      mlock_isolated_folio(ms, pfn);
      if (activate_locked(ms, pfn, sc)) putback(ms, pfn);
      continue;
    }
    if (referenced) {
      l.flags2[pfn]! |= PG_referenced;
      if (referenced_folio || referenced > 1) {
        // FOLIOREF_ACTIVATE
        if (activate_locked(ms, pfn, sc)) putback(ms, pfn);
      } else {
        // FOLIOREF_KEEP: another trip around the inactive list
        sc.nr_kept++;
        putback(ms, pfn);
      }
      continue;
    }
    if (!(f & PG_anon)) {
      // a page-cache (or shmem) page: mmlab does not evict page cache (6.12 would drop a clean file page
      // here, write back a dirty one, and swap out shmem through shmem_writepage)
      sc.nr_kept++;
      putback(ms, pfn);
      continue;
    }
    // FOLIOREF_RECLAIM: an anonymous page nobody used since the last scan
    let off: number;
    if (l.flags2[pfn]! & PG_swapcache) off = mmap.priv[pfn]!;
    else {
      // add_to_swap(): a slot, the swap cache, and the page marked dirty so that it is written
      off = get_swap_page(ms);
      if (off < 0) {
        // activate_locked_split → activate_locked: swap is full
        if (activate_locked(ms, pfn, sc)) putback(ms, pfn);
        continue;
      }
      add_to_swap_cache(ms, pfn, off);
      mmap.flags[pfn]! |= PG_dirty;
    }
    if (mmap.mapcount[pfn]! > 0) {
      const n = try_to_unmap(ms, pfn, off);
      if (n < 0) mlock_isolated_folio(ms, pfn); // try_to_unmap_one met a VM_LOCKED VMA: mlock_vma_folio
      if (n < 0 || mmap.mapcount[pfn]! > 0) {
        // folio_mapped() after try_to_unmap → activate_locked
        if (activate_locked(ms, pfn, sc)) putback(ms, pfn);
        continue;
      }
    }
    const wrote = (mmap.flags[pfn]! & PG_dirty) !== 0;
    if (wrote) {
      // pageout() → swap_writepage(): PAGE_SUCCESS (a zero-filled page too: only the zeromap is set);
      // synchronous here, so the page is clean and not under writeback when pageout returns
      swap_writepage(ms, pfn);
      pageout++;
    }
    // __remove_mapping(): only if nobody else holds a reference (the swap cache's is the last)
    if (mmap.refcount[pfn] !== 1) {
      sc.nr_kept++;
      putback(ms, pfn);
      continue;
    }
    if (tr.on && sc.nr_swapped < 8) tr.emit("shrink_folio_list", F, `PFN ${hex(pfn)}: not referenced since the last scan → ${wrote ? `written to swap slot ${off} (pageout)` : `already in swap slot ${off}, clean: no write`}, PTEs now hold the swap entry, frame freed`, { pfn, slot: off });
    delete_from_swap_cache(ms, pfn);
    free_unref_folio(ms, pfn);
    sc.nr_swapped++;
    reclaimed++;
  }
  return { reclaimed, pageout };
}

/**
 * shrink_inactive_list() (6.12): pgscan_kswapd / pgscan_direct (global reclaim only) and pgscan_anon
 * count every page isolate_lru_folios() looked at, pgsteal_* the pages freed; then
 * lru_note_cost(anon, nr_pageout, nr_scanned − nr_reclaimed).
 */
function shrink_inactive_list(ms: MachineState, node: pglist_data, nr_to_scan: number, sc: scan_control): number {
  const { list, scanned } = isolate_lru_folios(ms, node, LRU_INACTIVE_ANON, nr_to_scan, sc);
  if (!sc.cgroup) {
    if (sc.kswapd) ms.vmstat.pgscan_kswapd += scanned;
    else ms.vmstat.pgscan_direct += scanned;
  }
  ms.vmstat.pgscan_anon += scanned;
  if (list.length === 0) return 0;
  const { reclaimed, pageout } = shrink_folio_list(ms, list, sc);
  if (!sc.cgroup) {
    if (sc.kswapd) ms.vmstat.pgsteal_kswapd += reclaimed;
    else ms.vmstat.pgsteal_direct += reclaimed;
  }
  ms.vmstat.pgsteal_anon += reclaimed;
  lru_note_cost(ms, node, false, pageout, scanned - reclaimed);
  return reclaimed;
}

/** shrink_list(): the active list only when may_deactivate says so (else sc->skipped_deactivate) */
function shrink_list(ms: MachineState, node: pglist_data, lru: number, nr_to_scan: number, sc: scan_control): number {
  if (lru === LRU_ACTIVE_ANON) {
    if (sc.may_deactivate_anon) shrink_active_list(ms, node, nr_to_scan, sc);
    else sc.skipped_deactivate = true;
    return 0;
  }
  return shrink_inactive_list(ms, node, nr_to_scan, sc);
}

/**
 * shrink_lruvec() (6.12), anon lists: get_scan_count(), then batches of SWAP_CLUSTER_MAX from the
 * inactive and the active list in turn. The loop runs while the *inactive* (or a file) target is left —
 * the active target alone does not keep it going. Once this call reclaimed sc->nr_to_reclaim it stops
 * (with no file pages to scan proportionally, "if (!nr_file || !nr_anon) break"), except in global
 * direct reclaim at DEF_PRIORITY (proportional_reclaim). Afterwards, if swap is present and the
 * inactive list is low, 32 more active pages are deactivated.
 */
function shrink_lruvec(ms: MachineState, node: pglist_data, sc: scan_control): void {
  const nr = get_scan_count(ms, node, sc);
  let nr_reclaimed = 0;
  const nr_to_reclaim = sc.nr_to_reclaim;
  const proportional_reclaim = !sc.cgroup && !sc.kswapd && sc.priority === DEF_PRIORITY;
  while (nr[0] > 0) {
    for (const lru of [LRU_INACTIVE_ANON, LRU_ACTIVE_ANON]) {
      if (nr[lru]! > 0) {
        const n = Math.min(nr[lru]!, SWAP_CLUSTER_MAX);
        nr[lru]! -= n;
        nr_reclaimed += shrink_list(ms, node, lru, n, sc);
      }
    }
    if (nr_reclaimed < nr_to_reclaim || proportional_reclaim) continue;
    break; // nr_file == 0
  }
  sc.nr_reclaimed += nr_reclaimed;
  // "Even if we did not try to evict anon pages at all, we want to rebalance the anon lru active/inactive ratio."
  if (can_age_anon_pages(ms) && inactive_is_low(ms, node)) shrink_active_list(ms, node, SWAP_CLUSTER_MAX, sc);
}

/** shrink_node() (6.12), one memcg: prepare_scan_control, shrink_lruvec; progress revives a node kswapd gave up on */
function shrink_node(ms: MachineState, node: pglist_data, sc: scan_control): void {
  const before = sc.nr_reclaimed;
  prepare_scan_control(ms, node, sc);
  shrink_lruvec(ms, node, sc);
  if (sc.nr_reclaimed - before > 0) kswapd_of(ms).kswapd_failures[node.node_id] = 0;
}

export function new_sc(nr_to_reclaim: number, reclaim_idx: number, kswapd: boolean, order = 0): scan_control {
  return {
    nr_to_reclaim, nr_reclaimed: 0, nr_scanned: 0, priority: DEF_PRIORITY, reclaim_idx, kswapd, order, cgroup: false, may_swap: true,
    may_deactivate_anon: false, force_deactivate: false, skipped_deactivate: false, file_is_tiny: false, anon_cost: 0, file_cost: 0,
    nr_activated: 0, nr_deactivated: 0, nr_kept: 0, nr_swapped: 0,
  };
}

function zname(z: zone): string {
  return `Node ${z.node.node_id} ${z.name}`;
}

/** pgdat_balanced(): some managed zone ≤ highest_zoneidx is above its high watermark for `order` (bottom-up) */
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

/** MAX_RECLAIM_RETRIES (mm/internal.h): kswapd gives up on a node after this many fruitless runs */
const MAX_RECLAIM_RETRIES = 16;

/**
 * balance_pgdat() (6.12): pageoutrun; then, at priority 12 down to 1, until some eligible zone is above
 * its high watermark: kswapd_age_node() (deactivate 32 active anon pages if the inactive list is low),
 * kswapd_shrink_node() with nr_to_reclaim = Σ max(high watermark, 32) over the managed zones ≤
 * reclaim_idx. The priority is *not* lowered while a pass scans at least nr_to_reclaim pages
 * (raise_priority = false) and reclaims something; a run that reclaimed nothing counts a
 * kswapd_failure. Watermark boosting: page_alloc.ts resets the boost when kswapd is woken; 6.12's
 * boosted pass runs with may_swap = 0, so for anonymous-only LRUs it reclaims nothing and the boost is
 * dropped the same way. Returns the report; `order` is lowered to 0 once compact_gap(order) pages were
 * reclaimed (the returned reclaim order).
 */
export function balance_pgdat(ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number): kswapd_report & { order: number } {
  const tr = ms.trace;
  ms.vmstat.pageoutrun++;
  const sc = new_sc(0, highest_zoneidx, true, order);
  const was = tr.on;
  let balanced = false;
  tr.depth++;
  let announced = false;
  let total_scanned = 0;
  for (sc.priority = DEF_PRIORITY; sc.priority >= 1; ) {
    const nr_reclaimed_before = sc.nr_reclaimed;
    let raise_priority = true;
    if (pgdat_balanced(ms, node, sc.order, highest_zoneidx)) {
      balanced = true;
      break;
    }
    if (was && !announced) {
      announced = true;
      tr.depth--;
      tr.emit("balance_pgdat", F, `kswapd${node.node_id} runs: no zone up to ${node.node_zones[highest_zoneidx]?.name ?? "?"} is above its high watermark; reclaim at falling priority`);
      tr.depth++;
    }
    // kswapd_age_node()
    if (can_age_anon_pages(ms) && inactive_is_low(ms, node)) shrink_active_list(ms, node, SWAP_CLUSTER_MAX, sc);
    sc.nr_scanned = 0;
    // kswapd_shrink_node()
    sc.nr_to_reclaim = 0;
    for (const z of node.node_zones) if (z.zone_idx <= sc.reclaim_idx && z.managed_pages) sc.nr_to_reclaim += Math.max(z.wmark_pages(WMARK_HIGH), SWAP_CLUSTER_MAX);
    const before = sc.nr_reclaimed;
    shrink_node(ms, node, sc);
    total_scanned += sc.nr_scanned;
    if (sc.order && sc.nr_reclaimed >= 2 << sc.order) sc.order = 0; // compact_gap()
    if (Math.max(sc.nr_scanned, sc.nr_reclaimed - before) >= sc.nr_to_reclaim) raise_priority = false;
    const nr_reclaimed = sc.nr_reclaimed - nr_reclaimed_before;
    if (raise_priority || !nr_reclaimed) sc.priority--;
  }
  if (!balanced && !sc.nr_reclaimed) kswapd_of(ms).kswapd_failures[node.node_id]!++;
  tr.depth--;
  if (was && announced) {
    const z = node.node_zones.filter((zz) => zz.zone_idx <= highest_zoneidx && zz.managed_pages).map((zz) => `${zname(zz)} free ${zz.nr_free_pages} (high ${zz.wmark_pages(WMARK_HIGH)})`).join(", ");
    tr.emit("balance_pgdat", F, `kswapd${node.node_id}: scanned ${total_scanned}, reclaimed ${sc.nr_reclaimed} (${sc.nr_swapped} swapped out, ${sc.nr_activated} activated, ${sc.nr_deactivated} deactivated, ${sc.nr_kept} kept for another trip), ${balanced ? "balanced" : "not balanced"} at priority ${sc.priority}: ${z}`, { reclaimed: sc.nr_reclaimed });
  }
  return { node: node.node_id, reclaimed: sc.nr_reclaimed, scanned: total_scanned, priority: sc.priority, balanced, order: sc.order };
}

/** prepare_kswapd_sleep() (6.12): sleep if the node is hopeless (kswapd_failures ≥ 16) or balanced */
function prepare_kswapd_sleep(ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number): boolean {
  if (kswapd_of(ms).kswapd_failures[node.node_id]! >= MAX_RECLAIM_RETRIES) return true;
  return pgdat_balanced(ms, node, order, highest_zoneidx);
}

// ---------------------------------------------------------------- kswapd wakeups

export class kswapd_state {
  /** per node: the pending wakeup's order and highest zone index (-1: asleep) */
  readonly pending_order: Int32Array;
  readonly pending_zoneidx: Int32Array;
  /** per node: pgdat->kswapd_failures (balance_pgdat runs that reclaimed nothing; reset by progress) */
  readonly kswapd_failures: Int32Array;
  /** per node: the root lruvec's anon_cost / file_cost (lru_note_cost) */
  readonly anon_cost: Float64Array;
  readonly file_cost: Float64Array;
  /** reports of the runs since the facade last collected them */
  runs: kswapd_report[] = [];
  constructor(nodes: number, from?: kswapd_state) {
    this.pending_order = from ? from.pending_order.slice() : new Int32Array(nodes).fill(-1);
    this.pending_zoneidx = from ? from.pending_zoneidx.slice() : new Int32Array(nodes).fill(-1);
    this.kswapd_failures = from ? from.kswapd_failures.slice() : new Int32Array(nodes);
    this.anon_cost = from ? from.anon_cost.slice() : new Float64Array(nodes);
    this.file_cost = from ? from.file_cost.slice() : new Float64Array(nodes);
    if (from) this.runs = from.runs.slice();
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

/**
 * wakeup_kswapd() (mm/vmscan.c, 6.12): note the wakeup; kswapd runs at the next schedule point. As in
 * 6.12 a kswapd is not woken for a node that is already balanced (and not boosted), nor for a
 * hopeless one (kswapd_failures ≥ MAX_RECLAIM_RETRIES: left to direct reclaim).
 */
function wakeup_kswapd_hook(ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number): void {
  if (!ms.lru) return; // nothing on any LRU list: nothing kswapd could do
  if (!node.node_zones.some((z) => z.managed_pages)) return;
  const k = kswapd_of(ms);
  const id = node.node_id;
  const boosted = node.node_zones.some((z) => z.zone_idx <= highest_zoneidx && z.watermark_boost > 0);
  if (k.kswapd_failures[id]! >= MAX_RECLAIM_RETRIES || (pgdat_balanced(ms, node, order, highest_zoneidx) && !boosted)) return;
  if (k.pending_order[id]! < order) k.pending_order[id] = order;
  if (k.pending_zoneidx[id]! < highest_zoneidx) k.pending_zoneidx[id] = highest_zoneidx;
  if (ms.trace.on) ms.trace.emit("wakeup_kswapd", F, `kswapd${id} woken (order ${order}): it reclaims once this task gives up the CPU`);
}

/**
 * kswapd_run_pending(): the schedule point — every woken kswapd runs now, as kswapd() would until it
 * sleeps: balance_pgdat(), then kswapd_try_to_sleep(); while prepare_kswapd_sleep() refuses (node not
 * balanced and kswapd_failures < 16) it counts kswapd_high_wmark_hit_quickly and runs balance_pgdat()
 * again, at order 0 (kswapd_order was reset) and the same zone index. kswapd_low_wmark_hit_quickly
 * (woken again within its HZ/10 nap) depends on timing and is never counted here.
 */
export function kswapd_run_pending(ms: MachineState): kswapd_report[] {
  const k = ms.kswapd;
  if (!k) return [];
  const out: kswapd_report[] = [];
  for (let id = 0; id < k.pending_order.length; id++) {
    let order = k.pending_order[id]!;
    if (order < 0) continue;
    const zidx = k.pending_zoneidx[id]!;
    k.pending_order[id] = -1;
    k.pending_zoneidx[id] = -1;
    const node = ms.nodes[id]!;
    for (;;) {
      const r = balance_pgdat(ms, node, order, zidx);
      const rep: kswapd_report = { node: r.node, reclaimed: r.reclaimed, scanned: r.scanned, priority: r.priority, balanced: pgdat_balanced(ms, node, r.order, zidx) };
      out.push(rep);
      k.runs.push(rep);
      if (k.runs.length > 64) k.runs.shift();
      // kswapd_try_to_sleep(pgdat, alloc_order, reclaim_order, highest_zoneidx)
      if (prepare_kswapd_sleep(ms, node, r.order, zidx)) break;
      ms.vmstat.kswapd_high_wmark_hit_quickly++;
      order = 0;
    }
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
 * try_to_free_pages() → do_try_to_free_pages() (6.12): direct reclaim of SWAP_CLUSTER_MAX pages with
 * reclaim_idx = the allocation's highest zone (gfp_zone: ZONE_MOVABLE for user pages), from each node of
 * the zonelist once per priority, 12 → 0, stopping when 32 are reclaimed. allocstall_<zone> counts every
 * pass: when nothing was reclaimed 6.12 retries once with memcg_full_walk, and once more with
 * force_deactivate if an active list was skipped (sc->skipped_deactivate). Returns the pages reclaimed.
 */
export function try_to_free_pages(ms: MachineState, _gfp: number, order: number, zl: zone[], highest_zoneidx: number): number {
  if (!ms.lru) return 0;
  const sc = new_sc(SWAP_CLUSTER_MAX, highest_zoneidx, false, order);
  const zn = zl.find((z) => z.zone_idx === highest_zoneidx)?.name ?? ms.nodes[0]!.node_zones[highest_zoneidx]?.name;
  const key = `allocstall_${({ DMA: "dma", DMA32: "dma32", Normal: "normal", HighMem: "high", Movable: "movable", Device: "device" } as Record<string, string>)[zn ?? "Normal"] ?? "normal"}` as keyof typeof ms.vmstat;
  const nodes: pglist_data[] = [];
  for (const z of zl) if (z.zone_idx <= highest_zoneidx && !nodes.includes(z.node)) nodes.push(z.node);
  let memcg_full_walk = false;
  for (;;) {
    // __count_zid_vm_events(ALLOCSTALL, sc->reclaim_idx, 1)
    ms.vmstat[key]++;
    sc.priority = DEF_PRIORITY;
    do {
      sc.nr_scanned = 0;
      for (const n of nodes) shrink_node(ms, n, sc); // shrink_zones(): each node once
      if (sc.nr_reclaimed >= sc.nr_to_reclaim) break;
    } while (--sc.priority >= 0);
    if (sc.nr_reclaimed) break;
    if (!memcg_full_walk) {
      memcg_full_walk = true;
      continue;
    }
    if (sc.skipped_deactivate) {
      sc.force_deactivate = true;
      sc.skipped_deactivate = false;
      continue;
    }
    break;
  }
  if (ms.trace.on) ms.trace.emit("try_to_free_pages", F, `direct reclaim: reclaimed ${sc.nr_reclaimed} page${sc.nr_reclaimed === 1 ? "" : "s"} (${sc.nr_swapped} swapped out)${sc.nr_reclaimed ? "" : ": nothing reclaimable"}`, { reclaimed: sc.nr_reclaimed });
  return sc.nr_reclaimed;
}

/**
 * reclaim up to `nr` pages from a node on demand (the facade's m.reclaim()). Modelled as one
 * do_try_to_free_pages()-style pass over the node at priorities 12 → 0 with sc->nr_to_reclaim = nr,
 * counted like global direct reclaim (pgscan_direct/pgsteal_direct) but without allocstall; 6.12's
 * memory.reclaim (user_proactive_reclaim) instead loops in batches of 32 through
 * try_to_free_mem_cgroup_pages(), which as cgroup reclaim skips the global pgscan_direct/pgsteal_direct.
 */
export function reclaim_pages(ms: MachineState, nid: number, nr: number): number {
  if (!ms.lru) return 0;
  const node = ms.nodes[nid]!;
  const sc = new_sc(nr, node.node_zones.length - 1, false);
  for (sc.priority = DEF_PRIORITY; sc.priority >= 0 && sc.nr_reclaimed < nr; sc.priority--) shrink_node(ms, node, sc);
  return sc.nr_reclaimed;
}

reclaim_hooks.wakeup_kswapd = wakeup_kswapd_hook;
reclaim_hooks.try_to_free_pages = try_to_free_pages;
