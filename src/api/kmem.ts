/**
 * The facade of kernel memory (issue 5): kmalloc/kfree/ksize on SLUB, kmem_cache_*, vmalloc/vfree,
 * kmap/kunmap and kmap_local_page on 32-bit HighMem, modules (insmod/rmmod/lsmod), the kernel's address
 * space (m.layout) and m.whereis(addr). Adds methods to Machine by declaration merging + prototype
 * assignment, registers /proc/slabinfo, /proc/vmallocinfo, /proc/modules, the meminfo counters
 * (Slab, SReclaimable, SUnreclaim, VmallocUsed) and the invariant checks of these subsystems.
 *
 * Every call validates first and changes nothing when it throws (except ENOMEM from the page
 * allocator, which logs "page allocation failure" as Linux does).
 */
import { z } from "zod";
import { MmError } from "../errors";
import type { MachineState } from "../kernel/machine";
import type { TraceEvent } from "../kernel/trace";
import { fmtBytes, hex, parseSize } from "../lib/units";
import { kernel_layout, kmap_local_vaddr, modules_range, vmalloc_range, type kernel_region } from "../arch/layout";
import { x86_32_areas } from "../arch/pgtable_32_areas";
import { GFP_KERNEL, __GFP_DMA, __GFP_DMA32, __GFP_HIGHMEM, __GFP_MOVABLE, __GFP_RECLAIMABLE, gfp_string } from "../mm/gfp";
import { PG_buddy, PG_head, PG_kernel, PG_reserved, PG_slab, PG_table, PG_vmalloc } from "../mm/memmap";
import { KMALLOC_MAX_CACHE_SIZE, KMALLOC_MAX_SIZE, PageHighMem, high_memory, is_lowmem_addr, kmalloc_index, lowmem_page_address, virt_to_pfn } from "../mm/slab_common";
import {
  SLAB_HWCACHE_ALIGN,
  SLAB_RECLAIM_ACCOUNT,
  cache_counts,
  kfree as engine_kfree,
  kfree_check,
  kmalloc as engine_kmalloc,
  kmem_cache_create,
  kmem_cache_destroy,
  kmem_cache_free_check,
  kmem_cache_geometry,
  kmem_cache_in_use,
  ksize as engine_ksize,
  slab_alloc,
  slab_of,
  slab_pages,
  validate_slab,
  type kmem_cache,
  type kobj,
  type slab,
} from "../mm/slub";
import { find_vmap_area, find_vmap_lowest_match, get_vm_area_size, validate_vmalloc, vfree_area, vmalloc as engine_vmalloc, vmalloc_of, type vmap_area } from "../mm/vmalloc";
import { KMAP_LOCAL_MAX, PKMAP_ADDR, has_pkmap, kmap as engine_kmap, kmap_high_would_sleep, kmap_local_page, kmap_of, kunmap as engine_kunmap, kunmap_local, page_address, validate_kmap } from "../mm/highmem";
import { free_module, load_module, lsmod as engine_lsmod, module_area, modules_of } from "../kernel/module";
import { slabinfo } from "../proc/slabinfo";
import { find_task } from "../kernel/sched";
import { perms, vma_lookup } from "../mm/mmap";
import { vma_name } from "../proc/task_mmu";
import { vmallocinfo } from "../proc/vmallocinfo";
import { Renderable } from "../render/renderable";
import type { Block, CellLike, View } from "../render/view";
import { Machine, registerMeminfoSource, registerProcFile, registerValidator } from "./machine";
import { ProcFile } from "./results";
import { note_kmalloc } from "./ledger";
import { gfpSchema, parseArg, sizeSchema } from "./schemas";

// ------------------------------------------------------------------ helpers

function traceBlock(trace: TraceEvent[]): Block[] {
  return trace.length ? [{ kind: "heading", text: "What the kernel did", level: 2 }, { kind: "trace", events: trace.slice(0, 400), omitted: Math.max(0, trace.length - 400) }] : [];
}

/** an address as a learner types it: bigint, a safe integer, or "0x…" text */
function parseAddr(ms: MachineState, v: unknown, arg: string): bigint {
  let a: bigint | undefined;
  if (typeof v === "bigint") a = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) a = BigInt(v);
  else if (typeof v === "string" && /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(v)) a = BigInt(v.trim());
  if (a === undefined) {
    const hint = typeof v === "number" && Number.isInteger(v) ? " (above 2^53 a number loses bits: pass a bigint, e.g. 0xffff888000000000n)" : "";
    throw new MmError("EINVAL", `${arg}: must be an address (a bigint, a whole number, or "0x…" text), got ${typeof v === "string" ? JSON.stringify(v) : String(v)}${hint}`, { arg });
  }
  const top = 1n << BigInt(ms.arch.bits);
  if (a < 0n || a >= top) throw new MmError("EINVAL", `${arg}: ${hex(a)} is outside the ${ms.arch.bits}-bit address space`, { arg });
  return a;
}

function parsePfn(ms: MachineState, v: unknown, arg = "pfn"): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new MmError("EINVAL", `${arg}: must be a page frame number (a whole number), got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`, { arg });
  if (!ms.pfn_valid(v)) throw new MmError("EINVAL", `${arg}: PFN ${hex(v)} does not exist: this machine's frames are 0..${hex(ms.max_pfn - 1)}${v >= 0 && v < ms.max_pfn ? " and this one is a hole in the physical address map (no struct page)" : ""}; pfn_to_page() would point outside mem_map`, { arg });
  return v;
}

/** the machine-independent parts of the kmalloc gfp: no zone modifiers, no reclaimable/cgroup caches modelled */
function kmallocGfp(ms: MachineState, gfp: unknown): number {
  if (gfp === undefined) return GFP_KERNEL;
  const g = parseArg(gfpSchema, gfp, "gfp");
  const bad = g & (__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM | __GFP_MOVABLE | __GFP_RECLAIMABLE);
  if (bad)
    throw new MmError(
      "EINVAL",
      `gfp: ${gfp_string(g)}: ${bad & (__GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE) ? "kmalloc memory must have a permanent kernel address, so __GFP_HIGHMEM/__GFP_DMA32/__GFP_MOVABLE are in GFP_SLAB_BUG_MASK (the kernel WARNs \"Unexpected gfp\" and strips them)" : "the dma-kmalloc-* and kmalloc-rcl-* caches are not modelled"}; use GFP_KERNEL, GFP_ATOMIC or GFP_NOWAIT`,
      { arg: "gfp" },
    );
  void ms;
  return g;
}

const STRIP = 48;
/** a slab as a strip of objects: ■ used, □ free, ● the highlighted one; buckets of objects when there are many */
function strip(sl: slab, highlight = -1): string {
  const n = sl.objects;
  const per = Math.ceil(n / STRIP);
  let s = "";
  for (let i = 0; i < n; i += per) {
    let used = 0;
    let hi = false;
    for (let j = i; j < Math.min(n, i + per); j++) {
      used += sl.used[j]!;
      if (j === highlight) hi = true;
    }
    const k = Math.min(n, i + per) - i;
    s += hi ? "●" : used === k ? "■" : used === 0 ? "□" : "▪";
  }
  return s;
}

/** the cache's slabs as strips of objects (CPU slab, partial, full) */
function cacheBlocks(ms: MachineState, s: kmem_cache, highlight?: { slab: number; index: number }): Block[] {
  const n = cache_counts(s);
  const rows: CellLike[][] = [];
  const all: slab[] = [...(s.cpu_slab ? [s.cpu_slab] : []), ...s.node.flatMap((nd) => [...nd.partial, ...nd.full])];
  for (const sl of all.slice(0, 24)) {
    const tone = sl.inuse === sl.objects ? "used" : sl.inuse === 0 ? "free" : "slab";
    rows.push([
      { text: sl.list === "cpu" ? "cpu slab" : sl.list, tone },
      hex(sl.pfn),
      hex(lowmem_page_address(ms, sl.pfn)),
      `${sl.inuse}/${sl.objects}`,
      { text: strip(sl, highlight && highlight.slab === sl.id ? highlight.index : -1), tone },
    ]);
  }
  const per = Math.ceil(s.objects / STRIP);
  return [
    { kind: "heading", text: `${s.name}: ${n.num_slabs} slab${n.num_slabs === 1 ? "" : "s"} of order ${s.order} (${fmtBytes(ms.page_size * 2 ** s.order)}), ${s.objects} × ${s.size} B objects each`, level: 2 },
    {
      kind: "kv",
      items: [
        { label: "object size", value: `${s.object_size} B, s->size ${s.size} B (align ${s.align})` },
        { label: "slab", value: `order ${s.order}: ${s.objects} objects, ${ms.page_size * 2 ** s.order - s.objects * s.size} B left over per slab`, note: `calculate_order(): min_objects = 4*(fls(nr_cpus)+1) = ${4 * (32 - Math.clz32(slab_of(ms).nr_cpus) + 1)} with ${slab_of(ms).nr_cpus} CPU${slab_of(ms).nr_cpus > 1 ? "s" : ""}` },
        { label: "objects", value: `${n.active_objs} active / ${n.num_objs} (slabinfo's count: free objects of the CPU slab count as active)` },
        { label: "lists", value: `cpu slab ${s.cpu_slab ? hex(s.cpu_slab.pfn) : "none"}, partial ${s.node.reduce((a, nd) => a + nd.partial.length, 0)} (min_partial ${s.min_partial}), full ${s.node.reduce((a, nd) => a + nd.full.length, 0)}` },
      ],
    },
    ...(rows.length
      ? [
          {
            kind: "table" as const,
            columns: ["list", "PFN", "address", "in use", `objects (■ used □ free${highlight ? " ● this one" : ""}${per > 1 ? `, ${per} per mark` : ""})`],
            align: ["l", "r", "r", "r", "l"] as ("l" | "r")[],
            rows,
            omitted: Math.max(0, all.length - 24),
          },
        ]
      : [{ kind: "text" as const, text: "no slabs yet: the first allocation makes one", tone: "muted" as const }]),
  ];
}

