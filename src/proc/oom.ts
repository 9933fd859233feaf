/**
 * /proc/PID/oom_score and /proc/PID/oom_score_adj (fs/proc/base.c, Linux 6.12): proc_oom_score()
 * prints "%lu\n" of (1000 + oom_badness() * 1000 / totalpages) * 2 / 3, 0 for a task the OOM killer
 * never picks (oom_score_adj −1000); oom_score_adj_read() prints "%d\n" of signal->oom_score_adj.
 */
import type { MachineState } from "../kernel/machine";
import type { task_struct } from "../kernel/sched";
import { oom_score_adj_of, proc_oom_score_value } from "../mm/oom_kill";

/** proc_oom_score() */
export function proc_oom_score(ms: MachineState, task: task_struct): string {
  return `${proc_oom_score_value(ms, task)}\n`;
}

/** oom_score_adj_read() */
export function proc_oom_score_adj(task: task_struct): string {
  return `${oom_score_adj_of(task)}\n`;
}
