/**
 * The per-node sysfs files (drivers/base/node.c, Linux 6.12): /sys/devices/system/node/nodeN/meminfo,
 * numastat and distance, and `numactl --hardware`'s report (numactl's hardware(): available nodes,
 * cpus, size, free, the distance matrix).
 */
import type { MachineState } from "../kernel/machine";
import type { zone } from "../mm/mmzone";
import { page_state, vm_config } from "./vmstat";

/** NUMA event counters of a zone (enum numa_stat_item) */
export interface numa_events {
  numa_hit: number;
  numa_miss: number;
  numa_foreign: number;
  numa_interleave: number;
  numa_local: number;
  numa_other: number;
}

export function zone_numa(z: zone): numa_events {
  return z.numa;
}

function nodeSum(ms: MachineState, nid: number, k: keyof numa_events): number {
  return ms.nodes[nid]!.node_zones.reduce((a, z) => a + zone_numa(z)[k], 0);
}

/** node_read_numastat() */
export function node_numastat(ms: MachineState, nid: number): string {
  return (
    `numa_hit ${nodeSum(ms, nid, "numa_hit")}\n` +
    `numa_miss ${nodeSum(ms, nid, "numa_miss")}\n` +
    `numa_foreign ${nodeSum(ms, nid, "numa_foreign")}\n` +
    `interleave_hit ${nodeSum(ms, nid, "numa_interleave")}\n` +
    `local_node ${nodeSum(ms, nid, "numa_local")}\n` +
    `other_node ${nodeSum(ms, nid, "numa_other")}\n`
  );
}

/** node_read_distance(): the node's row of the distance table, space-separated */
export function node_distance(ms: MachineState, nid: number): string {
  return ms.nodes.map((n) => ms.distance[nid]![n.node_id]).join(" ") + "\n";
}

/** node_read_meminfo() (drivers/base/node.c, 6.12): "Node %d Label:  %8lu kB" in the kernel's order
 * (CONFIG_HIGHMEM lines on 32-bit, Unaccepted with CONFIG_UNACCEPTED_MEMORY). The node's LRU lists,
 * SwapCached, Mlocked (Σ the node's zones' NR_MLOCK), FilePages (page cache + swap cache), Mapped,
 * AnonPages, Shmem, PageTables and slab are this node's own (vmstat.ts page_state()); `extra` (the
 * meminfo sources, given on one-node machines) supplies KernelStack. */
