/**
 * Page migration, after mm/migrate.c of Linux 6.12: migrate_pages() moves each isolated page of a list to
 * a new page that `get_new_folio` supplies (compaction_alloc for compaction). For an anonymous page:
 * migrate_folio_unmap() (try_to_migrate: every PTE becomes a migration entry), migrate_folio_move()
 * (folio_migrate_mapping + folio_migrate_copy: contents and every per-page state move to the new frame;
 * remove_migration_ptes: every PTE maps the new frame, same bits, TLBs flushed), then the old page is
 * freed and the new one goes back on the LRU. pgmigrate_success / pgmigrate_fail count pages.
 *
 * As 6.12's migrate_pages_batch() does for a batch (compaction's are at most a pageblock, below
 * NR_MAX_BATCHED_MIGRATION): the unmap phase first gives every page its destination, in list order
 * (compaction_alloc() may run the free scanners then, before any source of the batch is freed), stopping
 * at -ENOMEM (the pages already given one are still moved, the rest stay on the list, pgmigrate_fail
 * counts the one that found none); then the move phase, in list order.
 *
 * Simplifications: order-0 anonymous pages only (what compaction isolates here); no retries: a page whose
 * references do not match its mappings (pinned) fails at once and its destination goes straight back
 * through put_new_folio (6.12 retries it, NR_MAX_MIGRATE_ASYNC_RETRY passes then one by one in the
 * requested mode, and it fails the same way, pgmigrate_fail +1; only the position of the returned
 * destination on cc->freepages[0] relative to other returned ones could differ). The old page is freed
 * straight to the buddy allocator (6.12: to the per-CPU list; page_alloc.ts has none).
 */
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { __free_pages } from "./page_alloc";
import { folio_address, folio_migrate_state, remove_migration_ptes, rmap_walk_anon } from "./rmap";
import { PG_swapcache, folio_putback_lru } from "./swap";

const F = "mm/migrate.c";

export interface migrate_result {
  nr_succeeded: number;
  nr_failed: number;
  /** -ENOMEM: no destination page; the pages not tried stay on the list */
  err?: "ENOMEM";
  moves: { from: number; to: number }[];
}

/** references the page should have if nothing pins it: one per mapping, one for the swap cache */
export function folio_expected_refs(ms: MachineState, pfn: number): number {
  const swapcache = ms.lru && ms.lru.flags2[pfn]! & PG_swapcache ? 1 : 0;
  return ms.mem_map.mapcount[pfn]! + swapcache;
}

/** how many pages of a migrate_pages() call the trace spells out */
const TRACE_PAGES = 8;

/**
 * migrate_pages(from, get_new_folio, put_new_folio, mode, reason): migrate every page of `from` (PFNs,
 * head first); the pages migrated leave the list, the ones that failed or were not tried stay on it for
 * putback_movable_pages(). Returns counts, -ENOMEM if a destination was lacking, and the moves.
 */
export function migrate_pages(ms: MachineState, from: number[], get_new_folio: (src: number) => number, put_new_folio: (dst: number) => void, mode: string, reason: string): migrate_result {
  const tr = ms.trace;
  const was = tr.on;
  const res: migrate_result = { nr_succeeded: 0, nr_failed: 0, moves: [] };
  const failed: number[] = [];
  // migrate_pages_batch(), unmap phase: every page of the batch gets its destination first, in list order
  // (compaction_alloc may run the free scanner), before any source is freed; -ENOMEM stops the phase and
  // the pages already given one are still moved ("goto move")
  const dsts: number[] = [];
  for (const src of from) {
    const dst = get_new_folio(src);
    if (dst < 0) {
      res.nr_failed++;
      res.err = "ENOMEM";
      if (was) tr.emit("migrate_pages", F, `no free page left to migrate PFN ${hex(src)} into: -ENOMEM (${from.length - dsts.length} page${from.length - dsts.length === 1 ? "" : "s"} go back to the LRU)`, { pfn: src });
      break;
    }
    dsts.push(dst);
  }
  let i = 0;
  try {
    // move phase: in list order
    for (; i < dsts.length; i++) {
      const src = from[i]!;
      const dst = dsts[i]!;
      const show = was && res.moves.length + failed.length < TRACE_PAGES;
      if (ms.mem_map.refcount[src]! !== folio_expected_refs(ms, src)) {
        // folio_migrate_mapping(): the reference count is not what the mappings explain: pinned
        put_new_folio(dst);
        res.nr_failed++;
        failed.push(src);
        if (show) tr.emit("migrate_folio", F, `PFN ${hex(src)}: refcount ${ms.mem_map.refcount[src]} but ${folio_expected_refs(ms, src)} expected (pinned): -EAGAIN, not migrated`, { pfn: src });
        continue;
      }
      const va = folio_address(ms, src);
      let ptes = 0;
      rmap_walk_anon(ms, src, () => {
        ptes++;
      });
      tr.on = false;
      // migrate_folio_move(): contents, flags, counts, LRU and swap-cache state; then the PTEs
      folio_migrate_state(ms, src, dst);
      const n = remove_migration_ptes(ms, src, dst);
      folio_putback_lru(ms, dst);
      // the old page: a plain allocated order-0 page now, freed (migrate_folio_done → folio_put)
      __free_pages(ms, src, 0);
      tr.on = was;
      res.nr_succeeded++;
      res.moves.push({ from: src, to: dst });
      if (show) tr.emit("migrate_folio", F, `PFN ${hex(src)} → ${hex(dst)}: copied, ${n || ptes} PTE${(n || ptes) === 1 ? "" : "s"} at ${hex(va)} now map ${hex(dst)} (try_to_migrate + remove_migration_ptes, TLB flushed); ${hex(src)} freed`, { from: src, to: dst, ptes: n });
    }
  } finally {
    tr.on = was;
    // (if a move threw, the destinations not reached go back as unused ones would)
    for (let j = i + 1; j < dsts.length; j++) put_new_folio(dsts[j]!);
  }
  // the migrated pages leave the list; failed and untried ones stay
  const rest = [...failed, ...from.slice(i)];
  from.length = 0;
  from.push(...rest);
  ms.vmstat.pgmigrate_success += res.nr_succeeded;
  ms.vmstat.pgmigrate_fail += res.nr_failed;
  if (was && res.moves.length + failed.length > TRACE_PAGES) tr.emit("migrate_pages", F, `… ${res.nr_succeeded} page${res.nr_succeeded === 1 ? "" : "s"} migrated in all by this call (${mode}, ${reason})${res.nr_failed ? `, ${res.nr_failed} failed` : ""}`, { succeeded: res.nr_succeeded, failed: res.nr_failed });
  return res;
}

/** putback_movable_pages(): pages that were not migrated go back on their LRU lists */
export function putback_movable_pages(ms: MachineState, list: number[]): void {
  for (const pfn of list) folio_putback_lru(ms, pfn);
  list.length = 0;
}

