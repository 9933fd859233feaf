/**
 * /proc/buddyinfo, /proc/pagetypeinfo, /proc/zoneinfo and /proc/vmstat, byte for byte as mm/vmstat.c
 * (Linux 6.12) prints them: frag_show_print(), pagetypeinfo_showfree_print(),
 * pagetypeinfo_showblockcount_print(), zoneinfo_show_print(), vmstat_start()/vmstat_show(). The zone and
 * node counters (LRU lists, NR_MLOCK, NR_ANON_MAPPED, swap cache…) are recounted from engine state by
 * page_state(). Reads engine state, never changes it.
 */
import type { MachineState } from "../kernel/machine";
import { MIGRATE_TYPES, migratetype_names, type zone } from "../mm/mmzone";
import { PG_anon, PG_mlocked, PG_table } from "../mm/memmap";
import { pt_format_of } from "../mm/pgtable";
import { SLAB_RECLAIM_ACCOUNT } from "../mm/slub";
import { lru_pages, zone_lru_pages } from "../mm/swap";

const pad = (s: string | number, w: number) => String(s).padStart(w, " ");
const padr = (s: string | number, w: number) => String(s).padEnd(w, " ");

/** /proc/buddyinfo: one line per populated zone: "Node %d, zone %8s " then "%6lu " per order */
export function buddyinfo(ms: MachineState): string {
  let out = "";
  for (const node of ms.nodes)
    for (const z of node.node_zones) {
      if (!z.populated) continue;
      out += `Node ${node.node_id}, zone ${pad(z.name, 8)} `;
      for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) out += `${pad(z.nr_free[o]!, 6)} `;
      out += "\n";
    }
  return out;
}

/** /proc/pagetypeinfo (mode 0400): free blocks per order per migratetype, then pageblocks per type */
export function pagetypeinfo(ms: MachineState): string {
  let out = `Page block order: ${ms.pageblock_order}\n`;
  out += `Pages per block:  ${ms.pageblock_nr_pages}\n\n`;
  out += padr("Free pages count per migrate type at order", 43) + " ";
  for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) out += `${pad(o, 6)} `;
  out += "\n";
  const populated = ms.nodes.flatMap((n) => n.node_zones.filter((z) => z.populated));
  for (const z of populated)
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
      out += `Node ${pad(z.node.node_id, 4)}, zone ${pad(z.name, 8)}, type ${pad(migratetype_names[mt]!, 12)} `;
      for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) {
        let n = z.list_count[o * MIGRATE_TYPES + mt]!;
        // "Cap the free_list iteration because it might be really large and we are under a spinlock"
        const over = n >= 100000;
        if (over) n = 100000;
        out += `${over ? ">" : ""}${pad(n, 6)} `;
      }
      out += "\n";
    }
  out += "\n" + padr("Number of blocks type ", 23);
  for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(migratetype_names[mt]!, 12)} `;
  out += "\n";
  for (const z of populated) {
    out += `Node ${z.node.node_id}, zone ${pad(z.name, 8)} `;
    const counts = pageblock_counts(ms, z);
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(counts[mt]!, 12)} `;
    out += "\n";
  }
  return out;
}

/** pagetypeinfo_showblockcount_print(): pageblocks by type, over the zone span (pfn_valid ones) */
export function pageblock_counts(ms: MachineState, z: zone): number[] {
  const counts = new Array<number>(MIGRATE_TYPES).fill(0);
  const start = z.zone_start_pfn;
  const end = z.zone_end_pfn;
  const pb = ms.pageblock_nr_pages;
  // "Walk the zone in pageblock_nr_pages steps" from the zone start
  for (let pfn = start; pfn < end; pfn += pb) {
    if (!ms.pfn_valid(pfn) || ms.mem_map.zoneid[pfn] !== z.id) continue;
    counts[ms.get_pageblock_migratetype(pfn)]!++;
  }
  return counts;
}

/** zone_batchsize() (mm/page_alloc.c); zone_set_pageset_high_and_batch() stores max(1, it) in pcp->batch,
 * which is what zoneinfo's pagesets show */
