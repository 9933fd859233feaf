/**
 * Memory compaction, after mm/compaction.c of Linux 6.12: compact_zone() runs two scanners toward each
 * other. The migrate scanner walks pageblocks up from the zone start and isolates movable pages
 * (isolate_migratepages → isolate_migratepages_block: user anonymous pages on the LRU); the free scanner
 * walks pageblocks down from the zone end and isolates free pages (isolate_freepages →
 * isolate_freepages_block, on suitable_migration_target() pageblocks: MOVABLE or CMA). migrate_pages()
 * (mm/migrate.ts) then moves each isolated page into a free page taken by compaction_alloc(), so movable
 * pages pile up at the top of the zone and the low pageblocks they leave merge into high-order blocks.
 * The run ends when the scanners meet (COMPACT_COMPLETE) or, for a targeted run, when __compact_finished()
 * sees a free block of the requested order on the right migratetype's list (COMPACT_SUCCESS).
 *
 * Entry points: compact_node()/compact_nodes() (writing /proc/sys/vm/compact_memory: order -1,
 * MIGRATE_SYNC, whole zone, skip hints ignored), compact_zone_order() for a targeted run,
 * try_to_compact_pages() and __alloc_pages_direct_compact() for the allocator's slow path (installed as
 * reclaim_hooks.compact).
 *
 * Modelled as 6.12 does it: compaction_suit_allocation_order() / compaction_suitable() (watermark +
 * compact_gap, fragmentation index vs extfrag_threshold for costly orders); __compact_finished() (scanners
 * met, pageblock-aligned migrate_pfn, the free lists and find_suitable_fallback()); the finish_pageblock
 * rescan and check_drain's reset of last_migrated_pfn; suitable_migration_source()'s
 * pageblock_skip_persistent(); isolate_migratepages_block()'s per-frame tests and counts;
 * suitable_migration_target() with `cc->order > 0 ? cc->order : pageblock_order`; isolate_freepages() and
 * isolate_freepages_block() (stride 1); fast_isolate_freepages() + fast_isolate_around() for every run
 * with cc->order > 0; __isolate_free_page() with its watermark and move_freepages_block();
 * compaction_alloc() / compaction_free() on the per-order cc->freepages[] lists (split as expand() does);
 * release_free_list(); migrate_pages()'s unmap-all-then-move batch (mm/migrate.ts); the counters
 * compact_migrate_scanned, compact_free_scanned, compact_isolated (both scanners, fast path included),
 * compact_stall/success/fail, pgmigrate_success/fail.
 *
 * Simplifications, on purpose, and what they change:
 * - No pageblock skip bits and no cached scanner positions (zone->compact_cached_*_pfn,
 *   compact_init_*_pfn): every run starts at the zone's ends and ignores skip hints. So
 *   fast_find_migrateblock() is never used (6.12 returns from it at once when cc->ignore_skip_hint, as for
 *   compact_memory and MIN_COMPACT_PRIORITY; a kcompactd or SYNC_LIGHT direct run of order > 3 for a
 *   movable request would use it to jump the migrate scanner to a pageblock with free pages), and
 *   fast_isolate_freepages() always searches as on a zone whose skip bits were never reset
 *   (compact_init_free_pfn 0: the deep "scan_start" search every time).
 * - A targeted run (compact_zone_order(), direct or not) is one pass at MIGRATE_SYNC_LIGHT over the whole
 *   zone with skip hints ignored and ignore_block_suitable false. That matches no single 6.12 priority:
 *   the slow path starts at COMPACT_PRIO_ASYNC (MIGRATE_ASYNC: only pageblocks of the request's
 *   migratetype as sources, skip-on-failure per cc->order block, free scanner stride up to 32) and raises
 *   it on retries up to COMPACT_PRIO_SYNC_LIGHT for costly orders (cached positions, skip hints honoured,
 *   whole_zone false: scanners meeting give COMPACT_PARTIAL_SKIPPED, here COMPACT_COMPLETE) or
 *   MIN_COMPACT_PRIORITY otherwise (also ignore_block_suitable: free pages taken from any pageblock).
 *   kcompactd_do_work() is the closest: SYNC_LIGHT, GFP_KERNEL, no capture; on a fresh zone it differs by
 *   the result name at meeting, by fast_find_migrateblock() (order > 3), and by the skip bits it sets and
 *   honours within the run (the linear free scanner passes over a pageblock fast_isolate_around() scanned
 *   to its end; a failed migration makes it isolate the rest of the pageblock: the "goto rescan").
 * - No deferral (compaction_deferred()/defer_compaction(): every request compacts), no capture of the
 *   freed block (capture_control: 6.12 hands a direct compactor the block of exactly cc->order that
 *   __free_one_page() merges from a freed source, and stops after that batch; here the run goes on to
 *   the pageblock-aligned compact_finished() check and the retry takes the free lists' block), no
 *   per-CPU lists (freed sources reach the buddy lists at once, so they merge, and
 *   fast_isolate_freepages() sees them, sooner than in 6.12, where they wait on the pcp list until
 *   check_drain or a bulk free).
 * - Only anonymous pages migrate: page-cache pages are on the LRU but reported as not movable (file
 *   migration is not modelled). Non-LRU movable pages (zsmalloc, balloon) do not exist here.
 * - Compound pages: the model marks every multi-page allocation head/tail; it treats as compound (for
 *   pageblock_skip_persistent()) LRU folios, slab pages and kmalloc_large() blocks, which 6.12 allocates
 *   with __GFP_COMP, and as plain pages every other alloc_pages() block.
 * - The migrate scanner's too_many_isolated() throttle never fires (one compactor, at most one batch
 *   isolated) and is not modelled; hugetlb pages and large folios below pageblock_order (mTHP, which an
 *   order -1 run would isolate and migrate whole) do not exist here; no page is ever under writeback, so
 *   ISOLATE_ASYNC_MIGRATE's writeback test never applies.
 */
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { __GFP_DIRECT_RECLAIM, __GFP_FS, __GFP_IO, __GFP_MEMALLOC, __GFP_NOMEMALLOC, GFP_KERNEL, gfp_migratetype } from "./gfp";
import { PG_anon, PG_buddy, PG_head, PG_kernel, PG_lru, PG_reserved, PG_slab, PG_table, PG_tail, PG_vmalloc, PG_zero } from "./memmap";
import { MIGRATE_CMA, MIGRATE_ISOLATE, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, MIGRATE_TYPES, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE, WMARK_MIN, __del_page_from_free_list, migratetype_is_mergeable, migratetype_names, move_to_free_list, type zone } from "./mmzone";
import { ALLOC_CMA, ALLOC_WMARK_MASK, PAGE_ALLOC_COSTLY_ORDER, __free_pages, __zone_watermark_ok, fallbacks, reclaim_hooks } from "./page_alloc";
import { folio_expected_refs, migrate_pages, putback_movable_pages } from "./migrate";
import { PG_swapcache, folio_isolate_lru } from "./swap";

const F = "mm/compaction.c";

/** enum compact_result (include/linux/compaction.h), in the kernel's order (try_to_compact_pages takes the max) */
export const compact_results = ["COMPACT_NOT_SUITABLE_ZONE", "COMPACT_SKIPPED", "COMPACT_DEFERRED", "COMPACT_NO_SUITABLE_PAGE", "COMPACT_CONTINUE", "COMPACT_COMPLETE", "COMPACT_PARTIAL_SKIPPED", "COMPACT_CONTENDED", "COMPACT_SUCCESS"] as const;
export type compact_result = (typeof compact_results)[number];
function rank(r: compact_result): number {
  return compact_results.indexOf(r);
}

/** enum migrate_mode (include/linux/migrate_mode.h) */
export type migrate_mode = "MIGRATE_ASYNC" | "MIGRATE_SYNC_LIGHT" | "MIGRATE_SYNC";

