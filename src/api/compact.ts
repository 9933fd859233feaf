/**
 * Compaction at the facade (issue 6 §3): `m.compact(zone?, opts?)` runs mm/compaction.c's compact_zone()
 * (src/mm/compaction.ts) and returns what it did — the zone's free blocks per order and its pageblocks
 * before and after, the pages migrated (old PFN → new PFN), which pageblocks unmovable pages kept from
 * freeing and why, the vmstat counters it moved, and the trace.
 *
 *   m.compact()                        // every zone: echo 1 > /proc/sys/vm/compact_memory
 *   m.compact("DMA32")                 // one zone (node 0), the whole zone (order -1)
 *   m.compact("Normal", { order: 9 })  // a targeted run: stop once an order-9 block is free
 */
import { z } from "zod";
import { MmError } from "../errors";
import type { TraceEvent } from "../kernel/trace";
import type { MachineState } from "../kernel/machine";
import { fmtBytes, hex } from "../lib/units";
import { GFP_KERNEL } from "../mm/gfp";
import { compact_node, compact_zone_order, in_free_block, page_unmovable_reason, UNMOVABLE_REASONS, type compact_run, type unmovable_reason } from "../mm/compaction";
import { PG_buddy, PG_head } from "../mm/memmap";
import { MIGRATE_TYPES, migratetype_names, type zone } from "../mm/mmzone";
import { pageblock_counts } from "../proc/vmstat";
import { Renderable } from "../render/renderable";
import type { Block, CellLike, Tone, View } from "../render/view";
import { Machine } from "./machine";
import { gfpSchema, parseArg } from "./schemas";
import { zoneBar } from "./views";

/** One pageblock as the pictures show it. */
export interface PageblockState {
  start: number;
  migratetype: string;
  free: number;
  /** anonymous user pages on the LRU (what compaction can move) */
  movable: number;
  /** pages compaction cannot move */
  unmovable: number;
  /** of which transparent huge pages (anonymous, but never split or moved by compaction) */
  huge: number;
  /** the largest free block inside it (order), -1 if none */
  largestFree: number;
}

/** A zone's state at one moment: free blocks per order, pageblock types and contents. */
export interface ZoneState {
  nr_free: number[];
  freePages: number;
  /** pageblocks per migratetype (the "Number of blocks type" line of /proc/pagetypeinfo) */
  blockCounts: number[];
  pageblocks: PageblockState[];
}

/** What compaction did to one zone. */
export interface ZoneCompaction {
  node: number;
  zone: string;
  order: number;
  result: string;
  why?: string;
  mode: string;
  migrateScanned: number;
  freeScanned: number;
  isolated: number;
  migrated: number;
  failed: number;
  /** old PFN → new PFN, in the order migrate_pages() moved them */
  moves: { from: number; to: number }[];
  /** pageblocks the migrate scanner could not empty, with the unmovable pages it found there */
  blocked: { start: number; migratetype: string; pages: Partial<Record<unmovable_reason, number>> }[];
  before: ZoneState;
  after: ZoneState;
  /** pictures of the zone's frames before and after (built at the time) */
  barBefore: Block;
  barAfter: Block;
}

const MT_TONE: Tone[] = ["kernel", "user", "slab", "accent", "highmem", "warn"];
const MT_LETTER = ["U", "M", "R", "H", "C", "I"];

/** a zone's state now */
export function zoneState(ms: MachineState, zz: zone): ZoneState {
  const mm = ms.mem_map;
  const pb = ms.pageblock_nr_pages;
  const pageblocks: PageblockState[] = [];
  const first = zz.zone_start_pfn - (zz.zone_start_pfn % pb);
  for (let start = first; start < zz.zone_end_pfn; start += pb) {
    const end = Math.min(start + pb, zz.zone_end_pfn);
    const s: PageblockState = { start, migratetype: migratetype_names[ms.get_pageblock_migratetype(Math.max(start, zz.zone_start_pfn))]!, free: 0, movable: 0, unmovable: 0, huge: 0, largestFree: -1 };
    for (let p = Math.max(start, zz.zone_start_pfn); p < end; ) {
      if (mm.zoneid[p] !== zz.id) {
        p++;
        continue;
      }
      const f = mm.flags[p]!;
      if (f & PG_buddy) {
        const o = mm.order[p]!;
        const n = Math.min(1 << o, end - p);
        s.free += n;
        if (o > s.largestFree) s.largestFree = o;
        p += 1 << o;
        continue;
      }
      if (f & PG_head && mm.order[p]! > 0) {
        const n = 1 << mm.order[p]!;
        s.unmovable += Math.min(n, end - p);
        if (page_unmovable_reason(ms, p) === "huge page") s.huge += Math.min(n, end - p);
        p += n;
        continue;
      }
      if (f === 0 && in_free_block(ms, p)) s.free++;
      else if (f !== 0 && page_unmovable_reason(ms, p) === undefined) s.movable++;
      else s.unmovable++;
      p++;
    }
    pageblocks.push(s);
  }
  return { nr_free: [...zz.nr_free], freePages: zz.nr_free_pages, blockCounts: pageblock_counts(ms, zz), pageblocks };
}