function zone_batchsize(ms: MachineState, z: zone): number {
  let batch = Math.min(z.managed_pages >> 10, (1024 * 1024) / ms.page_size);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  const x = batch + (batch >> 1);
  return 2 ** Math.floor(Math.log2(x)) - 1;
}

/**
 * The kernel configuration /proc/vmstat, /proc/zoneinfo, /proc/meminfo and the node files are printed
 * for (which vmstat_text[] entries exist: mm/vmstat.c l.1192-1420, include/linux/vm_event_item.h,
 * include/linux/mmzone.h enum zone_stat_item / node_stat_item; Linux 6.12). A distribution-like
 * config, the one /proc/meminfo here already assumes (Zswap, CmaTotal, AnonHugePages, Unaccepted…):
 *   all PC arches: CONFIG_SWAP, CONFIG_ZSMALLOC, CONFIG_ZSWAP, CONFIG_CMA, CONFIG_MIGRATION,
 *     CONFIG_COMPACTION, CONFIG_HUGETLB_PAGE, CONFIG_TRANSPARENT_HUGEPAGE, CONFIG_KSM,
 *     CONFIG_MEMORY_BALLOON + CONFIG_BALLOON_COMPACTION, CONFIG_IOMMU_SUPPORT, CONFIG_VM_EVENT_COUNTERS,
 *     CONFIG_NUMA (as zoneinfo's numa_* lines already assume), CONFIG_ZONE_DMA, CONFIG_X86;
 *   x86-64 only: CONFIG_ZONE_DMA32, CONFIG_NUMA_BALANCING (ARCH_SUPPORTS_NUMA_BALANCING if X86_64),
 *     CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD, CONFIG_UNACCEPTED_MEMORY, CONFIG_ZONE_DEVICE;
 *   32-bit only: CONFIG_HIGHMEM;
 *   off: CONFIG_SHADOW_CALL_STACK (arm64), CONFIG_DEBUG_TLBFLUSH, CONFIG_PER_VMA_LOCK_STATS,
 *     CONFIG_DEBUG_STACK_USAGE.
 * The toy arch is a bare machine: like x86-64 without NUMA and without the x86 items.
 * The zone names of TEXTS_FOR_ZONES() are the node's zones (mmlab's node_zones[] holds every zone
 * type of the configuration), Normal and Movable always.
 */
export interface vm_config {
  numa: boolean;
  numa_balancing: boolean;
  unaccepted: boolean;
  thp_pud: boolean;
  x86: boolean;
}

export function vm_config(ms: MachineState): vm_config {
  const a = ms.arch;
  const x64 = a.name === "x86_64";
  return { numa: a.pc, numa_balancing: x64, unaccepted: x64, thp_pud: a.name !== "x86" && a.name !== "x86_pae", x86: a.pc };
}

/** enum zone_stat_item names (zone_stat_name()) */
export function zone_stat_names(ms: MachineState): string[] {
  const c = vm_config(ms);
  const n = ["nr_free_pages", "nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file", "nr_zone_active_file", "nr_zone_unevictable", "nr_zone_write_pending", "nr_mlock", "nr_bounce", "nr_zspages", "nr_free_cma"];
  if (c.unaccepted) n.push("nr_unaccepted");
  return n;
}

/** enum numa_stat_item names (numa_stat_name()) */
export const NUMA_STAT_NAMES = ["numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local", "numa_other"] as const;

/** enum node_stat_item names (node_stat_name()) of 6.12 for the config above */
export function node_stat_names(ms: MachineState): string[] {
  const c = vm_config(ms);
  return [
    "nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_unevictable",
    "nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_isolated_anon", "nr_isolated_file",
    "workingset_nodes", "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon",
    "workingset_activate_file", "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim",
    "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_writeback_temp", "nr_shmem",
    "nr_shmem_hugepages", "nr_shmem_pmdmapped", "nr_file_hugepages", "nr_file_pmdmapped",
    "nr_anon_transparent_hugepages", "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied", "nr_written",
    "nr_throttled_written", "nr_kernel_misc_reclaimable", "nr_foll_pin_acquired", "nr_foll_pin_released",
    "nr_kernel_stack", "nr_page_table_pages", "nr_sec_page_table_pages", "nr_iommu_pages", "nr_swapcached",
    ...(c.numa_balancing ? ["pgpromote_success", "pgpromote_candidate"] : []),
    "pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged",
  ];
}

