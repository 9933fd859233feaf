/**
 * /proc/meminfo as fs/proc/meminfo.c meminfo_proc_show() prints it (Linux 6.12): 16-column label,
 * value right-aligned in 8 columns, " kB" (HardwareCorrupted: "%5lu"). The LRU lines (Active…
 * Unevictable), Mlocked, SwapCached, SwapTotal/SwapFree (si_swapinfo()), AnonPages (NR_ANON_MAPPED),
 * Mapped, Shmem and Cached (NR_FILE_PAGES − swap cache − buffers) are recounted from the engine's
 * state (vmstat.ts page_state()); slab, page tables, vmalloc and Committed_AS come from the subsystems'
 * meminfo sources. Fields mmlab does not model (dirty/writeback page cache, zswap, THP, hugetlb, CMA…)
 * print the value a machine with none of them would show: 0.
 */
import type { MachineState } from "../kernel/machine";
import { x86_32_areas, VMALLOC_OFFSET } from "../arch/pgtable_32_areas";
import { lru_pages } from "../mm/swap";
import { si_swapinfo, total_swap_pages } from "../mm/swapfile";
import { page_state, vm_config, type page_state_t } from "./vmstat";

export interface meminfo_extra {
  /** counters later subsystems fill in (pages) */
  [k: string]: number;
}

function show(label: string, kb: number | bigint): string {
  return `${(label + ":").padEnd(16)}${String(kb).padStart(8)} kB\n`;
}

