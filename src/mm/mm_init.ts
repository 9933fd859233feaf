/**
 * Boot: from the firmware's memory map to a running buddy allocator, after arch/x86/kernel/e820.c,
 * arch/x86/kernel/setup.c, mm/memblock.c and mm/mm_init.c (Linux 6.12).
 *
 *   e820 RAM ranges → memblock.memory; memblock_reserve() the first 1 MiB, the kernel image and
 *   mem_map (allocated top-down, as memblock does) → free_area_init(): nodes, zone spans, present pages,
 *   ZONE_MOVABLE carved by movablecore= → every pageblock MIGRATE_MOVABLE → memblock_free_all():
 *   the free ranges go to the buddy allocator in ascending PFN order, in the largest aligned blocks,
 *   to the list tails (FPI_TO_TAIL); 32-bit highmem page by page (add_highpages_with_active_regions)
 *   → init_per_zone_wmark_min(): min_free_kbytes, watermarks, lowmem_reserve, totalreserve_pages.
 *
 * The PC memory map is QEMU's "pc" machine: page 0 is firmware's (trim_bios_range), 0x9f000–0xfffff is
 * not RAM, RAM above 3 GiB on a larger machine is placed above 4 GiB (the PCI hole).
 */
import type { arch_desc, ZoneType } from "../arch/arch";
import { MIGRATE_TYPES } from "./mmzone";
import { x86_32_areas } from "../arch/pgtable_32_areas";
import { MachineState, type memblock_region, type vm_sysctls } from "../kernel/machine";
import { fmtBytes, hex } from "../lib/units";
import { GFP_USER } from "./gfp";
import { PG_kernel, PG_reserved } from "./memmap";
import { MIGRATE_MOVABLE, WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, pglist_data, zone } from "./mmzone";
import { FPI_NONE, FPI_TO_TAIL, __free_one_page, gfp_zone, node_zonelist } from "./page_alloc";

export interface boot_params {
  arch: arch_desc;
  /** bytes of RAM per node */
  nodeRam: bigint[];
  seed: number;
  /** movablecore= in bytes (0: no ZONE_MOVABLE) */
  movablecore: bigint;
  /** vmalloc= (32-bit), bytes; undefined: default reserve */
  vmalloc?: bigint;
  /** the pre-4.x 896 MiB MAXMEM formula (32-bit) */
  classicMaxmem: boolean;
  /** kernel image size in bytes (_text.._end), 0 for none */
  kernelImage: bigint;
  /** min_free_kbytes set by the user (vm.min_free_kbytes), else computed */
  minFreeKbytes?: number;
  watermarkScaleFactor: number;
  /** numa_distance matrix; default 10 local / 20 remote */
  distance?: number[][];
  /** online CPUs */
  cpus: number;
  /** transparent hugepages enabled (khugepaged raises min_free_kbytes) */
  thp: boolean;
}

/** SWAP_CLUSTER_MAX (include/linux/swap.h) */
const SWAP_CLUSTER_MAX = 32;

/** int_sqrt() */
function int_sqrt(x: number): number {
  return Math.floor(Math.sqrt(x));
}

/** mult_frac(x, n, d) without overflow, as the kernel macro */
function mult_frac(x: number, n: number, d: number): number {
  const q = Math.floor(x / d);
  const r = x % d;
  return q * n + Math.floor((r * n) / d);
}

/** The e820 RAM ranges [start, end) in PFNs for a PC with this much RAM (QEMU "pc" layout). */
function e820_ram_ranges(arch: arch_desc, ram_pages: number): [number, number][] {
  if (!arch.pc) return [[0, ram_pages]];
  const onemb = (1 << 20) / arch.PAGE_SIZE;
  const low = 0x9f; // 0x0–0x9fbff usable; page 0x9f is partly firmware's: not a whole RAM page
  const threeG = (3 * 2 ** 30) / arch.PAGE_SIZE;
  const fourG = 2 ** 32 / arch.PAGE_SIZE;
  // page 0 is reserved from e820 RAM by trim_bios_range() (arch/x86/kernel/setup.c)
  const ranges: [number, number][] = [[1, low]];
  // RAM counts from physical 0 as a DIMM would: 640 KiB conventional, then from 1 MiB
  if (ram_pages <= threeG) ranges.push([onemb, ram_pages]);
  else {
    ranges.push([onemb, threeG]);
    ranges.push([fourG, fourG + (ram_pages - threeG)]);
  }
  return ranges;
}

