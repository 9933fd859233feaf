/**
 * The OOM killer on the facade (engine: src/mm/oom_kill.ts, which this module loads and so registers):
 * `p.oomScoreAdj(n?)`, `p.oomScore`, `/proc/PID/oom_score` and `/proc/PID/oom_score_adj`, and
 * `m.oomKills()` (one OomReport per OOM: who asked, every process's score, the victim, the log lines).
 *
 * "current": while a Process method runs, the engine must know which task the call acts for, because
 * the OOM killer may pick that very task; its mm cannot be torn down under the page fault that is
 * using it. Every Process method (and m.spawn) is therefore run through `in_task_context()`, which
 * sets `ms.oom.current` and, when the call returns, delivers the SIGKILLs the OOM killer left pending
 * (oom_deliver(): the victim exits, its memory goes back to the allocator). If the caller itself was
 * the victim, the call throws MmError("SIGKILL") saying it was killed by the OOM killer; any later call
 * on it throws ESRCH ("no such process (killed by SIGKILL: killed by the OOM killer …)"), as after a
 * SIGSEGV. Methods added to Process.prototype by a module loaded after this one are wrapped by calling
 * `oom_task_context_install()` again (it skips what is wrapped already).
 */
import { MmError } from "../errors";
import type { TraceEvent } from "../kernel/trace";
import { find_task, task_table_of, type task_struct } from "../kernel/sched";
import { fmtBytes } from "../lib/units";
import { gfp_mode } from "../mm/gfp";
import { LONG_MIN, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN, oom_deliver, oom_state_of, proc_oom_score_value, type oom_report, type oom_task_row } from "../mm/oom_kill";
import { proc_oom_score, proc_oom_score_adj } from "../proc/oom";
import { Renderable } from "../render/renderable";
import type { Block, Cell, View } from "../render/view";
import { Machine, registerProcFile } from "./machine";
import { Process } from "./process";
import { ProcFile } from "./results";
import { parseArg } from "./schemas";
import { z } from "zod";

// ---------------------------------------------------------------- current, and pending kills

/** the MmError a call gets when the OOM killer killed the task it ran for */
function killed_error(t: task_struct, trace: TraceEvent[], report: oom_report | undefined): MmError {
  const line = t.death?.replace(/^killed by the OOM killer \((.*)\)$/, "$1") ?? "Out of memory";
  return new MmError("SIGKILL", `pid ${t.pid} (${t.comm}) was killed by the OOM killer: "${line}". Its memory went back to the allocator.`, { pid: t.pid, oom: report, trace });
}

/** the trace a failed or finished call carried, to hand on with the SIGKILL error */
function trace_of(x: unknown): TraceEvent[] {
  const tr = (x as { trace?: unknown } | null)?.trace ?? (x as { detail?: { trace?: unknown } } | null)?.detail?.trace;
  return Array.isArray(tr) ? (tr as TraceEvent[]) : [];
}

/**
 * Run `fn` as a call made by `task` (current), or — for m.spawn — by the task about to be created
 * (`exec_pid`). When the outermost call returns, pending OOM kills are delivered; if the caller was
 * the victim, the call throws MmError("SIGKILL").
 */
function in_task_context(m: Machine, task: task_struct | undefined, exec_pid: number, fn: (...a: unknown[]) => unknown, self: unknown, args: unknown[]): unknown {
  const ms = m.ms;
  const st = oom_state_of(ms);
  const prev_current = st.current;
  const prev_exec = st.exec_pid;
  const prev_comm = ms.comm;
  st.current = task;
  st.exec_pid = exec_pid;
  // current->comm in kernel messages ("b: page allocation failure: …")
  if (task) ms.comm = task.comm;
  st.depth++;
  let result: unknown;
  let error: unknown;
  let threw = false;
  try {
    result = fn.apply(self, args);
  } catch (e) {
    error = e;
    threw = true;
  } finally {
    st.depth--;
    st.current = prev_current;
    st.exec_pid = prev_exec;
    ms.comm = prev_comm;
  }
  if (st.depth === 0 && st.pending.length) {
    const victims = st.pending.slice();
    const report = st.reports[st.reports.length - 1];
    ms.trace.depth = 0;
    oom_deliver(ms);
    const me = victims.find((v) => v === task || (task === undefined && v.pid === exec_pid));
    if (me) {
      const tail = ms.trace.take();
      throw killed_error(me, [...trace_of(threw ? error : result), ...tail], report);
    }
  }
  if (threw) throw error;
  return result;
}

/** method names of Process that never allocate memory and run often: left unwrapped */
const UNWRAPPED = new Set(["constructor", "task", "mm", "begin", "end", "view", "toJSON", "translate", "toString", "toText", "toHTML"]);
const wrapped = new WeakSet<object>();

