/**
 * /proc/slabinfo, version 2.1 (mm/slab_common.c print_slabinfo_header(), cache_show(); SLUB's
 * get_slabinfo() in mm/slub.c, Linux 6.12). Caches print newest first (create_cache() list_add()s at the
 * head of slab_caches). SLUB has no tunables: "0 0 0", sharedavail 0, active_slabs = num_slabs;
 * active_objs = num_objs - free objects on the partial lists (the CPU slab's free objects count as active).
 */
import type { MachineState } from "../kernel/machine";
import { cache_counts, slab_of } from "../mm/slub";

export const SLABINFO_HEADER =
  "slabinfo - version: 2.1\n" +
  "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

/** slab_show() for every cache */
export function slabinfo(ms: MachineState): string {
  const st = slab_of(ms);
  let s = SLABINFO_HEADER;
  for (let i = st.caches.length - 1; i >= 0; i--) {
    const c = st.caches[i]!;
    const n = cache_counts(c);
    s += `${c.name.padEnd(17)} ${String(n.active_objs).padStart(6)} ${String(n.num_objs).padStart(6)} ${String(c.size).padStart(6)} ${String(c.objects).padStart(4)} ${String(2 ** c.order).padStart(4)}`;
    s += ` : tunables ${"0".padStart(4)} ${"0".padStart(4)} ${"0".padStart(4)}`;
    s += ` : slabdata ${String(n.num_slabs).padStart(6)} ${String(n.num_slabs).padStart(6)} ${"0".padStart(6)}\n`;
  }
  return s;
}