/** COMPACT_CLUSTER_MAX = SWAP_CLUSTER_MAX (include/linux/swap.h): pages isolated per migrate_pages() batch */
export const COMPACT_CLUSTER_MAX = 32;
/** sysctl_extfrag_threshold (vm.extfrag_threshold, default 500) */
export const sysctl_extfrag_threshold = 500;

/** Why the migrate scanner could not move a page (what keeps its pageblock from becoming free). */
export type unmovable_reason = "slab" | "page table" | "vmalloc" | "kernel image" | "reserved" | "kernel page" | "zero page" | "page cache" | "huge page" | "pinned" | "not isolated";
export const UNMOVABLE_REASONS: readonly unmovable_reason[] = ["slab", "page table", "vmalloc", "kernel image", "reserved", "kernel page", "zero page", "page cache", "huge page", "pinned", "not isolated"];

/** What the migrate scanner saw in one pageblock (for the trace and the facade). */
export interface pageblock_scan {
  start: number;
  /** the pageblock's migratetype when the scanner reached it */
  mt: number;
  scanned: number;
  isolated: number;
  migrated: number;
  failed: number;
  /** pages that stay, by reason (frames, not blocks) */
  unmovable: Partial<Record<unmovable_reason, number>>;
}

/** What one compact_zone() run did. */
export interface compact_run {
  zone: zone;
  order: number;
  migratetype: number;
  mode: migrate_mode;
  result: compact_result;
  /** compaction_suitable()'s reason when the run was skipped before scanning */
  why?: string;
  migrate_scanned: number;
  free_scanned: number;
  /** pages isolated by the migrate scanner / the free scanner (both count as compact_isolated) */
  isolated_migrate: number;
  isolated_free: number;
  migrated: number;
  failed: number;
  /** every page moved, in order: old PFN → new PFN */
  moves: { from: number; to: number }[];
  /** the migrate scanner's pageblocks, in scan order */
  blocks: pageblock_scan[];
  /** the free scanner's pageblocks: pages isolated from each, in scan order */
  free_blocks: { start: number; scanned: number; isolated: number }[];
  /** where the scanners stopped */
  migrate_pfn: number;
  free_pfn: number;
}

/** struct compact_control (mm/internal.h), with the per-order isolated free lists of 6.10+ */
export interface compact_control {
  zone: zone;
  /** -1: compact the whole zone (/proc/sys/vm/compact_memory) */
  order: number;
  gfp_mask: number;
  migratetype: number;
  mode: migrate_mode;
  alloc_flags: number;
  highest_zoneidx: number;
  whole_zone: boolean;
  direct_compaction: boolean;
  ignore_block_suitable: boolean;
  /** isolate the rest of the pageblock (finish_pageblock) */
  finish_pageblock: boolean;
  migrate_pfn: number;
  free_pfn: number;
  /** freepages[order]: isolated free blocks, head first */
  freepages: number[][];
  nr_freepages: number;
  /** cc->migratepages: isolated pages, head first (isolate_migratepages_block list_add()s at the head) */
  migratepages: number[];
  nr_migratepages: number;
  total_migrate_scanned: number;
  total_free_scanned: number;
  /** fast_isolate_freepages(): the free-list order the search starts from (compact_zone_order sets it to cc->order) */
  search_order: number;
  /** fast_isolate_freepages() searches that found nothing, since the last that did */
  fast_search_fail: number;
  run: compact_run;
}

// ---------------------------------------------------------------- helpers

/** pageblock_start_pfn() / pageblock_end_pfn() */
function pageblock_start_pfn(ms: MachineState, pfn: number): number {
  return pfn - (((pfn % ms.pageblock_nr_pages) + ms.pageblock_nr_pages) % ms.pageblock_nr_pages);
}
function pageblock_end_pfn(ms: MachineState, pfn: number): number {
  return pageblock_start_pfn(ms, pfn) + ms.pageblock_nr_pages;
}
/** compact_scanners_met(): the free scanner is in the migrate scanner's pageblock or below */
export function compact_scanners_met(ms: MachineState, cc: compact_control): boolean {
  return Math.floor(cc.free_pfn / ms.pageblock_nr_pages) <= Math.floor(cc.migrate_pfn / ms.pageblock_nr_pages);
}

/** __pageblock_pfn_to_page(): the range's first and last frames exist and lie in this zone, else null */
function pageblock_pfn_to_page(ms: MachineState, start: number, end: number, z: zone): boolean {
  const last = end - 1;
  if (start < 0 || last >= ms.max_pfn) return false;
  return ms.mem_map.zoneid[start] === z.id && ms.mem_map.zoneid[last] === z.id;
}

/**
 * Why the page (or block head) at `pfn` cannot be migrated, or undefined if it is a movable (anonymous,
 * order-0, LRU) page. A transparent huge page (an anonymous LRU block of order ≥ pageblock_order) is
 * skipped: skip_isolation_on_order() (6.10+) never migrates a folio of a pageblock or more.
 */
export function page_unmovable_reason(ms: MachineState, pfn: number): unmovable_reason | undefined {
  const f = ms.mem_map.flags[pfn]!;
  if (f & PG_head && ms.mem_map.order[pfn]! > 0 && f & PG_lru) return f & PG_anon ? "huge page" : "page cache";
  if (f & PG_reserved) return f & PG_kernel ? "kernel image" : "reserved";
  if (f & PG_slab) return "slab";
  if (f & PG_table) return "page table";
  if (f & PG_vmalloc) return "vmalloc";
  if (f & PG_zero) return "zero page";
  if (f & PG_lru) return f & PG_anon ? undefined : "page cache";
  return "kernel page";
}

/**
 * The block a frame with no flags of its own belongs to: the head below it of a free (PageBuddy) or
 * allocated block of an order that covers it, or -1. (Tail frames carry no flags; a scanner that starts
 * at a pageblock boundary inside a larger block meets them.)
 */
export function enclosing_head(ms: MachineState, pfn: number): number {
  const mm = ms.mem_map;
  for (let o = 1; o <= ms.MAX_PAGE_ORDER; o++) {
    const head = pfn & ~((1 << o) - 1);
    if (mm.flags[head]! & (PG_buddy | PG_head) && mm.order[head]! >= o && mm.zoneid[head] === mm.zoneid[pfn]) return head;
  }
  return -1;
}

/** is `pfn` a tail frame of a free block that began below it? */
export function in_free_block(ms: MachineState, pfn: number): boolean {
  const h = enclosing_head(ms, pfn);
  return h >= 0 && (ms.mem_map.flags[h]! & PG_buddy) !== 0;
}

/** fragmentation_index() (mm/vmstat.c, as compaction_suitable() calls it): ×1000; -1000 if a block exists */
export function fragmentation_index(z: zone, order: number): number {
  let free_pages = 0;
  let free_blocks_total = 0;
  let free_blocks_suitable = 0;
  for (let o = 0; o < z.nr_free.length; o++) {
    const blocks = z.nr_free[o]!;
    free_blocks_total += blocks;
    free_pages += blocks * 2 ** o;
    if (o >= order) free_blocks_suitable += blocks * 2 ** (o - order);
  }
  if (!free_blocks_total) return 0;
  if (free_blocks_suitable) return -1000;
  return 1000 - Math.floor((1000 + Math.floor((free_pages * 1000) / 2 ** order)) / free_blocks_total);
}

/** can_steal_fallback() and find_suitable_fallback(only_stealable = true) of mm/page_alloc.c */
function find_suitable_fallback(ms: MachineState, z: zone, order: number, mt: number): number {
  if (z.nr_free[order] === 0) return -1;
  const row = fallbacks[mt];
  if (!row) return -1;
  for (const fmt of row) {
    if (z.free_area_empty(order, fmt)) continue;
    const can_steal = order >= ms.pageblock_order || order >= ms.pageblock_order >> 1 || mt === MIGRATE_RECLAIMABLE || mt === MIGRATE_UNMOVABLE || ms.page_group_by_mobility_disabled;
    if (can_steal) return fmt;
  }
  return -1;
}