/** Extra per-node counters later subsystems add (merged over what page_state() computes). */
export const node_stat_sources: ((ms: MachineState, nid: number) => Partial<Record<string, number>>)[] = [];

/**
 * What mmlab models of the zone and node counters, read from engine state (the kernel keeps them as
 * running vm_stat counters; we recount): per node the LRU list lengths (mm/swap.ts lruvec),
 * NR_ANON_MAPPED (anonymous pages with a mapping), NR_FILE_MAPPED (page-cache pages with a mapping),
 * NR_FILE_PAGES (page cache + swap cache, as add_to_swap_cache() counts it), NR_SHMEM, NR_SWAPCACHE,
 * NR_SLAB_*_B (SLUB slabs and large kmallocs by the node of their frames), NR_PAGETABLE; per zone
 * the LRU lists and NR_MLOCK (PG_mlocked pages). Global-only engine counters are given to the node on
 * a one-node machine: nr_vmscan_write (every page pageout() handed to swap_writepage()) and nr_written
 * (pages actually written: a zero-filled page is only marked in the zeromap, swpout_zero).
 */
export interface page_state_t {
  node: Record<string, number>[];
  /** zone id (mem_map.zoneid) → NR_MLOCK */
  zone_mlock: Map<number, number>;
}

const node_of_zoneid = (zid: number) => (zid - 1) >> 3;

export function page_state(ms: MachineState): page_state_t {
  const N = ms.nodes.length;
  const node = ms.nodes.map((n) => {
    const l = lru_pages(ms, n.node_id);
    return {
      nr_inactive_anon: l[0]!, nr_active_anon: l[1]!, nr_inactive_file: l[2]!, nr_active_file: l[3]!, nr_unevictable: l[4]!,
      nr_slab_reclaimable: 0, nr_slab_unreclaimable: 0, nr_anon_pages: 0, nr_mapped: 0, nr_file_pages: 0, nr_shmem: 0,
      nr_page_table_pages: 0, nr_swapcached: 0, nr_vmscan_write: 0, nr_written: 0, nr_mlock: 0,
    } as Record<string, number>;
  });
  const zone_mlock = new Map<number, number>();
  const map = ms.mem_map;
  const flags = map.flags;
  const zoneid = map.zoneid;
  const mapcount = map.mapcount;
  const tables = new Array<number>(N).fill(0);
  for (let pfn = 0; pfn < ms.max_pfn; pfn++) {
    const f = flags[pfn]!;
    if (!(f & (PG_anon | PG_mlocked | PG_table))) continue;
    const zid = zoneid[pfn]!;
    if (!zid) continue;
    const nd = node[node_of_zoneid(zid)]!;
    if (f & PG_anon && mapcount[pfn]! > 0) nd.nr_anon_pages!++;
    if (f & PG_mlocked) {
      nd.nr_mlock!++;
      zone_mlock.set(zid, (zone_mlock.get(zid) ?? 0) + 1);
    }
    if (f & PG_table) tables[node_of_zoneid(zid)]!++;
  }
  const nid_of = (pfn: number) => node_of_zoneid(zoneid[pfn]!);
  for (const f of ms.procs?.inodes.values() ?? [])
    for (const pfn of f.pages.values()) {
      const nd = node[nid_of(pfn)]!;
      nd.nr_file_pages!++;
      if (f.kind === "shmem") nd.nr_shmem!++;
      if (mapcount[pfn]! > 0) nd.nr_mapped!++;
    }
  for (const pfn of ms.swapcache?.pages.values() ?? []) {
    const nd = node[nid_of(pfn)]!;
    nd.nr_swapcached!++;
    nd.nr_file_pages!++;
  }
  const st = ms.slab;
  if (st) {
    for (const sl of st.slabs.values()) node[nid_of(sl.pfn)]![sl.cache.flags & SLAB_RECLAIM_ACCOUNT ? "nr_slab_reclaimable" : "nr_slab_unreclaimable"]! += 2 ** sl.order;
    for (const [pfn, l] of st.large) node[nid_of(pfn)]!.nr_slab_unreclaimable! += 2 ** l.order;
  }
  if (N === 1) {
    node[0]!.nr_page_table_pages = ms.pgt?.nr_pagetable ?? 0;
    // pageout() counts NR_VMSCAN_WRITE for every page it hands to swap_writepage(), zero-filled ones too;
    // NR_WRITTEN only what went through writeback (not the zeromap's pages)
    node[0]!.nr_vmscan_write = ms.vmstat.pswpout + ms.vmstat.swpout_zero;
    node[0]!.nr_written = ms.vmstat.pswpout;
  } else if (ms.pgt) {
    // PG_table frames less those not in NR_PAGETABLE: the boot tables and every mm's pgd (_pgd_alloc()
    // has no page-table constructor in 6.12, see mm/pgtable.ts pgd_alloc())
    const fmt = pt_format_of(ms.arch);
    const pgdFrames = 1 << fmt.order[0]!;
    for (const pfn of ms.pgt.boot_tables) tables[nid_of(pfn)]!--;
    const seen = new Set<unknown>();
    for (const t of ms.procs?.tasks.values() ?? []) {
      if (!t.mm || seen.has(t.mm) || t.mm.pgd < 0) continue;
      seen.add(t.mm);
      tables[nid_of(t.mm.pgd)]! -= pgdFrames;
    }
    for (let n = 0; n < N; n++) node[n]!.nr_page_table_pages = Math.max(0, tables[n]!);
  }
  for (let n = 0; n < N; n++)
    for (const f of node_stat_sources) for (const [k, v] of Object.entries(f(ms, n))) node[n]![k] = (node[n]![k] ?? 0) + (v ?? 0);
  return { node, zone_mlock };
}

