/**
 * The LRU lists (mm/swap.c, include/linux/mm_inline.h, include/linux/mmzone.h enum lru_list; Linux 6.12,
 * classic two-list LRU, not MGLRU). Every user page sits on one list of its node's lruvec:
 * inactive/active anon, inactive/active file, unevictable. New anonymous pages start on the *inactive*
 * anon list (folio_add_lru_vma, since 5.9); pages of a VM_LOCKED VMA go to the unevictable list.
 * Reclaim (mm/vmscan.ts) takes pages from the tail; the head is the most recently added.
 *
 * The per-page state the kernel keeps in struct page / folio for this lives here in side arrays (page
 * flags has no bit to spare, see memmap.ts): the list links (page->lru), PG_referenced, PG_swapcache,
 * and page->index (the user virtual page number of an anonymous page, which rmap uses to find its PTEs).
 * The kernel's page->lru shares storage with the buddy list links; ours are separate arrays.
 */
import type { MachineState } from "../kernel/machine";
import { PG_active, PG_anon, PG_lru, PG_mlocked, PG_swapbacked, PG_unevictable } from "./memmap";

export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
export const LRU_UNEVICTABLE = 4;
export const NR_LRU_LISTS = 5;
export const lru_names = ["inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"] as const;

/** side page flags (bits of struct page flags the mem_map arrays do not hold) */
export const PG_referenced = 1 << 0;
export const PG_swapcache = 1 << 1;
export const PG_workingset = 1 << 2;

export class lru_state {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** PG_referenced, PG_swapcache, PG_workingset */
  readonly flags2: Uint8Array;
  /** page->index: user virtual page number of an anonymous page (rmap), or page-cache offset */
  readonly index: Float64Array;
  /** page->mapping of an anonymous page: the anon_vma (the root mm id of its fork family) */
  readonly anon_vma: Int32Array;
  /** per node: head / tail PFN of each list (-1 empty), and its length */
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly count: Int32Array;
  /** per zone id (mem_map.zoneid): pages on each list (NR_ZONE_INACTIVE_ANON…) */
  readonly zone_count: Int32Array;
  constructor(readonly nr: number, readonly nodes: number, from?: lru_state) {
    this.next = from ? from.next.slice() : new Int32Array(nr).fill(-1);
    this.prev = from ? from.prev.slice() : new Int32Array(nr).fill(-1);
    this.flags2 = from ? from.flags2.slice() : new Uint8Array(nr);
    this.index = from ? from.index.slice() : new Float64Array(nr);
    this.anon_vma = from ? from.anon_vma.slice() : new Int32Array(nr);
    this.head = from ? from.head.slice() : new Int32Array(nodes * NR_LRU_LISTS).fill(-1);
    this.tail = from ? from.tail.slice() : new Int32Array(nodes * NR_LRU_LISTS).fill(-1);
    this.count = from ? from.count.slice() : new Int32Array(nodes * NR_LRU_LISTS);
    this.zone_count = from ? from.zone_count.slice() : new Int32Array(256 * NR_LRU_LISTS);
  }
  /** snapshot hook (src/kernel/snapshot.ts) */
  clone_for(_ms: MachineState): lru_state {
    return new lru_state(this.nr, this.nodes, this);
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** the LRU lists and per-page reclaim state, see src/mm/swap.ts */
    lru?: lru_state;
  }
}

export function lru_of(ms: MachineState): lru_state {
  return (ms.lru ??= new lru_state(ms.max_pfn, ms.nodes.length));
}

function node_of(ms: MachineState, pfn: number): number {
  return (ms.mem_map.zoneid[pfn]! - 1) >> 3;
}

/** folio_lru_list(): which list the page's flags put it on */
export function folio_lru_list(ms: MachineState, pfn: number): number {
  const f = ms.mem_map.flags[pfn]!;
  if (f & PG_unevictable) return LRU_UNEVICTABLE;
  const base = f & PG_swapbacked ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
  return base + (f & PG_active ? 1 : 0);
}

/** lruvec_add_folio() / lruvec_add_folio_tail(): onto the list the page's flags name, at its head or tail */
function lru_link(ms: MachineState, pfn: number, tail: boolean): void {
  const l = lru_of(ms);
  const lru = folio_lru_list(ms, pfn);
  const k = node_of(ms, pfn) * NR_LRU_LISTS + lru;
  // the two ends are mirror images: `toward` is the link pointing into the list from the new page
  const [end, other, toward, away] = tail ? [l.tail, l.head, l.prev, l.next] : [l.head, l.tail, l.next, l.prev];
  const e = end[k]!;
  toward[pfn] = e;
  away[pfn] = -1;
  if (e !== -1) away[e] = pfn;
  else other[k] = pfn;
  end[k] = pfn;
  l.count[k]!++;
  l.zone_count[ms.mem_map.zoneid[pfn]! * NR_LRU_LISTS + lru]!++;
  ms.mem_map.flags[pfn]! |= PG_lru;
}

