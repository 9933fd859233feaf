/**
 * The address space of a process (mm/mmap.c, mm/vma.c, mm/mprotect.c, Linux 6.12): mm_struct with a
 * sorted, disjoint array of vm_area_structs (the kernel keeps a maple tree; an array sorted by
 * vm_start answers the same queries), get_unmapped_area (top-down, with the stack guard gap), mmap of
 * anonymous private/shared/fixed memory, munmap, mprotect (splitting and merging as vma_merge does),
 * brk, madvise's fork advices (MADV_DONTFORK/WIPEONFORK). Page-table work is delegated to mm/memory.ts (zap) and mm/pgtable.ts (free_pgd_range).
 *
 * Addresses are bigints; the engine trusts its caller (src/api/process.ts validates) and throws
 * MmError only for what the kernel itself would refuse (ENOMEM: no room, EACCES-like refusals).
 */
import { MmError } from "../errors";
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { flush_tlb_mm_range } from "../hw/tlb";
import { change_pte_range, put_cache_page, zap_page_range } from "./memory";
import { _PAGE_ACCESSED, _PAGE_GLOBAL, _PAGE_NX, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, free_pgd_range, pt_format_of, type pt_owner } from "./pgtable";

const F = "mm/mmap.c";
const FV = "mm/vma.c";

// ---------------------------------------------------------------- flags (include/linux/mm.h)

export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
/** VM_DONTCOPY: not copied by fork (madvise MADV_DONTFORK) */
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
/** VM_WIPEONFORK: the child gets the VMA without its pages (madvise MADV_WIPEONFORK) */
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_MIXEDMAP = 0x10000000;
/** VM_SPECIAL: never merged (include/linux/mm.h) */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

/** mnemonics of show_smap_vma_flags() (fs/proc/task_mmu.c), by bit */
export const VM_MNEMONICS: [number, string][] = [
  [0x1, "rd"], [0x2, "wr"], [0x4, "ex"], [0x8, "sh"], [0x10, "mr"], [0x20, "mw"], [0x40, "me"], [0x80, "ms"],
  [0x100, "gd"], [0x200, "um"], [0x400, "pf"], [0x1000, "uw"], [0x2000, "lo"], [0x4000, "io"], [0x8000, "sr"], [0x10000, "rr"],
  [0x20000, "dc"], [0x40000, "de"], [0x80000, "lf"], [0x100000, "ac"], [0x200000, "nr"], [0x400000, "ht"], [0x800000, "sf"],
  [0x1000000, "ar"], [0x2000000, "wf"], [0x4000000, "dd"], [0x8000000, "sd"], [0x10000000, "mm"], [0x20000000, "hg"],
  [0x40000000, "nh"], [0x80000000, "mg"],
];

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x100;
export const MAP_NORESERVE = 0x4000;
export const MAP_FIXED_NOREPLACE = 0x100000;

/** x86 protection_map[] (arch/x86/mm/pgprot.c): VM_READ|WRITE|EXEC|SHARED → pgprot */
const PAGE_NONE = _PAGE_ACCESSED | _PAGE_GLOBAL; // ___A | _PAGE_PROTNONE (= G)
const PAGE_SHARED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
const PAGE_SHARED_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED;
const PAGE_COPY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
const PAGE_COPY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
const PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
const PAGE_READONLY_EXEC = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
export const protection_map: number[] = [
  PAGE_NONE, PAGE_READONLY, PAGE_COPY, PAGE_COPY, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_COPY_EXEC, PAGE_COPY_EXEC,
  PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
];

/** vm_get_page_prot() */
export function vm_get_page_prot(vm_flags: number): number {
  return protection_map[vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)]!;
}

/** calc_vm_prot_bits() */
export function calc_vm_prot_bits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

// ---------------------------------------------------------------- objects

/** an inode with its page cache: an executable, or the shmem object behind MAP_SHARED|MAP_ANONYMOUS */
export interface inode {
  ino: number;
  /** "MAJOR:MINOR" as /proc/PID/maps prints it */
  dev: string;
  /** the path /proc/PID/maps shows */
  path: string;
  kind: "file" | "shmem";
  /** page cache: page offset → PFN (the cache holds one reference) */
  pages: Map<number, number>;
  /** VMAs mapping it (i_mmap); a shmem object dies with its last mapping */
  nr_vmas: number;
}

