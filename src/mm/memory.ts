/**
 * Page faults and the pages behind user mappings (mm/memory.c, mm/shmem.c, mm/filemap.c, Linux 6.12):
 * handle_mm_fault → do_anonymous_page (a read maps the shared zero page, a write a zeroed frame),
 * do_read_fault / do_cow_fault / do_shared_fault for file and shmem mappings, do_wp_page for writes
 * to read-only PTEs (copy the zero page or a file page, reuse an exclusive anonymous page);
 * zap_page_range (unmapping), change_pte_range (mprotect). x86's access_error() decides SIGSEGV.
 * do_wp_page follows 6.12: wp_page_shared for shared mappings, wp_page_reuse when the anonymous page
 * is PageAnonExclusive or its refcount is 1 (wp_can_reuse_anon_folio), else wp_page_copy.
 */
import type { MachineState } from "../kernel/machine";
import type { task_struct } from "../kernel/sched";
import { task_table_of } from "../kernel/sched";
import { hex } from "../lib/units";
import { flush_tlb_mm_range, switch_mm } from "../hw/tlb";
import { mmu_translate, type mmu_result } from "../hw/mmu";
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from "./gfp";
import { PG_active, PG_anon, PG_dirty, PG_lru, PG_mlocked, PG_swapbacked, PG_unevictable, PG_zero } from "./memmap";
import { VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_MAYSHARE, VM_READ, VM_SHARED, VM_WRITE, find_vma_index, stack_guard_gap, vm_get_page_prot, vma_is_anonymous, type inode, type mm_struct, type vm_area_struct } from "./mmap";
import { clear_frames, copy_frame, read_frame, write_frame } from "./page_contents";
import { __alloc_pages, __free_pages } from "./page_alloc";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_SPECIAL, entry_pfn, entry_prot, entry_read, entry_write, mk_entry, pt_alloc_walk, pt_format_of, pt_walk_range, type pt_entry } from "./pgtable";
import { folio_add_lru_vma, __page_cache_release, lru_of, PG_swapcache } from "./swap";
import { folio_set_index } from "./rmap";
import { add_to_swap_cache, delete_from_swap_cache, lookup_swap_cache, swap_read_folio } from "./swap_state";
import { SWAP_HAS_CACHE, swap_count, swap_free, vm_swap_full } from "./swapfile";
import { is_swap_pte, pte_swp_exclusive, pte_swp_offset } from "./swapops";
import { kswapd_pending, kswapd_run_pending } from "./vmscan";
import { munlock_folio } from "./mlock";
import { cpu_to_node, interleave_nid } from "./mempolicy";

const F = "mm/memory.c";

export type access_kind = "read" | "write" | "exec";