/** the node_stat_item lines of node `nid`, in vmstat_text[] order */
export function node_stats(ms: MachineState, nid: number, ps: page_state_t = page_state(ms)): [string, number][] {
  const v = ps.node[nid]!;
  return node_stat_names(ms).map((k) => [k, v[k] ?? 0]);
}

/** the zone_stat_item lines of a populated zone, in vmstat_text[] order */
export function zone_stats(ms: MachineState, z: zone, ps: page_state_t = page_state(ms)): [string, number][] {
  const l = zone_lru_pages(ms, z.id);
  const v: Record<string, number> = {
    nr_free_pages: z.nr_free_pages,
    nr_zone_inactive_anon: l[0]!,
    nr_zone_active_anon: l[1]!,
    nr_zone_inactive_file: l[2]!,
    nr_zone_active_file: l[3]!,
    nr_zone_unevictable: l[4]!,
    nr_mlock: ps.zone_mlock.get(z.id) ?? 0,
  };
  return zone_stat_names(ms).map((k) => [k, v[k] ?? 0]);
}

/** is_highmem_idx(): HighMem, or Movable when it holds highmem (movable_zone == ZONE_HIGHMEM) */
function zone_is_highmem(ms: MachineState, z: zone): boolean {
  return z.name === "HighMem" || (z.name === "Movable" && ms.arch.bits === 32 && z.zone_start_pfn >= ms.max_low_pfn);
}

/**
 * global_dirty_limits() (mm/page-writeback.c): global_dirtyable_memory() = free − totalreserve_pages +
 * file LRU pages − highmem_dirtyable_memory() (vm_highmem_is_dirtyable = 0) + 1; domain_dirty_limits()
 * with vm_dirty_ratio 20 and dirty_background_ratio 10 converted to per-PAGE_SIZE ratios, for a task
 * that is not real-time. Returns [nr_dirty_threshold, nr_dirty_background_threshold].
 */
export function global_dirty_limits(ms: MachineState, ps: page_state_t = page_state(ms)): [number, number] {
  const zones = ms.nodes.flatMap((n) => n.node_zones);
  let x = zones.reduce((a, z) => a + z.nr_free_pages, 0);
  x -= Math.min(x, ms.totalreserve_pages);
  for (const n of ps.node) x += n.nr_inactive_file! + n.nr_active_file!;
  let high = 0;
  for (const z of zones) {
    if (!zone_is_highmem(ms, z) || !z.populated) continue;
    let nr = z.nr_free_pages;
    nr -= Math.min(nr, z.high_wmark_pages());
    const l = zone_lru_pages(ms, z.id);
    high += nr + l[2]! + l[3]!;
  }
  x -= Math.min(high, x);
  const avail = x + 1;
  const P = ms.page_size;
  const ratio = Math.floor((20 * P) / 100);
  const bg_ratio = Math.floor((10 * P) / 100);
  let thresh = Math.floor((ratio * avail) / P);
  let bg = Math.floor((bg_ratio * avail) / P);
  if (thresh > 0xffffffff) thresh = 0xffffffff;
  if (bg >= thresh) bg = Math.floor(thresh / 2);
  return [thresh, bg];
}

