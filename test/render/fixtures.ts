/** Small views of every block kind, shared by the text and HTML tests. */
import type { Block, View } from "../../src/render/view";

export const blocks: Record<Block["kind"], Block> = {
  heading: { kind: "heading", text: "Zone Normal", level: 2 },
  text: {
    kind: "text",
    text: "The buddy allocator split an order-6 block to satisfy an order-5 request; the other half went back on the order-5 free list.",
    tone: "plain",
  },
  kv: {
    kind: "kv",
    items: [
      { label: "pfn", value: { text: "0x1000", tone: "accent" } },
      { label: "order", value: 5, note: "128 KiB" },
      { label: "zone", value: "Normal" },
    ],
  },
  table: {
    kind: "table",
    caption: "VMAs",
    columns: ["start", "end", "perms", "pages"],
    align: ["l", "l", "l", "r"],
    rows: [
      ["0x08048000", "0x08049000", "r-xp", 1],
      ["0x0804a000", "0x0806b000", { text: "rw-p", tone: "user" }, 33],
    ],
    omitted: 12,
  },
  bar: {
    kind: "bar",
    title: "Physical memory",
    base: 0,
    total: 64,
    unit: "page",
    format: "pfn",
    segments: [
      { start: 0, len: 4, tone: "reserved", label: "reserved" },
      { start: 4, len: 12, tone: "kernel", label: "kernel image" },
      { start: 16, len: 8, tone: "used" },
      { start: 24, len: 40, tone: "free", label: "free" },
    ],
    marks: [
      { at: 16, label: "ZONE_NORMAL" },
      { at: 48, label: "ZONE_HIGHMEM" },
    ],
  },
  bits: {
    kind: "bits",
    title: "virtual address",
    width: 32,
    value: 0xc0101234n,
    fields: [
      { name: "pgd", hi: 31, lo: 22, tone: "kernel" },
      { name: "pte", hi: 21, lo: 12, tone: "pagetable" },
      { name: "offset", hi: 11, lo: 0, note: "byte within the page" },
    ],
  },
  walk: {
    kind: "walk",
    steps: [
      { level: "pgd", table: "CR3 (PFN 0x1a2)", index: 768, entry: "0x001b3067", flags: ["present", "rw", "accessed", "dirty"] },
      { level: "pte", table: "PFN 0x1b3", index: 257, entry: "0x00000000", flags: [], tone: "error", note: "not present" },
    ],
    result: { text: "page fault: do_anonymous_page()", tone: "error" },
  },
  freelists: {
    kind: "freelists",
    title: "Node 0, zone Normal",
    pageSize: 4096,
    orders: [
      { order: 0, nr_free: 1, heads: [0x1001], more: 0 },
      { order: 1, nr_free: 0, heads: [], more: 0 },
      { order: 5, nr_free: 4, heads: [0x1020, 0x1040], more: 2, highlight: true },
      { order: 10, nr_free: 3, heads: [0x8000n, 0x8400n, 0x8800n], more: 0 },
    ],
    footer: "free pages: 4225",
  },
  tree: {
    kind: "tree",
    root: {
      label: "order 6 @ 0x1000",
      children: [
        { label: "order 5 @ 0x1000 (allocated)", tone: "used", children: [] },
        {
          label: "order 5 @ 0x1020",
          children: [
            { label: "order 4 @ 0x1020 free", tone: "free" },
            { label: "order 4 @ 0x1030 free", tone: "free" },
          ],
        },
      ],
    },
  },
  trace: {
    kind: "trace",
    events: [
      { fn: "alloc_pages", file: "mm/page_alloc.c", text: "order 5, GFP_KERNEL", depth: 0 },
      { fn: "__rmqueue_smallest", file: "mm/page_alloc.c", text: "order 5 list empty; take order 6 @ 0x1000", depth: 1 },
      { fn: "expand", file: "mm/page_alloc.c", text: "put order 5 @ 0x1020 on the free list", depth: 2 },
    ],
    omitted: 3,
  },
  chart: {
    kind: "chart",
    title: "free pages",
    series: [{ name: "Normal", values: [10, 8, 6, 7, 3, 1, 4] }],
    height: 4,
    xLabel: "allocations",
  },
  pre: { kind: "pre", title: "/proc/buddyinfo", text: "Node 0, zone   Normal      1      0      0\n" },
  columns: {
    kind: "columns",
    columns: [
      [{ kind: "heading", text: "virtual", level: 3 }, { kind: "text", text: "vpage 0..3" }],
      [{ kind: "heading", text: "physical", level: 3 }, { kind: "text", text: "PFN 0x10, 0x2f" }],
    ],
  },
  links: {
    kind: "links",
    leftTitle: "virtual",
    rightTitle: "physical",
    left: [{ label: "vpage 0" }, { label: "vpage 1" }, { label: "vpage 2" }],
    right: [{ label: "PFN 0x1234", tone: "user" }, { label: "PFN 0x0042" }],
    edges: [
      [0, 0],
      [1, 0],
    ],
  },
};

export function viewOf(b: Block, title = `a ${b.kind}`): View {
  return { title, summary: `${b.kind} summary`, blocks: [b] };
}

/** A bar of `n` alternating one-page segments: the worst case for bucketing. */
export function hugeBar(n: number): Block {
  const tones = ["free", "used", "kernel", "slab"] as const;
  const segments = [];
  for (let i = 0; i < n; i++) segments.push({ start: i, len: 1, tone: tones[i % 4]! });
  return { kind: "bar", base: 0, total: n, unit: "page", segments, marks: [{ at: n / 2, label: "half" }] };
}