export function node_meminfo(ms: MachineState, nid: number, extra: Record<string, number> = {}): string {
  const node = ms.nodes[nid]!;
  const kb = (pages: number) => pages * (ms.page_size >> 10);
  const managed = node.node_zones.reduce((a, z) => a + z.managed_pages, 0);
  const free = node.node_zones.reduce((a, z) => a + z.nr_free_pages, 0);
  const high = node.node_zones.filter((z) => z.name === "HighMem");
  const n = page_state(ms).node[nid]!;
  const x: Record<string, number> = {
    ...extra,
    swap_cached: n.nr_swapcached!,
    active_anon: n.nr_active_anon!,
    inactive_anon: n.nr_inactive_anon!,
    active_file: n.nr_active_file!,
    inactive_file: n.nr_inactive_file!,
    unevictable: n.nr_unevictable!,
    mlocked: n.nr_mlock!,
    file_pages: n.nr_file_pages!,
    mapped: n.nr_mapped!,
    anon_pages: n.nr_anon_pages!,
    shmem: n.nr_shmem!,
    page_tables: n.nr_page_table_pages!,
    slab_reclaimable: n.nr_slab_reclaimable!,
    slab_unreclaimable: n.nr_slab_unreclaimable!,
  };
  const g = (k: string) => x[k] ?? 0;
  const rows: [string, number][] = [
    ["MemTotal", kb(managed)],
    ["MemFree", kb(free)],
    ["MemUsed", kb(managed - free)],
    ["SwapCached", kb(g("swap_cached"))],
    ["Active", kb(g("active_anon") + g("active_file"))],
    ["Inactive", kb(g("inactive_anon") + g("inactive_file"))],
    ["Active(anon)", kb(g("active_anon"))],
    ["Inactive(anon)", kb(g("inactive_anon"))],
    ["Active(file)", kb(g("active_file"))],
    ["Inactive(file)", kb(g("inactive_file"))],
    ["Unevictable", kb(g("unevictable"))],
    ["Mlocked", kb(g("mlocked"))],
  ];
  if (ms.arch.bits === 32 && ms.arch.pc) {
    const ht = high.reduce((a, z) => a + z.managed_pages, 0);
    const hf = high.reduce((a, z) => a + z.nr_free_pages, 0);
    rows.push(["HighTotal", kb(ht)], ["HighFree", kb(hf)], ["LowTotal", kb(managed - ht)], ["LowFree", kb(free - hf)]);
  }
  rows.push(
    ["Dirty", 0],
    ["Writeback", 0],
    ["FilePages", kb(g("file_pages"))],
    ["Mapped", kb(g("mapped"))],
    ["AnonPages", kb(g("anon_pages"))],
    ["Shmem", kb(g("shmem"))],
    ["KernelStack", g("kernel_stack_kb")],
    ["PageTables", kb(g("page_tables"))],
    ["SecPageTables", 0],
    ["NFS_Unstable", 0],
    ["Bounce", 0],
    ["WritebackTmp", 0],
    ["KReclaimable", kb(g("slab_reclaimable"))],
    ["Slab", kb(g("slab_reclaimable") + g("slab_unreclaimable"))],
    ["SReclaimable", kb(g("slab_reclaimable"))],
    ["SUnreclaim", kb(g("slab_unreclaimable"))],
    ["AnonHugePages", 0],
    ["ShmemHugePages", 0],
    ["ShmemPmdMapped", 0],
    ["FileHugePages", 0],
    ["FilePmdMapped", 0],
  );
  if (vm_config(ms).unaccepted) rows.push(["Unaccepted", 0]);
  let out = "";
  for (const [k, v] of rows) out += `Node ${nid} ${(k + ":").padEnd(16)}${String(v).padStart(8)} kB\n`;
  out += `Node ${nid} HugePages_Total:${"0".padStart(6)}\nNode ${nid} HugePages_Free:${"0".padStart(7)}\nNode ${nid} HugePages_Surp:${"0".padStart(7)}\n`;
  return out;
}

/** numactl --hardware */
export function numactl_hardware(ms: MachineState): string {
  const n = ms.nodes.length;
  let out = `available: ${n} nodes (${n === 1 ? "0" : `0-${n - 1}`})\n`;
  const cpusPerNode = Math.max(1, Math.floor(ms.nr_cpus / n));
  for (const node of ms.nodes) {
    const id = node.node_id;
    const cpus = Array.from({ length: cpusPerNode }, (_, i) => id * cpusPerNode + i).filter((c) => c < ms.nr_cpus);
    const managed = node.node_zones.reduce((a, z) => a + z.managed_pages, 0);
    const free = node.node_zones.reduce((a, z) => a + z.nr_free_pages, 0);
    out += `node ${id} cpus:${cpus.map((c) => ` ${c}`).join("")}\n`;
    out += `node ${id} size: ${Math.floor((managed * ms.page_size) / 2 ** 20)} MB\n`;
    out += `node ${id} free: ${Math.floor((free * ms.page_size) / 2 ** 20)} MB\n`;
  }
  out += "node distances:\nnode ";
  for (const node of ms.nodes) out += `${String(node.node_id).padStart(3)} `;
  out += "\n";
  for (const a of ms.nodes) {
    out += `${String(a.node_id).padStart(3)}: `;
    for (const b of ms.nodes) out += `${String(ms.distance[a.node_id]![b.node_id]).padStart(3)} `;
    out += "\n";
  }
  return out;
}
