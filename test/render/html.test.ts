import { describe, expect, test } from "vitest";
import { renderHTML } from "../../src/render/html";
import { renderText } from "../../src/render/text";
import type { Block, View } from "../../src/render/view";
import { blocks, hugeBar, viewOf } from "./fixtures";

const VOID = new Set(["br", "hr", "img", "input", "meta", "link", "col", "wbr"]);

/** Every opened tag is closed in order (self-closing SVG elements and HTML void elements aside). */
function assertBalanced(html: string): void {
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    const tag = name!.toLowerCase();
    if (self || VOID.has(tag)) continue;
    if (close) expect(stack.pop(), `closing </${tag}>`).toBe(tag);
    else stack.push(tag);
  }
  expect(stack).toEqual([]);
}

describe("renderHTML", () => {
  test.each(Object.entries(blocks))("%s: balanced, self-contained, inline styles only", (_kind, b) => {
    const html = renderHTML(viewOf(b));
    assertBalanced(html);
    expect(html).not.toMatch(/<script|<style|<link|class=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
    expect(html.startsWith("<div style=")).toBe(true);
  });

  test("the blocks that draw, draw SVG", () => {
    for (const k of ["bar", "chart", "links", "walk", "bits"] as const) {
      expect(renderHTML(viewOf(blocks[k]))).toMatch(/<svg [^>]*viewBox=/);
    }
  });

  test("all text is escaped", () => {
    const evil = `<script>alert("x")</script> & 'q'`;
    const b: Block[] = [
      { kind: "heading", text: evil },
      { kind: "text", text: evil },
      { kind: "kv", items: [{ label: evil, value: evil, note: evil }] },
      { kind: "table", columns: [evil], rows: [[{ text: evil, tone: "error" }]], caption: evil },
      { kind: "pre", text: evil, title: evil },
      { kind: "tree", root: { label: evil, children: [{ label: evil }] } },
      { kind: "trace", events: [{ fn: evil, file: evil, text: evil }] },
      { kind: "links", left: [{ label: evil }], right: [{ label: evil }], edges: [[0, 0]], leftTitle: evil },
      { kind: "bar", base: 0, total: 4, unit: "page", segments: [{ start: 0, len: 1, tone: "used", label: evil }], marks: [{ at: 1, label: evil }], title: evil },
      { kind: "walk", steps: [{ level: evil, table: evil, index: 0, entry: evil, flags: [evil], note: evil }], result: { text: evil, tone: "ok" } },
      { kind: "bits", width: 8, value: 5n, fields: [{ name: evil, hi: 7, lo: 0, note: evil }], title: evil },
      { kind: "chart", series: [{ name: evil, values: [1, 2] }], title: evil, xLabel: evil },
      { kind: "freelists", pageSize: 4096, orders: [{ order: 0, nr_free: 0, heads: [], more: 0 }], title: evil, footer: evil },
    ];
    const html = renderHTML({ title: evil, summary: evil, blocks: b });
    expect(html).not.toContain("<script");
    expect(html).not.toContain(`"x"`);
    expect(html).toContain("&#60;script&#62;");
    assertBalanced(html);
  });

  test("a bar with 1,000,000 segments stays small: ≤ 512 rects plus the frame", () => {
    const html = renderHTML(viewOf(hugeBar(1_000_000)));
    expect((html.match(/<rect /g) ?? []).length).toBeLessThanOrEqual(513);
    expect(html.length).toBeLessThan(100_000);
    assertBalanced(html);
  });

  test("tables keep `omitted`, and cap rows", () => {
    expect(renderHTML(viewOf(blocks.table))).toContain("… 12 more rows");
    const rows = Array.from({ length: 5000 }, (_, i) => [i]);
    const html = renderHTML(viewOf({ kind: "table", columns: ["n"], rows }));
    expect((html.match(/<tr/g) ?? []).length).toBe(501);
    expect(html).toContain("… 4500 more rows");
  });

  test("a chart with 100,000 points draws at most 400 per series", () => {
    const values = Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 1000));
    const html = renderHTML(viewOf({ kind: "chart", series: [{ name: "sin", values }] }));
    const pts = /<polyline points="([^"]*)"/.exec(html)![1]!.split(" ");
    expect(pts.length).toBe(400);
  });

  test("a whole view: title, summary, then blocks in order", () => {
    const v: View = { title: "kmalloc(128 KiB)", summary: "order-5 block at PFN 0x1000", blocks: [blocks.kv, blocks.trace] };
    const html = renderHTML(v);
    expect(html.indexOf("kmalloc(128 KiB)")).toBeLessThan(html.indexOf("order-5 block"));
    expect(html.indexOf("pfn")).toBeLessThan(html.indexOf("alloc_pages()"));
  });
});

describe("empty and degenerate blocks render in both back ends", () => {
  const empty: Block[] = [
    { kind: "kv", items: [] },
    { kind: "table", columns: [], rows: [] },
    { kind: "bar", base: 0, total: 0, unit: "page", segments: [] },
    { kind: "bits", width: 0, value: 0n, fields: [] },
    { kind: "walk", steps: [], result: { text: "CR3 not loaded", tone: "error" } },
    { kind: "freelists", pageSize: 4096, orders: [] },
    { kind: "tree", root: { label: "root" } },
    { kind: "trace", events: [] },
    { kind: "chart", series: [] },
    { kind: "chart", series: [{ name: "flat", values: [3, 3, 3] }] },
    { kind: "pre", text: "" },
    { kind: "columns", columns: [] },
    { kind: "links", left: [], right: [], edges: [] },
  ];
  test.each(empty.map((b, i) => [i, b.kind, b] as const))("#%i %s", (_i, _k, b) => {
    assertBalanced(renderHTML(viewOf(b)));
    expect(typeof renderText(viewOf(b), { color: true })).toBe("string");
  });
});
