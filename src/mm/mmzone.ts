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
    this.nr_free = new Int32Array(NR_PAGE_ORDERS);
    this.list_head = new Int32Array(n).fill(-1);
    this.list_tail = new Int32Array(n).fill(-1);
    this.list_count = new Int32Array(n);
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