/** wrap every method of Process.prototype (once) so that it runs with `current` set */
export function oom_task_context_install(): void {
  const proto = Process.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (UNWRAPPED.has(name)) continue;
    const d = Object.getOwnPropertyDescriptor(proto, name)!;
    const orig = d.value as unknown;
    if (typeof orig !== "function" || wrapped.has(orig)) continue;
    const f = orig as (...a: unknown[]) => unknown;
    const w = function (this: Process, ...args: unknown[]): unknown {
      const ms = this.machine.ms;
      const t = find_task(ms, this.pid);
      // a dead process: the method's own ESRCH check answers
      if (!t || !this.alive) return f.apply(this, args);
      return in_task_context(this.machine, t, -1, f, this, args);
    };
    wrapped.add(w);
    Object.defineProperty(proto, name, { ...d, value: w });
  }
  const mproto = Machine.prototype as unknown as Record<string, unknown>;
  const spawn = mproto.spawn as ((...a: unknown[]) => unknown) | undefined;
  if (typeof spawn === "function" && !wrapped.has(spawn)) {
    const w = function (this: Machine, ...args: unknown[]): unknown {
      if (oom_state_of(this.ms).depth > 0) return spawn.apply(this, args);
      // spawn_task() hands out ++last_pid: that task is current once it exists (exec runs in it)
      return in_task_context(this, undefined, task_table_of(this.ms).last_pid + 1, spawn, this, args);
    };
    wrapped.add(w);
    mproto.spawn = w;
  }
}

// ---------------------------------------------------------------- Process: oom_score_adj, oom_score

declare module "./process" {
  interface Process {
    /**
     * /proc/PID/oom_score_adj: with no argument, read it; with a number from −1000 (never kill this
     * process) to 1000 (kill it first), set it for the whole thread group. Returns the value in force.
     * Inherited by fork. EINVAL outside −1000..1000.
     */
    oomScoreAdj(value?: number): number;
    /** /proc/PID/oom_score: the OOM killer's badness scaled to 0..2000 (0 if it is never picked) */
    readonly oomScore: number;
  }
}

const adjSchema = z.number().int().min(OOM_SCORE_ADJ_MIN).max(OOM_SCORE_ADJ_MAX);

Process.prototype.oomScoreAdj = function (this: Process, value?: number): number {
  const t = this.task();
  if (value === undefined) return t.oom_score_adj ?? 0;
  const v = parseArg(adjSchema, value, "value");
  // __set_oom_adj() (fs/proc/base.c): signal->oom_score_adj is the thread group's
  const tgid = t.tgid ?? t.pid;
  for (const u of this.machine.ms.procs?.tasks.values() ?? []) if ((u.tgid ?? u.pid) === tgid) u.oom_score_adj = v;
  return v;
};

Object.defineProperty(Process.prototype, "oomScore", {
  get(this: Process): number {
    return proc_oom_score_value(this.machine.ms, this.task());
  },
  configurable: true,
});

registerProcFile(/^\/proc\/(\d+)\/oom_score$/, "/proc/PID/oom_score", (m, mt) => {
  const p = m.process(Number(mt[1]));
  return new ProcFile(`/proc/${p.pid}/oom_score`, proc_oom_score(m.ms, p.task()));
});
registerProcFile(/^\/proc\/(\d+)\/oom_score_adj$/, "/proc/PID/oom_score_adj", (m, mt) => {
  const p = m.process(Number(mt[1]));
  return new ProcFile(`/proc/${p.pid}/oom_score_adj`, proc_oom_score_adj(p.task()));
});

// ---------------------------------------------------------------- m.oomKills()

