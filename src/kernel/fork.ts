/**
 * fork() (kernel/fork.c copy_process → copy_mm → dup_mm → dup_mmap, mm/memory.c copy_page_range,
 * Linux 6.12): the child gets a copy of every VMA except VM_DONTCOPY ones; VM_WIPEONFORK VMAs are
 * copied without their pages; VM_LOCKED is cleared; page tables are copied only where
 * vma_needs_copy() says so (the VMA has an anon_vma — shared and untouched mappings are faulted in
 * again by the child). Each present PTE copied raises the page's refcount and mapcount, clears
 * PageAnonExclusive, and in a COW mapping write-protects the parent's PTE and the child's; the child's
 * PTE is old (and clean in a shared mapping). No data is copied: that is do_wp_page's job later.
 * Simplified: no DMA-pinned pages (copy_present_page never needed), no uffd-wp, no huge pages in
 * user space, no threads (CLONE_VM), no vfork.
 */
import { swap_duplicate } from "../mm/swapfile";
import { is_swap_pte, pte_swp_offset, swp_exclusive_bit } from "../mm/swapops";
import { MmError } from "../errors";
import type { MachineState } from "./machine";
import { task_table_of, type task_struct } from "./sched";
import { hex } from "../lib/units";
import { flush_tlb_mm_range } from "../hw/tlb";
import { anon_excl, pte_present } from "../mm/memory";
import { PG_anon } from "../mm/memmap";
import { VM_DONTCOPY, VM_LOCKED, VM_MAYWRITE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_WIPEONFORK, mm_struct, vma_is_anonymous, type vm_area_struct } from "../mm/mmap";
import { contents, frame_data } from "../mm/page_contents";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_SPECIAL, entry_pfn, entry_read, entry_write, mk_entry, pgd_alloc, pt_alloc_table, pt_format_of, type pt_entry } from "../mm/pgtable";
import { exit_mmap } from "./exit";

const F = "kernel/fork.c";
const FM = "mm/memory.c";

declare module "./sched" {
  interface task_struct {
    /** the parent's PID (task->real_parent), for the process tree; undefined for spawned tasks */
    ppid?: number;
  }
}

/** what one VMA's copy did, for the Fork result */
export interface fork_vma_report {
  start: bigint;
  end: bigint;
  vm_flags: number;
  /** copied: page tables copied; skipped: no anon_vma / shared (the child faults in); dontcopy;
   *  wipeonfork: VMA copied, pages not */
  action: "copied" | "skipped" | "dontcopy" | "wipeonfork";
  why: string;
  /** present PTEs copied (normal pages now mapped by both) */
  shared: number;
  /** writable PTEs write-protected in the parent (and installed read-only in the child) */
  wrprotected: number;
  /** swap entries copied (the slot gains a reference: swap_duplicate) */
  swapped?: number;
  /** special PTEs copied (the zero page) */
  special: number;
}

export interface fork_report {
  child: task_struct;
  vmas: fork_vma_report[];
  /** page-table frames the child holds (its pgd included): the cost of the fork */
  pgtables: number;
  shared: number;
  wrprotected: number;
}

/** is_cow_mapping() (include/linux/mm.h): private and may become writable */
export function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** vma_needs_copy() (mm/memory.c): PFN/mixed maps, or a VMA with anonymous pages */
export function vma_needs_copy(src: vm_area_struct): boolean {
  if (src.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)) return true;
  return !!src.anon_vma;
}

/**
 * copy_page_range() → copy_p4d/pud/pmd/pte_range() → copy_present_ptes() (mm/memory.c): copy the
 * source VMA's PTEs into dst's tables (allocating them from the buddy allocator). Returns false on
 * ENOMEM (what was copied stays; the caller tears the child down). `wp` collects the parent slots
 * write-protected (for undo). Tracing of each table allocation is suppressed; a summary is emitted.
 */
