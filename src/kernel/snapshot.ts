/**
 * Deep copies of the engine state: `m.snapshot()` / `boot(snapshot)` branch a machine, and tests use
 * `state_equal` to prove that a failed call left the machine byte-for-byte as it was.
 */
import { MachineState } from "./machine";
import { pglist_data, zone } from "../mm/mmzone";

export function clone_machine(src: MachineState): MachineState {
  const ms = Object.create(MachineState.prototype) as MachineState;
  const mm = src.mem_map.clone();
  const w = ms as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(src)) w[k] = v;
  w.mem_map = mm;
  w.pageblock_mt = src.pageblock_mt.slice();
  w.trace = Object.assign(Object.create(Object.getPrototypeOf(src.trace)), { on: src.trace.on, events: [], depth: 0 });
  const rng = Object.create(Object.getPrototypeOf(src.rng));
  Object.assign(rng, src.rng);
  w.rng = rng;
  w.sysctl = structuredClone(src.sysctl);
  w.reserved = src.reserved.map((r) => ({ ...r }));
  w.ram_ranges = src.ram_ranges.map((r) => [...r]);
  w.dmesg = [...src.dmesg];
  w.distance = src.distance.map((r) => [...r]);
  w.vmstat = { ...src.vmstat };
  const nodes: pglist_data[] = [];
  const byId: (zone | undefined)[] = [];
  for (const n of src.nodes) {
    const nn = new pglist_data(n.node_id, mm);
    nn.node_start_pfn = n.node_start_pfn;
    nn.node_spanned_pages = n.node_spanned_pages;
    nn.node_present_pages = n.node_present_pages;
    nn.totalreserve_pages = n.totalreserve_pages;
    for (const z of n.node_zones) {
      const nz = new zone(z.name, z.zone_idx, nn, z.NR_PAGE_ORDERS);
      nz.zone_start_pfn = z.zone_start_pfn;
      nz.spanned_pages = z.spanned_pages;
      nz.present_pages = z.present_pages;
      nz.managed_pages = z.managed_pages;
      nz._watermark.splice(0, 4, ...z._watermark);
      nz.watermark_boost = z.watermark_boost;
      nz.lowmem_reserve = [...z.lowmem_reserve];
      nz.nr_free_pages = z.nr_free_pages;
      nz.nr_free.set(z.nr_free);
      nz.list_head.set(z.list_head);
      nz.list_tail.set(z.list_tail);
      nz.list_count.set(z.list_count);
      Object.assign(nz.stat, z.stat);
      Object.assign(nz.numa, z.numa);
      nn.node_zones.push(nz);
      byId[nz.id] = nz;
    }
    nodes.push(nn);
  }
  w.nodes = nodes;
  w.zones_by_id = byId;
  // subsystem state added by later layers (processes, slab, vmalloc…) clones itself through this hook
  for (const [k, v] of Object.entries(src)) {
    if (v && typeof v === "object" && typeof (v as { clone_for?: unknown }).clone_for === "function") w[k] = (v as { clone_for(ms: MachineState): unknown }).clone_for(ms);
  }
  return ms;
}

/** byte-for-byte equality of the allocator state (frames, pageblocks, zones, counters, log) */
export function state_equal(a: MachineState, b: MachineState): boolean {
  if (!a.mem_map.equals(b.mem_map)) return false;
  if (a.pageblock_mt.length !== b.pageblock_mt.length || a.pageblock_mt.some((v, i) => v !== b.pageblock_mt[i])) return false;
  if (a.dmesg.length !== b.dmesg.length) return false;
  if (JSON.stringify(a.vmstat) !== JSON.stringify(b.vmstat)) return false;
  for (let i = 0; i < a.nodes.length; i++) {
    const za = a.nodes[i]!.node_zones;
    const zb = b.nodes[i]!.node_zones;
    for (let j = 0; j < za.length; j++) {
      const x = za[j]!;
      const y = zb[j]!;
      if (x.nr_free_pages !== y.nr_free_pages || x.watermark_boost !== y.watermark_boost || x.managed_pages !== y.managed_pages) return false;
      for (const k of ["nr_free", "list_head", "list_tail", "list_count"] as const) if (x[k].some((v, idx) => v !== y[k][idx])) return false;
      if (JSON.stringify(x._watermark) !== JSON.stringify(y._watermark)) return false;
    }
  }
  return true;
}
