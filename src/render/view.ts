/**
 * The view model: what a result wants shown, independent of the back end.
 * `render/text.ts` turns a View into ANSI text for the REPL; `render/html.ts` into self-contained
 * HTML with inline SVG for Jupyter. Views are built from engine snapshots by the facade; renderers
 * never touch the engine. Every block is bounded: builders pass ranges and counts, never a row per
 * frame of a 64 GiB machine.
 */
import type { TraceEvent } from "../kernel/trace";

/** Semantic colours; each back end maps them to its palette. */
export type Tone =
  | "free"
  | "used"
  | "reserved"
  | "kernel"
  | "user"
  | "pagetable"
  | "slab"
  | "highmem"
  | "accent"
  | "ok"
  | "warn"
  | "error"
  | "muted"
  | "plain";

export interface Cell {
  text: string;
  tone?: Tone;
  bold?: boolean;
}
export type CellLike = string | number | bigint | Cell;

export type Block =
  /** A heading line. */
  | { kind: "heading"; text: string; level?: 1 | 2 | 3 }
  /** A paragraph of prose (may wrap). */
  | { kind: "text"; text: string; tone?: Tone }
  /** Label/value pairs, aligned in two columns. */
  | { kind: "kv"; items: { label: string; value: CellLike; note?: string }[] }
  /** A table; `align` per column, "r" for numbers. */
  | {
      kind: "table";
      columns: string[];
      rows: CellLike[][];
      align?: ("l" | "r")[];
      caption?: string;
      /** rows left out (the renderer says "… N more rows") */
      omitted?: number;
    }
  /**
   * A memory bar drawn to scale: `total` units (pages or bytes) from `base`, with coloured
   * segments. Text back end: a fixed-width strip of characters plus a legend; HTML: an SVG rect strip.
   * Segments may be many; back ends bucket them to their resolution (a bucket shows its dominant tone).
   */
  | {
      kind: "bar";
      title?: string;
      base: number | bigint;
      total: number | bigint;
      unit: "page" | "byte";
      segments: { start: number | bigint; len: number | bigint; tone: Tone; label?: string }[];
      /** labelled positions (e.g. zone boundaries, PAGE_OFFSET) */
      marks?: { at: number | bigint; label: string }[];
      /** how addresses/positions print in labels */
      format?: "pfn" | "hex" | "size";
      legend?: { tone: Tone; label: string }[];
    }
  /**
   * The bits of an address or a page-table entry, split into named fields (msb first).
   * e.g. a 32-bit VA: [{name:"pgd",hi:31,lo:22,value:0x300},{name:"pte",hi:21,lo:12},{name:"offset",hi:11,lo:0}]
   */
  | {
      kind: "bits";
      width: number;
      value: bigint;
      fields: { name: string; hi: number; lo: number; tone?: Tone; note?: string }[];
      title?: string;
    }
  /** The MMU's page walk as a ladder: one rung per level, ending in a frame or a fault. */
  | {
      kind: "walk";
      steps: {
        level: string; // "pgd", "p4d", "pud", "pmd", "pte"
        table: string; // where the table is: "PFN 0x1234" / "CR3"
        index: number;
        entry: string; // raw entry, hex
        flags: string[]; // decoded flag names set
        tone?: Tone; // "error" for the level that faulted
        note?: string;
      }[];
      result: { text: string; tone: Tone };
    }
  /**
   * Free lists per order (the buddy allocator's free_area): counts per order and, per order, the
   * first few block heads (PFNs) on the list, head first.
   */
  | {
      kind: "freelists";
      title?: string;
      /** heads: PFNs, or already formatted labels such as "0x1c20 U" */
      orders: { order: number; nr_free: number; heads: (number | bigint | string)[]; more: number; highlight?: boolean }[];
      pageSize: number;
      footer?: string;
    }
  /** A tree (buddy splits, a process tree). */
  | { kind: "tree"; root: TreeNode }
  /** The kernel steps of the call that produced this result. */
  | { kind: "trace"; events: TraceEvent[]; omitted?: number }
  /**
   * A line chart (asciichart in the terminal, SVG polyline in HTML): one line per series, all series
   * sampled at the same points. `x` gives each point's x value (e.g. the workload step a sample was
   * taken at; default 0, 1, 2…): HTML puts ticks on it, text prints its range under the plot.
   * `yLabel` names the vertical axis.
   */
  | {
      kind: "chart";
      title?: string;
      series: { name: string; values: number[] }[];
      height?: number;
      xLabel?: string;
      yLabel?: string;
      x?: number[];
    }
  /** Preformatted text, shown verbatim (a /proc file). */
  | { kind: "pre"; text: string; title?: string }
  /** Side-by-side columns of blocks (e.g. virtual on the left, physical on the right). */
  | { kind: "columns"; columns: Block[][] }
  /**
   * Lines between two columns: virtual pages on the left connected to physical frames on the
   * right (vmalloc's scattered frames, two processes' PTEs).
   */
  | {
      kind: "links";
      left: { label: string; tone?: Tone }[];
      right: { label: string; tone?: Tone }[];
      edges: [number, number][];
      leftTitle?: string;
      rightTitle?: string;
    };

export interface TreeNode {
  label: string;
  tone?: Tone;
  children?: TreeNode[];
}

/** A whole rendering: a title, a one-line summary (the short form), and the blocks. */
export interface View {
  title: string;
  /** one line: what `depth < 0` inspection and nested values show */
  summary: string;
  blocks: Block[];
}

export function cell(c: CellLike): Cell {
  if (typeof c === "object") return c;
  return { text: String(c) };
}
