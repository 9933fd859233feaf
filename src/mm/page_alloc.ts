/**
 * The buddy allocator, after mm/page_alloc.c of Linux 6.12: __alloc_pages, get_page_from_freelist,
 * the watermark checks, rmqueue → __rmqueue → __rmqueue_smallest / __rmqueue_fallback, expand(),
 * steal_suitable_fallback(), and the free side __free_pages → __free_one_page with buddy_merge_likely().
 *
 * Simplifications, all on purpose and documented: no per-CPU page lists (pcp; as with
 * `vm.percpu_pagelist_high_fraction` making every free go straight to the buddy), no page shuffling,
 * no CMA areas, no highatomic reserves, no compaction capture, no debug guard pages; kswapd is modelled
 * by what it does to the allocator's state (it clears a watermark boost); reclaim and the OOM killer come
 * with the memory-pressure work. With the same requests, the PFNs handed out are the ones 6.12's
 * algorithm hands out under those settings.
 */
import type { ZoneType } from "../arch/arch";
import type { MachineState } from "../kernel/machine";
import { fmtBytes, hex } from "../lib/units";
import {
  GFP_HIGHUSER_MOVABLE,
  __GFP_DIRECT_RECLAIM,
  __GFP_HIGH,
  __GFP_KSWAPD_RECLAIM,
  __GFP_NOMEMALLOC,
  __GFP_MOVABLE as GFP_MOVABLE_export,
  __GFP_NOWARN,
  __GFP_RECLAIMABLE as GFP_RECLAIMABLE_export,
  __GFP_THISNODE as GFP_THISNODE_export,
  gfp_mode,
  gfp_zone_type,
} from "./gfp";
import { __find_buddy_pfn as find_buddy_pfn_export } from "./internal";
import { PG_anon, PG_buddy as PG_buddy_export, PG_head as PG_head_export, PG_reserved, PG_slab, PG_table, PG_vmalloc, flag_names, type mem_map } from "./memmap";
import {
  MIGRATE_MOVABLE as MIGRATE_MOVABLE_export,
  MIGRATE_PCPTYPES as MIGRATE_PCPTYPES_export,
  MIGRATE_RECLAIMABLE as MIGRATE_RECLAIMABLE_export,
  MIGRATE_TYPES as MIGRATE_TYPES_export,
  MIGRATE_UNMOVABLE as MIGRATE_UNMOVABLE_export,
  WMARK_HIGH,
  WMARK_LOW as WMARK_LOW_export,
  WMARK_MIN,
  __add_to_free_list,
  __del_page_from_free_list,
  migratetype_is_mergeable as migratetype_is_mergeable_export,
  migratetype_names,
  move_to_free_list,
  type pglist_data,
  type zone,
} from "./mmzone";

const F = "mm/page_alloc.c";

// The names the hot paths use, bound to module-local consts. TypeScript's CommonJS output turns each use
// of an imported (or exported) const or function into a property load from the other module's exports
// object, plus a check of what it loaded; V8 cannot fold those (every exports property is first set to
// `void 0`, then to its value), while it compiles a module-local const in as a constant. On the
// allocator's paths that is a load and a check saved per use, per call.
const __GFP_MOVABLE = GFP_MOVABLE_export;
const __GFP_RECLAIMABLE = GFP_RECLAIMABLE_export;
const __GFP_THISNODE = GFP_THISNODE_export;
const __find_buddy_pfn = find_buddy_pfn_export;
const PG_buddy = PG_buddy_export;
const PG_head = PG_head_export;
const MIGRATE_UNMOVABLE = MIGRATE_UNMOVABLE_export;
const MIGRATE_MOVABLE = MIGRATE_MOVABLE_export;
const MIGRATE_RECLAIMABLE = MIGRATE_RECLAIMABLE_export;
const MIGRATE_PCPTYPES = MIGRATE_PCPTYPES_export;
const MIGRATE_TYPES = MIGRATE_TYPES_export;
const WMARK_LOW = WMARK_LOW_export;
const migratetype_is_mergeable = migratetype_is_mergeable_export;

/** gfp_migratetype() (gfp.ts; include/linux/gfp.h), on the constants above */
function gfp_migratetype(gfp: number): number {
  return gfp & __GFP_MOVABLE ? MIGRATE_MOVABLE : gfp & __GFP_RECLAIMABLE ? MIGRATE_RECLAIMABLE : MIGRATE_UNMOVABLE;
}

// alloc_flags (mm/internal.h)
export const ALLOC_WMARK_MIN = WMARK_MIN;
export const ALLOC_WMARK_LOW = WMARK_LOW;
export const ALLOC_WMARK_HIGH = WMARK_HIGH;
export const ALLOC_NO_WATERMARKS = 0x04;
export const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
export const ALLOC_OOM = 0x08;
export const ALLOC_NON_BLOCK = 0x10;
export const ALLOC_MIN_RESERVE = 0x20;
export const ALLOC_CPUSET = 0x40;
export const ALLOC_CMA = 0x80;
export const ALLOC_NOFRAGMENT = 0x100;
export const ALLOC_HIGHATOMIC = 0x200;
/** ALLOC_KSWAPD is __GFP_KSWAPD_RECLAIM's value "to save a branch" */
export const ALLOC_KSWAPD = 0x800;
export const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/** fallbacks[][] (mm/page_alloc.c): the order in which other migratetypes' lists are raided */
export const fallbacks: number[][] = [
  [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE], // UNMOVABLE
  [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE], // MOVABLE
  [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE], // RECLAIMABLE
];

/** One zone the allocator looked at, for the trace and for ENOMEM's explanation. */
export interface zone_attempt {
  zone: string;
  node: number;
  free: number;
  mark: number;
  watermark: "min" | "low" | "high";
  reserve: number;
  ok: boolean;
  why?: string;
}

export interface alloc_result {
  pfn: number; // -1 on failure
  zone?: zone;
  attempts: zone_attempt[];
}

function zname(z: zone): string {
  return `Node ${z.node.node_id} ${z.name}`;
}

/** account_freepages(): NR_FREE_PAGES (isolated blocks are not counted; none here) */
function account_freepages(z: zone, nr: number, _mt: number): void {
  z.nr_free_pages += nr;
}

// ---------------------------------------------------------------- allocation: the buddy lists

/**
 * expand(): split a block of order `high` down to `low`, handing each upper half back to the head of
 * the next lower free list; the caller keeps the lowest-addressed piece. Returns pages put back.
 */
export function expand(ms: MachineState, z: zone, pfn: number, low: number, high: number, mt: number): number {
  const mm = ms.mem_map;
  let size = 1 << high;
  let nr_added = 0;
  const tr = ms.trace;
  while (high > low) {
    high--;
    size >>= 1;
    const half = pfn + size;
    __add_to_free_list(mm, z, half, high, mt, false);
    set_buddy_order(ms, half, high);
    nr_added += size;
    if (tr.on) trace_expand(ms, pfn, half, high, size, mt);
  }
  return nr_added;
}

// The trace text of the hot paths lives in these out-of-line functions, so that the paths themselves
// stay small enough for the JIT to inline (they run only with tracing on).
function trace_expand(ms: MachineState, pfn: number, half: number, high: number, size: number, mt: number): void {
  ms.trace.emit("expand", F, `split order ${high + 1} at ${hex(pfn)}: keep ${hex(pfn)}, upper half ${hex(half)} (order ${high}, ${fmtBytes(size * ms.page_size)}) to the head of free_area[${high}] ${migratetype_names[mt]}`, { pfn, buddy: half, order: high });
}
function trace_free_one_page_stop(ms: MachineState, pfn: number, buddy_pfn: number, order: number): void {
  ms.trace.emit("__free_one_page", F, `order ${order}: buddy ${hex(buddy_pfn)} is ${describe_not_buddy(ms, pfn, buddy_pfn, order)}: stop merging`, { pfn, buddy: buddy_pfn, order });
}
function trace_free_one_page_merge(ms: MachineState, pfn: number, buddy_pfn: number, order: number, combined: number): void {
  ms.trace.emit("__free_one_page", F, `order ${order}: buddy ${hex(buddy_pfn)} is free: merge into ${hex(combined)} (order ${order + 1}, ${fmtBytes((2 << order) * ms.page_size)})`, { pfn, buddy: buddy_pfn, order, combined });
}
function trace_add_to_free_list(ms: MachineState, pfn: number, buddy_pfn: number, order: number, mt: number, fpi: number, to_tail: boolean): void {
  const why = fpi & FPI_TO_TAIL ? "FPI_TO_TAIL" : order >= ms.MAX_PAGE_ORDER - 1 ? `order ${order} ≥ MAX_PAGE_ORDER-1` : to_tail ? `buddy_merge_likely: the order-${order + 1} buddy of ${hex(buddy_pfn & pfn)} is free` : "buddy_merge_likely: no merge one level up in sight";
  ms.trace.emit("__add_to_free_list", F, `${hex(pfn)} (order ${order}) to the ${to_tail ? "tail" : "head"} of free_area[${order}] ${migratetype_names[mt]} (${why})`, { pfn, order, tail: to_tail });
}
function trace_free_pages(ms: MachineState, z: zone, pfn: number, order: number): void {
  ms.trace.emit("__free_pages", F, `free ${hex(pfn)} order ${order} (${fmtBytes((1 << order) * ms.page_size)}) to ${zname(z)}, pageblock ${migratetype_names[ms.get_pageblock_migratetype(pfn)]}`, { pfn, order });
}

