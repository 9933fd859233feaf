/**
 * Fragmentation at the facade (issue 6 §3):
 *
 * - `m.fragmentation()`: internal fragmentation per allocator — buddy rounding (m.allocPages(size) →
 *   2^order pages, get_order()), slab rounding (m.kmalloc(size) → the kmalloc cache's object size, the
 *   "waste" that mm/slub.c slab_debugfs_show() prints in /sys/kernel/debug/slab/<cache>/alloc_traces with
 *   slub_debug=U; large kmalloc → 2^order pages), glibc malloc's
 *   chunk overhead (p.heap().overhead of each live process) — and external fragmentation per zone and
 *   order: the unusable free space index and the fragmentation index, computed as mm/vmstat.c computes
 *   them for /sys/kernel/debug/extfrag/{unusable_index,extfrag_index} (fill_contig_page_info(),
 *   unusable_free_index(), __fragmentation_index() of Linux 6.12, reused from src/proc/vmstat.ts).
 * - `chart({ series, x, xLabel, yLabel })`: any numbers as the same kind of chart.
 * - `m.recorder(opts)` / `m.record(steps, fn, opts)`: sample one zone's free blocks per order and the two
 *   indices for one order over a workload, and chart them (asciichart in a terminal, SVG in Jupyter).
 *
 * Reads engine state, never changes it; nothing here is random (same workload, same samples).
 */
import { z } from "zod";
import { MmError } from "../errors";
import type { MachineState } from "../kernel/machine";
import { fmtBytes, hex } from "../lib/units";
import { GFP_KERNEL } from "../mm/gfp";
import { PG_buddy, PG_head } from "../mm/memmap";
import type { zone } from "../mm/mmzone";
import { gfp_zone, node_zonelist } from "../mm/page_alloc";
import { extfrag_index, fragmentation_index, unusable_free_index, unusable_index } from "../proc/vmstat";
import { Renderable } from "../render/renderable";
import type { Block, CellLike, View } from "../render/view";
import { Machine } from "./machine";
import { parseArg } from "./schemas";

/** PAGE_ALLOC_COSTLY_ORDER (include/linux/mmzone.h): above it the allocator stops trying hard, and
 * compaction becomes worth it; the default order the indices are reported for */
export const PAGE_ALLOC_COSTLY_ORDER = 3;

/** a ×1000 index as mm/vmstat.c prints it: "%d.%03d" with C's truncating / and % */
function milli(index: number): string {
  const q = Math.trunc(index / 1000);
  const r = Math.abs(index % 1000);
  return `${q}.${String(r).padStart(3, "0")}`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "—";
}

// ------------------------------------------------------------------ the report

export interface BuddyRounding {
  pfn: number;
  order: number;
  node: number;
  zone: string;
  requested: number;
  bytes: number;
  wasted: number;
}
export interface SlabRounding {
  /** "kmalloc-128", or "order-5 pages" for kmalloc above KMALLOC_MAX_CACHE_SIZE */
  cache: string;
  /** live objects whose requested size is known */
  objects: number;
  requested: number;
  /** objects × object size (or the pages of a large kmalloc) */
  allocated: number;
  wasted: number;
}
export interface MallocOverhead {
  pid: number;
  name: string;
  allocations: number;
  requested: number;
  chunkBytes: number;
  overhead: number;
}
export interface ZoneExtfrag {
  node: number;
  zone: string;
  free_pages: number;
  nr_free: number[];
  /** unusable_free_index() per order, ×1000 (0 = every free page usable for an order-k request) */
  unusable: number[];
  /** __fragmentation_index() per order, ×1000 (−1000: an order-k request would succeed now) */
  extfrag: number[];
}

export interface FragmentationData {
  pageSize: number;
  /** the order the summary is given for */
  order: number;
  buddy: { blocks: BuddyRounding[]; requested: number; allocated: number; wasted: number };
  slab: { caches: SlabRounding[]; requested: number; allocated: number; wasted: number; unknown: number };
  malloc: { available: boolean; processes: MallocOverhead[]; requested: number; chunkBytes: number; overhead: number; note?: string };
  external: ZoneExtfrag[];
}

