/**
 * What the text and HTML back ends share: bucketing a memory bar to a fixed resolution, laying out
 * bit fields, flattening trees, down-sampling chart series, formatting positions. Everything here is
 * bounded by the output resolution, not by the size of the input (a 64 GiB machine has 16 M frames).
 */
import type { Block, Tone, TreeNode } from "./view";
import { fmtBytes, hex } from "../lib/units";

export type BarBlock = Extract<Block, { kind: "bar" }>;
export type BitsBlock = Extract<Block, { kind: "bits" }>;

export const TONES: readonly Tone[] = [
  "free",
  "used",
  "reserved",
  "kernel",
  "user",
  "pagetable",
  "slab",
  "highmem",
  "accent",
  "ok",
  "warn",
  "error",
  "muted",
  "plain",
];
const TONE_INDEX = new Map<Tone, number>(TONES.map((t, i) => [t, i]));

/** Hard caps, so a careless view builder cannot make a renderer produce megabytes. */
export const LIMITS = {
  tableRows: 500,
  traceEvents: 500,
  treeLines: 400,
  preLines: 2000,
  links: 200,
  marks: 64,
  chartPoints: 400,
} as const;

/** Offset of `x` from `base` as a JS number; bigint only when needed (x86-64 addresses > 2^53). */
export function rel(x: number | bigint, base: number | bigint): number {
  if (typeof x === "number" && typeof base === "number") return x - base;
  return Number(BigInt(x) - BigInt(base));
}

function addPos(base: number | bigint, off: number | bigint): bigint {
  return BigInt(base) + BigInt(off);
}

/** How a bar prints a position; "size" treats pages as 4 KiB (the only page size bars use). */
export function fmtPos(bar: BarBlock, pos: number | bigint): string {
  const f = bar.format ?? "hex";
  if (f === "size") return fmtBytes(bar.unit === "page" ? BigInt(pos) * 4096n : BigInt(pos));
  return hex(BigInt(pos));
}

export function barEnd(bar: BarBlock): bigint {
  return addPos(bar.base, bar.total);
}

export interface Buckets {
  /** dominant tone per bucket, null when no segment covers most of it */
  tone: (Tone | null)[];
  /** the bucket holds more than one tone (or a gap) in noticeable amounts */
  mixed: boolean[];
  /** tones in order of first appearance, with a label when every segment of that tone agrees */
  seen: { tone: Tone; label: string | undefined }[];
}

/**
 * Spread the bar's segments over `n` equal buckets and pick each bucket's dominant tone.
 * Cost is O(segments + n·tones): a segment's fully covered middle buckets go through a difference
 * array, so one segment spanning the whole bar costs the same as a one-page segment.
 */
export function bucketBar(bar: BarBlock, n: number): Buckets {
  const T = TONES.length;
  const total = Math.max(Number(bar.total), 0);
  const cov = new Float64Array(n * T); // partial coverage of the end buckets
  const diff = new Float64Array((n + 1) * T); // full coverage of the middle buckets
  const labels = new Map<Tone, string | undefined | null>(); // null: labels disagree
  if (total > 0) {
    const scale = n / total;
    for (const seg of bar.segments) {
      const t = TONE_INDEX.get(seg.tone) ?? T - 1;
      if (!labels.has(seg.tone)) labels.set(seg.tone, seg.label);
      else if (labels.get(seg.tone) !== seg.label) labels.set(seg.tone, null);
      let s = rel(seg.start, bar.base);
      let e = s + Number(seg.len);
      if (s < 0) s = 0;
      if (e > total) e = total;
      if (!(e > s)) continue;
      const bs = s * scale;
      const be = e * scale;
      const i0 = Math.min(n - 1, Math.floor(bs));
      const i1 = Math.min(n - 1, Math.ceil(be) - 1);
      if (i0 >= i1) {
        cov[i0 * T + t] += be - bs;
      } else {
        cov[i0 * T + t] += i0 + 1 - bs;
        cov[i1 * T + t] += be - i1;
        if (i1 > i0 + 1) {
          diff[(i0 + 1) * T + t] += 1;
          diff[i1 * T + t] -= 1;
        }
      }
    }
  }
  const tone: (Tone | null)[] = new Array(n);
  const mixed: boolean[] = new Array(n);
  const run = new Float64Array(T);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestV = 0;
    let sum = 0;
    for (let t = 0; t < T; t++) {
      run[t] += diff[i * T + t]!;
      const v = run[t]! + cov[i * T + t]!;
      sum += v;
      if (v > bestV) {
        bestV = v;
        best = t;
      }
    }
    const empty = Math.max(0, 1 - sum);
    tone[i] = best >= 0 && bestV >= empty ? TONES[best]! : null;
    mixed[i] = bestV < 0.98 && bestV > 0.02;
  }
  const seen: Buckets["seen"] = [];
  for (const [t, l] of labels) seen.push({ tone: t, label: l ?? undefined });
  return { tone, mixed, seen };
}