function set_buddy_order(ms: MachineState, pfn: number, order: number): void {
  ms.mem_map.order[pfn] = order;
  ms.mem_map.flags[pfn]! |= PG_buddy;
}

/** del_page_from_free_list() + clear PageBuddy */
function del_page_from_free_list(ms: MachineState, z: zone, pfn: number, order: number, mt: number): void {
  __del_page_from_free_list(ms.mem_map, z, pfn, order, mt);
  ms.mem_map.flags[pfn]! &= ~PG_buddy;
  account_freepages(z, -(1 << order), mt);
}

/** page_del_and_expand() */
function page_del_and_expand(ms: MachineState, z: zone, pfn: number, low: number, high: number, mt: number): void {
  let nr_pages = 1 << high;
  __del_page_from_free_list(ms.mem_map, z, pfn, high, mt);
  ms.mem_map.flags[pfn]! &= ~PG_buddy;
  nr_pages -= expand(ms, z, pfn, low, high, mt);
  account_freepages(z, -nr_pages, mt);
}

/**
 * __rmqueue_smallest(): the first (head) block of the smallest order ≥ `order` on this migratetype's
 * list, split down by expand().
 */
export function __rmqueue_smallest(ms: MachineState, z: zone, order: number, mt: number): number {
  const tr = ms.trace;
  for (let cur = order; cur < ms.NR_PAGE_ORDERS; cur++) {
    const pfn = z.list_head[cur * MIGRATE_TYPES + mt]!;
    if (pfn === -1) {
      if (tr.on && cur < ms.NR_PAGE_ORDERS) tr.emit("__rmqueue_smallest", F, `free_area[${cur}] ${migratetype_names[mt]} list of ${zname(z)} is empty`, { order: cur, mt });
      continue;
    }
    if (tr.on) tr.emit("__rmqueue_smallest", F, `free_area[${cur}] ${migratetype_names[mt]}: take the list head, PFN ${hex(pfn)} (order ${cur}, ${fmtBytes((1 << cur) * ms.page_size)})`, { order: cur, mt, pfn });
    tr.depth++;
    page_del_and_expand(ms, z, pfn, order, cur, mt);
    tr.depth--;
    return pfn;
  }
  return -1;
}

/** can_steal_fallback() */
function can_steal_fallback(ms: MachineState, order: number, start_mt: number): boolean {
  if (order >= ms.pageblock_order) return true;
  return order >= Math.floor(ms.pageblock_order / 2) || start_mt === MIGRATE_RECLAIMABLE || start_mt === MIGRATE_UNMOVABLE || ms.page_group_by_mobility_disabled; // 6.12: unsigned pageblock_order / 2 (4 on x86-64)
}

/** find_suitable_fallback(): the first fallback type with a non-empty list at this order */
function find_suitable_fallback(ms: MachineState, z: zone, order: number, mt: number): { mt: number; can_steal: boolean } | undefined {
  if (z.nr_free[order] === 0) return undefined;
  let can_steal = false;
  for (let i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
    const fmt = fallbacks[mt]![i]!;
    if (z.free_area_empty(order, fmt)) continue;
    if (can_steal_fallback(ms, order, mt)) can_steal = true;
    return { mt: fmt, can_steal };
  }
  return undefined;
}

/** boost_watermark(): raise the watermark after a fragmenting fallback */
function boost_watermark(ms: MachineState, z: zone): boolean {
  const factor = ms.sysctl.watermark_boost_factor;
  if (!factor) return false;
  if (ms.pageblock_nr_pages * 4 > z.managed_pages) return false;
  let max_boost = Math.floor((z._watermark[WMARK_HIGH]! * factor) / 10000);
  if (!max_boost) return false;
  max_boost = Math.max(ms.pageblock_nr_pages, max_boost);
  z.watermark_boost = Math.min(z.watermark_boost + ms.pageblock_nr_pages, max_boost);
  return true;
}

/** change_pageblock_range(): retype every pageblock of a block of order ≥ pageblock_order */
function change_pageblock_range(ms: MachineState, pfn: number, order: number, mt: number): void {
  const nr = 1 << order;
  for (let p = pfn; p < pfn + nr; p += ms.pageblock_nr_pages) ms.set_pageblock_migratetype(p, mt);
}

/** prep_move_freepages_block(): count free and movable pages of the pageblock holding `pfn` */
function prep_move_freepages_block(ms: MachineState, z: zone, pfn: number): { start: number; free: number; movable: number } | undefined {
  const start = pfn & ~(ms.pageblock_nr_pages - 1);
  const end = start + ms.pageblock_nr_pages;
  if (!z.zone_spans_pfn(start) || !z.zone_spans_pfn(end - 1)) return undefined;
  const mm = ms.mem_map;
  let free = 0;
  let movable = 0;
  for (let p = start; p < end; ) {
    const f = mm.flags[p]!;
    if (f & PG_buddy) {
      const nr = 1 << mm.order[p]!;
      free += nr;
      p += nr;
      continue;
    }
    // PageLRU || __PageMovable: pages that migration could move (user pages on the LRU)
    if (f & 0x80 /* PG_lru */) movable++;
    p++;
  }
  return { start, free, movable };
}

/** __move_freepages_block(): move every free block of the pageblock to the new type's list (tail) */
function __move_freepages_block(ms: MachineState, z: zone, start: number, old_mt: number, new_mt: number): number {
  const mm = ms.mem_map;
  const end = start + ms.pageblock_nr_pages;
  let moved = 0;
  for (let p = start; p < end; ) {
    if (!(mm.flags[p]! & PG_buddy)) {
      p++;
      continue;
    }
    const order = mm.order[p]!;
    move_to_free_list(mm, z, p, order, old_mt, new_mt);
    p += 1 << order;
    moved += 1 << order;
  }
  ms.set_pageblock_migratetype(start, new_mt);
  return moved;
}

/**
 * steal_suitable_fallback(): take the found block; claim its whole pageblock for the requesting type
 * when the block is at least a pageblock, or when enough of the pageblock is free or alike.
 */
function steal_suitable_fallback(ms: MachineState, z: zone, pfn: number, current_order: number, order: number, start_type: number, alloc_flags: number, whole_block: boolean): number {
  const tr = ms.trace;
  const block_type = ms.get_pageblock_migratetype(pfn);
  const pb = ms.pageblock_nr_pages;
  z.stat.steals++;
  if (current_order >= ms.pageblock_order) {
    del_page_from_free_list(ms, z, pfn, current_order, block_type);
    change_pageblock_range(ms, pfn, current_order, start_type);
    if (tr.on) tr.emit("steal_suitable_fallback", F, `order ${current_order} ≥ pageblock_order ${ms.pageblock_order}: claim the whole block ${hex(pfn)} for ${migratetype_names[start_type]} (was ${migratetype_names[block_type]})`, { pfn, from: block_type, to: start_type });
    tr.depth++;
    const nr_added = expand(ms, z, pfn, order, current_order, start_type);
    tr.depth--;
    account_freepages(z, nr_added, start_type);
    return pfn;
  }
  if (boost_watermark(ms, z) && alloc_flags & ALLOC_KSWAPD) {
    if (tr.on) tr.emit("boost_watermark", F, `fragmenting fallback in ${zname(z)}: watermark_boost now ${z.watermark_boost} pages; kswapd is woken to reclaim it`, { boost: z.watermark_boost });
    z_boosted.add(z);
  }
  if (whole_block) {
    const prep = prep_move_freepages_block(ms, z, pfn);
    if (prep) {
      const alike = start_type === MIGRATE_MOVABLE ? prep.movable : block_type === MIGRATE_MOVABLE ? pb - (prep.free + prep.movable) : 0;
      if (prep.free + alike >= 1 << (ms.pageblock_order - 1) || ms.page_group_by_mobility_disabled) {
        const moved = __move_freepages_block(ms, z, prep.start, block_type, start_type);
        if (tr.on) tr.emit("steal_suitable_fallback", F, `pageblock ${hex(prep.start)}: ${prep.free} free + ${alike} alike pages ≥ half of ${pb}: claim it for ${migratetype_names[start_type]} (moved ${moved} free pages to its lists)`, { start: prep.start, free: prep.free, alike });
        tr.depth++;
        const got = __rmqueue_smallest(ms, z, order, start_type);
        tr.depth--;
        return got;
      }
      if (tr.on) tr.emit("steal_suitable_fallback", F, `pageblock ${hex(prep.start)}: only ${prep.free} free + ${alike} alike of ${pb}: take just the block, the pageblock stays ${migratetype_names[block_type]}`);
    }
  }
  if (tr.on) tr.emit("steal_suitable_fallback", F, `take ${hex(pfn)} (order ${current_order}) from the ${migratetype_names[block_type]} list`);
  tr.depth++;
  page_del_and_expand(ms, z, pfn, order, current_order, block_type);
  tr.depth--;
  return pfn;
}