// ------------------------------------------------------------------ results

/** A kernel event with no handle: what kfree, vfree, kunmap, rmmod, kmem_cache_destroy did. */
export class KmemEvent extends Renderable {
  private _items: { label: string; value: string; note?: string }[] | (() => { label: string; value: string; note?: string }[]);
  private _title: string | (() => string);
  constructor(
    title: string | (() => string),
    items: { label: string; value: string; note?: string }[] | (() => { label: string; value: string; note?: string }[]),
    readonly trace: TraceEvent[],
    private readonly _views: () => Block[] = () => [],
  ) {
    super();
    this._items = items;
    this._title = title;
  }
  /** the kernel call, e.g. "kfree(0xc1c00000)" */
  get title(): string {
    if (typeof this._title === "function") this._title = this._title();
    return this._title;
  }
  /** what happened, as label/value pairs */
  get items(): { label: string; value: string; note?: string }[] {
    if (typeof this._items === "function") this._items = this._items();
    return this._items;
  }
  view(): View {
    return { title: this.title, summary: this.title, blocks: [{ kind: "kv", items: this.items }, ...this._views(), ...traceBlock(this.trace)] };
  }
  toJSON() {
    return { title: this.title, items: this.items, trace: this.trace };
  }
}

/** What kmalloc() / kmem_cache_alloc() returned. */
export class KmallocResult extends Renderable {
  /** @internal allocation serial, to tell a stale handle from the object's next owner */
  readonly _serial: number;
  constructor(
    readonly machine: Machine,
    /** the pointer: a lowmem (direct-map) kernel virtual address, or ZERO_SIZE_PTR (0x10) */
    readonly ptr: bigint,
    /** bytes asked for */
    readonly size: number,
    /** the cache ("kmalloc-64"), or undefined for ZERO_SIZE_PTR and for kmalloc above 8 KiB (pages) */
    readonly cache: string | undefined,
    /** first PFN of the slab (or of the compound page of a large kmalloc) */
    readonly pfn: number | undefined,
    /** the object's index in its slab */
    readonly index: number | undefined,
    /** ksize(): bytes really usable */
    readonly ksize: number,
    /** large kmalloc: the page order */
    readonly order: number | undefined,
    readonly trace: TraceEvent[],
    serial: number,
  ) {
    super();
    this._serial = serial;
  }
  /** bytes lost to rounding up to the size class (internal fragmentation) */
  get wasted(): number {
    return this.ksize - this.size;
  }
  /** physical address */
  get pa(): bigint | undefined {
    return this.pfn === undefined ? undefined : this.ptr - this.machine.arch.PAGE_OFFSET;
  }
  /** kfree() it */
  free(): KmemEvent {
    return this.machine.kfree(this);
  }
  view(): View {
    const ms = this.machine.ms;
    const kv: { label: string; value: string; note?: string }[] = [{ label: "pointer", value: hex(this.ptr), note: this.ptr === 0x10n ? "ZERO_SIZE_PTR: not NULL, but any access faults" : "lowmem: virtual = physical + PAGE_OFFSET" }];
    let blocks: Block[] = [];
    if (this.cache) {
      kv.push({ label: "cache", value: this.cache, note: this.size <= 192 ? `size_index[(${this.size}-1)/8]` : `next power of two ≥ ${this.size}` });
      kv.push({ label: "slab", value: `PFN ${hex(this.pfn!)}, object ${this.index}` });
      kv.push({ label: "physical", value: hex(this.pa!) });
      kv.push({ label: "ksize", value: `${this.ksize} B`, note: this.wasted ? `${this.wasted} B wasted (${((100 * this.wasted) / this.ksize).toFixed(1)}%)` : "exact fit" });
      const s = ms.slab?.caches.find((c) => c.name === this.cache);
      if (s) blocks = cacheBlocks(ms, s, { slab: ms.mem_map.priv[this.pfn!]!, index: this.index! });
    } else if (this.order !== undefined) {
      kv.push({ label: "pages", value: `order ${this.order} (${2 ** this.order} pages, ${fmtBytes(this.ksize)}) at PFN ${hex(this.pfn!)}`, note: `above KMALLOC_MAX_CACHE_SIZE (${KMALLOC_MAX_CACHE_SIZE(ms)}): straight from the page allocator, counted as SUnreclaim` });
      kv.push({ label: "ksize", value: `${this.ksize} B`, note: this.wasted ? `${fmtBytes(this.wasted)} wasted` : "exact fit" });
    }
    const what = this.cache ?? (this.order !== undefined ? `order-${this.order} pages` : "ZERO_SIZE_PTR");
    return { title: `kmalloc(${this.size}) = ${hex(this.ptr)} (${what})`, summary: `KmallocResult ${hex(this.ptr)} ${what}${this.wasted > 0 ? `, ${this.wasted} B wasted` : ""}`, blocks: [{ kind: "kv", items: kv }, ...blocks, ...traceBlock(this.trace)] };
  }
  toJSON() {
    return { ptr: hex(this.ptr), size: this.size, cache: this.cache, pfn: this.pfn, index: this.index, ksize: this.ksize, wasted: this.wasted, order: this.order, trace: this.trace };
  }
}

/** A slab cache (kmem_cache_create, or a kmalloc cache looked up with m.slabCache). */
export class KmemCache extends Renderable {
  constructor(
    readonly machine: Machine,
    readonly name: string,
    /** @internal */
    readonly _id: number,
    readonly trace: TraceEvent[] = [],
  ) {
    super();
  }
  /** @internal */
  get _cache(): kmem_cache {
    const c = this.machine.ms.slab?.caches.find((x) => x.id === this._id);
    if (!c) throw new MmError("EINVAL", `cache: ${this.name} was destroyed (kmem_cache_destroy)`, { arg: "cache" });
    return c;
  }
  get objectSize(): number {
    return this._cache.object_size;
  }
  /** s->size */
  get size(): number {
    return this._cache.size;
  }
  get order(): number {
    return this._cache.order;
  }
  get objectsPerSlab(): number {
    return this._cache.objects;
  }
  /** active objects, total objects, slabs */
  get counts() {
    return cache_counts(this._cache);
  }
  /** kmem_cache_alloc() */
  alloc(gfp?: string | string[] | number): KmallocResult {
    return this.machine.kmemCacheAlloc(this, gfp);
  }
  /** kmem_cache_free(cache, obj) with an object; with no argument, kmem_cache_destroy() (so m.free(cache) works) */
  free(obj?: KmallocResult | bigint | number | string): KmemEvent {
    return obj === undefined ? this.machine.kmemCacheDestroy(this) : this.machine.kmemCacheFree(this, obj);
  }
  destroy(): KmemEvent {
    return this.machine.kmemCacheDestroy(this);
  }
  view(): View {
    const c = this.machine.ms.slab?.caches.find((x) => x.id === this._id);
    if (!c) return { title: `kmem_cache ${this.name} (destroyed)`, summary: `KmemCache ${this.name} (destroyed)`, blocks: [] };
    const n = cache_counts(c);
    return { title: `kmem_cache ${c.name}`, summary: `KmemCache ${c.name}: ${c.size} B objects, order ${c.order}, ${c.objects}/slab, ${n.active_objs}/${n.num_objs} active in ${n.num_slabs} slab${n.num_slabs === 1 ? "" : "s"}`, blocks: [...cacheBlocks(this.machine.ms, c), ...traceBlock(this.trace)] };
  }
  toJSON() {
    const c = this.machine.ms.slab?.caches.find((x) => x.id === this._id);
    return c ? { name: c.name, objectSize: c.object_size, size: c.size, align: c.align, order: c.order, objectsPerSlab: c.objects, ...cache_counts(c) } : { name: this.name, destroyed: true };
  }
}

