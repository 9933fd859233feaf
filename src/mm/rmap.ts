/**
 * Reverse mapping for anonymous pages (mm/rmap.c, Linux 6.12): from a page to the PTEs that map it.
 *
 * The kernel finds them through folio->mapping (the anon_vma) and folio->index (the page's virtual page
 * number): every VMA chained to the anon_vma that covers that address may map it. mmlab keeps
 * page->index (lru_state.index) and walks every live address space at that address instead of an
 * anon_vma chain: an anonymous page is only ever mapped at the address it was created at (fork copies
 * addresses; mremap is not modelled), so the set of PTEs found is the same.
 */
import type { MachineState } from "../kernel/machine";
import { task_table_of } from "../kernel/sched";
import { flush_tlb_mm_range } from "../hw/tlb";
import { anon_excl } from "./memory";
import { PG_active, PG_anon, PG_dirty, PG_lru, PG_mlocked, PG_swapbacked, PG_unevictable } from "./memmap";
import { VM_LOCKED, find_vma, type mm_struct, type vm_area_struct } from "./mmap";
import { contents, copy_frame } from "./page_contents";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_SPECIAL, entry_pfn, entry_read, entry_write, mk_entry, pt_format_of, pt_lookup, type pt_entry } from "./pgtable";
import { lru_of, lruvec_add_folio, lruvec_del_folio } from "./swap";
import { swap_cache_replace } from "./swap_state";
import { swap_duplicate } from "./swapfile";
import { swp_entry_to_pte } from "./swapops";

export interface rmap_pte {
  mm: mm_struct;
  vma: vm_area_struct;
  va: bigint;
  table: number;
  idx: number;
  lo: number;
  hi: number;
}

/** page->index and page->mapping (the anon_vma) for a new anonymous page of `mm` mapped at `va` */
export function folio_set_index(ms: MachineState, pfn: number, va: bigint, mm: mm_struct): void {
  const l = lru_of(ms);
  l.index[pfn] = Number(va / BigInt(ms.page_size));
  l.anon_vma[pfn] = mm.anon_vma_root;
}

/** the user virtual address of an anonymous page (linear_page_index inverse) */
export function folio_address(ms: MachineState, pfn: number): bigint {
  return BigInt(lru_of(ms).index[pfn]!) * BigInt(ms.page_size);
}

/** the live address spaces (each mm once, threads share theirs) */
export function live_mms(ms: MachineState): mm_struct[] {
  const seen = new Set<mm_struct>();
  for (const t of task_table_of(ms).tasks.values()) if (t.mm && t.state === "running") seen.add(t.mm);
  return [...seen];
}

/** the address spaces of one anon_vma family (anon_vma_interval_tree_foreach over the chain), cached
 * until the task table changes */
const family_cache = new WeakMap<object, { tasks: number; last_pid: number; next_mm: number; by_root: Map<number, mm_struct[]> }>();
function anon_vma_mms(ms: MachineState, root: number): mm_struct[] {
  const tt = task_table_of(ms);
  let c = family_cache.get(tt);
  if (!c || c.tasks !== tt.tasks.size || c.last_pid !== tt.last_pid || c.next_mm !== tt.next_mm_id || c.by_root.size === 0) {
    const by_root = new Map<number, mm_struct[]>();
    for (const mm of live_mms(ms)) {
      const l = by_root.get(mm.anon_vma_root);
      if (l) l.push(mm);
      else by_root.set(mm.anon_vma_root, [mm]);
    }
    c = { tasks: tt.tasks.size, last_pid: tt.last_pid, next_mm: tt.next_mm_id, by_root };
    family_cache.set(tt, c);
  }
  return c.by_root.get(root) ?? [];
}

/**
 * rmap_walk_anon(): call `visit` for each present PTE that maps anonymous page `pfn`; stop when it
 * returns false.
 */
export function rmap_walk_anon(ms: MachineState, pfn: number, visit: (w: rmap_pte) => boolean | void): void {
  if (!ms.lru || !(ms.mem_map.flags[pfn]! & PG_anon)) return;
  const va = folio_address(ms, pfn);
  const fmt = pt_format_of(ms.arch);
  const e: pt_entry = { lo: 0, hi: 0 };
  for (const mm of anon_vma_mms(ms, ms.lru.anon_vma[pfn]!)) {
    if (mm.pgd < 0 || mm.vmas.length === 0) continue;
    const vma = find_vma(mm, va);
    if (!vma || vma.vm_start > va) continue;
    const slot = pt_lookup(ms, mm.pgd, va);
    if (!slot || slot.level !== fmt.L - 1) continue;
    entry_read(ms, fmt, slot.table, slot.idx, e);
    if (!(e.lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) || e.lo & _PAGE_SPECIAL) continue;
    if (entry_pfn(fmt, e.lo, e.hi) !== pfn) continue;
    if (visit({ mm, vma, va, table: slot.table, idx: slot.idx, lo: e.lo, hi: e.hi }) === false) return;
  }
}

/**
 * folio_referenced(): how many PTEs mapping the page have the accessed bit set, clearing it
 * (ptep_clear_flush_young: on x86 without a TLB flush, mm/rmap.c folio_referenced_one), and whether a
 * mapping VMA is VM_LOCKED.
 */