// ---------------------------------------------------------------- the free scanner

/**
 * __isolate_free_page() (mm/page_alloc.c; here because only compaction uses it): take a free block off its
 * list as an allocation would, if the zone stays above the min watermark plus the block; a block of at
 * least half a pageblock turns its pageblock(s) MOVABLE: 6.12 calls move_freepages_block(zone, page, mt,
 * MIGRATE_MOVABLE) for every mergeable type, MOVABLE included, so the pageblock's other free blocks go to
 * the tails of their MOVABLE lists even when the type does not change. Returns the pages isolated, 0 if
 * refused.
 */
export function __isolate_free_page(ms: MachineState, z: zone, pfn: number, order: number): number {
  const mt = ms.get_pageblock_migratetype(pfn);
  if (mt !== MIGRATE_ISOLATE) {
    const watermark = z._watermark[WMARK_MIN]! + (1 << order);
    if (!__zone_watermark_ok(ms, z, 0, watermark, 0, ALLOC_CMA, z.nr_free_pages)) return 0;
  }
  __del_page_from_free_list(ms.mem_map, z, pfn, order, mt);
  ms.mem_map.flags[pfn]! &= ~PG_buddy;
  z.nr_free_pages -= 1 << order;
  if (order >= ms.pageblock_order - 1) {
    const end = pfn + (1 << order) - 1;
    for (let p = pfn; p < end; p += ms.pageblock_nr_pages) {
      const bmt = ms.get_pageblock_migratetype(p);
      if (migratetype_is_mergeable(bmt)) move_freepages_block(ms, z, p, bmt, MIGRATE_MOVABLE);
    }
  }
  return 1 << order;
}

/**
 * move_freepages_block() → prep_move_freepages_block() + __move_freepages_block() (mm/page_alloc.c 6.12):
 * nothing (-1) if the pageblock straddles the zone's ends; else every free block of the pageblock goes to
 * the tail of the new type's list (move_to_free_list: list_move_tail) and the pageblock is retyped.
 */
function move_freepages_block(ms: MachineState, z: zone, pfn: number, old_mt: number, new_mt: number): void {
  const mm = ms.mem_map;
  const start = pageblock_start_pfn(ms, pfn);
  const end = start + ms.pageblock_nr_pages;
  if (!z.zone_spans_pfn(start) || !z.zone_spans_pfn(end - 1)) return;
  for (let p = start; p < end; ) {
    if (mm.flags[p]! & PG_buddy) {
      const o = mm.order[p]!;
      move_to_free_list(mm, z, p, o, old_mt, new_mt);
      p += 1 << o;
    } else p++;
  }
  ms.set_pageblock_migratetype(start, new_mt);
}

/**
 * suitable_migration_target(): the pageblock's first frame is not a free block of cc->order or more (of a
 * pageblock or more for an order -1 run: `cc->order > 0 ? cc->order : pageblock_order`, 6.12); the
 * pageblock is MOVABLE or CMA (is_migrate_movable()), unless ignore_block_suitable.
 */
function suitable_migration_target(ms: MachineState, cc: compact_control, pfn: number): boolean {
  const mm = ms.mem_map;
  if (mm.flags[pfn]! & PG_buddy && mm.order[pfn]! >= (cc.order > 0 ? cc.order : ms.pageblock_order)) return false;
  if (cc.ignore_block_suitable) return true;
  const mt = ms.get_pageblock_migratetype(pfn);
  return mt === MIGRATE_MOVABLE || mt === MIGRATE_CMA;
}

/**
 * isolate_freepages_block() (stride 1, not strict): isolate the free blocks of [start, end) onto
 * cc.freepages[order] (list_add_tail), until as many free pages as pages to migrate are held. Returns the
 * pages isolated and where it stopped.
 */
function isolate_freepages_block(ms: MachineState, cc: compact_control, start: number, end: number): { isolated: number; stop: number } {
  const mm = ms.mem_map;
  const z = cc.zone;
  let nr_scanned = 0;
  let total = 0;
  let pfn = start;
  for (; pfn < end; pfn++) {
    nr_scanned++;
    const f = mm.flags[pfn]!;
    if (f & PG_head && mm.order[pfn]! > 0) {
      // PageCompound(): skip the whole block if it ends inside this range
      const n = 1 << mm.order[pfn]!;
      if (pfn + n <= end) {
        pfn += n - 1;
        nr_scanned += n - 1;
      }
      continue;
    }
    if (!(f & PG_buddy) || mm.zoneid[pfn] !== z.id) continue;
    const order = mm.order[pfn]!;
    const isolated = __isolate_free_page(ms, z, pfn, order);
    if (!isolated) break;
    nr_scanned += isolated - 1;
    total += isolated;
    cc.nr_freepages += isolated;
    cc.freepages[order]!.push(pfn);
    if (cc.nr_migratepages <= cc.nr_freepages) {
      pfn += isolated;
      break;
    }
    pfn += isolated - 1;
  }
  if (pfn > end) pfn = end;
  cc.total_free_scanned += nr_scanned;
  if (total) ms.vmstat.compact_isolated += total;
  cc.run.isolated_free += total;
  const last = cc.run.free_blocks[cc.run.free_blocks.length - 1];
  const bstart = pageblock_start_pfn(ms, start);
  if (last && last.start === bstart) {
    last.scanned += nr_scanned;
    last.isolated += total;
  } else cc.run.free_blocks.push({ start: bstart, scanned: nr_scanned, isolated: total });
  if (ms.trace.on) {
    const held = cc.freepages.map((l, o) => (l.length ? `${l.length}×order ${o}` : "")).filter(Boolean).join(", ");
    ms.trace.emit("isolate_freepages_block", F, `free scanner, pageblock ${hex(bstart)} (${migratetype_names[ms.get_pageblock_migratetype(bstart)]}): scanned ${hex(start)}–${hex(pfn - 1 < start ? start : pfn - 1)}, isolated ${total} free page${total === 1 ? "" : "s"}${held ? ` (held: ${held})` : ""}`, { start: bstart, scanned: nr_scanned, isolated: total });
  }
  return { isolated: total, stop: pfn };
}

/** freelist_scan_limit(): (COMPACT_CLUSTER_MAX >> min(BITS_PER_LONG - 1, fast_search_fail)) + 1 */
function freelist_scan_limit(cc: compact_control): number {
  return Math.floor(COMPACT_CLUSTER_MAX / 2 ** Math.min(63, cc.fast_search_fail)) + 1;
}

/** next_search_order(): search the orders below cc->order round-robin; -1 once the search wrapped */
function next_search_order(cc: compact_control, order: number): number {
  order--;
  if (order < 0) order = cc.order - 1;
  if (order === cc.search_order) {
    cc.search_order--;
    if (cc.search_order < 0) cc.search_order = cc.order - 1;
    return -1;
  }
  return order;
}

/**
 * move_freelist_head(): rotate a free list so that `pfn` heads it (list_cut_before + list_splice_tail: the
 * entries before it go, in order, after the old tail), so a later reverse search meets unscanned pages first.
 */
function move_freelist_head(ms: MachineState, z: zone, order: number, mt: number, pfn: number): void {
  const li = order * MIGRATE_TYPES + mt;
  const mm = ms.mem_map;
  const head = z.list_head[li]!;
  if (head === pfn) return; // list_is_first()
  const tail = z.list_tail[li]!;
  const before = mm.prev[pfn]!;
  mm.next[tail] = head;
  mm.prev[head] = tail;
  mm.next[before] = -1;
  mm.prev[pfn] = -1;
  z.list_head[li] = pfn;
  z.list_tail[li] = before;
}

