/**
 * Nodes, zones and free areas (include/linux/mmzone.h, Linux 6.12).
 *
 * Each zone has `free_area[NR_PAGE_ORDERS]`, each with one free list per migratetype and `nr_free`
 * counting blocks. The lists are intrusive doubly-linked lists threaded through mem_map.next/prev,
 * with the kernel's list discipline: list_add puts at the head, list_add_tail at the tail,
 * list_first_entry takes the head.
 */
import type { ZoneType } from "../arch/arch";
import type { mem_map } from "./memmap";

/** enum migratetype (include/linux/mmzone.h), with CONFIG_CMA and CONFIG_MEMORY_ISOLATION as on
 * distribution kernels, so /proc/pagetypeinfo lists six types. */
export const MIGRATE_UNMOVABLE = 0;
export const MIGRATE_MOVABLE = 1;
export const MIGRATE_RECLAIMABLE = 2;
export const MIGRATE_PCPTYPES = 3;
export const MIGRATE_HIGHATOMIC = 3;
export const MIGRATE_CMA = 4;
export const MIGRATE_ISOLATE = 5;
export const MIGRATE_TYPES = 6;
/** migratetype_names[] (mm/page_alloc.c) */
export const migratetype_names = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"];

/** migratetype_is_mergeable(): only the three pcp types merge freely across pageblocks */
export function migratetype_is_mergeable(mt: number): boolean {
  return mt < MIGRATE_PCPTYPES;
}

export const WMARK_MIN = 0;
export const WMARK_LOW = 1;
export const WMARK_HIGH = 2;
export const WMARK_PROMO = 3;

/**
 * struct zone. Free lists are stored per (order, migratetype) as head/tail PFNs.
 */
export class zone {
  /** "DMA", "DMA32", "Normal", "HighMem", "Movable" (zone_names[]) */
  readonly name: ZoneType;
  /** zone_idx(): index in the node's node_zones[] */
  readonly zone_idx: number;
  readonly node: pglist_data;
  zone_start_pfn = 0;
  spanned_pages = 0;
  present_pages = 0;
  managed_pages = 0;
  /** _watermark[WMARK_MIN..WMARK_PROMO] */
  readonly _watermark = [0, 0, 0, 0];
  watermark_boost = 0;
  /** lowmem_reserve[MAX_NR_ZONES]: the "protection" array of /proc/zoneinfo */
  lowmem_reserve: number[] = [];
  /** vm_stat[NR_FREE_PAGES] (pages) */
  nr_free_pages = 0;
  /** free_area[order].nr_free (blocks) */
  readonly nr_free: Int32Array;
  /** per (order * MIGRATE_TYPES + mt): list head and tail PFN, -1 if empty */
  readonly list_head: Int32Array;
  readonly list_tail: Int32Array;
  /** count of blocks on each (order, mt) list */
  readonly list_count: Int32Array;
  // ---- for the allocator's hot paths (page_alloc.ts). These fields are `declare`d and set only in the
  // constructor: a field the compiled class declares is first set to undefined, after which the JIT no
  // longer knows what the field holds and checks the object's type at every use (as with mem_map's
  // fields); a field first set in the constructor keeps its type, and each use is a plain load.
  /** list_head, list_tail, list_count and nr_free back to back in one array: the four are views of it.
   * The hot paths reach a zone's whole free-list state through this one array: list_head[li] is
   * free_area_words[li], list_tail[li] is [nr_lists + li], list_count[li] is [2 * nr_lists + li],
   * nr_free[order] is [3 * nr_lists + order]. */
  declare readonly free_area_words: Int32Array;
  /** NR_PAGE_ORDERS * MIGRATE_TYPES: the number of free lists, the stride of free_area_words */
  declare readonly nr_lists: number;
  /** the node's mem_map arrays (the same arrays: mem_map.flags, .order, .zoneid, .next, .prev,
   * .refcount, .mapcount), for the hot paths */
  declare readonly pg_flags: Uint16Array;
  declare readonly pg_order: Uint8Array;
  declare readonly pg_zoneid: Uint8Array;
  declare readonly pg_next: Int32Array;
  declare readonly pg_prev: Int32Array;
  declare readonly pg_refcount: Int32Array;
  declare readonly pg_mapcount: Int32Array;
  /** counters for /proc/vmstat-like statistics on this zone */
  readonly stat = { pgalloc: 0, pgfree: 0, fallbacks: 0, steals: 0 };
  /** NUMA events (enum numa_stat_item), counted per allocation by zone_statistics() */
  readonly numa = { numa_hit: 0, numa_miss: 0, numa_foreign: 0, numa_interleave: 0, numa_local: 0, numa_other: 0 };
  /** zone_id stored in mem_map.zoneid for frames of this zone (1 + node*8 + zone_idx; 0 = no zone, a hole) */
  readonly id: number;

  constructor(name: ZoneType, zone_idx: number, node: pglist_data, readonly NR_PAGE_ORDERS: number) {
    this.name = name;
    this.zone_idx = zone_idx;
    this.node = node;
    this.id = 1 + node.node_id * 8 + zone_idx;
    const n = NR_PAGE_ORDERS * MIGRATE_TYPES;
    this.nr_lists = n;
    this.free_area_words = new Int32Array(3 * n + NR_PAGE_ORDERS);
    this.list_head = this.free_area_words.subarray(0, n).fill(-1);
    this.list_tail = this.free_area_words.subarray(n, 2 * n).fill(-1);
    this.list_count = this.free_area_words.subarray(2 * n, 3 * n);
    this.nr_free = this.free_area_words.subarray(3 * n);
    const mm = node.mem_map;
    this.pg_flags = mm.flags;
    this.pg_order = mm.order;
    this.pg_zoneid = mm.zoneid;
    this.pg_next = mm.next;
    this.pg_prev = mm.prev;
    this.pg_refcount = mm.refcount;
    this.pg_mapcount = mm.mapcount;
  }

