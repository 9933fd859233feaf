/**
 * The engine's root: the whole simulated machine's state. Not a kernel structure (the kernel's state
 * is spread over globals); it gathers what the kernel keeps in globals: mem_map, the node array
 * (NODE_DATA), the pageblock bitmap, sysctls, the kernel log, and the seeded PRNG.
 * Engine functions take it as their first argument. It never imports render, proc or api.
 */
import type { arch_desc } from "../arch/arch";
import { prandom_state } from "../lib/prandom";
import { mem_map } from "../mm/memmap";
import type { pglist_data, zone } from "../mm/mmzone";
import { trace_buffer } from "./trace";

/** the sysctls of vm.* that the engine reads (Documentation/admin-guide/sysctl/vm.rst) */
export interface vm_sysctls {
  min_free_kbytes: number;
  watermark_scale_factor: number;
  watermark_boost_factor: number;
  /** sysctl_lowmem_reserve_ratio[] per zone type */
  lowmem_reserve_ratio: Record<string, number>;
}

export interface memblock_region {
  base: number; // PFN
  size: number; // pages
  name: string; // what reserved it
  /** the kernel's own memory (image, mem_map), as opposed to firmware / low-memory reservations */
  kernel?: boolean;
}

/**
 * The vm_event_item counters mmlab keeps (include/linux/vm_event_item.h, printed by /proc/vmstat in
 * this order after the zone and node items; mm/vmstat.c vmstat_text[]). Per-zone counters (pgalloc_normal,
 * allocstall_normal…) are kept on the zone (zone.stat) and summed here as well. `extfrag` is not a
 * kernel counter: it counts __rmqueue_fallback() steals (the kernel's mm_page_alloc_extfrag tracepoint).
 */
export function new_vm_events() {
  return {
    pgpgin: 0, pgpgout: 0, pswpin: 0, pswpout: 0,
    pgalloc: 0, allocstall: 0,
    allocstall_dma: 0, allocstall_dma32: 0, allocstall_normal: 0, allocstall_high: 0, allocstall_movable: 0, allocstall_device: 0,
    pgskip_dma: 0, pgskip_dma32: 0, pgskip_normal: 0, pgskip_high: 0, pgskip_movable: 0, pgskip_device: 0,
    swpin_zero: 0, swpout_zero: 0,
    pgfree: 0, pgactivate: 0, pgdeactivate: 0,
    pgfault: 0, pgmajfault: 0,
    pgrefill: 0, pgreuse: 0,
    pgsteal_kswapd: 0, pgsteal_direct: 0,
    pgscan_kswapd: 0, pgscan_direct: 0,
    pgscan_anon: 0, pgscan_file: 0, pgsteal_anon: 0, pgsteal_file: 0,
    kswapd_low_wmark_hit_quickly: 0, kswapd_high_wmark_hit_quickly: 0,
    pageoutrun: 0, pgrotated: 0,
    oom_kill: 0,
    pgmigrate_success: 0, pgmigrate_fail: 0,
    compact_migrate_scanned: 0, compact_free_scanned: 0, compact_isolated: 0,
    compact_stall: 0, compact_fail: 0, compact_success: 0, compact_daemon_wake: 0,
    unevictable_pgs_culled: 0, unevictable_pgs_scanned: 0, unevictable_pgs_rescued: 0,
    unevictable_pgs_mlocked: 0, unevictable_pgs_munlocked: 0, unevictable_pgs_cleared: 0, unevictable_pgs_stranded: 0,
    swap_ra: 0, swap_ra_hit: 0,
    extfrag: 0,
  };
}
export type vm_events = ReturnType<typeof new_vm_events>;

export class MachineState {
  readonly arch: arch_desc;
  readonly mem_map: mem_map;
  /** one migratetype per pageblock (pageblock_flags, include/linux/pageblock-flags.h) */
  readonly pageblock_mt: Uint8Array;
  readonly nodes: pglist_data[] = [];
  /** zones by mem_map.zoneid (1 + node*8 + zone_idx) */
  readonly zones_by_id: (zone | undefined)[] = [];
  /** max_pfn: one past the last PFN of RAM */
  readonly max_pfn: number;
  /** max_low_pfn: end of lowmem (32-bit), = max_pfn on 64-bit */
  max_low_pfn = 0;
  readonly NR_PAGE_ORDERS: number;
  readonly MAX_PAGE_ORDER: number;
  readonly pageblock_order: number;
  readonly pageblock_nr_pages: number;
  readonly trace = new trace_buffer();
  readonly rng: prandom_state;
  readonly seed: number;
  readonly sysctl: vm_sysctls;
  /** memblock.reserved as it stood at the end of boot, for the boot log and renderings */
  readonly reserved: memblock_region[] = [];
  /** e820 RAM ranges [start, end) in PFNs */
  readonly ram_ranges: [number, number][] = [];
  /** the kernel log (dmesg) */
  readonly dmesg: string[] = [];
  /** number of online CPUs (num_online_cpus()) */
  nr_cpus = 1;
  /** the comm of "current" for kernel messages */
  comm = "mmlab";
  /** node distances (numa_distance), node_distance(a, b) = distance[a][b] */
  distance: number[][] = [];
  /** sum of zone->managed_pages (totalram_pages) */
  totalram_pages = 0;
  /** calculate_totalreserve_pages() */
  totalreserve_pages = 0;
  /** the event counters of /proc/vmstat (include/linux/vm_event_item.h), see new_vm_events() */
  readonly vmstat = new_vm_events();

  constructor(arch: arch_desc, max_pfn: number, seed: number, sysctl: vm_sysctls) {
    this.arch = arch;
    this.max_pfn = max_pfn;
    this.mem_map = new mem_map(max_pfn);
    this.MAX_PAGE_ORDER = arch.MAX_PAGE_ORDER;
    this.NR_PAGE_ORDERS = arch.MAX_PAGE_ORDER + 1;
    this.pageblock_order = arch.pageblock_order;
    this.pageblock_nr_pages = 1 << arch.pageblock_order;
    this.pageblock_mt = new Uint8Array(Math.ceil(max_pfn / this.pageblock_nr_pages));
    this.seed = seed;
    this.rng = new prandom_state(seed);
    this.sysctl = sysctl;
  }

  /** page_zone(pfn_to_page(pfn)) */
  page_zone(pfn: number): zone {
    return this.zones_by_id[this.mem_map.zoneid[pfn]!]!;
  }
  /** pfn_valid(): a frame with a struct page (inside a node's span) */
  pfn_valid(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && pfn < this.max_pfn && this.zones_by_id[this.mem_map.zoneid[pfn]!] !== undefined;
  }
  /** get_pfnblock_migratetype() */
  get_pageblock_migratetype(pfn: number): number {
    return this.pageblock_mt[pfn >>> this.pageblock_order]!;
  }
  /** page_group_by_mobility_disabled (mm/page_alloc.c): too little memory for grouping by mobility */
  page_group_by_mobility_disabled = false;
  /** set_pageblock_migratetype(): with mobility grouping off, a pcp type is recorded as UNMOVABLE */
  set_pageblock_migratetype(pfn: number, mt: number): void {
    if (this.page_group_by_mobility_disabled && mt < 3 /* MIGRATE_PCPTYPES */) mt = 0; /* MIGRATE_UNMOVABLE */
    this.pageblock_mt[pfn >>> this.pageblock_order] = mt;
  }
  /** pr_*: append a line to the kernel log */
  printk(line: string): void {
    this.dmesg.push(line);
  }
  get page_size(): number {
    return this.arch.PAGE_SIZE;
  }
}