/** C's unsigned long (64-bit) PFN arithmetic for fast_isolate_freepages(): the scanners can have crossed */
const ULONG = (1n << 64n) - 1n;
function ulong_to_pfn(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}

/**
 * fast_isolate_around() (6.12): if still short of free pages, isolate_freepages_block() over the whole
 * pageblock around `pfn` (no suitable_migration_target() check: the page came off a MOVABLE free list).
 * (It then sets the pageblock's skip bit when scanned to the end; skip bits are not modelled.)
 */
function fast_isolate_around(ms: MachineState, cc: compact_control, pfn: number): void {
  const z = cc.zone;
  if (cc.nr_freepages >= cc.nr_migratepages) return;
  if (cc.direct_compaction && cc.mode === "MIGRATE_ASYNC") return;
  const start = Math.max(pageblock_start_pfn(ms, pfn), z.zone_start_pfn);
  const end = Math.min(pageblock_end_pfn(ms, pfn), z.zone_end_pfn);
  if (!pageblock_pfn_to_page(ms, start, end, z)) return;
  isolate_freepages_block(ms, cc, start, end);
}

/**
 * fast_isolate_freepages() (6.12), which isolate_freepages() tries first in every targeted run (cc->order
 * > 0; an order -1 run returns at once): search the MOVABLE free lists of the orders below cc->order,
 * round-robin from cc->search_order, each from its tail (list_for_each_entry_reverse), for a free block
 * in the top quarter of the space between the scanners (a candidate in the top half shortens the search);
 * rotate the list (move_freelist_head), isolate the block, then the rest of its pageblock
 * (fast_isolate_around). If none is found, the free scanner restarts at the highest pageblock seen with
 * a free block (or, for direct compaction, at the middle of the space).
 * Modelled precisely but for the zone's cached state: zone->compact_init_free_pfn is taken as 0 (the
 * skip bits were never reset by __reset_isolation_suitable(), the state of a zone no kswapd has put to
 * sleep after a direct compaction), so every call is a "scan_start" search (limit pageblock_nr_pages/2),
 * and zone->compact_cached_free_pfn is not kept (each run starts at the zone's end anyway).
 */
function fast_isolate_freepages(ms: MachineState, cc: compact_control): void {
  const z = cc.zone;
  const mm = ms.mem_map;
  if (cc.order <= 0) return; // "Full compaction passes in a negative order"
  let limit = Math.max(1, freelist_scan_limit(cc) >> 1);
  let nr_scanned = 0;
  let highest = 0;
  let page = -1;
  // "If starting the scan, use a deeper search": cc->free_pfn >= zone->compact_init_free_pfn (0 here)
  const scan_start = true;
  limit = ms.pageblock_nr_pages >> 1;
  // "Preferred point is in the top quarter of the scan space but take a pfn from the top half if the search is problematic."
  const pb = BigInt(ms.pageblock_nr_pages);
  const distance = (BigInt(cc.free_pfn) - BigInt(cc.migrate_pfn)) & ULONG;
  let low = (BigInt(cc.free_pfn) - (distance >> 2n)) & ULONG;
  low -= low % pb;
  let min = (BigInt(cc.free_pfn) - (distance >> 1n)) & ULONG;
  min -= min % pb;
  if (min > low) low = min; // WARN_ON_ONCE
  const low_pfn = ulong_to_pfn(low);
  const min_pfn = ulong_to_pfn(min);
  cc.search_order = Math.min(cc.order - 1, cc.search_order);
  for (let order = cc.search_order; page < 0 && order >= 0; order = next_search_order(cc, order)) {
    if (!z.nr_free[order]) continue;
    let order_scanned = 0;
    let high_pfn = 0;
    let freepage = -1; // -1: the list head itself (the walk ran off the end)
    for (let pfn = z.list_tail[order * MIGRATE_TYPES + MIGRATE_MOVABLE]!; pfn !== -1; pfn = mm.prev[pfn]!) {
      order_scanned++;
      nr_scanned++;
      if (pfn >= highest) highest = Math.max(pageblock_start_pfn(ms, pfn), z.zone_start_pfn);
      if (pfn >= low_pfn) {
        cc.fast_search_fail = 0;
        cc.search_order = order;
        page = freepage = pfn;
        break;
      }
      if (pfn >= min_pfn && pfn > high_pfn) {
        high_pfn = pfn;
        limit >>>= 1; // "Shorten the scan if a candidate is found"
      }
      if (order_scanned >= limit) {
        freepage = pfn;
        break;
      }
    }
    // "Use a maximum candidate pfn if a preferred one was not found"
    if (page < 0 && high_pfn) page = freepage = high_pfn;
    // "Reorder to so a future search skips recent pages"
    if (freepage >= 0) move_freelist_head(ms, z, order, MIGRATE_MOVABLE, freepage);
    if (page >= 0) {
      const n = __isolate_free_page(ms, z, page, order);
      if (n) {
        nr_scanned += n - 1;
        cc.nr_freepages += n;
        cc.freepages[order]!.push(page); // list_add_tail
        ms.vmstat.compact_isolated += n;
        cc.run.isolated_free += n;
        const bstart = pageblock_start_pfn(ms, page);
        const last = cc.run.free_blocks[cc.run.free_blocks.length - 1];
        if (last && last.start === bstart) last.isolated += n;
        else cc.run.free_blocks.push({ start: bstart, scanned: 0, isolated: n });
        if (ms.trace.on) ms.trace.emit("fast_isolate_freepages", F, `free-list search: order-${order} Movable block ${hex(page)} isolated (${page >= low_pfn ? `in the top quarter of the scan space, ≥ ${hex(low_pfn)}` : `none in the top quarter ≥ ${hex(low_pfn)}: the highest seen in the top half, ≥ ${hex(min_pfn)}`})`, { pfn: page, order });
      } else {
        // "If isolation fails, abort the search"
        order = cc.search_order + 1;
        page = -1;
      }
    }
    if (cc.nr_freepages >= cc.nr_migratepages) break;
    if (order_scanned >= limit) limit = Math.max(1, limit >>> 1);
  }
  if (page < 0) {
    cc.fast_search_fail++;
    if (scan_start) {
      // "Use the highest PFN found above min. If one was not found, be pessimistic for direct compaction and use the min mark."
      if (highest >= min_pfn) {
        page = highest;
        cc.free_pfn = highest;
      } else if (cc.direct_compaction && min_pfn < ms.max_pfn && ms.pfn_valid(min_pfn)) {
        page = pageblock_pfn_to_page(ms, min_pfn, Math.min(pageblock_end_pfn(ms, min_pfn), z.zone_end_pfn), z) ? min_pfn : -1;
        if (page >= 0 && !suitable_migration_target(ms, cc, page)) page = -1;
        cc.free_pfn = min_pfn;
      }
      if (ms.trace.on && page >= 0) ms.trace.emit("fast_isolate_freepages", F, `free-list search found no Movable block in the top quarter: the free scanner restarts at ${hex(cc.free_pfn)}`, { free_pfn: cc.free_pfn });
    }
  }
  cc.total_free_scanned += nr_scanned;
  if (page < 0) return;
  fast_isolate_around(ms, cc, page);
}

/**
 * isolate_freepages(): fast_isolate_freepages() first, and nothing more if it isolated anything; else walk
 * pageblocks down from cc.free_pfn to the pageblock above the migrate scanner, isolating free pages from
 * suitable targets until there are enough for the pages to migrate. (Stride 1: sync modes only. The
 * skip-bit test isolation_suitable() is not modelled: every run here ignores skip hints.)
 */