export interface vm_area_struct {
  vm_start: bigint;
  vm_end: bigint;
  vm_flags: number;
  /** offset in pages: into the file, or vm_start >> PAGE_SHIFT for anonymous memory */
  vm_pgoff: number;
  vm_file?: inode;
  /** vm_ops->name() / arch_vma_name(): "[vdso]", "[vvar]" */
  special?: string;
  /** vma->anon_vma != NULL: an anonymous page was ever installed here (anon_vma_prepare) */
  anon_vma?: boolean;
}

/** mm_struct (include/linux/mm_types.h), the part the VM needs */
export class mm_struct implements pt_owner {
  /** an id for the TLB (the ASID we do not have) */
  readonly id: number;
  /** mm->pgd: PFN of the top-level table */
  pgd = -1;
  /** page-table frames, pgd included (mm_pgtables_bytes / PAGE_SIZE) */
  nr_pgtables = 0;
  /** mm->mm_users: the tasks using this address space (threads share one; mmput() tears it down at 0) */
  mm_users = 1;
  /** the VMAs, sorted by vm_start, disjoint */
  vmas: vm_area_struct[] = [];
  /** rss_stat: MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES, MM_SWAPENTS (swap entries in its page tables; not RSS) */
  rss = { file: 0, anon: 0, shmem: 0, swapents: 0 };
  /** the root anon_vma this mm's anonymous pages belong to: its own id, or its fork ancestor's (anon_vma_fork
   * chains a child's VMAs to the parent's anon_vma); rmap looks for a page's PTEs only in mms sharing it */
  anon_vma_root = 0;
  /** mm->locked_vm: pages in VM_LOCKED VMAs (mm/mlock.c), checked against RLIMIT_MEMLOCK */
  locked_vm = 0;
  /** mm->def_flags: VM_LOCKED after mlockall(MCL_FUTURE) — every new mapping is locked */
  def_flags = 0;
  /** RLIMIT_MEMLOCK in bytes (the kernel keeps it in signal->rlim; one mm per process here): MLOCK_LIMIT, 8 MiB */
  rlim_memlock = 8 << 20;
  hiwater_rss = 0;
  start_code = 0n;
  end_code = 0n;
  start_data = 0n;
  end_data = 0n;
  start_brk = 0n;
  brk = 0n;
  start_stack = 0n;
  mmap_base = 0n;
  /** mmap_legacy_base: the bottom-up start (TASK_UNMAPPED_BASE) */
  mmap_legacy_base = 0n;
  task_size = 0n;
  constructor(id: number) {
    this.id = id;
    this.anon_vma_root = id;
  }
  get total_vm(): bigint {
    return this.vmas.reduce((a, v) => a + (v.vm_end - v.vm_start), 0n);
  }
  get rss_pages(): number {
    return this.rss.file + this.rss.anon + this.rss.shmem;
  }
  /** a deep copy (snapshots): inodes are mapped to the clone's inodes */
  clone(inodes: Map<number, inode>): mm_struct {
    const c = new mm_struct(this.id);
    Object.assign(c, { ...this, vmas: [], rss: { ...this.rss } });
    c.vmas = this.vmas.map((v) => ({ ...v, vm_file: v.vm_file ? inodes.get(v.vm_file.ino) : undefined }));
    return c;
  }
}

// ---------------------------------------------------------------- queries

/** find_vma(): the first VMA with vm_end > addr (may start above addr) — index, or vmas.length */
export function find_vma_index(mm: mm_struct, addr: bigint): number {
  const v = mm.vmas;
  let lo = 0;
  let hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v[mid]!.vm_end > addr) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** find_vma() */
export function find_vma(mm: mm_struct, addr: bigint): vm_area_struct | undefined {
  return mm.vmas[find_vma_index(mm, addr)];
}

/** vma_lookup(): the VMA containing addr */
export function vma_lookup(mm: mm_struct, addr: bigint): vm_area_struct | undefined {
  const v = find_vma(mm, addr);
  return v && v.vm_start <= addr ? v : undefined;
}

