/**
 * The MMU (the CPU's page walker; Intel SDM vol. 3 ch. 4, the kernel's view in
 * arch/x86/mm/fault.c): translate a virtual address through the TLB, or walk the page tables level by
 * level reading the entries from their frames, checking P, RW, US and NX as the hardware does
 * (CR0.WP = 1, so supervisor writes honour RW too), setting Accessed on every entry used and Dirty
 * on the leaf of a write, and filling the TLB. A failed translation is a page fault with the x86
 * error code (PF_PROT 1, PF_WRITE 2, PF_USER 4, PF_INSTR 16); it is an answer, not an exception.
 */
import { is_swap_pte, pte_swp_offset, pte_swp_type } from "../mm/swapops";
import type { MachineState } from "../kernel/machine";
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, NX_HI, entry_pfn, entry_write, pt_format_of, va_canonical_split, type pt_format } from "../mm/pgtable";
import { contents } from "../mm/page_contents";
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
  /** the level where the walk stopped (pgd…pte): the entry not present, or the leaf whose combined
   * rights deny the access (the reason names a higher entry when its bit is the one that denies) */
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

/**
 * The answer of mmu_translate(). The walk is kept raw (four numbers per level: table PFN, index, the
 * entry's low and high words as read) and `steps` is built from it on first use; `pa` is made a
 * bigint on first use too. A translation through a warm TLB allocates this object and nothing else.
 */
export class mmu_res implements mmu_result {
  tlb: "hit" | "miss" = "miss";
  pfn: number | undefined = undefined;
  page_shift: number | undefined = undefined;
  fault: mmu_fault | undefined = undefined;
  /** the offset of the physical address inside frame `pfn` (pa = pfn · PAGE_SIZE + pa_within) */
  pa_within = 0;
  /** the walk as read: table, idx, lo, hi per level (null: no walk) */
  raw: number[] | null = null;
  private _pa: bigint | undefined = undefined;
  private _steps: walk_step[] | undefined = undefined;
  constructor(
    readonly fmt: pt_format,
    readonly va: bigint,
    readonly access: mmu_access,
    readonly mode: mmu_mode,
    readonly cpu: number,
  ) {}
  get pa(): bigint | undefined {
    if (this.pfn === undefined) return undefined;
    // pfn · page_size < 2^53 for every supported RAM size: one exact conversion
    return (this._pa ??= BigInt(this.pfn * this.fmt.page_size + this.pa_within));
  }
  get steps(): walk_step[] {
    return (this._steps ??= steps_of(this.fmt, this.raw));
  }
  set steps(v: walk_step[]) {
    this._steps = v;
  }
}

/** the decoded walk of raw (table, idx, lo, hi per level) */
export function steps_of(fmt: pt_format, raw: number[] | null): walk_step[] {
  const out: walk_step[] = [];
  if (raw) for (let j = 0; j < raw.length; j += 4) out.push({ level: j >> 2, name: fmt.levels[j >> 2]!.name, table: raw[j]!, idx: raw[j + 1]!, lo: raw[j + 2]!, hi: raw[j + 3]! });
  return out;
}

/** per-format constants of the walk, computed once */
interface walk_consts {
  fmt: pt_format;
  /** per level: shift and index mask (pgd_index() & co.) */
  shift: number[];
  mask: number[];
  /** per level: may it hold a large-page leaf */
  huge: boolean[];
  /** page sizes in use, smallest first (for the TLB lookup) */
  page_shifts: number[];
}
const constsCache = new WeakMap<pt_format, walk_consts>();
let lastConsts: walk_consts | undefined;
function consts_of(fmt: pt_format): walk_consts {
  if (lastConsts && lastConsts.fmt === fmt) return lastConsts;
  let c = constsCache.get(fmt);
  if (!c) {
    c = {
      fmt,
      shift: fmt.levels.map((l) => l.shift),
      mask: fmt.levels.map((l) => (l.bits >= 32 ? 0xffffffff : 2 ** l.bits - 1)),
      huge: fmt.levels.map((l) => !!l.huge),
      page_shifts: [fmt.levels[fmt.L - 1]!.shift, ...fmt.levels.slice(0, -1).filter((l) => l.huge).map((l) => l.shift).reverse()],
    };
    constsCache.set(fmt, c);
  }
  return (lastConsts = c);
}

/** bits [shift, shift + log2(mask+1)) of hi:lo (va_bits_at() without the calls) */
function index_at(hi: number, lo: number, shift: number, mask: number): number {
  const v = shift >= 32 ? hi >>> (shift - 32) : shift === 0 ? lo : (lo >>> shift) | (hi << (32 - shift));
  return v & mask;
}

// the halves of the address being translated (va_split() without allocating a pair)
let H = 0;
let LO = 0;
function split(va: bigint): void {
  if (va >= 0n && va <= 0x1fffffffffffffn) {
    // below 2^53: one exact conversion, no BigInt arithmetic
    const n = Number(va);
    LO = n % 0x100000000;
    H = (n - LO) / 0x100000000;
  } else {
    H = Number((va >> 32n) & 0xffffffffn);
    LO = Number(va & 0xffffffffn);
  }
}