/** lruvec_add_folio(): at the head of its list */
export function lruvec_add_folio(ms: MachineState, pfn: number): void {
  lru_link(ms, pfn, false);
}

/** lruvec_add_folio_tail() */
export function lruvec_add_folio_tail(ms: MachineState, pfn: number): void {
  lru_link(ms, pfn, true);
}

/** lruvec_del_folio(): off its list (PG_lru cleared) */
export function lruvec_del_folio(ms: MachineState, pfn: number): void {
  const l = lru_of(ms);
  const lru = folio_lru_list(ms, pfn);
  const k = node_of(ms, pfn) * NR_LRU_LISTS + lru;
  const n = l.next[pfn]!;
  const p = l.prev[pfn]!;
  if (p !== -1) l.next[p] = n;
  else l.head[k] = n;
  if (n !== -1) l.prev[n] = p;
  else l.tail[k] = p;
  l.next[pfn] = -1;
  l.prev[pfn] = -1;
  l.count[k]!--;
  l.zone_count[ms.mem_map.zoneid[pfn]! * NR_LRU_LISTS + lru]!--;
  ms.mem_map.flags[pfn]! &= ~PG_lru;
}

/**
 * folio_add_lru_vma() → folio_add_lru(): a new user page joins the LRU — the unevictable list if the
 * VMA is VM_LOCKED (mlock_new_folio: PG_mlocked), else the inactive list of its type.
 */
export function folio_add_lru_vma(ms: MachineState, pfn: number, locked: boolean): void {
  const mm = ms.mem_map;
  mm.flags[pfn]! &= ~(PG_active | PG_unevictable | PG_mlocked);
  if (locked) {
    mm.flags[pfn]! |= PG_unevictable | PG_mlocked;
    ms.vmstat.unevictable_pgs_mlocked++;
    ms.vmstat.unevictable_pgs_culled++;
  }
  lruvec_add_folio(ms, pfn);
}

/** folio_activate(): inactive → head of the active list (pgactivate) */
export function folio_activate(ms: MachineState, pfn: number): void {
  const f = ms.mem_map.flags[pfn]!;
  if (f & (PG_active | PG_unevictable)) return;
  const on = (f & PG_lru) !== 0;
  if (on) lruvec_del_folio(ms, pfn);
  ms.mem_map.flags[pfn]! |= PG_active;
  if (on) lruvec_add_folio(ms, pfn);
  ms.vmstat.pgactivate++;
}

/** folio_isolate_lru(): take the page off its LRU list for reclaim or migration (false if not on one) */
export function folio_isolate_lru(ms: MachineState, pfn: number): boolean {
  if (!(ms.mem_map.flags[pfn]! & PG_lru)) return false;
  lruvec_del_folio(ms, pfn);
  return true;
}

/** folio_putback_lru(): back at the head of the list its flags name */
export function folio_putback_lru(ms: MachineState, pfn: number): void {
  if (ms.mem_map.flags[pfn]! & PG_lru) return;
  lruvec_add_folio(ms, pfn);
}

/** __page_cache_release() (mm/swap.c, from __folio_put): a freed page leaves its LRU list; its side state (PG_referenced, PG_swapcache, page->index) is cleared */
export function __page_cache_release(ms: MachineState, pfn: number): void {
  const l = ms.lru;
  if (!l) return;
  if (ms.mem_map.flags[pfn]! & PG_lru) lruvec_del_folio(ms, pfn);
  l.flags2[pfn] = 0;
  l.index[pfn] = 0;
  l.anon_vma[pfn] = 0;
}

/** the lruvec's list lengths for a node (all nodes when nid is undefined) */
export function lru_pages(ms: MachineState, nid?: number): number[] {
  const out = [0, 0, 0, 0, 0];
  const l = ms.lru;
  if (!l) return out;
  for (let n = 0; n < l.nodes; n++) {
    if (nid !== undefined && n !== nid) continue;
    for (let i = 0; i < NR_LRU_LISTS; i++) out[i]! += l.count[n * NR_LRU_LISTS + i]!;
  }
  return out;
}

/** per-zone list lengths (NR_ZONE_INACTIVE_ANON … NR_ZONE_UNEVICTABLE) for zone id `zid` */
export function zone_lru_pages(ms: MachineState, zid: number): number[] {
  const l = ms.lru;
  const out = [0, 0, 0, 0, 0];
  if (!l) return out;
  for (let i = 0; i < NR_LRU_LISTS; i++) out[i] = l.zone_count[zid * NR_LRU_LISTS + i]!;
  return out;
}

/** is the page anonymous (and swap-backed): what reclaim can swap out */
export function folio_is_anon(ms: MachineState, pfn: number): boolean {
  return (ms.mem_map.flags[pfn]! & PG_anon) !== 0;
}
