/**
 * The notebook back end: a View as one self-contained HTML fragment with inline SVG.
 * Only inline `style` attributes: no <style>, no classes, no <script>, no external resources, because
 * nbconvert's HTML and GitHub's notebook viewer drop or sandbox those. Tables set their own
 * alignment, margins and borders inline so JupyterLab's output CSS (centred, right-aligned, striped
 * tables) does not restyle them. The container sets its own white background, so it stays readable
 * in a dark theme too. Output is bounded like the text back end (≤ 512 buckets per bar, LIMITS).
 */
import type { Block, Cell, Tone, View } from "./view";
import { cell } from "./view";
import { hex } from "../lib/units";
import {
  LIMITS,
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
  rel,
  sharedCounts,
  treeLines,
  type BarBlock,
  type BitsBlock,
} from "./common";

/** Fill colours (bars, boxes) per tone, for a light background. */
const FILL: Record<Tone, string> = {
  free: "#4ac26b",
  used: "#e5534b",
  reserved: "#afb8c1",
  kernel: "#c954a8",
  user: "#54aeff",
  pagetable: "#e3b341",
  slab: "#3cb4c4",
  highmem: "#a371f7",
  accent: "#0a7ea4",
  ok: "#2da44e",
  warn: "#d4a72c",
  error: "#cf222e",
  muted: "#d0d7de",
  plain: "#8c959f",
};

/** Text colours per tone: darker than FILL so they keep contrast on white. */
const INK: Record<Tone, string> = {
  free: "#1a7f37",
  used: "#c4432b",
  reserved: "#6e7781",
  kernel: "#a0287e",
  user: "#0969da",
  pagetable: "#9a6700",
  slab: "#1b7c83",
  highmem: "#8250df",
  accent: "#0a7ea4",
  ok: "#1a7f37",
  warn: "#9a6700",
  error: "#cf222e",
  muted: "#6e7781",
  plain: "#1f2328",
};

/** Line colours of chart series, in order (the first six are the classic ones; up to 12 distinct). */
const SERIES = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#e16f24", "#bf3989", "#57606a", "#4ac26b", "#54aeff", "#a371f7"];

const MONO = "ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace";
const SANS = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif";
/** Estimated advance of one monospace character at 12px; SVG layout cannot measure text. */
const CW = 7.3;
/** Widest SVG we draw; fits a Jupyter output area and scales down (viewBox) when narrower. */
const SVG_W = 760;
const BAR_BUCKETS = 512;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function span(text: string, style: string): string {
  return style ? `<span style="${style}">${esc(text)}</span>` : esc(text);
}

function toneStyle(tone?: Tone, bold?: boolean): string {
  return (tone && tone !== "plain" ? `color:${INK[tone]};` : "") + (bold ? "font-weight:600;" : "");
}

function cellHTML(c: Cell): string {
  return span(c.text, toneStyle(c.tone, c.bold));
}

function fmtNum(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function svg(w: number, h: number, body: string, label: string): string {
  const W = Math.ceil(w);
  const H = Math.ceil(h);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `role="img" aria-label="${esc(label)}" style="max-width:100%;height:auto;display:block;margin:4px 0" ` +
    `font-family="${esc(MONO)}" font-size="12" xml:space="preserve">${body}</svg>`
  );
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${fmtNum(x)}" y="${fmtNum(y)}"${attrs ? " " + attrs : ""}>${esc(s)}</text>`;
}

export function renderHTML(view: View): string {
  const parts = [
    `<div style="font-weight:600;font-size:15px;color:${INK.accent}">${esc(view.title)}</div>`,
  ];
  if (view.summary && view.summary !== view.title)
    parts.push(`<div style="color:${INK.muted};margin-bottom:4px">${esc(view.summary)}</div>`);
  for (const b of view.blocks) parts.push(block(b));
  return (
    `<div style="font-family:${SANS};font-size:13px;line-height:1.45;color:#1f2328;background:#ffffff;` +
    `padding:8px 12px;border:1px solid #d0d7de;border-radius:6px;overflow-x:auto;text-align:left">` +
    parts.join("") +
    `</div>`
  );
}