function isolate_freepages(ms: MachineState, cc: compact_control): void {
  const z = cc.zone;
  fast_isolate_freepages(ms, cc);
  if (cc.nr_freepages) return;
  const pb = ms.pageblock_nr_pages;
  let isolate_start_pfn = cc.free_pfn;
  let block_start_pfn = pageblock_start_pfn(ms, isolate_start_pfn);
  let block_end_pfn = Math.min(block_start_pfn + pb, z.zone_end_pfn);
  const low_pfn = pageblock_end_pfn(ms, cc.migrate_pfn);
  for (; block_start_pfn >= low_pfn; block_end_pfn = block_start_pfn, block_start_pfn -= pb, isolate_start_pfn = block_start_pfn) {
    if (!pageblock_pfn_to_page(ms, block_start_pfn, block_end_pfn, z)) continue;
    if (!suitable_migration_target(ms, cc, block_start_pfn)) {
      if (ms.trace.on) ms.trace.emit("suitable_migration_target", F, `free scanner, pageblock ${hex(block_start_pfn)}: ${ms.mem_map.flags[block_start_pfn]! & PG_buddy && ms.mem_map.order[block_start_pfn]! >= ms.pageblock_order ? "already one free block of a pageblock or more: leave it whole" : `a ${migratetype_names[ms.get_pageblock_migratetype(block_start_pfn)]} pageblock is not a migration target (only Movable/CMA)`}: skip`, { start: block_start_pfn });
      continue;
    }
    const r = isolate_freepages_block(ms, cc, isolate_start_pfn, block_end_pfn);
    isolate_start_pfn = r.stop;
    if (cc.nr_freepages >= cc.nr_migratepages) {
      // "Restart at previous pageblock if more freepages can be isolated next time."
      if (isolate_start_pfn >= block_end_pfn) isolate_start_pfn = block_start_pfn - pb;
      break;
    } else if (isolate_start_pfn < block_end_pfn) {
      // "If isolation failed early, do not continue needlessly."
      break;
    }
  }
  cc.free_pfn = isolate_start_pfn;
}

/**
 * compaction_alloc() (6.12): the first block of the smallest non-empty isolated list of order ≥ 0; a larger
 * block is split as expand() splits, the upper halves going to the heads of the lower lists. When nothing
 * is held, the free scanner runs once more. Returns the new page's PFN (allocated, refcount 1) or -1.
 */
export function compaction_alloc(ms: MachineState, cc: compact_control): number {
  let isolated_once = false;
  for (;;) {
    let o = 0;
    while (o < ms.NR_PAGE_ORDERS && cc.freepages[o]!.length === 0) o++;
    if (o === ms.NR_PAGE_ORDERS) {
      if (isolated_once) return -1;
      isolate_freepages(ms, cc);
      isolated_once = true;
      continue;
    }
    const pfn = cc.freepages[o]!.shift()!;
    let size = 1 << o;
    while (o > 0) {
      o--;
      size >>= 1;
      cc.freepages[o]!.unshift(pfn + size);
    }
    // post_alloc_hook(): an allocated order-0 page
    const mm = ms.mem_map;
    mm.flags[pfn] = (mm.flags[pfn]! & ~PG_buddy) | PG_head;
    mm.order[pfn] = 0;
    mm.refcount[pfn] = 1;
    cc.nr_freepages -= 1;
    cc.nr_migratepages -= 1;
    return pfn;
  }
}

/** compaction_free(): a destination page migration did not use goes back to the head of freepages[0] */
export function compaction_free(ms: MachineState, cc: compact_control, pfn: number): void {
  const mm = ms.mem_map;
  mm.flags[pfn]! &= ~PG_head;
  mm.refcount[pfn] = 0;
  mm.order[pfn] = 0;
  cc.freepages[0]!.unshift(pfn);
  cc.nr_freepages += 1;
  cc.nr_migratepages += 1;
}

/** release_free_list(): every isolated free block back to the buddy allocator (__free_pages); the highest PFN */
function release_free_list(ms: MachineState, cc: compact_control): number {
  let high = 0;
  const mm = ms.mem_map;
  for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) {
    for (const pfn of cc.freepages[o]!) {
      // mark_allocated(), then __free_pages()
      mm.flags[pfn] = (mm.flags[pfn]! & ~PG_buddy) | PG_head;
      mm.order[pfn] = o;
      mm.refcount[pfn] = 1;
      __free_pages(ms, pfn, o);
      if (pfn > high) high = pfn;
    }
    cc.freepages[o]!.length = 0;
  }
  cc.nr_freepages = 0;
  return high;
}

// ---------------------------------------------------------------- the migrate scanner

/**
 * isolate_migratepages_block(): scan [low_pfn, end_pfn) of one pageblock; free blocks are stepped over,
 * anonymous LRU pages that nothing pins are taken off the LRU (folio_isolate_lru) onto cc.migratepages
 * (list_add: at the head), everything else stays and is counted by reason. Stops after
 * COMPACT_CLUSTER_MAX pages unless the whole pageblock is wanted (finish_pageblock). Returns the next PFN.
 */
function isolate_migratepages_block(ms: MachineState, cc: compact_control, low_pfn: number, end_pfn: number, scan: pageblock_scan): number {
  const mm = ms.mem_map;
  const z = cc.zone;
  let nr_scanned = 0;
  let nr_isolated = 0;
  const start = low_pfn;
  for (; low_pfn < end_pfn; low_pfn++) {
    if (mm.zoneid[low_pfn] !== z.id) continue; // !pfn_valid_within / another zone
    nr_scanned++;
    const f = mm.flags[low_pfn]!;
    if (f & PG_buddy) {
      const o = mm.order[low_pfn]!;
      if (o > 0 && o <= ms.MAX_PAGE_ORDER) {
        low_pfn += (1 << o) - 1;
        nr_scanned += (1 << o) - 1;
      }
      continue;
    }
    if (f & PG_head && mm.order[low_pfn]! > 0) {
      // A multi-page block, stepped over whole. 6.12 skips a compound page at once (PageCompound() +
      // skip_isolation_on_order()) or walks a non-LRU one page by page (!PageLRU: isolate_fail); both
      // count its frames up to end_pfn, which is all we count (a block of more than a pageblock that
      // began here is not scanned past the pageblock: the next one's frames are its tails).
      const n = 1 << mm.order[low_pfn]!;
      const why = page_unmovable_reason(ms, low_pfn) ?? "kernel page";
      const inside = Math.min(n, end_pfn - low_pfn);
      scan.unmovable[why] = (scan.unmovable[why] ?? 0) + inside;
      low_pfn += inside - 1;
      nr_scanned += inside - 1;
      continue;
    }
    if (f === 0 || f & PG_tail) {
      // a tail frame of a block that began in an earlier pageblock: a free block's is stepped over,
      // an allocated block's stays with its head's reason
      const h = enclosing_head(ms, low_pfn);
      if (h >= 0 && mm.flags[h]! & PG_buddy) continue;
      const why = h >= 0 ? (page_unmovable_reason(ms, h) ?? "kernel page") : "kernel page";
      scan.unmovable[why] = (scan.unmovable[why] ?? 0) + 1;
      continue;
    }
    const why = page_unmovable_reason(ms, low_pfn);
    if (why) {
      scan.unmovable[why] = (scan.unmovable[why] ?? 0) + 1;
      continue;
    }
    // "Migration will fail if an anonymous page is pinned in memory": 6.12 tests this only when
    // folio_mapping() is NULL, i.e. not for a page in the swap cache (its mapping is the swap space): such
    // a page is isolated even if pinned and fails in migrate_pages() (pgmigrate_fail) instead
    const swapcache = ms.lru !== undefined && (ms.lru.flags2[low_pfn]! & PG_swapcache) !== 0;
    if (!swapcache && mm.refcount[low_pfn]! > folio_expected_refs(ms, low_pfn)) {
      scan.unmovable.pinned = (scan.unmovable.pinned ?? 0) + 1;
      continue;
    }
    // "Only allow to migrate anonymous pages in GFP_NOFS context": a swap-cache page has a mapping
    if (swapcache && !(cc.gfp_mask & __GFP_FS)) {
      scan.unmovable["not isolated"] = (scan.unmovable["not isolated"] ?? 0) + 1;
      continue;
    }
    if (!folio_isolate_lru(ms, low_pfn)) {
      scan.unmovable["not isolated"] = (scan.unmovable["not isolated"] ?? 0) + 1;
      continue;
    }
    cc.migratepages.unshift(low_pfn);
    cc.nr_migratepages++;
    nr_isolated++;
    if (cc.nr_migratepages >= COMPACT_CLUSTER_MAX && !cc.finish_pageblock) {
      ++low_pfn;
      break;
    }
  }
  if (low_pfn > end_pfn) low_pfn = end_pfn;
  cc.total_migrate_scanned += nr_scanned;
  scan.scanned += nr_scanned;
  scan.isolated += nr_isolated;
  cc.run.isolated_migrate += nr_isolated;
  if (nr_isolated) ms.vmstat.compact_isolated += nr_isolated;
  if (ms.trace.on) {
    const stay = Object.entries(scan.unmovable).map(([k, v]) => `${v} ${k}`).join(", ");
    ms.trace.emit("isolate_migratepages_block", F, `migrate scanner, pageblock ${hex(scan.start)} (${migratetype_names[scan.mt]}): scanned ${hex(start)}–${hex(low_pfn - 1)}, isolated ${nr_isolated} movable page${nr_isolated === 1 ? "" : "s"}${stay && low_pfn >= end_pfn ? `; cannot move: ${stay}` : ""}`, { start: scan.start, scanned: nr_scanned, isolated: nr_isolated, unmovable: { ...scan.unmovable } });
  }
  return low_pfn;
}