/** nr_memmap_boot_pages: the struct pages allocated from memblock at boot (alloc_node_mem_map() or
 * sparse_init_nid(): memmap_boot_pages_add()), the "mem_map of node N" reservations of mm_init.ts */
export function nr_memmap_boot_pages(ms: MachineState): number {
  return ms.reserved.filter((r) => r.name.startsWith("mem_map of node")).reduce((a, r) => a + r.size, 0);
}

/** TEXTS_FOR_ZONES(): the zone suffixes of the configuration */
function zone_suffixes(ms: MachineState): [string, string][] {
  const have = new Set<string>(ms.nodes[0]?.node_zones.map((z) => z.name) ?? []);
  have.add("Normal");
  have.add("Movable");
  const all: [string, string][] = [["DMA", "dma"], ["DMA32", "dma32"], ["Normal", "normal"], ["HighMem", "high"], ["Movable", "movable"], ["Device", "device"]];
  return all.filter(([n]) => have.has(n));
}

/**
 * /proc/vmstat: vmstat_start() + vmstat_show() (mm/vmstat.c, Linux 6.12): "%s %lu\n" for every
 * vmstat_text[] item of the config (see vm_config()): zone items (global_zone_page_state), NUMA events,
 * node items, nr_dirty_threshold, nr_dirty_background_threshold, nr_memmap_pages, nr_memmap_boot_pages,
 * the vm_event items (pgpgin/pgpgout in kB), and after the last one the deprecated "nr_unstable 0".
 *
 * Honestly modelled (everything else is 0 because mmlab has none of it: no file writeback, dirty
 * page cache, THP, KSM, zswap, balloon, hugetlb, CMA, NUMA balancing, shrinkers, workingset shadows):
 * zone: nr_free_pages, nr_zone_{inactive,active}_{anon,file}, nr_zone_unevictable, nr_mlock;
 * numa: numa_hit … numa_other (zone_statistics());
 * node: nr_{inactive,active}_{anon,file}, nr_unevictable, nr_slab_{reclaimable,unreclaimable},
 *   nr_anon_pages, nr_mapped, nr_file_pages, nr_shmem, nr_page_table_pages, nr_swapcached,
 *   nr_vmscan_write (= pswpout + swpout_zero: every page pageout() handed on) and nr_written (= pswpout);
 * nr_dirty_threshold, nr_dirty_background_threshold (computed as global_dirty_limits()),
 * nr_memmap_boot_pages (the mem_map reservations; nr_memmap_pages is 0: no hotplug);
 * events (ms.vmstat, zone.stat): pgpgin, pgpgout, pswpin, pswpout, pgalloc_<zone>, pgfree, pgactivate,
 *   pgdeactivate, pgfault, pgmajfault, pgrefill, pgreuse, pgsteal_{kswapd,direct}, pgscan_{kswapd,direct},
 *   pgscan_{anon,file}, pgsteal_{anon,file}, kswapd_{low,high}_wmark_hit_quickly, pageoutrun, pgrotated,
 *   oom_kill, pgmigrate_{success,fail}, compact_{migrate_scanned,free_scanned,isolated,stall,fail,
 *   success,daemon_wake}, unevictable_pgs_*, swap_ra, swap_ra_hit.
 * Not split: allocstall_<zone> is 0 — the engine counts direct-reclaim stalls only in total
 * (ms.vmstat.allocstall), while the kernel counts them under the zone of sc->reclaim_idx.
 */