function block(b: Block): string {
  switch (b.kind) {
    case "heading": {
      const size = b.level === 1 ? 15 : b.level === 3 ? 13 : 14;
      const rule = b.level === 3 ? "" : "border-bottom:1px solid #d8dee4;";
      return `<div style="font-weight:600;font-size:${size}px;margin:10px 0 4px;${rule}">${esc(b.text)}</div>`;
    }
    case "text":
      return `<div style="margin:4px 0;${toneStyle(b.tone)}">${esc(b.text).replace(/\n/g, "<br>")}</div>`;
    case "kv":
      return kv(b);
    case "table":
      return table(b);
    case "bar":
      return bar(b);
    case "bits":
      return bits(b);
    case "walk":
      return walk(b);
    case "freelists":
      return freelists(b);
    case "tree": {
      const { lines, omitted } = treeLines(b.root);
      const body = lines.map((l) => span(l.prefix, `color:${INK.muted}`) + span(l.label, toneStyle(l.tone))).join("\n");
      const more = omitted ? "\n" + span(`… ${omitted} more nodes`, `color:${INK.muted}`) : "";
      return `<div style="font-family:${MONO};font-size:12px;white-space:pre;margin:4px 0">${body}${more}</div>`;
    }
    case "trace":
      return trace(b);
    case "chart":
      return chart(b);
    case "pre": {
      const lines = b.text.replace(/\n$/, "").split("\n");
      const shown = lines.slice(0, LIMITS.preLines).join("\n");
      const more = lines.length > LIMITS.preLines ? `\n… ${lines.length - LIMITS.preLines} more lines` : "";
      return (
        (b.title ? `<div style="font-weight:600;margin-top:6px">${esc(b.title)}</div>` : "") +
        `<pre style="font-family:${MONO};font-size:12px;background:#f6f8fa;color:#1f2328;padding:6px 8px;` +
        `margin:4px 0;border-radius:4px;overflow-x:auto;white-space:pre">${esc(shown + more)}</pre>`
      );
    }
    case "columns":
      return (
        `<div style="display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;margin:4px 0">` +
        b.columns.map((col) => `<div style="flex:1 1 0;min-width:260px">${col.map(block).join("")}</div>`).join("") +
        `</div>`
      );
    case "links":
      return links(b);
  }
}

const TABLE = "border-collapse:collapse;margin:4px 0;border:none;table-layout:auto;font-size:12px;width:auto";
function td(align: "l" | "r", extra = ""): string {
  return `padding:2px 10px 2px 0;border:none;background:transparent;vertical-align:top;text-align:${align === "r" ? "right" : "left"};${extra}`;
}
function th(align: "l" | "r"): string {
  return td(align, "font-weight:600;border-bottom:1px solid #d0d7de;");
}

function kv(b: Extract<Block, { kind: "kv" }>): string {
  const rows = b.items.map(
    (i) =>
      `<tr><td style="${td("l", `color:${INK.muted};`)}">${esc(i.label)}</td>` +
      `<td style="${td("l", `font-family:${MONO};`)}">${cellHTML(cell(i.value))}</td>` +
      `<td style="${td("l", `color:${INK.muted};`)}">${i.note ? esc(i.note) : ""}</td></tr>`,
  );
  return `<table style="${TABLE}"><tbody>${rows.join("")}</tbody></table>`;
}

