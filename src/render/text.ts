/**
 * The terminal back end: a View as lines of text, ANSI-coloured by tone or plain.
 * Layout is computed on the plain text and colour is applied last, so alignment never counts escape
 * codes. Every block is bounded by the terminal width and the caps in LIMITS.
 */
import * as asciichart from "asciichart";
import type { Block, Cell, Tone, View } from "./view";
import { cell } from "./view";
import { hex } from "../lib/units";
import {
  LIMITS,
  barCol,
  barEnd,
  barLegend,
  bitFields,
  bitRange,
  bucketBar,
  downsample,
  fieldBinary,
  fieldValue,
  fmtPos,
  headsText,
  orderSize,
  sharedCounts,
  treeLines,
  type BarBlock,
  type BitsBlock,
} from "./common";

export interface TextOptions {
  /** ANSI colours (default false: plain text, no escape codes at all) */
  color?: boolean;
  /** node's options.stylize; used for colour only when `color` is not set (it maps to node's styles) */
  stylize?(s: string, styleType: string): string;
  /** terminal width in columns (default 100) */
  width?: number;
  /** only the summary line */
  short?: boolean;
}

/** SGR parameters per tone. 256-colour only for highmem's purple; everything else is the basic 16. */
const ANSI: Record<Tone, string> = {
  free: "32",
  used: "31",
  reserved: "90",
  kernel: "35",
  user: "34",
  pagetable: "33",
  slab: "36",
  highmem: "38;5;135",
  accent: "1;36",
  ok: "32",
  warn: "33",
  error: "31",
  muted: "2",
  plain: "",
};

/** Nearest node inspect style per tone, for when only `stylize` is given. */
const STYLE: Record<Tone, string> = {
  free: "string",
  used: "regexp",
  reserved: "undefined",
  kernel: "date",
  user: "module",
  pagetable: "number",
  slab: "special",
  highmem: "date",
  accent: "special",
  ok: "string",
  warn: "number",
  error: "regexp",
  muted: "undefined",
  plain: "name",
};

/** One glyph per tone for plain-text bars (colour mode draws blocks and lets colour speak). */
const GLYPH: Record<Tone, string> = {
  free: ".",
  used: "#",
  reserved: "R",
  kernel: "K",
  user: "U",
  pagetable: "P",
  slab: "S",
  highmem: "H",
  accent: "*",
  ok: "+",
  warn: "!",
  error: "X",
  muted: "~",
  plain: "o",
};

type Paint = (s: string, tone?: Tone, bold?: boolean) => string;

interface Ctx {
  color: boolean;
  paint: Paint;
  width: number;
}

