/**
 * The OOM killer (mm/oom_kill.c, Linux 6.12) and the part of show_mem (mm/show_mem.c) it prints.
 *
 * When direct reclaim makes no progress for an order ≤ PAGE_ALLOC_COSTLY_ORDER request, the page
 * allocator calls out_of_memory() through `reclaim_hooks.out_of_memory` (registered when this module
 * loads). select_bad_process() scores every process with oom_badness() — resident pages + swap entries
 * + page-table pages, plus oom_score_adj × totalpages/1000 — and oom_kill_process() logs the kernel's
 * report (dump_header, the task table, the oom-kill summary, "Out of memory: Killed process …"), counts
 * the `oom_kill` event and sends SIGKILL to the victim and every task sharing its mm.
 *
 * Simplifications (stated, all deterministic):
 * - The victim dies at once: do_exit() tears its mm down inside out_of_memory(), which is what the
 *   kernel's SIGKILL + oom_reaper + exit_mmap() amount to a moment later (so no "oom_reaper: reaped
 *   process" line: exit_mmap() sets MMF_OOM_SKIP first, as when a victim exits quickly on Linux).
 *   Exception: when the victim's mm is the one the running call works on ("current": the process
 *   whose p.touch()/p.malloc()… caused the fault), tearing it down mid-fault would pull page tables
 *   from under the fault handler. Then, as on Linux, SIGKILL is only made pending: the allocation
 *   fails (the kernel would let it dip into reserves, then kill the task on its way back to user
 *   space; mmlab fails it instead, so warn_alloc()'s "<comm>: page allocation failure" line follows
 *   the report), and the facade delivers the kill when the call returns (oom_deliver()), throwing
 *   MmError "SIGKILL".
 * - dump_stack() (CPU/PID/Comm/Hardware name/Call Trace) and show_free_areas()'s counter lines
 *   (active_anon:… free_pcp:…, the "Node N active_anon:…kB" and "Node N DMA free:…kB boost:…" lines)
 *   are not printed: mmlab has no registers or stack to show and does not keep every counter those
 *   lines need. What is printed carries real numbers only: "Mem-Info:", the per-zone free-list line
 *   ("Node 0 Normal: 3*4kB (UM) … = 12kB"), the page-cache and swap lines, and __show_mem()'s totals.
 * - No cpusets, memcgs or mempolicy-constrained OOMs: the constraint is always CONSTRAINT_NONE and the
 *   summary prints the root cgroups ("cpuset=/", "global_oom,task_memcg=/"), as on a distribution
 *   kernel (CONFIG_CPUSETS, CONFIG_MEMCG) with no cgroups in use. Every task runs as uid TASK_UID (1000).
 * - "Out of memory and no killable processes..." is followed by panic() on Linux; mmlab does not
 *   panic: the allocation fails (ENOMEM) after the report.
 * - No printk rate limits (oom_rs, DEFAULT_RATELIMIT_BURST): every OOM is reported.
 */
import type { MachineState } from "../kernel/machine";
import { do_exit } from "../kernel/exit";
import { find_task, type task_struct, TASK_UID } from "../kernel/sched";
import { __GFP_FS, __GFP_RETRY_MAYFAIL, __GFP_THISNODE, gfp_mode } from "./gfp";
import type { mm_struct } from "./mmap";
import { MIGRATE_TYPES } from "./mmzone";
import { gfp_zone, reclaim_hooks } from "./page_alloc";
import { pt_format_of, pt_user_tables } from "./pgtable";
import { nr_swap_pages, total_swap_pages as swapfile_total_swap_pages } from "./swapfile";

const F = "mm/oom_kill.c";

/** OOM_SCORE_ADJ_MIN / OOM_SCORE_ADJ_MAX (include/uapi/linux/oom.h) */
export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;
/** LONG_MIN: oom_badness()'s "never kill this task" */
export const LONG_MIN = Number.NEGATIVE_INFINITY;

/** one row of dump_tasks(), with the task's oom_badness() (LONG_MIN = unkillable) */
export interface oom_task_row {
  pid: number;
  uid: number;
  tgid: number;
  /** pages */
  total_vm: number;
  rss: number;
  rss_anon: number;
  rss_file: number;
  rss_shmem: number;
  pgtables_bytes: number;
  swapents: number;
  oom_score_adj: number;
  comm: string;
  points: number;
}