/** zones whose ZONE_BOOSTED_WATERMARK bit was set during this call (kswapd clears their boost) */
const z_boosted = new Set<zone>();

/**
 * __rmqueue_fallback(): steal from another migratetype, largest block first (to claim whole
 * pageblocks), or the smallest block when a movable request cannot claim the pageblock.
 */
export function __rmqueue_fallback(ms: MachineState, z: zone, order: number, start_mt: number, alloc_flags: number): number {
  const tr = ms.trace;
  let min_order = order;
  if (order < ms.pageblock_order && alloc_flags & ALLOC_NOFRAGMENT) min_order = ms.pageblock_order;
  let cur: number;
  let found: { mt: number; can_steal: boolean } | undefined;
  for (cur = ms.MAX_PAGE_ORDER; cur >= min_order; cur--) {
    found = find_suitable_fallback(ms, z, cur, start_mt);
    if (!found) continue;
    if (!found.can_steal && start_mt === MIGRATE_MOVABLE && cur > order) {
      // find_smallest
      for (cur = order; cur < ms.NR_PAGE_ORDERS; cur++) {
        found = find_suitable_fallback(ms, z, cur, start_mt);
        if (found) break;
      }
    }
    break;
  }
  if (!found || cur < min_order || cur >= ms.NR_PAGE_ORDERS) {
    if (tr.on)
      tr.emit("__rmqueue_fallback", F, alloc_flags & ALLOC_NOFRAGMENT ? `no other migratetype has a block of order ≥ ${min_order} in ${zname(z)} (ALLOC_NOFRAGMENT: only whole pageblocks may be stolen)` : `no other migratetype has a free block of order ≥ ${order} in ${zname(z)}`);
    return -1;
  }
  const pfn = z.list_head[cur * MIGRATE_TYPES + found.mt]!;
  z.stat.fallbacks++;
  ms.vmstat.extfrag++;
  if (tr.on) tr.emit("__rmqueue_fallback", F, `${migratetype_names[start_mt]} lists are empty: fall back to ${migratetype_names[found.mt]} free_area[${cur}], head PFN ${hex(pfn)}`, { order: cur, from: found.mt, pfn });
  tr.depth++;
  const got = steal_suitable_fallback(ms, z, pfn, cur, order, start_mt, alloc_flags, found.can_steal);
  tr.depth--;
  return got;
}

/** __rmqueue(): the requested type's lists, then the fallbacks (no CMA) */
function __rmqueue(ms: MachineState, z: zone, order: number, mt: number, alloc_flags: number): number {
  const pfn = __rmqueue_smallest(ms, z, order, mt);
  if (pfn !== -1) return pfn;
  return __rmqueue_fallback(ms, z, order, mt, alloc_flags);
}

// ---------------------------------------------------------------- watermarks

/** __zone_watermark_unusable_free(): (1 << order) - 1 (no highatomic reserve, no CMA) */
function __zone_watermark_unusable_free(order: number): number {
  return (1 << order) - 1;
}