const ANSI_RE = /\x1b\[[0-9;]*m/g;

/** Printed width: escape codes take no columns (all glyphs we emit are one column wide). */
export function visibleLength(s: string): number {
  return s.replace(ANSI_RE, "").length;
}

function padR(s: string, w: number): string {
  const v = visibleLength(s);
  return v >= w ? s : s + " ".repeat(w - v);
}
function padL(s: string, w: number): string {
  const v = visibleLength(s);
  return v >= w ? s : " ".repeat(w - v) + s;
}
function clip(s: string, w: number): string {
  return s.length > w ? s.slice(0, Math.max(0, w - 1)) + "…" : s;
}

function makePaint(opts: TextOptions): Paint {
  if (opts.color) {
    return (s, tone, bold) => {
      const t = tone ? ANSI[tone] : "";
      const codes = bold && !t.startsWith("1") ? (t ? `1;${t}` : "1") : t;
      return s && codes ? `\x1b[${codes}m${s}\x1b[0m` : s;
    };
  }
  if (opts.color === undefined && opts.stylize) {
    const o = opts;
    return (s, tone) => (s && tone && tone !== "plain" ? o.stylize!(s, STYLE[tone]) : s);
  }
  return (s) => s;
}

export function renderText(view: View, opts: TextOptions = {}): string {
  if (opts.short) return view.summary;
  const ctx: Ctx = {
    color: !!opts.color,
    paint: makePaint(opts),
    width: Math.max(40, Math.floor(opts.width ?? 100)),
  };
  const out: string[] = [ctx.paint(view.title, "accent", true)];
  if (view.summary && view.summary !== view.title) out.push(ctx.paint(view.summary, "muted"));
  for (const b of view.blocks) {
    out.push("");
    out.push(...renderBlock(b, ctx));
  }
  return out.map(trimEndVisible).join("\n");
}

/** Drop trailing spaces even when they sit inside a colour span (padding of a last column). */
function trimEndVisible(line: string): string {
  let prev;
  do {
    prev = line;
    line = line.replace(/ +((?:\x1b\[[0-9;]*m)*)$/, "$1");
  } while (line !== prev);
  return line;
}

/** One block as lines (no trailing newline); the columns block recurses through here. */
function renderBlock(b: Block, ctx: Ctx): string[] {
  switch (b.kind) {
    case "heading":
      return heading(b.text, b.level ?? 2, ctx);
    case "text":
      return wrap(b.text, ctx.width).map((l) => ctx.paint(l, b.tone));
    case "kv":
      return kv(b, ctx);
    case "table":
      return table(b, ctx);
    case "bar":
      return bar(b, ctx);
    case "bits":
      return bits(b, ctx);
    case "walk":
      return walk(b, ctx);
    case "freelists":
      return freelists(b, ctx);
    case "tree": {
      const { lines, omitted } = treeLines(b.root);
      const out = lines.map((l) => ctx.paint(l.prefix, "muted") + ctx.paint(l.label, l.tone));
      if (omitted) out.push(ctx.paint(`… ${omitted} more nodes`, "muted"));
      return out;
    }
    case "trace":
      return trace(b, ctx);
    case "chart":
      return chart(b, ctx);
    case "pre":
      return pre(b, ctx);
    case "columns":
      return columns(b, ctx);
    case "links":
      return links(b, ctx);
  }
}

function heading(text: string, level: number, ctx: Ctx): string[] {
  if (level === 1) return [ctx.paint(text, "accent", true), ctx.paint("═".repeat(Math.min(text.length, ctx.width)), "muted")];
  if (level === 2) return [ctx.paint(text, "plain", true), ctx.paint("─".repeat(Math.min(text.length, ctx.width)), "muted")];
  return [ctx.paint(text, "accent")];
}

/** Greedy word wrap that keeps existing line breaks. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out;
}

function paintCell(c: Cell, ctx: Ctx, text = c.text): string {
  return ctx.paint(text, c.tone, c.bold);
}

function kv(b: Extract<Block, { kind: "kv" }>, ctx: Ctx): string[] {
  const lw = Math.min(Math.max(0, ...b.items.map((i) => i.label.length)), 32);
  const cells = b.items.map((i) => cell(i.value));
  const vw = Math.min(Math.max(0, ...cells.map((c) => c.text.length)), 48);
  return b.items.map((it, k) => {
    const c = cells[k]!;
    const note = it.note ? "  " + ctx.paint(it.note, "muted") : "";
    const value = it.note ? padR(paintCell(c, ctx), vw) : paintCell(c, ctx);
    return `${ctx.paint(padR(it.label, lw), "muted")}  ${value}${note}`;
  });
}

function table(b: Extract<Block, { kind: "table" }>, ctx: Ctx): string[] {
  const rows = b.rows.slice(0, LIMITS.tableRows).map((r) => r.map(cell));
  const omitted = (b.omitted ?? 0) + Math.max(0, b.rows.length - LIMITS.tableRows);
  const ncol = Math.max(b.columns.length, ...rows.map((r) => r.length));
  const maxCell = 60;
  const w: number[] = [];
  for (let c = 0; c < ncol; c++) {
    let m = (b.columns[c] ?? "").length;
    for (const r of rows) m = Math.max(m, Math.min(maxCell, (r[c]?.text ?? "").length));
    w.push(m);
  }
  const align = (c: number): "l" | "r" => b.align?.[c] ?? "l";
  const fit = (s: string, c: number): string => (align(c) === "r" ? padL(s, w[c]!) : padR(s, w[c]!));
  const out: string[] = [];
  if (b.caption) out.push(ctx.paint(b.caption, "plain", true));
  out.push(
    b.columns
      .map((h, c) => ctx.paint(fit(h, c), "plain", true))
      .join("  ")
      .trimEnd(),
  );
  out.push(ctx.paint(w.map((x) => "─".repeat(x)).join("  "), "muted"));
  for (const r of rows) {
    const parts: string[] = [];
    for (let c = 0; c < ncol; c++) {
      const x = r[c] ?? { text: "" };
      parts.push(paintCell(x, ctx, fit(clip(x.text, maxCell), c)));
    }
    out.push(parts.join("  ").trimEnd());
  }
  if (omitted > 0) out.push(ctx.paint(`… ${omitted} more rows`, "muted"));
  return out;
}

function bar(b: BarBlock, ctx: Ctx): string[] {
  const n = ctx.width - 2;
  const bk = bucketBar(b, n);
  const out: string[] = [];
  const units = `${Number(b.total).toLocaleString("en-US")} ${b.unit}s`;
  out.push(b.title ? `${ctx.paint(b.title, "plain", true)}  ${ctx.paint(units, "muted")}` : ctx.paint(units, "muted"));
  const lo = fmtPos(b, b.base);
  const hi = fmtPos(b, barEnd(b));
  out.push(ctx.paint(lo + " ".repeat(Math.max(1, ctx.width - lo.length - hi.length)) + hi, "muted"));
  // Runs of equal (tone, mixed) are painted as one escape sequence to keep the output small.
  let strip = "";
  let i = 0;
  while (i < n) {
    const t = bk.tone[i] ?? null;
    const m = bk.mixed[i]!;
    let j = i + 1;
    while (j < n && bk.tone[j] === t && bk.mixed[j] === m) j++;
    const g = t === null ? " " : ctx.color ? (m ? "▓" : "█") : GLYPH[t];
    strip += t === null ? g.repeat(j - i) : ctx.paint(g.repeat(j - i), t);
    i = j;
  }
  out.push(ctx.paint("▕", "muted") + strip + ctx.paint("▏", "muted"));
  out.push(...barMarks(b, n, ctx));
  const legend = barLegend(b, bk).map(
    (l) => `${ctx.paint(ctx.color ? "█" : GLYPH[l.tone], l.tone)} ${l.label}`,
  );
  if (legend.length) out.push(...wrapParts(legend, "  ", ctx.width));
  return out;
}

/** A tick row under the strip, then labels in as few rows as fit without overlapping. */
function barMarks(b: BarBlock, n: number, ctx: Ctx): string[] {
  const marks = (b.marks ?? []).slice(0, LIMITS.marks);
  if (!marks.length) return [];
  const placed = marks
    .map((m) => ({ col: 1 + barCol(b, m.at, n), text: `${m.label} ${fmtPos(b, m.at)}` }))
    .sort((x, y) => x.col - y.col);
  const ticks = Array<string>(ctx.width).fill(" ");
  for (const p of placed) ticks[p.col] = "^";
  const rows: { end: number; text: string }[] = [];
  for (const p of placed) {
    const start = Math.max(0, Math.min(p.col, ctx.width - p.text.length));
    let row = rows.find((r) => r.end < start);
    if (!row) {
      row = { end: -1, text: "" };
      rows.push(row);
    }
    row.text = padR(row.text, start) + p.text;
    row.end = start + p.text.length;
  }
  return [ctx.paint(ticks.join("").trimEnd(), "accent"), ...rows.map((r) => r.text)];
}

/** Join pieces with a separator, breaking lines at `width` visible columns. */
function wrapParts(parts: string[], sep: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const p of parts) {
    if (line && visibleLength(line) + sep.length + visibleLength(p) > width) {
      out.push(line);
      line = p;
    } else line = line ? line + sep + p : p;
  }
  if (line) out.push(line);
  return out;
}

/**
 * Bits: the binary value grouped by field, with the bit range above and the field name and its value
 * (hex) below. Fields wider than the terminal row wrap onto another group of lines.
 */
function bits(b: BitsBlock, ctx: Ctx): string[] {
  const out: string[] = [];
  const head = `${b.title ?? "value"} = ${hex(b.value)}`;
  out.push(ctx.paint(head, "plain", true));
  const cols = bitFields(b).map((f) => {
    const value = hex(fieldValue(b.value, f));
    const bin = fieldBinary(b.value, f);
    const w = Math.max(bin.length, f.name.length, value.length, bitRange(f).length);
    return { f, bin, value, w };
  });
  let row: typeof cols = [];
  let used = 0;
  const flush = (): void => {
    if (!row.length) return;
    const line = (get: (c: (typeof cols)[number]) => string, tone?: (c: (typeof cols)[number]) => Tone | undefined): string =>
      row
        .map((c) => ctx.paint(padR(get(c), c.w), tone?.(c)))
        .join(" ")
        .trimEnd();
    out.push(line((c) => bitRange(c.f), () => "muted"));
    out.push(line((c) => c.bin, (c) => (c.f.gap ? "muted" : (c.f.tone ?? "accent"))));
    out.push(line((c) => c.f.name, (c) => c.f.tone));
    out.push(line((c) => (c.f.gap ? "" : c.value), () => "muted"));
    row = [];
    used = 0;
  };
  for (const c of cols) {
    if (row.length && used + 1 + c.w > ctx.width) flush();
    row.push(c);
    used += (row.length > 1 ? 1 : 0) + c.w;
  }
  flush();
  for (const f of b.fields) if (f.note) out.push(`${ctx.paint(f.name, f.tone)}: ${f.note}`);
  return out;
}

/** The page walk as a ladder: one rung per level, joined by │, ending in ▼ and the result. */
function walk(b: Extract<Block, { kind: "walk" }>, ctx: Ctx): string[] {
  const rows = b.steps.map((s) => ({
    s,
    level: s.level,
    index: `[${s.index}]`,
    table: `in ${s.table}`,
    entry: s.entry,
    flags: s.flags.length ? s.flags.join(" ") : "(none)",
  }));
  const w = (k: "level" | "index" | "table" | "entry"): number => Math.max(0, ...rows.map((r) => r[k].length));
  const [wl, wi, wt, we] = [w("level"), w("index"), w("table"), w("entry")];
  const out: string[] = [];
  for (const r of rows) {
    const tone = r.s.tone;
    const note = r.s.note ? "  " + ctx.paint(r.s.note, "muted") : "";
    out.push(
      [
        ctx.paint(padR(r.level, wl), tone ?? "accent", true),
        padL(r.index, wi),
        ctx.paint(padR(r.table, wt), "muted"),
        ctx.paint(padR(r.entry, we), tone),
        ctx.paint(r.flags, tone ?? "muted"),
      ].join("  ") + note,
    );
    out.push(ctx.paint("  │", "muted"));
  }
  out.push(ctx.paint("  ▼ ", "muted") + ctx.paint(b.result.text, b.result.tone, true));
  return out;
}

function freelists(b: Extract<Block, { kind: "freelists" }>, ctx: Ctx): string[] {
  const rows = b.orders.map((o) => ({
    o,
    order: String(o.order),
    size: orderSize(b.pageSize, o.order),
    nr: String(o.nr_free),
    list: headsText(o.heads, o.more),
  }));
  const w = {
    order: Math.max(5, ...rows.map((r) => r.order.length)),
    size: Math.max(4, ...rows.map((r) => r.size.length)),
    nr: Math.max(7, ...rows.map((r) => r.nr.length)),
  };
  const out: string[] = [];
  if (b.title) out.push(ctx.paint(b.title, "plain", true));
  const listW = Math.max(10, ctx.width - (2 + w.order + w.size + w.nr + 6));
  out.push(ctx.paint(`  ${padL("order", w.order)}  ${padL("size", w.size)}  ${padL("nr_free", w.nr)}  list (head first)`, "plain", true));
  for (const r of rows) {
    const hl = !!r.o.highlight;
    const text = `${padL(r.order, w.order)}  ${padL(r.size, w.size)}  ${padL(r.nr, w.nr)}`;
    const list = r.list ? "  " + ctx.paint(clip(r.list, listW), r.o.nr_free > 0 ? "free" : "muted") : "";
    out.push((hl ? ctx.paint("▶ ", "accent") : "  ") + ctx.paint(text, hl ? "accent" : undefined, hl) + list);
  }
  if (b.footer) out.push(ctx.paint(b.footer, "muted"));
  return out;
}

function trace(b: Extract<Block, { kind: "trace" }>, ctx: Ctx): string[] {
  const evs = b.events.slice(0, LIMITS.traceEvents);
  const omitted = (b.omitted ?? 0) + Math.max(0, b.events.length - LIMITS.traceEvents);
  const heads = evs.map((e) => "  ".repeat(Math.min(e.depth ?? 0, 12)) + e.fn + "()");
  const hw = Math.min(36, Math.max(0, ...heads.map((h) => h.length)));
  const fw = Math.min(24, Math.max(0, ...evs.map((e) => e.file.length)));
  const out = evs.map((e, i) => {
    const h = heads[i]!;
    const ind = h.length - e.fn.length - 2;
    const fn = " ".repeat(ind) + ctx.paint(e.fn + "()", "accent");
    return `${padR(fn, hw)}  ${ctx.paint(padR(e.file, fw), "muted")}  ${e.text}`.trimEnd();
  });
  if (!evs.length) out.push(ctx.paint("(no kernel events)", "muted"));
  if (omitted > 0) out.push(ctx.paint(`… ${omitted} more events`, "muted"));
  return out;
}

const CHART_COLORS = [
  asciichart.cyan,
  asciichart.magenta,
  asciichart.green,
  asciichart.yellow,
  asciichart.blue,
  asciichart.red,
  asciichart.lightcyan,
  asciichart.lightmagenta,
  asciichart.lightgreen,
  asciichart.lightyellow,
  asciichart.lightblue,
  asciichart.lightred,
];

function chart(b: Extract<Block, { kind: "chart" }>, ctx: Ctx): string[] {
  const out: string[] = [];
  if (b.title) out.push(ctx.paint(b.title, "plain", true));
  const all = b.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  if (!all.length) return [...out, ctx.paint("(no data)", "muted")];
  const ints = all.every((v) => Number.isInteger(v));
  // asciichart labels rows at fractional values; print them as they are, never rounded to a lie
  const label = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(ints ? 1 : 2));
  const lw = Math.max(...all.map((v) => label(v).length)) + (ints ? 3 : 1);
  const points = Math.max(2, ctx.width - lw - 3);
  let series = b.series.map((s) => downsample(s.values.map((v) => (Number.isFinite(v) ? v : 0)), points));
  // sampled data (x given) with few samples: widen each sample to up to 4 columns so the plot is readable
  const n = Math.max(0, ...series.map((s) => s.length));
  const widen = b.x && n > 1 ? Math.max(1, Math.min(4, Math.floor(points / n))) : 1;
  if (widen > 1) series = series.map((s) => s.flatMap((v, i) => (i === s.length - 1 ? [v] : Array<number>(widen).fill(v))));
  const min = Math.min(...all);
  const max = Math.max(...all);
  const cfg: asciichart.PlotConfig = {
    height: Math.max(2, Math.min(b.height ?? 10, 40)),
    format: (x) => padL(label(x), lw),
  };
  if (ctx.color) cfg.colors = series.map((_, i) => CHART_COLORS[i % CHART_COLORS.length]);
  if (min === max) {
    cfg.min = min - 1;
    cfg.max = max + 1;
  }
  const plot = asciichart.plot(series.length === 1 ? series[0]! : series, cfg).split("\n");
  if (b.yLabel) out.push(ctx.paint(`${" ".repeat(lw + 1)}↑ ${b.yLabel}`, "muted"));
  out.push(...plot.map((l) => l.trimEnd()));
  // the x label sits under the right end of the plot, not of the terminal
  const plotW = Math.max(...plot.map(visibleLength));
  const xs = b.x?.filter((v) => Number.isFinite(v)) ?? [];
  if (xs.length) {
    // the x range under the plot: first sample's x under the axis, last one's under the plot's end
    const x0 = `${" ".repeat(lw + 1)}${xs[0]}`;
    const x1 = String(xs[xs.length - 1]);
    out.push(ctx.paint(xs.length > 1 ? x0 + padL(x1, Math.max(1 + x1.length, plotW - x0.length)) : x0, "muted"));
  }
  if (b.xLabel) out.push(padL(ctx.paint(`${b.xLabel} →`, "muted"), Math.max(plotW, b.xLabel.length + 2)));
  if (b.series.length > 1 || b.series[0]?.name) {
    const parts = b.series.map((s, i) => {
      const sw = ctx.color ? `${CHART_COLORS[i % CHART_COLORS.length]}──${asciichart.reset}` : "──";
      return `${sw} ${s.name}`;
    });
    out.push(...wrapParts(parts, "   ", ctx.width));
  }
  return out;
}