/** the frame and physical address of va inside a page of size 2^shift starting at frame pfn */
function pa_of(fmt: pt_format, pfn: number, hi: number, lo: number, shift: number, out: mmu_res): void {
  // offset within the page: shift ≤ 32 on every format with a page that large (1 GiB = 2^30)
  let page: number;
  let within: number;
  if (shift < 31) {
    const off = lo & ((1 << shift) - 1);
    page = off >>> fmt.page_shift;
    within = off & (fmt.page_size - 1);
  } else {
    const off = shift >= 32 ? (hi % 2 ** (shift - 32)) * 2 ** 32 + lo : (lo >>> 0) % 2 ** shift;
    page = Math.floor(off / fmt.page_size);
    within = off % fmt.page_size;
  }
  out.pfn = pfn + page;
  out.pa_within = within;
}

function err(access: mmu_access, mode: mmu_mode, present: boolean): number {
  return (present ? X86_PF_PROT : 0) | (access === "write" ? X86_PF_WRITE : 0) | (mode === "user" ? X86_PF_USER : 0) | (access === "exec" ? X86_PF_INSTR : 0);
}

/** where a protection fault happened: at the leaf the walk stopped at, the denying bit possibly higher */
function denied_where(bit: string, at: string, stop: string): string {
  return at === stop ? `(${bit} in the ${at} entry)` : `at the ${stop} level (${bit} higher up, in the ${at} entry: the rights of all levels combine)`;
}

/** an entry object evicted from a TLB, reused by the next fill */
let spare: tlb_entry | undefined;

/**
 * A debugger's walk (no TLB, no A/D, no permission checks): the entries read from the top until a
 * leaf or a non-present entry, as raw numbers (table, idx, lo, hi per level). What `steps` shows for
 * a TLB hit, which itself walks nothing.
 */
export function mmu_walk_raw(ms: MachineState, pgd: number, va: bigint): number[] {
  const fmt = pt_format_of(ms.arch);
  split(va);
  if (va >= fmt.va_end || !va_canonical_split(fmt, H, LO)) return [];
  return walk_raw(ms, fmt, consts_of(fmt), pgd, H, LO);
}

function walk_raw(ms: MachineState, fmt: pt_format, k: walk_consts, pgd: number, hi: number, lo: number): number[] {
  const raw: number[] = [];
  let table = pgd;
  // entry_read() inlined: the frames map fetched once, not once per level
  const frames = contents(ms).frames;
  const esz = fmt.esz;
  const pshift = fmt.page_shift;
  const pmask = fmt.page_size - 1;
  const L = fmt.L;
  for (let i = 0; i < L; i++) {
    const idx = index_at(hi, lo, k.shift[i]!, k.mask[i]!);
    const off = idx * esz;
    const b = frames.get(table + (off >> pshift));
    let elo = 0;
    let ehi = 0;
    if (b) {
      const w = (off & pmask) >> 2;
      elo = b.u32[w]!;
      if (esz === 8) ehi = b.u32[w + 1]!;
    }
    raw.push(table, idx, elo, ehi);
    if (!(elo & _PAGE_PRESENT)) break;
    if (i === L - 1 || (elo & _PAGE_PSE && k.huge[i] && !(fmt.pae && i === 0))) break;
    table = entry_pfn(fmt, elo, ehi);
  }
  return raw;
}

/**
 * Translate `va` on `cpu` through the page tables rooted at `pgd` (CR3). The caller has loaded the mm
 * (switch_mm) so the TLB's non-global entries belong to it. `fill` = false: a pure inspection (no
 * TLB fill, no A/D updates), as a debugger's walk would be. `ladder`: on a TLB hit (which walks
 * nothing) read what the tables hold anyway, as mmu_walk_raw() does, for the display.
 */
