/**
 * The MMU (the CPU's page walker; Intel SDM vol. 3 ch. 4, the kernel's view in
 * arch/x86/mm/fault.c): translate a virtual address through the TLB, or walk the page tables level by
 * level reading the entries from their frames, checking P, RW, US and NX as the hardware does
 * (CR0.WP = 1, so supervisor writes honour RW too), setting Accessed on every entry used and Dirty
 * on the leaf of a write, and filling the TLB. A failed translation is a page fault with the x86
 * error code (PF_PROT 1, PF_WRITE 2, PF_USER 4, PF_INSTR 16); it is an answer, not an exception.
 */
import type { MachineState } from "../kernel/machine";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, NX_HI, entry_pfn, entry_read, entry_write, pt_format_of, pt_index, va_canonical_split, va_split, type pt_entry, type pt_format } from "../mm/pgtable";
import { tlb_fill, tlb_lookup, tlb_peek, tlbs, type tlb_entry } from "./tlb";

export type mmu_access = "read" | "write" | "exec";
export type mmu_mode = "user" | "kernel";

export const X86_PF_PROT = 1;
export const X86_PF_WRITE = 2;
export const X86_PF_USER = 4;
export const X86_PF_INSTR = 16;

export interface walk_step {
  /** 0 = the top level */
  level: number;
  /** pgd, p4d, pud, pmd, pte */
  name: string;
  /** PFN of the table read */
  table: number;
  /** index into it */
  idx: number;
  /** the entry as read (before A/D were set) */
  lo: number;
  hi: number;
}

export interface mmu_fault {
  /** not-present, protection, non-canonical */
  kind: "not-present" | "protection" | "non-canonical";
  /** the level where it was found (pgd…pte) */
  level?: string;
  reason: string;
  /** x86 page-fault error code */
  error_code: number;
}

export interface mmu_result {
  va: bigint;
  access: mmu_access;
  mode: mmu_mode;
  cpu: number;
  tlb: "hit" | "miss";
  steps: walk_step[];
  pfn?: number;
  pa?: bigint;
  /** log2 of the page size that mapped it (12, 21, 22, 30) */
  page_shift?: number;
  fault?: mmu_fault;
}

const shiftsCache = new WeakMap<pt_format, number[]>();
function page_shifts(fmt: pt_format): number[] {
  let s = shiftsCache.get(fmt);
  if (!s) {
    s = [fmt.levels[fmt.L - 1]!.shift, ...fmt.levels.slice(0, -1).filter((l) => l.huge).map((l) => l.shift).reverse()];
    shiftsCache.set(fmt, s);
  }
  return s;
}

/** the frame and physical address of va inside a page of size 2^shift starting at frame pfn */
function pa_of(fmt: pt_format, pfn: number, hi: number, lo: number, shift: number, out: mmu_result): void {
  // offset within the page: shift ≤ 32 on every format with a page that large (1 GiB = 2^30)
  const off = shift >= 32 ? (hi % 2 ** (shift - 32)) * 2 ** 32 + lo : (lo >>> 0) % 2 ** shift;
  const page = Math.floor(off / fmt.page_size);
  const within = off % fmt.page_size;
  out.pfn = pfn + page;
  // (pfn + page) * page_size < 2^53 for every supported RAM size: one exact conversion
  out.pa = BigInt((pfn + page) * fmt.page_size + within);
}

function err(access: mmu_access, mode: mmu_mode, present: boolean): number {
  return (present ? X86_PF_PROT : 0) | (access === "write" ? X86_PF_WRITE : 0) | (mode === "user" ? X86_PF_USER : 0) | (access === "exec" ? X86_PF_INSTR : 0);
}

/**
 * Translate `va` on `cpu` through the page tables rooted at `pgd` (CR3). The caller has loaded the mm
 * (switch_mm) so the TLB's non-global entries belong to it. `fill` = false: a pure inspection (no
 * TLB fill, no A/D updates), as a debugger's walk would be.
 */