function pre(b: Extract<Block, { kind: "pre" }>, ctx: Ctx): string[] {
  const lines = b.text.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  if (b.title) out.push(ctx.paint(b.title, "plain", true));
  out.push(...lines.slice(0, LIMITS.preLines));
  if (lines.length > LIMITS.preLines) out.push(ctx.paint(`… ${lines.length - LIMITS.preLines} more lines`, "muted"));
  return out;
}

/** Side by side: each column rendered at its share of the width, then zipped line by line. */
function columns(b: Extract<Block, { kind: "columns" }>, ctx: Ctx): string[] {
  const n = Math.max(1, b.columns.length);
  const gap = "   ";
  const share = Math.max(20, Math.floor((ctx.width - gap.length * (n - 1)) / n));
  const rendered = b.columns.map((blocks) => {
    const sub: Ctx = { ...ctx, width: share };
    const lines: string[] = [];
    blocks.forEach((blk, i) => {
      if (i) lines.push("");
      lines.push(...renderBlock(blk, sub));
    });
    return lines;
  });
  const widths = rendered.map((ls) => Math.max(0, ...ls.map(visibleLength)));
  const h = Math.max(0, ...rendered.map((ls) => ls.length));
  const out: string[] = [];
  for (let i = 0; i < h; i++) {
    out.push(
      rendered
        .map((ls, c) => padR(ls[i] ?? "", widths[c]!))
        .join(gap)
        .trimEnd(),
    );
  }
  return out;
}

