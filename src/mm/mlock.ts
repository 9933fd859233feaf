/**
 * mlock(2), munlock(2), mlockall(2), munlockall(2) (mm/mlock.c, Linux 6.12; Documentation/mm/unevictable-lru.rst).
 *
 * Locking sets VM_LOCKED on the VMAs of the range (splitting them at its ends, mlock_fixup), adds the
 * range to mm->locked_vm, and faults every page in (__mm_populate: a write fault for private writable
 * mappings, so copy-on-write is broken up front). Locked pages carry PG_mlocked and sit on the
 * unevictable LRU list: reclaim never scans it, so they are never swapped. A page that reclaim finds
 * mapped in a VM_LOCKED VMA is moved there too (culled).
 *
 * Limits, as for an unprivileged process (mmlab's processes have no CAP_IPC_LOCK):
 * RLIMIT_MEMLOCK 0 → EPERM (can_do_mlock); locked_vm + len over the limit → ENOMEM (do_mlock), pages
 * already locked in the range not counted twice (count_mm_mlocked_page_nr); mlockall(MCL_CURRENT) needs
 * total_vm within the limit, else ENOMEM; MCL_FUTURE sets mm->def_flags so later mappings are locked
 * (do_mmap checks mlock_future_ok → EAGAIN); mlockall() first clears def_flags' VM_LOCKED, so
 * MCL_CURRENT alone ends an earlier MCL_FUTURE. Locks are not inherited by fork (dup_mmap clears
 * VM_LOCKED; the child's locked_vm is 0). VM_SPECIAL VMAs ([vdso], [vvar]) are skipped by mlock_fixup
 * (not locked, not counted). Pages leave the unevictable list when the last locked VMA mapping them is
 * unlocked, unmapped (munlock_vma_folio from __folio_remove_rmap: unevictable_pgs_munlocked/rescued)
 * or copied away from (COW in a locked VMA). 6.12 keeps a per-folio mlock_count; mmlab asks the rmap
 * whether another VM_LOCKED VMA still maps the page, which gives the same answer.
 * A range with a hole → ENOMEM. Simplification: 6.12's apply_vma_lock_flags() locks the VMAs before the
 * hole and then fails, leaving them locked; mmlab checks the whole range first and changes nothing
 * (the facade's calls are atomic, design.md §5). A failing __mm_populate after the VMAs were locked is
 * reported as 6.12 does (__mlock_posix_error_return: ENOMEM from the fault → EAGAIN), VMAs left locked.
 */
import type { MachineState } from "../kernel/machine";
import type { task_struct } from "../kernel/sched";
import { hex } from "../lib/units";
import { PG_active, PG_mlocked, PG_unevictable } from "./memmap";
import { VM_LOCKED, VM_SHARED, VM_WRITE, find_vma_index, split_vmas_at, try_merge, type mm_struct } from "./mmap";
import { entry_pfn, pt_format_of, pt_walk_range } from "./pgtable";
import { handle_mm_fault, pte_present } from "./memory";
import { rmap_walk_anon } from "./rmap";
import { lruvec_add_folio, lruvec_del_folio } from "./swap";

const F = "mm/mlock.c";
/** MLOCK_LIMIT (include/uapi/linux/resource.h): 8 MiB */
export const MLOCK_LIMIT = 8 << 20;
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

export interface mlock_result {
  ok: boolean;
  errno?: "EPERM" | "ENOMEM" | "EINVAL" | "EAGAIN";
  why: string;
  /** pages newly PG_mlocked (moved to the unevictable list) */
  locked: number;
  /** pages faulted in by __mm_populate */
  faulted: number;
}

/** mlock_folio(): PG_mlocked, onto the unevictable list (from wherever it was) */
export function mlock_folio(ms: MachineState, pfn: number): boolean {
  const f = ms.mem_map.flags[pfn]!;
  if (f & PG_mlocked) return false;
  const onLru = (f & (1 << 7)) !== 0;
  if (onLru) lruvec_del_folio(ms, pfn);
  ms.mem_map.flags[pfn] = (f & ~PG_active) | PG_mlocked | PG_unevictable;
  if (onLru) lruvec_add_folio(ms, pfn);
  ms.vmstat.unevictable_pgs_mlocked++;
  ms.vmstat.unevictable_pgs_culled++;
  return true;
}

/** munlock_folio(): unless another VM_LOCKED VMA maps it, back to the inactive list it goes */
export function munlock_folio(ms: MachineState, pfn: number, except?: mm_struct): boolean {
  const f = ms.mem_map.flags[pfn]!;
  if (!(f & PG_mlocked)) return false;
  let stillLocked = false;
  rmap_walk_anon(ms, pfn, (w) => {
    if (w.mm !== except && w.vma.vm_flags & VM_LOCKED) {
      stillLocked = true;
      return false;
    }
  });
  if (stillLocked) return false;
  const onLru = (f & (1 << 7)) !== 0;
  if (onLru) lruvec_del_folio(ms, pfn);
  ms.mem_map.flags[pfn] = f & ~(PG_mlocked | PG_unevictable);
  if (onLru) lruvec_add_folio(ms, pfn);
  ms.vmstat.unevictable_pgs_munlocked++;
  ms.vmstat.unevictable_pgs_rescued++;
  return true;
}

