/**
 * Swap areas and their slots (mm/swapfile.c, include/linux/swap.h; Linux 6.12).
 *
 * One swap area (type 0) set up at boot by `boot({ swap: "1GiB" })`, as `swapon /swapfile` would:
 * slot 0 holds the swap header (never handed out), so a 1 GiB area has 262,143 usable 4 KiB slots
 * (SwapTotal 1048572 kB, as on Linux). `swap_map[offset]` counts the references to a slot: one per
 * PTE holding the swap entry (swap_duplicate() at fork adds one), plus the SWAP_HAS_CACHE flag while the
 * page is in the swap cache.
 *
 * Simplifications (documented):
 * - slots are handed out by a next-fit scan from `cluster_next` (the old scan_swap_map_slots()
 *   behaviour on a rotating disk), not by 6.12's per-CPU cluster allocator; the offsets differ from a
 *   real SSD's.
 * - no swap slots cache (mm/swap_slots.c, still in 6.12, removed in 6.15): 6.12's folio_alloc_swap()
 *   takes order-0 slots from a per-CPU cache refilled SWAP_BATCH (64) slots at a time by
 *   get_swap_pages() (each marked SWAP_HAS_CACHE and counted in inuse_pages / out of nr_swap_pages at
 *   refill), and free_swap_slot() parks freed slots (swap_map = SWAP_HAS_CACHE) in a per-CPU return
 *   cache that is flushed 64 at a time; the cache is active while free swap exceeds
 *   5 × 64 slots per online CPU. So on a real 6.12 machine SwapFree and /proc/swaps' Used move in
 *   steps of up to 64 slots per CPU; mmlab allocates and frees slot by slot, and its SwapFree counts
 *   exactly the slots that hold a page or a PTE reference.
 */
import type { MachineState } from "../kernel/machine";

/** SWAP_HAS_CACHE (include/linux/swap.h): the slot's page is in the swap cache */
export const SWAP_HAS_CACHE = 0x40;
/** SWAP_MAP_MAX: the largest reference count kept in swap_map (beyond it: continuation pages, not modelled) */
export const SWAP_MAP_MAX = 0x3e;
/** SWAP_MAP_BAD: a slot never to be used (the header) */
export const SWAP_MAP_BAD = 0x3f;

export class swap_info_struct {
  /** the swap type (index in swap_info[]) */
  readonly type = 0;
  /** /proc/swaps name */
  readonly filename: string;
  /** "file" or "partition" */
  readonly kind: "file" | "partition";
  /** priority (swapon without -p: -2 for the first area, counting down) */
  readonly prio = -2;
  /** p->max: slots including the header */
  readonly max: number;
  /** p->pages: usable slots */
  readonly pages: number;
  /** p->inuse_pages */
  inuse_pages = 0;
  /** p->swap_map */
  readonly swap_map: Uint8Array;
  /** next-fit scan position */
  cluster_next = 1;
  /** what the slots hold: written pages' bytes — the disk */
  readonly store = new Map<number, Uint8Array>();
  /** si->zeromap: slots whose page was all zeros, so nothing was written (mm/page_io.c, 6.12) */
  readonly zeromap: Uint8Array;

  constructor(pages_incl_header: number, filename = "/swapfile", kind: "file" | "partition" = "file", from?: swap_info_struct) {
    this.filename = filename;
    this.kind = kind;
    this.max = pages_incl_header;
    this.pages = pages_incl_header - 1;
    this.swap_map = from ? from.swap_map.slice() : new Uint8Array(pages_incl_header);
    this.zeromap = from ? from.zeromap.slice() : new Uint8Array(pages_incl_header);
    if (!from) this.swap_map[0] = SWAP_MAP_BAD;
    if (from) {
      this.inuse_pages = from.inuse_pages;
      this.cluster_next = from.cluster_next;
      for (const [k, v] of from.store) this.store.set(k, v.slice());
    }
  }
  /** snapshot hook (src/kernel/snapshot.ts) */
  clone_for(_ms: MachineState): swap_info_struct {
    return new swap_info_struct(this.max, this.filename, this.kind, this);
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** swap_info[0], when the machine has swap */
    swap?: swap_info_struct;
  }
}