/** The legend a bar shows: the builder's, or one per tone seen (its shared label, else its name). */
export function barLegend(bar: BarBlock, b: Buckets): { tone: Tone; label: string }[] {
  if (bar.legend && bar.legend.length) return bar.legend;
  return b.seen.map((s) => ({ tone: s.tone, label: s.label ?? s.tone }));
}

/** Column (0..n-1) of an absolute position on a bar drawn with n buckets. */
export function barCol(bar: BarBlock, at: number | bigint, n: number): number {
  const total = Number(bar.total);
  if (!(total > 0)) return 0;
  const c = Math.floor((rel(at, bar.base) / total) * n);
  return Math.max(0, Math.min(n - 1, c));
}

/** A bit field, with the bits no field names filled in as unnamed gaps (so the row is complete). */
export interface BitField {
  name: string;
  hi: number;
  lo: number;
  tone?: Tone;
  note?: string;
  gap?: boolean;
}

export function bitFields(b: BitsBlock): BitField[] {
  const fs = [...b.fields].sort((x, y) => y.hi - x.hi);
  const out: BitField[] = [];
  let next = b.width - 1;
  for (const f of fs) {
    if (f.hi < next) out.push({ name: "", hi: next, lo: f.hi + 1, gap: true });
    if (f.hi <= next) out.push(f);
    next = Math.min(next, f.lo - 1);
  }
  if (next >= 0) out.push({ name: "", hi: next, lo: 0, gap: true });
  return out;
}

export function fieldValue(v: bigint, f: { hi: number; lo: number }): bigint {
  const w = BigInt(f.hi - f.lo + 1);
  return (v >> BigInt(f.lo)) & ((1n << w) - 1n);
}

export function fieldBinary(v: bigint, f: { hi: number; lo: number }): string {
  return fieldValue(v, f)
    .toString(2)
    .padStart(f.hi - f.lo + 1, "0");
}

export function bitRange(f: { hi: number; lo: number }): string {
  return f.hi === f.lo ? String(f.hi) : `${f.hi}-${f.lo}`;
}

/** A tree flattened into lines with box-drawing prefixes; stops after `max` lines. */
export interface TreeLine {
  prefix: string;
  label: string;
  tone?: Tone;
}
export function treeLines(root: TreeNode, max: number = LIMITS.treeLines): { lines: TreeLine[]; omitted: number } {
  const lines: TreeLine[] = [];
  let omitted = 0;
  const walk = (node: TreeNode, prefix: string, childPrefix: string): void => {
    if (lines.length >= max) {
      omitted += countNodes(node);
      return;
    }
    const l: TreeLine = { prefix, label: node.label };
    if (node.tone) l.tone = node.tone;
    lines.push(l);
    const kids = node.children ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      walk(k, childPrefix + (last ? "└── " : "├── "), childPrefix + (last ? "    " : "│   "));
    });
  };
  walk(root, "", "");
  return { lines, omitted };
}

function countNodes(n: TreeNode): number {
  let c = 1;
  for (const k of n.children ?? []) c += countNodes(k);
  return c;
}

/** Average consecutive values down to at most `max` points (charts stay readable and bounded). */
export function downsample(values: number[], max: number): number[] {
  if (values.length <= max) return values;
  const out: number[] = [];
  const step = values.length / max;
  for (let i = 0; i < max; i++) {
    const a = Math.floor(i * step);
    const b = Math.max(a + 1, Math.floor((i + 1) * step));
    let s = 0;
    for (let j = a; j < b; j++) s += values[j]!;
    out.push(s / (b - a));
  }
  return out;
}

/** Block size of a free-list order: pageSize << order, printed "4 KiB", "8 KiB", … */
export function orderSize(pageSize: number, order: number): string {
  return fmtBytes(BigInt(pageSize) << BigInt(order));
}

/** Free-list heads, head first: "0x100, 0x200, … +5". */
export function headsText(heads: (number | bigint | string)[], more: number): string {
  const parts = heads.map((h) => (typeof h === "string" ? h : hex(h)));
  if (more > 0) parts.push(`… +${more}`);
  return parts.join(", ");
}

/** Labels on the right-hand side of a links block that more than one edge points to. */
export function sharedCounts(edges: [number, number][]): Map<number, number> {
  const m = new Map<number, number>();
  for (const [, r] of edges) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}
