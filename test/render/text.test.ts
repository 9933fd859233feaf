import { describe, expect, test } from "vitest";
import { renderText, visibleLength } from "../../src/render/text";
import type { Block, View } from "../../src/render/view";
import { blocks, hugeBar, viewOf } from "./fixtures";

const plain = (b: Block, width = 80): string => renderText(viewOf(b), { width });

describe("renderText: one small view per block kind (plain)", () => {
  test("heading", () => {
    expect(plain(blocks.heading)).toMatchInlineSnapshot(`
      "a heading
      heading summary

      Zone Normal
      ───────────"
    `);
  });
  test("text wraps at the width", () => {
    expect(plain(blocks.text, 60)).toMatchInlineSnapshot(`
      "a text
      text summary

      The buddy allocator split an order-6 block to satisfy an
      order-5 request; the other half went back on the order-5
      free list."
    `);
  });
  test("kv", () => {
    expect(plain(blocks.kv)).toMatchInlineSnapshot(`
      "a kv
      kv summary

      pfn    0x1000
      order  5       128 KiB
      zone   Normal"
    `);
  });
  test("table with omitted rows", () => {
    expect(plain(blocks.table)).toMatchInlineSnapshot(`
      "a table
      table summary

      VMAs
      start       end         perms  pages
      ──────────  ──────────  ─────  ─────
      0x08048000  0x08049000  r-xp       1
      0x0804a000  0x0806b000  rw-p      33
      … 12 more rows"
    `);
  });
  test("bar to scale, marks, legend", () => {
    expect(plain(blocks.bar, 66)).toMatchInlineSnapshot(`
      "a bar
      bar summary

      Physical memory  64 pages
      0x0                                                           0x40
      ▕RRRRKKKKKKKKKKKK########........................................▏
                       ^                               ^
                       ZONE_NORMAL 0x10                ZONE_HIGHMEM 0x30
      R reserved  K kernel image  # used  . free"
    `);
  });
  test("bits grouped by field", () => {
    expect(plain(blocks.bits)).toMatchInlineSnapshot(`
      "a bits
      bits summary

      virtual address = 0xc0101234
      31-22      21-12      11-0
      1100000000 0100000001 001000110100
      pgd        pte        offset
      0x300      0x101      0x234
      offset: byte within the page"
    `);
  });
  test("walk ladder", () => {
    expect(plain(blocks.walk)).toMatchInlineSnapshot(`
      "a walk
      walk summary

      pgd  [768]  in CR3 (PFN 0x1a2)  0x001b3067  present rw accessed dirty
        │
      pte  [257]  in PFN 0x1b3        0x00000000  (none)  not present
        │
        ▼ page fault: do_anonymous_page()"
    `);
  });
  test("freelists", () => {
    expect(plain(blocks.freelists)).toMatchInlineSnapshot(`
      "a freelists
      freelists summary

      Node 0, zone Normal
        order     size  nr_free  list (head first)
            0    4 KiB        1  0x1001
            1    8 KiB        0
      ▶     5  128 KiB        4  0x1020, 0x1040, … +2
           10    4 MiB        3  0x8000, 0x8400, 0x8800
      free pages: 4225"
    `);
  });
  test("tree", () => {
    expect(plain(blocks.tree)).toMatchInlineSnapshot(`
      "a tree
      tree summary

      order 6 @ 0x1000
      ├── order 5 @ 0x1000 (allocated)
      └── order 5 @ 0x1020
          ├── order 4 @ 0x1020 free
          └── order 4 @ 0x1030 free"
    `);
  });
  test("trace", () => {
    expect(plain(blocks.trace)).toMatchInlineSnapshot(`
      "a trace
      trace summary

      alloc_pages()           mm/page_alloc.c  order 5, GFP_KERNEL
        __rmqueue_smallest()  mm/page_alloc.c  order 5 list empty; take order 6 @ 0x1000
          expand()            mm/page_alloc.c  put order 5 @ 0x1020 on the free list
      … 3 more events"
    `);
  });
  test("chart", () => {
    expect(plain(blocks.chart)).toMatchInlineSnapshot(`
      "a chart
      chart summary

      free pages
         10 ┼─╮
        7.8 ┤ ╰─╮
        5.5 ┤   │ ╭
        3.3 ┤   ╰╮│
          1 ┤    ╰╯
       allocations →
      ── Normal"
    `);
  });
  test("pre", () => {
    expect(plain(blocks.pre)).toMatchInlineSnapshot(`
      "a pre
      pre summary

      /proc/buddyinfo
      Node 0, zone   Normal      1      0      0"
    `);
  });
  test("columns", () => {
    expect(plain(blocks.columns)).toMatchInlineSnapshot(`
      "a columns
      columns summary

      virtual      physical

      vpage 0..3   PFN 0x10, 0x2f"
    `);
  });
  test("links", () => {
    expect(plain(blocks.links)).toMatchInlineSnapshot(`
      "a links
      links summary

      virtual     physical
      vpage 0 ──▶ PFN 0x1234  (shared ×2)
      vpage 1 ──▶ PFN 0x1234  (shared ×2)
      vpage 2  ╳  (not linked)"
    `);
  });
});

