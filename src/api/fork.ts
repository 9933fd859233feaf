/**
 * Results of fork: `Fork` (what the child shares with its parent, what was write-protected, what the
 * page tables cost: kernel/fork.c dup_mmap + mm/memory.c copy_page_range) and `ProcessTree`
 * (`m.pstree()`: the processes by parent, RSS and page tables per process, like `ps -ejH`).
 */
import type { fork_report } from "../kernel/fork";
import type { MachineState } from "../kernel/machine";
import type { TraceEvent } from "../kernel/trace";
import { fmtBytes, hex } from "../lib/units";
import { perms, vma_lookup } from "../mm/mmap";
import { vma_name } from "../proc/task_mmu";
import { inspect, type InspectOptionsStylized } from "node:util";
import { Renderable } from "../render/renderable";
import type { Block, TreeNode, View } from "../render/view";
import type { Process } from "./process";

/** the result of p.fork() (also `child.forked`) */
export class Fork extends Renderable {
  readonly vmas: { start: bigint; end: bigint; perms: string; name: string; action: string; why: string; shared: number; wrprotected: number }[];
  /** pages now mapped by parent and child (copy-on-write or shared) */
  readonly shared: number;
  /** PTEs write-protected in the parent (the child's were installed read-only) */
  readonly wrprotected: number;
  /** page-table frames the child holds, its pgd included: what the fork cost */
  readonly pageTables: number;
  /** @internal */
  constructor(
    readonly parent: Process,
    readonly child: Process,
    rep: fork_report,
    readonly trace: TraceEvent[],
  ) {
    super();
    const pmm = parent.task().mm!;
    this.vmas = rep.vmas.map((v) => ({ start: v.start, end: v.end, perms: perms(v.vm_flags), name: (() => { const x = vma_lookup(pmm, v.start); return x ? (vma_name(pmm, x) ?? "") : ""; })(), action: v.action, why: v.why, shared: v.shared, wrprotected: v.wrprotected }));
    this.shared = rep.shared;
    this.wrprotected = rep.wrprotected;
    this.pageTables = rep.pgtables;
  }
  get machine() {
    return this.parent.machine;
  }
  get pid(): number {
    return this.child.pid;
  }
  view(): View {
    const P = this.parent.machine.ms.arch.PAGE_SIZE;
    const tone = (a: string) => (a === "copied" ? "accent" : a === "skipped" ? "muted" : "warn") as "accent" | "muted" | "warn";
    const blocks: Block[] = [
      { kind: "kv", items: [
        { label: "child", value: `pid ${this.child.pid} (parent ${this.parent.pid})` },
        { label: "shared pages", value: `${this.shared} (${fmtBytes(this.shared * P)})`, note: "refcount and mapcount +1 each; no byte copied" },
        { label: "write-protected", value: `${this.wrprotected} PTE${this.wrprotected === 1 ? "" : "s"} in the parent, the same in the child`, note: "the first write to either side faults into do_wp_page" },
        { label: "fork cost", value: `${this.pageTables} page-table frame${this.pageTables === 1 ? "" : "s"} (${fmtBytes(this.pageTables * P)}) for the child`, note: "from the buddy allocator, pgd included" },
      ] },
      { kind: "table", columns: ["VMA", "perms", "name", "what fork did", "shared", "wrprotected"], align: ["l", "l", "l", "l", "r", "r"], rows: this.vmas.slice(0, 60).map((v) => [{ text: `${hex(v.start)}-${hex(v.end)}`, tone: tone(v.action) }, v.perms, v.name, v.why, v.shared, v.wrprotected]), omitted: Math.max(0, this.vmas.length - 60) },
    ];
    if (this.trace.length) blocks.push({ kind: "trace", events: this.trace.slice(0, 60), omitted: Math.max(0, this.trace.length - 60) });
    return { title: `fork: pid ${this.parent.pid} → pid ${this.child.pid}`, summary: `Fork pid ${this.parent.pid} → ${this.child.pid}: ${this.shared} pages shared, ${this.wrprotected} PTEs write-protected, ${this.pageTables} page-table frames`, blocks };
  }
  toJSON() {
    return { parent: this.parent.pid, child: this.child.pid, shared: this.shared, wrprotected: this.wrprotected, pageTables: this.pageTables, vmas: this.vmas.map((v) => ({ ...v, start: hex(v.start), end: hex(v.end) })) };
  }
}