export function vmstat(ms: MachineState): string {
  const c = vm_config(ms);
  const ps = page_state(ms);
  const ev = ms.vmstat;
  const zones = ms.nodes.flatMap((n) => n.node_zones);
  let out = "";
  const put = (k: string, v: number) => {
    out += `${k} ${v}\n`;
  };
  // enum zone_stat_item: global_zone_page_state() = Σ zones
  const zsum = new Map<string, number>();
  for (const z of zones) {
    if (!z.populated) continue;
    for (const [k, v] of zone_stats(ms, z, ps)) zsum.set(k, (zsum.get(k) ?? 0) + v);
  }
  for (const k of zone_stat_names(ms)) put(k, zsum.get(k) ?? 0);
  if (c.numa) for (const k of NUMA_STAT_NAMES) put(k, zones.reduce((a, z) => a + z.numa[k], 0));
  // enum node_stat_item: Σ nodes
  for (const k of node_stat_names(ms)) put(k, ps.node.reduce((a, n) => a + (n[k] ?? 0), 0));
  // enum vm_stat_item
  const [thresh, bg] = global_dirty_limits(ms, ps);
  put("nr_dirty_threshold", thresh);
  put("nr_dirty_background_threshold", bg);
  put("nr_memmap_pages", 0);
  put("nr_memmap_boot_pages", nr_memmap_boot_pages(ms));
  // enum vm_event_item
  const e = (k: keyof typeof ev) => ev[k];
  put("pgpgin", e("pgpgin"));
  put("pgpgout", e("pgpgout"));
  put("pswpin", e("pswpin"));
  put("pswpout", e("pswpout"));
  const sfx = zone_suffixes(ms);
  for (const [name, s] of sfx) put(`pgalloc_${s}`, zones.filter((z) => z.name === name).reduce((a, z) => a + z.stat.pgalloc, 0));
  for (const [, s] of sfx) put(`allocstall_${s}`, (ev as Record<string, number>)[`allocstall_${s}`] ?? 0);
  for (const [, s] of sfx) put(`pgskip_${s}`, (ev as Record<string, number>)[`pgskip_${s}`] ?? 0);
  put("pgfree", e("pgfree"));
  put("pgactivate", e("pgactivate"));
  put("pgdeactivate", e("pgdeactivate"));
  put("pglazyfree", 0);
  put("pgfault", e("pgfault"));
  put("pgmajfault", e("pgmajfault"));
  put("pglazyfreed", 0);
  put("pgrefill", e("pgrefill"));
  put("pgreuse", e("pgreuse"));
  put("pgsteal_kswapd", e("pgsteal_kswapd"));
  put("pgsteal_direct", e("pgsteal_direct"));
  put("pgsteal_khugepaged", 0);
  put("pgscan_kswapd", e("pgscan_kswapd"));
  put("pgscan_direct", e("pgscan_direct"));
  put("pgscan_khugepaged", 0);
  put("pgscan_direct_throttle", 0);
  put("pgscan_anon", e("pgscan_anon"));
  put("pgscan_file", e("pgscan_file"));
  put("pgsteal_anon", e("pgsteal_anon"));
  put("pgsteal_file", e("pgsteal_file"));
  if (c.numa) {
    put("zone_reclaim_success", 0);
    put("zone_reclaim_failed", 0);
  }
  for (const k of ["pginodesteal", "slabs_scanned", "kswapd_inodesteal"]) put(k, 0);
  put("kswapd_low_wmark_hit_quickly", e("kswapd_low_wmark_hit_quickly"));
  put("kswapd_high_wmark_hit_quickly", e("kswapd_high_wmark_hit_quickly"));
  put("pageoutrun", e("pageoutrun"));
  put("pgrotated", e("pgrotated"));
  put("drop_pagecache", 0);
  put("drop_slab", 0);
  put("oom_kill", e("oom_kill"));
  if (c.numa_balancing) for (const k of ["numa_pte_updates", "numa_huge_pte_updates", "numa_hint_faults", "numa_hint_faults_local", "numa_pages_migrated"]) put(k, 0);
  // CONFIG_MIGRATION
  put("pgmigrate_success", e("pgmigrate_success"));
  put("pgmigrate_fail", e("pgmigrate_fail"));
  for (const k of ["thp_migration_success", "thp_migration_fail", "thp_migration_split"]) put(k, 0);
  // CONFIG_COMPACTION
  for (const k of ["compact_migrate_scanned", "compact_free_scanned", "compact_isolated", "compact_stall", "compact_fail", "compact_success", "compact_daemon_wake"] as const) put(k, e(k));
  put("compact_daemon_migrate_scanned", 0);
  put("compact_daemon_free_scanned", 0);
  // CONFIG_HUGETLB_PAGE, CONFIG_CMA
  for (const k of ["htlb_buddy_alloc_success", "htlb_buddy_alloc_fail", "cma_alloc_success", "cma_alloc_fail"]) put(k, 0);
  for (const k of ["unevictable_pgs_culled", "unevictable_pgs_scanned", "unevictable_pgs_rescued", "unevictable_pgs_mlocked", "unevictable_pgs_munlocked", "unevictable_pgs_cleared", "unevictable_pgs_stranded"] as const) put(k, e(k));
  // CONFIG_TRANSPARENT_HUGEPAGE
  for (const k of ["thp_fault_alloc", "thp_fault_fallback", "thp_fault_fallback_charge", "thp_collapse_alloc", "thp_collapse_alloc_failed", "thp_file_alloc", "thp_file_fallback", "thp_file_fallback_charge", "thp_file_mapped", "thp_split_page", "thp_split_page_failed", "thp_deferred_split_page", "thp_underused_split_page", "thp_split_pmd", "thp_scan_exceed_none_pte", "thp_scan_exceed_swap_pte", "thp_scan_exceed_share_pte"]) put(k, 0);
  if (c.thp_pud) put("thp_split_pud", 0);
  for (const k of ["thp_zero_page_alloc", "thp_zero_page_alloc_failed", "thp_swpout", "thp_swpout_fallback"]) put(k, 0);
  // CONFIG_MEMORY_BALLOON, CONFIG_BALLOON_COMPACTION
  for (const k of ["balloon_inflate", "balloon_deflate", "balloon_migrate"]) put(k, 0);
  // CONFIG_SWAP (+ CONFIG_KSM)
  put("swap_ra", e("swap_ra"));
  put("swap_ra_hit", e("swap_ra_hit"));
  put("swpin_zero", e("swpin_zero"));
  put("swpout_zero", e("swpout_zero"));
  put("ksm_swpin_copy", 0);
  put("cow_ksm", 0);
  // CONFIG_ZSWAP
  for (const k of ["zswpin", "zswpout", "zswpwb"]) put(k, 0);
  if (c.x86) {
    put("direct_map_level2_splits", 0);
    put("direct_map_level3_splits", 0);
  }
  // "We've come to the end - add any deprecated counters to avoid breaking userspace"
  out += "nr_unstable 0\n";
  return out;
}