/** One line per edge, left label ──▶ right label; shared targets say how many point at them. */
function links(b: Extract<Block, { kind: "links" }>, ctx: Ctx): string[] {
  const out: string[] = [];
  const shown = b.edges.slice(0, LIMITS.links);
  const linked = new Set(b.edges.map(([l]) => l));
  const lonely = b.left.map((_, i) => i).filter((i) => !linked.has(i));
  const lw = Math.min(40, Math.max((b.leftTitle ?? "").length, ...b.left.map((l) => l.label.length)));
  const shared = sharedCounts(b.edges);
  const arrow = " ──▶ ";
  if (b.leftTitle || b.rightTitle)
    out.push(ctx.paint(padR(b.leftTitle ?? "", lw) + " ".repeat(arrow.length) + (b.rightTitle ?? ""), "plain", true));
  const rows = [...shown].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  for (const [li, ri] of rows) {
    const l = b.left[li];
    const r = b.right[ri];
    if (!l || !r) continue;
    const k = shared.get(ri) ?? 0;
    const note = k > 1 ? ctx.paint(`  (shared ×${k})`, "warn") : "";
    out.push(ctx.paint(padR(clip(l.label, lw), lw), l.tone) + ctx.paint(arrow, "muted") + ctx.paint(r.label, r.tone) + note);
  }
  for (const li of lonely.slice(0, Math.max(0, LIMITS.links - shown.length))) {
    const l = b.left[li]!;
    out.push(ctx.paint(padR(clip(l.label, lw), lw), l.tone) + ctx.paint("  ╳  (not linked)", "muted"));
  }
  const more = b.edges.length - shown.length + Math.max(0, lonely.length - Math.max(0, LIMITS.links - shown.length));
  if (more > 0) out.push(ctx.paint(`… ${more} more`, "muted"));
  return out;
}