/** A vmalloc area: virtually contiguous, physically scattered. */
export class VmallocArea extends Renderable {
  constructor(
    readonly machine: Machine,
    /** start of the area */
    readonly addr: bigint,
    /** bytes asked for */
    readonly requested: bigint,
    /** usable size (pages), without the guard page */
    readonly size: bigint,
    /** the backing frames, in virtual order */
    readonly pfns: number[],
    readonly trace: TraceEvent[],
    /** @internal */
    readonly _id: number,
    /** "vmalloc" or "module:<name>" */
    readonly owner = "vmalloc",
  ) {
    super();
  }
  /** where the area's struct page *pages[] array lives (kmalloc, or vmalloc above PAGE_SIZE) */
  get pagesArray(): string {
    const a = this.machine.ms.vmalloc?.areas.find((x) => x.id === this._id)?.pages_array;
    if (!a) return "(freed)";
    if (a.kind === "kmalloc") return `${this.pfns.length} pointers, kmalloc'd at ${hex(a.ptr)}`;
    const n = this.machine.ms.vmalloc!.areas.find((x) => x.id === a.id);
    return `${this.pfns.length} pointers > PAGE_SIZE: vmalloc'd at ${n ? hex(n.va_start) : "?"} (" vpages" in /proc/vmallocinfo)`;
  }
  /** end of the usable part; the guard page follows */
  get end(): bigint {
    return this.addr + this.size;
  }
  /** vfree() it */
  free(): KmemEvent {
    return this.machine.vfree(this);
  }
  view(): View {
    const ms = this.machine.ms;
    const P = BigInt(ms.page_size);
    const n = Math.min(this.pfns.length, 32);
    const high = this.pfns.filter((p) => PageHighMem(ms, p) && ms.max_low_pfn < ms.max_pfn).length;
    const order = [...new Set(this.pfns.slice(0, n))].sort((a, b) => a - b);
    const links: Block = {
      kind: "links",
      leftTitle: "virtual (contiguous)",
      rightTitle: "physical frames (scattered)",
      left: [...this.pfns.slice(0, n).map((_, i) => ({ label: hex(this.addr + BigInt(i) * P), tone: "kernel" as const })), { label: `${hex(this.end)} guard page (unmapped)`, tone: "muted" as const }],
      right: order.map((p) => ({ label: `PFN ${hex(p)}${PageHighMem(ms, p) && ms.max_low_pfn < ms.max_pfn ? " (HighMem)" : ""}`, tone: PageHighMem(ms, p) && ms.max_low_pfn < ms.max_pfn ? ("highmem" as const) : ("used" as const) })),
      edges: this.pfns.slice(0, n).map((p, i) => [i, order.indexOf(p)] as [number, number]),
    };
    return {
      title: `vmalloc(${this.requested}) = ${hex(this.addr)}`,
      summary: `VmallocArea ${hex(this.addr)}-${hex(this.end)} (${fmtBytes(this.size)}, ${this.pfns.length} frames${high ? `, ${high} HighMem` : ""})`,
      blocks: [
        {
          kind: "kv",
          items: [
            { label: "area", value: `${hex(this.addr)}-${hex(this.end)} (${fmtBytes(this.size)})`, note: `then one guard page to ${hex(this.end + P)}` },
            { label: "frames", value: `${this.pfns.length} order-0 frames${high ? `, ${high} from HighMem` : ""}`, note: "taken one by one: the area is contiguous only in virtual addresses" },
            { label: "mapping", value: "one PTE per page in swapper_pg_dir (init_mm): every process sees it; the guard page has none" },
            { label: "pages[]", value: this.pagesArray },
          ],
        },
        links,
        ...(this.pfns.length > n ? [{ kind: "text" as const, text: `… ${this.pfns.length - n} more pages`, tone: "muted" as const }] : []),
        ...traceBlock(this.trace),
      ],
    };
  }
  toJSON() {
    return { addr: hex(this.addr), size: Number(this.size), requested: Number(this.requested), pfns: this.pfns, owner: this.owner, trace: this.trace };
  }
}

/** kmap()/kmap_local_page(): a kernel address for a frame. */
export class KmapResult extends Renderable {
  /** @internal has this handle been unmapped */
  _released = false;
  constructor(
    readonly machine: Machine,
    readonly pfn: number,
    readonly vaddr: bigint,
    /** "lowmem" (no slot needed), "pkmap" (a LAST_PKMAP slot) or "local" (a kmap_local fixmap slot) */
    readonly kind: "lowmem" | "pkmap" | "local",
    /** pkmap slot or kmap_local index, -1 for lowmem */
    readonly slot: number,
    readonly trace: TraceEvent[],
  ) {
    super();
  }
  /** kunmap() / kunmap_local() */
  free(): KmemEvent {
    return this.kind === "local" ? this.machine.kunmapLocal(this) : this.machine.kunmap(this);
  }
  view(): View {
    const what = this.kind === "lowmem" ? "lowmem: its permanent direct-map address, no slot used" : this.kind === "pkmap" ? `pkmap slot ${this.slot} of ${kmap_of(this.machine.ms).pkmap_count.length}` : `kmap_local fixmap slot ${this.slot} (CPU 0)`;
    return {
      title: `${this.kind === "local" ? "kmap_local_page" : "kmap"}(PFN ${hex(this.pfn)}) = ${hex(this.vaddr)}`,
      summary: `KmapResult PFN ${hex(this.pfn)} → ${hex(this.vaddr)} (${this.kind}${this.slot >= 0 ? ` ${this.slot}` : ""})`,
      blocks: [{ kind: "kv", items: [{ label: "address", value: hex(this.vaddr), note: what }] }, ...(this.kind === "pkmap" ? pkmapBlocks(this.machine.ms, this.slot) : []), ...traceBlock(this.trace)],
    };
  }
  toJSON() {
    return { pfn: this.pfn, vaddr: hex(this.vaddr), kind: this.kind, slot: this.slot, trace: this.trace };
  }
}

/** the pkmap slots in use (and the kmap_local stack) */
function pkmapBlocks(ms: MachineState, highlight = -1): Block[] {
  const st = kmap_of(ms);
  const rows: CellLike[][] = [];
  let free0 = 0;
  let free1 = 0;
  for (let i = 0; i < st.pkmap_count.length; i++) {
    const c = st.pkmap_count[i]!;
    if (c === 0) free0++;
    else if (c === 1) free1++;
    if (c && rows.length < 64) rows.push([{ text: String(i), bold: i === highlight }, hex(PKMAP_ADDR(ms, i)), hex(st.pkmap_page[i]!), c, c === 1 ? { text: "unused, still mapped until the next flush", tone: "muted" } : { text: `${c - 1} user${c - 1 === 1 ? "" : "s"}`, tone: "highmem" }]);
  }
  const out: Block[] = [
    { kind: "heading", text: `pkmap: ${st.pkmap_count.length} slots at ${hex(PKMAP_ADDR(ms, 0))}; ${st.pkmap_count.length - free0 - free1} in use, ${free1} waiting for a flush, ${free0} free; next scan after slot ${st.last_pkmap_nr}`, level: 2 },
  ];
  if (rows.length) out.push({ kind: "table", columns: ["slot", "address", "PFN", "pkmap_count", "meaning"], align: ["r", "r", "r", "r", "l"], rows });
  if (st.local.length) out.push({ kind: "table", caption: "kmap_local slots of CPU 0 (a stack)", columns: ["idx", "address", "PFN"], align: ["r", "r", "r"], rows: st.local.map((p, i) => [i, hex(kmap_local_vaddr(ms, i)), hex(p)]) });
  return out;
}