/** calculate_normal_threshold() (mm/vmstat.c): the per-CPU counter drift allowed */
function stat_threshold(z: zone, nr_cpus: number): number {
  const fls = (x: number) => (x === 0 ? 0 : Math.floor(Math.log2(x)) + 1);
  const mem = z.managed_pages >> (27 - 12);
  return Math.min(125, 2 * fls(nr_cpus) * (1 + fls(mem)));
}

/** /proc/zoneinfo: every zone, populated or not; unpopulated ones stop after "protection". */
export function zoneinfo(ms: MachineState, nr_cpus = 1): string {
  let out = "";
  const ps = page_state(ms);
  for (const node of ms.nodes) {
    const first = node.node_zones.find((z) => z.populated);
    for (const z of node.node_zones) {
      out += `Node ${node.node_id}, zone ${pad(z.name, 8)}`;
      if (z === first) {
        out += "\n  per-node stats";
        for (const [k, v] of node_stats(ms, node.node_id, ps)) out += `\n      ${padr(k, 12)} ${v}`;
      }
      out += `\n  pages free     ${z.nr_free_pages}`;
      out += `\n        boost    ${z.watermark_boost}`;
      out += `\n        min      ${z.min_wmark_pages()}`;
      out += `\n        low      ${z.low_wmark_pages()}`;
      out += `\n        high     ${z.high_wmark_pages()}`;
      out += `\n        promo    ${z.wmark_pages(3)}`;
      out += `\n        spanned  ${z.spanned_pages}`;
      out += `\n        present  ${z.present_pages}`;
      out += `\n        managed  ${z.managed_pages}`;
      out += `\n        cma      0`;
      const lr = node.node_zones.map((_, i) => z.lowmem_reserve[i] ?? 0);
      out += `\n        protection: (${lr.join(", ")})`;
      if (!z.populated) {
        out += "\n";
        continue;
      }
      const zstats = zone_stats(ms, z, ps);
      for (const [k, v] of zstats) out += `\n      ${padr(k, 12)} ${v}`;
      if (vm_config(ms).numa) {
        for (const k of NUMA_STAT_NAMES) out += `\n      ${padr(k, 12)} ${z.numa[k]}`;
      }
      out += "\n  pagesets";
      for (let cpu = 0; cpu < nr_cpus; cpu++) {
        // the per-CPU lists are off in mmlab: they hold nothing (count 0, high 0). 6.12 prints count, high
        // and batch only (the high_min/high_max lines came after 6.12; this host's 6.18 prints them)
        out += `\n    cpu: ${cpu}\n              count: 0\n              high:  0\n              batch: ${Math.max(1, zone_batchsize(ms, z))}`;
        out += `\n  vm stats threshold: ${stat_threshold(z, nr_cpus)}`;
      }
      out += `\n  node_unreclaimable:  0\n  start_pfn:           ${z.zone_start_pfn}\n`;
    }
  }
  return out;
}