/** live PageBlocks asked for by size, from the ledger (stale entries pruned) */
function buddyRounding(ms: MachineState): BuddyRounding[] {
  const led = ms.frag_ledger;
  if (!led) return [];
  const out: BuddyRounding[] = [];
  const mm = ms.mem_map;
  for (const [pfn, e] of led.pages) {
    const f = mm.flags[pfn]!;
    if (mm.priv[pfn] !== e.id || !(f & PG_head) || f & PG_buddy) {
      led.pages.delete(pfn);
      continue;
    }
    const order = mm.order[pfn]!;
    const bytes = ms.page_size * 2 ** order;
    const zn = ms.page_zone(pfn);
    out.push({ pfn, order, node: zn.node.node_id, zone: zn.name, requested: e.requested, bytes, wasted: bytes - e.requested });
  }
  return out.sort((a, b) => a.pfn - b.pfn);
}

/** kmalloc objects with a known request, grouped by cache; large kmallocs by order; objects of kmalloc
 * caches with no recorded request (the kernel's own, e.g. vmalloc's pages[] array) counted apart */
function slabRounding(ms: MachineState): FragmentationData["slab"] {
  const st = ms.slab;
  const empty = { caches: [], requested: 0, allocated: 0, wasted: 0, unknown: 0 };
  if (!st) return empty;
  const led = ms.frag_ledger;
  const by = new Map<string, SlabRounding & { index: number }>();
  const row = (name: string, index: number) => {
    let r = by.get(name);
    if (!r) by.set(name, (r = { cache: name, objects: 0, requested: 0, allocated: 0, wasted: 0, index }));
    return r;
  };
  let known = 0;
  if (led) {
    for (const [id, e] of led.kmalloc) {
      const sl = st.slabs.get(id);
      if (!sl) {
        led.kmalloc.delete(id);
        continue;
      }
      const s = sl.cache;
      for (let i = 0; i < sl.objects; i++) {
        if (!sl.used[i] || e.ser[i] === 0 || e.ser[i] !== sl.serial[i]) continue;
        const r = row(s.name, s.kmalloc_index);
        r.objects++;
        r.requested += e.req[i]!;
        r.allocated += s.object_size;
        // slab_debugfs_show(): waste = s->object_size - orig_size
        r.wasted += s.object_size - e.req[i]!;
        known++;
      }
    }
  }
  let live = 0;
  for (const sl of st.slabs.values()) {
    if (sl.cache.kmalloc_index < 0) continue;
    for (let i = 0; i < sl.objects; i++) if (sl.used[i]) live++;
  }
  for (const l of [...st.large.values()].sort((a, b) => a.pfn - b.pfn)) {
    const r = row(`order-${l.order} pages`, 1000 + l.order);
    const bytes = ms.page_size * 2 ** l.order;
    r.objects++;
    r.requested += l.size;
    r.allocated += bytes;
    r.wasted += bytes - l.size;
  }
  const caches = [...by.values()].sort((a, b) => a.index - b.index).map(({ index: _i, ...r }) => r);
  return {
    caches,
    requested: caches.reduce((a, c) => a + c.requested, 0),
    allocated: caches.reduce((a, c) => a + c.allocated, 0),
    wasted: caches.reduce((a, c) => a + c.wasted, 0),
    unknown: live - known,
  };
}

interface HeapOverhead {
  requested: number;
  chunkBytes: number;
  allocations: number;
}
function isOverhead(x: unknown): x is HeapOverhead {
  const o = x as Partial<HeapOverhead> | null | undefined;
  return !!o && typeof o === "object" && [o.requested, o.chunkBytes, o.allocations].every((v) => typeof v === "number" && Number.isFinite(v));
}