/** a minimal memblock: memory and reserved region lists, top-down allocation */
class memblock_type_t {
  constructor(
    readonly memory: [number, number][],
    readonly reserved: memblock_region[],
  ) {}
  is_reserved(start: number, end: number): boolean {
    return this.reserved.some((r) => start < r.base + r.size && r.base < end);
  }
  /** memblock_reserve() */
  reserve(base: number, size: number, name: string, kernel = false): void {
    this.reserved.push({ base, size, name, kernel });
  }
  /** memblock_alloc_range_nid() top-down: the highest free, aligned range of `size` pages inside
   * [lo, hi) */
  alloc_top_down(size: number, align: number, lo: number, hi: number, name: string, kernel = true): number {
    const mem = [...this.memory].sort((a, b) => b[0] - a[0]);
    for (const [ms, me] of mem) {
      let end = Math.min(me, hi);
      const start = Math.max(ms, lo);
      while (end - start >= size) {
        let base = Math.floor((end - size) / align) * align;
        if (base < start) break;
        const clash = this.reserved.filter((r) => base < r.base + r.size && r.base < base + size);
        if (!clash.length) {
          this.reserve(base, size, name, kernel);
          return base;
        }
        end = Math.min(...clash.map((r) => r.base));
      }
    }
    return -1;
  }
  /** the free ranges (memory minus reserved), ascending: for_each_free_mem_range() */
  free_ranges(): [number, number][] {
    const out: [number, number][] = [];
    const res = [...this.reserved].sort((a, b) => a.base - b.base);
    for (const [ms, me] of [...this.memory].sort((a, b) => a[0] - b[0])) {
      let cur = ms;
      for (const r of res) {
        const rs = r.base;
        const re = r.base + r.size;
        if (re <= cur || rs >= me) continue;
        if (rs > cur) out.push([cur, Math.min(rs, me)]);
        cur = Math.max(cur, re);
        if (cur >= me) break;
      }
      if (cur < me) out.push([cur, me]);
    }
    return out;
  }
}

/**
 * Boot a machine: returns the engine state with every zone's free lists filled, watermarks set.
 */