  get zone_end_pfn(): number {
    return this.zone_start_pfn + this.spanned_pages;
  }
  /** populated_zone(): present_pages != 0 */
  get populated(): boolean {
    return this.present_pages !== 0;
  }
  zone_spans_pfn(pfn: number): boolean {
    return pfn >= this.zone_start_pfn && pfn < this.zone_end_pfn;
  }
  /** wmark_pages(): the watermark plus the boost */
  wmark_pages(i: number): number {
    return this._watermark[i]! + this.watermark_boost;
  }
  min_wmark_pages(): number {
    return this.wmark_pages(WMARK_MIN);
  }
  low_wmark_pages(): number {
    return this.wmark_pages(WMARK_LOW);
  }
  high_wmark_pages(): number {
    return this.wmark_pages(WMARK_HIGH);
  }

  /** free_area_empty(area, mt) */
  free_area_empty(order: number, mt: number): boolean {
    return this.list_head[order * MIGRATE_TYPES + mt] === -1;
  }

  /** PFNs on one free list, head first (bounded by `max`) */
  list_pfns(order: number, mt: number, max = Infinity): number[] {
    const out: number[] = [];
    // the list links live in mem_map; the zone is given it by the machine
    const mm = this.node.mem_map;
    let p = this.list_head[order * MIGRATE_TYPES + mt]!;
    while (p !== -1 && out.length < max) {
      out.push(p);
      p = mm.next[p]!;
    }
    return out;
  }
}

/** struct pglist_data (pg_data_t): one NUMA node. */
export class pglist_data {
  readonly node_id: number;
  node_start_pfn = 0;
  node_spanned_pages = 0;
  node_present_pages = 0;
  /** node_zones[]: every zone type of the configuration, populated or not */
  readonly node_zones: zone[] = [];
  /** node_zonelists[ZONELIST_FALLBACK, ZONELIST_NOFALLBACK] (built on first use by page_alloc.ts) */
  node_zonelists: (zone[] | undefined)[] = [undefined, undefined];
  /** the distance table the zonelists were built from */
  zonelists_distance: number[][] | undefined = undefined;
  /** first_zone() of node_zonelists[] for each highest_zoneidx: the preferred zone of a request, kept by
   * page_alloc.ts's fast path beside the zonelists and reset with them. Index highest_zoneidx * 2 +
   * (ZONELIST_NOFALLBACK ? 1 : 0); null = no zone at or below the index, undefined = not looked up yet. */
  preferred_zones: (zone | null | undefined)[] = [];
  /** totalreserve_pages share of this node (calculate_totalreserve_pages) */
  totalreserve_pages = 0;
  readonly mem_map: mem_map;

  constructor(node_id: number, memmap: mem_map) {
    this.node_id = node_id;
    this.mem_map = memmap;
  }
  get node_end_pfn(): number {
    return this.node_start_pfn + this.node_spanned_pages;
  }
  /** nr_zones: populated zones */
  get nr_zones(): number {
    return this.node_zones.filter((z) => z.populated).length;
  }
}

// ---- the free lists (include/linux/list.h discipline, mm/page_alloc.c helpers) ----

/** __add_to_free_list(page, zone, order, mt, tail) */
export function __add_to_free_list(mm: mem_map, z: zone, pfn: number, order: number, mt: number, tail: boolean): void {
  const li = order * MIGRATE_TYPES + mt;
  const head = z.list_head[li]!;
  if (head === -1) {
    mm.next[pfn] = -1;
    mm.prev[pfn] = -1;
    z.list_head[li] = pfn;
    z.list_tail[li] = pfn;
  } else if (tail) {
    const t = z.list_tail[li]!;
    mm.next[t] = pfn;
    mm.prev[pfn] = t;
    mm.next[pfn] = -1;
    z.list_tail[li] = pfn;
  } else {
    mm.prev[head] = pfn;
    mm.next[pfn] = head;
    mm.prev[pfn] = -1;
    z.list_head[li] = pfn;
  }
  z.list_count[li]!++;
  z.nr_free[order]!++;
}

/** __del_page_from_free_list(page, zone, order, mt): unlink, clear PageBuddy, nr_free-- */
export function __del_page_from_free_list(mm: mem_map, z: zone, pfn: number, order: number, mt: number): void {
  const li = order * MIGRATE_TYPES + mt;
  const n = mm.next[pfn]!;
  const p = mm.prev[pfn]!;
  if (p === -1) z.list_head[li] = n;
  else mm.next[p] = n;
  if (n === -1) z.list_tail[li] = p;
  else mm.prev[n] = p;
  mm.next[pfn] = -1;
  mm.prev[pfn] = -1;
  z.list_count[li]!--;
  z.nr_free[order]!--;
}

/** move_to_free_list(): list_move_tail to the new migratetype's list */
export function move_to_free_list(mm: mem_map, z: zone, pfn: number, order: number, old_mt: number, new_mt: number): void {
  __del_page_from_free_list(mm, z, pfn, order, old_mt);
  __add_to_free_list(mm, z, pfn, order, new_mt, true);
}