function table(b: Extract<Block, { kind: "table" }>): string {
  const rows = b.rows.slice(0, LIMITS.tableRows);
  const omitted = (b.omitted ?? 0) + Math.max(0, b.rows.length - LIMITS.tableRows);
  const al = (c: number): "l" | "r" => b.align?.[c] ?? "l";
  const head = `<tr>${b.columns.map((h, c) => `<th style="${th(al(c))}">${esc(h)}</th>`).join("")}</tr>`;
  const body = rows
    .map(
      (r, i) =>
        `<tr style="background:${i % 2 ? "#f6f8fa" : "transparent"}">` +
        r.map((x, c) => `<td style="${td(al(c), `font-family:${MONO};`)}">${cellHTML(cell(x))}</td>`).join("") +
        `</tr>`,
    )
    .join("");
  const more = omitted > 0 ? `<div style="color:${INK.muted};font-size:12px">… ${omitted} more rows</div>` : "";
  const caption = b.caption ? `<div style="font-weight:600;margin-top:6px">${esc(b.caption)}</div>` : "";
  return `${caption}<table style="${TABLE}"><thead>${head}</thead><tbody>${body}</tbody></table>${more}`;
}

function legendHTML(items: { color: string; label: string }[]): string {
  if (!items.length) return "";
  const sw = (c: string): string =>
    `<span style="display:inline-block;width:10px;height:10px;background:${c};border-radius:2px;margin-right:4px;vertical-align:middle"></span>`;
  return (
    `<div style="font-size:12px;margin:2px 0 6px">` +
    items.map((i) => `<span style="margin-right:14px;white-space:nowrap">${sw(i.color)}${esc(i.label)}</span>`).join("") +
    `</div>`
  );
}

/** The bar as an SVG strip: bucketed to ≤ 512 columns, equal neighbours merged into one rect. */
function bar(b: BarBlock): string {
  const n = BAR_BUCKETS;
  const bk = bucketBar(b, n);
  const W = SVG_W;
  const top = 18;
  const H = 24;
  const u = W / n;
  let body = text(0, 12, fmtPos(b, b.base), `fill="${INK.muted}" font-size="11"`);
  body += text(W, 12, fmtPos(b, barEnd(b)), `fill="${INK.muted}" font-size="11" text-anchor="end"`);
  body += `<rect x="0" y="${top}" width="${W}" height="${H}" fill="#f6f8fa" stroke="#d0d7de"/>`;
  let i = 0;
  while (i < n) {
    const t = bk.tone[i] ?? null;
    const m = bk.mixed[i]!;
    let j = i + 1;
    while (j < n && bk.tone[j] === t && bk.mixed[j] === m) j++;
    if (t !== null)
      body +=
        `<rect x="${fmtNum(i * u)}" y="${top}" width="${fmtNum((j - i) * u)}" height="${H}" fill="${FILL[t]}"` +
        `${m ? ' fill-opacity="0.6"' : ""}><title>${esc(t)}</title></rect>`;
    i = j;
  }
  // Marks: a tick across the strip, labels below in staggered rows so they do not overlap.
  const total = Number(b.total);
  const marks = (b.marks ?? [])
    .slice(0, LIMITS.marks)
    .map((m) => ({ x: total > 0 ? Math.max(0, Math.min(W, (rel(m.at, b.base) / total) * W)) : 0, label: `${m.label} ${fmtPos(b, m.at)}` }))
    .sort((a, c) => a.x - c.x);
  const rowsEnd: number[] = [];
  let labels = "";
  for (const m of marks) {
    const w = m.label.length * CW * (11 / 12) + 8;
    const anchorEnd = m.x + w > W;
    const x0 = anchorEnd ? m.x - w : m.x;
    let r = rowsEnd.findIndex((e) => e <= x0);
    if (r < 0) {
      r = rowsEnd.length;
      rowsEnd.push(0);
    }
    rowsEnd[r] = x0 + w;
    const y = top + H + 16 + r * 14;
    body += `<line x1="${fmtNum(m.x)}" y1="${top - 3}" x2="${fmtNum(m.x)}" y2="${y - 10}" stroke="#57606a" stroke-width="1"/>`;
    labels += text(m.x + (anchorEnd ? -3 : 3), y, m.label, `font-size="11" fill="#1f2328"${anchorEnd ? ' text-anchor="end"' : ""}`);
  }
  const height = top + H + 6 + rowsEnd.length * 14 + (rowsEnd.length ? 6 : 0);
  const units = `${Number(b.total).toLocaleString("en-US")} ${b.unit}s`;
  const head = `<div style="margin-top:6px">${b.title ? `<b>${esc(b.title)}</b> ` : ""}<span style="color:${INK.muted}">${esc(units)}</span></div>`;
  const legend = legendHTML(barLegend(b, bk).map((l) => ({ color: FILL[l.tone], label: l.label })));
  return head + svg(W, height, body + labels, b.title ?? "memory bar") + legend;
}