/** what one out_of_memory() call did, for the facade (m.oomKills()) */
export interface oom_report {
  /** current: the task whose allocation failed (undefined pid: mmlab itself, a kernel-context call) */
  invoker: { pid?: number; comm: string; oom_score_adj: number };
  gfp: number;
  order: number;
  constraint: "CONSTRAINT_NONE";
  /** totalram_pages + total_swap_pages */
  totalpages: number;
  /** every process, in for_each_process() order */
  tasks: oom_task_row[];
  /** the chosen one (undefined: no killable process) */
  victim?: oom_task_row & { deferred: boolean; killed: number[] };
  /** the kernel-log lines of this report: ms.dmesg[first, last) */
  dmesg: [number, number];
}

/**
 * The OOM killer's bookkeeping on the machine: who "current" is while the facade runs a process's
 * call (set by src/api/oom.ts), the victims whose SIGKILL waits for that call to return, and the
 * reports so far.
 */
export class oom_state {
  /** the task the running facade call acts for ("current"); undefined: mmlab itself */
  current: task_struct | undefined = undefined;
  /** nesting of facade calls (the pending kills are delivered when it drops to 0) */
  depth = 0;
  /** while m.spawn() runs: the pid spawn_task() hands the new task (it is current once it exists) */
  exec_pid = -1;
  /** OOM victims with SIGKILL pending (their mm was in use by the running call) */
  pending: task_struct[] = [];
  /** one per out_of_memory() that got as far as dump_header() */
  reports: oom_report[] = [];
  /** snapshot hook (src/kernel/snapshot.ts): a snapshot is taken between calls, nothing is pending */
  clone_for(_ms: MachineState): oom_state {
    const c = new oom_state();
    c.reports = this.reports.slice();
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** the OOM killer's state, see src/mm/oom_kill.ts */
    oom?: oom_state;
  }
}

export function oom_state_of(ms: MachineState): oom_state {
  return (ms.oom ??= new oom_state());
}

/** current, as far as the engine knows it (undefined: mmlab's own kernel-context call) */
export function current_task(ms: MachineState): task_struct | undefined {
  const st = ms.oom;
  if (!st) return undefined;
  if (st.current) return st.current;
  if (st.exec_pid >= 0) return find_task(ms, st.exec_pid);
  return undefined;
}

/** total_swap_pages (mm/swapfile.c), from the swap area if the machine has one */
export function total_swap_pages(ms: MachineState): number {
  return swapfile_total_swap_pages(ms);
}

/** total_swapcache_pages() (mm/swap_state.c): the pages in the swap cache (src/mm/swap_state.ts) */
export function total_swapcache_pages(ms: MachineState): number {
  return ms.swapcache?.pages.size ?? 0;
}

/** signal->oom_score_adj (a task without the field has the default, 0) */
export function oom_score_adj_of(t: task_struct | undefined): number {
  return t?.oom_score_adj ?? 0;
}

/** get_mm_rss(): MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES */
export function get_mm_rss(mm: mm_struct): number {
  return mm.rss.file + mm.rss.anon + mm.rss.shmem;
}

/** get_mm_counter(mm, MM_SWAPENTS) */
export function get_mm_swapents(mm: mm_struct): number {
  return (mm.rss as { swapents?: number }).swapents ?? 0;
}

/**
 * mm_pgtables_bytes(): what mm_inc_nr_ptes/pmds/puds() counted, i.e. the PTE, PMD and PUD tables. The
 * pgd (pgd_alloc()) and 5-level paging's P4D tables are not in it; mm->nr_pgtables here counts every
 * table frame including the pgd, so those are taken off.
 */
export function mm_pgtables_bytes(ms: MachineState, mm: mm_struct): number {
  const fmt = pt_format_of(ms.arch);
  let frames = mm.nr_pgtables;
  if (mm.pgd >= 0) {
    frames -= 1 << fmt.order[0]!;
    if (fmt.L === 5) for (const t of pt_user_tables(ms, mm.pgd)) if (t.level === 1) frames -= 1 << fmt.order[1]!;
  }
  return Math.max(0, frames) * ms.arch.PAGE_SIZE;
}

/** total_vm in pages */
function total_vm_pages(ms: MachineState, mm: mm_struct): number {
  return Number(mm.total_vm / BigInt(ms.arch.PAGE_SIZE));
}