/** p.heap().overhead of every live process, when this build's HeapState has that getter */
function mallocOverhead(m: Machine): FragmentationData["malloc"] {
  const none = { processes: [], requested: 0, chunkBytes: 0, overhead: 0 };
  const ps = (m as { ps?: () => { pid: number; name: string; alive: boolean; heap(): object }[] }).ps;
  if (typeof ps !== "function") return { available: false, ...none, note: "no processes in this build" };
  const procs = ps.call(m).filter((p) => p.alive);
  const out: MallocOverhead[] = [];
  let available = true;
  for (const p of procs) {
    const h = p.heap();
    if (!("overhead" in h)) {
      available = false;
      break;
    }
    const o = (h as { overhead?: unknown }).overhead;
    if (!isOverhead(o) || o.allocations === 0) continue;
    out.push({ pid: p.pid, name: p.name, allocations: o.allocations, requested: o.requested, chunkBytes: o.chunkBytes, overhead: o.chunkBytes - o.requested });
  }
  if (!available) return { available, ...none, note: "p.heap().overhead is not available in this build: malloc's chunk overhead is not counted" };
  return {
    available,
    processes: out,
    requested: out.reduce((a, p) => a + p.requested, 0),
    chunkBytes: out.reduce((a, p) => a + p.chunkBytes, 0),
    overhead: out.reduce((a, p) => a + p.overhead, 0),
    ...(procs.length ? {} : { note: "no live processes" }),
  };
}

/** fill_contig_page_info() + unusable_free_index() + __fragmentation_index() for every order of a zone */
export function zoneExtfrag(ms: MachineState, zz: zone): ZoneExtfrag {
  const nr_free = [...zz.nr_free];
  const orders = nr_free.map((_, o) => o);
  return {
    node: zz.node.node_id,
    zone: zz.name,
    free_pages: nr_free.reduce((a, n, o) => a + n * 2 ** o, 0),
    nr_free,
    unusable: orders.map((o) => unusable_free_index(nr_free, o)),
    extfrag: orders.map((o) => fragmentation_index(nr_free, o)),
  };
}

/** m.fragmentation(): internal fragmentation per allocator, external per zone and order. */
export class FragmentationReport extends Renderable {
  /** @internal */
  constructor(
    readonly machine: Machine,
    readonly data: FragmentationData,
    private readonly debugfs: { unusable: string; extfrag: string },
  ) {
    super();
  }
  get buddy() {
    return this.data.buddy;
  }
  get slab() {
    return this.data.slab;
  }
  get malloc() {
    return this.data.malloc;
  }
  get external() {
    return this.data.external;
  }
  /** bytes lost inside allocations, all allocators together */
  get internal(): number {
    return this.data.buddy.wasted + this.data.slab.wasted + this.data.malloc.overhead;
  }