/** __zone_watermark_ok() */
export function __zone_watermark_ok(ms: MachineState, z: zone, order: number, mark: number, highest_zoneidx: number, alloc_flags: number, free_pages: number): boolean {
  let min = mark;
  free_pages -= __zone_watermark_unusable_free(order);
  if (alloc_flags & ALLOC_RESERVES) {
    if (alloc_flags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (alloc_flags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (alloc_flags & ALLOC_OOM) min -= Math.floor(min / 2);
  }
  if (free_pages <= min + (z.lowmem_reserve[highest_zoneidx] ?? 0)) return false;
  if (!order) return true;
  for (let o = order; o < ms.NR_PAGE_ORDERS; o++) {
    if (!z.nr_free[o]) continue;
    for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) if (!z.free_area_empty(o, mt)) return true;
  }
  return false;
}

/** zone_watermark_fast() */
function zone_watermark_fast(ms: MachineState, z: zone, order: number, mark: number, highest_zoneidx: number, alloc_flags: number): boolean {
  const free_pages = z.nr_free_pages;
  if (!order) {
    // "Fast check for order-0 only"
    if (free_pages > mark + (z.lowmem_reserve[highest_zoneidx] ?? 0)) return true;
  }
  if (__zone_watermark_ok(ms, z, order, mark, highest_zoneidx, alloc_flags, free_pages)) return true;
  if (!order && alloc_flags & ALLOC_MIN_RESERVE && z.watermark_boost && (alloc_flags & ALLOC_WMARK_MASK) === WMARK_MIN) {
    return __zone_watermark_ok(ms, z, order, z._watermark[WMARK_MIN]!, highest_zoneidx, alloc_flags, free_pages);
  }
  return false;
}

// ---------------------------------------------------------------- zonelists and the allocator entry

/** the zonelist of a node (build_zonelists): this node's zones highest first, then the other nodes'
 * by distance (ties by node id), each highest first; only populated zones. */
export function node_zonelist(ms: MachineState, nid: number, thisnode = false): zone[] {
  return cached_zonelist(ms, nid, thisnode).slice();
}

/** pgdat->node_zonelists[ZONELIST_FALLBACK / ZONELIST_NOFALLBACK], built on first use as
 * build_zonelists() builds them at boot (populated zones and node distances do not change after boot:
 * no memory hotplug here; rebuilt if the distance table is replaced); shared, never mutated */
function cached_zonelist(ms: MachineState, nid: number, thisnode: boolean): zone[] {
  const node = ms.nodes[nid]!;
  if (node.zonelists_distance !== ms.distance) {
    node.node_zonelists = [undefined, undefined];
    node.preferred_zones = [];
    node.zonelists_distance = ms.distance;
  }
  const k = thisnode ? 1 : 0;
  return (node.node_zonelists[k] ??= build_zonelist(ms, nid, thisnode));
}

/** PENALTY_FOR_NODE_WITH_CPUS (mm/page_alloc.c) */
const PENALTY_FOR_NODE_WITH_CPUS = 1;
const node_orders_cache = new WeakMap<number[][], number[][]>();

/**
 * __build_all_zonelists() → build_zonelists() for every node in turn (mm/page_alloc.c, 6.12): each
 * node's fallback order comes from find_next_best_node() — the local node first, then the nearest,
 * where a node numbered below the local one and a node with CPUs each cost 1 more, and among equals
 * the less loaded node wins (node_load[], a static array shared by all nodes' builds: the first node
 * of each new distance group gets one more load, so equidistant nodes are used round-robin).
 * The CPUs of a node are the ones `numactl --hardware` lists (src/proc/node.ts).
 */
export function node_fallback_orders(ms: MachineState): number[][] {
  const hit = node_orders_cache.get(ms.distance);
  if (hit && hit.length === ms.nodes.length) return hit;
  const n = ms.nodes.length;
  const per = Math.max(1, Math.floor(ms.nr_cpus / n));
  const has_cpus = (id: number) => id * per < ms.nr_cpus;
  const dist = (a: number, b: number) => ms.distance[a]?.[b] ?? (a === b ? 10 : 20);
  const node_load = new Array<number>(n).fill(0);
  const orders: number[][] = [];
  for (let local = 0; local < n; local++) {
    const used = new Array<boolean>(n).fill(false);
    const order: number[] = [];
    let prev = local;
    for (;;) {
      // find_next_best_node()
      let best = -1;
      if (!used[local]) best = local;
      else {
        let min_val = Infinity;
        for (let m = 0; m < n; m++) {
          if (used[m]) continue;
          let val = dist(local, m) + (m < local ? 1 : 0) + (has_cpus(m) ? PENALTY_FOR_NODE_WITH_CPUS : 0);
          val = val * 1024 + node_load[m]!; // val *= MAX_NUMNODES; val += node_load[n]
          if (val < min_val) {
            min_val = val;
            best = m;
          }
        }
      }
      if (best < 0) break;
      used[best] = true;
      if (dist(local, best) !== dist(local, prev)) node_load[best]!++;
      order.push(best);
      prev = best;
    }
    orders.push(order);
  }
  node_orders_cache.set(ms.distance, orders);
  return orders;
}

function build_zonelist(ms: MachineState, nid: number, thisnode: boolean): zone[] {
  // build_thisnode_zonelists(): only the node itself; else build_zonelists_in_node_order()
  const order = thisnode ? [nid] : node_fallback_orders(ms)[nid]!;
  const out: zone[] = [];
  for (const n of order) {
    const node = ms.nodes[n]!;
    for (let i = node.node_zones.length - 1; i >= 0; i--) {
      const z = node.node_zones[i]!;
      if (z.populated) out.push(z);
    }
  }
  return out;
}

/** the zone index gfp_zone() selects, in this configuration's zone numbering; -1 if BAD */
export function gfp_zone(ms: MachineState, gfp: number): number {
  const zones = ms.arch.zones;
  // the common case: the same configuration as the previous call
  if (zones === gfp_zone_last.zones) return gfp_zone_last.table[gfp & GFP_ZONEMASK]!;
  let table = gfp_zone_table.get(zones);
  if (!table) {
    // GFP_ZONE_TABLE: gfp_zone_type() looks only at the four zone modifier bits (0xf)
    table = new Int8Array(16);
    for (let bits = 0; bits < 16; bits++) {
      const t = gfp_zone_type(bits, zones);
      table[bits] = t ? zones.indexOf(t) : -1;
    }
    gfp_zone_table.set(zones, table);
  }
  gfp_zone_last.zones = zones;
  gfp_zone_last.table = table;
  return table[gfp & GFP_ZONEMASK]!;
}
/** ___GFP_DMA | ___GFP_HIGHMEM | ___GFP_DMA32 | ___GFP_MOVABLE */
const GFP_ZONEMASK = 0xf;
/** gfp_zone() per zone configuration (an arch's zone list), computed once */
const gfp_zone_table = new WeakMap<readonly ZoneType[], Int8Array>();
/** the configuration of the last gfp_zone() call and its table (an object, not two module-level `let`s:
 * the JIT checks a `let` for its temporal dead zone at every read) */
const gfp_zone_last: { zones: readonly ZoneType[] | undefined; table: Int8Array } = { zones: undefined, table: new Int8Array(16) };

/** alloc_flags_nofragment(): with ZONE_DMA32 configured, a request whose preferred zone is Normal
 * avoids fragmenting fallbacks there while DMA32 can serve it */
function alloc_flags_nofragment(ms: MachineState, preferred: zone | undefined, gfp: number): number {
  let flags = gfp & __GFP_KSWAPD_RECLAIM ? ALLOC_KSWAPD : 0;
  if (!ms.arch.zones.includes("DMA32") || !preferred) return flags;
  if (preferred.name !== "Normal") return flags;
  const dma32 = preferred.node.node_zones[preferred.zone_idx - 1];
  if (ms.nodes.length > 1 && !(dma32 && dma32.populated)) return flags;
  return flags | ALLOC_NOFRAGMENT;
}

const WMARK_NAMES = ["min", "low", "high"] as const;

/** the first zone of the zonelist at or below highest_zoneidx (the preferred zone) */
function first_zone(zl: zone[], highest_zoneidx: number): zone | undefined {
  for (let i = 0; i < zl.length; i++) if (zl[i]!.zone_idx <= highest_zoneidx) return zl[i];
  return undefined;
}

/** first_zone(cached_zonelist(…), highest_zoneidx), remembered in the node's preferred_zones[] (which
 * cached_zonelist() resets with the zonelists); null when no zone qualifies */
function preferred_zone(ms: MachineState, nid: number, thisnode: number, highest_zoneidx: number): zone | null {
  const z = first_zone(cached_zonelist(ms, nid, thisnode !== 0), highest_zoneidx) ?? null;
  ms.nodes[nid]!.preferred_zones[highest_zoneidx * 2 + thisnode] = z;
  return z;
}

/**
 * get_page_from_freelist(): walk the zonelist from the preferred zone; a zone is used when it passes
 * the watermark that alloc_flags selects; returns the PFN or -1.
 */
function get_page_from_freelist(ms: MachineState, gfp: number, order: number, alloc_flags: number, zl: zone[], highest_zoneidx: number, mt: number, attempts: zone_attempt[]): { pfn: number; zone?: zone } {
  const tr = ms.trace;
  for (;;) {
    const no_fallback = alloc_flags & ALLOC_NOFRAGMENT;
    const preferred = first_zone(zl, highest_zoneidx);
    let retry = false;
    for (const z of zl) {
      if (z.zone_idx > highest_zoneidx) continue;
      if (no_fallback && ms.nodes.length > 1 && preferred && z.node !== preferred.node) {
        // "If moving to a remote node, retry but allow fragmenting fallbacks"
        alloc_flags &= ~ALLOC_NOFRAGMENT;
        retry = true;
        break;
      }
      const wm = alloc_flags & ALLOC_WMARK_MASK;
      const mark = z.wmark_pages(wm);
      const wname = WMARK_NAMES[wm]!;
      const reserve = z.lowmem_reserve[highest_zoneidx] ?? 0;
      const ok = zone_watermark_fast(ms, z, order, mark, highest_zoneidx, alloc_flags);
      const att: zone_attempt = { zone: z.name, node: z.node.node_id, free: z.nr_free_pages, mark, watermark: wname, reserve, ok };
      attempts.push(att);
      if (!ok) {
        att.why = order && z.nr_free_pages - ((1 << order) - 1) > mark + reserve ? `no free block of order ≥ ${order}` : `free ${z.nr_free_pages} ≤ ${wname} watermark ${mark}${reserve ? ` + lowmem_reserve ${reserve}` : ""}`;
        if (tr.on) tr.emit("get_page_from_freelist", F, `${zname(z)}: ${att.why}: skip`, { ...att });
        continue;
      }
      if (tr.on) tr.emit("get_page_from_freelist", F, `${zname(z)}: ${z.nr_free_pages} free pages > ${wname} watermark ${mark}${reserve ? ` + lowmem_reserve ${reserve}` : ""}: try this zone`, { ...att });
      tr.depth++;
      const pfn = __rmqueue(ms, z, order, mt, alloc_flags);
      tr.depth--;
      if (pfn !== -1) {
        if (z_boosted.size && alloc_flags & ALLOC_KSWAPD) wakeup_kswapd(ms, z.node, highest_zoneidx);
        return { pfn, zone: z };
      }
      att.ok = false;
      att.why = "__rmqueue found no block";
    }
    if (retry) continue;
    if (no_fallback) {
      // "It's possible on a UMA machine to get through all zones that are fragmented.
      //  If avoiding fragmentation, reset and try again."
      alloc_flags &= ~ALLOC_NOFRAGMENT;
      if (tr.on) tr.emit("get_page_from_freelist", F, "every zone would need a fragmenting fallback: retry without ALLOC_NOFRAGMENT");
      continue;
    }
    return { pfn: -1 };
  }
}

/**
 * What the page allocator calls in mm/vmscan.c and mm/oom_kill.c when memory runs short. mm/vmscan.ts
 * and mm/oom_kill.ts fill these in when they load (a hook rather than an import: they import this file).
 * - wakeup_kswapd: kswapd is woken (it runs at the next schedule point, see vmscan.ts);
 * - try_to_free_pages: direct reclaim, returns the number of pages reclaimed;
 * - out_of_memory: the OOM killer, true if it freed memory (a victim was killed).
 */
export const reclaim_hooks: {
  wakeup_kswapd?: (ms: MachineState, node: pglist_data, order: number, highest_zoneidx: number) => void;
  try_to_free_pages?: (ms: MachineState, gfp: number, order: number, zl: zone[], highest_zoneidx: number) => number;
  out_of_memory?: (ms: MachineState, gfp: number, order: number) => boolean;
  /** mm/compaction.ts: __alloc_pages_direct_compact() (compact, then `retry`); undefined if not tried */
  compact?: <R extends { pfn: number }>(ms: MachineState, gfp: number, order: number, alloc_flags: number, zl: zone[], highest_zoneidx: number, retry: () => R) => R | undefined;
} = {};

/** MAX_RECLAIM_RETRIES (mm/internal.h) */
const MAX_RECLAIM_RETRIES = 16;
/** PAGE_ALLOC_COSTLY_ORDER (include/linux/mmzone.h) */
export const PAGE_ALLOC_COSTLY_ORDER = 3;

/**
 * The reclaim part of __alloc_pages_slowpath(): __alloc_pages_direct_reclaim() (try_to_free_pages, then
 * get_page_from_freelist again) while should_reclaim_retry() says progress is possible, then
 * __alloc_pages_may_oom() for requests the kernel does not let fail (order ≤ PAGE_ALLOC_COSTLY_ORDER
 * without __GFP_NORETRY; __GFP_NORETRY is not modelled). Simplified retry rule: retry while a reclaim
 * pass made progress, at most MAX_RECLAIM_RETRIES times.
 */
function __alloc_pages_may_reclaim(ms: MachineState, gfp: number, order: number, alloc_flags: number, zl: zone[], highest_zoneidx: number, mt: number, attempts: zone_attempt[]): { pfn: number; zone?: zone } {
  const tr = ms.trace;
  let got: { pfn: number; zone?: zone } = { pfn: -1 };
  for (let oom_rounds = 0; oom_rounds < 64; oom_rounds++) {
    for (let retries = 0; retries < MAX_RECLAIM_RETRIES; retries++) {
      ms.vmstat.allocstall++;
      if (tr.on) tr.emit("__alloc_pages_direct_reclaim", F, `still below the min watermark: the allocating task reclaims memory itself (allocstall)`);
      tr.depth++;
      const progress = reclaim_hooks.try_to_free_pages!(ms, gfp, order, zl, highest_zoneidx);
      tr.depth--;
      if (progress > 0) {
        got = get_page_from_freelist(ms, gfp, order, alloc_flags, zl, highest_zoneidx, mt, attempts);
        if (got.pfn !== -1) return got;
      } else break;
    }
    if (order > PAGE_ALLOC_COSTLY_ORDER || !reclaim_hooks.out_of_memory) return got;
    if (tr.on) tr.emit("__alloc_pages_may_oom", F, `reclaim made no progress for an order-${order} request: invoke the OOM killer`);
    if (!reclaim_hooks.out_of_memory(ms, gfp, order)) return got;
    got = get_page_from_freelist(ms, gfp, order, alloc_flags, zl, highest_zoneidx, mt, attempts);
    if (got.pfn !== -1) return got;
  }
  return got;
}

/** kswapd, as far as the allocator sees it: balance_pgdat() resets the watermark boost of the node's
 * zones up to the class zone; with mm/vmscan.ts loaded, kswapd is also woken to reclaim. */
export function wakeup_kswapd(ms: MachineState, node: pglist_data, highest_zoneidx: number, order = 0): void {
  if (reclaim_hooks.wakeup_kswapd) reclaim_hooks.wakeup_kswapd(ms, node, order, highest_zoneidx);
  const tr = ms.trace;
  let any = false;
  for (const z of node.node_zones) {
    if (z.zone_idx <= highest_zoneidx && z.watermark_boost) {
      z.watermark_boost = 0;
      any = true;
    }
  }
  z_boosted.clear();
  if (any && tr.on) tr.emit("wakeup_kswapd", "mm/vmscan.c", `kswapd${node.node_id} runs balance_pgdat(): the watermark boost is reclaimed and reset to 0`);
}

/** gfp_to_alloc_flags(): the slow path's flags */
function gfp_to_alloc_flags(gfp: number, order: number): number {
  let f = ALLOC_WMARK_MIN | ALLOC_CPUSET;
  if (gfp & __GFP_HIGH) f |= ALLOC_MIN_RESERVE;
  if (gfp & __GFP_KSWAPD_RECLAIM) f |= ALLOC_KSWAPD;
  if (!(gfp & __GFP_DIRECT_RECLAIM)) {
    if (!(gfp & __GFP_NOMEMALLOC)) {
      f |= ALLOC_NON_BLOCK;
      if (order > 0) f |= ALLOC_HIGHATOMIC;
    }
    if (f & ALLOC_MIN_RESERVE) f &= ~ALLOC_CPUSET;
  }
  return f;
}

/**
 * __alloc_pages(): the fast path at the low watermark, then the slow path at the min watermark
 * (after waking kswapd). Returns the PFN of the block's first frame, or -1 with the zones tried.
 * The state changes only if a block is handed out.
 */
export function __alloc_pages(ms: MachineState, gfp: number, order: number, preferred_nid = 0, nodemask?: readonly number[], local_nid = preferred_nid): alloc_result {
  const tr = ms.trace;
  if (!tr.on && nodemask === undefined) {
    const r = alloc_pages_quiet(ms, gfp, order, preferred_nid, local_nid);
    if (r !== undefined) return r;
  }
  const attempts: zone_attempt[] = [];
  const highest_zoneidx = gfp_zone(ms, gfp);
  // gfp_migratetype(): everything is UNMOVABLE with mobility grouping off
  const mt = ms.page_group_by_mobility_disabled ? MIGRATE_UNMOVABLE : gfp_migratetype(gfp);
  let zl = cached_zonelist(ms, preferred_nid, !!(gfp & __GFP_THISNODE));
  // for_next_zone_zonelist_nodemask(): a policy's nodemask filters the zonelist
  if (nodemask !== undefined) zl = zl.filter((z) => nodemask.includes(z.node.node_id));
  const preferred = first_zone(zl, highest_zoneidx);
  if (tr.on)
    tr.emit("__alloc_pages", F, `order ${order} (${fmtBytes((1 << order) * ms.page_size)}), mode ${gfp_mode(gfp)}: zones ${zl.filter((z) => z.zone_idx <= highest_zoneidx).map((z) => z.name).join(" → ") || "(none)"}, migratetype ${migratetype_names[mt]}`, { order, gfp, mt });
  tr.depth++;
  let alloc_flags = ALLOC_WMARK_LOW | alloc_flags_nofragment(ms, preferred, gfp);
  let got = get_page_from_freelist(ms, gfp, order, alloc_flags, zl, highest_zoneidx, mt, attempts);
  if (got.pfn === -1) {
    // __alloc_pages_slowpath(): wake kswapd, retry at the min watermark (reserves for __GFP_HIGH)
    alloc_flags = gfp_to_alloc_flags(gfp, order);
    if (tr.on) tr.emit("__alloc_pages_slowpath", F, `fast path failed at the low watermark: wake kswapd, retry at the min watermark${alloc_flags & ALLOC_MIN_RESERVE ? " with access to part of the reserve (__GFP_HIGH)" : ""}`);
    if (alloc_flags & ALLOC_KSWAPD && preferred) wakeup_kswapd(ms, preferred.node, highest_zoneidx, order);
    got = get_page_from_freelist(ms, gfp, order, alloc_flags, zl, highest_zoneidx, mt, attempts);
    if (got.pfn === -1 && reclaim_hooks.compact) got = reclaim_hooks.compact(ms, gfp, order, alloc_flags, zl, highest_zoneidx, () => get_page_from_freelist(ms, gfp, order, alloc_flags, zl, highest_zoneidx, mt, attempts)) ?? got;
    if (got.pfn === -1 && gfp & __GFP_DIRECT_RECLAIM && reclaim_hooks.try_to_free_pages) got = __alloc_pages_may_reclaim(ms, gfp, order, alloc_flags, zl, highest_zoneidx, mt, attempts);
  }
  tr.depth--;
  // (Set.prototype.clear allocates a new table even when empty: clear only a non-empty set)
  if (z_boosted.size) z_boosted.clear();
  if (got.pfn === -1) {
    if (!(gfp & __GFP_NOWARN)) ms.printk(`${ms.comm}: page allocation failure: order:${order}, mode:${gfp_mode(gfp)}, nodemask=(null),cpuset=/,mems_allowed=${ms.nodes.length > 1 ? `0-${ms.nodes.length - 1}` : "0"}`);
    if (tr.on) tr.emit("warn_alloc", F, `page allocation failure: order:${order}, mode:${gfp_mode(gfp)}`);
    return { pfn: -1, attempts };
  }
  prep_new_page(ms, got.pfn, order);
  got.zone!.stat.pgalloc += 1 << order;
  ms.vmstat.pgalloc += 1 << order;
  zone_statistics(preferred ?? got.zone!, got.zone!, local_nid);
  return { pfn: got.pfn, zone: got.zone, attempts };
}

/** zone_statistics(): NUMA_HIT when the page came from the preferred zone's node, else NUMA_MISS here
 * and NUMA_FOREIGN on the preferred zone; NUMA_LOCAL/OTHER by the allocating CPU's node */
function zone_statistics(preferred: zone, z: zone, local_nid: number): void {
  const nid = z.node.node_id;
  if (nid === preferred.node.node_id) z.numa.numa_hit++;
  else {
    z.numa.numa_miss++;
    preferred.numa.numa_foreign++;
  }
  if (nid === local_nid) z.numa.numa_local++;
  else z.numa.numa_other++;
}

/**
 * The common case of __alloc_pages() with tracing off, without the general path's bookkeeping: the
 * preferred zone passes the low watermark and __rmqueue_smallest() finds a block of the requested
 * migratetype there. Same state changes and same result (one zone_attempt) as the general path; returns
 * undefined, having changed nothing, in every other case (the general path then runs).
 */
function alloc_pages_quiet(ms: MachineState, gfp: number, order: number, preferred_nid: number, local_nid: number): alloc_result | undefined {
  const pfn = rmqueue_quiet(ms, gfp, order, preferred_nid, local_nid);
  if (pfn < 0) return undefined;
  // what the watermark test saw: the zone's free count before the block left, its low mark, its reserve
  const z = ms.page_zone(pfn);
  return new quiet_alloc_result(pfn, z, z.nr_free_pages + (1 << order), z._watermark[WMARK_LOW]! + z.watermark_boost, z.lowmem_reserve[gfp_zone(ms, gfp)] ?? 0);
}

/**
 * The quiet fast path proper: the PFN handed out, or -1 having changed nothing (the general path then
 * runs). Split from alloc_pages_quiet() so that bulk callers (alloc_pages_pfn) build no object at all.
 * get_page_from_freelist() → rmqueue() → __rmqueue_smallest() → page_del_and_expand() → expand(), then
 * prep_new_page() and the counters, spelled out in one function over local copies of the arrays: this
 * is the allocator's hottest path, and the JIT keeps it small and free of repeated loads this way.
 */
function rmqueue_quiet(ms: MachineState, gfp: number, order: number, preferred_nid: number, local_nid: number): number {
  const highest_zoneidx = gfp_zone(ms, gfp);
  if (highest_zoneidx < 0) return -1;
  // first_zone(): the preferred zone, from the node's cache while its zonelists stand. (The rare cases
  // leave this function rather than rejoin it: a call that rejoins the path makes the JIT re-check, after
  // it, every object the path uses.)
  const node = ms.nodes[preferred_nid]!;
  const thisnode = gfp & __GFP_THISNODE ? 1 : 0;
  const z = node.zonelists_distance === ms.distance ? node.preferred_zones[highest_zoneidx * 2 + thisnode] : undefined;
  if (z === undefined) return preferred_zone(ms, preferred_nid, thisnode, highest_zoneidx) === null ? -1 : rmqueue_quiet(ms, gfp, order, preferred_nid, local_nid);
  if (z === null) return -1;
  // zone_watermark_fast() at the low watermark (ALLOC_NOFRAGMENT and ALLOC_KSWAPD only matter to the
  // fallback, which this path never takes): its page-count test. Its other half for order > 0, "a free
  // block of order ≥ N on some pcp-type list", is implied by the search below finding one on this
  // request's list (a pcp type; other types take the general path), and when that search fails the
  // general path runs anyway. (For order 0 the page-count test is all of zone_watermark_fast(): its
  // boosted-watermark retry needs ALLOC_MIN_RESERVE.)
  // gfp_migratetype(): everything is UNMOVABLE with mobility grouping off
  const mt = ms.page_group_by_mobility_disabled ? MIGRATE_UNMOVABLE : gfp_migratetype(gfp);
  const free = z.nr_free_pages;
  if (mt >= MIGRATE_PCPTYPES || !(free - ((1 << order) - 1) > z._watermark[WMARK_LOW]! + z.watermark_boost + (z.lowmem_reserve[highest_zoneidx] ?? 0))) return -1;
  // __rmqueue_smallest(): the head of this order's list (free_area_words: list_head at [li], list_tail
  // at [NL + li], list_count at [2 NL + li], nr_free at [3 NL + order]); when the list is empty, a larger
  // block split by expand(). (Two functions, so that the common case runs no loop: the JIT re-checks, after
  // a loop, every object the path uses.)
  const w = z.free_area_words;
  const li = order * MIGRATE_TYPES + mt;
  const pfn = w[li]!;
  if (pfn === -1) return rmqueue_quiet_expand(ms, z, free, order, mt, local_nid);
  // page_del_and_expand(), with nothing to expand
  del_list_head(z, w, li, pfn, order);
  // account_freepages()
  z.nr_free_pages = free - (1 << order);
  return quiet_prep_new_page(ms, z, pfn, order, local_nid);
}

/** rmqueue_quiet() when the request's own list is empty: __rmqueue_smallest()'s search of the larger
 * orders, then page_del_and_expand() */
function rmqueue_quiet_expand(ms: MachineState, z: zone, free: number, order: number, mt: number, local_nid: number): number {
  const w = z.free_area_words;
  const NL = z.nr_lists;
  const NR = ms.NR_PAGE_ORDERS;
  let cur = order;
  let li = order * MIGRATE_TYPES + mt;
  let pfn = -1;
  while (pfn === -1) {
    if (++cur >= NR) return -1;
    li += MIGRATE_TYPES;
    pfn = w[li]!;
  }
  // (the zone's pg_* fields are its node's mem_map arrays, see struct zone)
  const next = z.pg_next;
  const prev = z.pg_prev;
  const flags = z.pg_flags;
  const page_order = z.pg_order;
  del_list_head(z, w, li, pfn, cur);
  // expand(): each upper half to the head of the next lower list (__add_to_free_list, tail = false)
  while (cur > order) {
    cur--;
    li -= MIGRATE_TYPES;
    const half = pfn + (1 << cur);
    const head = w[li]!;
    if (head === -1) w[NL + li] = half;
    else prev[head] = half;
    next[half] = head;
    prev[half] = -1;
    w[li] = half;
    w[2 * NL + li]!++;
    w[3 * NL + cur]!++;
    page_order[half] = cur; // set_buddy_order()
    flags[half]! |= PG_buddy;
  }
  // account_freepages(): the pages that stayed out, 1 << order
  z.nr_free_pages = free - (1 << order);
  return quiet_prep_new_page(ms, z, pfn, order, local_nid);
}

/** __del_page_from_free_list() of a list's head (its prev is -1), on a zone's free_area_words */
function del_list_head(z: zone, w: Int32Array, li: number, pfn: number, order: number): void {
  const NL = z.nr_lists;
  const next = z.pg_next;
  const n = next[pfn]!;
  w[li] = n;
  if (n === -1) w[NL + li] = -1;
  else z.pg_prev[n] = -1;
  next[pfn] = -1;
  w[2 * NL + li]!--;
  w[3 * NL + order]!--;
}

/** the end of rmqueue_quiet(): prep_new_page() (refcount 1, the head remembers the block's order,
 * PageBuddy cleared), the zone's and the machine's counters; returns the PFN */
function quiet_prep_new_page(ms: MachineState, z: zone, pfn: number, order: number, local_nid: number): number {
  const flags = z.pg_flags;
  z.pg_refcount[pfn] = 1;
  flags[pfn] = (flags[pfn]! & ~PG_buddy) | PG_head;
  z.pg_order[pfn] = order;
  z.stat.pgalloc += 1 << order;
  ms.vmstat.pgalloc += 1 << order;
  zone_statistics(z, z, local_nid);
  return pfn;
}

/**
 * alloc_pages_node() for bulk callers: __alloc_pages() returning just the first PFN of the block, or -1
 * (the zone is ms.page_zone(pfn)). Same state changes, same PFNs; with tracing off it allocates no result
 * object, which is what a million-step workload needs.
 */
export function alloc_pages_pfn(ms: MachineState, gfp: number, order: number, preferred_nid = 0): number {
  if (!ms.trace.on) {
    const pfn = rmqueue_quiet(ms, gfp, order, preferred_nid, preferred_nid);
    if (pfn >= 0) return pfn;
  }
  return __alloc_pages(ms, gfp, order, preferred_nid).pfn;
}

/** alloc_pages_quiet()'s result: one object, its `attempts` (the one zone tried, which passed the low
 * watermark) made on first read, as the general path would have recorded them. (Allocating fewer
 * objects per call matters: a million-step run otherwise spends its time in the garbage collector.) */
class quiet_alloc_result implements alloc_result {
  private _attempts: zone_attempt[] | undefined = undefined;
  constructor(
    readonly pfn: number,
    readonly zone: zone,
    private readonly free: number,
    private readonly mark: number,
    private readonly reserve: number,
  ) {}
  get attempts(): zone_attempt[] {
    return (this._attempts ??= [{ zone: this.zone.name, node: this.zone.node.node_id, free: this.free, mark: this.mark, watermark: "low", reserve: this.reserve, ok: true }]);
  }
}

/** prep_new_page(): refcount 1, the head remembers the block's order */
function prep_new_page(ms: MachineState, pfn: number, order: number): void {
  const mm = ms.mem_map;
  mm.refcount[pfn] = 1;
  mm.flags[pfn] = (mm.flags[pfn]! & ~PG_buddy) | PG_head;
  mm.order[pfn] = order;
}

/** the default GFP for user pages (do_anonymous_page) */
export const GFP_USER_PAGES = GFP_HIGHUSER_MOVABLE;

// ---------------------------------------------------------------- freeing

// (declared, then exported: uses inside this file stay module-local consts, see above)
const FPI_NONE = 0;
const FPI_TO_TAIL = 1 << 1;
export { FPI_NONE, FPI_TO_TAIL };

/** buddy_merge_likely(): is the order+1 buddy of the block we would merge into free already? Then
 * put this block at the tail, so it stays free longer and can merge two levels up. */
function buddy_merge_likely(ms: MachineState, pfn: number, buddy_pfn: number, order: number): boolean {
  if (order >= ms.MAX_PAGE_ORDER - 1) return false;
  const higher = buddy_pfn & pfn;
  return is_free_buddy(ms.mem_map, ms.max_pfn, higher, __find_buddy_pfn(higher, order + 1), order + 1);
}

/** page_is_buddy() of mm/internal.ts, spelled out for the free path (find_buddy_page_pfn() !== -1) */
function is_free_buddy(mm: mem_map, max_pfn: number, pfn: number, buddy: number, order: number): boolean {
  return buddy >= 0 && buddy < max_pfn && (mm.flags[buddy]! & PG_buddy) !== 0 && mm.order[buddy] === order && mm.zoneid[buddy] === mm.zoneid[pfn];
}

/**
 * __free_one_page(): merge with free buddies (pfn ^ (1 << order)) as far as they go, then put the
 * block at the head of its list, or at the tail when a merge one level up looks likely.
 * With tracing off, free_one_page_quiet() does the same.
 */
export function __free_one_page(ms: MachineState, pfn: number, z: zone, order: number, mt: number, fpi: number): void {
  const tr = ms.trace;
  if (!tr.on) return free_one_page_quiet(ms, pfn, z, order, mt, fpi);
  const mm = ms.mem_map;
  const max_pfn = ms.max_pfn;
  const MAX = ms.MAX_PAGE_ORDER;
  const pageblock_order = ms.pageblock_order;
  let buddy_pfn = 0;
  account_freepages(z, 1 << order, mt);
  while (order < MAX) {
    buddy_pfn = __find_buddy_pfn(pfn, order);
    let buddy_mt = mt;
    if (!is_free_buddy(mm, max_pfn, pfn, buddy_pfn, order)) {
      trace_free_one_page_stop(ms, pfn, buddy_pfn, order);
      break;
    }
    if (order >= pageblock_order) {
      buddy_mt = ms.get_pageblock_migratetype(buddy_pfn);
      if (mt !== buddy_mt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddy_mt))) break;
    }
    __del_page_from_free_list(mm, z, buddy_pfn, order, buddy_mt);
    mm.flags[buddy_pfn]! &= ~PG_buddy;
    if (buddy_mt !== mt) ms.set_pageblock_migratetype(buddy_pfn, mt);
    const combined = buddy_pfn & pfn;
    trace_free_one_page_merge(ms, pfn, buddy_pfn, order, combined);
    pfn = combined;
    order++;
  }
  set_buddy_order(ms, pfn, order);
  const to_tail = fpi & FPI_TO_TAIL ? true : buddy_merge_likely(ms, pfn, buddy_pfn, order);
  __add_to_free_list(mm, z, pfn, order, mt, to_tail);
  trace_add_to_free_list(ms, pfn, buddy_pfn, order, mt, fpi, to_tail);
}