/**
 * for_each_process() with find_lock_task_mm(): one entry per thread group (processes in creation
 * order, i.e. by tgid), represented by a task of the group that still has an mm.
 */
export function oom_processes(ms: MachineState): { task: task_struct; group: task_struct[] }[] {
  const groups = new Map<number, task_struct[]>();
  for (const t of ms.procs?.tasks.values() ?? []) {
    const g = t.tgid ?? t.pid;
    let l = groups.get(g);
    if (!l) groups.set(g, (l = []));
    l.push(t);
  }
  const out: { task: task_struct; group: task_struct[] }[] = [];
  for (const g of [...groups.keys()].sort((a, b) => a - b)) {
    const group = groups.get(g)!;
    const task = group.find((t) => t.pid === g && t.mm) ?? group.find((t) => t.mm);
    if (task) out.push({ task, group });
  }
  return out;
}

/** oom_unkillable_task(): is_global_init() or PF_KTHREAD — mmlab's tasks are user processes, none is init */
function oom_unkillable_task(t: task_struct): boolean {
  return t.pid === 1;
}

/**
 * oom_badness() (mm/oom_kill.c): the pages the task would free, adjusted by oom_score_adj in units of
 * totalpages/1000; LONG_MIN for a task never to be killed (oom_score_adj −1000, no mm, init).
 */
export function oom_badness(ms: MachineState, t: task_struct, totalpages: number): number {
  if (oom_unkillable_task(t)) return LONG_MIN;
  const mm = t.mm;
  if (!mm) return LONG_MIN;
  let adj = oom_score_adj_of(t);
  // MMF_OOM_SKIP / in_vfork(): a reaped victim has left the table; vfork is not modelled
  if (adj === OOM_SCORE_ADJ_MIN) return LONG_MIN;
  let points = get_mm_rss(mm) + get_mm_swapents(mm) + Math.trunc(mm_pgtables_bytes(ms, mm) / ms.arch.PAGE_SIZE);
  // "Normalize to oom_score_adj units"
  adj *= Math.trunc(totalpages / 1000);
  points += adj;
  return points;
}

/** proc_oom_score() (fs/proc/base.c): badness scaled into [0, 2000]; 0 for an unkillable task */
export function proc_oom_score_value(ms: MachineState, t: task_struct): number {
  const totalpages = ms.totalram_pages + total_swap_pages(ms);
  const badness = oom_badness(ms, t, totalpages);
  if (badness === LONG_MIN) return 0;
  // C long arithmetic: division truncates toward zero
  return Math.trunc(((1000 + Math.trunc((badness * 1000) / totalpages)) * 2) / 3);
}

function row_of(ms: MachineState, t: task_struct, totalpages: number): oom_task_row {
  const mm = t.mm!;
  return {
    pid: t.pid,
    uid: TASK_UID,
    tgid: t.tgid ?? t.pid,
    total_vm: total_vm_pages(ms, mm),
    rss: get_mm_rss(mm),
    rss_anon: mm.rss.anon,
    rss_file: mm.rss.file,
    rss_shmem: mm.rss.shmem,
    pgtables_bytes: mm_pgtables_bytes(ms, mm),
    swapents: get_mm_swapents(mm),
    oom_score_adj: oom_score_adj_of(t),
    comm: t.comm,
    points: oom_badness(ms, t, totalpages),
  };
}

const pad = (v: number | string, w: number) => String(v).padStart(w);

/** dump_task(): "[%7d] %5d %5d %8lu %8lu %8lu %8lu %9lu %8ld %8lu         %5hd %s" */
export function dump_task_line(r: oom_task_row): string {
  return `[${pad(r.pid, 7)}] ${pad(r.uid, 5)} ${pad(r.tgid, 5)} ${pad(r.total_vm, 8)} ${pad(r.rss, 8)} ${pad(r.rss_anon, 8)} ${pad(r.rss_file, 8)} ${pad(r.rss_shmem, 9)} ${pad(r.pgtables_bytes, 8)} ${pad(r.swapents, 8)}         ${pad(r.oom_score_adj, 5)} ${r.comm}`;
}

/** the dump_tasks() header lines */
export const DUMP_TASKS_HEADER = ["Tasks state (memory values in pages):", "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name"];

