/**
 * /proc/PID/maps and /proc/PID/smaps, byte for byte as fs/proc/task_mmu.c (Linux 6.12) prints them:
 * show_vma_header_prefix() (hex at least 8 digits, perms, offset, MAJOR:MINOR, inode and one space),
 * seq_pad() to column 25 + 6·sizeof(void *) − 1 plus one space before a name (so names start at
 * column 73 on 64-bit, 49 on 32-bit), the trailing space of unnamed lines, get_vma_name()'s choice of
 * name, the x86-64 gate VMA ([vsyscall], vsyscall=xonly: "--xp") at the end; show_smap() fields
 * (SEQ_PUT_DEC: width 8, Private_Hugetlb width 7) and VmFlags mnemonics.
 */
import type { MachineState } from "../kernel/machine";
import type { task_struct } from "../kernel/sched";
import { pte_present } from "../mm/memory";
import { PG_anon, PG_dirty, PG_swapbacked } from "../mm/memmap";
import { VM_EXEC, VM_LOCKED, VM_MNEMONICS, perms, type mm_struct, type vm_area_struct } from "../mm/mmap";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_SPECIAL, entry_pfn, pt_format_of, pt_walk_range } from "../mm/pgtable";
import { PG_referenced } from "../mm/swap";
import { swap_count } from "../mm/swapfile";
import { is_swap_pte, pte_swp_offset } from "../mm/swapops";

/** seq_put_hex_ll(m, NULL, v, 8): lower-case hex, at least 8 digits */
function hex8(v: bigint): string {
  return v.toString(16).padStart(8, "0");
}

/** the gate VMA of x86-64 (arch/x86/entry/vsyscall/vsyscall_64.c): vsyscall=xonly → VM_EXEC only */
export const GATE_VMA: vm_area_struct = { vm_start: 0xffffffffff600000n, vm_end: 0xffffffffff601000n, vm_flags: VM_EXEC, vm_pgoff: 0, special: "[vsyscall]" };

/** get_vma_name() */
export function vma_name(mm: mm_struct, v: vm_area_struct): string | undefined {
  if (v.vm_file) return v.vm_file.path;
  if (v.special) return v.special;
  if (v.vm_start < mm.brk && v.vm_end > mm.start_brk) return "[heap]";
  if (v.vm_start <= mm.start_stack && v.vm_end >= mm.start_stack) return "[stack]";
  return undefined;
}

/** show_map_vma(): one line of /proc/PID/maps, with its newline */
export function show_map_vma(ms: MachineState, mm: mm_struct, v: vm_area_struct): string {
  const width = 25 + (ms.arch.bits === 64 ? 8 : 4) * 6 - 1;
  const f = v.vm_file;
  const pgoff = f ? BigInt(v.vm_pgoff) << BigInt(ms.arch.PAGE_SHIFT) : 0n;
  let line = `${hex8(v.vm_start)}-${hex8(v.vm_end)} ${perms(v.vm_flags)} ${hex8(pgoff)} ${f ? f.dev : "00:00"} ${f ? f.ino : 0} `;
  const name = vma_name(mm, v);
  if (name !== undefined) {
    if (line.length < width) line = line.padEnd(width, " ");
    line += " " + name.replace(/\n/g, "\\012");
  }
  return line + "\n";
}

/** the VMAs /proc/PID/maps lists: the mm's, then the gate VMA on x86-64 */
export function maps_vmas(ms: MachineState, mm: mm_struct): vm_area_struct[] {
  return ms.arch.name === "x86_64" ? [...mm.vmas, GATE_VMA] : [...mm.vmas];
}

/** show_map(): /proc/PID/maps */
export function proc_pid_maps(ms: MachineState, task: task_struct): string {
  const mm = task.mm;
  if (!mm) return "";
  return maps_vmas(ms, mm).map((v) => show_map_vma(ms, mm, v)).join("");
}

export interface mem_size_stats {
  resident: number;
  /** PSS in bytes << 12 (PSS_SHIFT) */
  pss: number;
  pss_dirty: number;
  shared_clean: number;
  shared_dirty: number;
  private_clean: number;
  private_dirty: number;
  referenced: number;
  anonymous: number;
  /** anonymous, not swap-backed and clean (MADV_FREE) */
  lazyfree: number;
  /** bytes of swap entries in the VMA's PTEs */
  swap: number;
  /** swap PSS, << 12 (PSS_SHIFT): a slot shared by n PTEs counts 1/n */
  swap_pss: number;
  /** PSS of the present pages of a VM_LOCKED VMA, << 12 */
  pss_locked: number;
}