export function folio_referenced(ms: MachineState, pfn: number): { referenced: number; locked: boolean; exec: boolean } {
  const fmt = pt_format_of(ms.arch);
  let referenced = 0;
  let locked = false;
  let exec = false;
  rmap_walk_anon(ms, pfn, (w) => {
    if (w.vma.vm_flags & VM_LOCKED) {
      locked = true;
      return false;
    }
    if (w.vma.vm_flags & 0x4) exec = true;
    if (w.lo & _PAGE_ACCESSED) {
      entry_write(ms, fmt, w.table, w.idx, (w.lo & ~_PAGE_ACCESSED) >>> 0, w.hi);
      referenced++;
    }
  });
  return { referenced, locked, exec };
}

/**
 * try_to_unmap() → try_to_unmap_one() for an anonymous page in the swap cache at slot `off`: every
 * PTE becomes the swap entry (swap_duplicate per PTE, pte_swp_mkexclusive if PageAnonExclusive), the
 * PTE's dirty bit moves to the page (folio_mark_dirty), mapcount/refcount/RSS drop, MM_SWAPENTS rises,
 * the TLBs are flushed. Returns the number of PTEs unmapped; stops (returning -1) at a VM_LOCKED VMA.
 */
export function try_to_unmap(ms: MachineState, pfn: number, off: number): number {
  const fmt = pt_format_of(ms.arch);
  const mmap = ms.mem_map;
  const P = BigInt(ms.page_size);
  const excl = anon_excl(ms)[pfn] === 1;
  let n = 0;
  let locked = false;
  rmap_walk_anon(ms, pfn, (w) => {
    if (w.vma.vm_flags & VM_LOCKED) {
      locked = true;
      return false;
    }
    if (w.lo & _PAGE_DIRTY) mmap.flags[pfn]! |= PG_dirty;
    const se = swp_entry_to_pte(fmt, 0, off, excl);
    swap_duplicate(ms, off);
    entry_write(ms, fmt, w.table, w.idx, se.lo, se.hi);
    flush_tlb_mm_range(ms, w.mm.id, w.va, w.va + P);
    mmap.mapcount[pfn]!--;
    mmap.refcount[pfn]!--;
    w.mm.rss.anon--;
    w.mm.rss.swapents++;
    n++;
  });
  if (n) anon_excl(ms)[pfn] = 0;
  return locked ? -1 : n;
}

/**
 * folio_migrate_mapping() + folio_migrate_flags() (mm/migrate.c): everything the kernel keeps about a
 * page moves from `from` to `to` — flags, counts, PageAnonExclusive, page->index, LRU position (`to`
 * takes `from`'s list, at the head), swap-cache membership, contents. `from` is left an ordinary
 * allocated order-0 page with refcount 1, off every list, for the caller to free. PTEs are not touched:
 * see remove_migration_ptes().
 */
export function folio_migrate_state(ms: MachineState, from: number, to: number): void {
  const m = ms.mem_map;
  const l = lru_of(ms);
  const moved = PG_anon | PG_swapbacked | PG_dirty | PG_active | PG_unevictable | PG_mlocked;
  const onLru = (m.flags[from]! & PG_lru) !== 0;
  if (onLru) lruvec_del_folio(ms, from);
  m.flags[to] = (m.flags[to]! & ~moved) | (m.flags[from]! & moved);
  m.flags[from]! &= ~moved;
  m.refcount[to] = m.refcount[from]!;
  m.mapcount[to] = m.mapcount[from]!;
  m.refcount[from] = 1;
  m.mapcount[from] = 0;
  const ex = anon_excl(ms);
  ex[to] = ex[from]!;
  ex[from] = 0;
  l.index[to] = l.index[from]!;
  l.index[from] = 0;
  l.anon_vma[to] = l.anon_vma[from]!;
  l.flags2[to] = l.flags2[from]!;
  if (l.flags2[from]! & 2 /* PG_swapcache */) swap_cache_replace(ms, from, to);
  l.flags2[from] = 0;
  m.priv[to] = m.priv[from]!;
  m.priv[from] = 0;
  copy_frame(ms, to, from);
  contents(ms).frames.delete(from);
  if (onLru) lruvec_add_folio(ms, to);
}

/** remove_migration_ptes() + flush: every PTE that maps `from` now maps `to`, same bits. Returns how many. */
export function remove_migration_ptes(ms: MachineState, from: number, to: number, va_of_from?: bigint): number {
  const fmt = pt_format_of(ms.arch);
  const P = BigInt(ms.page_size);
  const hits: rmap_pte[] = [];
  // the page's index has usually moved to `to` already: walk at that address, matching `from`
  const l = lru_of(ms);
  const saved = l.index[from]!;
  if (va_of_from !== undefined) l.index[from] = Number(va_of_from / P);
  else l.index[from] = l.index[to]!;
  const wasAnon = ms.mem_map.flags[from]! & PG_anon;
  ms.mem_map.flags[from]! |= PG_anon;
  rmap_walk_anon(ms, from, (w) => {
    hits.push(w);
  });
  if (!wasAnon) ms.mem_map.flags[from]! &= ~PG_anon;
  l.index[from] = saved;
  for (const w of hits) {
    const prot = w.lo & 0xfff;
    const ne = mk_entry(fmt, to, prot);
    // keep the high-word flag bits (NX) of a 64-bit entry
    const hiFlags = fmt.esz === 8 ? w.hi & ~fmt.hi_pfn_mask : 0;
    entry_write(ms, fmt, w.table, w.idx, ne.lo, (ne.hi | hiFlags) >>> 0);
    flush_tlb_mm_range(ms, w.mm.id, w.va, w.va + P);
  }
  return hits.length;
}