  view(): View {
    const d = this.data;
    const k = d.order;
    const b = d.buddy;
    const s = d.slab;
    const ml = d.malloc;
    const blocks: Block[] = [
      {
        kind: "table",
        caption: "Internal fragmentation: bytes handed out beyond the bytes asked for",
        columns: ["allocator", "allocations", "requested", "handed out", "wasted", "of handed out"],
        align: ["l", "r", "r", "r", "r", "r"],
        rows: [
          ["buddy (alloc_pages by size → 2^order pages)", b.blocks.length, fmtBytes(b.requested), fmtBytes(b.allocated), { text: fmtBytes(b.wasted), tone: b.wasted ? "warn" : "ok" }, pct(b.wasted, b.allocated)],
          ["slab (kmalloc → size class)", s.caches.reduce((a, c) => a + c.objects, 0), fmtBytes(s.requested), fmtBytes(s.allocated), { text: fmtBytes(s.wasted), tone: s.wasted ? "warn" : "ok" }, pct(s.wasted, s.allocated)],
          ml.available
            ? ["malloc (chunk headers, alignment)", ml.processes.reduce((a, p) => a + p.allocations, 0), fmtBytes(ml.requested), fmtBytes(ml.chunkBytes), { text: fmtBytes(ml.overhead), tone: ml.overhead ? "warn" : "ok" }, pct(ml.overhead, ml.chunkBytes)]
            : ["malloc", { text: "not counted", tone: "muted" }, "", "", "", ""],
        ],
      },
    ];
    if (ml.note) blocks.push({ kind: "text", tone: "muted", text: `malloc: ${ml.note}.` });
    if (b.blocks.length) {
      const rows: CellLike[][] = b.blocks.slice(0, 20).map((x) => [hex(x.pfn), `Node ${x.node} ${x.zone}`, x.order, fmtBytes(x.requested), fmtBytes(x.bytes), { text: fmtBytes(x.wasted), tone: x.wasted ? "warn" : "ok" }]);
      blocks.push({ kind: "table", caption: "Buddy rounding: get_order(size) rounds a request up to a power of two of pages", columns: ["pfn", "zone", "order", "requested", "block", "wasted"], align: ["r", "l", "r", "r", "r", "r"], rows, omitted: Math.max(0, b.blocks.length - 20) });
    }
    if (s.caches.length) {
      const rows: CellLike[][] = s.caches.map((c) => [c.cache, c.objects, fmtBytes(c.requested), fmtBytes(c.allocated), { text: fmtBytes(c.wasted), tone: c.wasted ? "warn" : "ok" }, c.objects ? fmtBytes(Math.round(c.wasted / c.objects)) : ""]);
      blocks.push({ kind: "table", caption: "Slab rounding: kmalloc's size classes (waste = object_size − requested, as SLUB's alloc_traces prints it)", columns: ["cache", "objects", "requested", "allocated", "wasted", "per object"], align: ["l", "r", "r", "r", "r", "r"], rows });
    }
    if (s.unknown > 0) blocks.push({ kind: "text", tone: "muted", text: `${s.unknown} more kmalloc object${s.unknown > 1 ? "s" : ""} allocated inside the kernel (e.g. vmalloc's pages[] array): requested size not recorded, not counted.` });
    if (ml.processes.length) {
      blocks.push({ kind: "table", caption: "malloc: chunk size (header + alignment to 2·SIZE_SZ, minimum chunk) vs bytes requested", columns: ["pid", "name", "allocations", "requested", "chunks", "overhead"], align: ["r", "l", "r", "r", "r", "r"], rows: ml.processes.map((p) => [p.pid, p.name, p.allocations, fmtBytes(p.requested), fmtBytes(p.chunkBytes), { text: fmtBytes(p.overhead), tone: p.overhead ? "warn" : "ok" }]) });
    }
    // external fragmentation: one row per zone, one column per order
    const orders = d.external[0]?.nr_free.map((_, o) => o) ?? [];
    const idxRows = (f: (x: ZoneExtfrag) => number[]): CellLike[][] =>
      d.external.map((x) => [`Node ${x.node} ${x.zone}`, x.free_pages, ...f(x).map((v, o) => ({ text: milli(v), tone: o === k ? ("accent" as const) : v >= 500 ? ("warn" as const) : undefined }))]);
    blocks.push({ kind: "heading", text: "External fragmentation: free memory in blocks too small for an order-k request", level: 2 });
    blocks.push({ kind: "table", caption: "unusable free space index (0 = all free pages usable, 1 = none)", columns: ["zone", "free pages", ...orders.map((o) => `o${o}`)], align: ["l", "r", ...orders.map(() => "r" as const)], rows: idxRows((x) => x.unusable) });
    blocks.push({ kind: "table", caption: "fragmentation index (−1 = would succeed; toward 0 fails for lack of memory, toward 1 for fragmentation)", columns: ["zone", "free pages", ...orders.map((o) => `o${o}`)], align: ["l", "r", ...orders.map(() => "r" as const)], rows: idxRows((x) => x.extfrag) });
    blocks.push({ kind: "pre", title: "/sys/kernel/debug/extfrag/unusable_index", text: this.debugfs.unusable });
    blocks.push({ kind: "pre", title: "/sys/kernel/debug/extfrag/extfrag_index", text: this.debugfs.extfrag });
    const worst = d.external.reduce<ZoneExtfrag | undefined>((a, x) => (!a || (x.unusable[k] ?? 0) > (a.unusable[k] ?? 0) ? x : a), undefined);
    return {
      title: "Fragmentation: internal per allocator, external per zone",
      summary: `FragmentationReport internal ${fmtBytes(this.internal)} wasted (buddy ${fmtBytes(b.wasted)}, slab ${fmtBytes(s.wasted)}, malloc ${ml.available ? fmtBytes(ml.overhead) : "n/a"})${worst ? `; order-${k} unusable index ${milli(worst.unusable[k] ?? 0)} in Node ${worst.node} ${worst.zone}` : ""}`,
      blocks,
    };
  }
  toJSON() {
    return this.data;
  }
}

// ------------------------------------------------------------------ charts over a workload