/** one character per pageblock: what it holds */
function useChar(b: PageblockState, pb: number): string {
  if (b.free >= pb) return "·";
  if (b.unmovable > b.huge) return "U";
  if (b.huge) return "T";
  if (b.movable) return "m";
  return "·";
}

/** The strip of pageblocks (type letters over contents), before and after, at most `max` pageblocks a line. */
function stripBlock(before: ZoneState, after: ZoneState, pb: number, title: string): Block {
  const W = 64;
  const n = before.pageblocks.length;
  const lines: string[] = [];
  for (let i = 0; i < n; i += W) {
    const seg = (s: ZoneState) => s.pageblocks.slice(i, i + W);
    const start = before.pageblocks[i]!.start;
    if (n > W) lines.push(`PFN ${hex(start)}:`);
    lines.push(`  type before  ${seg(before).map((b) => MT_LETTER[migratetype_names.indexOf(b.migratetype)]).join("")}`);
    lines.push(`  used before  ${seg(before).map((b) => useChar(b, pb)).join("")}`);
    lines.push(`  type after   ${seg(after).map((b) => MT_LETTER[migratetype_names.indexOf(b.migratetype)]).join("")}`);
    lines.push(`  used after   ${seg(after).map((b) => useChar(b, pb)).join("")}`);
    if (lines.length > 200) {
      lines.push(`  … ${n - i - W} more pageblocks`);
      break;
    }
  }
  lines.push("");
  lines.push("type: U Unmovable, M Movable, R Reclaimable, H HighAtomic, C CMA, I Isolate");
  lines.push("used: · all free, m movable user pages (and free), U unmovable pages (kernel, slab, page tables…), T a transparent huge page");
  return { kind: "pre", title, text: lines.join("\n") };
}

/** pageblocks by migratetype as a bar (one segment run per type) */
function typeBar(ms: MachineState, zz: zone, s: ZoneState, title: string): Block {
  const segs: { start: number; len: number; tone: Tone }[] = [];
  for (const b of s.pageblocks) {
    const tone = MT_TONE[migratetype_names.indexOf(b.migratetype)] ?? "muted";
    const start = Math.max(b.start, zz.zone_start_pfn);
    const len = Math.min(b.start + ms.pageblock_nr_pages, zz.zone_end_pfn) - start;
    const last = segs[segs.length - 1];
    if (last && last.tone === tone && last.start + last.len === start) last.len += len;
    else segs.push({ start, len, tone });
  }
  return {
    kind: "bar",
    title,
    base: zz.zone_start_pfn,
    total: zz.spanned_pages,
    unit: "page",
    segments: segs,
    format: "pfn",
    legend: [
      { tone: "kernel", label: "Unmovable" },
      { tone: "user", label: "Movable" },
      { tone: "slab", label: "Reclaimable" },
    ],
  };
}