export function copy_page_range(ms: MachineState, dst: mm_struct, src: mm_struct, vma: vm_area_struct, rep: fork_vma_report, wp: number[]): boolean {
  const fmt = pt_format_of(ms.arch);
  const L = fmt.L;
  const cow = is_cow_mapping(vma.vm_flags);
  const shared = (vma.vm_flags & VM_SHARED) !== 0;
  const mem = ms.mem_map;
  const excl = anon_excl(ms);
  const frames = contents(ms).frames;
  const start = vma.vm_start;
  const end = vma.vm_end;
  const anon = vma_is_anonymous(vma);
  const kind: "anon" | "file" | "shmem" = vma.vm_file?.kind === "shmem" ? "shmem" : "file";
  const e: pt_entry = { lo: 0, hi: 0 };
  const d: pt_entry = { lo: 0, hi: 0 };
  const leafFast = fmt.order[L - 1] === 0;
  const esz = fmt.esz;
  const nentLeaf = fmt.nent[L - 1]!;
  let ok = true;
  // copy_pte_range(): the leaf table's entries in [first, last)
  const copy_pte_range = (stable: number, dtable: number, first: number, last: number) => {
    const sb = leafFast ? frames.get(stable) : undefined;
    if (leafFast && !sb) return;
    const db = leafFast ? frame_data(ms, dtable, true) : undefined;
    for (let idx = first; idx < last; idx++) {
      let lo: number, hi: number;
      if (sb) {
        const w = esz === 8 ? idx * 2 : idx;
        lo = sb.u32[w]!;
        hi = esz === 8 ? sb.u32[w + 1]! : 0;
      } else {
        entry_read(ms, fmt, stable, idx, e);
        lo = e.lo;
        hi = e.hi;
      }
      if (lo === 0 && hi === 0) continue;
      let clo = lo;
      if (pte_present(lo)) {
        if (lo & _PAGE_SPECIAL) rep.special++;
        else {
          // folio_get() + folio_try_dup_anon_rmap_pte()/folio_dup_file_rmap_pte(); child RSS
          const pfn = entry_pfn(fmt, lo, hi);
          mem.refcount[pfn]!++;
          mem.mapcount[pfn]!++;
          const isAnon = (mem.flags[pfn]! & PG_anon) !== 0;
          if (isAnon) excl[pfn] = 0;
          dst.rss[isAnon ? "anon" : anon ? "anon" : kind]++;
          rep.shared++;
        }
        if (cow && lo & _PAGE_RW) {
          // wrprotect_ptes(): the parent's PTE loses RW; the child's is installed read-only
          const plo = (lo & ~_PAGE_RW) >>> 0;
          if (sb) sb.u32[esz === 8 ? idx * 2 : idx] = plo;
          else entry_write(ms, fmt, stable, idx, plo, hi);
          wp.push(stable * nentLeaf + idx);
          clo = plo;
          rep.wrprotected++;
        }
        if (shared) clo &= ~_PAGE_DIRTY;
        clo = (clo & ~_PAGE_ACCESSED) >>> 0; // pte_mkold()
      } else if (is_swap_pte(lo, hi)) {
        // copy_nonpresent_pte(): a swap entry — one more reference to the slot; neither side is
        // exclusive any more (pte_swp_clear_exclusive in the parent)
        swap_duplicate(ms, pte_swp_offset(fmt, lo, hi));
        dst.rss.swapents++;
        // (x86-64: bit 3; 32-bit 2-level and PAE: bit 7 — swp_exclusive_bit)
        const xb = swp_exclusive_bit(fmt);
        if (lo & xb) {
          clo = (lo & ~xb) >>> 0;
          if (sb) sb.u32[esz === 8 ? idx * 2 : idx] = clo;
          else entry_write(ms, fmt, stable, idx, clo, hi);
        }
        rep.swapped = (rep.swapped ?? 0) + 1;
      }
      if (db) {
        const w = esz === 8 ? idx * 2 : idx;
        db.u32[w] = clo;
        if (esz === 8) db.u32[w + 1] = hi;
      } else entry_write(ms, fmt, dtable, idx, clo, hi);
    }
  };
  // copy_p4d_range() … copy_pmd_range(): descend where the parent has a table, allocating the child's
  const rec = (stable: number, dtable: number, i: number, base: bigint) => {
    const l = fmt.levels[i]!;
    const shift = BigInt(l.shift);
    const sz = 1n << shift;
    const nent = i === 0 ? fmt.kernel_boundary : fmt.nent[i]!;
    const first = start > base ? Number((start - base) >> shift) : 0;
    const span = end - base;
    const last = Math.min(nent, Number((span + sz - 1n) >> shift));
    if (i === L - 1) return copy_pte_range(stable, dtable, first, last);
    for (let idx = first; idx < last && ok; idx++) {
      entry_read(ms, fmt, stable, idx, e);
      if (!(e.lo & _PAGE_PRESENT)) continue;
      if (e.lo & _PAGE_PSE && l.huge && !(fmt.pae && i === 0)) continue;
      const schild = entry_pfn(fmt, e.lo, e.hi);
      entry_read(ms, fmt, dtable, idx, d);
      let dchild: number;
      if (d.lo & _PAGE_PRESENT) dchild = entry_pfn(fmt, d.lo, d.hi);
      else {
        dchild = pt_alloc_table(ms, fmt, i + 1, dst);
        if (dchild < 0) {
          ok = false;
          return;
        }
        // pmd_populate()/pud_populate(): the same table-entry bits as the parent's
        const ne = mk_entry(fmt, dchild, e.lo & 0xfff);
        entry_write(ms, fmt, dtable, idx, ne.lo, ne.hi);
      }
      rec(schild, dchild, i + 1, base + BigInt(idx) * sz);
    }
  };
  rec(src.pgd, dst.pgd, 0, 0n);
  return ok;
}

