/**
 * The swap cache (mm/swap_state.c) and swap I/O (mm/page_io.c), Linux 6.12.
 *
 * A page being swapped out, or just swapped in, sits in the swap cache: `swapper_space` maps its slot
 * to the page, the page has PG_swapcache and page->private = the slot, the slot has SWAP_HAS_CACHE,
 * and the cache holds one page reference. A page swapped in by a read stays in the swap cache (its
 * slot keeps the copy), so reclaiming it again needs no write if it was not modified — meminfo's
 * SwapCached. The swap device is synchronous here: swap_writepage() completes before it returns (as on
 * zram), so shrink_folio_list() frees a page in the same pass that wrote it.
 */
import type { MachineState } from "../kernel/machine";
import { contents, frame_data } from "./page_contents";
import { PG_dirty } from "./memmap";
import { PG_swapcache, lru_of } from "./swap";
import { put_swap_folio } from "./swapfile";

export class swap_cache {
  /** swapper_spaces[type]: slot offset → PFN */
  readonly pages: Map<number, number>;
  constructor(from?: swap_cache) {
    this.pages = new Map(from?.pages);
  }
  clone_for(_ms: MachineState): swap_cache {
    return new swap_cache(this);
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** the swap cache, see src/mm/swap_state.ts */
    swapcache?: swap_cache;
  }
}

export function swap_cache_of(ms: MachineState): swap_cache {
  return (ms.swapcache ??= new swap_cache());
}

/** folio_test_swapcache() */
export function folio_test_swapcache(ms: MachineState, pfn: number): boolean {
  return ms.lru !== undefined && (ms.lru.flags2[pfn]! & PG_swapcache) !== 0;
}

/** page->private of a swap-cache page: its slot */
export function folio_swap_offset(ms: MachineState, pfn: number): number {
  return ms.mem_map.priv[pfn]!;
}

/** add_to_swap_cache(): the page joins the cache under slot `off` (the caller set SWAP_HAS_CACHE); +1 reference */
export function add_to_swap_cache(ms: MachineState, pfn: number, off: number): void {
  swap_cache_of(ms).pages.set(off, pfn);
  lru_of(ms).flags2[pfn]! |= PG_swapcache;
  ms.mem_map.priv[pfn] = off;
  ms.mem_map.refcount[pfn]!++;
}

/** lookup_swap_cache() / swap_cache_get_folio(): the page for a slot, or -1 */
export function lookup_swap_cache(ms: MachineState, off: number): number {
  return ms.swapcache?.pages.get(off) ?? -1;
}

/**
 * __delete_from_swap_cache() + put_swap_folio() + the cache's folio_put, without freeing the page:
 * the caller drops what it holds. Returns the slot.
 */
export function delete_from_swap_cache(ms: MachineState, pfn: number): number {
  const off = ms.mem_map.priv[pfn]!;
  swap_cache_of(ms).pages.delete(off);
  lru_of(ms).flags2[pfn]! &= ~PG_swapcache;
  ms.mem_map.priv[pfn] = 0;
  ms.mem_map.refcount[pfn]!--;
  put_swap_folio(ms, off);
  return off;
}

/** the page moves to another frame (migration): the cache now points at `to` */
export function swap_cache_replace(ms: MachineState, from: number, to: number): void {
  const off = ms.mem_map.priv[from]!;
  swap_cache_of(ms).pages.set(off, to);
}

/**
 * swap_writepage() (mm/page_io.c, 6.12): a page of zeros is not written — its slot is marked in the
 * swap area's zeromap (swpout_zero); any other page's bytes go to its slot (__swap_writepage: pswpout,
 * and pgpgout in kB as /proc/vmstat shows it). The page is clean after.
 */
export function swap_writepage(ms: MachineState, pfn: number): void {
  const off = ms.mem_map.priv[pfn]!;
  const si = ms.swap!;
  const b = frame_data(ms, pfn);
  ms.mem_map.flags[pfn]! &= ~PG_dirty;
  if (!b || !b.u8.some((x) => x !== 0)) {
    // is_folio_zero_filled() → swap_zeromap_folio_set()
    si.zeromap[off] = 1;
    si.store.delete(off);
    ms.vmstat.swpout_zero++;
    return;
  }
  si.zeromap[off] = 0;
  si.store.set(off, b.u8.slice());
  ms.vmstat.pswpout++;
  ms.vmstat.pgpgout += ms.page_size / 1024;
}

/** swap_read_folio(): a zeromap slot reads as zeros without I/O (swpin_zero); else the slot's bytes (pswpin) */
export function swap_read_folio(ms: MachineState, pfn: number, off: number): void {
  const si = ms.swap!;
  const c = contents(ms);
  if (si.zeromap[off]) {
    c.frames.delete(pfn);
    ms.vmstat.swpin_zero++;
    return;
  }
  const data = si.store.get(off);
  if (data) frame_data(ms, pfn, true).u8.set(data);
  else c.frames.delete(pfn);
  ms.vmstat.pswpin++;
  ms.vmstat.pgpgin += ms.page_size / 1024;
}
