/**
 * Tasks and the process table (include/linux/sched.h task_struct, kernel/pid.c). A task here is a
 * single-threaded process: pid, comm, its mm, fault counters, and the CPU it last ran on.
 * The table also holds what the VM layer shares between processes: inodes with their page cache
 * (executables, shmem objects behind shared anonymous mappings) and the shared zero page.
 */
import type { MachineState } from "./machine";
import type { mm_struct, inode } from "../mm/mmap";

/**
 * The uid every process runs as: an ordinary user, without CAP_IPC_LOCK or CAP_SYS_ADMIN — so
 * RLIMIT_MEMLOCK applies to mlock() (mm/mlock.c), and the OOM report prints uid 1000.
 */
export const TASK_UID = 1000;

export interface task_struct {
  pid: number;
  comm: string;
  mm: mm_struct | null;
  /** TASK_RUNNING, or dead: exited (exit()) or killed by a signal */
  state: "running" | "exited" | "killed";
  /** the signal that killed it (SIGSEGV) */
  signal?: string;
  /** why it died, in a sentence */
  death?: string;
  /** task->min_flt / maj_flt */
  min_flt: number;
  maj_flt: number;
  /** the CPU it runs on */
  cpu: number;
  /** thread group id: the pid of the thread group leader (absent = a single-threaded process) */
  tgid?: number;
  /** signal->oom_score_adj, −1000..1000 (include/uapi/linux/oom.h); absent = 0. Shared by the thread
   * group, inherited by fork (copy_signal). See src/mm/oom_kill.ts */
  oom_score_adj?: number;
  /** task->mempolicy (set_mempolicy); absent = MPOL_DEFAULT (allocate on the node of the task's CPU) */
  mempolicy?: import("../mm/mempolicy").mempolicy;
  /** tsk_is_oom_victim(): the OOM killer sent it SIGKILL (src/mm/oom_kill.ts) */
  oom_victim?: boolean;
}

export class task_table {
  tasks = new Map<number, task_struct>();
  /** the last PID handed out (pid_ns->last_pid... alloc_pid) */
  last_pid = 999;
  next_mm_id = 1;
  inodes = new Map<number, inode>();
  /** ZERO_PAGE(0): PFN of the shared zero page, -1 until reserved */
  zero_pfn = -1;
  /** ASLR (randomize_va_space): 0 off (the default), 2 full */
  randomize_va_space = 0;

  clone_for(_ms: MachineState): task_table {
    const c = new task_table();
    c.last_pid = this.last_pid;
    c.next_mm_id = this.next_mm_id;
    c.zero_pfn = this.zero_pfn;
    c.randomize_va_space = this.randomize_va_space;
    const inodes = new Map<number, inode>();
    for (const [k, v] of this.inodes) inodes.set(k, { ...v, pages: new Map(v.pages) });
    c.inodes = inodes;
    const mms = new Map<mm_struct, mm_struct>();
    for (const [pid, t] of this.tasks) {
      let mm: mm_struct | null = null;
      if (t.mm) {
        mm = mms.get(t.mm) ?? t.mm.clone(inodes);
        mms.set(t.mm, mm);
      }
      c.tasks.set(pid, { ...t, mm });
    }
    return c;
  }
}

declare module "./machine" {
  interface MachineState {
    /** processes, see src/kernel/sched.ts */
    procs?: task_table;
  }
}

export function task_table_of(ms: MachineState): task_table {
  return (ms.procs ??= new task_table());
}

/** find_task_by_vpid() */
export function find_task(ms: MachineState, pid: number): task_struct | undefined {
  return ms.procs?.tasks.get(pid);
}