/** The result of m.compact(). */
export class Compaction extends Renderable {
  /** @internal */
  constructor(
    readonly machine: Machine,
    readonly zones: ZoneCompaction[],
    /** the vm_event counters this call moved (compact_*, pgmigrate_*) */
    readonly vmstat: Record<string, number>,
    readonly trace: TraceEvent[],
  ) {
    super();
  }
  /** pages migrated in all */
  get migrated(): number {
    return this.zones.reduce((a, z) => a + z.migrated, 0);
  }
  /** every page moved: old PFN → new PFN */
  get moves(): { from: number; to: number }[] {
    return this.zones.flatMap((z) => z.moves);
  }
  /** the result of the first (or only) zone */
  get result(): string {
    return this.zones[0]?.result ?? "COMPACT_SKIPPED";
  }
  view(): View {
    const ms = this.machine.ms;
    const P = ms.page_size;
    const pb = ms.pageblock_nr_pages;
    const blocks: Block[] = [];
    for (const zc of this.zones) {
      const zz = this.machine.findZone(zc.zone, zc.node);
      blocks.push({ kind: "heading", text: `Node ${zc.node}, zone ${zc.zone}: ${zc.result}`, level: 2 });
      const kv: { label: string; value: CellLike; note?: string }[] = [
        { label: "run", value: zc.order < 0 ? "order -1: the whole zone (compact_memory)" : `order ${zc.order}: stop once such a block is free`, note: zc.mode },
        { label: "result", value: zc.result, note: zc.why },
      ];
      if (!zc.why || zc.result !== "COMPACT_SKIPPED") {
        kv.push({ label: "scanned", value: `migrate scanner ${zc.migrateScanned} pages, free scanner ${zc.freeScanned} pages` });
        kv.push({ label: "migrated", value: `${zc.migrated} page${zc.migrated === 1 ? "" : "s"} (${fmtBytes(zc.migrated * P)})`, note: zc.failed ? `${zc.failed} failed (pgmigrate_fail: pinned, or no free page left to move into once the scanners met)` : undefined });
      }
      const bigBefore = zc.before.nr_free.reduce((a, n, o) => (n && o > a ? o : a), -1);
      const bigAfter = zc.after.nr_free.reduce((a, n, o) => (n && o > a ? o : a), -1);
      kv.push({ label: "largest free block", value: `order ${bigBefore} → order ${bigAfter}`, note: `${fmtBytes((bigBefore < 0 ? 0 : 1 << bigBefore) * P)} → ${fmtBytes((bigAfter < 0 ? 0 : 1 << bigAfter) * P)}` });
      blocks.push({ kind: "kv", items: kv });
      const orders = zc.before.nr_free.map((_, o) => `o${o}`);
      blocks.push({
        kind: "table",
        caption: "free blocks per order (/proc/buddyinfo)",
        columns: ["", ...orders, "free pages"],
        align: ["l", ...orders.map(() => "r" as const), "r"],
        rows: [
          ["before", ...zc.before.nr_free, zc.before.freePages],
          ["after", ...zc.after.nr_free.map((n, o): CellLike => (n !== zc.before.nr_free[o] ? { text: String(n), bold: true, tone: n > zc.before.nr_free[o]! ? "ok" : "warn" } : n)), zc.after.freePages],
        ],
      });
      blocks.push({
        kind: "table",
        caption: "pageblocks per migratetype (/proc/pagetypeinfo, Number of blocks type)",
        columns: ["", ...migratetype_names.slice(0, MIGRATE_TYPES)],
        align: ["l", ...migratetype_names.map(() => "r" as const)],
        rows: [
          ["before", ...zc.before.blockCounts],
          ["after", ...zc.after.blockCounts],
        ],
      });
      if (zc.before.pageblocks.length <= 1024) blocks.push(stripBlock(zc.before, zc.after, pb, `pageblocks of ${pb} pages (${fmtBytes(pb * P)}), low PFNs on the left`));
      blocks.push(typeBar(ms, zz, zc.after, `pageblock migratetypes after`));
      blocks.push(zc.barBefore, zc.barAfter);
      if (zc.blocked.length) {
        const rows = zc.blocked.slice(0, 32).map((b) => [hex(b.start), b.migratetype, Object.entries(b.pages).map(([k, v]) => `${v} ${k}`).join(", ")]);
        blocks.push({ kind: "table", caption: "pageblocks unmovable pages kept from freeing", columns: ["pageblock", "type", "pages that cannot move"], align: ["l", "l", "l"], rows, omitted: Math.max(0, zc.blocked.length - 32) });
      }
      if (zc.moves.length) {
        const shown = zc.moves.slice(0, 16);
        blocks.push({ kind: "table", caption: "pages migrated (migrate_pages: old frame → new frame)", columns: ["#", "from PFN", "to PFN"], align: ["r", "l", "l"], rows: shown.map((m, i) => [i + 1, hex(m.from), hex(m.to)]), omitted: zc.moves.length - shown.length });
      }
    }
    const counters = Object.entries(this.vmstat).filter(([, v]) => v);
    if (counters.length) blocks.push({ kind: "table", caption: "/proc/vmstat counters this call moved", columns: ["counter", "+"], align: ["l", "r"], rows: counters.map(([k, v]) => [k, v]) });
    if (this.trace.length) blocks.push({ kind: "heading", text: "What the kernel did", level: 2 }, { kind: "trace", events: this.trace.slice(0, 400), omitted: Math.max(0, this.trace.length - 400) });
    const names = this.zones.map((zc) => `${zc.zone} ${zc.result.replace("COMPACT_", "")}`).join(", ");
    return {
      title: `compaction: ${this.migrated} page${this.migrated === 1 ? "" : "s"} migrated`,
      summary: `Compaction ${names || "(no zone)"}: ${this.migrated} pages migrated`,
      blocks,
    };
  }
  toJSON() {
    return { zones: this.zones.map(({ barBefore: _b, barAfter: _a, ...rest }) => rest), vmstat: this.vmstat, trace: this.trace };
  }
}

const VM_KEYS = ["compact_migrate_scanned", "compact_free_scanned", "compact_isolated", "compact_stall", "compact_fail", "compact_success", "pgmigrate_success", "pgmigrate_fail"] as const;