/** Bits: one box per field holding its bits; bit range above, name and value (hex) inside. */
function bits(b: BitsBlock): string {
  const fields = bitFields(b);
  let x = 0;
  let row = 0;
  const rowH = 84;
  let body = "";
  let maxX = 0;
  for (const f of fields) {
    const bin = fieldBinary(b.value, f);
    const value = f.gap ? "" : hex(fieldValue(b.value, f));
    const w = Math.max(bin.length * 8.2, f.name.length * CW, value.length * CW, bitRange(f).length * CW) + 12;
    if (x > 0 && x + w > SVG_W) {
      x = 0;
      row++;
    }
    const y = row * rowH;
    const fill = f.gap ? "#f6f8fa" : FILL[f.tone ?? "accent"];
    const cx = x + w / 2;
    body +=
      text(cx, y + 11, bitRange(f), `font-size="10" fill="${INK.muted}" text-anchor="middle"`) +
      `<rect x="${fmtNum(x)}" y="${y + 16}" width="${fmtNum(w - 2)}" height="60" rx="3" fill="${fill}" fill-opacity="${f.gap ? 1 : 0.22}" stroke="${f.gap ? "#d0d7de" : fill}"/>` +
      text(cx - 1, y + 36, bin, `font-size="13" font-weight="600" text-anchor="middle" fill="${f.gap ? INK.muted : "#1f2328"}"`) +
      text(cx - 1, y + 53, f.name, `text-anchor="middle" fill="${INK[f.tone ?? "plain"]}"`) +
      text(cx - 1, y + 69, value, `text-anchor="middle" fill="${INK.muted}"`);
    x += w;
    maxX = Math.max(maxX, x);
  }
  const head = `<div style="margin-top:6px"><b>${esc(b.title ?? "value")}</b> = <code style="font-family:${MONO}">${esc(hex(b.value))}</code></div>`;
  const notes = b.fields
    .filter((f) => f.note)
    .map((f) => `<div style="font-size:12px"><span style="${toneStyle(f.tone, true)}">${esc(f.name)}</span>: ${esc(f.note!)}</div>`)
    .join("");
  return head + svg(maxX, (row + 1) * rowH - 4, body, b.title ?? "bit fields") + notes;
}