/** the global node counters meminfo prints, summed over the nodes of page_state() (pages) */
export function global_page_state(ms: MachineState, ps: page_state_t = page_state(ms)): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of ps.node) for (const [k, v] of Object.entries(n)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** si_mem_available() (mm/show_mem.c): free − totalreserve + file LRU and reclaimable slab, each less
 * min(half, Σ low watermarks), ≥ 0. The file LRU is the engine's unless `x` gives it. */
export function si_mem_available(ms: MachineState, x: meminfo_extra = {}): number {
  let wmark_low = 0;
  for (const n of ms.nodes) for (const z of n.node_zones) wmark_low += z.low_wmark_pages();
  const free = ms.nodes.reduce((a, n) => a + n.node_zones.reduce((b, z) => b + z.nr_free_pages, 0), 0);
  let available = free - ms.totalreserve_pages;
  const l = x.active_file === undefined ? lru_pages(ms) : [0, 0, x.inactive_file ?? 0, x.active_file, 0];
  let pagecache = l[2]! + l[3]!;
  pagecache -= Math.min(Math.floor(pagecache / 2), wmark_low);
  available += pagecache;
  const reclaimable = x.slab_reclaimable ?? 0;
  available += reclaimable - Math.min(Math.floor(reclaimable / 2), wmark_low);
  return Math.max(available, 0);
}

/** the vmalloc area's size (VMALLOC_TOTAL) in bytes */
export function vmalloc_total(ms: MachineState): bigint {
  const a = ms.arch;
  if (a.name === "x86_64") return a.la57 ? (12800n << 40n) - 1n : 0xffffe8ffffffffffn - 0xffffc90000000000n;
  if (!a.pc) return 0n;
  const areas = x86_32_areas(a);
  const high_memory = a.PAGE_OFFSET + BigInt(ms.max_low_pfn) * BigInt(a.PAGE_SIZE);
  return areas.VMALLOC_END - (high_memory + VMALLOC_OFFSET);
}

/** DirectMap*: how init_memory_mapping() maps RAM (split_mem_range(): 4k head, 2M, 1G, 2M, 4k tail) */
function direct_map(ms: MachineState): [string, number][] {
  const P = ms.page_size;
  const a = ms.arch;
  const big = a.name === "x86" ? 4 << 20 : 2 << 20;
  const gb = a.name === "x86_64" ? 1 << 30 : 0;
  let k4 = 0;
  let m2 = 0;
  let g1 = 0;
  const lowEnd = ms.max_low_pfn * P;
  for (const [s0, e0] of ms.ram_ranges) {
    let s = s0 * P;
    const e = Math.min(e0 * P, lowEnd);
    if (s === P) s = 0; // the first page is mapped too (ISA range is part of the 4k head)
    if (e <= s) continue;
    const up = (x: number, al: number) => Math.ceil(x / al) * al;
    const dn = (x: number, al: number) => Math.floor(x / al) * al;
    const bs = Math.min(up(s, big), e);
    k4 += bs - s;
    if (gb) {
      const gs = Math.min(up(bs, gb), dn(e, big));
      m2 += Math.max(0, gs - bs);
      const ge = Math.max(gs, dn(e, gb));
      g1 += ge - gs;
      const be = Math.max(ge, dn(e, big));
      m2 += be - ge;
      k4 += e - be;
    } else {
      const be = Math.max(bs, dn(e, big));
      m2 += be - bs;
      k4 += e - be;
    }
  }
  const out: [string, number][] = [["DirectMap4k", k4 >> 10]];
  out.push([a.name === "x86" ? "DirectMap4M" : "DirectMap2M", m2 >> 10]);
  if (gb) out.push(["DirectMap1G", g1 >> 10]);
  return out;
}

export function meminfo(ms: MachineState, extra: meminfo_extra = {}): string {
  const kb = (pages: number) => pages * (ms.page_size >> 10);
  // the engine's own counts win over what sources estimated for the same keys
  const gp = global_page_state(ms);
  const x: meminfo_extra = {
    ...extra,
    inactive_anon: gp.nr_inactive_anon!,
    active_anon: gp.nr_active_anon!,
    inactive_file: gp.nr_inactive_file!,
    active_file: gp.nr_active_file!,
    unevictable: gp.nr_unevictable!,
    mlocked: gp.nr_mlock!,
    swap_cached: gp.nr_swapcached!,
    anon_pages: gp.nr_anon_pages!,
    mapped: gp.nr_mapped!,
    shmem: gp.nr_shmem!,
    cached: Math.max(0, gp.nr_file_pages! - gp.nr_swapcached!),
  };
  const g = (k: string) => x[k] ?? 0;
  const swap = si_swapinfo(ms);
  const zones = ms.nodes.flatMap((n) => n.node_zones);
  const free = zones.reduce((a, z) => a + z.nr_free_pages, 0);
  const high = zones.filter((z) => z.name === "HighMem" || (z.name === "Movable" && ms.arch.bits === 32 && z.zone_start_pfn >= ms.max_low_pfn));
  const highTotal = high.reduce((a, z) => a + z.managed_pages, 0);
  const highFree = high.reduce((a, z) => a + z.nr_free_pages, 0);
  let s = "";
  s += show("MemTotal", kb(ms.totalram_pages));
  s += show("MemFree", kb(free));
  s += show("MemAvailable", kb(si_mem_available(ms, x)));
  s += show("Buffers", 0);
  s += show("Cached", kb(g("cached")));
  s += show("SwapCached", kb(g("swap_cached")));
  s += show("Active", kb(g("active_anon") + g("active_file")));
  s += show("Inactive", kb(g("inactive_anon") + g("inactive_file")));
  s += show("Active(anon)", kb(g("active_anon")));
  s += show("Inactive(anon)", kb(g("inactive_anon")));
  s += show("Active(file)", kb(g("active_file")));
  s += show("Inactive(file)", kb(g("inactive_file")));
  s += show("Unevictable", kb(g("unevictable")));
  s += show("Mlocked", kb(g("mlocked")));
  if (ms.arch.bits === 32 && ms.arch.pc) {
    s += show("HighTotal", kb(highTotal));
    s += show("HighFree", kb(highFree));
    s += show("LowTotal", kb(ms.totalram_pages - highTotal));
    s += show("LowFree", kb(free - highFree));
  }
  s += show("SwapTotal", swap.total_kb);
  s += show("SwapFree", swap.free_kb);
  s += show("Zswap", 0);
  s += show("Zswapped", 0);
  s += show("Dirty", 0);
  s += show("Writeback", 0);
  s += show("AnonPages", kb(g("anon_pages")));
  s += show("Mapped", kb(g("mapped")));
  s += show("Shmem", kb(g("shmem")));
  s += show("KReclaimable", kb(g("slab_reclaimable")));
  s += show("Slab", kb(g("slab_reclaimable") + g("slab_unreclaimable")));
  s += show("SReclaimable", kb(g("slab_reclaimable")));
  s += show("SUnreclaim", kb(g("slab_unreclaimable")));
  s += show("KernelStack", g("kernel_stack_kb"));
  s += show("PageTables", kb(g("page_tables")));
  s += show("SecPageTables", 0);
  s += show("NFS_Unstable", 0);
  s += show("Bounce", 0);
  s += show("WritebackTmp", 0);
  // vm_commit_limit(): totalram * overcommit_ratio (50) / 100 + total_swap_pages
  s += show("CommitLimit", kb(Math.floor((ms.totalram_pages * 50) / 100) + total_swap_pages(ms)));
  s += show("Committed_AS", kb(g("committed_as")));
  s += `${"VmallocTotal:".padEnd(16)}${String(vmalloc_total(ms) >> 10n).padStart(8)} kB\n`;
  s += show("VmallocUsed", kb(g("vmalloc_used")));
  s += show("VmallocChunk", 0);
  s += show("Percpu", g("percpu_kb"));
  s += `HardwareCorrupted: ${"0".padStart(5)} kB\n`; // seq_printf("HardwareCorrupted: %5lu kB\n")
  s += show("AnonHugePages", 0);
  s += show("ShmemHugePages", 0);
  s += show("ShmemPmdMapped", 0);
  s += show("FileHugePages", 0);
  s += show("FilePmdMapped", 0);
  s += show("CmaTotal", 0);
  s += show("CmaFree", 0);
  if (vm_config(ms).unaccepted) s += show("Unaccepted", 0);
  const hp = ms.arch.name === "x86" ? 4096 : 2048;
  s += `HugePages_Total:   ${"0".padStart(5)}\nHugePages_Free:    ${"0".padStart(5)}\nHugePages_Rsvd:    ${"0".padStart(5)}\nHugePages_Surp:    ${"0".padStart(5)}\n`;
  s += show("Hugepagesize", hp);
  s += show("Hugetlb", 0);
  if (ms.arch.pc) for (const [k, v] of direct_map(ms)) s += show(k, v);
  return s;
}