export function vma_is_anonymous(v: vm_area_struct): boolean {
  return !v.vm_file && !v.special;
}

/** stack_guard_gap: 256 pages (mm/mmap.c); one page on the toy, whose whole space may be 1 MiB */
export function stack_guard_gap(ms: MachineState): bigint {
  return (ms.arch.name === "toy" ? 1n : 256n) * BigInt(ms.arch.PAGE_SIZE);
}

/** vm_start_gap(): a VM_GROWSDOWN VMA keeps the guard gap below it free */
function vm_start_gap(ms: MachineState, v: vm_area_struct): bigint {
  if (!(v.vm_flags & VM_GROWSDOWN)) return v.vm_start;
  const g = v.vm_start - stack_guard_gap(ms);
  return g > v.vm_start ? 0n : g < 0n ? 0n : g;
}

/** mmap_min_addr (CONFIG_DEFAULT_MMAP_MIN_ADDR 65536 on x86; one page on the toy) */
export function mmap_min_addr(ms: MachineState): bigint {
  return ms.arch.name === "toy" ? BigInt(ms.arch.PAGE_SIZE) : 65536n;
}

/** is [addr, addr+len) free of VMAs (and of stack guard gaps)? */
export function range_free(ms: MachineState, mm: mm_struct, addr: bigint, len: bigint): boolean {
  const i = find_vma_index(mm, addr);
  const next = mm.vmas[i];
  if (next && vm_start_gap(ms, next) < addr + len) return false;
  return true;
}

/**
 * get_unmapped_area() → arch_get_unmapped_area_topdown() (arch/x86/kernel/sys_x86_64.c,
 * mm/mmap.c vm_unmapped_area): a hint is used when that range is free; otherwise the highest gap
 * below mm->mmap_base that fits, falling back to a bottom-up search from mmap_legacy_base.
 * Returns the address or undefined (ENOMEM).
 */
export function get_unmapped_area(ms: MachineState, mm: mm_struct, hint: bigint | undefined, len: bigint): bigint | undefined {
  const P = BigInt(ms.arch.PAGE_SIZE);
  const low = mmap_min_addr(ms);
  if (len > mm.task_size - low) return undefined;
  if (hint !== undefined) {
    const a = ((hint + P - 1n) / P) * P;
    if (a >= low && a + len <= mm.task_size && range_free(ms, mm, a, len)) return a;
  }
  // top-down: the gaps between VMAs, highest first, below mmap_base (vm_unmapped_area TOPDOWN)
  const high = mm.mmap_base;
  for (let i = mm.vmas.length; i >= 0; i--) {
    const prev = mm.vmas[i - 1];
    const next = mm.vmas[i];
    const s0 = prev ? prev.vm_end : low;
    const gap_start = s0 < low ? low : s0;
    const e0 = next ? vm_start_gap(ms, next) : mm.task_size;
    const gap_end = e0 < high ? e0 : high;
    if (gap_end > gap_start && gap_end - gap_start >= len) return gap_end - len;
  }
  // bottom-up fallback (arch_get_unmapped_area)
  let addr = mm.mmap_legacy_base > low ? mm.mmap_legacy_base : low;
  for (let i = find_vma_index(mm, addr); i <= mm.vmas.length; i++) {
    const next = mm.vmas[i];
    const end = next ? vm_start_gap(ms, next) : mm.task_size;
    if (end > addr && end - addr >= len) return addr;
    if (next && next.vm_end > addr) addr = next.vm_end;
  }
  return undefined;
}

// ---------------------------------------------------------------- VMA surgery

/** can `a` (below) and `b` (above, adjacent) be one VMA? (is_mergeable_vma + pgoff continuity) */
export function can_merge(ms: MachineState, a: vm_area_struct, b: vm_area_struct): boolean {
  if (a.vm_end !== b.vm_start) return false;
  if (a.vm_flags !== b.vm_flags || a.vm_flags & VM_SPECIAL) return false;
  if (a.vm_file !== b.vm_file || a.special || b.special) return false;
  const pages = Number((a.vm_end - a.vm_start) / BigInt(ms.arch.PAGE_SIZE));
  return a.vm_pgoff + pages === b.vm_pgoff;
}

