/** The chart block's sampled form: x values (workload steps) and a y label, in both back ends. */
import { describe, expect, test } from "vitest";
import { renderHTML } from "../../src/render/html";
import { renderText } from "../../src/render/text";
import type { Block } from "../../src/render/view";
import { viewOf } from "./fixtures";

const sampled: Block = {
  kind: "chart",
  title: "free blocks per order",
  series: [
    { name: "order 0", values: [0, 2, 1, 3] },
    { name: "order 1", values: [4, 3, 3, 1] },
  ],
  x: [0, 100, 200, 250],
  xLabel: "step",
  yLabel: "free blocks",
  height: 4,
};

describe("chart with x values and a y label", () => {
  test("text: y label above the axis, x range under it, samples widened to 4 columns", () => {
    expect(renderText(viewOf(sampled), { width: 60 })).toMatchInlineSnapshot(`
      "a chart
      chart summary

      free blocks per order
           ↑ free blocks
         4 ┼───╮
         3 ┤   ╰───────╮
         2 ┤   ╭───╮   │
         1 ┤   │   ╰───╰
         0 ┼───╯
           0          250
                   step →
      ── order 0   ── order 1"
    `);
  });

  test("text: without x, the output is the classic one (no widening, no x range)", () => {
    const { x: _x, yLabel: _y, ...classic } = sampled as Extract<Block, { kind: "chart" }>;
    const t = renderText(viewOf(classic), { width: 60 });
    expect(t).not.toContain("↑");
    expect(t).not.toContain("250");
    expect(t.split("\n").find((l) => l.includes("┼"))).toBe("   4 ┼╮");
  });

  test("HTML: x ticks on a nice scale, points placed by x value, a rotated y label", () => {
    const html = renderHTML(viewOf(sampled));
    // ticks 0, 50, 100, 150, 200, 250 (step 50) under a 640-wide plot whose right edge is at 616
    const ticks = [...html.matchAll(/<text x="([\d.]+)" y="[\d.]+" font-size="11" fill="#6e7781" text-anchor="middle">(\d+)<\/text>/g)].map((m) => m[2]);
    expect(ticks).toEqual(["0", "50", "100", "150", "200", "250"]);
    const pts = [...html.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!.split(" ").map((p) => Number(p.split(",")[0])));
    expect(pts).toHaveLength(2);
    // x = 0, 100, 200, 250 of 0..250: the gaps are 2 : 2 : 1, not the 1 : 1 : 1 of sample indices
    const [a, b, c, d] = pts[0]!;
    expect(Math.round(((b! - a!) / (d! - c!)) * 10) / 10).toBe(2);
    expect(d).toBe(616);
    expect(html).toMatch(/<text x="12" y="[\d.]+" font-size="11" fill="#6e7781" text-anchor="middle" transform="rotate\(-90 12 [\d.]+\)">free blocks<\/text>/);
    expect(html).not.toMatch(/<script|<style|class=/);
  });

  test("HTML: twelve series get twelve colours", () => {
    const series = Array.from({ length: 12 }, (_, i) => ({ name: `order ${i}`, values: [i, i + 1] }));
    const html = renderHTML(viewOf({ kind: "chart", series, x: [0, 1] }));
    const colours = [...html.matchAll(/<polyline [^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
    expect(new Set(colours).size).toBe(12);
  });

  test("HTML: x values that do not match the samples are ignored (index axis)", () => {
    const html = renderHTML(viewOf({ kind: "chart", series: [{ name: "a", values: [1, 2, 3] }], x: [0, 1] }));
    expect(html).toContain(`text-anchor="end">2</text>`);
  });
});

describe("chart labels are escaped in HTML", () => {
  test("y label and x label", () => {
    const evil = `<script>alert("x")</script>`;
    const html = renderHTML(viewOf({ kind: "chart", series: [{ name: evil, values: [1, 2] }], x: [0, 1], xLabel: evil, yLabel: evil }));
    expect(html).not.toContain("<script");
    expect(html.split("&#60;script&#62;").length - 1).toBe(3); // the x label, the y label, the legend
  });
});