/** pte_present(): P, or PROT_NONE (P clear, _PAGE_PROTNONE set) */
export function pte_present(lo: number): boolean {
  return (lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
}

/** ZERO_PAGE(0): reserve the shared zero page the first time the VM needs it (one frame, PG_zero) */
export function zero_pfn(ms: MachineState): number {
  const t = task_table_of(ms);
  if (t.zero_pfn >= 0) return t.zero_pfn;
  const r = __alloc_pages(ms, GFP_KERNEL, 0);
  if (r.pfn < 0) throw new Error("mmlab: no memory for the zero page");
  ms.mem_map.flags[r.pfn]! |= PG_zero;
  clear_frames(ms, r.pfn);
  t.zero_pfn = r.pfn;
  return r.pfn;
}

/** is the PFN a special mapping's (zero page, vdso/vvar kernel frames): vm_normal_page() == NULL */
function is_special(lo: number): boolean {
  return (lo & _PAGE_SPECIAL) !== 0;
}

// ---------------------------------------------------------------- page lifetimes

/**
 * PageAnonExclusive (include/linux/page-flags.h, 6.12): set on a new anonymous page, cleared when fork
 * shares it (folio_try_dup_anon_rmap_pte), set again when do_wp_page reuses it. page->flags here is a
 * Uint16Array with no bit to spare, so the bit lives in this side array (one byte per frame).
 */
export class anon_exclusive_map {
  readonly bits: Uint8Array;
  constructor(nr: number, from?: Uint8Array) {
    this.bits = from ? from.slice() : new Uint8Array(nr);
  }
  /** snapshot hook (src/kernel/snapshot.ts) */
  clone_for(_ms: MachineState): anon_exclusive_map {
    return new anon_exclusive_map(this.bits.length, this.bits);
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** PageAnonExclusive per frame, see anon_exclusive_map */
    anon_excl?: anon_exclusive_map;
  }
}

/** the PageAnonExclusive bits of the machine (made on first use) */
export function anon_excl(ms: MachineState): Uint8Array {
  return (ms.anon_excl ??= new anon_exclusive_map(ms.max_pfn)).bits;
}

/**
 * folio_add_new_anon_rmap() + folio_add_lru_vma(): a fresh anonymous page for `va`, one mapping,
 * exclusive, page->index = va's page, on the inactive anon LRU (unevictable in a VM_LOCKED VMA).
 */
function new_anon_page(ms: MachineState, owner: mm_struct, vma: vm_area_struct, va: bigint): number {
  const r = alloc_user_page(ms, vma, va);
  if (r.pfn < 0) return -1;
  const mm = ms.mem_map;
  mm.flags[r.pfn]! |= PG_anon | PG_swapbacked;
  mm.mapcount[r.pfn] = 1;
  anon_excl(ms)[r.pfn] = 1;
  clear_frames(ms, r.pfn);
  folio_set_index(ms, r.pfn, va, owner);
  folio_add_lru_vma(ms, r.pfn, (vma.vm_flags & VM_LOCKED) !== 0);
  // anon_vma_prepare(): the VMA now has anonymous pages (fork's vma_needs_copy looks at this)
  vma.anon_vma = true;
  return r.pfn;
}

/** the task whose fault is being handled ("current" in the kernel), for its memory policy and CPU */
let fault_task: task_struct | undefined;

/**
 * vma_alloc_folio() → alloc_pages_mpol() (mm/mempolicy.c, 6.12): a user page for `va`, placed by the
 * faulting task's memory policy. MPOL_DEFAULT: the node of the task's CPU (numa_node_id()), falling
 * back by distance; MPOL_PREFERRED: the preferred node first; MPOL_BIND: only the mask's nodes, nearest
 * first; MPOL_INTERLEAVE: node interleave_nid(pol, vm_pgoff + page offset) (numa_interleave counts the
 * pages that landed there).
 */
function alloc_user_page(ms: MachineState, vma: vm_area_struct, va: bigint) {
  const t = fault_task;
  const n = ms.nodes.length;
  if (n === 1 || !t) return __alloc_pages(ms, GFP_HIGHUSER_MOVABLE, 0);
  const local = cpu_to_node(ms.nr_cpus, n, t.cpu);
  const pol = t.mempolicy;
  if (!pol || pol.mode === "default") return __alloc_pages(ms, GFP_HIGHUSER_MOVABLE, 0, local, undefined, local);
  if (pol.mode === "preferred") return __alloc_pages(ms, GFP_HIGHUSER_MOVABLE, 0, pol.nodes[0] ?? local, undefined, local);
  if (pol.mode === "bind") return __alloc_pages(ms, GFP_HIGHUSER_MOVABLE, 0, pol.nodes.includes(local) ? local : pol.nodes[0]!, pol.nodes, local);
  const ilx = vma.vm_pgoff + Number((va - vma.vm_start) / BigInt(ms.page_size));
  const nid = interleave_nid(pol, ilx);
  const r = __alloc_pages(ms, GFP_HIGHUSER_MOVABLE, 0, nid, undefined, local);
  if (r.pfn >= 0 && r.zone!.node.node_id === nid) r.zone!.numa.numa_interleave++;
  return r;
}

/** folio_get() */
export function folio_get(ms: MachineState, pfn: number): void {
  ms.mem_map.refcount[pfn]!++;
}

/** folio_put(): drop one reference; the last frees the page (→ __free_pages) */
export function put_page(ms: MachineState, pfn: number): void {
  const mm = ms.mem_map;
  if (mm.refcount[pfn]! > 1) {
    mm.refcount[pfn]!--;
    return;
  }
  if (ms.anon_excl) ms.anon_excl.bits[pfn] = 0;
  __page_cache_release(ms, pfn);
  mm.flags[pfn]! &= ~(PG_anon | PG_lru | PG_swapbacked | PG_dirty | PG_mlocked | PG_active | PG_unevictable);
  mm.mapcount[pfn] = 0;
  clear_frames(ms, pfn);
  __free_pages(ms, pfn, 0);
}

/** the page cache drops its reference (truncate / evict) */
export function put_cache_page(ms: MachineState, pfn: number): void {
  put_page(ms, pfn);
}

/** filemap_fault() / shmem_get_folio(): the page at pgoff in the inode's cache, read in (zeros) if absent */
function find_or_create_cache_page(ms: MachineState, f: inode, pgoff: number): number {
  const have = f.pages.get(pgoff);
  if (have !== undefined) return have;
  const r = __alloc_pages(ms, GFP_HIGHUSER_MOVABLE, 0);
  if (r.pfn < 0) return -1;
  const mm = ms.mem_map;
  mm.flags[r.pfn]! |= f.kind === "shmem" ? PG_swapbacked : 0;
  mm.mapcount[r.pfn] = 0;
  clear_frames(ms, r.pfn);
  f.pages.set(pgoff, r.pfn);
  lru_of(ms).index[r.pfn] = pgoff;
  folio_add_lru_vma(ms, r.pfn, false);
  if (ms.trace.on) ms.trace.emit(f.kind === "shmem" ? "shmem_get_folio" : "filemap_fault", f.kind === "shmem" ? "mm/shmem.c" : "mm/filemap.c", `${f.path} page ${pgoff}: not in the page cache, new frame PFN ${hex(r.pfn)}${f.kind === "file" ? " (read from disk)" : " (zeroed)"}`, { pfn: r.pfn, pgoff });
  return r.pfn;
}

function rss_kind(v: vm_area_struct, pfn: number, ms: MachineState): "anon" | "file" | "shmem" {
  if (ms.mem_map.flags[pfn]! & PG_anon) return "anon";
  return v.vm_file?.kind === "shmem" ? "shmem" : "file";
}

function rss_add(ms: MachineState, mm: mm_struct, v: vm_area_struct, pfn: number, n: number): void {
  mm.rss[rss_kind(v, pfn, ms)] += n;
  if (mm.rss_pages > mm.hiwater_rss) mm.hiwater_rss = mm.rss_pages;
}

// ---------------------------------------------------------------- the fault handler

export interface fault_result {
  ok: boolean;
  /** the kernel function that handled it */
  fn: string;
  /** why it failed (SIGSEGV), or what was done */
  why: string;
  code?: "SIGSEGV" | "ENOMEM";
  /** a major fault (the page was read from swap) */
  major?: boolean;
}

/**
 * handle_mm_fault() behind x86's do_user_addr_fault() (arch/x86/mm/fault.c): find the VMA (growing
 * the stack down if the address is just below it), check access_error(), then resolve the PTE.
 * `present`: the PTE was present (a protection fault, PF_PROT), else not present.
 */
export function handle_mm_fault(ms: MachineState, task: task_struct, va: bigint, access: access_kind, present: boolean): fault_result {
  const mm = task.mm!;
  const P = BigInt(ms.arch.PAGE_SIZE);
  const tr = ms.trace;
  let i = find_vma_index(mm, va);
  let vma = mm.vmas[i];
  if (va >= mm.task_size) return segv(ms, `${hex(va)} is a kernel address: user mode may not touch it (fault_in_kernel_space → bad_area_nosemaphore)`);
  if (!vma) return segv(ms, `no VMA at or above ${hex(va)} (bad_area)`);
  if (vma.vm_start > va) {
    // expand_stack(): a VM_GROWSDOWN VMA grows down to the faulting page (within the 8 MiB rlimit
    // and keeping the guard gap above the previous VMA)
    const prev = mm.vmas[i - 1];
    const newstart = (va / P) * P;
    const limit = 8n << 20n;
    if (!(vma.vm_flags & VM_GROWSDOWN) || vma.vm_end - newstart > limit || (prev && prev.vm_end + stack_guard_gap(ms) > newstart))
      return segv(ms, `${hex(va)} is in no VMA (the next one starts at ${hex(vma.vm_start)}): bad_area`);
    if (tr.on) tr.emit("expand_downwards", "mm/mmap.c", `grow the stack from ${hex(vma.vm_start)} down to ${hex(newstart)}`);
    vma.vm_start = newstart;
    vma.vm_pgoff = Number(newstart / P);
  }
  // access_error()
  const f = vma.vm_flags;
  if (access === "write" && !(f & VM_WRITE)) return segv(ms, `write to ${hex(va)} in a VMA without write permission (${permstr(f)}): access_error`);
  if (access !== "write" && present) return segv(ms, `${access === "exec" ? "instruction fetch from" : "read of"} ${hex(va)}: the page is present but the access is not allowed (${access === "exec" ? "NX" : "protection"}; VMA ${permstr(f)}): access_error`);
  if (access !== "write" && !(f & (VM_READ | VM_WRITE | VM_EXEC))) return segv(ms, `${hex(va)} is in a PROT_NONE VMA: access_error`);
  if (tr.on) tr.emit("handle_mm_fault", F, `${access} fault at ${hex(va)} in VMA ${hex(vma.vm_start)}-${hex(vma.vm_end)} ${permstr(f)}${present ? " (page present: protection fault)" : " (page not present)"}`, { va: hex(va), access });
  tr.depth++;
  const outer = fault_task;
  fault_task = task;
  try {
    // count_vm_event(PGFAULT) at the top of handle_mm_fault(): every fault that got this far, failed or not
    ms.vmstat.pgfault++;
    const r = handle_pte_fault(ms, mm, vma, va, access === "write");
    if (r.ok) {
      // mm_account_fault(): maj_flt / min_flt for faults that did not fail
      if (r.major) {
        task.maj_flt++;
        ms.vmstat.pgmajfault++;
      } else task.min_flt++;
    }
    return r;
  } finally {
    tr.depth--;
    fault_task = outer;
  }
}

function permstr(f: number): string {
  return (f & VM_READ ? "r" : "-") + (f & VM_WRITE ? "w" : "-") + (f & VM_EXEC ? "x" : "-") + (f & VM_SHARED ? "s" : "p");
}

function segv(ms: MachineState, why: string): fault_result {
  if (ms.trace.on) ms.trace.emit("bad_area", "arch/x86/mm/fault.c", `SIGSEGV: ${why}`);
  return { ok: false, fn: "bad_area", why, code: "SIGSEGV" };
}

function oom(ms: MachineState, fn: string): fault_result {
  if (ms.trace.on) ms.trace.emit(fn, F, "VM_FAULT_OOM: no free frame");
  return { ok: false, fn, why: "out of memory (VM_FAULT_OOM)", code: "ENOMEM" };
}

/** handle_pte_fault(): allocate the tables, then none → do_anonymous_page/do_fault, present → do_wp_page */
function handle_pte_fault(ms: MachineState, mm: mm_struct, vma: vm_area_struct, va: bigint, write: boolean): fault_result {
  const fmt = pt_format_of(ms.arch);
  const slot = pt_alloc_walk(ms, mm.pgd, va, mm);
  if (!slot) return oom(ms, "__pte_alloc");
  const e: pt_entry = { lo: 0, hi: 0 };
  entry_read(ms, fmt, slot.table, slot.idx, e);
  const P = BigInt(ms.arch.PAGE_SIZE);
  const page_va = (va / P) * P;
  const prot = vm_get_page_prot(vma.vm_flags);
  if (!pte_present(e.lo) && is_swap_pte(e.lo, e.hi)) return do_swap_page(ms, mm, vma, slot.table, slot.idx, e, page_va, write);
  if (!pte_present(e.lo)) {
    if (vma_is_anonymous(vma)) {
      if (!write) {
        // do_anonymous_page(), read: map the zero page, special and read-only
        const z = zero_pfn(ms);
        const ne = mk_entry(fmt, z, prot | _PAGE_SPECIAL);
        entry_write(ms, fmt, slot.table, slot.idx, ne.lo, ne.hi);
        if (ms.trace.on) ms.trace.emit("do_anonymous_page", F, `read of untouched anonymous memory: map the shared zero page (PFN ${hex(z)}) read-only; no frame allocated`, { pfn: z });
        return { ok: true, fn: "do_anonymous_page", why: "mapped the zero page" };
      }
      const pfn = new_anon_page(ms, mm, vma, page_va);
      if (pfn < 0) return oom(ms, "do_anonymous_page");
      const ne = mk_entry(fmt, pfn, prot | _PAGE_RW | _PAGE_DIRTY);
      entry_write(ms, fmt, slot.table, slot.idx, ne.lo, ne.hi);
      rss_add(ms, mm, vma, pfn, 1);
      if (ms.trace.on) ms.trace.emit("do_anonymous_page", F, `first write to ${hex(page_va)}: new zeroed frame PFN ${hex(pfn)} (GFP_HIGHUSER_MOVABLE), PTE writable and dirty`, { pfn });
      return { ok: true, fn: "do_anonymous_page", why: `new frame ${hex(pfn)}` };
    }
    if (vma.special) {
      // a special mapping's fault (vdso/vvar): the kernel's own frames, inserted as special PFNs
      const pfn = special_pfn(ms, vma, page_va);
      const ne = mk_entry(fmt, pfn, prot | _PAGE_SPECIAL);
      entry_write(ms, fmt, slot.table, slot.idx, ne.lo, ne.hi);
      if (ms.trace.on) ms.trace.emit("special_mapping_fault", "mm/mmap.c", `${vma.special}: map the kernel's frame PFN ${hex(pfn)}`, { pfn });
      return { ok: true, fn: "special_mapping_fault", why: `mapped ${vma.special}` };
    }
    // do_fault(): file or shmem
    const f = vma.vm_file!;
    const pgoff = vma.vm_pgoff + Number((page_va - vma.vm_start) / P);
    const shared = (vma.vm_flags & VM_SHARED) !== 0;
    if (write && !shared) {
      // do_cow_fault(): copy the file page into a new anonymous page
      const src = find_or_create_cache_page(ms, f, pgoff);
      if (src < 0) return oom(ms, "do_cow_fault");
      folio_get(ms, src);
      const pfn = new_anon_page(ms, mm, vma, page_va);
      put_page(ms, src);
      if (pfn < 0) return oom(ms, "do_cow_fault");
      copy_frame(ms, pfn, src);
      const ne = mk_entry(fmt, pfn, prot | _PAGE_RW | _PAGE_DIRTY);
      entry_write(ms, fmt, slot.table, slot.idx, ne.lo, ne.hi);
      rss_add(ms, mm, vma, pfn, 1);
      if (ms.trace.on) ms.trace.emit("do_cow_fault", F, `write to a private file mapping: copy ${f.path} page ${pgoff} (PFN ${hex(src)}) into a new anonymous frame PFN ${hex(pfn)}`, { pfn, src });
      return { ok: true, fn: "do_cow_fault", why: `private copy ${hex(pfn)}` };
    }
    const pfn = find_or_create_cache_page(ms, f, pgoff);
    if (pfn < 0) return oom(ms, shared ? "do_shared_fault" : "do_read_fault");
    const mmap = ms.mem_map;
    mmap.refcount[pfn]!++;
    mmap.mapcount[pfn]!++;
    const ne = mk_entry(fmt, pfn, prot | (write ? _PAGE_RW | _PAGE_DIRTY : 0));
    entry_write(ms, fmt, slot.table, slot.idx, ne.lo, ne.hi);
    rss_add(ms, mm, vma, pfn, 1);
    const fn = shared && write ? "do_shared_fault" : "do_read_fault";
    if (ms.trace.on) ms.trace.emit(fn, F, `map ${f.path} page ${pgoff} (PFN ${hex(pfn)}) ${write ? "writable" : "read-only"}`, { pfn });
    return { ok: true, fn, why: `mapped ${hex(pfn)}` };
  }
  if (!write) {
    // spurious (another CPU fixed it, or a stale TLB entry): nothing to do
    return { ok: true, fn: "handle_pte_fault", why: "spurious fault: PTE already present" };
  }
  return do_wp_page(ms, mm, vma, slot.table, slot.idx, e, page_va);
}

/**
 * do_wp_page() (mm/memory.c, 6.12): a write to a present, write-protected PTE in a writable VMA.
 * Shared mapping → wp_page_shared (writable in place). Private anonymous page that is
 * PageAnonExclusive, or whose refcount is 1 (wp_can_reuse_anon_folio: we hold the only reference) →
 * wp_page_reuse (no copy). Anything else (still shared since fork, the zero page, a file page in a
 * private mapping) → wp_page_copy. The trace says which and why.
 */
function do_wp_page(ms: MachineState, mm: mm_struct, vma: vm_area_struct, table: number, idx: number, e: pt_entry, page_va: bigint): fault_result {
  const fmt = pt_format_of(ms.arch);
  const P = BigInt(ms.arch.PAGE_SIZE);
  const old = entry_pfn(fmt, e.lo, e.hi);
  const mmap = ms.mem_map;
  const special = is_special(e.lo);
  const tr = ms.trace;
  if (vma.vm_flags & (VM_SHARED | VM_MAYSHARE) && !special) {
    // wp_page_shared(): a shared page becomes writable (and dirty); nothing is copied
    if (tr.on) tr.emit("do_wp_page", F, `write to read-only PTE at ${hex(page_va)} (PFN ${hex(old)}): the mapping is shared (VM_SHARED) → wp_page_shared`, { pfn: old });
    entry_write(ms, fmt, table, idx, (e.lo | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED) >>> 0, e.hi);
    flush_tlb_mm_range(ms, mm.id, page_va, page_va + P);
    if (tr.on) tr.emit("wp_page_shared", F, `shared page PFN ${hex(old)}: writable in place (every process mapping it sees the write)`, { pfn: old });
    return { ok: true, fn: "wp_page_shared", why: "shared writable" };
  }
  if (!special && mmap.flags[old]! & PG_anon) {
    const excl = anon_excl(ms);
    // wp_can_reuse_anon_folio(): a swap-cache page whose slot no PTE names any more leaves the cache first
    // (6.12: folio_ref_count > 1 + folio_test_swapcache → no reuse; else folio_free_swap(), which
    // fails while another PTE names the slot and otherwise marks the folio dirty; then refcount must be 1)
    if (!excl[old] && mmap.refcount[old] === 2 && folio_in_swapcache(ms, old) && swap_count(ms, mmap.priv[old]!) === 0) {
      delete_from_swap_cache(ms, old);
      mmap.flags[old]! |= PG_dirty;
      if (tr.on) tr.emit("folio_free_swap", "mm/swapfile.c", `PFN ${hex(old)} leaves the swap cache (no PTE names its slot any more): its swap copy is dropped`, { pfn: old });
    }
    const rc = mmap.refcount[old]!;
    if (excl[old] || rc === 1) {
      const why = excl[old] ? "PageAnonExclusive is set: no other process can map this page" : "PageAnonExclusive is clear (the page was shared by fork) but its refcount is 1: the other side already copied or exited, so we hold the only reference (wp_can_reuse_anon_folio)";
      if (tr.on) tr.emit("do_wp_page", F, `write to read-only PTE at ${hex(page_va)} (PFN ${hex(old)}, refcount ${rc}, mapcount ${mmap.mapcount[old]}): ${why} → wp_page_reuse`, { pfn: old, refcount: rc });
      // wp_page_reuse(): make the PTE writable, dirty and young in place; the page is ours again
      excl[old] = 1;
      entry_write(ms, fmt, table, idx, (e.lo | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED) >>> 0, e.hi);
      flush_tlb_mm_range(ms, mm.id, page_va, page_va + P);
      if (tr.on) tr.emit("wp_page_reuse", F, `PFN ${hex(old)} reused: PTE made writable in place, no copy`, { pfn: old });
      return { ok: true, fn: "wp_page_reuse", why: excl[old] && rc === 1 ? "reused (exclusive)" : "reused" };
    }
  }
  const fromZero = special && old === task_table_of(ms).zero_pfn;
  const reason = fromZero
    ? "the PTE maps the shared zero page"
    : special
      ? "a special mapping"
      : mmap.flags[old]! & PG_anon
        ? `the anonymous page is shared (refcount ${mmap.refcount[old]}, mapcount ${mmap.mapcount[old]}, PageAnonExclusive clear since fork)`
        : "a page-cache page in a private mapping (the file must not change)";
  if (tr.on) tr.emit("do_wp_page", F, `write to read-only PTE at ${hex(page_va)} (PFN ${hex(old)}): ${reason} → wp_page_copy`, { pfn: old });
  // wp_page_copy(): a new anonymous page, zeroed (from the zero page) or a copy. The old page is held
  // (folio_get) while the allocation may reclaim; if the PTE changed meanwhile, the fault is retried.
  if (!special) folio_get(ms, old);
  const pfn = new_anon_page(ms, mm, vma, page_va);
  if (!special) {
    const now: pt_entry = { lo: 0, hi: 0 };
    entry_read(ms, fmt, table, idx, now);
    if (pfn >= 0 && (now.lo !== e.lo || now.hi !== e.hi)) {
      // !pte_same(): reclaim unmapped the page while we allocated; drop ours and refault
      mmap.mapcount[pfn] = 0;
      put_page(ms, pfn);
      put_page(ms, old);
      return { ok: true, fn: "do_wp_page", why: "PTE changed under us: retry" };
    }
    put_page(ms, old);
  }
  if (pfn < 0) return oom(ms, "wp_page_copy");
  if (!fromZero) copy_frame(ms, pfn, old);
  const ne = mk_entry(fmt, pfn, (entry_prot(fmt, e) & ~_PAGE_SPECIAL) | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED);
  // ptep_clear_flush() + set_pte_at(): the old translation leaves every TLB before the new PTE is used
  entry_write(ms, fmt, table, idx, ne.lo, ne.hi);
  flush_tlb_mm_range(ms, mm.id, page_va, page_va + P);
  if (!special) {
    // folio_remove_rmap_pte() + folio_put(): the old page loses a mapping and a reference; in a
    // VM_LOCKED VMA __folio_remove_rmap() also calls munlock_vma_folio() (the copy is born mlocked)
    rss_add(ms, mm, vma, old, -1);
    mmap.mapcount[old]!--;
    if (vma.vm_flags & VM_LOCKED && mmap.flags[old]! & PG_mlocked) munlock_folio(ms, old);
    put_page(ms, old);
  }
  rss_add(ms, mm, vma, pfn, 1);
  if (tr.on) tr.emit("wp_page_copy", F, fromZero ? `new zeroed frame PFN ${hex(pfn)} replaces the zero page in the PTE` : `PFN ${hex(old)} copied to new frame PFN ${hex(pfn)}, mapped writable+dirty; the old page keeps ${special ? "its mappings" : `${mmap.mapcount[old]} mapping${mmap.mapcount[old] === 1 ? "" : "s"}, refcount ${mmap.refcount[old]}`}`, { pfn, old });
  return { ok: true, fn: "wp_page_copy", why: `new frame ${hex(pfn)}` };
}

/** the kernel frame behind a [vdso]/[vvar] page: frames of the kernel image (data the kernel owns) */
function special_pfn(ms: MachineState, vma: vm_area_struct, page_va: bigint): number {
  const img = ms.reserved.find((r) => /kernel image/.test(r.name));
  const base = img ? img.base + Math.max(0, img.size - 16) : 0;
  const n = Number((page_va - vma.vm_start) / BigInt(ms.arch.PAGE_SIZE));
  return base + (vma.special === "[vdso]" ? 8 : 0) + n;
}

// ---------------------------------------------------------------- unmapping and mprotect

/**
 * zap_pte_range() (mm/memory.c) over a VMA's [start, end): clear every PTE; each normal page loses
 * a mapping and a reference (the last frees it); RSS drops. The caller flushes the TLB and frees
 * the page tables.
 */
export function zap_page_range(ms: MachineState, mm: mm_struct, vma: vm_area_struct, start: bigint, end: bigint): void {
  const fmt = pt_format_of(ms.arch);
  const mmap = ms.mem_map;
  let n = 0;
  pt_walk_range(ms, mm.pgd, start, end, (table, idx, _va, e) => {
    const lo = e.lo;
    entry_write(ms, fmt, table, idx, 0, 0);
    if (!pte_present(lo)) {
      if (is_swap_pte(lo, e.hi)) free_swap_and_cache(ms, mm, pte_swp_offset(fmt, lo, e.hi));
      return;
    }
    if (is_special(lo)) return;
    const pfn = entry_pfn(fmt, lo, e.hi);
    rss_add(ms, mm, vma, pfn, -1);
    if (lo & _PAGE_DIRTY && !(mmap.flags[pfn]! & PG_anon)) mmap.flags[pfn]! |= PG_dirty;
    mmap.mapcount[pfn]!--;
    // __folio_remove_rmap() → munlock_vma_folio() (6.12), for every page of a VM_LOCKED VMA, before the
    // page's last reference can go (the mlock batch holds one): unless another locked VMA still maps
    // it (mlock_count), PG_mlocked is cleared (unevictable_pgs_munlocked) and the page leaves the
    // unevictable list (unevictable_pgs_rescued) — then the final put frees it
    if (vma.vm_flags & VM_LOCKED && mmap.flags[pfn]! & PG_mlocked) munlock_folio(ms, pfn);
    put_page(ms, pfn);
    // free_pages_and_swap_cache() → free_swap_cache(): an unmapped swap-cache page whose slot no PTE
    // names any more leaves the cache, and is freed with the cache's reference
    if (mmap.mapcount[pfn] === 0 && folio_in_swapcache(ms, pfn) && swap_count(ms, mmap.priv[pfn]!) === 0) {
      delete_from_swap_cache(ms, pfn);
      mmap.refcount[pfn]!++;
      put_page(ms, pfn);
    }
    n++;
  });
  if (ms.trace.on && n) ms.trace.emit("zap_pte_range", F, `${hex(start)}-${hex(end)}: ${n} page${n > 1 ? "s" : ""} unmapped`, { pages: n });
}

/**
 * free_swap_and_cache_nr() (mm/swapfile.c, 6.12): a zapped PTE held a swap entry — its reference goes;
 * if only the swap cache still holds the slot (swap_map == SWAP_HAS_CACHE), __try_to_reclaim_swap(
 * TTRS_UNMAPPED | TTRS_FULL) drops the cached page from the swap cache when no process maps it *or*
 * swap is more than half full (vm_swap_full — then a still-mapped page just loses its swap copy and is
 * marked dirty); an unmapped page goes with the cache's reference.
 */
function free_swap_and_cache(ms: MachineState, mm: mm_struct, off: number): void {
  mm.rss.swapents--;
  const left = swap_free(ms, off);
  if (left === SWAP_HAS_CACHE) {
    const pfn = lookup_swap_cache(ms, off);
    if (pfn >= 0 && (ms.mem_map.mapcount[pfn] === 0 || vm_swap_full(ms))) {
      delete_from_swap_cache(ms, pfn);
      ms.mem_map.flags[pfn]! |= PG_dirty; // folio_set_dirty() in __try_to_reclaim_swap
      if (ms.mem_map.refcount[pfn] === 0) {
        ms.mem_map.refcount[pfn] = 1;
        put_page(ms, pfn);
      }
    }
  }
}

function folio_in_swapcache(ms: MachineState, pfn: number): boolean {
  return ms.lru !== undefined && (ms.lru.flags2[pfn]! & PG_swapcache) !== 0;
}

/**
 * do_swap_page() (mm/memory.c, 6.12): the PTE holds a swap entry. The page is found in the swap cache
 * (a minor fault) or read back from the slot into a new frame added to the swap cache (a major fault:
 * pgmajfault, pswpin). The PTE's reference to the slot goes (swap_free); the page is mapped — writable
 * and dirty at once for a write to an exclusive page, else read-only (a write then goes through
 * do_wp_page). The swap copy is dropped (folio_free_swap) when swap is more than half full, the VMA is
 * locked, or a write leaves us the only user (should_try_to_free_swap).
 */
function do_swap_page(ms: MachineState, mm: mm_struct, vma: vm_area_struct, table: number, idx: number, e: pt_entry, page_va: bigint, write: boolean): fault_result {
  const fmt = pt_format_of(ms.arch);
  const mmap = ms.mem_map;
  const tr = ms.trace;
  const off = pte_swp_offset(fmt, e.lo, e.hi);
  let pfn = lookup_swap_cache(ms, off);
  let major = false;
  if (pfn >= 0) {
    // swap_cache_get_folio(): SWAP_RA_HIT counts only folios that readahead brought in
    // (folio_test_clear_readahead); mmlab reads no readahead pages, so a cache hit here is a page
    // left by swap-out or by an earlier fault: no swap_ra_hit, and not a major fault
    folio_get(ms, pfn);
    if (tr.on) tr.emit("do_swap_page", F, `${hex(page_va)}: swap entry (slot ${off}); the page is still in the swap cache at PFN ${hex(pfn)}: a minor fault, no I/O`, { pfn, slot: off });
  } else {
    // swapin_readahead() → __read_swap_cache_async(): a new page, into the swap cache, read from the slot.
    // Simplified: 6.12 also reads a readahead window of neighbouring slots (swap_vma_readahead,
    // page-cluster 3) into the swap cache as PG_readahead pages (vmstat swap_ra, later swap_ra_hit);
    // mmlab reads only the faulting slot, so pswpin counts demand reads and swap_ra/swap_ra_hit stay 0.
    // A swap file is not SWP_SYNCHRONOUS_IO, so the skip-the-swap-cache path (zram) is not taken.
    const r = alloc_user_page(ms, vma, page_va);
    if (r.pfn < 0) return oom(ms, "do_swap_page");
    const now: pt_entry = { lo: 0, hi: 0 };
    entry_read(ms, fmt, table, idx, now);
    if (now.lo !== e.lo || now.hi !== e.hi) {
      __free_pages(ms, r.pfn, 0);
      return { ok: true, fn: "do_swap_page", why: "PTE changed under us: retry" };
    }
    pfn = r.pfn;
    mmap.flags[pfn]! |= PG_anon | PG_swapbacked;
    ms.swap!.swap_map[off]! |= SWAP_HAS_CACHE;
    add_to_swap_cache(ms, pfn, off);
    swap_read_folio(ms, pfn, off);
    folio_set_index(ms, pfn, page_va, mm);
    folio_add_lru_vma(ms, pfn, (vma.vm_flags & VM_LOCKED) !== 0);
    vma.anon_vma = true;
    major = true;
    if (tr.on) tr.emit("do_swap_page", F, `${hex(page_va)}: swap entry (slot ${off}) → major fault: read the slot into new frame PFN ${hex(pfn)} (swap_read_folio, pswpin), page added to the swap cache`, { pfn, slot: off });
  }
  // swap_free_nr(): this PTE no longer names the slot
  swap_free(ms, off);
  mm.rss.swapents--;
  // exclusive = pte_swp_exclusive(vmf->orig_pte) (6.12 do_swap_page); "folio != swapcache → certainly
  // exclusive" only on the SWP_SYNCHRONOUS_IO path that skips the swap cache (zram), which a swap
  // file does not take. Nothing else makes it exclusive here: a non-exclusive entry is mapped writable
  // only if the refcount test below finds us the sole holder.
  const exclusive = pte_swp_exclusive(fmt, e.lo);
  // should_try_to_free_swap() → folio_free_swap(), before the page is mapped: swap more than half
  // full, a locked VMA or page, or a write fault that leaves us the only user (refcount = cache + us);
  // folio_free_swap() refuses while any PTE still names the slot (folio_swapped) and marks the page
  // dirty (folio_set_dirty: its only copy is now in memory)
  const locked = (vma.vm_flags & VM_LOCKED) !== 0 || (mmap.flags[pfn]! & PG_mlocked) !== 0;
  if ((vm_swap_full(ms) || locked || (write && mmap.refcount[pfn] === 2)) && swap_count(ms, off) === 0 && folio_in_swapcache(ms, pfn)) {
    delete_from_swap_cache(ms, pfn);
    mmap.flags[pfn]! |= PG_dirty;
    if (tr.on) tr.emit("folio_free_swap", "mm/swapfile.c", `slot ${off} freed: ${locked ? "the VMA is locked" : vm_swap_full(ms) ? "swap is more than half full (vm_swap_full)" : "a write fault: the swap copy is about to be stale"}`, { slot: off });
  }
  // "same logic as in do_wp_page()": an exclusive page (or one nobody else holds) is mapped writable if
  // the VMA is, even on a read fault (dirty only for a write); anything else read-only
  const prot = vm_get_page_prot(vma.vm_flags);
  const mine = exclusive || mmap.refcount[pfn] === 1;
  const writable = mine && (vma.vm_flags & VM_WRITE) !== 0;
  const ne = mk_entry(fmt, pfn, prot | (writable ? _PAGE_RW : 0) | (writable && write ? _PAGE_DIRTY : 0));
  entry_write(ms, fmt, table, idx, ne.lo, ne.hi);
  mmap.mapcount[pfn]!++;
  if (mine) anon_excl(ms)[pfn] = 1;
  rss_add(ms, mm, vma, pfn, 1);
  if (tr.on) tr.emit("do_swap_page", F, `PFN ${hex(pfn)} mapped at ${hex(page_va)} ${writable ? `writable${write ? " and dirty" : " (exclusive: a later write needs no fault)"}` : "read-only (shared: a write goes through do_wp_page)"}${folio_in_swapcache(ms, pfn) ? `; it stays in the swap cache, slot ${off} keeps its copy` : ""}`, { pfn });
  if (write && !writable) {
    const cur: pt_entry = { lo: 0, hi: 0 };
    entry_read(ms, fmt, table, idx, cur);
    const r = do_wp_page(ms, mm, vma, table, idx, cur, page_va);
    return { ...r, major };
  }
  return { ok: true, fn: "do_swap_page", why: major ? `read back from swap slot ${off} into ${hex(pfn)}` : `swap cache hit ${hex(pfn)}`, major };
}

/**
 * change_pte_range() (mm/mprotect.c): every present PTE of the VMA gets the VMA's new protection
 * (pte_modify keeps the frame, A, D and SPECIAL); a private anonymous page mapped once, or a dirty
 * shared page, is made writable at once when the VMA is writable (can_change_pte_writable; the
 * anonymous page must be PageAnonExclusive: one shared by fork stays read-only and faults).
 */
export function change_pte_range(ms: MachineState, mm: mm_struct, vma: vm_area_struct): void {
  const fmt = pt_format_of(ms.arch);
  const prot = vm_get_page_prot(vma.vm_flags);
  const mmap = ms.mem_map;
  const keep = _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SPECIAL;
  const excl = anon_excl(ms);
  let n = 0;
  pt_walk_range(ms, mm.pgd, vma.vm_start, vma.vm_end, (table, idx, _va, e) => {
    if (!pte_present(e.lo)) return;
    const pfn = entry_pfn(fmt, e.lo, e.hi);
    let p = (prot & ~keep) | (e.lo & keep);
    if (vma.vm_flags & VM_WRITE && !is_special(e.lo)) {
      const shared = (vma.vm_flags & VM_SHARED) !== 0;
      // can_change_pte_writable(): a private anonymous page only if PageAnonExclusive (not shared by fork)
      if ((!shared && mmap.flags[pfn]! & PG_anon && mmap.mapcount[pfn] === 1 && excl[pfn]) || (shared && e.lo & _PAGE_DIRTY)) p |= _PAGE_RW;
    }
    const ne = mk_entry(fmt, pfn, p);
    entry_write(ms, fmt, table, idx, ne.lo, ne.hi);
    n++;
  });
  if (ms.trace.on && n) ms.trace.emit("change_pte_range", "mm/mprotect.c", `${n} PTE${n > 1 ? "s" : ""} rewritten with the new protection`, { ptes: n });
}

/** present normal (non-special) PTEs in a range: what RSS counts */
export function count_present(ms: MachineState, mm: mm_struct, start: bigint, end: bigint): number {
  let n = 0;
  pt_walk_range(ms, mm.pgd, start, end, (_t, _i, _va, e) => {
    if (pte_present(e.lo) && !is_special(e.lo)) n++;
  });
  return n;
}



// ---------------------------------------------------------------- user memory through the MMU

export interface user_access_result {
  ok: boolean;
  /** the bytes read */
  data?: Uint8Array;
  /** faults taken, in order */
  faults: { va: bigint; fn: string; why: string }[];
  /** the first MMU translation of each page touched */
  translations: mmu_result[];
  /** on failure: SIGSEGV (or ENOMEM) and why, at which address */
  code?: "SIGSEGV" | "ENOMEM";
  why?: string;
  at?: bigint;
  error_code?: number;
}

/**
 * copy_to_user()/copy_from_user() as the process itself would do it: each page goes through the MMU
 * of the task's CPU (TLB, walk); a page fault goes to handle_mm_fault() and the access is retried.
 */
export function user_access(ms: MachineState, task: task_struct, va: bigint, access: access_kind, lenOrData: number | Uint8Array): user_access_result {
  const mm = task.mm!;
  const P = BigInt(ms.arch.PAGE_SIZE);
  const data = typeof lenOrData === "number" ? undefined : lenOrData;
  const len = typeof lenOrData === "number" ? lenOrData : lenOrData.length;
  const out = data ? undefined : new Uint8Array(len);
  const res: user_access_result = { ok: true, faults: [], translations: [] };
  switch_mm(ms, task.cpu, mm.id);
  let done = 0;
  // a long copy traces its first pages only (a 16 MiB write would otherwise log 4096 faults)
  const TRACE_PAGES = 16;
  const was = ms.trace.on;
  let pages = 0;
  try {
  while (done < len || (len === 0 && done === 0 && res.translations.length === 0)) {
    if (++pages === TRACE_PAGES + 1 && was) ms.trace.on = false;
    const at = va + BigInt(done);
    const off = Number(at % P);
    const chunk = Math.min(len - done, ms.arch.PAGE_SIZE - off);
    let r = mmu_translate(ms, task.cpu, mm.id, mm.pgd, at, access, "user");
    for (let tries = 0; r.fault && tries < 4; tries++) {
      if (r.fault.kind === "non-canonical") {
        Object.assign(res, { ok: false, code: "SIGSEGV", why: `${r.fault.reason}: general protection fault`, at, error_code: 0 });
        res.translations.push(r);
        return res;
      }
      const fr = handle_mm_fault(ms, task, at, access, r.fault.kind === "protection");
      res.faults.push({ va: at, fn: fr.fn, why: fr.why });
      if (!fr.ok) {
        Object.assign(res, { ok: false, code: fr.code, why: fr.why, at, error_code: r.fault.error_code });
        res.translations.push(r);
        return res;
      }
      r = mmu_translate(ms, task.cpu, mm.id, mm.pgd, at, access, "user");
    }
    if (r.fault) {
      Object.assign(res, { ok: false, code: "SIGSEGV", why: r.fault.reason, at, error_code: r.fault.error_code });
      return res;
    }
    res.translations.push(r);
    // a schedule point: a kswapd woken by this page's allocation runs now (before the bytes are copied,
    // which a real CPU would do under the same translation; the page just mapped is young and stays)
    if (ms.kswapd && kswapd_pending(ms)) {
      kswapd_run_pending(ms);
      r = mmu_translate(ms, task.cpu, mm.id, mm.pgd, at, access, "user");
      if (r.fault) continue;
    }
    if (data) write_frame(ms, r.pfn!, off, data.subarray(done, done + chunk));
    else out!.set(read_frame(ms, r.pfn!, off, chunk), done);
    done += chunk;
    if (len === 0) break;
  }
  } finally {
    ms.trace.on = was;
    if (was && pages > TRACE_PAGES) ms.trace.emit("copy_to_user", "arch/x86/lib/usercopy.c", `… ${pages - TRACE_PAGES} more pages accessed the same way (trace elided; ${res.faults.length} faults in all)`);
  }
  if (out) res.data = out;
  return res;
}