// ---- __free_one_page() with tracing off, the quiet free path. The same state changes, spelled out
// for the JIT: page_is_buddy(), __del_page_from_free_list(), set_buddy_order(), buddy_merge_likely()
// and __add_to_free_list() over the zone's arrays (its pg_* fields are its node's mem_map arrays, its
// free_area_words hold list_head at [li], list_tail at [NL + li], list_count at [2 NL + li], nr_free at
// [3 NL + order]). Three functions: the first merge test in free_one_page_quiet(), as most frees find
// their buddy in use and stop there, the merging loop in free_one_page_merge_quiet(), the list insertion
// in free_one_page_add_quiet(); so the common case runs no loop (after a loop the JIT re-checks every
// object the path uses), and no tracing call (each would do the same).

/** __free_one_page() with tracing off: the first merge test */
function free_one_page_quiet(ms: MachineState, pfn: number, z: zone, order: number, mt: number, fpi: number): void {
  const flags = z.pg_flags;
  // account_freepages()
  z.nr_free_pages += 1 << order;
  const buddy_pfn = pfn ^ (1 << order); // __find_buddy_pfn()
  // page_is_buddy(): PageBuddy, of this order, in this zone (the PageBuddy test rejects most); frames past
  // max_pfn (flags.length) have no struct page
  if (order < ms.MAX_PAGE_ORDER && buddy_pfn < flags.length && (flags[buddy_pfn]! & PG_buddy) !== 0 && z.pg_order[buddy_pfn] === order && z.pg_zoneid[buddy_pfn] === z.pg_zoneid[pfn])
    return free_one_page_merge_quiet(ms, pfn, z, order, mt, fpi);
  free_one_page_add_quiet(ms, z, pfn, order, mt, fpi, buddy_pfn);
}