describe("renderText options and bounds", () => {
  const view: View = { title: "T", summary: "one line", blocks: Object.values(blocks) };

  test("short is the summary only", () => {
    expect(renderText(view, { short: true, color: true })).toBe("one line");
  });

  test("plain output has no escape codes; color output does, and aligns the same", () => {
    const p = renderText(view, { color: false });
    const c = renderText(view, { color: true });
    expect(p).not.toMatch(/\x1b/);
    expect(c).toMatch(/\x1b\[32m/); // free = green
    expect(c).toMatch(/\x1b\[1;36malloc_pages\(\)/); // trace fn() in accent
    // same layout once the escapes are gone, except bar glyphs (colour draws blocks, plain draws letters)
    const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.length);
    expect(strip(c)).toEqual(strip(p));
  });

  test("stylize is used when color is unset", () => {
    const seen: string[] = [];
    renderText(viewOf(blocks.tree), { stylize: (s, t) => (seen.push(t), `<${s}>`) });
    expect(seen).toContain("string"); // free → node's green style
  });

  test("a bar with 1,000,000 segments fits the width", () => {
    for (const color of [false, true]) {
      const out = renderText(viewOf(hugeBar(1_000_000)), { width: 100, color });
      expect(out.length).toBeLessThan(4000);
      for (const line of out.split("\n")) expect(visibleLength(line)).toBeLessThanOrEqual(100);
    }
  });

  test("x86-64 addresses as bigint stay exact", () => {
    const base = 0xffff888000000000n;
    const bar: Block = {
      kind: "bar",
      base,
      total: 1n << 30n,
      unit: "byte",
      segments: [{ start: base, len: 1n << 29n, tone: "kernel" }],
      marks: [{ at: base + (1n << 29n), label: "half" }],
    };
    const out = plain(bar, 40);
    expect(out).toContain("0xffff888000000000");
    expect(out).toContain("0xffff888040000000");
    expect(out).toContain("half 0xffff888020000000");
    expect(out).toMatch(/▕K{19} {19}▏/);
  });

  test("tables and traces are capped however many rows they are given", () => {
    const rows = Array.from({ length: 5000 }, (_, i) => [i, "x"]);
    const t = plain({ kind: "table", columns: ["n", "s"], rows, omitted: 10 });
    expect(t.split("\n").length).toBeLessThan(520);
    expect(t).toContain("… 4510 more rows");
    const events = Array.from({ length: 5000 }, () => ({ fn: "f", file: "mm/x.c", text: "t" }));
    expect(plain({ kind: "trace", events })).toContain("… 4500 more events");
  });

  test("a 64-bit PTE's one-bit fields wrap onto more rows within the width", () => {
    const fields = Array.from({ length: 16 }, (_, i) => ({ name: `flag${i}`, hi: i, lo: i }));
    const out = plain({ kind: "bits", width: 64, value: 0xffffn, fields }, 60);
    for (const line of out.split("\n")) expect(line.length).toBeLessThanOrEqual(60);
    expect(out).toContain("flag15");
  });
});