/**
 * pageblock_skip_persistent(): the pageblock's first frame belongs to a compound page of pageblock_order
 * or more (a THP, a slab or kmalloc_large() block of 2 MiB+), which never migrates and leaves no free
 * page in the pageblock. Compound here means what 6.12 allocates with __GFP_COMP and the model can tell
 * apart: LRU folios, slab pages, kmalloc_large() blocks; other multi-page blocks (alloc_pages() without
 * __GFP_COMP) are not compound and get scanned.
 */
function pageblock_skip_persistent(ms: MachineState, pfn: number): boolean {
  const mm = ms.mem_map;
  const head = mm.flags[pfn]! & PG_head ? pfn : enclosing_head(ms, pfn);
  if (head < 0 || !(mm.flags[head]! & PG_head) || mm.order[head]! < ms.pageblock_order) return false;
  return (mm.flags[head]! & (PG_lru | PG_slab)) !== 0 || (ms.slab?.large.has(head) ?? false);
}

/**
 * isolate_migratepages(): from cc.migrate_pfn, the first pageblock (below the free scanner) that has
 * something to isolate; records where the migrate scanner stopped. A pageblock that
 * suitable_migration_source() rejects (pageblock_skip_persistent(), for every mode) is passed over
 * without a frame scanned, and the loop goes on to the next pageblock. (fast_find_migrateblock() is not
 * called: it returns at once when skip hints are ignored, as in every run here.)
 */
function isolate_migratepages(ms: MachineState, cc: compact_control): "ISOLATE_NONE" | "ISOLATE_SUCCESS" {
  const z = cc.zone;
  const pb = ms.pageblock_nr_pages;
  let low_pfn = cc.migrate_pfn;
  let block_start_pfn = Math.max(pageblock_start_pfn(ms, low_pfn), z.zone_start_pfn);
  let block_end_pfn = pageblock_end_pfn(ms, low_pfn);
  for (; block_end_pfn <= cc.free_pfn; low_pfn = block_end_pfn, block_start_pfn = block_end_pfn, block_end_pfn += pb) {
    if (!pageblock_pfn_to_page(ms, block_start_pfn, block_end_pfn, z)) continue;
    // (isolation_suitable(): skip hints are ignored here)
    // suitable_migration_source(): false for a pageblock a compound page of pageblock_order or more
    // fills; otherwise true for sync compaction (the block-type test is for MIGRATE_ASYNC direct only)
    if (pageblock_skip_persistent(ms, block_start_pfn)) {
      const scan = scan_of(ms, cc, pageblock_start_pfn(ms, block_start_pfn));
      const head = ms.mem_map.flags[block_start_pfn]! & PG_head ? block_start_pfn : enclosing_head(ms, block_start_pfn);
      const why = page_unmovable_reason(ms, head) ?? "kernel page";
      scan.unmovable[why] = (scan.unmovable[why] ?? 0) + (block_end_pfn - block_start_pfn);
      if (ms.trace.on) ms.trace.emit("suitable_migration_source", F, `migrate scanner, pageblock ${hex(scan.start)}: filled by an order-${ms.mem_map.order[head]} compound page (${why}; pageblock_skip_persistent): not scanned`, { start: scan.start });
      continue;
    }
    const scan = scan_of(ms, cc, pageblock_start_pfn(ms, block_start_pfn));
    low_pfn = isolate_migratepages_block(ms, cc, low_pfn, block_end_pfn, scan);
    break;
  }
  cc.migrate_pfn = low_pfn;
  return cc.nr_migratepages ? "ISOLATE_SUCCESS" : "ISOLATE_NONE";
}

function scan_of(ms: MachineState, cc: compact_control, start: number): pageblock_scan {
  const blocks = cc.run.blocks;
  const last = blocks[blocks.length - 1];
  if (last && last.start === start) return last;
  const s: pageblock_scan = { start, mt: ms.get_pageblock_migratetype(start), scanned: 0, isolated: 0, migrated: 0, failed: 0, unmovable: {} };
  blocks.push(s);
  return s;
}

// ---------------------------------------------------------------- compact_zone

/** __compact_finished() */
function __compact_finished(ms: MachineState, cc: compact_control): compact_result {
  if (compact_scanners_met(ms, cc)) return cc.whole_zone ? "COMPACT_COMPLETE" : "COMPACT_PARTIAL_SKIPPED";
  if (cc.order < 0) return "COMPACT_CONTINUE";
  // "Always finish scanning a pageblock to reduce the possibility of fallbacks in the future."
  if (cc.migrate_pfn % ms.pageblock_nr_pages !== 0) return "COMPACT_CONTINUE";
  const z = cc.zone;
  const mt = cc.migratetype;
  for (let order = cc.order; order < ms.NR_PAGE_ORDERS; order++) {
    if (!z.free_area_empty(order, mt)) return "COMPACT_SUCCESS";
    if (mt === MIGRATE_MOVABLE && !z.free_area_empty(order, MIGRATE_CMA)) return "COMPACT_SUCCESS";
    if (mt < MIGRATE_PCPTYPES && find_suitable_fallback(ms, z, order, mt) !== -1) return "COMPACT_SUCCESS";
  }
  return "COMPACT_NO_SUITABLE_PAGE";
}

/** compact_finished(): COMPACT_NO_SUITABLE_PAGE means keep going */
function compact_finished(ms: MachineState, cc: compact_control): compact_result {
  const r = __compact_finished(ms, cc);
  return r === "COMPACT_NO_SUITABLE_PAGE" ? "COMPACT_CONTINUE" : r;
}

/**
 * compaction_suitable() → __compaction_suitable(): the zone must keep the (low for costly orders, else min)
 * watermark plus compact_gap(order) = 2 << order free pages for order-0 targets; for a costly order, a
 * fragmentation index ≤ vm.extfrag_threshold (500) says a failure would be for lack of memory, not
 * fragmentation, and compaction would not help. Returns undefined if suitable, else why not.
 */