/** show_node(): "Node N " with CONFIG_NUMA (x86-64 distribution kernels, or several nodes) */
function numa_config(ms: MachineState): boolean {
  return ms.arch.name === "x86_64" || ms.nodes.length > 1;
}

/** the MIGRATE_TYPES letters of show_migration_types() (CONFIG_CMA, CONFIG_MEMORY_ISOLATION) */
const MT_LETTERS = "UMEHCI";

/**
 * __show_mem(SHOW_MEM_FILTER_NODES, NULL, gfp_zone(gfp)) as far as mmlab keeps the numbers (see the
 * file comment): "Mem-Info:", one free-area line per populated zone up to the request's highest zone,
 * the page-cache and swap lines, then the RAM/reserved totals.
 */
export function show_mem_lines(ms: MachineState, max_zone_idx: number): string[] {
  const K = (pages: number) => Math.floor((pages * ms.arch.PAGE_SIZE) / 1024);
  const out = ["Mem-Info:"];
  const numa = numa_config(ms);
  for (const node of ms.nodes)
    for (const z of node.node_zones) {
      if (!z.populated || z.zone_idx > max_zone_idx) continue;
      let s = `${numa ? `Node ${node.node_id} ` : ""}${z.name}: `;
      let total = 0;
      for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) {
        const nr = z.nr_free[o]!;
        total += nr << o;
        s += `${nr}*${K(1 << o)}kB `;
        if (nr) {
          let types = "";
          for (let mt = 0; mt < MIGRATE_TYPES; mt++) if (!z.free_area_empty(o, mt)) types += MT_LETTERS[mt];
          s += `(${types}) `;
        }
      }
      out.push(`${s}= ${K(total)}kB`);
    }
  // NR_FILE_PAGES: the page cache (file and shmem pages) and the swap cache
  let pagecache = 0;
  for (const f of ms.procs?.inodes.values() ?? []) pagecache += f.pages.size;
  const swapcache = total_swapcache_pages(ms);
  out.push(`${pagecache + swapcache} total pagecache pages`);
  // show_swap_cache_info() (mm/swap_state.c)
  out.push(`${swapcache} pages in swap cache`);
  out.push(`Free swap  = ${K(nr_swap_pages(ms))}kB`);
  out.push(`Total swap = ${K(total_swap_pages(ms))}kB`);
  let total = 0;
  let reserved = 0;
  let highmem = 0;
  const has_highmem = ms.nodes.some((n) => n.node_zones.some((z) => z.name === "HighMem" && z.populated));
  for (const node of ms.nodes)
    for (const z of node.node_zones) {
      if (!z.populated) continue;
      total += z.present_pages;
      reserved += z.present_pages - z.managed_pages;
      // is_highmem(): HighMem, or Movable carved out of highmem (movable_zone == ZONE_HIGHMEM)
      if (z.name === "HighMem" || (z.name === "Movable" && has_highmem)) highmem += z.present_pages;
    }
  out.push(`${total} pages RAM`, `${highmem} pages HighMem/MovableOnly`, `${reserved} pages reserved`, "0 pages cma reserved", "0 pages hwpoisoned");
  return out;
}

/** mems_allowed as %*pbl prints a nodemask: "0", "0-1" */
function mems_allowed(ms: MachineState): string {
  return ms.nodes.length > 1 ? `0-${ms.nodes.length - 1}` : "0";
}

/** dump_header(): the "invoked oom-killer" line, show_mem, dump_tasks, and the one-line summary */
function dump_header(ms: MachineState, gfp: number, order: number, rows: oom_task_row[], victim: oom_task_row | undefined): void {
  const cur = current_task(ms);
  ms.printk(`${cur?.comm ?? ms.comm} invoked oom-killer: gfp_mask=${gfp_mode(gfp)}, order=${order}, oom_score_adj=${oom_score_adj_of(cur)}`);
  for (const l of show_mem_lines(ms, gfp_zone(ms, gfp))) ms.printk(l);
  // sysctl_oom_dump_tasks = 1
  for (const l of DUMP_TASKS_HEADER) ms.printk(l);
  for (const r of rows) ms.printk(dump_task_line(r));
  // dump_oom_summary(): cpuset_print_current_mems_allowed() and mem_cgroup_print_oom_context()
  if (victim) ms.printk(`oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=${mems_allowed(ms)},global_oom,task_memcg=/,task=${victim.comm},pid=${victim.pid},uid=${victim.uid}`);
}