/** count_mm_mlocked_page_nr(): pages of [start, start+len) already in VM_LOCKED VMAs */
function count_mm_mlocked_page_nr(ms: MachineState, mm: mm_struct, start: bigint, end: bigint): number {
  const P = BigInt(ms.page_size);
  let n = 0n;
  for (const v of mm.vmas) {
    if (v.vm_end <= start || v.vm_start >= end || !(v.vm_flags & VM_LOCKED)) continue;
    n += (v.vm_end < end ? v.vm_end : end) - (v.vm_start > start ? v.vm_start : start);
  }
  return Number(n / P);
}

function range_mapped(mm: mm_struct, start: bigint, end: bigint): boolean {
  let at = start;
  for (let i = find_vma_index(mm, start); i < mm.vmas.length && at < end; i++) {
    const v = mm.vmas[i]!;
    if (v.vm_start > at) return false;
    at = v.vm_end;
  }
  return at >= end;
}

/** mlock_fixup() over [start, end): set or clear VM_LOCKED, keep locked_vm, (un)lock present pages */
function mlock_fixup_range(ms: MachineState, task: task_struct, start: bigint, end: bigint, lock: boolean, onfault: boolean, strict = true): mlock_result {
  const mm = task.mm!;
  const P = BigInt(ms.page_size);
  const fmt = pt_format_of(ms.arch);
  const [i, j] = split_vmas_at(ms, mm, start, end);
  let locked = 0;
  let faulted = 0;
  for (let k = i; k < j; k++) {
    const v = mm.vmas[k]!;
    // mlock_fixup(): a VM_SPECIAL VMA ([vdso], [vvar]: VM_DONTEXPAND) is left alone — "don't set
    // VM_LOCKED or VM_LOCKONFAULT and don't count" (no VM_LOCKED, no locked_vm)
    if (v.special) continue;
    const was = (v.vm_flags & VM_LOCKED) !== 0;
    const pages = Number((v.vm_end - v.vm_start) / P);
    if (lock && !was) {
      v.vm_flags |= VM_LOCKED;
      mm.locked_vm += pages;
    } else if (!lock && was) {
      v.vm_flags &= ~VM_LOCKED;
      mm.locked_vm -= pages;
    }
    // mlock_vma_pages_range(): the pages already present
    pt_walk_range(ms, mm.pgd, v.vm_start, v.vm_end, (_t, _i, _va, e) => {
      if (!pte_present(e.lo) || e.lo & 0x200) return;
      const pfn = entry_pfn(fmt, e.lo, e.hi);
      if (lock ? mlock_folio(ms, pfn) : munlock_folio(ms, pfn)) locked++;
    });
  }
  if (lock && !onfault) {
    // __mm_populate() → populate_vma_page_range(): fault in every page; private writable → write fault
    const was = ms.trace.on;
    ms.trace.on = false;
    try {
      for (let k = i; k < j; k++) {
        const v = mm.vmas[k]!;
        if (v.special) continue;
        const write = (v.vm_flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
        for (let va = v.vm_start; va < v.vm_end; va += P) {
          const r = handle_mm_fault(ms, task, va, write ? "write" : "read", false);
          if (!r.ok) {
            // do_mlock(): the VMAs stay locked; __mlock_posix_error_return() turns GUP's -ENOMEM
            // into EAGAIN (and -EFAULT into ENOMEM). mlockall's mm_populate() ignores errors.
            if (!strict) continue;
            ms.trace.on = was;
            return { ok: false, errno: r.code === "ENOMEM" ? "EAGAIN" : "ENOMEM", why: `__mm_populate: ${r.why} at ${hex(va)}`, locked, faulted };
          }
          if (r.fn !== "handle_pte_fault") faulted++;
        }
      }
    } finally {
      ms.trace.on = was;
    }
    // the faults made the pages (new pages of a VM_LOCKED VMA are born PG_mlocked); make sure every
    // present page of the range is, and count them
    locked = 0;
    for (let k = i; k < j; k++) {
      const v = mm.vmas[k]!;
      pt_walk_range(ms, mm.pgd, v.vm_start, v.vm_end, (_t, _i, _va, e) => {
        if (!pte_present(e.lo) || e.lo & 0x200) return;
        const pfn = entry_pfn(fmt, e.lo, e.hi);
        mlock_folio(ms, pfn);
        locked++;
      });
    }
  }
  for (let k = j - 1; k >= i - 1 && k >= 0; k--) try_merge(ms, mm, k);
  return { ok: true, why: "", locked, faulted };
}

/** do_mlock() / sys_munlock(): the checks first, nothing changed when one fails */
export function do_mlock(ms: MachineState, task: task_struct, start: bigint, len: bigint, lock: boolean, onfault = false): mlock_result {
  const mm = task.mm!;
  const P = BigInt(ms.page_size);
  const s = (start / P) * P;
  const end = ((start + len + P - 1n) / P) * P;
  const tr = ms.trace;
  const fail = (errno: "EPERM" | "ENOMEM", why: string): mlock_result => {
    if (tr.on) tr.emit(lock ? "do_mlock" : "sys_munlock", F, `${errno}: ${why}`);
    return { ok: false, errno, why, locked: 0, faulted: 0 };
  };
  // do_mlock(): can_do_mlock() comes first — mlock(addr, 0) with RLIMIT_MEMLOCK 0 is EPERM too
  if (lock && mm.rlim_memlock === 0) return fail("EPERM", "RLIMIT_MEMLOCK is 0 and the process lacks CAP_IPC_LOCK (can_do_mlock)");
  if (end === s) return { ok: true, why: "empty range", locked: 0, faulted: 0 };
  if (lock) {
    const limit = Math.floor(mm.rlim_memlock / ms.page_size);
    let locked = Number((end - s) / P) + mm.locked_vm;
    if (locked > limit) locked -= count_mm_mlocked_page_nr(ms, mm, s, end);
    if (locked > limit) return fail("ENOMEM", `${mm.locked_vm} pages already locked + ${(end - s) / P} would pass RLIMIT_MEMLOCK (${limit} pages = ${mm.rlim_memlock / 1024} KiB)`);
  }
  if (!range_mapped(mm, s, end)) return fail("ENOMEM", `${hex(s)}-${hex(end)} is not fully mapped (apply_vma_lock_flags)`);
  const r = mlock_fixup_range(ms, task, s, end, lock, onfault);
  if (tr.on && r.ok) tr.emit(lock ? "do_mlock" : "sys_munlock", F, lock ? `${hex(s)}-${hex(end)}: VM_LOCKED set, ${r.faulted} page${r.faulted === 1 ? "" : "s"} faulted in (__mm_populate), ${r.locked} page${r.locked === 1 ? "" : "s"} moved to the unevictable list (PG_mlocked); locked_vm ${mm.locked_vm} pages` : `${hex(s)}-${hex(end)}: VM_LOCKED cleared, ${r.locked} page${r.locked === 1 ? "" : "s"} back on the evictable LRU; locked_vm ${mm.locked_vm} pages`, { locked: r.locked });
  return r;
}

/** sys_mlockall() / sys_munlockall() */
export function do_mlockall(ms: MachineState, task: task_struct, flags: number): mlock_result {
  const mm = task.mm!;
  const tr = ms.trace;
  if (flags === 0) {
    // munlockall(): clear def_flags and unlock everything
    mm.def_flags &= ~VM_LOCKED;
    let locked = 0;
    for (const v of [...mm.vmas]) if (v.vm_flags & VM_LOCKED) locked += do_mlock(ms, task, v.vm_start, v.vm_end - v.vm_start, false).locked;
    return { ok: true, why: "", locked, faulted: 0 };
  }
  if (mm.rlim_memlock === 0) return { ok: false, errno: "EPERM", why: "RLIMIT_MEMLOCK is 0 (can_do_mlock)", locked: 0, faulted: 0 };
  const limit = Math.floor(mm.rlim_memlock / ms.page_size);
  const total = Number(mm.total_vm / BigInt(ms.page_size));
  if (flags & MCL_CURRENT && total > limit) {
    if (tr.on) tr.emit("sys_mlockall", F, `ENOMEM: total_vm ${total} pages > RLIMIT_MEMLOCK ${limit} pages`);
    return { ok: false, errno: "ENOMEM", why: `MCL_CURRENT: the address space is ${total} pages, RLIMIT_MEMLOCK allows ${limit}`, locked: 0, faulted: 0 };
  }
  // apply_mlockall_flags(): def_flags &= ~VM_LOCKED_MASK first — so mlockall(MCL_CURRENT) alone ends
  // an earlier MCL_FUTURE — then VM_LOCKED again if MCL_FUTURE
  mm.def_flags &= ~VM_LOCKED;
  if (flags & MCL_FUTURE) mm.def_flags |= VM_LOCKED;
  let locked = 0;
  let faulted = 0;
  if (flags & MCL_CURRENT) {
    for (const v of [...mm.vmas]) {
      if (v.special || v.vm_flags & VM_LOCKED) continue;
      // mm_populate(0, TASK_SIZE) ignores errors (__mm_populate(…, ignore_errors = 1))
      const r = mlock_fixup_range(ms, task, v.vm_start, v.vm_end, true, (flags & MCL_ONFAULT) !== 0, false);
      if (!r.ok) return r;
      locked += r.locked;
      faulted += r.faulted;
    }
  }
  if (tr.on) tr.emit("sys_mlockall", F, `${flags & MCL_CURRENT ? `every mapping locked (${faulted} pages faulted in, ${locked} moved to the unevictable list)` : ""}${flags & MCL_FUTURE ? `${flags & MCL_CURRENT ? "; " : ""}MCL_FUTURE: mm->def_flags |= VM_LOCKED, new mappings are locked` : ""}; locked_vm ${mm.locked_vm} pages`);
  return { ok: true, why: "", locked, faulted };
}
