/**
 * Invariants of swap and the LRU lists (the checks of mm/debug.c's spirit, for `m.check()`):
 * - every swap slot's count is the number of swap PTEs naming it, SWAP_HAS_CACHE iff the swap cache
 *   holds a page for it, inuse_pages the number of slots in use; each mm's MM_SWAPENTS its swap PTEs;
 * - every swap-cache page has PG_swapcache and page->private = its slot, and holds a reference;
 * - every LRU list is a well-linked list of pages with PG_lru on the list their flags name; list and
 *   per-zone lengths add up; every anonymous user page is on an LRU list (none is left isolated).
 */
import type { MachineState } from "../kernel/machine";
import { task_table_of } from "../kernel/sched";
import { hex } from "../lib/units";
import { PG_anon, PG_lru } from "./memmap";
import type { mm_struct } from "./mmap";
import { pt_format_of, pt_walk_range } from "./pgtable";
import { NR_LRU_LISTS, PG_swapcache, folio_lru_list, lru_names } from "./swap";
import { SWAP_HAS_CACHE } from "./swapfile";
import { is_swap_pte, pte_swp_offset } from "./swapops";

export function validate_swap(ms: MachineState): string | undefined {
  const fmt = pt_format_of(ms.arch);
  const refs = new Map<number, number>();
  const mms = new Set<mm_struct>();
  for (const t of task_table_of(ms).tasks.values()) if (t.mm && t.mm.pgd >= 0) mms.add(t.mm);
  for (const mm of mms) {
    let n = 0;
    pt_walk_range(ms, mm.pgd, 0n, mm.task_size, (_t, _i, _va, e) => {
      if (!is_swap_pte(e.lo, e.hi)) return;
      n++;
      const off = pte_swp_offset(fmt, e.lo, e.hi);
      refs.set(off, (refs.get(off) ?? 0) + 1);
    });
    if (n !== mm.rss.swapents) return `an mm counts ${mm.rss.swapents} swap entries (MM_SWAPENTS) but its page tables hold ${n}`;
  }
  const si = ms.swap;
  if (!si) {
    if (refs.size) return `${refs.size} swap entries in page tables, but the machine has no swap`;
    return undefined;
  }
  const cache = ms.swapcache?.pages ?? new Map<number, number>();
  let inuse = 0;
  for (let off = 1; off < si.max; off++) {
    const v = si.swap_map[off]!;
    if (v) inuse++;
    const count = v & ~SWAP_HAS_CACHE;
    const want = refs.get(off) ?? 0;
    if (count !== want) return `swap slot ${off}: swap_map count ${count} but ${want} PTE${want === 1 ? "" : "s"} name it`;
    const has = (v & SWAP_HAS_CACHE) !== 0;
    if (has !== cache.has(off)) return `swap slot ${off}: SWAP_HAS_CACHE ${has ? "set" : "clear"} but the swap cache ${cache.has(off) ? "holds" : "does not hold"} a page for it`;
  }
  if (inuse !== si.inuse_pages) return `swap inuse_pages is ${si.inuse_pages} but ${inuse} slots are in use`;
  for (const [off, pfn] of cache) {
    if (!ms.lru || !(ms.lru.flags2[pfn]! & PG_swapcache)) return `swap cache page PFN ${hex(pfn)} (slot ${off}) lacks PG_swapcache`;
    if (ms.mem_map.priv[pfn] !== off) return `swap cache page PFN ${hex(pfn)}: page->private ${ms.mem_map.priv[pfn]} but it caches slot ${off}`;
    if (ms.mem_map.refcount[pfn]! < 1) return `swap cache page PFN ${hex(pfn)} has no reference`;
  }
  return undefined;
}

export function validate_lru(ms: MachineState): string | undefined {
  const l = ms.lru;
  if (!l) return undefined;
  const mm = ms.mem_map;
  const seen = new Uint8Array(ms.max_pfn);
  const zc = new Map<number, number>();
  for (let n = 0; n < l.nodes; n++) {
    for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
      const k = n * NR_LRU_LISTS + lru;
      let prev = -1;
      let cnt = 0;
      for (let p = l.head[k]!; p !== -1; p = l.next[p]!) {
        if (cnt > ms.max_pfn) return `node ${n} ${lru_names[lru]} list has a cycle`;
        if (seen[p]) return `PFN ${hex(p)} is on two LRU lists`;
        seen[p] = 1;
        if (l.prev[p] !== prev) return `node ${n} ${lru_names[lru]}: PFN ${hex(p)}'s prev link is ${l.prev[p]} not ${prev}`;
        if (!(mm.flags[p]! & PG_lru)) return `PFN ${hex(p)} is on the ${lru_names[lru]} list without PG_lru`;
        if (folio_lru_list(ms, p) !== lru) return `PFN ${hex(p)} is on the ${lru_names[lru]} list but its flags say ${lru_names[folio_lru_list(ms, p)]}`;
        if ((mm.zoneid[p]! - 1) >> 3 !== n) return `PFN ${hex(p)} of node ${(mm.zoneid[p]! - 1) >> 3} is on node ${n}'s LRU`;
        const key = mm.zoneid[p]! * NR_LRU_LISTS + lru;
        zc.set(key, (zc.get(key) ?? 0) + 1);
        prev = p;
        cnt++;
      }
      if (l.tail[k] !== prev) return `node ${n} ${lru_names[lru]}: tail is ${l.tail[k]} but the last page is ${prev}`;
      if (l.count[k] !== cnt) return `node ${n} ${lru_names[lru]}: count ${l.count[k]} but ${cnt} pages on the list`;
    }
  }
  for (let i = 0; i < l.zone_count.length; i++) if ((l.zone_count[i] ?? 0) !== (zc.get(i) ?? 0)) return `zone id ${i >> 0} / ${lru_names[i % NR_LRU_LISTS]}: per-zone LRU count ${l.zone_count[i]} but ${zc.get(i) ?? 0} pages`;
  for (let p = 0; p < ms.max_pfn; p++) {
    const f = mm.flags[p]!;
    if (f & PG_lru && !seen[p]) return `PFN ${hex(p)} has PG_lru but is on no LRU list`;
    if (f & PG_anon && !(f & PG_lru)) return `anonymous page PFN ${hex(p)} is on no LRU list (isolated and lost)`;
  }
  return undefined;
}