/**
 * dup_mmap() (kernel/fork.c): copy the VMA list into the new mm and the page tables where needed;
 * then flush_tlb_mm(oldmm) — the parent's TLB may still hold the PTEs as writable.
 */
export function dup_mmap(ms: MachineState, mm: mm_struct, oldmm: mm_struct, reps: fork_vma_report[], wp: number[]): boolean {
  const was = ms.trace.on;
  let ok = true;
  for (const v of oldmm.vmas) {
    const rep: fork_vma_report = { start: v.vm_start, end: v.vm_end, vm_flags: v.vm_flags, action: "copied", why: "", shared: 0, wrprotected: 0, special: 0 };
    reps.push(rep);
    if (v.vm_flags & VM_DONTCOPY) {
      rep.action = "dontcopy";
      rep.why = "VM_DONTCOPY (madvise MADV_DONTFORK): not in the child";
      continue;
    }
    // vm_area_dup(); VM_LOCKED (mlock) is not inherited
    const tmp: vm_area_struct = { ...v, vm_flags: v.vm_flags & ~VM_LOCKED };
    if (v.vm_flags & VM_WIPEONFORK) {
      // the child gets the VMA empty: anon_vma = NULL, no copy_page_range → it reads zeros
      tmp.anon_vma = false;
      mm.vmas.push(tmp);
      rep.action = "wipeonfork";
      rep.why = "VM_WIPEONFORK: VMA copied, page tables not: the child reads zeros";
      continue;
    }
    mm.vmas.push(tmp);
    if (tmp.vm_file) tmp.vm_file.nr_vmas++;
    if (!vma_needs_copy(v)) {
      rep.action = "skipped";
      rep.why = v.vm_flags & VM_SHARED ? "shared mapping: not copied, the child faults the same pages in" : v.vm_file ? "no anon_vma (file pages only): not copied, the child faults them in" : "no anon_vma (never written): nothing to copy";
      continue;
    }
    ms.trace.on = false;
    try {
      ok = copy_page_range(ms, mm, oldmm, v, rep, wp);
    } finally {
      ms.trace.on = was;
    }
    rep.why = is_cow_mapping(v.vm_flags) ? "private (COW) mapping with anon_vma: PTEs copied, writable ones write-protected in both" : "PTEs copied";
    if (was) ms.trace.emit("copy_page_range", FM, `${hex(v.vm_start)}-${hex(v.vm_end)}: ${rep.shared} page${rep.shared === 1 ? "" : "s"} now mapped by both, ${rep.wrprotected} PTE${rep.wrprotected === 1 ? "" : "s"} write-protected${rep.special ? `, ${rep.special} zero-page PTE${rep.special === 1 ? "" : "s"}` : ""}`, { shared: rep.shared, wrprotected: rep.wrprotected });
    if (!ok) break;
  }
  mm.hiwater_rss = mm.rss_pages;
  // flush_tlb_mm(oldmm): the parent's cached writable translations go
  ms.trace.on = false;
  try {
    flush_tlb_mm_range(ms, oldmm.id, 0n, oldmm.task_size);
  } finally {
    ms.trace.on = was;
  }
  if (was) ms.trace.emit("flush_tlb_mm", "arch/x86/mm/tlb.c", `the parent's TLB entries are flushed: its write-protected PTEs must fault on the next write`);
  return ok;
}