/** m.pstree(): live processes by parent, with RSS and page tables */
export class ProcessTree extends Renderable {
  readonly rows: { pid: number; ppid?: number; name: string; rss: number; anon: number; file: number; swap: number; locked: number; pageTables: number; depth: number }[];
  /** @internal */
  constructor(ms: MachineState) {
    super();
    const tasks = [...(ms.procs?.tasks.values() ?? [])];
    const live = new Set(tasks.map((t) => t.pid));
    const kids = new Map<number, typeof tasks>();
    const roots: typeof tasks = [];
    for (const t of tasks) {
      if (t.ppid !== undefined && live.has(t.ppid)) {
        const k = kids.get(t.ppid) ?? [];
        k.push(t);
        kids.set(t.ppid, k);
      } else roots.push(t);
    }
    this.rows = [];
    const walk = (t: (typeof tasks)[number], depth: number) => {
      const mm = t.mm!;
      this.rows.push({ pid: t.pid, ppid: t.ppid, name: t.comm, rss: mm.rss_pages, anon: mm.rss.anon, file: mm.rss.file + mm.rss.shmem, swap: mm.rss.swapents, locked: mm.locked_vm, pageTables: mm.nr_pgtables, depth });
      for (const c of kids.get(t.pid) ?? []) walk(c, depth + 1);
    };
    for (const r of roots) walk(r, 0);
    this.pageSize = ms.arch.PAGE_SIZE;
  }
  private readonly pageSize: number;
  view(): View {
    const P = this.pageSize;
    const label = (r: ProcessTree["rows"][number]) => `${r.pid} ${r.name}  RSS ${fmtBytes(r.rss * P)} (anon ${r.anon}, file ${r.file} pages), page tables ${r.pageTables}`;
    const node = (i: number): [TreeNode, number] => {
      const r = this.rows[i]!;
      const children: TreeNode[] = [];
      let j = i + 1;
      while (j < this.rows.length && this.rows[j]!.depth > r.depth) {
        const [c, next] = node(j);
        children.push(c);
        j = next;
      }
      return [{ label: label(r), children }, j];
    };
    const roots: TreeNode[] = [];
    for (let i = 0; i < this.rows.length; ) {
      const [n, next] = node(i);
      roots.push(n);
      i = next;
    }
    return {
      title: "process tree",
      summary: `ProcessTree: ${this.rows.length} process${this.rows.length === 1 ? "" : "es"}`,
      blocks: this.rows.length
        ? [
            { kind: "tree", root: { label: "processes", children: roots } },
            { kind: "table", columns: ["PID", "PPID", "COMMAND", "RSS", "anon", "file", "swap", "locked", "page tables"], align: ["r", "r", "l", "r", "r", "r", "r", "r", "r"], rows: this.rows.slice(0, 100).map((r) => [r.pid, r.ppid ?? "-", "  ".repeat(r.depth) + r.name, fmtBytes(r.rss * P), r.anon, r.file, r.swap, r.locked, r.pageTables]), omitted: Math.max(0, this.rows.length - 100), caption: "pages; RSS counts pages shared copy-on-write in every process that maps them; swap = swap entries in its page tables (MM_SWAPENTS, VmSwap), locked = mm->locked_vm (VmLck)" },
          ]
        : [{ kind: "text", text: "no processes (m.spawn() makes one)", tone: "muted" }],
    };
  }
  toJSON() {
    return { rows: this.rows };
  }
}

/**
 * m.ps(): the live processes, an array of Process (index it, map it) that renders as the process tree
 * with RSS per process (ProcessTree) in the REPL and in a notebook.
 */
export class ProcessList extends Array<Process> {
  static override get [Symbol.species]() {
    return Array;
  }
  /** @internal */
  static of_machine(ms: MachineState, procs: Process[]): ProcessList {
    const l = new ProcessList();
    for (const p of procs) l.push(p);
    Object.defineProperty(l, "_ms", { value: ms, enumerable: false });
    return l;
  }
  /** the tree view */
  tree(): ProcessTree {
    return new ProcessTree((this as unknown as { _ms: MachineState })._ms);
  }
  toHTML(): string {
    return this.tree().toHTML();
  }
  override toString(): string {
    return this.tree().toString();
  }
  [inspect.custom](depth: number, options: InspectOptionsStylized, i?: typeof inspect): string {
    return this.tree()[inspect.custom](depth, options, i);
  }
}