/** is the victim's mm the one the running call works on (so it cannot be torn down yet)? */
function mm_in_use(ms: MachineState, victim: task_struct): boolean {
  const cur = current_task(ms);
  return cur !== undefined && cur.mm !== null && cur.mm === victim.mm;
}

/**
 * __oom_kill_process(): count OOM_KILL, log "Out of memory: Killed process …", SIGKILL to the victim and
 * every task sharing its mm. They exit at once (do_exit: their memory returns to the allocator), or,
 * when that mm is in use by the running call, at the end of the call (oom_deliver()).
 */
function __oom_kill_process(ms: MachineState, victim: task_struct, message: string): { deferred: boolean; killed: number[] } {
  const mm = victim.mm!;
  const P = ms.arch.PAGE_SIZE;
  const K = (pages: number) => Math.floor((pages * P) / 1024);
  ms.vmstat.oom_kill++;
  const line = `${message}: Killed process ${victim.pid} (${victim.comm}) total-vm:${K(total_vm_pages(ms, mm))}kB, anon-rss:${K(mm.rss.anon)}kB, file-rss:${K(mm.rss.file)}kB, shmem-rss:${K(mm.rss.shmem)}kB, UID:${TASK_UID} pgtables:${mm_pgtables_bytes(ms, mm) >> 10}kB oom_score_adj:${oom_score_adj_of(victim)}`;
  ms.printk(line);
  const death = `killed by the OOM killer (${line})`;
  // do_send_sig_info(SIGKILL, …, PIDTYPE_TGID) to the victim's thread group, and to every process sharing its mm
  const sharing = [...(ms.procs?.tasks.values() ?? [])].filter((t) => t.mm === mm);
  for (const t of sharing) {
    t.oom_victim = true;
    t.death = death;
  }
  const deferred = mm_in_use(ms, victim);
  const tr = ms.trace;
  if (deferred) {
    oom_state_of(ms).pending.push(...sharing);
    if (tr.on) tr.emit("__oom_kill_process", F, `SIGKILL to pid ${sharing.map((t) => t.pid).join(", ")} (${victim.comm}): it is the task allocating, so it dies when this call returns to user space; this allocation fails`, { pid: victim.pid });
  } else {
    const before = ms.nodes.reduce((a, n) => a + n.node_zones.reduce((b, z) => b + z.nr_free_pages, 0), 0);
    tr.depth++;
    for (const t of sharing) do_exit(ms, t, "SIGKILL", death);
    tr.depth--;
    const after = ms.nodes.reduce((a, n) => a + n.node_zones.reduce((b, z) => b + z.nr_free_pages, 0), 0);
    if (tr.on) tr.emit("__oom_kill_process", F, `SIGKILL to pid ${sharing.map((t) => t.pid).join(", ")} (${victim.comm}): it exits, ${after - before} pages go back to the free lists`, { pid: victim.pid, freed: after - before });
  }
  return { deferred, killed: sharing.map((t) => t.pid) };
}

/**
 * out_of_memory() for the page allocator's slow path (with __alloc_pages_may_oom()'s own early exits,
 * which the hook's caller leaves to us). True if memory was freed (a victim exited), so the
 * allocation is worth retrying.
 */
