/**
 * A new process and its image (fs/exec.c, fs/binfmt_elf.c load_elf_binary, arch/x86/mm/mmap.c
 * arch_pick_mmap_layout, arch/x86/entry/vdso/vma.c map_vdso, Linux 6.12). The executable is a
 * small made-up ELF file `/usr/bin/<name>`: on 32-bit a classic non-PIE binary at 0x08048000 (text,
 * data, bss), on x86-64 a PIE at ELF_ET_DYN_BASE 0x555555554000 (headers, text, rodata, data, bss);
 * the break starts right after the bss; mmap_base is TASK_SIZE − 128 MiB (the minimum gap); the
 * [stack] VMA is 132 KiB under STACK_TOP; [vvar] and [vdso] are placed top-down under mmap_base.
 * ASLR is off unless `randomize` (then offsets come from ms.rng, with the kernel's entropy bits).
 */
import { MmError } from "../errors";
import type { MachineState } from "./machine";
import { task_table_of, type task_struct } from "./sched";
import { hex } from "../lib/units";
import { handle_mm_fault, user_access, zero_pfn } from "../mm/memory";
import { MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, VM_ACCOUNT, VM_DONTDUMP, VM_DONTEXPAND, VM_EXEC, VM_GROWSDOWN, VM_IO, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_WRITE, VM_BRK_FLAGS, do_mmap, get_unmapped_area, insert_vma, stack_guard_gap, mm_struct, type inode } from "../mm/mmap";
import { pgd_alloc, pgtable, pt_format_of } from "../mm/pgtable";
import { do_exit } from "./exit";

const F = "fs/binfmt_elf.c";

/** a deterministic inode number per path (an ext4-looking number) */
function ino_for(path: string): number {
  let h = 2166136261;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 16777619) >>> 0;
  return 131073 + (h % 1900000);
}

/** the inode of a path (files persist with their page cache; there is no reclaim yet) */
export function file_inode(ms: MachineState, path: string): inode {
  const t = task_table_of(ms);
  for (const f of t.inodes.values()) if (f.kind === "file" && f.path === path) return f;
  let ino = ino_for(path);
  while (t.inodes.has(ino)) ino++;
  const f: inode = { ino, dev: "08:01", path, kind: "file", pages: new Map(), nr_vmas: 0 };
  t.inodes.set(ino, f);
  return f;
}

/** shmem_zero_setup() → shmem_kernel_file_setup("dev/zero"): a new shmem object on the internal mount */
export function shmem_zero_inode(ms: MachineState): inode {
  const t = task_table_of(ms);
  let ino = 1000 + t.inodes.size;
  while (t.inodes.has(ino)) ino++;
  const f: inode = { ino, dev: "00:01", path: "/dev/zero (deleted)", kind: "shmem", pages: new Map(), nr_vmas: 0 };
  t.inodes.set(ino, f);
  return f;
}

/** arch_pick_mmap_layout(): mmap_base = PAGE_ALIGN(TASK_SIZE − gap − rnd), gap clamped to ≥ 128 MiB */
function arch_pick_mmap_layout(ms: MachineState, mm: mm_struct, rnd: bigint): void {
  const fmt = pt_format_of(ms.arch);
  const P = BigInt(ms.arch.PAGE_SIZE);
  // DEFAULT_MAP_WINDOW on x86-64 (47 bits even with LA57)
  const task_size = ms.arch.name === "x86_64" ? (1n << 47n) - 4096n : fmt.task_size;
  mm.task_size = fmt.task_size;
  if (ms.arch.name === "toy") {
    mm.mmap_base = ((task_size - task_size / 4n) / P) * P;
    mm.mmap_legacy_base = ((task_size / 3n) / P) * P;
    return;
  }
  // gap = RLIMIT_STACK (8 MiB) + stack_guard_gap + stack_maxrandom_size() (22 bits of pages on
  // x86-64, 11 on i386, when randomizing)
  const stack_rnd = task_table_of(ms).randomize_va_space ? (ms.arch.bits === 64 ? 1n << 22n : 1n << 11n) * BigInt(ms.arch.PAGE_SIZE) : 0n;
  let gap = (8n << 20n) + stack_guard(ms) + stack_rnd;
  const gap_min = 128n << 20n;
  const gap_max = (task_size / 6n) * 5n;
  if (gap < gap_min) gap = gap_min;
  else if (gap > gap_max) gap = gap_max;
  mm.mmap_base = ((task_size - gap - rnd) / P) * P;
  mm.mmap_legacy_base = ((task_size / 3n) / P) * P + rnd;
}

function stack_guard(ms: MachineState): bigint {
  return stack_guard_gap(ms);
}

function rnd_pages(ms: MachineState, bits: number): bigint {
  const t = task_table_of(ms);
  if (!t.randomize_va_space) return 0n;
  const hi = bits > 24 ? ms.rng.below(2 ** (bits - 24)) : 0;
  const lo = ms.rng.below(2 ** Math.min(24, bits));
  return ((BigInt(hi) << 24n) | BigInt(lo)) * BigInt(ms.arch.PAGE_SIZE);
}

/**
 * fork()+execve() of /usr/bin/<name>, as one step: a task with a fresh mm whose pgd shares the kernel
 * entries, the ELF segments mapped, the stack made with argv[0] written at its top (so its top page is
 * present), [vvar]/[vdso] installed. Throws ENOMEM (and leaves no trace of the task) if memory runs out.
 */