/** __split_vma(): cut the VMA at index i at addr (inside it); the upper part follows it */
export function split_vma(ms: MachineState, mm: mm_struct, i: number, addr: bigint): void {
  const v = mm.vmas[i]!;
  const upper: vm_area_struct = { ...v, vm_start: addr, vm_pgoff: v.vm_pgoff + Number((addr - v.vm_start) / BigInt(ms.arch.PAGE_SIZE)) };
  v.vm_end = addr;
  mm.vmas.splice(i + 1, 0, upper);
  if (v.vm_file) v.vm_file.nr_vmas++;
  if (ms.trace.on) ms.trace.emit("__split_vma", FV, `split ${hex(v.vm_start)}-${hex(upper.vm_end)} at ${hex(addr)}`, { at: hex(addr) });
}

/** vma_modify()'s first step (mm/vma.c): split the VMAs at start and end so that exactly the VMAs
 * mm.vmas[i..j) cover [start, end), which must be mapped throughout */
export function split_vmas_at(ms: MachineState, mm: mm_struct, start: bigint, end: bigint): [number, number] {
  let i = find_vma_index(mm, start);
  if (mm.vmas[i]!.vm_start < start) {
    split_vma(ms, mm, i, start);
    i++;
  }
  let j = i;
  while (j < mm.vmas.length && mm.vmas[j]!.vm_start < end) j++;
  if (mm.vmas[j - 1]!.vm_end > end) split_vma(ms, mm, j - 1, end);
  return [i, j];
}

/** merge vmas[i] with vmas[i+1] if they can be one (vma_merge / commit_merge) */
export function try_merge(ms: MachineState, mm: mm_struct, i: number): boolean {
  const a = mm.vmas[i];
  const b = mm.vmas[i + 1];
  if (!a || !b || !can_merge(ms, a, b)) return false;
  if (ms.trace.on) ms.trace.emit("vma_merge", FV, `merge ${hex(a.vm_start)}-${hex(a.vm_end)} with ${hex(b.vm_start)}-${hex(b.vm_end)}: same flags${a.vm_file ? ", same file, contiguous offsets" : ", both anonymous"}`);
  a.vm_end = b.vm_end;
  // the merged VMA keeps an anon_vma if either half had one (is_mergeable_anon_vma allows one NULL)
  if (b.anon_vma) a.anon_vma = true;
  if (b.vm_file) b.vm_file.nr_vmas--;
  mm.vmas.splice(i + 1, 1);
  return true;
}

/** insert a new VMA, merging with its neighbours where vma_merge_new_range() would */
export function insert_vma(ms: MachineState, mm: mm_struct, v: vm_area_struct): vm_area_struct {
  const i = find_vma_index(mm, v.vm_start);
  mm.vmas.splice(i, 0, v);
  if (v.vm_file) v.vm_file.nr_vmas++;
  let at = i;
  if (try_merge(ms, mm, at)) {
    /* merged with next */
  }
  if (at > 0 && try_merge(ms, mm, at - 1)) at--;
  return mm.vmas[at]!;
}

// ---------------------------------------------------------------- mmap / munmap

export interface mmap_args {
  addr?: bigint;
  len: bigint;
  prot: number;
  flags: number;
  /** a file mapping (exec's text and data) and its page offset */
  file?: inode;
  pgoff?: number;
  /** extra vm_flags (VM_GROWSDOWN for the stack, VM_DONTEXPAND…) */
  vm_flags?: number;
  special?: string;
}