/** The walk: a ladder of boxes (level tag, then index, table, entry, flags), arrows between rungs. */
function walk(b: Extract<Block, { kind: "walk" }>): string {
  const rungs = b.steps.map((s) => ({
    s,
    main: `[${s.index}]  in ${s.table}  entry ${s.entry}`,
    flags: s.flags.length ? s.flags.join(" ") : "(none)",
  }));
  const tagW = Math.max(4, ...b.steps.map((s) => s.level.length)) * CW + 16;
  const mainChars = Math.max(b.result.text.length, ...rungs.map((r) => r.main.length + 2 + r.flags.length + (r.s.note ? 2 + r.s.note.length : 0)));
  const boxW = Math.min(SVG_W - tagW, mainChars * CW + 20);
  const rungH = 28;
  const step = rungH + 18;
  let body = "";
  rungs.forEach((r, i) => {
    const y = i * step;
    const tone = r.s.tone;
    const edge = tone ? FILL[tone] : "#8c959f";
    body +=
      `<rect x="0" y="${y}" width="${fmtNum(tagW - 4)}" height="${rungH}" rx="4" fill="${tone ? FILL[tone] : FILL.accent}"/>` +
      text((tagW - 4) / 2, y + 18, r.s.level, `text-anchor="middle" fill="#ffffff" font-weight="600"`) +
      `<rect x="${fmtNum(tagW)}" y="${y}" width="${fmtNum(boxW)}" height="${rungH}" rx="4" fill="#ffffff" stroke="${edge}"/>` +
      `<text x="${fmtNum(tagW + 10)}" y="${y + 18}">` +
      `<tspan fill="#1f2328">${esc(r.main)}</tspan>` +
      `<tspan fill="${tone ? INK[tone] : INK.muted}">  ${esc(r.flags)}</tspan>` +
      (r.s.note ? `<tspan fill="${INK.muted}">  ${esc(r.s.note)}</tspan>` : "") +
      `</text>`;
    const ax = tagW / 2 - 2;
    body +=
      `<line x1="${fmtNum(ax)}" y1="${y + rungH}" x2="${fmtNum(ax)}" y2="${y + step - 5}" stroke="#57606a"/>` +
      `<polygon points="${fmtNum(ax - 4)},${y + step - 6} ${fmtNum(ax + 4)},${y + step - 6} ${fmtNum(ax)},${y + step - 1}" fill="#57606a"/>`;
  });
  const y = rungs.length * step;
  const rt = b.result.tone;
  body +=
    `<rect x="0" y="${y}" width="${fmtNum(tagW + boxW)}" height="${rungH}" rx="4" fill="${FILL[rt]}" fill-opacity="0.18" stroke="${FILL[rt]}"/>` +
    text(10, y + 18, b.result.text, `font-weight="600" fill="${INK[rt]}"`);
  return svg(tagW + boxW + 2, y + rungH + 2, body, "page walk");
}

function freelists(b: Extract<Block, { kind: "freelists" }>): string {
  const head =
    `<tr><th style="${th("l")}"></th><th style="${th("r")}">order</th><th style="${th("r")}">size</th>` +
    `<th style="${th("r")}">nr_free</th><th style="${th("l")}">list (head first)</th></tr>`;
  const body = b.orders
    .map((o) => {
      const hl = !!o.highlight;
      const bg = hl ? "#fff8c5" : "transparent";
      const strong = hl ? "font-weight:600;" : "";
      return (
        `<tr style="background:${bg}">` +
        `<td style="${td("l", `color:${INK.accent};`)}">${hl ? "▶" : ""}</td>` +
        `<td style="${td("r", strong)}">${o.order}</td>` +
        `<td style="${td("r", strong)}">${esc(orderSize(b.pageSize, o.order))}</td>` +
        `<td style="${td("r", strong)}">${o.nr_free}</td>` +
        `<td style="${td("l", `font-family:${MONO};color:${o.nr_free > 0 ? INK.free : INK.muted};`)}">${esc(headsText(o.heads, o.more))}</td>` +
        `</tr>`
      );
    })
    .join("");
  const title = b.title ? `<div style="font-weight:600;margin-top:6px">${esc(b.title)}</div>` : "";
  const footer = b.footer ? `<div style="color:${INK.muted};font-size:12px">${esc(b.footer)}</div>` : "";
  return `${title}<table style="${TABLE}"><thead>${head}</thead><tbody>${body}</tbody></table>${footer}`;
}

function trace(b: Extract<Block, { kind: "trace" }>): string {
  const evs = b.events.slice(0, LIMITS.traceEvents);
  const omitted = (b.omitted ?? 0) + Math.max(0, b.events.length - LIMITS.traceEvents);
  const rows = evs.map(
    (e) =>
      `<div style="padding-left:${Math.min(e.depth ?? 0, 12) * 16}px;white-space:nowrap">` +
      `<code style="font-family:${MONO};color:${INK.accent};font-weight:600">${esc(e.fn)}()</code> ` +
      `<span style="color:${INK.muted};font-family:${MONO};font-size:11px">${esc(e.file)}</span> ` +
      `<span>${esc(e.text)}</span></div>`,
  );
  if (!evs.length) rows.push(`<div style="color:${INK.muted}">(no kernel events)</div>`);
  if (omitted > 0) rows.push(`<div style="color:${INK.muted}">… ${omitted} more events</div>`);
  return `<div style="font-size:12px;margin:4px 0;border-left:3px solid #d0d7de;padding-left:8px">${rows.join("")}</div>`;
}