/** one OOM: who asked for what, every process's score, the victim, and the kernel's report */
export class OomReport extends Renderable {
  constructor(
    /** the task whose allocation failed ("mmlab" with no pid: a call of the machine itself, e.g. m.kmalloc) */
    readonly invoker: { pid?: number; comm: string; oomScoreAdj: number },
    /** the request: "0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)" */
    readonly gfp: string,
    readonly order: number,
    /** totalram_pages + total_swap_pages: oom_score_adj is in units of totalpages / 1000 */
    readonly totalpages: number,
    /** every process the OOM killer looked at, in scan order; points null = never picked */
    readonly tasks: { pid: number; tgid: number; name: string; rss: number; anon: number; file: number; shmem: number; swapents: number; pgtablesBytes: number; oomScoreAdj: number; points: number | null }[],
    /** the victim (undefined: nothing was killable) */
    readonly victim: { pid: number; name: string; points: number; killed: number[]; deferred: boolean } | undefined,
    /** this OOM's lines of the kernel log */
    readonly log: string[],
    private readonly pageSize: number,
  ) {
    super();
  }
  view(): View {
    const P = this.pageSize;
    const unit = Math.trunc(this.totalpages / 1000);
    const rows: Cell[][] = this.tasks.map((t) => {
      const chosen = this.victim?.pid === t.pid;
      const tone = chosen ? ("error" as const) : t.points === null ? ("muted" as const) : undefined;
      const pt = t.pgtablesBytes / P;
      return [
        { text: String(t.pid), tone },
        { text: t.name, tone, bold: chosen },
        { text: String(t.rss), tone },
        { text: String(t.swapents), tone },
        { text: String(pt), tone },
        { text: String(t.oomScoreAdj), tone },
        { text: t.oomScoreAdj ? `${t.oomScoreAdj * unit >= 0 ? "+" : ""}${t.oomScoreAdj * unit}` : "0", tone },
        { text: t.points === null ? "never (−1000)" : String(t.points), tone, bold: chosen },
      ];
    });
    const blocks: Block[] = [
      {
        kind: "kv",
        items: [
          { label: "invoked by", value: `${this.invoker.comm}${this.invoker.pid !== undefined ? ` (pid ${this.invoker.pid})` : " (the machine itself, kernel context)"}`, note: `oom_score_adj ${this.invoker.oomScoreAdj}` },
          { label: "request", value: `order ${this.order} (${fmtBytes(2 ** this.order * P)}), gfp_mask=${this.gfp}`, note: "direct reclaim made no progress (nothing left to swap out or drop)" },
          { label: "totalpages", value: `${this.totalpages} (RAM + swap)`, note: `oom_score_adj counts in units of totalpages/1000 = ${unit} pages` },
          { label: "victim", value: this.victim ? `pid ${this.victim.pid} (${this.victim.name}), badness ${this.victim.points}` : "none: no killable process (Linux panics here)", note: this.victim ? (this.victim.deferred ? "it was the allocating task: it dies when its call returns" : `killed at once${this.victim.killed.length > 1 ? ` with pids ${this.victim.killed.join(", ")} (same mm)` : ""}; its memory went back to the free lists`) : undefined },
        ],
      },
      { kind: "table", columns: ["pid", "name", "rss", "swapents", "pgtables", "oom_score_adj", "adj × unit", "badness (pages)"], align: ["r", "l", "r", "r", "r", "r", "r", "r"], rows, caption: "oom_badness() = rss + swapents + page-table pages + oom_score_adj × totalpages/1000; the highest wins, a tie goes to the later process" },
      { kind: "pre", title: "the kernel log (dmesg)", text: this.log.join("\n") + "\n" },
    ];
    return {
      title: `OOM killer: ${this.victim ? `killed pid ${this.victim.pid} (${this.victim.name})` : "no killable process"}`,
      summary: `OomReport ${this.invoker.comm} order-${this.order}: ${this.victim ? `killed ${this.victim.pid} (${this.victim.name}), badness ${this.victim.points}` : "nothing killable"}`,
      blocks,
    };
  }
  toJSON() {
    return { invoker: this.invoker, gfp: this.gfp, order: this.order, totalpages: this.totalpages, tasks: this.tasks, victim: this.victim, log: this.log };
  }
}

function task_of_row(r: oom_task_row) {
  return { pid: r.pid, tgid: r.tgid, name: r.comm, rss: r.rss, anon: r.rss_anon, file: r.rss_file, shmem: r.rss_shmem, swapents: r.swapents, pgtablesBytes: r.pgtables_bytes, oomScoreAdj: r.oom_score_adj, points: r.points === LONG_MIN ? null : r.points };
}

/** the facade's view of an engine report */
export function oomReport(m: Machine, r: oom_report): OomReport {
  return new OomReport(
    { pid: r.invoker.pid, comm: r.invoker.comm, oomScoreAdj: r.invoker.oom_score_adj },
    gfp_mode(r.gfp),
    r.order,
    r.totalpages,
    r.tasks.map(task_of_row),
    r.victim ? { pid: r.victim.pid, name: r.victim.comm, points: r.victim.points, killed: r.victim.killed, deferred: r.victim.deferred } : undefined,
    m.ms.dmesg.slice(r.dmesg[0], r.dmesg[1]),
    m.ms.arch.PAGE_SIZE,
  );
}

declare module "./machine" {
  interface Machine {
    /** every OOM so far, oldest first: who asked, every process's badness, the victim, the log lines */
    oomKills(): OomReport[];
  }
}

Machine.prototype.oomKills = function (this: Machine) {
  return (this.ms.oom?.reports ?? []).map((r) => oomReport(this, r));
};


oom_task_context_install();
