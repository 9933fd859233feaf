/**
 * m.dmesg(): the kernel log as `dmesg --notime` prints it. mmlab has no clock to stamp lines with
 * (a "[    0.000000]" prefix would be made up), so lines are plain, in the order they were logged:
 * boot messages, page allocation failures, "BUG: Bad page state" reports, segfaults and OOM reports.
 * `.text` is the lines joined with "\n"; `.grep()`, `.tail()` and `.since()` narrow it down.
 */
import { Renderable } from "../render/renderable";
import type { Block, Cell, Tone, View } from "../render/view";

/** the tone a line gets in the "notable lines" table, by the kernel message it is */
function toneOf(line: string): Tone | undefined {
  if (/^Out of memory|^Memory cgroup out of memory|Out of memory and no killable processes|^BUG: |^Kernel panic/.test(line)) return "error";
  if (/invoked oom-killer|page allocation failure|: segfault at |vmalloc error|^oom-kill:/.test(line)) return "warn";
  return undefined;
}

export class Dmesg extends Renderable {
  /** the log lines, oldest first */
  readonly lines: readonly string[];
  /** @internal index of the first line in the machine's whole log */
  readonly first: number;
  constructor(lines: readonly string[], first = 0) {
    super();
    this.lines = lines;
    this.first = first;
  }
  /** the lines joined with "\n" (as `dmesg --notime` prints them) */
  get text(): string {
    return this.lines.join("\n");
  }
  override toString(): string {
    return this.text;
  }
  get length(): number {
    return this.lines.length;
  }
  /** the lines matching a substring or a RegExp, like `dmesg | grep` */
  grep(pattern: string | RegExp): Dmesg {
    const test = typeof pattern === "string" ? (l: string) => l.includes(pattern) : (l: string) => pattern.test(l);
    return new Dmesg(this.lines.filter(test), this.first);
  }
  /** the last n lines */
  tail(n = 10): Dmesg {
    const k = Math.max(0, Math.trunc(n));
    const from = Math.max(0, this.lines.length - k);
    return new Dmesg(this.lines.slice(from), this.first + from);
  }
  /** the lines logged after the first `count` (e.g. `const mark = m.dmesg().length; …; m.dmesg().since(mark)`) */
  since(count: number): Dmesg {
    const k = Math.max(0, Math.trunc(count) - this.first);
    return new Dmesg(this.lines.slice(k), this.first + k);
  }
  view(): View {
    const MAX = 400;
    const n = this.lines.length;
    const shown = n > MAX ? this.lines.slice(n - MAX) : this.lines;
    const blocks: Block[] = [];
    const notable: Cell[][] = [];
    this.lines.forEach((l, i) => {
      const tone = toneOf(l);
      if (tone) notable.push([{ text: String(this.first + i + 1) }, { text: l.length > 140 ? l.slice(0, 139) + "…" : l, tone }]);
    });
    if (notable.length)
      blocks.push({ kind: "table", columns: ["line", "what happened"], align: ["r", "l"], rows: notable.slice(-40), omitted: Math.max(0, notable.length - 40), caption: "OOM kills, segfaults, allocation failures and bad pages in this log" });
    blocks.push({ kind: "pre", text: (n > MAX ? `… ${n - MAX} earlier lines\n` : "") + shown.join("\n") + (n ? "\n" : ""), title: "dmesg --notime" });
    return { title: "dmesg", summary: `dmesg (${n} line${n === 1 ? "" : "s"})`, blocks };
  }
  toJSON() {
    return { lines: [...this.lines] };
  }
}