export function mmu_translate(ms: MachineState, cpu: number, mm_id: number, pgd: number, va: bigint, access: mmu_access, mode: mmu_mode, fill = true, ladder = false): mmu_res {
  const fmt = pt_format_of(ms.arch);
  const k = consts_of(fmt);
  const res = new mmu_res(fmt, va, access, mode, cpu);
  split(va);
  const hi = H;
  const lo = LO;
  if (va >= fmt.va_end || !va_canonical_split(fmt, hi, lo)) {
    res.fault = { kind: "non-canonical", reason: fmt.canonical ? `${"0x" + va.toString(16)} is not canonical: bits 63..${fmt.va_bits - 1} must all be equal (#GP, not a page fault)` : `address beyond the ${fmt.va_bits}-bit address space`, error_code: 0 };
    return res;
  }
  const user = mode === "user";
  const write = access === "write";
  const exec = access === "exec";
  const st = tlbs(ms);
  const t = st.cpus[cpu]!;
  if (fill) {
    const hit = st.policy === "lru" ? tlb_lookup(t, hi, lo, k.page_shifts) : tlb_peek(t, hi, lo, k.page_shifts);
    if (hit && (!write || hit.dirty)) {
      const bad = (user && !hit.user) || (write && !hit.rw) || (exec && hit.nx);
      if (!bad) {
        t.hits++;
        res.tlb = "hit";
        pa_of(fmt, hit.pfn, hi, lo, hit.shift, res);
        res.page_shift = hit.shift;
        if (ladder) res.raw = walk_raw(ms, fmt, k, pgd, hi, lo);
        return res;
      }
    }
    t.misses++;
  }
  // the page walk
  const raw: number[] = [];
  res.raw = raw;
  let table = pgd;
  let rw = true;
  let us = true;
  let nx = false;
  let usLevel = "";
  let rwLevel = "";
  let nxLevel = "";
  // entry_read() inlined: the frames map fetched once, not once per level
  const frames = contents(ms).frames;
  const esz = fmt.esz;
  const pshift = fmt.page_shift;
  const pmask = fmt.page_size - 1;
  for (let i = 0; i < fmt.L; i++) {
    const lv = fmt.levels[i]!;
    const idx = index_at(hi, lo, k.shift[i]!, k.mask[i]!);
    const off = idx * esz;
    const b = frames.get(table + (off >> pshift));
    let elo = 0;
    let ehi = 0;
    if (b) {
      const w = (off & pmask) >> 2;
      elo = b.u32[w]!;
      if (esz === 8) ehi = b.u32[w + 1]!;
    }
    raw.push(table, idx, elo, ehi);
    if (!(elo & _PAGE_PRESENT)) {
      // a leaf entry that is not zero and not PROT_NONE holds a swap entry (include/linux/swapops.h)
      const swapped = i === fmt.L - 1 && is_swap_pte(elo, ehi);
      const reason = swapped ? `${lv.name} entry ${idx} is not present (P = 0): it holds a swap entry, type ${pte_swp_type(fmt, elo, ehi)} offset ${pte_swp_offset(fmt, elo, ehi)} — the page is in swap; the fault reads it back (do_swap_page)` : `${lv.name} entry ${idx} is not present (P = 0)`;
      res.fault = { kind: "not-present", level: lv.name, reason, error_code: err(access, mode, false) };
      return res;
    }
    const paeTop = fmt.pae && i === 0;
    if (!paeTop) {
      if (!(elo & _PAGE_RW) && rw) {
        rw = false;
        rwLevel = lv.name;
      }
      if (!(elo & _PAGE_USER) && us) {
        us = false;
        usLevel = lv.name;
      }
      if (fmt.has_nx && ehi & NX_HI && !nx) {
        nx = true;
        nxLevel = lv.name;
      }
    }
    const leaf = i === fmt.L - 1 || (elo & _PAGE_PSE && lv.huge && !paeTop);
    if (!leaf) {
      table = entry_pfn(fmt, elo, ehi);
      continue;
    }
    // permission checks on the combined rights; the fault is reported at the level where the walk
    // stopped (the leaf), and names the entry whose bit denied it when that one is higher up
    let fault: string | undefined;
    if (user && !us) fault = `user-mode access to a supervisor page ${denied_where("U/S = 0", usLevel, lv.name)}`;
    else if (write && !rw) fault = `write to a read-only page ${denied_where("R/W = 0", rwLevel, lv.name)}`;
    else if (exec && nx) fault = `instruction fetch from a no-execute page ${denied_where("NX = 1", nxLevel, lv.name)}`;
    if (fault) {
      res.fault = { kind: "protection", level: lv.name, reason: fault, error_code: err(access, mode, true) };
      return res;
    }
    const base = entry_pfn(fmt, elo, ehi);
    const shift = lv.shift;
    pa_of(fmt, base, hi, lo, shift, res);
    res.page_shift = shift;
    if (fill) {
      // the walker sets Accessed in every entry it used, Dirty in the leaf of a write
      for (let j = fmt.pae ? 1 : 0; j <= i; j++) {
        const slo = raw[4 * j + 2]!;
        const want = (slo | _PAGE_ACCESSED | (j === i && write ? _PAGE_DIRTY : 0)) >>> 0;
        if (want !== slo) entry_write(ms, fmt, raw[4 * j]!, raw[4 * j + 1]!, want, raw[4 * j + 3]!);
      }
      // the object of an entry that left the TLB is rewritten (every field) rather than a new one made
      const te: tlb_entry = spare ?? { vpn: 0, shift: 0, pfn: 0, level: 0, rw: false, user: false, nx: false, dirty: false, global: false, mm: 0, stamp: 0 };
      spare = undefined;
      te.vpn = shift >= 32 ? hi >>> (shift - 32) : hi * 2 ** (32 - shift) + (lo >>> shift);
      te.shift = shift;
      te.pfn = base;
      te.level = i;
      te.rw = rw;
      te.user = us;
      te.nx = nx;
      te.dirty = write || (elo & _PAGE_DIRTY) !== 0;
      te.global = (elo & _PAGE_GLOBAL) !== 0;
      te.mm = elo & _PAGE_GLOBAL ? -1 : mm_id;
      spare = tlb_fill(ms, t, te);
    }
    return res;
  }
  return res;
}
