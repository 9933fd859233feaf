/**
 * /proc/buddyinfo, /proc/pagetypeinfo and /proc/zoneinfo, byte for byte as mm/vmstat.c (Linux 6.12)
 * prints them: frag_show_print(), pagetypeinfo_showfree_print(), pagetypeinfo_showblockcount_print(),
 * zoneinfo_show_print(). Reads engine state, never changes it.
 */
import type { MachineState } from "../kernel/machine";
import { MIGRATE_TYPES, migratetype_names, type zone } from "../mm/mmzone";

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

/** zone_batchsize(): the pcp batch the kernel would pick (shown in zoneinfo's pagesets) */
function zone_batchsize(ms: MachineState, z: zone): number {
  let batch = Math.min(z.managed_pages >> 10, (1024 * 1024) / ms.page_size);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  const x = batch + (batch >> 1);
  return 2 ** Math.floor(Math.log2(x)) - 1;
}

/** node_stat_name()s of 6.12 (vmstat_text[], CONFIG_NUMA_BALANCING, no shadow call stack), with the
 * values mmlab models; the rest are 0 on a machine with no page cache, swap or THP. Subsystems add values
 * through `node_stat_sources`. */
export const NODE_STAT_NAMES = [
  "nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_unevictable",
  "nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_isolated_anon", "nr_isolated_file",
  "workingset_nodes", "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon",
  "workingset_activate_file", "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim",
  "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty", "nr_writeback", "nr_writeback_temp", "nr_shmem",
  "nr_shmem_hugepages", "nr_shmem_pmdmapped", "nr_file_hugepages", "nr_file_pmdmapped",
  "nr_anon_transparent_hugepages", "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied", "nr_written",
  "nr_throttled_written", "nr_kernel_misc_reclaimable", "nr_foll_pin_acquired", "nr_foll_pin_released",
  "nr_kernel_stack", "nr_page_table_pages", "nr_sec_page_table_pages", "nr_iommu_pages", "nr_swapcached",
  "pgpromote_success", "pgpromote_candidate", "pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged",
] as const;

export const node_stat_sources: ((ms: MachineState, nid: number) => Partial<Record<string, number>>)[] = [];

export function node_stats(ms: MachineState, nid: number): [string, number][] {
  const v: Partial<Record<string, number>> = {};
  for (const f of node_stat_sources) for (const [k, n] of Object.entries(f(ms, nid))) v[k] = (v[k] ?? 0) + (n ?? 0);
  return NODE_STAT_NAMES.map((k) => [k, v[k] ?? 0]);
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
  for (const node of ms.nodes) {
    const first = node.node_zones.find((z) => z.populated);
    for (const z of node.node_zones) {
      out += `Node ${node.node_id}, zone ${pad(z.name, 8)}`;
      if (z === first) {
        out += "\n  per-node stats";
        for (const [k, v] of node_stats(ms, node.node_id)) out += `\n      ${padr(k, 12)} ${v}`;
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
      const zstats: [string, number][] = [
        ["nr_free_pages", z.nr_free_pages],
        ["nr_zone_inactive_anon", 0],
        ["nr_zone_active_anon", 0],
        ["nr_zone_inactive_file", 0],
        ["nr_zone_active_file", 0],
        ["nr_zone_unevictable", 0],
        ["nr_zone_write_pending", 0],
        ["nr_mlock", 0],
        ["nr_bounce", 0],
        ["nr_zspages", 0],
        ["nr_free_cma", 0],
      ];
      for (const [k, v] of zstats) out += `\n      ${padr(k, 12)} ${v}`;
      if (ms.arch.pc) {
        for (const [k, v] of Object.entries(z.numa)) out += `\n      ${padr(k, 12)} ${v}`;
      }
      out += "\n  pagesets";
      for (let cpu = 0; cpu < nr_cpus; cpu++) {
        // the per-CPU lists are off in mmlab: they hold nothing (count 0, high 0)
        out += `\n    cpu: ${cpu}\n              count:    0\n              high:     0\n              batch:    ${zone_batchsize(ms, z)}\n              high_min: 0\n              high_max: 0`;
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