export function compaction_suitable(ms: MachineState, z: zone, order: number, highest_zoneidx: number): { result: compact_result; why: string } | undefined {
  const base = order > PAGE_ALLOC_COSTLY_ORDER ? z.low_wmark_pages() : z.min_wmark_pages();
  const watermark = base + (2 << order);
  if (!__zone_watermark_ok(ms, z, 0, watermark, highest_zoneidx, ALLOC_CMA, z.nr_free_pages))
    return { result: "COMPACT_SKIPPED", why: `${z.nr_free_pages} free pages ≤ ${order > PAGE_ALLOC_COSTLY_ORDER ? "low" : "min"} watermark ${base} + compact_gap ${2 << order}${z.lowmem_reserve[highest_zoneidx] ? ` + lowmem_reserve ${z.lowmem_reserve[highest_zoneidx]}` : ""}: too little free memory to migrate into` };
  if (order > PAGE_ALLOC_COSTLY_ORDER) {
    const fragindex = fragmentation_index(z, order);
    if (fragindex >= 0 && fragindex <= sysctl_extfrag_threshold)
      return { result: "COMPACT_SKIPPED", why: `fragmentation index ${(fragindex / 1000).toFixed(3)} ≤ extfrag_threshold ${(sysctl_extfrag_threshold / 1000).toFixed(3)}: a failure would be for lack of memory, not fragmentation (COMPACT_NOT_SUITABLE_ZONE)` };
  }
  return undefined;
}

/** a compact_control for a zone (INIT_LIST_HEAD of the lists) */
export function new_compact_control(ms: MachineState, z: zone, o: { order: number; mode: migrate_mode; gfp_mask?: number; alloc_flags?: number; highest_zoneidx?: number; direct?: boolean; ignore_block_suitable?: boolean }): compact_control {
  const gfp = o.gfp_mask ?? GFP_KERNEL;
  const cc: compact_control = {
    zone: z,
    order: o.order,
    gfp_mask: gfp,
    migratetype: ms.page_group_by_mobility_disabled ? MIGRATE_UNMOVABLE : gfp_migratetype(gfp),
    mode: o.mode,
    alloc_flags: o.alloc_flags ?? 0,
    highest_zoneidx: o.highest_zoneidx ?? z.zone_idx,
    whole_zone: true,
    direct_compaction: o.direct ?? false,
    ignore_block_suitable: o.ignore_block_suitable ?? false,
    finish_pageblock: false,
    migrate_pfn: z.zone_start_pfn,
    free_pfn: 0,
    freepages: Array.from({ length: ms.NR_PAGE_ORDERS }, () => []),
    nr_freepages: 0,
    migratepages: [],
    nr_migratepages: 0,
    total_migrate_scanned: 0,
    total_free_scanned: 0,
    search_order: o.order,
    fast_search_fail: 0,
    run: undefined as unknown as compact_run,
  };
  cc.run = { zone: z, order: o.order, migratetype: cc.migratetype, mode: o.mode, result: "COMPACT_CONTINUE", migrate_scanned: 0, free_scanned: 0, isolated_migrate: 0, isolated_free: 0, migrated: 0, failed: 0, moves: [], blocks: [], free_blocks: [], migrate_pfn: 0, free_pfn: 0 };
  return cc;
}

/**
 * compact_zone()'s check_drain step: once the migrate scanner has left the cc->order-aligned block it last
 * migrated from, 6.12 drains the per-CPU lists (none here) and zeroes last_migrated_pfn, so that the next
 * batch is not a finish_pageblock rescan: for orders below pageblock_order a pageblock is then isolated 32
 * pages at a time throughout, not 32 and then the rest.
 */
function check_drain(cc: compact_control, last_migrated_pfn: number): number {
  if (cc.order > 0 && last_migrated_pfn) {
    const current_block_start = cc.migrate_pfn - (cc.migrate_pfn % 2 ** cc.order); // block_start_pfn(pfn, order)
    if (last_migrated_pfn < current_block_start) return 0;
  }
  return last_migrated_pfn;
}

/** how many moves a run keeps (the counts are exact beyond it) */
const MAX_MOVES_KEPT = 1 << 16;

/**
 * compact_zone(): check compaction_suitable() for a targeted run, start the scanners at the zone's ends,
 * then isolate a batch of movable pages, migrate it, and repeat until compact_finished() says stop.
 */
export function compact_zone(ms: MachineState, cc: compact_control): compact_run {
  const z = cc.zone;
  const tr = ms.trace;
  const run = cc.run;
  const start_pfn = z.zone_start_pfn;
  const end_pfn = z.zone_end_pfn;
  if (cc.order >= 0) {
    // "Allocation can already succeed, nothing to do"
    const watermark = z.wmark_pages(cc.alloc_flags & ALLOC_WMARK_MASK);
    if (__zone_watermark_ok(ms, z, cc.order, watermark, cc.highest_zoneidx, cc.alloc_flags, z.nr_free_pages)) {
      run.result = "COMPACT_SUCCESS";
      run.why = `a free block of order ≥ ${cc.order} exists and the watermark is met: nothing to do`;
      if (tr.on) tr.emit("compact_zone", F, `Node ${z.node.node_id} ${z.name}: ${run.why}`);
      return run;
    }
    const ns = compaction_suitable(ms, z, cc.order, cc.highest_zoneidx);
    if (ns) {
      run.result = ns.result;
      run.why = ns.why;
      if (tr.on) tr.emit("compaction_suitable", F, `Node ${z.node.node_id} ${z.name}, order ${cc.order}: ${ns.why}: COMPACT_SKIPPED`);
      return run;
    }
  }
  cc.migrate_pfn = start_pfn;
  cc.free_pfn = pageblock_start_pfn(ms, end_pfn - 1);
  if (tr.on)
    tr.emit("compact_zone", F, `Node ${z.node.node_id} ${z.name}: ${cc.order < 0 ? "compact the whole zone (order -1, /proc/sys/vm/compact_memory)" : `compact for an order-${cc.order} ${migratetype_names[cc.migratetype]} block`}, ${cc.mode}; migrate scanner from PFN ${hex(cc.migrate_pfn)} up, free scanner from pageblock ${hex(cc.free_pfn)} down`, { order: cc.order, migrate_pfn: cc.migrate_pfn, free_pfn: cc.free_pfn });
  tr.depth++;
  let last_migrated_pfn = 0;
  let ret: compact_result;
  try {
    while ((ret = compact_finished(ms, cc)) === "COMPACT_CONTINUE") {
      const iteration_start_pfn = cc.migrate_pfn;
      // "Avoid multiple rescans of the same pageblock": the second batch of a pageblock takes all the rest
      // (as in 6.12, last_migrated_pfn 0 counts as pageblock 0: a zone starting there begins so)
      cc.finish_pageblock = pageblock_start_pfn(ms, last_migrated_pfn) === pageblock_start_pfn(ms, iteration_start_pfn);
      const iso = isolate_migratepages(ms, cc);
      if (iso === "ISOLATE_NONE") {
        last_migrated_pfn = check_drain(cc, last_migrated_pfn);
        continue;
      }
      last_migrated_pfn = Math.max(z.zone_start_pfn, pageblock_start_pfn(ms, cc.migrate_pfn - 1));
      const scan = cc.run.blocks[cc.run.blocks.length - 1]!;
      tr.depth++;
      const r = migrate_pages(ms, cc.migratepages, () => compaction_alloc(ms, cc), (dst) => compaction_free(ms, cc, dst), cc.mode, "MR_COMPACTION");
      tr.depth--;
      for (const mv of r.moves) if (run.moves.length < MAX_MOVES_KEPT) run.moves.push(mv);
      run.migrated += r.nr_succeeded;
      run.failed += r.nr_failed;
      scan.migrated += r.nr_succeeded;
      scan.failed += r.nr_failed;
      // "All pages were either migrated or will be released"
      cc.nr_migratepages = 0;
      if (cc.migratepages.length) {
        putback_movable_pages(ms, cc.migratepages);
        // "migrate_pages() may return -ENOMEM when scanners meet and we want compact_finished() to detect it"
        if (r.err === "ENOMEM" && !compact_scanners_met(ms, cc)) {
          ret = "COMPACT_CONTENDED";
          if (tr.on) tr.emit("compact_zone", F, `no free page to migrate into (__isolate_free_page refused: the zone is at its min watermark): stop`);
          break;
        }
      }
      last_migrated_pfn = check_drain(cc, last_migrated_pfn);
    }
  } finally {
    tr.depth--;
  }
  // "Release free pages and update where the free scanner should restart"
  if (cc.nr_freepages > 0 || cc.freepages.some((l) => l.length)) {
    const held = cc.nr_freepages;
    const was = tr.on;
    tr.on = false;
    try {
      release_free_list(ms, cc);
    } finally {
      tr.on = was;
    }
    if (tr.on && held) tr.emit("release_free_list", F, `${held} isolated free page${held === 1 ? "" : "s"} not needed: back to the buddy allocator`, { pages: held });
  }
  ms.vmstat.compact_migrate_scanned += cc.total_migrate_scanned;
  ms.vmstat.compact_free_scanned += cc.total_free_scanned;
  run.migrate_scanned = cc.total_migrate_scanned;
  run.free_scanned = cc.total_free_scanned;
  run.result = ret;
  run.migrate_pfn = cc.migrate_pfn;
  run.free_pfn = cc.free_pfn;
  if (tr.on)
    tr.emit("compact_zone", F, `Node ${z.node.node_id} ${z.name}: ${ret} (${ret === "COMPACT_SUCCESS" ? `a free order-${cc.order} block is available` : ret === "COMPACT_COMPLETE" ? `the scanners met at pageblock ${hex(pageblock_start_pfn(ms, Math.max(cc.migrate_pfn, start_pfn)))}` : "stopped"}); migrate scanner scanned ${cc.total_migrate_scanned} pages, free scanner ${cc.total_free_scanned}; ${run.migrated} page${run.migrated === 1 ? "" : "s"} migrated${run.failed ? `, ${run.failed} failed` : ""}`, { result: ret, migrated: run.migrated });
  return run;
}