export function spawn_task(ms: MachineState, name: string, cpu = 0): task_struct {
  const t = task_table_of(ms);
  pgtable(ms);
  if (ms.arch.name !== "toy") zero_pfn(ms);
  const mm = new mm_struct(t.next_mm_id++);
  if (pgd_alloc(ms, mm) < 0) throw new MmError("ENOMEM", "no memory for the new process's page directory");
  mm.pgd = ms.pgt!.pgd_list[ms.pgt!.pgd_list.length - 1]!;
  const pid = ++t.last_pid;
  const task: task_struct = { pid, comm: name.slice(0, 15), mm, state: "running", min_flt: 0, maj_flt: 0, cpu };
  t.tasks.set(pid, task);
  try {
    load_image(ms, task, name);
  } catch (e) {
    do_exit(ms, task);
    t.tasks.delete(pid);
    throw e;
  }
  if (ms.trace.on) ms.trace.emit("load_elf_binary", F, `pid ${pid} (${task.comm}): ${mm.vmas.length} VMAs, break at ${hex(mm.brk)}, stack top ${hex(mm.start_stack)}, mmap_base ${hex(mm.mmap_base)}`, { pid });
  return task;
}

function load_image(ms: MachineState, task: task_struct, name: string): void {
  const mm = task.mm!;
  const P = BigInt(ms.arch.PAGE_SIZE);
  const a = ms.arch;
  const is64 = a.name === "x86_64";
  const toy = a.name === "toy";
  arch_pick_mmap_layout(ms, mm, rnd_pages(ms, is64 ? 28 : 8));
  const exe = file_inode(ms, toy ? `/bin/${name}` : `/usr/bin/${name}`);
  const seg = (addr: bigint, pages: bigint, prot: number, pgoff: number) => do_mmap(ms, mm, { addr, len: pages * P, prot, flags: MAP_PRIVATE | MAP_FIXED, file: exe, pgoff });
  let bss: bigint;
  if (toy) {
    mm.start_code = P;
    seg(P, 1n, PROT_READ | PROT_EXEC, 0);
    mm.end_code = 2n * P;
    mm.start_data = mm.end_data = 2n * P;
    bss = 2n * P;
  } else if (is64) {
    const base = 0x555555554000n + rnd_pages(ms, 28);
    seg(base, 1n, PROT_READ, 0);
    seg(base + 0x1000n, 1n, PROT_READ | PROT_EXEC, 1);
    seg(base + 0x2000n, 1n, PROT_READ, 2);
    seg(base + 0x3000n, 1n, PROT_READ | PROT_WRITE, 3);
    mm.start_code = base + 0x1000n;
    mm.end_code = base + 0x1a2dn;
    mm.start_data = base + 0x3e10n;
    mm.end_data = base + 0x4010n;
    bss = base + 0x4000n;
  } else {
    seg(0x08048000n, 2n, PROT_READ | PROT_EXEC, 0);
    seg(0x0804a000n, 1n, PROT_READ | PROT_WRITE, 1);
    mm.start_code = 0x08048000n;
    mm.end_code = 0x08049a2dn;
    mm.start_data = 0x0804af08n;
    mm.end_data = 0x0804b010n;
    bss = 0x0804b000n;
  }
  // the bss: vm_brk_flags() of one page of zeroes after the data
  insert_vma(ms, mm, { vm_start: bss, vm_end: bss + P, vm_flags: VM_BRK_FLAGS, vm_pgoff: Number(bss / P) });
  let brk = bss + P;
  if (ms.procs!.randomize_va_space > 1 && !toy) brk += rnd_pages(ms, is64 ? 18 : 13);
  mm.start_brk = mm.brk = brk;
  // the stack: STACK_TOP (= TASK_SIZE, DEFAULT_MAP_WINDOW on x86-64) minus the random offset
  const top = (is64 ? (1n << 47n) - 4096n : mm.task_size) - rnd_pages(ms, is64 ? 22 : 11);
  const stackPages = toy ? 1n : 0x21n;
  insert_vma(ms, mm, { vm_start: top - stackPages * P, vm_end: top, vm_flags: VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_GROWSDOWN | VM_ACCOUNT, vm_pgoff: Number((top - stackPages * P) / P) });
  // argv[0] and envp strings at the top of the stack (copy_strings): the top page becomes present
  const argv0 = new TextEncoder().encode(`${toy ? "/bin/" : "/usr/bin/"}${name}\0`);
  const at = top - BigInt(argv0.length) - 8n;
  mm.start_stack = (at - 64n) & ~15n;
  const r = handle_mm_fault(ms, task, at, "write", false);
  if (!r.ok) throw new MmError("ENOMEM", "no memory for the new process's stack");
  user_access(ms, task, at, "write", argv0);
  task.min_flt = 0;
  if (!toy) {
    // map_vdso(): [vvar] (4 pages, VM_PFNMAP|VM_IO) then [vdso] (2 pages on x86-64, 1 on i386)
    const vvar = 4n * P;
    const vdso = (is64 ? 2n : 1n) * P;
    const addr = get_unmapped_area(ms, mm, undefined, vvar + vdso);
    if (addr === undefined) throw new MmError("ENOMEM", "no room for the vDSO");
    insert_vma(ms, mm, { vm_start: addr, vm_end: addr + vvar, vm_flags: VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP | VM_DONTEXPAND, vm_pgoff: 0, special: "[vvar]" });
    insert_vma(ms, mm, { vm_start: addr + vvar, vm_end: addr + vvar + vdso, vm_flags: VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_DONTEXPAND, vm_pgoff: 0, special: "[vdso]" });
  }
}