/** A chart as a result: one chart block (free blocks per order, or the indices) and its data. */
export class Chart extends Renderable {
  /** @internal */
  constructor(
    readonly title: string,
    readonly x: number[],
    readonly series: { name: string; values: number[] }[],
    readonly xLabel: string,
    readonly yLabel: string,
    private readonly notes: string[] = [],
  ) {
    super();
  }
  view(): View {
    return {
      title: this.title,
      summary: `Chart ${this.title}: ${this.series.length} series × ${this.x.length} samples`,
      blocks: [
        { kind: "chart", series: this.series, x: this.x, height: 12, ...(this.xLabel ? { xLabel: this.xLabel } : {}), ...(this.yLabel ? { yLabel: this.yLabel } : {}) },
        ...this.notes.map((t): Block => ({ kind: "text", tone: "muted", text: t })),
      ],
    };
  }
  toJSON() {
    return { title: this.title, xLabel: this.xLabel, yLabel: this.yLabel, x: this.x, series: this.series };
  }
}

const chartSchema = z
  .object({
    title: z.string().max(200).optional(),
    series: z.record(z.string(), z.array(z.number().finite()).max(1_000_000)),
    x: z.array(z.number().finite()).optional(),
    xLabel: z.string().max(100).optional(),
    yLabel: z.string().max(100).optional(),
  })
  .strict();

/**
 * A chart of any numbers: `chart({ series: { hits: [...], misses: [...] }, x: [...], xLabel, yLabel })`;
 * asciichart in a terminal, SVG in Jupyter, like the recorder's charts.
 */
export function chart(opts: { title?: string; series: Record<string, number[]>; x?: number[]; xLabel?: string; yLabel?: string }): Chart {
  const o = parseArg(chartSchema, opts, "opts");
  const series = Object.entries(o.series).map(([name, values]) => ({ name, values }));
  const n = Math.max(0, ...series.map((s) => s.values.length));
  if (o.x && o.x.length !== n) throw new MmError("EINVAL", `opts.x: one x value per sample (${n}), got ${o.x.length}`, { arg: "opts.x" });
  return new Chart(o.title ?? "chart", o.x ?? Array.from({ length: n }, (_, i) => i), series, o.xLabel ?? "", o.yLabel ?? "");
}

export interface FragSample {
  /** the workload step the sample was taken after (0 = before the first) */
  step: number;
  label?: string;
  free_pages: number;
  /** free blocks per order (the zone's /proc/buddyinfo line) */
  nr_free: number[];
  /** unusable_free_index() at the recorder's order, ×1000 */
  unusable: number;
  /** __fragmentation_index() at the recorder's order, ×1000 */
  extfrag: number;
}

export type ChartKind = "orders" | "index" | "free";

export interface RecorderOptions {
  /** zone name (default: the first zone GFP_KERNEL allocations try on that node) */
  zone?: string;
  node?: number;
  /** the order the indices are sampled for (default PAGE_ALLOC_COSTLY_ORDER = 3) */
  order?: number;
  /** sample every N steps (default 1) */
  every?: number;
}

/** Samples one zone over a workload: free blocks per order, free pages, and the two indices at one order. */
export class FragRecorder extends Renderable {
  readonly samples: FragSample[] = [];
  /** steps taken so far (see step()) */
  steps = 0;
  /** @internal */
  constructor(
    readonly machine: Machine,
    /** @internal */
    readonly _zone: zone,
    readonly order: number,
    readonly every: number,
  ) {
    super();
  }
  get zone(): string {
    return this._zone.name;
  }
  get node(): number {
    return this._zone.node.node_id;
  }
  /** take a sample now (at the current step); `label` marks it in the data */
  sample(label?: string): this {
    if (label !== undefined && typeof label !== "string") throw new MmError("EINVAL", `label: a string, got ${typeof label}`, { arg: "label" });
    const nr_free = [...this._zone.nr_free];
    const s: FragSample = {
      step: this.steps,
      free_pages: nr_free.reduce((a, n, o) => a + n * 2 ** o, 0),
      nr_free,
      unusable: unusable_free_index(nr_free, this.order),
      extfrag: fragmentation_index(nr_free, this.order),
    };
    if (label !== undefined) s.label = label;
    const last = this.samples[this.samples.length - 1];
    // a second sample at the same step replaces the first (the state is the same)
    if (last && last.step === s.step) this.samples[this.samples.length - 1] = s;
    else this.samples.push(s);
    return this;
  }
  /** count `n` workload steps (default 1), sampling whenever the step count reaches a multiple of `every` */
  step(n = 1): this {
    // (called once per step of a workload: the common n = 1 skips zod)
    const k = n === 1 ? 1 : parseArg(z.number().int().min(1).max(1e9), n, "n");
    for (let i = 0; i < k; i++) {
      this.steps++;
      if (this.steps % this.every === 0) this.sample();
    }
    return this;
  }