/** __free_one_page() with tracing off, from its first merge on: the loop over ever larger buddies */
function free_one_page_merge_quiet(ms: MachineState, pfn: number, z: zone, order: number, mt: number, fpi: number): void {
  const flags = z.pg_flags;
  const page_order = z.pg_order;
  const zoneid = z.pg_zoneid;
  const next = z.pg_next;
  const prev = z.pg_prev;
  const w = z.free_area_words;
  const NL = z.nr_lists;
  const MAX = ms.MAX_PAGE_ORDER;
  // every block this one merges with is in its zone: page_is_buddy()'s zone test compares with this
  const zid = zoneid[pfn]!;
  let buddy_pfn = 0;
  while (order < MAX) {
    buddy_pfn = pfn ^ (1 << order);
    if (buddy_pfn >= flags.length || (flags[buddy_pfn]! & PG_buddy) === 0 || page_order[buddy_pfn] !== order || zoneid[buddy_pfn] !== zid) break;
    let buddy_mt = mt;
    if (order >= ms.pageblock_order) {
      buddy_mt = ms.get_pageblock_migratetype(buddy_pfn);
      if (mt !== buddy_mt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddy_mt))) break;
    }
    // __del_page_from_free_list(buddy) and ClearPageBuddy
    const li = order * MIGRATE_TYPES + buddy_mt;
    const n = next[buddy_pfn]!;
    const p = prev[buddy_pfn]!;
    if (p === -1) w[li] = n;
    else next[p] = n;
    if (n === -1) w[NL + li] = p;
    else prev[n] = p;
    next[buddy_pfn] = -1;
    prev[buddy_pfn] = -1;
    w[2 * NL + li]!--;
    w[3 * NL + order]!--;
    flags[buddy_pfn]! &= ~PG_buddy;
    if (buddy_mt !== mt) ms.set_pageblock_migratetype(buddy_pfn, mt);
    pfn &= buddy_pfn;
    order++;
  }
  free_one_page_add_quiet(ms, z, pfn, order, mt, fpi, buddy_pfn);
}