/** Axis from a "nice" step (1, 2 or 5 × 10^k) so tick labels are round numbers that are true. */
function niceScale(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + step / 2; t += step) ticks.push(t);
  return { min, max, ticks };
}

/** A line chart: axes, five y ticks, one polyline per series (≤ LIMITS.chartPoints points each). */
function chart(b: Extract<Block, { kind: "chart" }>): string {
  const title = b.title ? `<div style="font-weight:600;margin-top:6px">${esc(b.title)}</div>` : "";
  const all = b.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  if (!all.length) return `${title}<div style="color:${INK.muted}">(no data)</div>`;
  const { min, max, ticks } = niceScale(Math.min(...all), Math.max(...all));
  const lab = (v: number): string => String(Number(v.toPrecision(6)));
  // a y label is drawn rotated in a 16px strip left of the tick labels
  const left = Math.max(...ticks.map((t) => lab(t).length)) * CW * (11 / 12) + 10 + (b.yLabel ? 16 : 0);
  const W = 640;
  const plotH = Math.max(100, Math.min(320, (b.height ?? 10) * 16));
  const top = 8;
  const maxLen = Math.max(...b.series.map((s) => s.values.length));
  // x values: given (ticks on a nice scale, points placed by value) or the sample index (0 and the last)
  const xs = b.x && b.x.length === maxLen && b.x.every((v) => Number.isFinite(v)) ? b.x : undefined;
  // room for the last x tick's label, centred on the plot's right edge
  const right = W - (xs ? 24 : 8);
  const bottom = top + plotH;
  const y = (v: number): number => bottom - ((v - min) / (max - min)) * plotH;
  let body = `<line x1="${fmtNum(left)}" y1="${top}" x2="${fmtNum(left)}" y2="${bottom}" stroke="#8c959f"/>`;
  body += `<line x1="${fmtNum(left)}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#8c959f"/>`;
  for (const t of ticks) {
    body += `<line x1="${fmtNum(left - 3)}" y1="${fmtNum(y(t))}" x2="${right}" y2="${fmtNum(y(t))}" stroke="#eaeef2"/>`;
    body += text(left - 5, y(t) + 4, lab(t), `font-size="11" fill="${INK.muted}" text-anchor="end"`);
  }
  const x0 = xs ? Math.min(...xs) : 0;
  const x1 = xs ? Math.max(...xs) : 0;
  const xPix = (v: number): number => (x1 > x0 ? left + ((v - x0) / (x1 - x0)) * (right - left) : left);
  if (xs) {
    const xt = niceScale(x0, x1).ticks.filter((t) => t >= x0 && t <= x1);
    for (const t of xt) {
      body += `<line x1="${fmtNum(xPix(t))}" y1="${bottom}" x2="${fmtNum(xPix(t))}" y2="${bottom + 4}" stroke="#8c959f"/>`;
      body += text(xPix(t), bottom + 14, lab(t), `font-size="11" fill="${INK.muted}" text-anchor="middle"`);
    }
  } else {
    body += text(left, bottom + 14, "0", `font-size="11" fill="${INK.muted}"`);
    body += text(right, bottom + 14, String(Math.max(0, maxLen - 1)), `font-size="11" fill="${INK.muted}" text-anchor="end"`);
  }
  if (b.xLabel) body += text((left + right) / 2, bottom + 26, b.xLabel, `font-size="11" fill="${INK.muted}" text-anchor="middle"`);
  if (b.yLabel) {
    const cy = (top + bottom) / 2;
    body += text(12, cy, b.yLabel, `font-size="11" fill="${INK.muted}" text-anchor="middle" transform="rotate(-90 12 ${fmtNum(cy)})"`);
  }
  const xsDown = xs ? downsample(xs, LIMITS.chartPoints) : undefined;
  b.series.forEach((s, i) => {
    const vals = downsample(s.values.map((v) => (Number.isFinite(v) ? v : 0)), LIMITS.chartPoints);
    if (!vals.length) return;
    const dx = vals.length > 1 ? (right - left) / (vals.length - 1) : 0;
    const px = (k: number): number => (xsDown && xsDown.length === vals.length ? xPix(xsDown[k]!) : left + k * dx);
    const pts = vals.map((v, k) => `${fmtNum(px(k))},${fmtNum(y(v))}`).join(" ");
    body += `<polyline points="${pts}" fill="none" stroke="${SERIES[i % SERIES.length]}" stroke-width="1.6"/>`;
  });
  const legend =
    b.series.length > 1 || b.series[0]?.name
      ? legendHTML(b.series.map((s, i) => ({ color: SERIES[i % SERIES.length]!, label: s.name })))
      : "";
  return title + svg(W, bottom + (b.xLabel ? 32 : 20), body, b.title ?? "chart") + legend;
}