  /**
   * One chart of the samples: "orders" — free blocks per order (`orders` picks which; default every
   * order that had a free block in some sample), "index" — the unusable free space index and the
   * fragmentation index at the recorder's order, "free" — free pages.
   */
  chart(kind: ChartKind = "orders", opts: { orders?: number[] } = {}): Chart {
    const kd = parseArg(z.enum(["orders", "index", "free"]), kind, "kind");
    const max = this._zone.nr_free.length - 1;
    const o = parseArg(z.object({ orders: z.array(z.number().int().min(0).max(max)).optional() }).strict(), opts, "opts");
    const x = this.samples.map((s) => s.step);
    const where = `Node ${this.node}, zone ${this.zone}`;
    if (kd === "free") return new Chart(`free pages — ${where}`, x, [{ name: "free pages", values: this.samples.map((s) => s.free_pages) }], "step", "pages");
    if (kd === "index") {
      const k = this.order;
      return new Chart(
        `fragmentation indices for an order-${k} request — ${where}`,
        x,
        [
          { name: `unusable free space index (order ${k})`, values: this.samples.map((s) => s.unusable / 1000) },
          { name: `fragmentation index (order ${k})`, values: this.samples.map((s) => s.extfrag / 1000) },
        ],
        "step",
        "index",
        [`The fragmentation index is −1 while an order-${k} block is free (the request would succeed); 0 when a failure is for lack of memory, toward 1 when it is for fragmentation.`],
      );
    }
    const orders = o.orders ?? Array.from({ length: max + 1 }, (_, i) => i).filter((i) => this.samples.some((s) => s.nr_free[i]! > 0));
    return new Chart(
      `free blocks per order — ${where}`,
      x,
      orders.map((i) => ({ name: `order ${i}`, values: this.samples.map((s) => s.nr_free[i]!) })),
      "step",
      "free blocks",
    );
  }

  view(): View {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const k = this.order;
    const blocks: Block[] = [
      {
        kind: "kv",
        items: [
          { label: "zone", value: `Node ${this.node}, zone ${this.zone}` },
          { label: "samples", value: `${this.samples.length}`, note: `every ${this.every} step${this.every > 1 ? "s" : ""}, ${this.steps} steps so far` },
          { label: "free pages", value: first && last ? `${first.free_pages} → ${last.free_pages}` : "(no samples yet: call .sample())" },
          { label: `order-${k} unusable index`, value: first && last ? `${milli(first.unusable)} → ${milli(last.unusable)}` : "" },
          { label: `order-${k} fragmentation index`, value: first && last ? `${milli(first.extfrag)} → ${milli(last.extfrag)}` : "" },
        ],
      },
    ];
    if (this.samples.length) for (const c of [this.chart("orders"), this.chart("index")]) blocks.push({ kind: "heading", text: c.title, level: 3 }, ...c.view().blocks);
    return {
      title: `Fragmentation over a workload: Node ${this.node}, zone ${this.zone}`,
      summary: `FragRecorder ${this.samples.length} samples over ${this.steps} steps, Node ${this.node} ${this.zone}${first && last ? `: free ${first.free_pages} → ${last.free_pages} pages, order-${k} unusable ${milli(first.unusable)} → ${milli(last.unusable)}` : ""}`,
      blocks,
    };
  }
  toJSON() {
    return { node: this.node, zone: this.zone, order: this.order, every: this.every, steps: this.steps, samples: this.samples };
  }
}

// ------------------------------------------------------------------ Machine methods