/** The kernel's virtual address space, region by region. */
export class KernelLayout extends Renderable {
  constructor(
    readonly machine: Machine,
    readonly regions: kernel_region[],
    /** an address to mark on the picture (m.layout.at(addr)) */
    readonly marked?: bigint,
  ) {
    super();
  }
  /** the region holding addr */
  find(addr: bigint): kernel_region | undefined {
    return this.regions.find((r) => addr >= r.start && addr < r.end);
  }
  /** the same layout with `addr` marked, and the region it falls in named */
  at(addr: number | bigint | string | { addr: bigint }): KernelLayout {
    return new KernelLayout(this.machine, this.regions, parseAddr(this.machine.ms, addr, "addr"));
  }
  view(): View {
    const ms = this.machine.ms;
    const a = ms.arch;
    const kernelFrom = a.bits === 32 ? a.PAGE_OFFSET : a.la57 ? 0xff00000000000000n : 0xffff800000000000n;
    const top = 1n << BigInt(a.bits);
    const tone = (k: kernel_region["kind"]) => (k === "direct" ? "kernel" : k === "image" ? "reserved" : k === "vmalloc" || k === "modules" ? "slab" : k === "pkmap" ? "highmem" : k === "fixmap" ? "pagetable" : k === "user" ? "user" : k === "hole" ? "free" : "muted") as "kernel";
    const ks = this.regions.filter((r) => r.end > kernelFrom);
    const bar: Block = {
      kind: "bar",
      title: a.bits === 32 ? `kernel segment ${hex(kernelFrom)}-${hex(top - 1n)} to scale` : `kernel half ${hex(kernelFrom)}-${hex(top - 1n)} to scale (small regions vanish at this scale)`,
      base: kernelFrom,
      total: top - kernelFrom,
      unit: "byte",
      format: "hex",
      segments: ks.filter((r) => r.kind !== "hole").map((r) => ({ start: r.start > kernelFrom ? r.start : kernelFrom, len: r.end - (r.start > kernelFrom ? r.start : kernelFrom), tone: tone(r.kind), label: r.name })),
      marks: [
        ...ks.filter((r, i) => ["direct", "vmalloc", "pkmap", "modules"].includes(r.kind) && !ks.slice(0, i).some((q) => q.name === r.name)).slice(0, 8).map((r) => ({ at: r.start, label: r.name })),
        ...(this.marked !== undefined && this.marked >= kernelFrom ? [{ at: this.marked, label: `▲ ${hex(this.marked)}: ${this.find(this.marked)?.name ?? "hole"}` }] : []),
      ],
    };
    // one legend entry per colour, naming the kinds of region drawn in it
    const legend = new Map<string, Set<string>>();
    for (const r of ks) if (r.kind !== "hole") (legend.get(tone(r.kind)) ?? legend.set(tone(r.kind), new Set()).get(tone(r.kind))!).add(r.kind === "direct" ? "direct map" : r.kind);
    (bar as { legend?: { tone: "kernel"; label: string }[] }).legend = [...legend].map(([t, names]) => ({ tone: t as "kernel", label: [...names].join(" / ") }));
    const w = a.bits / 4;
    const rows: CellLike[][] = this.regions.map((r) => [{ text: r.name, tone: tone(r.kind) }, r.start.toString(16).padStart(w, "0"), (r.end - 1n).toString(16).padStart(w, "0"), fmtBytes(r.end - r.start), r.desc]);
    const hm = high_memory(ms);
    return {
      title: `The kernel's address space: ${a.title}`,
      summary: `KernelLayout ${a.name}${a.split ? ` ${a.split}` : ""}: ${this.regions.length} regions${a.bits === 32 && a.pc ? `, lowmem ${hex(a.PAGE_OFFSET)}-${hex(hm)} (${fmtBytes(hm - a.PAGE_OFFSET)})` : ""}`,
      blocks: [bar, { kind: "table", columns: ["region", "start", "end (incl.)", "size", "what"], align: ["l", "r", "r", "r", "l"], rows }],
    };
  }
  toJSON() {
    return { regions: this.regions.map((r) => ({ ...r, start: hex(r.start), end: hex(r.end) })) };
  }
}

/** m.whereis(addr): what an address is. */
export class WhereIs extends Renderable {
  constructor(
    readonly addr: bigint,
    readonly region: string,
    /** one line: the answer */
    readonly what: string,
    readonly details: { label: string; value: string }[],
    /** the PFN behind it, when there is one */
    readonly pfn?: number,
  ) {
    super();
  }
  view(): View {
    return { title: `${hex(this.addr)}: ${this.what}`, summary: `WhereIs ${hex(this.addr)}: ${this.region}: ${this.what}`, blocks: [{ kind: "kv", items: [{ label: "region", value: this.region }, ...this.details] }] };
  }
  toJSON() {
    return { addr: hex(this.addr), region: this.region, what: this.what, pfn: this.pfn, details: this.details };
  }
}

/** A loaded module. */
export class ModuleResult extends Renderable {
  constructor(
    readonly machine: Machine,
    readonly name: string,
    readonly size: number,
    readonly addr: bigint,
    readonly pfns: number[],
    readonly trace: TraceEvent[],
  ) {
    super();
  }
  /** rmmod */
  free(): KmemEvent {
    return this.machine.rmmod(this.name);
  }
  view(): View {
    return {
      title: `insmod ${this.name}: ${this.size} bytes at ${hex(this.addr)}`,
      summary: `Module ${this.name} ${this.size} B at ${hex(this.addr)} (${this.pfns.length} pages)`,
      blocks: [{ kind: "kv", items: [{ label: "address", value: hex(this.addr), note: this.machine.arch.bits === 32 ? "32-bit: modules live in the vmalloc area (MODULES_VADDR = VMALLOC_START)" : "x86-64: the module space above the kernel text" }, { label: "pages", value: `${this.pfns.length} frames (vmalloc-backed, one guard page after)` }] }, ...traceBlock(this.trace)],
    };
  }
  toJSON() {
    return { name: this.name, size: this.size, addr: hex(this.addr), pfns: this.pfns, trace: this.trace };
  }
}

// ------------------------------------------------------------------ Machine methods

declare module "./machine" {
  interface Machine {
    /** kmalloc(size, gfp): a slab object (≤ 8 KiB) or pages (above); kmalloc(0) = ZERO_SIZE_PTR */
    kmalloc(size: number | bigint | string, gfp?: string | string[] | number): KmallocResult;
    /** kfree(): a KmallocResult or a pointer */
    kfree(ptr: KmallocResult | bigint | number | string): KmemEvent;
    /** ksize(): the usable size behind a kmalloc pointer */
    ksize(ptr: KmallocResult | bigint | number | string): number;
    /** kmem_cache_create(name, size, { align, flags }) */
    kmemCacheCreate(name: string, size: number | bigint | string, opts?: { align?: number; flags?: ("SLAB_HWCACHE_ALIGN" | "SLAB_RECLAIM_ACCOUNT")[] }): KmemCache;
    kmemCacheAlloc(cache: KmemCache | string, gfp?: string | string[] | number): KmallocResult;
    kmemCacheFree(cache: KmemCache | string, obj: KmallocResult | bigint | number | string): KmemEvent;
    kmemCacheDestroy(cache: KmemCache | string): KmemEvent;
    /** a cache by name ("kmalloc-64", or one you created) */
    slabCache(name: string): KmemCache;
    /** vmalloc(size) */
    vmalloc(size: number | bigint | string, opts?: { caller?: string }): VmallocArea;
    /** vfree(addr) */
    vfree(area: VmallocArea | bigint | number | string): KmemEvent;
    /** kmap(pfn): a kernel address for any frame (a pkmap slot for HighMem) */
    kmap(pfn: number): KmapResult;
    kunmap(x: KmapResult | number): KmemEvent;
    /** kmap_local_page(pfn): a CPU-local fixmap slot for HighMem (a stack) */
    kmapLocal(pfn: number): KmapResult;
    kunmapLocal(x: KmapResult | bigint | number | string): KmemEvent;
    /** page_address(pfn): the frame's kernel address; throws for HighMem frames that are not kmapped, saying why */
    pageAddress(pfn: number): bigint;
    /** the pkmap slots */
    pkmap(): KmemEvent;
    /** the kernel's address space, region by region */
    readonly layout: KernelLayout;
    /** what an address is; a user address is looked up in process `pid`'s VMAs */
    whereis(addr: bigint | number | string, opts?: { pid?: number }): WhereIs;
    insmod(name: string, size: number | bigint | string): ModuleResult;
    rmmod(name: string | ModuleResult): KmemEvent;
    lsmod(): ProcFile;
  }
}

/** the toy machine has PAGE_OFFSET 0: no kernel segment, and page 0's address would be NULL */
function needKernelLayout(m: Machine, what: string): void {
  if (!m.ms.arch.pc) throw new MmError("EINVAL", `${what}: the toy machine has no kernel address space (PAGE_OFFSET 0: PFN 0 would sit at NULL); boot an x86, x86_pae or x86_64 machine`, { arg: "machine" });
}

function take(m: Machine): TraceEvent[] {
  return m.ms.trace.take();
}

function enomem(ms: MachineState, what: string, attempts: { node: number; zone: string; why?: string }[] | undefined, trace: TraceEvent[]): MmError {
  const tried = attempts?.length ? attempts.map((a) => `Node ${a.node} ${a.zone} (${a.why ?? "no block"})`).join("; ") : "no zone allowed";
  return new MmError("ENOMEM", `${what}: page allocation failure: zones tried: ${tried}`, { attempts, trace, freePages: ms.nodes.reduce((a, n) => a + n.node_zones.reduce((b, z) => b + z.nr_free_pages, 0), 0) });
}