/** Links: two columns of labels with a line per edge; bounded to the first LIMITS.links items. */
function links(b: Extract<Block, { kind: "links" }>): string {
  const cap = 100;
  const L = b.left.slice(0, cap);
  const R = b.right.slice(0, cap);
  const edges = b.edges.filter(([l, r]) => l < L.length && r < R.length).slice(0, LIMITS.links);
  const hidden = b.edges.length - edges.length;
  const lw = Math.min(32, Math.max(4, (b.leftTitle ?? "").length, ...L.map((l) => l.label.length))) * CW + 8;
  const rw = Math.min(32, Math.max(4, (b.rightTitle ?? "").length, ...R.map((r) => r.label.length))) * CW + 8;
  const gap = 150;
  const rowH = 20;
  const top = b.leftTitle || b.rightTitle ? 22 : 4;
  const rx = lw + gap;
  const yOf = (i: number): number => top + i * rowH + 10;
  const shared = sharedCounts(edges);
  let body = "";
  if (top > 4) {
    body += text(lw - 6, 14, b.leftTitle ?? "", `font-weight="600" text-anchor="end" fill="#1f2328"`);
    body += text(rx + 6, 14, b.rightTitle ?? "", `font-weight="600" fill="#1f2328"`);
  }
  for (const [l, r] of edges) {
    const lt = L[l]!.tone;
    const c = (shared.get(r) ?? 0) > 1 ? FILL.warn : lt ? FILL[lt] : "#8c959f";
    body += `<line x1="${lw}" y1="${yOf(l)}" x2="${rx}" y2="${yOf(r)}" stroke="${c}" stroke-width="1.4"/>`;
  }
  L.forEach((l, i) => {
    body += `<circle cx="${lw}" cy="${yOf(i)}" r="2.5" fill="#57606a"/>`;
    body += text(lw - 6, yOf(i) + 4, l.label, `text-anchor="end" fill="${INK[l.tone ?? "plain"]}"`);
  });
  R.forEach((r, i) => {
    body += `<circle cx="${rx}" cy="${yOf(i)}" r="2.5" fill="#57606a"/>`;
    body += text(rx + 6, yOf(i) + 4, r.label, `fill="${INK[r.tone ?? "plain"]}"`);
  });
  const h = top + Math.max(L.length, R.length, 1) * rowH + 4;
  const more =
    b.left.length > cap || b.right.length > cap || hidden > 0
      ? `<div style="color:${INK.muted};font-size:12px">… ${Math.max(0, b.left.length - cap)} more left, ${Math.max(0, b.right.length - cap)} more right, ${hidden} more links</div>`
      : "";
  return svg(rx + rw, h, body, "links") + more;
}
