/**
 * The end of a process (kernel/exit.c do_exit → exit_mm → mmput → exit_mmap, mm/mmap.c, Linux 6.12):
 * every VMA's pages are unmapped (their frames go back to the buddy allocator unless the page cache
 * still holds them), every user page table is freed, then the pgd; the CPUs that had the mm loaded
 * switch to the kernel's page table (their non-global TLB entries go).
 */
import type { MachineState } from "./machine";
import { task_table_of, type task_struct } from "./sched";
import { hex } from "../lib/units";
import { tlbs } from "../hw/tlb";
import { zap_page_range } from "../mm/memory";
import { release_file } from "../mm/mmap";
import { free_pgd_range, pgd_free } from "../mm/pgtable";

/** exit_mmap(): tear down an address space */
export function exit_mmap(ms: MachineState, task: task_struct): void {
  const mm = task.mm;
  if (!mm) return;
  const before = mm.nr_pgtables;
  for (const v of mm.vmas) zap_page_range(ms, mm, v, v.vm_start, v.vm_end);
  if (mm.pgd >= 0) free_pgd_range(ms, mm, mm.pgd, 0n, mm.task_size, 0n, 0n);
  const vmas = mm.vmas;
  mm.vmas = [];
  for (const v of vmas) release_file(ms, v);
  if (mm.pgd >= 0) pgd_free(ms, mm, mm.pgd);
  for (const t of tlbs(ms).cpus)
    if (t.loaded_mm === mm.id) {
      for (const [k, e] of t.entries) if (!e.global) t.entries.delete(k);
      t.loaded_mm = -1;
    }
  if (ms.trace.on) ms.trace.emit("exit_mmap", "mm/mmap.c", `pid ${task.pid}: ${vmas.length} VMAs unmapped, ${before} page-table frame${before === 1 ? "" : "s"} freed (pgd at ${hex(mm.pgd)})`);
  mm.pgd = -1;
}

/** do_exit(): the task's memory returns to the allocator; it leaves the task table */
export function do_exit(ms: MachineState, task: task_struct, signal?: string, why?: string): void {
  // exit_mm() → mmput(): the address space goes with its last user (threads share one mm)
  if (task.mm && --task.mm.mm_users <= 0) exit_mmap(ms, task);
  else if (task.mm && ms.trace.on) ms.trace.emit("mmput", "kernel/fork.c", `pid ${task.pid} leaves its mm; ${task.mm.mm_users} other task${task.mm.mm_users === 1 ? "" : "s"} still use${task.mm.mm_users === 1 ? "s" : ""} it`);
  task.mm = null;
  task.state = signal ? "killed" : "exited";
  if (signal) task.signal = signal;
  if (why) task.death = why;
  task_table_of(ms).tasks.delete(task.pid);
  // show_signal_msg() (arch/x86/mm/fault.c, 6.12): "comm[pid]: segfault at ADDR ip IP sp SP error N in
  // OBJ[BASE+SIZE] likely on CPU C (core C, socket S)". mmlab models no registers: "ip … sp …" and the
  // " in …" object they locate are left out, and so is show_opcodes()'s "Code: …" line. Only a SIGSEGV
  // from a fault is reported (SIGKILL, SIGABRT print nothing, as with print-fatal-signals off).
  if (signal === "SIGSEGV" && why && why.startsWith("segfault")) ms.printk(`${task.comm}[${task.pid}]: ${why.replace(/: .*$/, "")} likely on CPU ${task.cpu} (core ${task.cpu}, socket 0)`);
}