Machine.prototype.kmalloc = function (this: Machine, size, gfp) {
  const ms = this.ms;
  needKernelLayout(this, "kmalloc");
  const b = typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? BigInt(size) : parseSize(size);
  if (b === undefined || b < 0n) throw new MmError("EINVAL", `size: must be a size in bytes (a whole number ≥ 0, or "128KiB"), got ${typeof size === "string" ? JSON.stringify(size) : String(size)}`, { arg: "size" });
  const max = KMALLOC_MAX_SIZE(ms);
  if (b > max) {
    let o = 0;
    while (BigInt(ms.page_size) << BigInt(o) < b) o++;
    throw new MmError("EINVAL", `size: ${fmtBytes(b)} is above KMALLOC_MAX_SIZE (${fmtBytes(max)}, order ${ms.MAX_PAGE_ORDER}): get_order() = ${o} > MAX_PAGE_ORDER, so __alloc_pages() WARNs and kmalloc returns NULL. Use vmalloc (or kvmalloc) for large buffers`, { arg: "size", max: Number(max) });
  }
  const g = kmallocGfp(ms, gfp);
  take(this);
  const r = engine_kmalloc(ms, Number(b), g);
  const trace = take(this);
  if (!r.slab && !r.large && b !== 0n) throw enomem(ms, `kmalloc(${b})`, r.attempts, trace);
  if (r.slab) {
    // the bytes asked for, for m.fragmentation()'s slab rounding (src/api/ledger.ts)
    note_kmalloc(ms, r.slab, r.index, r.slab.serial[r.index]!, Number(b));
    return new KmallocResult(this, r.ptr, Number(b), r.cache!.name, r.slab.pfn, r.index, r.cache!.size, undefined, trace, r.slab.serial[r.index]!);
  }
  return kresult(this, r.ptr, Number(b), trace);
};

/** build the KmallocResult for a live pointer */
function kresult(m: Machine, ptr: bigint, size: number, trace: TraceEvent[]): KmallocResult {
  const ms = m.ms;
  const o = kfree_check(ms, ptr);
  if (o.kind === "object") return new KmallocResult(m, ptr, size, o.slab.cache.name, o.slab.pfn, o.index, o.slab.cache.size, undefined, trace, o.slab.serial[o.index]!);
  if (o.kind === "large") return new KmallocResult(m, ptr, size, undefined, o.large.pfn, undefined, ms.page_size * 2 ** o.large.order, o.large.order, trace, o.large.serial);
  return new KmallocResult(m, ptr, size, undefined, undefined, undefined, 0, undefined, trace, 0);
}

/** resolve and check what kfree/ksize is given; throws (machine unchanged) for anything that is not a live kmalloc pointer */
function resolveKobj(m: Machine, x: unknown, fn: string, cache?: kmem_cache): { ptr: bigint; o: Exclude<kobj, { kind: "bad" }> } {
  const ms = m.ms;
  if (x instanceof KmallocResult) {
    if (x.machine !== m) throw new MmError("EINVAL", `ptr: this pointer came from another machine (a snapshot branch?)`, { arg: "ptr" });
    const o = cache ? kmem_cache_free_check(ms, cache, x.ptr) : kfree_check(ms, x.ptr);
    const live = o.kind === "zero" ? x.ptr === 0x10n : o.kind === "object" ? o.slab.serial[o.index] === x._serial : o.kind === "large" ? o.large.serial === x._serial : false;
    if (!live) throw new MmError("EBUG", `${fn}(${hex(x.ptr)}): double free: this object was freed already${o.kind === "bad" ? "" : " and the memory now belongs to another allocation"}\n${o.kind === "bad" ? o.report : ""}`.trimEnd(), { ptr: hex(x.ptr) });
    if (o.kind === "bad") throw new MmError("EBUG", o.report, { ptr: hex(x.ptr) });
    return { ptr: x.ptr, o };
  }
  const ptr = parseAddr(ms, x, "ptr");
  const o = cache ? kmem_cache_free_check(ms, cache, ptr) : kfree_check(ms, ptr);
  if (o.kind === "bad") throw new MmError(is_lowmem_addr(ms, ptr) ? "EBUG" : "EINVAL", o.report, { ptr: hex(ptr), why: o.why });
  return { ptr, o };
}

Machine.prototype.kfree = function (this: Machine, x) {
  const ms = this.ms;
  const { ptr, o } = resolveKobj(this, x, "kfree");
  const cache = o.kind === "object" ? o.slab.cache : undefined;
  const desc = o.kind === "object" ? { index: o.index, pfn: o.slab.pfn } : o.kind === "large" ? { order: o.large.order, pfn: o.large.pfn } : undefined;
  const slabs = ms.slab?.slabs.size ?? 0;
  take(this);
  engine_kfree(ms, o);
  const trace = take(this);
  const discarded = o.kind === "object" && (ms.slab?.slabs.size ?? 0) < slabs;
  const items = () => {
    const it: { label: string; value: string; note?: string }[] = [];
    if (cache) it.push({ label: "object", value: `${hex(ptr)}: object ${desc!.index} of ${cache.name}, slab at PFN ${hex(desc!.pfn)}` });
    else if (desc) it.push({ label: "pages", value: `${hex(ptr)}: order-${desc.order} compound page at PFN ${hex(desc.pfn)}`, note: "free_large_kmalloc(): back to the buddy allocator" });
    else it.push({ label: "pointer", value: hex(ptr), note: "ZERO_OR_NULL_PTR: kfree does nothing" });
    if (discarded) it.push({ label: "slab", value: "the slab became empty beyond min_partial and went back to the page allocator" });
    return it;
  };
  return new KmemEvent(() => `kfree(${hex(ptr)})`, items, trace, cache ? () => (ms.slab?.caches.includes(cache) ? cacheBlocks(ms, cache) : []) : undefined);
};

Machine.prototype.ksize = function (this: Machine, x) {
  const { o } = resolveKobj(this, x, "ksize");
  return engine_ksize(this.ms, o);
};

const cacheNameSchema = z.string().regex(/^[A-Za-z0-9_.:()-]{1,32}$/, "must be 1 to 32 characters without spaces (letters, digits, _ . : - ( ))");

function findCache(m: Machine, c: KmemCache | string, arg = "cache"): kmem_cache {
  if (c instanceof KmemCache) {
    if (c.machine !== m) throw new MmError("EINVAL", `${arg}: belongs to another machine`, { arg });
    return c._cache;
  }
  const name = parseArg(z.string(), c, arg);
  const s = slab_of(m.ms).caches.find((x) => x.name === name);
  if (!s) throw new MmError("EINVAL", `${arg}: no slab cache named ${JSON.stringify(name)}; caches: ${slab_of(m.ms).caches.map((x) => x.name).join(", ")}`, { arg });
  return s;
}

Machine.prototype.kmemCacheCreate = function (this: Machine, name, size, opts = {}) {
  const ms = this.ms;
  needKernelLayout(this, "kmem_cache_create");
  const n = parseArg(cacheNameSchema, name, "name");
  const o = parseArg(z.object({ align: z.number().int().min(0).max(ms.page_size).optional(), flags: z.array(z.enum(["SLAB_HWCACHE_ALIGN", "SLAB_RECLAIM_ACCOUNT"])).optional() }).strict(), opts, "opts");
  if (o.align && (o.align & (o.align - 1)) !== 0) throw new MmError("EINVAL", `opts.align: must be a power of two, got ${o.align}`, { arg: "opts.align" });
  const sz = Number(parseArg(sizeSchema(1n, KMALLOC_MAX_SIZE(ms), "an object size"), size, "size"));
  if (slab_of(ms).caches.some((c) => c.name === n)) throw new MmError("EINVAL", `name: a cache named ${JSON.stringify(n)} exists already (/proc/slabinfo would list two)`, { arg: "name" });
  const flags = (o.flags ?? []).reduce((a, f) => a | (f === "SLAB_HWCACHE_ALIGN" ? SLAB_HWCACHE_ALIGN : SLAB_RECLAIM_ACCOUNT), 0);
  const g = kmem_cache_geometry(ms, sz, o.align ?? 0, flags);
  if ("error" in g) throw new MmError("EINVAL", `size: ${g.error}`, { arg: "size" });
  take(this);
  const s = kmem_cache_create(ms, n, sz, o.align ?? 0, flags);
  return new KmemCache(this, s.name, s.id, take(this));
};

Machine.prototype.slabCache = function (this: Machine, name) {
  const s = findCache(this, name, "name");
  return new KmemCache(this, s.name, s.id);
};

Machine.prototype.kmemCacheAlloc = function (this: Machine, cache, gfp) {
  const ms = this.ms;
  const s = findCache(this, cache);
  const g = kmallocGfp(ms, gfp);
  take(this);
  const r = slab_alloc(ms, s, g);
  const trace = take(this);
  if (!r.slab) throw enomem(ms, `kmem_cache_alloc(${s.name})`, r.attempts, trace);
  return new KmallocResult(this, r.ptr, s.object_size, s.name, r.slab.pfn, r.index, s.size, undefined, trace, r.slab.serial[r.index]!);
};