export function mmu_translate(ms: MachineState, cpu: number, mm_id: number, pgd: number, va: bigint, access: mmu_access, mode: mmu_mode, fill = true): mmu_result {
  const fmt = pt_format_of(ms.arch);
  const res: mmu_result = { va, access, mode, cpu, tlb: "miss", steps: [] };
  const [hi, lo] = va_split(va);
  if (va >= fmt.va_end || !va_canonical_split(fmt, hi, lo)) {
    res.fault = { kind: "non-canonical", reason: fmt.canonical ? `${"0x" + va.toString(16)} is not canonical: bits 63..${fmt.va_bits - 1} must all be equal (#GP, not a page fault)` : `address beyond the ${fmt.va_bits}-bit address space`, error_code: 0 };
    return res;
  }
  const user = mode === "user";
  const write = access === "write";
  const exec = access === "exec";
  const t = tlbs(ms).cpus[cpu]!;
  if (fill) {
    const policy = tlbs(ms).policy;
    const hit = policy === "lru" ? tlb_lookup(t, hi, lo, page_shifts(fmt)) : tlb_peek(t, hi, lo, page_shifts(fmt));
    if (hit && (!write || hit.dirty)) {
      const bad = (user && !hit.user) || (write && !hit.rw) || (exec && hit.nx);
      if (!bad) {
        t.hits++;
        res.tlb = "hit";
        pa_of(fmt, hit.pfn, hi, lo, hit.shift, res);
        res.page_shift = hit.shift;
        return res;
      }
    }
    t.misses++;
  }
  // the page walk
  let table = pgd;
  let rw = true;
  let us = true;
  let nx = false;
  let usLevel = "";
  let rwLevel = "";
  let nxLevel = "";
  const e: pt_entry = { lo: 0, hi: 0 };
  for (let i = 0; i < fmt.L; i++) {
    const lv = fmt.levels[i]!;
    const idx = pt_index(fmt, i, hi, lo);
    entry_read(ms, fmt, table, idx, e);
    res.steps.push({ level: i, name: lv.name, table, idx, lo: e.lo, hi: e.hi });
    if (!(e.lo & _PAGE_PRESENT)) {
      res.fault = { kind: "not-present", level: lv.name, reason: `${lv.name} entry ${idx} is not present (P = 0)`, error_code: err(access, mode, false) };
      return res;
    }
    const paeTop = fmt.pae && i === 0;
    if (!paeTop) {
      if (!(e.lo & _PAGE_RW) && rw) {
        rw = false;
        rwLevel = lv.name;
      }
      if (!(e.lo & _PAGE_USER) && us) {
        us = false;
        usLevel = lv.name;
      }
      if (fmt.has_nx && e.hi & NX_HI && !nx) {
        nx = true;
        nxLevel = lv.name;
      }
    }
    const leaf = i === fmt.L - 1 || (e.lo & _PAGE_PSE && lv.huge && !paeTop);
    if (!leaf) {
      table = entry_pfn(fmt, e.lo, e.hi);
      continue;
    }
    // permission checks on the combined rights
    let fault: string | undefined;
    if (user && !us) fault = `user-mode access to a supervisor page (U/S = 0 in the ${usLevel} entry)`;
    else if (write && !rw) fault = `write to a read-only page (R/W = 0 in the ${rwLevel} entry)`;
    else if (exec && nx) fault = `instruction fetch from a no-execute page (NX = 1 in the ${nxLevel} entry)`;
    if (fault) {
      res.fault = { kind: "protection", level: lv.name, reason: fault, error_code: err(access, mode, true) };
      return res;
    }
    const base = entry_pfn(fmt, e.lo, e.hi);
    const shift = lv.shift;
    pa_of(fmt, base, hi, lo, shift, res);
    res.page_shift = shift;
    if (fill) {
      // the walker sets Accessed in every entry it used, Dirty in the leaf of a write
      for (const s of res.steps) {
        if (fmt.pae && s.level === 0) continue;
        const want = (s.lo | _PAGE_ACCESSED | (s.level === i && write ? _PAGE_DIRTY : 0)) >>> 0;
        if (want !== s.lo) entry_write(ms, fmt, s.table, s.idx, want, s.hi);
      }
      const te: tlb_entry = {
        vpn: shift >= 32 ? hi >>> (shift - 32) : hi * 2 ** (32 - shift) + (lo >>> shift),
        shift,
        pfn: base,
        level: i,
        rw,
        user: us,
        nx,
        dirty: write || (e.lo & _PAGE_DIRTY) !== 0,
        global: (e.lo & _PAGE_GLOBAL) !== 0,
        mm: e.lo & _PAGE_GLOBAL ? -1 : mm_id,
      };
      tlb_fill(ms, t, te);
    }
    return res;
  }
  return res;
}