/**
 * model: the page-table frames the child will need (the parent's tables under the VMAs fork copies,
 * plus the pgd and PAE's preallocated PMDs), so copy_process can refuse with ENOMEM before touching
 * anything. The kernel instead fails part-way and unwinds; the count makes our failure exact.
 */
export function fork_tables_needed(ms: MachineState, oldmm: mm_struct): number {
  const fmt = pt_format_of(ms.arch);
  const seen = new Set<number>();
  const e: pt_entry = { lo: 0, hi: 0 };
  let n = 1 << fmt.order[0]!;
  if (fmt.pae) n += fmt.kernel_boundary * (1 << fmt.order[1]!);
  for (const v of oldmm.vmas) {
    if (v.vm_flags & (VM_DONTCOPY | VM_WIPEONFORK) || !vma_needs_copy(v)) continue;
    const rec = (table: number, i: number, base: bigint) => {
      if (i >= fmt.L - 1) return;
      const l = fmt.levels[i]!;
      const shift = BigInt(l.shift);
      const sz = 1n << shift;
      const nent = i === 0 ? fmt.kernel_boundary : fmt.nent[i]!;
      const first = v.vm_start > base ? Number((v.vm_start - base) >> shift) : 0;
      const last = Math.min(nent, Number((v.vm_end - base + sz - 1n) >> shift));
      for (let idx = first; idx < last; idx++) {
        entry_read(ms, fmt, table, idx, e);
        if (!(e.lo & _PAGE_PRESENT) || (e.lo & _PAGE_PSE && l.huge && !(fmt.pae && i === 0))) continue;
        const c = entry_pfn(fmt, e.lo, e.hi);
        if (!seen.has(c)) {
          seen.add(c);
          if (!(fmt.pae && i === 0)) n += 1 << fmt.order[i + 1]!;
        }
        rec(c, i + 1, base + BigInt(idx) * sz);
      }
    };
    rec(oldmm.pgd, 0, 0n);
  }
  return n;
}

/** model: can GFP_KERNEL get n more order-0 pages without going under any zone's min watermark? */
function kernel_pages_available(ms: MachineState, n: number): boolean {
  let avail = 0;
  for (const node of ms.nodes)
    for (const z of node.node_zones) {
      if (z.name === "HighMem" || z.name === "Movable") continue;
      avail += Math.max(0, z.nr_free_pages - (z._watermark[0] ?? 0));
    }
  return avail >= n;
}

/**
 * copy_process() with copy_mm() → dup_mm() (kernel/fork.c): a new task whose mm is a copy of the
 * parent's. Throws ENOMEM (and undoes everything: the child's tables go, the parent's PTEs get their
 * write permission back) when the page tables cannot be allocated.
 */