Machine.prototype.kmemCacheFree = function (this: Machine, cache, obj) {
  const ms = this.ms;
  const s = findCache(this, cache);
  const { ptr, o } = resolveKobj(this, obj, "kmem_cache_free", s);
  take(this);
  engine_kfree(ms, o);
  return new KmemEvent(`kmem_cache_free(${s.name}, ${hex(ptr)})`, [{ label: "object", value: hex(ptr) }], take(this), () => (ms.slab?.caches.includes(s) ? cacheBlocks(ms, s) : []));
};

Machine.prototype.kmemCacheDestroy = function (this: Machine, cache) {
  const ms = this.ms;
  const s = findCache(this, cache);
  if (s.kmalloc_index >= 0) throw new MmError("EPERM", `cache: ${s.name} is a kmalloc cache; kmalloc caches live as long as the kernel`, { arg: "cache" });
  const used = kmem_cache_in_use(s);
  if (used) throw new MmError("EBUSY", `kmem_cache_destroy ${s.name}: Slab cache still has objects (${used} in use); free them first. The kernel WARNs and leaks the cache`, { arg: "cache", inUse: used });
  take(this);
  const n = kmem_cache_destroy(ms, s);
  return new KmemEvent(`kmem_cache_destroy(${s.name})`, [{ label: "slabs freed", value: String(n) }], take(this));
};


Machine.prototype.vmalloc = function (this: Machine, size, opts = {}) {
  const ms = this.ms;
  needKernelLayout(this, "vmalloc");
  const o = parseArg(z.object({ caller: z.string().regex(/^\S+$/).optional() }).strict(), opts, "opts");
  const range = vmalloc_range(ms)!;
  const b = parseArg(sizeSchema(1n, range.end - range.start, "a size"), size, "size");
  const P = BigInt(ms.page_size);
  if ((b + P - 1n) / P > BigInt(ms.totalram_pages)) throw new MmError("ENOMEM", `vmalloc(${b}): vmalloc error: size ${((b + P - 1n) / P) * P}, exceeds total pages (${ms.totalram_pages}); the kernel warns and returns NULL`, { arg: "size" });
  const need = ((b + P - 1n) / P) * P + P;
  if (find_vmap_lowest_match(ms, need, range.start, range.end) < 0n)
    throw new MmError("ENOMEM", `vmalloc(${b}): vmap allocation for size ${need} failed: use vmalloc=<size> to increase size (no free range of ${fmtBytes(need)} with its guard page in ${hex(range.start)}-${hex(range.end)})`, { arg: "size" });
  take(this);
  const r = engine_vmalloc(ms, b, o.caller);
  const trace = take(this);
  if (!r.area) throw new MmError("ENOMEM", `vmalloc(${b}): ${r.error}`, { trace, attempts: r.attempts });
  const a = r.area;
  return new VmallocArea(this, a.va_start, b, get_vm_area_size(ms, a), [...a.pages], trace, a.id);
};

Machine.prototype.vfree = function (this: Machine, x) {
  const ms = this.ms;
  needKernelLayout(this, "vfree");
  let area: vmap_area | undefined;
  let addr: bigint;
  if (x instanceof VmallocArea) {
    if (x.machine !== this) throw new MmError("EINVAL", "area: belongs to another machine", { arg: "area" });
    addr = x.addr;
    area = vmalloc_of(ms).areas.find((a) => a.id === x._id);
    if (!area) throw new MmError("EBUG", `vfree(${hex(addr)}): this area was vfree'd already (double free): WARNING: Trying to vfree() nonexistent vm area (${hex(addr)})`, { addr: hex(addr) });
  } else {
    addr = parseAddr(ms, x, "addr");
    if (addr === 0n) return new KmemEvent("vfree(NULL)", [{ label: "addr", value: "NULL: nothing to do" }], []);
    const r = vmalloc_range(ms)!;
    const mr = modules_range(ms)!;
    const P = BigInt(ms.page_size);
    area = find_vmap_area(ms, addr);
    if (!area || area.va_start !== addr) {
      const why = addr % P ? `Trying to vfree() bad address (${hex(addr)}): not page aligned` : `Trying to vfree() nonexistent vm area (${hex(addr)})`;
      const where = area ? `it lies inside the area ${hex(area.va_start)}-${hex(area.va_end)} (vfree wants the start address)` : (addr >= r.start && addr < r.end) || (addr >= mr.start && addr < mr.end) ? "no vmalloc area starts there" : is_lowmem_addr(ms, addr) ? "it is a lowmem (direct-map) address: kmalloc memory goes to kfree()" : "it is not in the vmalloc area at all";
      throw new MmError(area || (addr >= r.start && addr < r.end) ? "EBUG" : "EINVAL", `WARNING: ${why}: ${where}`, { arg: "addr", addr: hex(addr) });
    }
  }
  if (area.owner.startsWith("module:")) throw new MmError("EBUSY", `vfree(${hex(addr)}): this is the memory of module ${area.owner.slice(7)}; rmmod it`, { arg: "addr" });
  if (area.owner.startsWith("pages:")) {
    const parent = vmalloc_of(ms).areas.find((a) => a.id === Number(area!.owner.slice(6)));
    throw new MmError("EBUSY", `vfree(${hex(addr)}): this area holds the pages[] array of the vmalloc area at ${parent ? hex(parent.va_start) : "?"}; it is freed with that area`, { arg: "addr" });
  }
  const a = area;
  take(this);
  vfree_area(ms, a);
  return new KmemEvent(`vfree(${hex(addr)})`, [{ label: "area", value: `${hex(a.va_start)}-${hex(a.va_end)} (${a.pages.length} pages + guard)` }], take(this));
};

Machine.prototype.kmap = function (this: Machine, pfnArg) {
  const ms = this.ms;
  const pfn = parsePfn(ms, pfnArg);
  if (has_pkmap(ms) && PageHighMem(ms, pfn) && kmap_high_would_sleep(kmap_of(ms), pfn))
    throw new MmError("EBUSY", `kmap(PFN ${hex(pfn)}): all ${kmap_of(ms).pkmap_count.length} pkmap slots are in use; kmap() would sleep until someone calls kunmap() (use kmap_local_page() for short-lived mappings)`, { pfn });
  take(this);
  if (!has_pkmap(ms) || !PageHighMem(ms, pfn)) {
    const v = lowmem_page_address(ms, pfn);
    if (ms.trace.on) ms.trace.emit("kmap", "include/linux/highmem-internal.h", `PFN ${hex(pfn)} is ${ms.arch.bits === 64 ? "in the direct map (64-bit has no HighMem)" : "lowmem"}: page_address() = ${hex(v)}, no slot needed`);
    return new KmapResult(this, pfn, v, "lowmem", -1, take(this));
  }
  const r = engine_kmap(ms, pfn);
  if (r.error) throw new MmError("ENOMEM", `kmap(PFN ${hex(pfn)}): ${r.error}`, { pfn, trace: take(this) });
  return new KmapResult(this, pfn, r.vaddr, "pkmap", r.slot, take(this));
};

Machine.prototype.kunmap = function (this: Machine, x) {
  const ms = this.ms;
  let pfn: number;
  if (x instanceof KmapResult) {
    if (x.machine !== this) throw new MmError("EINVAL", "x: belongs to another machine", { arg: "x" });
    if (x.kind === "local") throw new MmError("EINVAL", "x: a kmap_local_page() mapping is undone with kunmapLocal()", { arg: "x" });
    if (x._released) throw new MmError("EBUG", `kunmap(PFN ${hex(x.pfn)}): this mapping was kunmap'ed already`, { pfn: x.pfn });
    pfn = x.pfn;
  } else pfn = parsePfn(ms, x);
  if (!has_pkmap(ms) || !PageHighMem(ms, pfn)) {
    if (x instanceof KmapResult) x._released = true;
    return new KmemEvent(`kunmap(PFN ${hex(pfn)})`, [{ label: "frame", value: `PFN ${hex(pfn)} is lowmem: kunmap() does nothing` }], []);
  }
  const st = kmap_of(ms);
  if (!st.page_address_map.has(pfn) || st.pkmap_count[st.page_address_map.get(pfn)!]! < 2) throw new MmError("EBUG", `kernel BUG at mm/highmem.c: kunmap_high(PFN ${hex(pfn)}): the page is not kmapped (page_address() is NULL or pkmap_count would drop below 1)`, { pfn });
  take(this);
  const slot = engine_kunmap(ms, pfn);
  if (x instanceof KmapResult) x._released = true;
  return new KmemEvent(`kunmap(PFN ${hex(pfn)})`, [{ label: "slot", value: `${slot}: pkmap_count now ${st.pkmap_count[slot]}` }], take(this), () => pkmapBlocks(ms, slot));
};