/** compact_node(): every populated zone of a node, order -1, MIGRATE_SYNC, whole zone, skip hints ignored */
export function compact_node(ms: MachineState, nid: number, zones?: zone[]): compact_run[] {
  const out: compact_run[] = [];
  for (const z of ms.nodes[nid]!.node_zones) {
    if (!z.populated) continue;
    if (zones && !zones.includes(z)) continue;
    out.push(compact_zone(ms, new_compact_control(ms, z, { order: -1, mode: "MIGRATE_SYNC" })));
  }
  return out;
}

/** compact_nodes(): what writing 1 to /proc/sys/vm/compact_memory does (sysctl_compaction_handler) */
export function compact_nodes(ms: MachineState): compact_run[] {
  return ms.nodes.flatMap((n) => compact_node(ms, n.node_id));
}

/**
 * compact_zone_order(): a targeted run for an order-`order` allocation of `gfp_mask` (its migratetype):
 * MIGRATE_SYNC_LIGHT, whole zone, skip hints ignored, ignore_block_suitable false, search_order = order
 * (see the header for how this differs from 6.12's priorities). Stops with COMPACT_SUCCESS as soon as
 * __compact_finished() finds such a block at a pageblock-aligned migrate_pfn.
 */
export function compact_zone_order(ms: MachineState, z: zone, order: number, gfp_mask: number, alloc_flags: number, highest_zoneidx: number, direct: boolean): compact_run {
  const cc = new_compact_control(ms, z, { order, mode: "MIGRATE_SYNC_LIGHT", gfp_mask, alloc_flags, highest_zoneidx, direct });
  return compact_zone(ms, cc);
}

/**
 * try_to_compact_pages(): compact each zone of the zonelist up to highest_zoneidx until one reports
 * COMPACT_SUCCESS; nothing without __GFP_IO. One priority only (COMPACT_PRIO_SYNC_LIGHT over the whole
 * zone), no deferral. Returns the best result (the kernel's max over enum compact_result) and the runs.
 */
export function try_to_compact_pages(ms: MachineState, gfp_mask: number, order: number, alloc_flags: number, zl: zone[], highest_zoneidx: number): { result: compact_result; runs: compact_run[] } {
  const runs: compact_run[] = [];
  let rc: compact_result = "COMPACT_SKIPPED";
  if (!(gfp_mask & __GFP_IO)) return { result: rc, runs };
  for (const z of zl) {
    if (z.zone_idx > highest_zoneidx) continue;
    const run = compact_zone_order(ms, z, order, gfp_mask, alloc_flags, highest_zoneidx, true);
    runs.push(run);
    if (rank(run.result) > rank(rc)) rc = run.result;
    if (run.result === "COMPACT_SUCCESS") break;
  }
  return { result: rc, runs };
}

/**
 * __alloc_pages_direct_compact() as __alloc_pages_slowpath() calls it first (before direct reclaim) for a
 * costly order, or any order > 0 that is not movable, when the request may reclaim and do I/O: compact,
 * then retry the free lists. compact_stall counts a run that did not skip; compact_success/fail whether
 * the retry then found a block. Returns undefined when compaction was not tried. (6.12 calls it again
 * after __alloc_pages_direct_reclaim(), and should_compact_retry() loops raising the priority;
 * page_alloc.ts's slow path calls this hook once, before reclaim.)
 */
export function __alloc_pages_direct_compact<R extends { pfn: number }>(ms: MachineState, gfp: number, order: number, alloc_flags: number, zl: zone[], highest_zoneidx: number, retry: () => R): R | undefined {
  if (!order || !(gfp & __GFP_DIRECT_RECLAIM) || !(gfp & __GFP_IO)) return undefined;
  if (!(order > PAGE_ALLOC_COSTLY_ORDER || (ms.page_group_by_mobility_disabled ? MIGRATE_UNMOVABLE : gfp_migratetype(gfp)) !== MIGRATE_MOVABLE)) return undefined;
  // "Don't try this for allocations that are allowed to ignore watermarks": !gfp_pfmemalloc_allowed()
  // (of its cases only __GFP_MEMALLOC without __GFP_NOMEMALLOC exists here: no PF_MEMALLOC, no OOM victim)
  if (gfp & __GFP_MEMALLOC && !(gfp & __GFP_NOMEMALLOC)) return undefined;
  const tr = ms.trace;
  if (tr.on) tr.emit("__alloc_pages_direct_compact", "mm/page_alloc.c", `order ${order} failed at the min watermark: try direct compaction before reclaim (${order > PAGE_ALLOC_COSTLY_ORDER ? `a costly order > ${PAGE_ALLOC_COSTLY_ORDER}` : "a non-movable high-order request"})`);
  tr.depth++;
  let got: R | undefined;
  try {
    const r = try_to_compact_pages(ms, gfp, order, alloc_flags, zl, highest_zoneidx);
    if (r.result === "COMPACT_SKIPPED") return undefined;
    ms.vmstat.compact_stall++;
    got = retry();
    if (got.pfn >= 0) ms.vmstat.compact_success++;
    else ms.vmstat.compact_fail++;
    if (tr.on) tr.emit("__alloc_pages_direct_compact", "mm/page_alloc.c", got.pfn >= 0 ? `compaction freed an order-${order} block: the retry got PFN ${hex(got.pfn)} (compact_success)` : `compaction (${r.result}) did not free an order-${order} block (compact_fail)`);
  } finally {
    tr.depth--;
  }
  return got;
}

reclaim_hooks.compact = __alloc_pages_direct_compact;