/** swapon: the area of `bytes` (whole pages) */
export function swapon(ms: MachineState, bytes: number, filename = "/swapfile"): swap_info_struct {
  const si = new swap_info_struct(Math.floor(bytes / ms.page_size), filename);
  ms.swap = si;
  ms.printk(`Adding ${si.pages * (ms.page_size / 1024)}k swap on ${filename}.  Priority:${si.prio} extents:1 across:${si.pages * (ms.page_size / 1024)}k SS`);
  return si;
}

/** total_swap_pages */
export function total_swap_pages(ms: MachineState): number {
  return ms.swap?.pages ?? 0;
}

/** nr_swap_pages: free slots (get_nr_swap_pages()) */
export function nr_swap_pages(ms: MachineState): number {
  const si = ms.swap;
  return si ? si.pages - si.inuse_pages : 0;
}

/** vm_swap_full(): more than half the swap is in use */
export function vm_swap_full(ms: MachineState): boolean {
  return nr_swap_pages(ms) * 2 < total_swap_pages(ms);
}

/**
 * folio_alloc_swap() → get_swap_pages() → scan_swap_map_slots(): a free slot, marked SWAP_HAS_CACHE
 * (the page goes into the swap cache next); -1 when swap is full or absent.
 */
export function get_swap_page(ms: MachineState): number {
  const si = ms.swap;
  if (!si || si.inuse_pages >= si.pages) return -1;
  const map = si.swap_map;
  let off = si.cluster_next;
  for (let n = 0; n < si.max; n++, off++) {
    if (off >= si.max) off = 1;
    if (map[off] === 0) {
      map[off] = SWAP_HAS_CACHE;
      si.inuse_pages++;
      si.cluster_next = off + 1;
      return off;
    }
  }
  return -1;
}

/** swap_count(): the PTE references to a slot (without SWAP_HAS_CACHE) */
export function swap_count(ms: MachineState, off: number): number {
  return ms.swap!.swap_map[off]! & ~SWAP_HAS_CACHE;
}

/** swap_duplicate(): one more PTE holds the entry (fork's copy_nonpresent_pte) */
export function swap_duplicate(ms: MachineState, off: number): void {
  const map = ms.swap!.swap_map;
  if ((map[off]! & ~SWAP_HAS_CACHE) >= SWAP_MAP_MAX) throw new Error(`mmlab: swap slot ${off} has ${SWAP_MAP_MAX} references (swap count continuation is not modelled)`);
  map[off]!++;
}

/** swap_entry_put_locked(): drop one usage (a PTE reference, or SWAP_HAS_CACHE); a slot with none left is freed */
function swap_entry_put(ms: MachineState, off: number, usage: number): number {
  const si = ms.swap!;
  const map = si.swap_map;
  let v = map[off]!;
  if (usage === SWAP_HAS_CACHE) v &= ~SWAP_HAS_CACHE;
  else v--;
  map[off] = v;
  if (v === 0) {
    // swap_entry_range_free(): the slot is free again; what it held is forgotten (discard)
    si.inuse_pages--;
    si.store.delete(off);
    si.zeromap[off] = 0;
  }
  return v;
}

/** swap_free(): a PTE's reference goes (do_swap_page mapped the page, or the PTE was zapped) */
export function swap_free(ms: MachineState, off: number): number {
  return swap_entry_put(ms, off, 1);
}

/** put_swap_folio(): the swap cache's hold on the slot goes */
export function put_swap_folio(ms: MachineState, off: number): number {
  return swap_entry_put(ms, off, SWAP_HAS_CACHE);
}

/** SwapTotal / SwapFree in kB, and Used for /proc/swaps */
export function si_swapinfo(ms: MachineState): { total_kb: number; free_kb: number; used_kb: number } {
  const k = ms.page_size / 1024;
  const t = total_swap_pages(ms);
  const f = nr_swap_pages(ms);
  return { total_kb: t * k, free_kb: f * k, used_kb: (t - f) * k };
}