declare module "./machine" {
  interface Machine {
    /**
     * Memory compaction (mm/compaction.c): migrate movable user pages toward the end of the zone so the
     * free pages left behind merge into high-order blocks. No zone: every zone of every node, as writing
     * /proc/sys/vm/compact_memory does; a zone name ("DMA32", "Normal"…, `opts.node`, default 0) compacts
     * that one. `opts.order`: a targeted run that stops once a free block of that order exists (for a
     * `gfp` request, default GFP_KERNEL as kcompactd uses), after compaction_suitable() agrees.
     */
    compact(zone?: string, opts?: { node?: number; order?: number; gfp?: string | string[] | number }): Compaction;
  }
}

Machine.prototype.compact = function (this: Machine, zoneName?: string, opts = {}) {
  const ms = this.ms;
  const o = parseArg(
    z
      .object({
        node: z.number().int().min(0).max(ms.nodes.length - 1).optional(),
        order: z.number().int().min(0).max(ms.MAX_PAGE_ORDER).optional(),
        gfp: gfpSchema.optional(),
      })
      .strict(),
    opts ?? {},
    "opts",
  );
  if (zoneName !== undefined && typeof zoneName !== "string") throw new MmError("EINVAL", `zone: a zone name such as "Normal" or "DMA32", got ${typeof zoneName}`, { arg: "zone" });
  if (zoneName === undefined && (o.order !== undefined || o.node !== undefined)) throw new MmError("EINVAL", `opts: order and node need a zone, e.g. m.compact("Normal", { order: 9 })`, { arg: "opts" });
  if (o.gfp !== undefined && o.order === undefined) throw new MmError("EINVAL", `opts.gfp: a gfp names the request of a targeted run; give opts.order too`, { arg: "opts.gfp" });
  let targets: zone[];
  if (zoneName !== undefined) {
    const zz = this.findZone(zoneName, o.node ?? 0);
    if (!zz.populated) throw new MmError("EINVAL", `zone: Node ${zz.node.node_id} zone ${zz.name} has no memory; populated zones: ${ms.nodes.flatMap((n) => n.node_zones.filter((x) => x.populated).map((x) => `${x.name} (node ${n.node_id})`)).join(", ")}`, { arg: "zone" });
    targets = [zz];
  } else targets = ms.nodes.flatMap((n) => n.node_zones.filter((x) => x.populated));
  if (ms.trace.events.length || ms.trace.depth) ms.trace.take();
  const vm0 = VM_KEYS.map((k) => ms.vmstat[k]);
  const before = new Map(targets.map((zz) => [zz, { state: zoneState(ms, zz), bar: zoneBar(ms, zz) }]));
  let runs: compact_run[];
  if (o.order !== undefined) {
    const gfp = o.gfp ?? GFP_KERNEL;
    const zz = targets[0]!;
    runs = [compact_zone_order(ms, zz, o.order, gfp, 0, zz.zone_idx, false)];
  } else {
    runs = [];
    for (const n of ms.nodes) runs.push(...compact_node(ms, n.node_id, targets.filter((zz) => zz.node === n)));
  }
  const trace = ms.trace.take();
  const vmstat: Record<string, number> = {};
  VM_KEYS.forEach((k, i) => (vmstat[k] = ms.vmstat[k] - vm0[i]!));
  const zones: ZoneCompaction[] = runs.map((r) => {
    const zz = r.zone;
    const b = before.get(zz)!;
    const after = zoneState(ms, zz);
    const blocked = r.blocks
      .filter((s) => Object.keys(s.unmovable).length)
      .map((s) => ({ start: s.start, migratetype: migratetype_names[s.mt]!, pages: Object.fromEntries(UNMOVABLE_REASONS.filter((k) => s.unmovable[k]).map((k) => [k, s.unmovable[k]!])) as Partial<Record<unmovable_reason, number>> }));
    const barAfter = zoneBar(ms, zz);
    return {
      node: zz.node.node_id,
      zone: zz.name,
      order: r.order,
      result: r.result,
      why: r.why,
      mode: r.mode,
      migrateScanned: r.migrate_scanned,
      freeScanned: r.free_scanned,
      isolated: r.isolated_migrate + r.isolated_free,
      migrated: r.migrated,
      failed: r.failed,
      moves: r.moves,
      blocked,
      before: b.state,
      after,
      barBefore: { ...(b.bar as Extract<Block, { kind: "bar" }>), title: `before: ${(b.bar as Extract<Block, { kind: "bar" }>).title ?? ""}` },
      barAfter: { ...(barAfter as Extract<Block, { kind: "bar" }>), title: `after: ${(barAfter as Extract<Block, { kind: "bar" }>).title ?? ""}` },
    };
  });
  return new Compaction(this, zones, vmstat, trace);
};