/** the VMA flags an mmap would give (do_mmap) */
export function mmap_vm_flags(a: mmap_args): number {
  let f = calc_vm_prot_bits(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | (a.vm_flags ?? 0);
  if (a.flags & MAP_SHARED) f |= VM_SHARED | VM_MAYSHARE;
  if (a.flags & MAP_NORESERVE) f |= VM_NORESERVE;
  // accountable_mapping(): private writable memory is charged (VM_ACCOUNT)
  if ((f & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE) f |= VM_ACCOUNT;
  return f;
}

/**
 * do_mmap() → mmap_region() (mm/mmap.c): pick the address (MAP_FIXED: as given, unmapping what was
 * there), make the VMA (merged with its neighbours where possible). No page is touched: memory is
 * allocated at the first access (demand paging). Returns the address; throws ENOMEM/EEXIST.
 */
export function do_mmap(ms: MachineState, mm: mm_struct, a: mmap_args, newShmem?: () => inode): bigint {
  const P = BigInt(ms.arch.PAGE_SIZE);
  const len = ((a.len + P - 1n) / P) * P;
  let addr: bigint;
  if (a.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    addr = a.addr!;
    if (addr + len > mm.task_size) throw new MmError("ENOMEM", `addr: ${hex(addr)}+${hex(len)} goes past the end of user space (${hex(mm.task_size)})`, { arg: "addr" });
    if (a.flags & MAP_FIXED_NOREPLACE && !range_free(ms, mm, addr, len)) throw new MmError("EINVAL", `addr: MAP_FIXED_NOREPLACE and ${hex(addr)}-${hex(addr + len)} overlaps an existing mapping (EEXIST)`, { arg: "addr", errno: "EEXIST" });
  } else {
    let got: bigint | undefined;
    const pmd = thp_pmd_size(ms);
    if (pmd && !a.file && a.addr === undefined && len % pmd === 0n) {
      // __get_unmapped_area() → thp_get_unmapped_area_vmflags() (mm/huge_memory.c): an anonymous
      // mapping that is a multiple of PMD_SIZE is placed PMD-aligned, searching len + PMD_SIZE
      const padded = get_unmapped_area(ms, mm, undefined, len + pmd);
      if (padded !== undefined) got = padded + ((-padded % pmd) + pmd) % pmd;
    }
    if (got === undefined) got = get_unmapped_area(ms, mm, a.addr, len);
    if (got === undefined) throw new MmError("ENOMEM", `len: no free range of ${hex(len)} bytes in the address space`, { arg: "len" });
    addr = got;
  }
  // mm->def_flags: VM_LOCKED after mlockall(MCL_FUTURE); mlock_future_ok() against RLIMIT_MEMLOCK
  const vm_flags = mmap_vm_flags(a) | (a.special ? 0 : mm.def_flags);
  if (vm_flags & VM_LOCKED) {
    const limit = Math.floor(mm.rlim_memlock / ms.arch.PAGE_SIZE);
    if (mm.locked_vm + Number(len / P) > limit) throw new MmError("EAGAIN", `len: mlockall(MCL_FUTURE) locks every new mapping, and ${mm.locked_vm} locked pages + ${len / P} would pass RLIMIT_MEMLOCK (${limit} pages): EAGAIN (mlock_future_ok)`, { arg: "len" });
  }
  // security_vm_enough_memory_mm() → __vm_enough_memory() (mm/util.c), vm.overcommit_memory = 0
  // (OVERCOMMIT_GUESS): a charged mapping bigger than all RAM plus all swap is refused; anything smaller is
  // allowed, however much is already committed (the heuristic overcommit)
  if (vm_flags & VM_ACCOUNT) {
    const pages = Number(len / P);
    const limit = ms.totalram_pages + (ms.swap?.pages ?? 0);
    if (pages > limit) {
      const t = [...(ms.procs?.tasks.values() ?? [])].find((x) => x.mm === mm);
      ms.printk(`__vm_enough_memory: pid: ${t?.pid ?? 0}, comm: ${t?.comm ?? ms.comm}, bytes: ${len} not enough memory for the allocation`);
      throw new MmError("ENOMEM", `len: ${hex(len)} bytes (${pages} pages) is more than all RAM (${ms.totalram_pages} pages) plus all swap (${ms.swap?.pages ?? 0} pages): __vm_enough_memory refuses it (vm.overcommit_memory = 0, the heuristic)`, { arg: "len" });
    }
  }
  if (ms.trace.on) ms.trace.emit("do_mmap", F, `${hex(addr)}-${hex(addr + len)} (${len / 1024n} KiB) ${vm_flags & VM_SHARED ? "shared" : "private"} ${a.file ? a.file.path : a.special ?? "anonymous"}${a.flags & MAP_FIXED ? " MAP_FIXED" : ""}`, { addr: hex(addr), len: Number(len) });
  if (a.flags & MAP_FIXED) do_munmap(ms, mm, addr, len);
  let file = a.file;
  let pgoff = a.pgoff ?? 0;
  if (!file && a.flags & MAP_SHARED && newShmem) {
    // shmem_zero_setup(): shared anonymous memory is a shmem file, "/dev/zero (deleted)"
    file = newShmem();
    pgoff = 0;
  } else if (!file) pgoff = Number(addr / P);
  const v: vm_area_struct = { vm_start: addr, vm_end: addr + len, vm_flags, vm_pgoff: pgoff };
  if (file) v.vm_file = file;
  if (a.special) v.special = a.special;
  insert_vma(ms, mm, v);
  if (vm_flags & VM_LOCKED) mm.locked_vm += Number(len / P);
  return addr;
}

/**
 * do_vmi_munmap() (mm/vma.c): split the VMAs at the range's ends, zap their pages, free the page
 * tables that only they used (free_pgtables with the neighbours as floor and ceiling), flush the TLB.
 * Unmapping a range with no mapping is not an error.
 */
export function do_munmap(ms: MachineState, mm: mm_struct, start: bigint, len: bigint): void {
  const P = BigInt(ms.arch.PAGE_SIZE);
  const end = start + ((len + P - 1n) / P) * P;
  let i = find_vma_index(mm, start);
  if (i >= mm.vmas.length || mm.vmas[i]!.vm_start >= end) return;
  if (mm.vmas[i]!.vm_start < start) {
    split_vma(ms, mm, i, start);
    i++;
  }
  let j = i;
  while (j < mm.vmas.length && mm.vmas[j]!.vm_start < end) j++;
  const last = mm.vmas[j - 1]!;
  if (last.vm_end > end) split_vma(ms, mm, j - 1, end);
  const gone = mm.vmas.slice(i, j);
  if (ms.trace.on) ms.trace.emit("do_vmi_munmap", FV, `unmap ${hex(start)}-${hex(end)}: ${gone.length} VMA${gone.length > 1 ? "s" : ""}`, { start: hex(start), end: hex(end) });
  for (const v of gone) {
    zap_page_range(ms, mm, v, v.vm_start, v.vm_end);
    // munlock_vma_pages_range() on unmap: a locked VMA's pages leave mm->locked_vm
    if (v.vm_flags & VM_LOCKED) mm.locked_vm -= Number((v.vm_end - v.vm_start) / P);
  }
  mm.vmas.splice(i, j - i);
  const floor = i > 0 ? mm.vmas[i - 1]!.vm_end : 0n;
  const ceiling = mm.vmas[i] ? mm.vmas[i]!.vm_start : 0n;
  free_pgd_range(ms, mm, mm.pgd, gone[0]!.vm_start, gone[gone.length - 1]!.vm_end, floor, ceiling);
  flush_tlb_mm_range(ms, mm.id, gone[0]!.vm_start, gone[gone.length - 1]!.vm_end);
  for (const v of gone) release_file(ms, v);
}

/** fput() of a VMA's file: a shmem object with no mapping left frees its pages */
export function release_file(ms: MachineState, v: vm_area_struct): void {
  const f = v.vm_file;
  if (!f) return;
  f.nr_vmas--;
  if (f.kind === "shmem" && f.nr_vmas === 0) shmem_evict_inode(ms, f);
}

/** shmem_evict_inode(): the object's pages go back to the buddy allocator */
export function shmem_evict_inode(ms: MachineState, f: inode): void {
  for (const pfn of f.pages.values()) put_cache_page(ms, pfn);
  f.pages.clear();
  ms.procs?.inodes.delete(f.ino);
  if (ms.trace.on) ms.trace.emit("shmem_evict_inode", "mm/shmem.c", `last mapping of ${f.path} (inode ${f.ino}) gone: its pages are freed`);
}

/** is [start, end) wholly covered by VMAs? */
export function range_mapped(mm: mm_struct, start: bigint, end: bigint): boolean {
  let at = start;
  let i = find_vma_index(mm, start);
  while (at < end) {
    const v = mm.vmas[i++];
    if (!v || v.vm_start > at) return false;
    at = v.vm_end;
  }
  return true;
}

/**
 * do_mprotect_pkey() → mprotect_fixup() (mm/mprotect.c): new protection bits on every VMA in the
 * range, splitting at the range's ends and merging with neighbours whose flags now match;
 * change_protection() rewrites the present PTEs and the TLB is flushed. A writable private VMA is
 * charged (VM_ACCOUNT) the first time it becomes writable. The range must be mapped throughout
 * (else ENOMEM, and — unlike the kernel, which changes the VMAs before the hole — nothing changes).
 */
export function do_mprotect(ms: MachineState, mm: mm_struct, start: bigint, len: bigint, prot: number): void {
  const P = BigInt(ms.arch.PAGE_SIZE);
  const end = start + ((len + P - 1n) / P) * P;
  if (end === start) return;
  if (!range_mapped(mm, start, end)) throw new MmError("ENOMEM", `addr: ${hex(start)}-${hex(end)} is not mapped throughout (mprotect returns ENOMEM)`, { arg: "addr" });
  const newbits = calc_vm_prot_bits(prot);
  for (let k = find_vma_index(mm, start); k < mm.vmas.length && mm.vmas[k]!.vm_start < end; k++) {
    const v = mm.vmas[k]!;
    // VM_MAY* bounds what mprotect may grant
    if (newbits & ~(v.vm_flags >> 4) & (VM_READ | VM_WRITE | VM_EXEC)) throw new MmError("EPERM", `prot: ${hex(v.vm_start)}-${hex(v.vm_end)} may not become ${prot & PROT_WRITE ? "writable" : "executable"} (EACCES: its VM_MAY* bits forbid it)`, { arg: "prot" });
  }
  const [i, j] = split_vmas_at(ms, mm, start, end);
  for (let k = i; k < j; k++) {
    const v = mm.vmas[k]!;
    const old = v.vm_flags;
    let nf = (old & ~(VM_READ | VM_WRITE | VM_EXEC)) | newbits;
    if (nf & VM_WRITE && !(old & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))) nf |= VM_ACCOUNT;
    v.vm_flags = nf;
    if (ms.trace.on) ms.trace.emit("mprotect_fixup", "mm/mprotect.c", `${hex(v.vm_start)}-${hex(v.vm_end)}: ${perms(old)} → ${perms(nf)}`);
    change_pte_range(ms, mm, v);
  }
  flush_tlb_mm_range(ms, mm.id, start, end);
  // merge the changed VMAs with each other and with their outer neighbours
  for (let k = j - 1; k >= i - 1 && k >= 0; k--) try_merge(ms, mm, k);
}

/** "rwxp" of a VMA */
export function perms(f: number): string {
  return (f & VM_READ ? "r" : "-") + (f & VM_WRITE ? "w" : "-") + (f & VM_EXEC ? "x" : "-") + (f & VM_MAYSHARE ? "s" : "p");
}

/** VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT: the heap's flags (do_brk_flags) */
export const VM_BRK_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;

/**
 * sys_brk() (mm/mmap.c): move the program break. Shrinking unmaps; growing extends the VMA that ends
 * at the old break (do_brk_flags) or makes one, unless it would run into the next mapping (then the
 * break stays). Returns the new mm->brk (the old one when refused), as the syscall does.
 */
export function do_brk(ms: MachineState, mm: mm_struct, brk: bigint): bigint {
  const P = BigInt(ms.arch.PAGE_SIZE);
  const align = (x: bigint) => ((x + P - 1n) / P) * P;
  if (brk < mm.start_brk) return mm.brk;
  const newbrk = align(brk);
  const oldbrk = align(mm.brk);
  if (newbrk === oldbrk) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    if (ms.trace.on) ms.trace.emit("brk", F, `shrink the heap: ${hex(mm.brk)} → ${hex(brk)}`);
    do_munmap(ms, mm, newbrk, oldbrk - newbrk);
    mm.brk = brk;
    return brk;
  }
  const next = mm.vmas[find_vma_index(mm, oldbrk)];
  if (next && newbrk + P > vm_start_gap(ms, next)) {
    if (ms.trace.on) ms.trace.emit("brk", F, `refused: ${hex(newbrk)} would run into the mapping at ${hex(next.vm_start)}`);
    return mm.brk;
  }
  if (newbrk > mm.task_size) return mm.brk;
  if (ms.trace.on) ms.trace.emit("do_brk_flags", F, `grow the heap: ${hex(oldbrk)} → ${hex(newbrk)}`);
  insert_vma(ms, mm, { vm_start: oldbrk, vm_end: newbrk, vm_flags: VM_BRK_FLAGS, vm_pgoff: Number(oldbrk / P) });
  mm.brk = brk;
  return brk;
}