Machine.prototype.kmapLocal = function (this: Machine, pfnArg) {
  const ms = this.ms;
  const pfn = parsePfn(ms, pfnArg);
  take(this);
  if (!has_pkmap(ms) || !PageHighMem(ms, pfn)) {
    const v = lowmem_page_address(ms, pfn);
    if (ms.trace.on) ms.trace.emit("kmap_local_page", "mm/highmem.c", `PFN ${hex(pfn)} is not HighMem: page_address() = ${hex(v)}`);
    return new KmapResult(this, pfn, v, "lowmem", -1, take(this));
  }
  if (kmap_of(ms).local.length >= KMAP_LOCAL_MAX) throw new MmError("EBUG", `kernel BUG at mm/highmem.c: kmap_local_idx_push(): more than KM_MAX_IDX (${KMAP_LOCAL_MAX}) nested kmap_local mappings on this CPU`, { pfn });
  const r = kmap_local_page(ms, pfn);
  if (r.error) throw new MmError("ENOMEM", `kmap_local_page(PFN ${hex(pfn)}): ${r.error}`, { pfn, trace: take(this) });
  return new KmapResult(this, pfn, r.vaddr, "local", r.idx, take(this));
};

Machine.prototype.kunmapLocal = function (this: Machine, x) {
  const ms = this.ms;
  let addr: bigint;
  if (x instanceof KmapResult) {
    if (x.machine !== this) throw new MmError("EINVAL", "x: belongs to another machine", { arg: "x" });
    if (x._released) throw new MmError("EBUG", `kunmap_local(${hex(x.vaddr)}): unmapped already`, {});
    if (x.kind === "lowmem") {
      x._released = true;
      return new KmemEvent(`kunmap_local(${hex(x.vaddr)})`, [{ label: "address", value: "lowmem: nothing to undo" }], []);
    }
    if (x.kind === "pkmap") throw new MmError("EINVAL", "x: a kmap() mapping is undone with kunmap()", { arg: "x" });
    addr = x.vaddr;
  } else addr = parseAddr(ms, x, "addr");
  if (is_lowmem_addr(ms, addr)) return new KmemEvent(`kunmap_local(${hex(addr)})`, [{ label: "address", value: "lowmem: nothing to undo" }], []);
  const st = has_pkmap(ms) ? kmap_of(ms) : undefined;
  const top = st && st.local.length ? kmap_local_vaddr(ms, st.local.length - 1) : undefined;
  if (top === undefined || (addr & ~BigInt(ms.page_size - 1)) !== top)
    throw new MmError("EBUG", `kunmap_local(${hex(addr)}): ${top === undefined ? "no kmap_local mapping is active" : `not the most recent kmap_local mapping (${hex(top)}): kmap_local mappings are a stack and must be undone in reverse order`}`, { addr: hex(addr) });
  take(this);
  const pfn = kunmap_local(ms);
  if (x instanceof KmapResult) x._released = true;
  return new KmemEvent(`kunmap_local(${hex(addr)})`, [{ label: "frame", value: `PFN ${hex(pfn)}` }], take(this));
};

Machine.prototype.pageAddress = function (this: Machine, pfnArg) {
  const ms = this.ms;
  const pfn = parsePfn(ms, pfnArg);
  const v = page_address(ms, pfn);
  if (v === undefined)
    throw new MmError(
      "EFAULT",
      `page_address(PFN ${hex(pfn)}) is NULL: the frame is HighMem (above max_low_pfn ${hex(ms.max_low_pfn)}, ${fmtBytes(BigInt(ms.max_low_pfn) * BigInt(ms.page_size))}). The kernel's ${fmtBytes(high_memory(ms) - ms.arch.PAGE_OFFSET)} direct map ends at high_memory ${hex(high_memory(ms))}; the 1 GiB kernel segment cannot map all RAM, so HighMem frames get a kernel address only while mapped: kmap() (a pkmap slot) or kmap_local_page()`,
      { pfn },
    );
  return v;
};

Machine.prototype.pkmap = function (this: Machine) {
  const ms = this.ms;
  if (!has_pkmap(ms)) throw new MmError("EINVAL", "pkmap: only 32-bit x86 has HighMem and a pkmap area", {});
  return new KmemEvent("pkmap slots", [{ label: "PKMAP_BASE", value: hex(x86_32_areas(ms.arch).PKMAP_BASE) }, { label: "LAST_PKMAP", value: String(kmap_of(ms).pkmap_count.length) }, { label: "TLB flushes", value: String(kmap_of(ms).flushes) }], [], () => pkmapBlocks(ms));
};

function layoutOf(m: Machine): kernel_region[] {
  const v = (m.config as { vmalloc?: unknown }).vmalloc;
  return kernel_layout(m.ms, { vmallocReserve: v === undefined ? undefined : parseSize(v), classicMaxmem: !!(m.config as { classicMaxmem?: boolean }).classicMaxmem });
}

Object.defineProperty(Machine.prototype, "layout", {
  configurable: true,
  get(this: Machine) {
    return new KernelLayout(this, layoutOf(this));
  },
});

Machine.prototype.whereis = function (this: Machine, x, opts = {}) {
  const ms = this.ms;
  const addr = parseAddr(ms, x, "addr");
  const pid = (opts as { pid?: unknown }).pid;
  if (pid !== undefined && (typeof pid !== "number" || !Number.isInteger(pid) || !find_task(ms, pid)?.mm)) throw new MmError("ESRCH", `opts.pid: no process with pid ${String(pid)} (and a memory map)`, { arg: "opts.pid" });
  const a = ms.arch;
  const P = BigInt(a.PAGE_SIZE);
  const regions = layoutOf(this);
  const r = regions.find((q) => addr >= q.start && addr < q.end);
  const region = r ? r.name : "unknown";
  const D = (label: string, value: string) => ({ label, value });
  if (!r) return new WhereIs(addr, region, "outside every region", []);
  if (r.kind === "user") {
    const t = pid === undefined ? undefined : find_task(ms, pid as number);
    if (!t?.mm) return new WhereIs(addr, "user", `user space (below ${hex(a.bits === 32 ? a.PAGE_OFFSET : r.end)}): what it is depends on the process; pass { pid }`, [D("note", r.desc)]);
    const vma = vma_lookup(t.mm, addr);
    if (!vma) return new WhereIs(addr, "user", `pid ${t.pid} (${t.comm}): no VMA covers it: an access is SIGSEGV`, []);
    const name = vma_name(t.mm, vma);
    return new WhereIs(addr, "user", `pid ${t.pid} (${t.comm}): VMA ${hex(vma.vm_start)}-${hex(vma.vm_end)} ${perms(vma.vm_flags)}${name ? ` ${name}` : " (anonymous)"}`, [D("offset", `${hex(addr - vma.vm_start)} into the VMA`)]);
  }
  if (r.kind === "direct" || r.kind === "image") {
    if (a.bits === 64 && addr >= a.PAGE_OFFSET + BigInt(ms.max_pfn) * P) return new WhereIs(addr, region, `direct map beyond the end of RAM (${hex(a.PAGE_OFFSET + BigInt(ms.max_pfn) * P)}): nothing mapped`, []);
    if (!is_lowmem_addr(ms, addr)) return new WhereIs(addr, region, "beyond high_memory: nothing mapped", []);
    const pfn = virt_to_pfn(ms, addr);
    const pa = addr - a.PAGE_OFFSET;
    const det = [D("physical", `${hex(pa)} (PFN ${hex(pfn)}, offset ${hex(pa % P)})`), D("rule", `__pa(x) = x - PAGE_OFFSET (${hex(a.PAGE_OFFSET)})`)];
    if (!ms.pfn_valid(pfn)) return new WhereIs(addr, region, `lowmem, PFN ${hex(pfn)}: a hole in physical memory`, det, pfn);
    const mm = ms.mem_map;
    const f = mm.flags[pfn]!;
    const st = ms.slab;
    if (f & PG_slab && st) {
      const sl = st.slabs.get(mm.priv[pfn]!)!;
      const off = Number(addr - lowmem_page_address(ms, sl.pfn));
      const idx = Math.floor(off / sl.cache.size);
      if (idx < sl.objects) {
        det.push(D("slab", `${sl.cache.name}, slab at PFN ${hex(sl.pfn)} (${sl.list})`), D("object", `${idx} at ${hex(lowmem_page_address(ms, sl.pfn) + BigInt(idx * sl.cache.size))}, byte ${off % sl.cache.size} of ${sl.cache.size}`));
        return new WhereIs(addr, region, `${sl.used[idx] ? "an allocated" : "a free"} ${sl.cache.name} object (object ${idx})`, det, pfn);
      }
      return new WhereIs(addr, region, `the unused tail of a ${sl.cache.name} slab (PFN ${hex(sl.pfn)})`, det, pfn);
    }
    let head = pfn;
    while (head > 0 && !(mm.flags[head]! & (PG_head | PG_buddy)) && !(mm.flags[head]! & PG_reserved) && pfn - head < 1 << ms.MAX_PAGE_ORDER) head--;
    const hf = mm.flags[head]!;
    const large = st?.large.get(head);
    if (large && pfn < head + 2 ** large.order) return new WhereIs(addr, region, `inside a large kmalloc (${large.size} B, order ${large.order}) at ${hex(lowmem_page_address(ms, head))}`, det, pfn);
    if (f & PG_reserved) return new WhereIs(addr, region, f & PG_kernel ? (r.kind === "image" ? "the kernel image" : "reserved at boot (kernel image, mem_map or firmware)") : "a reserved frame", det, pfn);
    if (hf & PG_buddy && pfn < head + 2 ** mm.order[head]!) return new WhereIs(addr, region, `a free frame (in the order-${mm.order[head]} free block at PFN ${hex(head)})`, det, pfn);
    if (f & PG_vmalloc) return new WhereIs(addr, region, `a frame backing a vmalloc area (also reachable through the direct map)`, det, pfn);
    if (f & PG_table) return new WhereIs(addr, region, "a page-table page", det, pfn);
    return new WhereIs(addr, region, `an allocated frame (block at PFN ${hex(head)}, order ${mm.order[head]})`, det, pfn);
  }
  if (r.kind === "vmalloc" || r.kind === "modules") {
    const area = find_vmap_area(ms, addr);
    if (!area) return new WhereIs(addr, region, `in the ${r.name} area but no vmap area covers it: unmapped (an access oopses)`, []);
    const i = Number((addr - area.va_start) / P);
    const parent = area.owner.startsWith("pages:") ? vmalloc_of(ms).areas.find((a) => a.id === Number(area.owner.slice(6))) : undefined;
    const who = area.owner.startsWith("module:") ? `module ${area.owner.slice(7)}` : parent ? `the pages[] array of the vmalloc area at ${hex(parent.va_start)}` : `vmalloc(${area.requested})`;
    if (i >= area.pages.length) return new WhereIs(addr, region, `the guard page after ${who} at ${hex(area.va_start)}: never mapped, catches overruns`, [D("area", `${hex(area.va_start)}-${hex(area.va_end)}`)]);
    const pfn = area.pages[i]!;
    return new WhereIs(addr, region, `page ${i} of ${who} at ${hex(area.va_start)}, backed by PFN ${hex(pfn)}`, [D("area", `${hex(area.va_start)}-${hex(area.va_end)} (${area.pages.length} pages + guard)`), D("physical", `${hex(BigInt(pfn) * P + (addr % P))}${PageHighMem(ms, pfn) && ms.max_low_pfn < ms.max_pfn ? " (HighMem)" : ""}`)], pfn);
  }
  if (r.kind === "pkmap" && has_pkmap(ms)) {
    const slot = Number((addr - x86_32_areas(a).PKMAP_BASE) / P);
    const st = kmap_of(ms);
    const p = st.pkmap_page[slot]!;
    if (p < 0) return new WhereIs(addr, region, `pkmap slot ${slot}: free (unmapped)`, []);
    return new WhereIs(addr, region, `pkmap slot ${slot}: kmap() of HighMem PFN ${hex(p)} (pkmap_count ${st.pkmap_count[slot]})`, [D("physical", hex(BigInt(p) * P + (addr % P)))], p);
  }
  if (r.kind === "fixmap" && has_pkmap(ms)) {
    const st = kmap_of(ms);
    for (let i = 0; i < st.local.length; i++) if ((addr & ~(P - 1n)) === kmap_local_vaddr(ms, i)) return new WhereIs(addr, region, `kmap_local slot ${i} of CPU 0: PFN ${hex(st.local[i]!)}`, [], st.local[i]);
  }
  return new WhereIs(addr, region, r.kind === "hole" ? `a hole: ${r.desc}` : r.desc, []);
};