/** the end of __free_one_page() with tracing off: set_buddy_order(), then __add_to_free_list() at the
 * head, or at the tail when buddy_merge_likely() sees the order+1 buddy of the block we would merge into
 * free already. buddy_pfn is the last buddy looked at. */
function free_one_page_add_quiet(ms: MachineState, z: zone, pfn: number, order: number, mt: number, fpi: number, buddy_pfn: number): void {
  const flags = z.pg_flags;
  const page_order = z.pg_order;
  page_order[pfn] = order;
  flags[pfn]! |= PG_buddy;
  let to_tail: boolean;
  if (fpi & FPI_TO_TAIL) to_tail = true;
  else if (order >= ms.MAX_PAGE_ORDER - 1) to_tail = false;
  else {
    const higher = buddy_pfn & pfn;
    const hb = higher ^ (1 << (order + 1));
    to_tail = hb < flags.length && (flags[hb]! & PG_buddy) !== 0 && page_order[hb] === order + 1 && z.pg_zoneid[hb] === z.pg_zoneid[higher];
  }
  const w = z.free_area_words;
  const NL = z.nr_lists;
  const next = z.pg_next;
  const prev = z.pg_prev;
  const li = order * MIGRATE_TYPES + mt;
  const head = w[li]!;
  if (head === -1) {
    next[pfn] = -1;
    prev[pfn] = -1;
    w[li] = pfn;
    w[NL + li] = pfn;
  } else if (to_tail) {
    const t = w[NL + li]!;
    next[t] = pfn;
    prev[pfn] = t;
    next[pfn] = -1;
    w[NL + li] = pfn;
  } else {
    prev[head] = pfn;
    next[pfn] = head;
    prev[pfn] = -1;
    w[li] = pfn;
  }
  w[2 * NL + li]!++;
  w[3 * NL + order]!++;
}