export function copy_process(ms: MachineState, parent: task_struct): fork_report {
  const t = task_table_of(ms);
  const oldmm = parent.mm!;
  const need = fork_tables_needed(ms, oldmm);
  if (!kernel_pages_available(ms, need)) throw new MmError("ENOMEM", `fork: the child needs ${need} page-table frames and the zones GFP_KERNEL may use cannot give them above their min watermarks (pid ${parent.pid} unchanged)`, { need });
  const mm = new mm_struct(t.next_mm_id++);
  // dup_mm(): the scalar fields of mm_struct (layout, brk, …) come along
  for (const k of ["start_code", "end_code", "start_data", "end_data", "start_brk", "brk", "start_stack", "mmap_base", "mmap_legacy_base", "task_size"] as const) mm[k] = oldmm[k];
  // the rlimits come along (copy_signal); locked_vm starts at 0 and def_flags drops VM_LOCKED (mm_init:
  // def_flags & VM_INIT_DEF_MASK): mlock and mlockall(MCL_FUTURE) are not inherited
  mm.rlim_memlock = oldmm.rlim_memlock;
  // anon_vma_fork(): the child's anonymous pages (shared ones first) are found through the parent's anon_vma
  mm.anon_vma_root = oldmm.anon_vma_root;
  const pgd = pgd_alloc(ms, mm);
  if (pgd < 0) throw new MmError("ENOMEM", "fork: no memory for the child's page directory");
  mm.pgd = pgd;
  const pid = t.last_pid + 1;
  const child: task_struct = { pid, comm: parent.comm, mm, state: "running", min_flt: 0, maj_flt: 0, cpu: parent.cpu, ppid: parent.pid };
  // copy_signal(): the child's signal->oom_score_adj is the parent's
  if (parent.oom_score_adj !== undefined) child.oom_score_adj = parent.oom_score_adj;
  // mpol_dup(): the child starts with a copy of the parent's memory policy
  if (parent.mempolicy) child.mempolicy = { ...parent.mempolicy, nodes: [...parent.mempolicy.nodes] };
  if (ms.trace.on) ms.trace.emit("copy_process", F, `pid ${parent.pid} (${parent.comm}) forks pid ${pid}: dup_mm → new pgd at PFN ${hex(pgd)} (kernel half copied from swapper_pg_dir)`, { pid, pgd });
  const reps: fork_vma_report[] = [];
  const wp: number[] = [];
  ms.trace.depth++;
  let ok: boolean;
  try {
    ok = dup_mmap(ms, mm, oldmm, reps, wp);
  } finally {
    ms.trace.depth--;
  }
  if (!ok) {
    // undo: the child's mappings and tables go; the parent's PTEs become writable again
    const was = ms.trace.on;
    ms.trace.on = false;
    try {
      const fmt = pt_format_of(ms.arch);
      const n = fmt.nent[fmt.L - 1]!;
      const e: pt_entry = { lo: 0, hi: 0 };
      exit_mmap(ms, { ...child });
      for (const s of wp) {
        const table = Math.floor(s / n);
        const idx = s % n;
        entry_read(ms, fmt, table, idx, e);
        entry_write(ms, fmt, table, idx, (e.lo | _PAGE_RW) >>> 0, e.hi);
      }
    } finally {
      ms.trace.on = was;
    }
    t.next_mm_id--;
    throw new MmError("ENOMEM", `fork: no memory for the child's page tables (pid ${parent.pid} unchanged)`);
  }
  t.last_pid = pid;
  t.tasks.set(pid, child);
  const shared = reps.reduce((a, r) => a + r.shared, 0);
  const wrprotected = reps.reduce((a, r) => a + r.wrprotected, 0);
  if (ms.trace.on) ms.trace.emit("dup_mmap", F, `pid ${pid}: ${mm.vmas.length} VMAs, ${shared} pages shared copy-on-write, ${wrprotected} PTEs write-protected, ${mm.nr_pgtables} page-table frames; parent's TLB flushed (flush_tlb_mm)`, { pid, shared, wrprotected, pgtables: mm.nr_pgtables });
  return { child, vmas: reps, pgtables: mm.nr_pgtables, shared, wrprotected };
}