/** smaps_pte_range() → smaps_account() over one VMA */
export function smap_gather_stats(ms: MachineState, mm: mm_struct, v: vm_area_struct): mem_size_stats {
  const s: mem_size_stats = { resident: 0, pss: 0, pss_dirty: 0, shared_clean: 0, shared_dirty: 0, private_clean: 0, private_dirty: 0, referenced: 0, anonymous: 0, lazyfree: 0, swap: 0, swap_pss: 0, pss_locked: 0 };
  if (v === GATE_VMA || mm.pgd < 0) return s;
  const fmt = pt_format_of(ms.arch);
  const P = ms.arch.PAGE_SIZE;
  const map = ms.mem_map;
  const locked = (v.vm_flags & VM_LOCKED) !== 0;
  pt_walk_range(ms, mm.pgd, v.vm_start, v.vm_end, (_t, _i, _va, e) => {
    if (!pte_present(e.lo)) {
      // smaps_pte_entry(): a swap entry counts in Swap, and in SwapPss by swp_swapcount() sharers
      if (!is_swap_pte(e.lo, e.hi) || !ms.swap) return;
      const n = swap_count(ms, pte_swp_offset(fmt, e.lo, e.hi));
      s.swap += P;
      s.swap_pss += n >= 2 ? Math.floor((P * 4096) / n) : P * 4096;
      return;
    }
    if (e.lo & _PAGE_SPECIAL) return;
    const pfn = entry_pfn(fmt, e.lo, e.hi);
    const dirty = (e.lo & _PAGE_DIRTY) !== 0 || (map.flags[pfn]! & PG_dirty) !== 0;
    // pte_young() || folio_test_young() || folio_test_referenced()
    const young = (e.lo & _PAGE_ACCESSED) !== 0 || (ms.lru !== undefined && (ms.lru.flags2[pfn]! & PG_referenced) !== 0);
    s.resident += P;
    if (map.flags[pfn]! & PG_anon) {
      s.anonymous += P;
      if (!(map.flags[pfn]! & PG_swapbacked) && !dirty) s.lazyfree += P;
    }
    if (young) s.referenced += P;
    const mapcount = map.mapcount[pfn]!;
    let pss = P * 4096;
    let priv = true;
    if (map.refcount[pfn]! !== 1) {
      if (mapcount >= 2) pss = Math.floor(pss / mapcount);
      priv = mapcount < 2;
    }
    s.pss += pss;
    if (locked) s.pss_locked += pss;
    if (dirty) s.pss_dirty += pss;
    if (priv) {
      if (dirty) s.private_dirty += P;
      else s.private_clean += P;
    } else if (dirty) s.shared_dirty += P;
    else s.shared_clean += P;
  });
  return s;
}

/** SEQ_PUT_DEC(label, bytes): the value in kB, right-aligned in 8 columns */
function dec(label: string, bytes: number, width = 8): string {
  return label + String(Math.floor(bytes / 1024)).padStart(width, " ");
}

/** show_smap(): one VMA of /proc/PID/smaps */
export function show_smap(ms: MachineState, mm: mm_struct, v: vm_area_struct): string {
  const s = smap_gather_stats(ms, mm, v);
  const P = ms.arch.PAGE_SIZE;
  let out = show_map_vma(ms, mm, v);
  out += dec("Size:           ", Number(v.vm_end - v.vm_start));
  out += dec(" kB\nKernelPageSize: ", P);
  out += dec(" kB\nMMUPageSize:    ", P);
  out += " kB\n";
  out += dec("Rss:            ", s.resident);
  out += dec(" kB\nPss:            ", Math.floor(s.pss / 4096));
  out += dec(" kB\nPss_Dirty:      ", Math.floor(s.pss_dirty / 4096));
  out += dec(" kB\nShared_Clean:   ", s.shared_clean);
  out += dec(" kB\nShared_Dirty:   ", s.shared_dirty);
  out += dec(" kB\nPrivate_Clean:  ", s.private_clean);
  out += dec(" kB\nPrivate_Dirty:  ", s.private_dirty);
  out += dec(" kB\nReferenced:     ", s.referenced);
  out += dec(" kB\nAnonymous:      ", s.anonymous);
  out += dec(" kB\nKSM:            ", 0);
  out += dec(" kB\nLazyFree:       ", s.lazyfree);
  out += dec(" kB\nAnonHugePages:  ", 0);
  out += dec(" kB\nShmemPmdMapped: ", 0);
  out += dec(" kB\nFilePmdMapped:  ", 0);
  out += dec(" kB\nShared_Hugetlb: ", 0);
  out += dec(" kB\nPrivate_Hugetlb: ", 0, 7);
  out += dec(" kB\nSwap:           ", s.swap);
  out += dec(" kB\nSwapPss:        ", Math.floor(s.swap_pss / 4096));
  out += dec(" kB\nLocked:         ", Math.floor(s.pss_locked / 4096));
  out += " kB\n";
  out += `THPeligible:    ${String(0).padStart(8, " ")}\n`;
  out += "VmFlags: " + VM_MNEMONICS.filter(([bit]) => (v.vm_flags >>> 0) & bit).map(([, m]) => m + " ").join("") + "\n";
  return out;
}

/** /proc/PID/smaps */
export function proc_pid_smaps(ms: MachineState, task: task_struct): string {
  const mm = task.mm;
  if (!mm) return "";
  return maps_vmas(ms, mm).map((v) => show_smap(ms, mm, v)).join("");
}

/** task_statm() (fs/proc/task_mmu.c) and proc_pid_statm() (fs/proc/array.c): sizes in pages,
 * "size resident shared text lib data dt" with lib and dt always 0 */
export function proc_pid_statm(ms: MachineState, task: task_struct): string {
  const mm = task.mm;
  if (!mm) return "0 0 0 0 0 0 0\n";
  const P = BigInt(ms.arch.PAGE_SIZE);
  const pages = (b: bigint) => b / P;
  let data = 0n;
  let stack = 0n;
  for (const v of mm.vmas) {
    const n = pages(v.vm_end - v.vm_start);
    // is_data_mapping(): private writable and not a stack; is_stack_mapping(): VM_STACK (GROWSDOWN)
    if (v.vm_flags & 0x100) stack += n;
    else if ((v.vm_flags & (0x2 | 0x8)) === 0x2) data += n;
  }
  const size = pages(mm.total_vm);
  const shared = mm.rss.file + mm.rss.shmem;
  const resident = shared + mm.rss.anon;
  const text = mm.end_code > mm.start_code ? (((mm.end_code + P - 1n) / P) * P - (mm.start_code / P) * P) / P : 0n;
  return `${size} ${resident} ${shared} ${text} 0 ${data + stack} 0\n`;
}