declare module "./machine" {
  interface Machine {
    /** internal fragmentation per allocator (buddy, slab, malloc) and external per zone and order;
     * `order` picks the order the summary highlights (default 3, PAGE_ALLOC_COSTLY_ORDER) */
    fragmentation(opts?: { order?: number }): FragmentationReport;
    /** a recorder of one zone's free blocks per order and fragmentation indices: call .sample() or .step() */
    recorder(opts?: RecorderOptions): FragRecorder;
    /** run `fn(i, m)` for i = 0..steps-1 with tracing off, sampling before the first step, every
     * `every` steps and after the last; returns the recorder (it renders as charts) */
    record(steps: number, fn: (i: number, m: Machine) => unknown, opts?: RecorderOptions & { trace?: boolean }): FragRecorder;
  }
}

function defaultOrder(ms: MachineState, order: number | undefined): number {
  return order ?? Math.min(PAGE_ALLOC_COSTLY_ORDER, ms.MAX_PAGE_ORDER);
}

Machine.prototype.fragmentation = function (this: Machine, opts = {}) {
  const ms = this.ms;
  const o = parseArg(z.object({ order: z.number().int().min(0).max(ms.MAX_PAGE_ORDER).optional() }).strict(), opts, "opts");
  const blocks = buddyRounding(ms);
  const data: FragmentationData = {
    pageSize: ms.page_size,
    order: defaultOrder(ms, o.order),
    buddy: { blocks, requested: blocks.reduce((a, b) => a + b.requested, 0), allocated: blocks.reduce((a, b) => a + b.bytes, 0), wasted: blocks.reduce((a, b) => a + b.wasted, 0) },
    slab: slabRounding(ms),
    malloc: mallocOverhead(this),
    external: ms.nodes.flatMap((n) => n.node_zones.filter((zz) => zz.populated).map((zz) => zoneExtfrag(ms, zz))),
  };
  return new FragmentationReport(this, data, { unusable: unusable_index(ms), extfrag: extfrag_index(ms) });
};

const recorderSchema = (ms: MachineState) =>
  z
    .object({
      zone: z.string().optional(),
      node: z.number().int().min(0).max(ms.nodes.length - 1).optional(),
      order: z.number().int().min(0).max(ms.MAX_PAGE_ORDER).optional(),
      every: z.number().int().min(1).max(1e9).optional(),
    })
    .strict();

Machine.prototype.recorder = function (this: Machine, opts = {}) {
  const ms = this.ms;
  const o = parseArg(recorderSchema(ms), opts, "opts");
  const node = o.node ?? 0;
  let zz: zone | undefined;
  if (o.zone !== undefined) {
    zz = this.findZone(o.zone, node);
    if (!zz.populated) throw new MmError("EINVAL", `opts.zone: Node ${node} zone ${zz.name} has no memory`, { arg: "opts.zone" });
  } else {
    // where GFP_KERNEL allocations on this node start: the first populated zone of its zonelist
    const hi = gfp_zone(ms, GFP_KERNEL);
    zz = node_zonelist(ms, node).find((x) => x.node.node_id === node && x.zone_idx <= hi && x.populated) ?? ms.nodes[node]!.node_zones.find((x) => x.populated);
    if (!zz) throw new MmError("EINVAL", `opts.node: node ${node} has no populated zone`, { arg: "opts.node" });
  }
  return new FragRecorder(this, zz, defaultOrder(ms, o.order), o.every ?? 1);
};

Machine.prototype.record = function (this: Machine, steps, fn, opts = {}) {
  const n = parseArg(z.number().int().min(0).max(1e8), steps, "steps");
  if (typeof fn !== "function") throw new MmError("EINVAL", `fn: a function (i, m) => { one step of the workload }, got ${typeof fn}`, { arg: "fn" });
  const { trace, ...ro } = parseArg(recorderSchema(this.ms).extend({ trace: z.boolean().optional() }), opts, "opts");
  const rec = this.recorder(ro);
  const run = () => {
    rec.sample();
    for (let i = 0; i < n; i++) {
      fn(i, this);
      rec.step();
    }
    rec.sample();
  };
  if (trace) run();
  else this.quietly(run);
  return rec;
};