export function out_of_memory(ms: MachineState, gfp: number, order: number): boolean {
  const tr = ms.trace;
  // __alloc_pages_may_oom(): "The OOM killer may not free memory on a specific node", and
  // "The OOM killer does not needlessly kill tasks for lowmem"
  if (gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE)) {
    if (tr.on) tr.emit("__alloc_pages_may_oom", "mm/page_alloc.c", "__GFP_RETRY_MAYFAIL/__GFP_THISNODE: the caller has a fallback; no OOM kill, the allocation fails");
    return false;
  }
  const normal = ms.arch.zones.indexOf("Normal");
  if (gfp_zone(ms, gfp) < normal) {
    if (tr.on) tr.emit("__alloc_pages_may_oom", "mm/page_alloc.c", "a lowmem (DMA/DMA32) request: the OOM killer does not kill for lowmem; the allocation fails");
    return false;
  }
  const cur = current_task(ms);
  // task_will_free_mem(current): a task already killed gets no second victim (the kernel lets it use
  // reserves to exit; here its allocation fails and it dies when the call returns)
  if (cur?.oom_victim) {
    if (tr.on) tr.emit("out_of_memory", F, `current (pid ${cur.pid}) is already an OOM victim: no new kill, the allocation fails`);
    return false;
  }
  // "The OOM killer does not compensate for IO-less reclaim": GFP_NOFS/GFP_NOIO kill nobody
  if (gfp && !(gfp & __GFP_FS)) {
    if (tr.on) tr.emit("out_of_memory", F, "a request without __GFP_FS: no OOM kill (the kernel retries; mmlab fails the allocation)");
    return false;
  }
  // constrained_alloc(): CONSTRAINT_NONE, totalpages = totalram_pages() + total_swap_pages
  const totalpages = ms.totalram_pages + total_swap_pages(ms);
  const procs = oom_processes(ms).filter((p) => !oom_unkillable_task(p.task));
  const rows = procs.map((p) => row_of(ms, p.task, totalpages));
  // select_bad_process() → oom_evaluate_task() for each process
  let chosen = -1;
  let chosen_points = LONG_MIN;
  for (let i = 0; i < procs.length; i++) {
    const t = procs[i]!.task;
    if (t.oom_victim) {
      // "This task already has access to memory reserves and is being killed": abort the scan
      if (tr.on) tr.emit("select_bad_process", F, `pid ${t.pid} is an OOM victim on its way out: wait for it (no new kill)`);
      return false;
    }
    const points = rows[i]!.points;
    if (points === LONG_MIN || points < chosen_points) continue;
    chosen = i;
    chosen_points = points;
  }
  const st = oom_state_of(ms);
  const first = ms.dmesg.length;
  const report: oom_report = { invoker: { pid: cur?.pid, comm: cur?.comm ?? ms.comm, oom_score_adj: oom_score_adj_of(cur) }, gfp, order, constraint: "CONSTRAINT_NONE", totalpages, tasks: rows, dmesg: [first, first] };
  st.reports.push(report);
  if (chosen < 0) {
    dump_header(ms, gfp, order, rows, undefined);
    ms.printk("Out of memory and no killable processes...");
    report.dmesg[1] = ms.dmesg.length;
    if (tr.on) tr.emit("out_of_memory", F, "no killable process (Linux would panic: \"System is deadlocked on memory\"); the allocation fails");
    return false;
  }
  const victim = procs[chosen]!.task;
  const vrow = rows[chosen]!;
  if (tr.on)
    tr.emit("select_bad_process", F, `${rows.length} process${rows.length === 1 ? "" : "es"} scored by oom_badness() (rss + swapents + page tables, + oom_score_adj × ${Math.trunc(totalpages / 1000)}): pid ${victim.pid} (${victim.comm}) scores highest, ${chosen_points}`, { pid: victim.pid, points: chosen_points, scores: rows.map((r) => ({ pid: r.pid, points: r.points === LONG_MIN ? null : r.points })) });
  // oom_kill_process(): dump_header(), then __oom_kill_process()
  dump_header(ms, gfp, order, rows, vrow);
  const k = __oom_kill_process(ms, victim, "Out of memory");
  report.victim = { ...vrow, ...k };
  report.dmesg[1] = ms.dmesg.length;
  return !k.deferred;
}

/**
 * The SIGKILLs the OOM killer left pending (the victim's mm was in use by the running call) are
 * delivered: each task exits, its memory going back to the allocator. The facade calls this when a
 * call returns ("on the way back to user space"). Returns the pids that died.
 */
export function oom_deliver(ms: MachineState): number[] {
  const st = ms.oom;
  if (!st || !st.pending.length) return [];
  const pending = st.pending;
  st.pending = [];
  const out: number[] = [];
  for (const t of pending) {
    if (ms.procs?.tasks.get(t.pid) !== t) continue;
    do_exit(ms, t, "SIGKILL", t.death);
    out.push(t.pid);
  }
  return out;
}

reclaim_hooks.out_of_memory = out_of_memory;
// Without mm/vmscan.ts loaded there is nothing to reclaim (no swap, no page-cache reclaim): direct
// reclaim makes no progress and the slow path goes straight to the OOM killer. vmscan.ts replaces this.
if (!reclaim_hooks.try_to_free_pages) reclaim_hooks.try_to_free_pages = () => 0;