/** struct contig_page_info and fill_contig_page_info() (mm/vmstat.c) */
export function fill_contig_page_info(nr_free: ArrayLike<number>, suitable_order: number) {
  let free_pages = 0;
  let free_blocks_total = 0;
  let free_blocks_suitable = 0;
  for (let o = 0; o < nr_free.length; o++) {
    const blocks = nr_free[o]!;
    free_blocks_total += blocks;
    free_pages += blocks * 2 ** o;
    if (o >= suitable_order) free_blocks_suitable += blocks * 2 ** (o - suitable_order);
  }
  return { free_pages, free_blocks_total, free_blocks_suitable };
}

/** unusable_free_index(): the fraction of free memory unusable for a request of this order (×1000) */
export function unusable_free_index(nr_free: ArrayLike<number>, order: number): number {
  const i = fill_contig_page_info(nr_free, order);
  if (i.free_pages === 0) return 1000;
  return Math.floor(((i.free_pages - i.free_blocks_suitable * 2 ** order) * 1000) / i.free_pages);
}

/** __fragmentation_index(): toward 0 a failure would be for lack of memory, toward 1000 for
 * fragmentation; -1000 when the request would succeed */
export function fragmentation_index(nr_free: ArrayLike<number>, order: number): number {
  const i = fill_contig_page_info(nr_free, order);
  if (!i.free_blocks_total) return 0;
  if (i.free_blocks_suitable) return -1000;
  return 1000 - Math.floor((1000 + Math.floor((i.free_pages * 1000) / 2 ** order)) / i.free_blocks_total);
}

/** "%d.%03d" of a ×1000 index, with C's truncating division and remainder */
function milli(index: number, width = 0): string {
  const q = Math.trunc(index / 1000);
  const r = Math.abs(index % 1000);
  return `${String(q).padStart(width)}.${String(r).padStart(3, "0")}`;
}

/** /sys/kernel/debug/extfrag/unusable_index (unusable_show_print()) */
export function unusable_index(ms: MachineState): string {
  let out = "";
  for (const n of ms.nodes)
    for (const z of n.node_zones) {
      if (!z.populated) continue;
      out += `Node ${n.node_id}, zone ${pad(z.name, 8)} `;
      for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) out += `${milli(unusable_free_index(z.nr_free, o))} `;
      out += "\n";
    }
  return out;
}

/** /sys/kernel/debug/extfrag/extfrag_index (extfrag_show_print(): "%2d.%03d ") */
export function extfrag_index(ms: MachineState): string {
  let out = "";
  for (const n of ms.nodes)
    for (const z of n.node_zones) {
      if (!z.populated) continue;
      out += `Node ${n.node_id}, zone ${pad(z.name, 8)} `;
      for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) out += `${milli(fragmentation_index(z.nr_free, o), 2)} `;
      out += "\n";
    }
  return out;
}