/** HPAGE_PMD_SIZE where the arch has transparent huge pages (x86-64, PAE: 2 MiB), else 0 */
export function thp_pmd_size(ms: MachineState): bigint {
  return ms.arch.name === "x86_64" || ms.arch.name === "x86_pae" ? 2n << 20n : 0n;
}

/** the format's user-space end, for the facade */
export function user_end(ms: MachineState): bigint {
  return pt_format_of(ms.arch).task_size;
}

export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;

/**
 * madvise_vma_behavior() (mm/madvise.c, 6.12) for the fork advices: MADV_DONTFORK/DOFORK set/clear
 * VM_DONTCOPY, MADV_WIPEONFORK/KEEPONFORK set/clear VM_WIPEONFORK (private anonymous VMAs only, else
 * EINVAL), splitting at the range's ends and merging like mprotect. The range must be mapped (ENOMEM).
 */
export function do_madvise(ms: MachineState, mm: mm_struct, start: bigint, len: bigint, advice: number): void {
  const P = BigInt(ms.arch.PAGE_SIZE);
  const end = start + ((len + P - 1n) / P) * P;
  if (end === start) return;
  if (!range_mapped(mm, start, end)) throw new MmError("ENOMEM", `addr: ${hex(start)}-${hex(end)} is not mapped throughout (madvise returns ENOMEM)`, { arg: "addr" });
  for (let k = find_vma_index(mm, start); k < mm.vmas.length && mm.vmas[k]!.vm_start < end; k++) {
    const v = mm.vmas[k]!;
    if ((advice === MADV_WIPEONFORK || advice === MADV_KEEPONFORK) && (v.vm_flags & VM_SHARED || !vma_is_anonymous(v))) throw new MmError("EINVAL", `advice: MADV_${advice === MADV_WIPEONFORK ? "WIPEONFORK" : "KEEPONFORK"} applies to private anonymous memory only; ${hex(v.vm_start)}-${hex(v.vm_end)} is ${v.vm_flags & VM_SHARED ? "shared" : "file-backed"}`, { arg: "advice" });
    if ((advice === MADV_DONTFORK || advice === MADV_DOFORK) && v.vm_flags & VM_IO) throw new MmError("EINVAL", `advice: ${hex(v.vm_start)}-${hex(v.vm_end)} is VM_IO (MADV_DONTFORK/DOFORK refused)`, { arg: "advice" });
  }
  const [bit, set] = advice === MADV_DONTFORK ? [VM_DONTCOPY, true] : advice === MADV_DOFORK ? [VM_DONTCOPY, false] : advice === MADV_WIPEONFORK ? [VM_WIPEONFORK, true] : [VM_WIPEONFORK, false];
  const [i, j] = split_vmas_at(ms, mm, start, end);
  for (let k = i; k < j; k++) {
    const v = mm.vmas[k]!;
    v.vm_flags = set ? v.vm_flags | bit : v.vm_flags & ~bit;
  }
  if (ms.trace.on) ms.trace.emit("madvise_vma_behavior", "mm/madvise.c", `${hex(start)}-${hex(end)}: ${set ? "set" : "clear"} ${bit === VM_DONTCOPY ? "VM_DONTCOPY" : "VM_WIPEONFORK"} on ${j - i} VMA${j - i > 1 ? "s" : ""}`);
  for (let k = j - 1; k >= i - 1 && k >= 0; k--) try_merge(ms, mm, k);
}