const moduleNameSchema = z.string().regex(/^[a-z0-9_]{1,55}$/, "must be 1 to 55 characters of a-z, 0-9 and _ (MODULE_NAME_LEN)");

Machine.prototype.insmod = function (this: Machine, name, size) {
  const ms = this.ms;
  needKernelLayout(this, "insmod");
  const n = parseArg(moduleNameSchema, name, "name");
  const b = parseArg(sizeSchema(1n, 64n << 20n, "a module size"), size, "size");
  if (modules_of(ms).modules.some((x) => x.name === n)) throw new MmError("EBUSY", `insmod: ERROR: could not insert module ${n}: File exists (EEXIST: a module named ${n} is loaded)`, { arg: "name" });
  const mr = modules_range(ms)!;
  const P = BigInt(ms.page_size);
  const need = ((b + P - 1n) / P) * P + P;
  if (find_vmap_lowest_match(ms, need, mr.start, mr.end) < 0n) throw new MmError("ENOMEM", `insmod ${n}: no free range of ${fmtBytes(need)} in the modules area ${hex(mr.start)}-${hex(mr.end)}`, { arg: "size" });
  take(this);
  const r = load_module(ms, n, b);
  const trace = take(this);
  if (!r.mod) throw new MmError("ENOMEM", `insmod ${n}: ${r.error}`, { trace, attempts: r.attempts });
  const area = module_area(ms, r.mod);
  return new ModuleResult(this, n, Number(b), area.va_start, [...area.pages], trace);
};

Machine.prototype.rmmod = function (this: Machine, x) {
  const ms = this.ms;
  const n = x instanceof ModuleResult ? x.name : parseArg(z.string(), x, "name");
  const mod = modules_of(ms).modules.find((y) => y.name === n);
  if (!mod) throw new MmError("ENOENT", `rmmod: ERROR: Module ${n} is not currently loaded`, { arg: "name" });
  take(this);
  free_module(ms, mod);
  return new KmemEvent(`rmmod ${n}`, [{ label: "module", value: `${n} (${mod.size} B) unloaded, its vmalloc area freed` }], take(this));
};

Machine.prototype.lsmod = function (this: Machine) {
  return new ProcFile("lsmod", engine_lsmod(this.ms));
};

// ------------------------------------------------------------------ /proc, meminfo, validators

registerProcFile(/^\/proc\/slabinfo$/, "/proc/slabinfo", (m) => new ProcFile("/proc/slabinfo", slabinfo(m.ms)));
registerProcFile(/^\/proc\/vmallocinfo$/, "/proc/vmallocinfo", (m) => new ProcFile("/proc/vmallocinfo", vmallocinfo(m.ms)));
registerProcFile(/^\/proc\/modules$/, "/proc/modules", (m) => {
  // m_show() (kernel/module/procfs.c): "%s %u" name size, print_unload_info() " %i " refcnt + "-", " Live", " 0x%px" (root)
  const ms = m.ms;
  const w = ms.arch.bits / 4;
  const text = modules_of(ms)
    .modules.map((x) => `${x.name} ${x.size} ${x.refcnt} - Live 0x${module_area(ms, x).va_start.toString(16).padStart(w, "0")}\n`)
    .join("");
  return new ProcFile("/proc/modules", text);
});

registerMeminfoSource((ms) => {
  const s = slab_pages(ms);
  return { slab_reclaimable: s.reclaimable, slab_unreclaimable: s.unreclaimable, vmalloc_used: ms.vmalloc?.nr_pages ?? 0 };
});

registerValidator("slab", validate_slab);
registerValidator("vmalloc", validate_vmalloc);
registerValidator("kmap", validate_kmap);
registerValidator("kmem frames", (ms) => {
  // one pass over mem_map: PG_slab / PG_vmalloc frames are owned by a live slab / vmap area, never free
  const mm = ms.mem_map;
  const slabs = ms.slab?.slabs;
  const areas = new Set((ms.vmalloc?.areas ?? []).map((a) => -a.id));
  for (let p = 0; p < ms.max_pfn; p++) {
    const f = mm.flags[p]!;
    if (!(f & (PG_slab | PG_vmalloc))) continue;
    if (f & PG_slab && f & PG_vmalloc) return `frame ${hex(p)} is both a slab page and a vmalloc page`;
    if (f & PG_buddy) return `frame ${hex(p)} is on a free list but still marked ${f & PG_slab ? "PG_slab" : "PG_vmalloc"}`;
    if (f & PG_slab && !slabs?.has(mm.priv[p]!)) return `frame ${hex(p)} has PG_slab but no slab owns it`;
    if (f & PG_vmalloc && !areas.has(mm.priv[p]!)) return `frame ${hex(p)} has PG_vmalloc but backs no vmap area`;
  }
  const mods = ms.modules?.modules ?? [];
  for (const x of mods) if (!ms.vmalloc?.areas.some((a) => a.id === x.area_id && a.owner === `module:${x.name}`)) return `module ${x.name} has no vmap area`;
  return undefined;
});

/** for tests and notebooks: the kmalloc cache a size goes to (kmalloc_slab()), or "pages" above 8 KiB */
export function kmallocCacheFor(m: Machine, size: number): string {
  if (size === 0) return "ZERO_SIZE_PTR";
  if (size > KMALLOC_MAX_CACHE_SIZE(m.ms)) return "pages";
  return slab_of(m.ms).kmalloc_caches[kmalloc_index(size)]!.name;
}