export function boot_machine(p: boot_params): MachineState {
  const arch = p.arch;
  const PAGE = arch.PAGE_SIZE;
  const sysctl: vm_sysctls = {
    min_free_kbytes: 0,
    watermark_scale_factor: p.watermarkScaleFactor,
    watermark_boost_factor: arch.pc ? 15000 : 0,
    lowmem_reserve_ratio: { DMA: 256, DMA32: 256, Normal: 32, HighMem: 0, Movable: 0 },
  };
  const total_ram_pages = p.nodeRam.reduce((a, b) => a + Number(b / BigInt(PAGE)), 0);
  let ram = e820_ram_ranges(arch, total_ram_pages);
  const log: string[] = [];
  // 32-bit without PAE addresses 4 GiB at most (highmem_pfn_init(): "Warning only 4GB will be used.")
  const addressable = 2 ** arch.pa_bits / PAGE;
  if (ram.some(([, e]) => e > addressable)) {
    ram = ram.map(([s, e]) => [s, Math.min(e, addressable)] as [number, number]).filter(([s, e]) => e > s);
    log.push("Warning only 4GB will be used.", "Use a HIGHMEM64G enabled kernel.");
  }
  const max_pfn = ram[ram.length - 1]![1];
  const ms = new MachineState(arch, max_pfn, p.seed, sysctl);
  ms.nr_cpus = p.cpus;
  for (const l of log) ms.printk(l);
  ms.ram_ranges.push(...ram);

  // max_low_pfn: lowmem limit on 32-bit (find_low_pfn_range()), all of RAM on 64-bit and the toy
  if (arch.bits === 32 && arch.pc) {
    const areas = x86_32_areas(arch, p.vmalloc, p.classicMaxmem);
    const maxmem_pfn = Number(areas.MAXMEM / BigInt(PAGE));
    ms.max_low_pfn = Math.min(max_pfn, maxmem_pfn);
  } else ms.max_low_pfn = max_pfn;

  // ---- nodes: node n owns the n-th slice of the RAM as the DIMMs hold it (linear RAM page k lives at
  // PFN k below 3 GiB and above 4 GiB beyond that), intersected with the e820 RAM ranges
  const nodeRanges: [number, number][][] = [];
  {
    const threeG = (3 * 2 ** 30) / PAGE;
    const fourG = 2 ** 32 / PAGE;
    const split = arch.pc && total_ram_pages > threeG;
    const toPhys = (a: number, b: number): [number, number][] =>
      !split || b <= threeG ? [[a, b]] : a >= threeG ? [[a + fourG - threeG, b + fourG - threeG]] : [[a, threeG], [fourG, b + fourG - threeG]];
    let lin = 0;
    for (let n = 0; n < p.nodeRam.length; n++) {
      const pages = Number(p.nodeRam[n]! / BigInt(PAGE));
      const mine: [number, number][] = [];
      for (const [ps, pe] of toPhys(lin, lin + pages))
        for (const [rs, re] of ram) {
          const s = Math.max(ps, rs);
          const e = Math.min(pe, re);
          if (e > s) mine.push([s, e]);
        }
      nodeRanges.push(mine);
      lin += pages;
    }
  }
  const nr_nodes = p.nodeRam.length;
  ms.distance = p.distance ?? Array.from({ length: nr_nodes }, (_, a) => Array.from({ length: nr_nodes }, (_, b) => (a === b ? 10 : 20)));

  // ---- zone limits (zone_sizes_init(), arch/x86/mm/init.c)
  const zones: ZoneType[] = arch.zones;
  const first_pfn = ram[0]![0];
  const zone_hi: Record<string, number> = {};
  const zone_lo: Record<string, number> = {};
  {
    let lo = first_pfn;
    for (const t of zones) {
      if (t === "Movable") continue;
      let hi: number;
      if (t === "DMA") hi = Math.min(arch.max_dma_pfn, ms.max_low_pfn);
      else if (t === "DMA32") hi = Math.min(arch.max_dma32_pfn, ms.max_low_pfn);
      else if (t === "Normal") hi = ms.max_low_pfn;
      else hi = max_pfn; // HighMem
      hi = Math.max(hi, lo);
      zone_lo[t] = lo;
      zone_hi[t] = hi;
      lo = hi;
    }
  }
  // movable_zone: the highest populated zone (find_usable_zone_for_movable())
  const kernel_zones = zones.filter((t) => t !== "Movable");
  const movable_zone = [...kernel_zones].reverse().find((t) => zone_hi[t]! > zone_lo[t]!) ?? "Normal";

  const presentIn = (ranges: [number, number][], s: number, e: number) => ranges.reduce((a, [rs, re]) => a + Math.max(0, Math.min(re, e) - Math.max(rs, s)), 0);

  // ---- ZONE_MOVABLE from movablecore= (find_zone_movable_pfns_for_nodes())
  const zone_movable_pfn = new Array<number>(nr_nodes).fill(0);
  const movablecore_pages = Number(p.movablecore / BigInt(PAGE));
  if (movablecore_pages > 0 && zones.includes("Movable")) {
    const usable_startpfn = zone_lo[movable_zone]!;
    const totalpages = nodeRanges.reduce((a, r) => a + presentIn(r, 0, max_pfn), 0);
    let required_kernelcore = Math.max(totalpages - Math.min(movablecore_pages, totalpages), 0);
    let usable_nodes = nodeRanges.filter((r) => r.length).length;
    for (;;) {
      let kernelcore_node = Math.floor(required_kernelcore / usable_nodes);
      for (let nid = 0; nid < nr_nodes; nid++) {
        if (required_kernelcore < kernelcore_node) kernelcore_node = Math.floor(required_kernelcore / usable_nodes);
        let kernelcore_remaining = kernelcore_node;
        for (const [rs, re] of nodeRanges[nid]!) {
          let start_pfn = Math.max(rs, zone_movable_pfn[nid]!);
          const end_pfn = re;
          if (start_pfn >= end_pfn) continue;
          if (start_pfn < usable_startpfn) {
            const kernel_pages = Math.min(end_pfn, usable_startpfn) - start_pfn;
            kernelcore_remaining -= Math.min(kernel_pages, kernelcore_remaining);
            required_kernelcore -= Math.min(kernel_pages, required_kernelcore);
            if (end_pfn <= usable_startpfn) {
              zone_movable_pfn[nid] = end_pfn;
              continue;
            }
            start_pfn = usable_startpfn;
          }
          let size_pages = end_pfn - start_pfn;
          if (size_pages > kernelcore_remaining) size_pages = kernelcore_remaining;
          zone_movable_pfn[nid] = start_pfn + size_pages;
          required_kernelcore -= Math.min(required_kernelcore, size_pages);
          kernelcore_remaining -= size_pages;
          if (!kernelcore_remaining) break;
        }
      }
      usable_nodes--;
      if (usable_nodes && required_kernelcore > usable_nodes) continue;
      break;
    }
    const MAX_ORDER_NR_PAGES = 1 << arch.MAX_PAGE_ORDER;
    for (let nid = 0; nid < nr_nodes; nid++) {
      const r = nodeRanges[nid]!;
      zone_movable_pfn[nid] = Math.ceil(zone_movable_pfn[nid]! / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
      const end = r.length ? r[r.length - 1]![1] : 0;
      if (zone_movable_pfn[nid]! >= end) zone_movable_pfn[nid] = 0;
    }
  }

  // ---- free_area_init(): nodes and zones
  const mm = ms.mem_map;
  for (let nid = 0; nid < nr_nodes; nid++) {
    const node = new pglist_data(nid, mm);
    ms.nodes.push(node);
    const r = nodeRanges[nid]!;
    const nstart = r.length ? r[0]![0] : 0;
    const nend = r.length ? r[r.length - 1]![1] : 0;
    node.node_start_pfn = nstart;
    node.node_spanned_pages = nend - nstart;
    node.node_present_pages = presentIn(r, nstart, nend);
    zones.forEach((t, idx) => {
      const z = new zone(t, idx, node, ms.NR_PAGE_ORDERS);
      node.node_zones.push(z);
      ms.zones_by_id[z.id] = z;
      let zs: number;
      let ze: number;
      if (t === "Movable") {
        if (!zone_movable_pfn[nid]) return;
        zs = zone_movable_pfn[nid]!;
        ze = Math.min(nend, zone_hi[movable_zone]!);
      } else {
        zs = Math.max(zone_lo[t]!, nstart);
        ze = Math.min(zone_hi[t]!, nend);
        const zm = zone_movable_pfn[nid]!;
        if (zm) {
          if (zs < zm && ze > zm) ze = zm;
          else if (zs >= zm) zs = ze;
        }
      }
      if (ze <= zs) return;
      z.zone_start_pfn = zs;
      z.spanned_pages = ze - zs;
      z.present_pages = presentIn(r, zs, ze);
      mm.zoneid.fill(z.id, zs, ze);
    });
    // ZONE_DEVICE exists on x86-64 distribution kernels (CONFIG_ZONE_DEVICE): always empty here,
    // but /proc/zoneinfo lists it and the protection arrays have its column
    if (arch.name === "x86_64") {
      const z = new zone("Device" as ZoneType, zones.length, node, ms.NR_PAGE_ORDERS);
      node.node_zones.push(z);
      ms.zones_by_id[z.id] = z;
    }
  }

  // holes inside zone spans: struct pages exist, PageReserved (init_unavailable_range())
  {
    let prev = 0;
    for (const [s, e] of ram) {
      for (let pfn = prev; pfn < s; pfn++) mm.flags[pfn] = PG_reserved;
      prev = e;
    }
  }

  // ---- memblock reservations
  const memblock = new memblock_type_t(ram.map((r) => [...r] as [number, number]), ms.reserved);
  if (arch.pc) {
    const onemb = (1 << 20) / PAGE;
    // "Unconditionally reserve the entire first 1M" (arch/x86/realmode/init.c reserve_real_mode())
    memblock.reserve(0, onemb, "first 1 MiB (BIOS, real mode)");
    // the kernel image at CONFIG_PHYSICAL_START = 16 MiB, or at 1 MiB on a machine too small for that
    const img = Math.ceil(Number(p.kernelImage) / PAGE);
    if (img > 0) {
      const at16 = (16 << 20) / PAGE;
      const base = at16 + img <= Math.min(max_pfn, ms.max_low_pfn) - onemb ? at16 : onemb;
      memblock.reserve(base, img, "kernel image (_text.._end)", true);
    }
    // mem_map: FLATMEM on 32-bit (alloc_node_mem_map(), lowmem), vmemmap sections on x86-64
    for (const node of ms.nodes) {
      if (!node.node_spanned_pages) continue;
      const MAX_ORDER_NR_PAGES = 1 << arch.MAX_PAGE_ORDER;
      let bytes: number;
      let align: number;
      if (arch.bits === 64) {
        // SPARSEMEM_VMEMMAP: one PMD-mapped 2 MiB chunk per present 128 MiB section
        const SECTION = (128 << 20) / PAGE;
        let sections = 0;
        for (let s = Math.floor(node.node_start_pfn / SECTION) * SECTION; s < node.node_end_pfn; s += SECTION) if (presentIn(nodeRanges[node.node_id]!, s, s + SECTION)) sections++;
        bytes = sections * SECTION * arch.struct_page_size;
        align = (2 << 20) / PAGE;
      } else {
        const start = node.node_start_pfn & ~(MAX_ORDER_NR_PAGES - 1);
        const end = Math.ceil(node.node_end_pfn / MAX_ORDER_NR_PAGES) * MAX_ORDER_NR_PAGES;
        bytes = (end - start) * arch.struct_page_size;
        align = 1;
      }
      const pages = Math.ceil(bytes / PAGE);
      const hi = Math.min(node.node_end_pfn, ms.max_low_pfn);
      let at = memblock.alloc_top_down(pages, align, node.node_start_pfn, hi, `mem_map of node ${node.node_id} (${fmtBytes(bytes)}, ${arch.struct_page_size}-byte struct page)`);
      if (at < 0) at = memblock.alloc_top_down(pages, 1, 0, ms.max_low_pfn, `mem_map of node ${node.node_id}`);
    }
  }
  for (const r of ms.reserved) {
    const s = Math.max(0, r.base);
    const e = Math.min(max_pfn, r.base + r.size);
    // the kernel's own memory (image, mem_map) is PG_kernel too, so pictures tell it from firmware areas
    const f = r.kernel ? PG_reserved | PG_kernel : PG_reserved;
    for (let pfn = s; pfn < e; pfn++) mm.flags[pfn]! |= f;
  }

  // every pageblock starts MIGRATE_MOVABLE (memmap_init_range())
  ms.pageblock_mt.fill(MIGRATE_MOVABLE);

  // build_all_zonelists() (mm/page_alloc.c, 6.12), after memmap_init and before memblock_free_all:
  // vm_total_pages = nr_free_zone_pages(gfp_zone(GFP_HIGHUSER_MOVABLE)) — at that point managed_pages is
  // still present_pages and no watermark is set — and mobility grouping is switched off when that is
  // under pageblock_nr_pages * MIGRATE_TYPES (a 32-bit non-PAE PC with up to ~24 MiB). The toy machine
  // is a teaching geometry, not a kernel configuration: it keeps grouping on (every pageblock MOVABLE).
  if (arch.name !== "toy") {
    const vm_total_pages = ms.nodes.reduce((a, n) => a + n.node_zones.reduce((b, z) => b + z.present_pages, 0), 0);
    ms.page_group_by_mobility_disabled = vm_total_pages < ms.pageblock_nr_pages * MIGRATE_TYPES;
    ms.printk(`Built ${ms.nodes.length} zonelists, mobility grouping ${ms.page_group_by_mobility_disabled ? "off" : "on"}.  Total pages: ${vm_total_pages}`);
  }

  // ---- memblock_free_all(): lowmem in the largest aligned blocks, ascending, FPI_TO_TAIL
  const free = memblock.free_ranges();
  const tr = ms.trace;
  tr.on = false;
  for (const [s, e] of free) {
    const lo_end = Math.min(e, ms.max_low_pfn);
    __free_pages_memory(ms, s, lo_end);
  }
  // 32-bit highmem: free_highmem_page() one page at a time, through the normal free path
  if (ms.max_low_pfn < max_pfn) {
    for (const [s, e] of free) {
      for (let pfn = Math.max(s, ms.max_low_pfn); pfn < e; pfn++) {
        const z = ms.page_zone(pfn);
        z.managed_pages++;
        mm.refcount[pfn] = 0;
        __free_one_page(ms, pfn, z, 0, ms.get_pageblock_migratetype(pfn), FPI_NONE);
      }
    }
  }
  tr.on = true;
  for (const n of ms.nodes) for (const z of n.node_zones) ms.totalram_pages += z.managed_pages;

  // ---- init_per_zone_wmark_min()
  if (arch.pc) {
    calculate_min_free_kbytes(ms, p.minFreeKbytes);
    setup_per_zone_wmarks(ms);
    setup_per_zone_lowmem_reserve(ms);
    // hugepage_init() → start_stop_khugepaged() → set_recommended_min_free_kbytes() (mm/khugepaged.c)
    if (p.thp) set_recommended_min_free_kbytes(ms, p.minFreeKbytes !== undefined);
  } else {
    // the toy: zero watermarks, no reserves (a clean algorithm to compare against)
    ms.sysctl.min_free_kbytes = p.minFreeKbytes ?? 0;
    for (const n of ms.nodes) for (const z of n.node_zones) z.lowmem_reserve = new Array(n.node_zones.length).fill(0);
    if (p.minFreeKbytes) setup_per_zone_wmarks(ms);
    calculate_totalreserve_pages(ms);
  }
  boot_log(ms);
  return ms;
}

/** __free_pages_memory(): free [start, end) in the largest chunks alignment allows */
function __free_pages_memory(ms: MachineState, start: number, end: number): void {
  const MAX = ms.MAX_PAGE_ORDER;
  while (start < end) {
    let order = start ? Math.min(MAX, ctz(start)) : MAX;
    while (start + (1 << order) > end) order--;
    // memblock_free_pages() → __free_pages_core(): managed_pages += nr, then __free_pages_ok(FPI_TO_TAIL)
    const z = ms.page_zone(start);
    z.managed_pages += 1 << order;
    free_pages_ok_split(ms, z, start, order);
    start += 1 << order;
  }
}

/** free a block that may straddle pageblocks (split_large_buddy) with FPI_TO_TAIL */
function free_pages_ok_split(ms: MachineState, z: zone, pfn: number, order: number): void {
  const end = pfn + (1 << order);
  const o = Math.min(order, ms.pageblock_order);
  for (; pfn < end; pfn += 1 << o) __free_one_page(ms, pfn, z, o, ms.get_pageblock_migratetype(pfn), FPI_TO_TAIL);
}

function ctz(x: number): number {
  let n = 0;
  while (n < 53 && x % 2 ** (n + 1) === 0) n++;
  return n;
}

/** calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16) clamped to [128, 262144] */
export function calculate_min_free_kbytes(ms: MachineState, user?: number): void {
  if (user !== undefined) {
    ms.sysctl.min_free_kbytes = user;
    return;
  }
  // nr_free_buffer_pages(): managed − high watermark of the zones GFP_USER may use (watermarks are 0 here)
  const highest = gfp_zone(ms, GFP_USER);
  let pages = 0;
  for (const z of node_zonelist(ms, 0)) {
    if (z.zone_idx > highest) continue;
    const high = z.high_wmark_pages();
    if (z.managed_pages > high) pages += z.managed_pages - high;
  }
  const lowmem_kbytes = pages * (ms.page_size >> 10);
  const v = int_sqrt(lowmem_kbytes * 16);
  ms.sysctl.min_free_kbytes = Math.min(Math.max(v, 128), 262144);
}

/**
 * set_recommended_min_free_kbytes() (mm/khugepaged.c): with THP enabled, keep about two pageblocks per
 * zone free plus room for fallbacks between the three pcp migratetypes, at most 5% of lowmem. This is why
 * an x86-64 distribution kernel shows min_free_kbytes 67584 on any machine of a few GiB or more
 * (512 × 3 zones × (2 + 3 × 3) pages).
 */
export function set_recommended_min_free_kbytes(ms: MachineState, userSet: boolean): void {
  const highest = gfp_zone(ms, GFP_USER);
  let nr_zones = 0;
  for (const n of ms.nodes) for (const z of n.node_zones) if (z.populated && z.zone_idx <= highest) nr_zones++;
  let recommended = ms.pageblock_nr_pages * nr_zones * 2;
  recommended += ms.pageblock_nr_pages * nr_zones * 3 * 3;
  let buffer_pages = 0;
  for (const z of node_zonelist(ms, 0)) {
    if (z.zone_idx > highest) continue;
    const high = z.high_wmark_pages();
    if (z.managed_pages > high) buffer_pages += z.managed_pages - high;
  }
  recommended = Math.min(recommended, Math.floor(buffer_pages / 20));
  recommended <<= ms.arch.PAGE_SHIFT - 10;
  if (recommended > ms.sysctl.min_free_kbytes) {
    if (userSet) ms.printk(`khugepaged: raising min_free_kbytes from ${ms.sysctl.min_free_kbytes} to ${recommended} to help transparent hugepage allocations`);
    ms.sysctl.min_free_kbytes = recommended;
  }
  setup_per_zone_wmarks(ms);
}

/** __setup_per_zone_wmarks() */
export function setup_per_zone_wmarks(ms: MachineState): void {
  const pages_min = ms.sysctl.min_free_kbytes >> (ms.arch.PAGE_SHIFT - 10);
  let lowmem_pages = 0;
  const all = ms.nodes.flatMap((n) => n.node_zones);
  for (const z of all) if (z.name !== "HighMem" && z.name !== "Movable") lowmem_pages += z.managed_pages;
  for (const z of all) {
    let tmp = lowmem_pages ? Math.floor((pages_min * z.managed_pages) / lowmem_pages) : 0;
    if (z.name === "HighMem" || z.name === "Movable") {
      const min_pages = Math.min(Math.max(Math.floor(z.managed_pages / 1024), SWAP_CLUSTER_MAX), 128);
      z._watermark[WMARK_MIN] = min_pages;
    } else z._watermark[WMARK_MIN] = tmp;
    tmp = Math.max(tmp >> 2, mult_frac(z.managed_pages, ms.sysctl.watermark_scale_factor, 10000));
    z.watermark_boost = 0;
    z._watermark[WMARK_LOW] = z._watermark[WMARK_MIN]! + tmp;
    z._watermark[WMARK_HIGH] = z._watermark[WMARK_LOW]! + tmp;
    z._watermark[WMARK_PROMO] = z._watermark[WMARK_HIGH]! + tmp;
  }
  calculate_totalreserve_pages(ms);
}

/** setup_per_zone_lowmem_reserve(): lowmem_reserve[j] = managed pages of zones i+1..j / ratio[i] */
export function setup_per_zone_lowmem_reserve(ms: MachineState): void {
  for (const node of ms.nodes) {
    const zs = node.node_zones;
    for (const z of zs) z.lowmem_reserve = new Array(zs.length).fill(0);
    for (let i = 0; i < zs.length - 1; i++) {
      const z = zs[i]!;
      const ratio = ms.sysctl.lowmem_reserve_ratio[z.name] ?? 0;
      const clear = !ratio || !z.managed_pages;
      let managed = 0;
      for (let j = i + 1; j < zs.length; j++) {
        managed += zs[j]!.managed_pages;
        z.lowmem_reserve[j] = clear ? 0 : Math.floor(managed / ratio);
      }
    }
  }
  calculate_totalreserve_pages(ms);
}

/** calculate_totalreserve_pages(): Σ min(managed, high watermark + max lowmem_reserve) */
export function calculate_totalreserve_pages(ms: MachineState): void {
  let total = 0;
  for (const node of ms.nodes) {
    node.totalreserve_pages = 0;
    for (const z of node.node_zones) {
      let max = 0;
      for (let j = z.zone_idx; j < node.node_zones.length; j++) max = Math.max(max, z.lowmem_reserve[j] ?? 0);
      max += z.high_wmark_pages();
      if (max > z.managed_pages) max = z.managed_pages;
      node.totalreserve_pages += max;
      total += max;
    }
  }
  ms.totalreserve_pages = total;
}

/** the boot messages a learner would see in dmesg: the zone ranges and early node map */
function boot_log(ms: MachineState): void {
  const P = ms.page_size;
  const addr = (pfn: number) => "0x" + (BigInt(pfn) * BigInt(P)).toString(16).padStart(16, "0");
  const end = (pfn: number) => "0x" + (BigInt(pfn) * BigInt(P) - 1n).toString(16).padStart(16, "0");
  for (const r of ms.reserved) ms.printk(`memblock_reserve: [mem ${addr(r.base)}-${end(r.base + r.size)}] ${r.name}`);
  ms.printk("Zone ranges:");
  for (const t of ms.arch.zones) {
    if (t === "Movable") continue;
    const zs = ms.nodes.flatMap((n) => n.node_zones).filter((z) => z.name === t && z.spanned_pages);
    if (!zs.length) ms.printk(`  ${t.padEnd(8)} empty`);
    else ms.printk(`  ${t.padEnd(8)} [mem ${addr(Math.min(...zs.map((z) => z.zone_start_pfn)))}-${end(Math.max(...zs.map((z) => z.zone_end_pfn)))}]`);
  }
  ms.printk("Movable zone start for each node");
  for (const n of ms.nodes) {
    const mz = n.node_zones.find((z) => z.name === "Movable" && z.spanned_pages);
    if (mz) ms.printk(`  Node ${n.node_id}: ${addr(mz.zone_start_pfn)}`);
  }
  ms.printk("Early memory node ranges");
  for (const n of ms.nodes) ms.printk(`  node   ${n.node_id}: [mem ${addr(n.node_start_pfn)}-${end(n.node_end_pfn)}]`);
  const total = ms.totalram_pages;
  ms.printk(`Memory: ${(total * P) / 1024}K/${(ms.nodes.reduce((a, n) => a + n.node_present_pages, 0) * P) / 1024}K available`);
  void hex;
}