function describe_not_buddy(ms: MachineState, pfn: number, buddy: number, order: number): string {
  if (buddy >= ms.max_pfn || !ms.pfn_valid(buddy)) return "outside memory";
  const mm = ms.mem_map;
  if (mm.zoneid[buddy] !== mm.zoneid[pfn]) return "in another zone";
  const f = mm.flags[buddy]!;
  if (f & PG_buddy) return `free but order ${mm.order[buddy]} (split)`;
  if (f & PG_reserved) return "reserved";
  if (f & PG_head) return "allocated";
  return "part of a larger or split block in use";
}

/** split_large_buddy(): a block larger than a pageblock is freed pageblock by pageblock, each with
 * its own pageblock's migratetype */
function split_large_buddy(ms: MachineState, z: zone, pfn: number, order: number, fpi: number): void {
  if (order <= ms.pageblock_order) {
    // the common case: one pageblock's worth or less
    __free_one_page(ms, pfn, z, order, ms.get_pageblock_migratetype(pfn), fpi);
    return;
  }
  const end = pfn + (1 << order);
  if (order > ms.pageblock_order) order = ms.pageblock_order;
  while (pfn !== end) {
    const mt = ms.get_pageblock_migratetype(pfn);
    __free_one_page(ms, pfn, z, order, mt, fpi);
    pfn += 1 << order;
  }
}

/** What is wrong with freeing this block, worded as bad_page() would report it, or undefined. */
export function free_pages_check(ms: MachineState, pfn: number, order: number | undefined): { reason: string } | undefined {
  // the common case first, with every load issued before any test (the frame's metadata is likely a
  // cache miss in each array; independent loads overlap): a valid, allocated head with one reference
  const mm = ms.mem_map;
  // (mem_map's arrays are max_pfn long: the JIT has their length at hand for the bounds check anyway)
  if ((pfn | 0) === pfn && pfn >= 0 && pfn < mm.flags.length) {
    const f = mm.flags[pfn]!;
    const zid = mm.zoneid[pfn]!;
    const mc = mm.mapcount[pfn]!;
    const rc = mm.refcount[pfn]!;
    const o = mm.order[pfn]!;
    if ((f & (FREE_CHECK_BAD | PG_head)) === PG_head && mc <= 0 && rc === 1 && (order === undefined || o === order) && ms.zones_by_id[zid] !== undefined) return undefined;
  }
  return free_pages_check_slow(ms, pfn, order);
}

/** the flags that make freeing a block through __free_pages a bug */
const FREE_CHECK_BAD = PG_buddy | PG_reserved | PG_slab | PG_vmalloc | PG_table | PG_anon;

/** free_pages_check() when something is wrong: which reason bad_page() gives, in the kernel's order */
function free_pages_check_slow(ms: MachineState, pfn: number, order: number | undefined): { reason: string } | undefined {
  const mm = ms.mem_map;
  if (!ms.pfn_valid(pfn)) return { reason: "PFN outside every zone (no struct page)" };
  const f = mm.flags[pfn]!;
  if (f & PG_buddy) return { reason: "page is already free (PageBuddy): double free" };
  if (f & PG_reserved) return { reason: "PAGE_FLAGS_CHECK_AT_FREE flag(s) set (reserved)" };
  // pages owned by another allocator are freed through it (kfree, vfree, free_pgtables), never directly
  if (f & PG_slab) return { reason: "page still belongs to the slab allocator (PageSlab): free its objects with kfree/kmem_cache_free" };
  if (f & PG_vmalloc) return { reason: "page still backs a vmalloc area: vfree() the area" };
  if (f & PG_table) return { reason: "page is a page table (PageTable): it is freed with the address space" };
  if (f & PG_anon) return { reason: "page is an anonymous user page: it is freed when its last mapping goes" };
  if (!(f & PG_head)) return { reason: "not the first page of an allocated block (freeing what was never allocated)" };
  if (mm.mapcount[pfn]! > 0) return { reason: "nonzero mapcount" };
  if (mm.refcount[pfn]! !== 1) return { reason: `nonzero _refcount (${mm.refcount[pfn]} references)` };
  if (order !== undefined && mm.order[pfn] !== order) return { reason: `freed as order ${order} but allocated as order ${mm.order[pfn]}` };
  return undefined;
}

/** The kernel's "BUG: Bad page state" report (mm/page_alloc.c bad_page() + mm/debug.c __dump_page()). */
export function bad_page_report(ms: MachineState, pfn: number, reason: string): string {
  const mm = ms.mem_map;
  const valid = pfn >= 0 && pfn < ms.max_pfn;
  const f = valid ? mm.flags[pfn]! : 0;
  const ph = pfn.toString(16).padStart(5, "0");
  return [
    `BUG: Bad page state in process ${ms.comm}  pfn:${ph}`,
    `page: refcount:${valid ? mm.refcount[pfn] : 0} mapcount:${valid ? mm.mapcount[pfn] : 0} mapping:${"0".repeat(ms.arch.bits / 4)} index:0x0 pfn:${hex(pfn)}`,
    `flags: ${hex(f)}(${flag_names(f).join("|") || "none"})`,
    `page dumped because: ${reason}`,
  ].join("\n");
}

/**
 * __free_pages(): drop the reference; the last one returns the block to the buddy allocator.
 * The caller has checked it with free_pages_check().
 */
export function __free_pages(ms: MachineState, pfn: number, order: number, fpi = FPI_NONE): void {
  const tr = ms.trace;
  const z = ms.page_zone(pfn);
  // (the zone's pg_* fields are its node's mem_map arrays, see struct zone)
  z.pg_refcount[pfn] = 0;
  z.pg_flags[pfn]! &= ~PG_head;
  z.pg_order[pfn] = 0;
  // (the counters first: after the call below the JIT would re-check z, ms and their objects)
  z.stat.pgfree += 1 << order;
  ms.vmstat.pgfree += 1 << order;
  if (tr.on) {
    trace_free_pages(ms, z, pfn, order);
    tr.depth++;
    split_large_buddy(ms, z, pfn, order, fpi);
    tr.depth--;
  } else if (order <= ms.pageblock_order) free_one_page_quiet(ms, pfn, z, order, ms.get_pageblock_migratetype(pfn), fpi);
  else split_large_buddy(ms, z, pfn, order, fpi);
}

/** get_order(): the smallest order whose block holds `bytes` */
export function get_order(bytes: bigint, page_shift: number): number {
  if (bytes <= 0n) return 0;
  const pages = (bytes + (1n << BigInt(page_shift)) - 1n) >> BigInt(page_shift);
  let order = 0;
  while (1n << BigInt(order) < pages) order++;
  return order;
}
