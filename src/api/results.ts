/**
 * Result objects of the physical-memory calls: each has typed fields, the kernel steps that produced it
 * (`trace`), and renders through its view (text in the REPL, HTML in a notebook, data via toJSON).
 */
import type { TraceEvent } from "../kernel/trace";
import { fmtBytes, hex } from "../lib/units";
import type { check_report } from "../mm/debug";
import { Renderable } from "../render/renderable";
import type { Block, View } from "../render/view";
import type { Machine } from "./machine";

function traceBlock(trace: TraceEvent[]): Block[] {
  return trace.length ? [{ kind: "heading", text: "What the kernel did", level: 2 }, { kind: "trace", events: trace.slice(0, 400), omitted: Math.max(0, trace.length - 400) }] : [];
}

/** A block of 2^order frames handed out by the buddy allocator (alloc_pages). */
export class PageBlock extends Renderable {
  /** @internal the allocation's id, to tell a stale handle from the block now at this PFN */
  readonly _id: number;
  constructor(
    readonly machine: Machine,
    readonly pfn: number,
    readonly order: number,
    readonly zone: string,
    readonly node: number,
    readonly gfp: string,
    readonly migratetype: string,
    /** bytes asked for, when the request was a size */
    readonly requested: bigint | undefined,
    readonly trace: TraceEvent[],
    id: number,
    private readonly _views: () => Block[],
  ) {
    super();
    this._id = id;
  }
  get pages(): number {
    return 2 ** this.order;
  }
  get bytes(): number {
    return this.pages * this.machine.pageSize;
  }
  /** physical address of the first byte */
  get pa(): bigint {
    return BigInt(this.pfn) * BigInt(this.machine.pageSize);
  }
  /** internal fragmentation: bytes of the block the request did not ask for */
  get wasted(): number {
    return this.requested === undefined ? 0 : this.bytes - Number(this.requested);
  }
  /** return the block to the buddy allocator (__free_pages) */
  free(): Freed {
    return this.machine.freePages(this);
  }
  view(): View {
    const size = fmtBytes(this.bytes);
    const kv: { label: string; value: string; note?: string }[] = [
      { label: "pfn", value: `${hex(this.pfn)} (${this.pfn})` },
      { label: "physical", value: `${hex(this.pa)}–${hex(this.pa + BigInt(this.bytes) - 1n)}` },
      { label: "order", value: `${this.order} (${this.pages} page${this.pages > 1 ? "s" : ""}, ${size})` },
      { label: "zone", value: `Node ${this.node}, zone ${this.zone}` },
      { label: "gfp", value: this.gfp },
      { label: "migratetype", value: this.migratetype },
    ];
    if (this.requested !== undefined)
      kv.push({ label: "requested", value: fmtBytes(this.requested), note: this.wasted ? `internal fragmentation: ${fmtBytes(this.wasted)} of ${size} unused (${((100 * this.wasted) / this.bytes).toFixed(1)}%)` : "exact fit" });
    return {
      title: `alloc_pages: order ${this.order} (${size}) at PFN ${hex(this.pfn)}`,
      summary: `PageBlock pfn=${hex(this.pfn)} order=${this.order} (${size}) ${this.zone}${this.wasted ? `, ${fmtBytes(this.wasted)} wasted` : ""}`,
      blocks: [{ kind: "kv", items: kv }, ...this._views(), ...traceBlock(this.trace)],
    };
  }
  toJSON() {
    return { pfn: this.pfn, order: this.order, pages: this.pages, bytes: this.bytes, zone: this.zone, node: this.node, gfp: this.gfp, migratetype: this.migratetype, requested: this.requested === undefined ? undefined : Number(this.requested), wasted: this.wasted, trace: this.trace };
  }
}

/** What a free did: the block returned, what it merged into, the trace. */
export class Freed extends Renderable {
  constructor(
    readonly pfn: number,
    readonly order: number,
    readonly zone: string,
    /** the free block it ended up in after merging */
    readonly merged: { pfn: number; order: number },
    readonly trace: TraceEvent[],
    private readonly _views: () => Block[],
  ) {
    super();
  }
  view(): View {
    const m = this.merged;
    const grew = m.order > this.order;
    return {
      title: `__free_pages: PFN ${hex(this.pfn)} order ${this.order}`,
      summary: `Freed pfn=${hex(this.pfn)} order=${this.order}${grew ? ` → merged into ${hex(m.pfn)} order ${m.order}` : ""}`,
      blocks: [
        { kind: "kv", items: [{ label: "freed", value: `PFN ${hex(this.pfn)}, order ${this.order}, zone ${this.zone}` }, { label: "now free as", value: `PFN ${hex(m.pfn)}, order ${m.order}`, note: grew ? `merged ${m.order - this.order} time${m.order - this.order > 1 ? "s" : ""} with free buddies` : "no free buddy to merge with" }] },
        ...this._views(),
        ...traceBlock(this.trace),
      ],
    };
  }
  toJSON() {
    return { pfn: this.pfn, order: this.order, zone: this.zone, merged: this.merged, trace: this.trace };
  }
}

/** A /proc (or kernel log) file: `.text` is exactly what the kernel prints. */
export class ProcFile extends Renderable {
  constructor(
    readonly path: string,
    readonly text: string,
    private readonly _views: () => Block[] = () => [],
  ) {
    super();
  }
  /** the file's exact text */
  override toString(): string {
    return this.text;
  }
  /** the lines of the file */
  get lines(): string[] {
    return this.text.replace(/\n$/, "").split("\n");
  }
  view(): View {
    const n = this.lines.length;
    return { title: this.path, summary: `${this.path} (${n} line${n === 1 ? "" : "s"})`, blocks: [{ kind: "pre", text: this.text }, ...this._views()] };
  }
  toJSON() {
    return { path: this.path, text: this.text };
  }
}

/** m.check(): every invariant held. */
export class CheckReport extends Renderable {
  constructor(
    readonly report: check_report,
    readonly pageSize: number,
  ) {
    super();
  }
  get verified(): true {
    return true;
  }
  view(): View {
    const r = this.report;
    const P = this.pageSize;
    return {
      title: "m.check(): every invariant holds",
      summary: `verified: ${r.free} free + ${r.allocated} allocated + ${r.reserved} reserved = ${r.frames} frames`,
      blocks: [
        {
          kind: "table",
          columns: ["node", "zone", "managed", "free", "allocated", ...r.zones[0]!.blocks.map((_, o) => `o${o}`)],
          align: ["r", "l", "r", "r", "r", ...r.zones[0]!.blocks.map(() => "r" as const)],
          rows: r.zones.filter((z) => z.managed).map((z) => [z.node, z.zone, z.managed, z.free, z.allocated, ...z.blocks]),
        },
        {
          kind: "text",
          tone: "ok",
          text: `Each frame is in exactly one state; every free list is consistent with its frames; free pages = Σ nr_free·2^order in every zone; no two free buddies are left unmerged. Total free: ${r.free} pages (${fmtBytes(r.free * P)}) — verified.`,
        },
      ],
    };
  }
  toJSON() {
    return { verified: true, ...this.report };
  }
}
