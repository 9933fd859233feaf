/**
 * Page tables that are real memory (include/linux/pgtable.h, arch/x86/include/asm/pgtable*.h,
 * arch/x86/mm/pgtable.c, mm/memory.c free_pgd_range). Every table is a frame (or, on a toy geometry
 * whose table outgrows a page, a 2^order block) from the buddy allocator, marked PG_table; its
 * entries are stored as bytes in that frame (src/mm/page_contents.ts), little-endian, with the x86
 * bit layout: P 0, RW 1, US 2, PWT 3, PCD 4, A 5, D 6, PSE/PAT 7, G 8, SOFTW1..3 9-11, the frame
 * number from bit 12 up, NX 63 (PAE and x86-64 only). 64-bit entries are two 32-bit words; a JS
 * number never holds more than 32 bits of an entry, and addresses are split into two 32-bit halves
 * (va_split) so no 64-bit address passes through a JS number.
 *
 * The toy geometry uses the same entry layout with the frame number at bit 12 whatever its page size.
 */
import type { arch_desc, pt_level } from "../arch/arch";
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { flush_tlb_kernel_range } from "../hw/tlb";
import { GFP_KERNEL } from "./gfp";
import { PG_table } from "./memmap";
import { clear_frames, contents } from "./page_contents";
import { __alloc_pages, __free_pages } from "./page_alloc";

const F = "arch/x86/mm/pgtable.c";

// ---------------------------------------------------------------- entry bits (pgtable_types.h)

export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_PWT = 1 << 3;
export const _PAGE_PCD = 1 << 4;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
/** bit 7: PSE (large page) in a PMD/PUD/PGD entry, PAT in a 4 KiB PTE */
export const _PAGE_PSE = 1 << 7;
export const _PAGE_PAT = 1 << 7;
export const _PAGE_GLOBAL = 1 << 8;
/** _PAGE_BIT_SOFTW1: pte_special() (the zero page's PTE) */
export const _PAGE_SPECIAL = 1 << 9;
export const _PAGE_UFFD_WP = 1 << 10;
export const _PAGE_SOFT_DIRTY = 1 << 11;
/** _PAGE_PROTNONE = _PAGE_GLOBAL when PRESENT is clear (PROT_NONE pages) */
export const _PAGE_PROTNONE = _PAGE_GLOBAL;
/**
 * _PAGE_NX is bit 63 of an entry. A pgprot here is a JS number: bits 0-11 are the entry's low bits and
 * this bit (2^20) stands for NX; mk_entry() moves it to bit 31 of the high word.
 */
export const _PAGE_NX = 1 << 20;
export const NX_HI = 0x80000000;

/** names of the low flag bits, for rendering (pte_flags) */
export const ENTRY_BITS: [number, string][] = [
  [_PAGE_PRESENT, "P"],
  [_PAGE_RW, "RW"],
  [_PAGE_USER, "US"],
  [_PAGE_PWT, "PWT"],
  [_PAGE_PCD, "PCD"],
  [_PAGE_ACCESSED, "A"],
  [_PAGE_DIRTY, "D"],
  [_PAGE_PSE, "PSE"],
  [_PAGE_GLOBAL, "G"],
  [_PAGE_SPECIAL, "SPECIAL"],
  [_PAGE_UFFD_WP, "UFFD_WP"],
  [_PAGE_SOFT_DIRTY, "SOFT_DIRTY"],
];

/** _PAGE_TABLE: an entry pointing to a user page table (P|RW|US|A|D) */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** _KERNPG_TABLE: an entry pointing to a kernel page table (P|RW|A|D) */
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
/** __PAGE_KERNEL_EXEC: P|RW|A|D|G */
export const __PAGE_KERNEL_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL;
/** __PAGE_KERNEL: __PAGE_KERNEL_EXEC|NX (NX dropped where the format has none) */
export const PAGE_KERNEL = __PAGE_KERNEL_EXEC | _PAGE_NX;
export const PAGE_KERNEL_EXEC = __PAGE_KERNEL_EXEC;
export const PAGE_KERNEL_RO = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | _PAGE_NX;

// ---------------------------------------------------------------- formats

export interface pt_format {
  arch: arch_desc;
  levels: pt_level[];
  /** number of levels */
  L: number;
  /** bytes per entry */
  esz: 4 | 8;
  page_shift: number;
  page_size: number;
  /** entries per table, per level */
  nent: number[];
  /** buddy order of a table, per level (0 unless a toy table outgrows a page) */
  order: number[];
  has_nx: boolean;
  /** PAE: the top level is the PDPT, whose entries hold only P, PWT, PCD and the address */
  pae: boolean;
  /** PFN bits held in the high word (pa_bits - 32, for 64-bit entries) */
  hi_pfn_mask: number;
  va_bits: number;
  /** x86-64: addresses must be canonical (bits 63..va_bits-1 all equal) */
  canonical: boolean;
  /** KERNEL_PGD_BOUNDARY = pgd_index(PAGE_OFFSET): top-level entries from here on are the kernel's */
  kernel_boundary: number;
  /** TASK_SIZE: the end of user space */
  task_size: bigint;
  /** the highest address + 1 (2^32, 2^64, or 2^vaBits for the toy) */
  va_end: bigint;
}

const formats = new WeakMap<arch_desc, pt_format>();

/** the paging format of an arch (pgtable-2level.h, pgtable-3level.h, pgtable_64.h) */
export function pt_format_of(arch: arch_desc): pt_format {
  // the last arch asked about: every translate asks, almost always about the same machine's arch
  if (arch === lastArch) return lastFormat!;
  let f = formats.get(arch);
  if (f) {
    lastArch = arch;
    lastFormat = f;
    return f;
  }
  const esz = arch.pte_size;
  const nent = arch.levels.map((l) => 2 ** l.bits);
  const order = nent.map((n) => Math.max(0, Math.ceil(Math.log2((n * esz) / arch.PAGE_SIZE))));
  const top = arch.levels[0]!;
  const va_end = arch.name === "toy" ? 1n << BigInt(arch.va_bits) : arch.bits === 64 ? 1n << 64n : 1n << 32n;
  let task_size: bigint;
  if (arch.name === "x86_64") task_size = arch.la57 ? (1n << 56n) - 4096n : (1n << 47n) - 4096n;
  else if (arch.name === "toy") task_size = va_end;
  else task_size = arch.PAGE_OFFSET;
  const kernel_boundary = arch.name === "toy" ? nent[0]! : Number((arch.PAGE_OFFSET >> BigInt(top.shift)) & BigInt(nent[0]! - 1));
  f = {
    arch,
    levels: arch.levels,
    L: arch.levels.length,
    esz,
    page_shift: arch.PAGE_SHIFT,
    page_size: arch.PAGE_SIZE,
    nent,
    order,
    has_nx: esz === 8 && arch.name !== "toy",
    pae: arch.name === "x86_pae",
    hi_pfn_mask: esz === 8 ? (arch.pa_bits > 32 ? 2 ** Math.min(20, arch.pa_bits - 32) - 1 : 0) : 0,
    va_bits: arch.va_bits,
    canonical: arch.name === "x86_64",
    kernel_boundary,
    task_size,
    va_end,
  };
  formats.set(arch, f);
  lastArch = arch;
  lastFormat = f;
  return f;
}
let lastArch: arch_desc | undefined;
let lastFormat: pt_format | undefined;

/** split an address into two 32-bit halves [hi, lo] (the only way addresses enter the walk) */
export function va_split(va: bigint): [number, number] {
  // below 2^53 one exact conversion to a number does it (no BigInt arithmetic, no allocation)
  if (va >= 0n && va <= 0x1fffffffffffffn) {
    const n = Number(va);
    return [Math.floor(n / 0x100000000), n % 0x100000000];
  }
  return [Number((va >> 32n) & 0xffffffffn), Number(va & 0xffffffffn)];
}

/** bits [shift, shift+bits) of the address (hi:lo): pgd_index(), pmd_index(), pte_index() */
export function va_bits_at(hi: number, lo: number, shift: number, bits: number): number {
  const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
  let v: number;
  if (shift >= 32) v = hi >>> (shift - 32);
  else if (shift === 0) v = lo;
  else v = (lo >>> shift) | (hi << (32 - shift));
  return (v >>> 0) & mask;
}

/** the index into level i's table for an address */
export function pt_index(fmt: pt_format, i: number, hi: number, lo: number): number {
  const l = fmt.levels[i]!;
  return va_bits_at(hi, lo, l.shift, l.bits);
}

/** is the address canonical (x86-64: bits 63..va_bits-1 equal; elsewhere: below va_end) */
export function va_canonical(fmt: pt_format, va: bigint): boolean {
  if (va < 0n || va >= fmt.va_end) return false;
  if (!fmt.canonical) return true;
  const top = va >> BigInt(fmt.va_bits - 1);
  return top === 0n || top === (1n << BigInt(64 - fmt.va_bits + 1)) - 1n;
}

/** va_canonical() on an address already split into 32-bit halves (the MMU's fast path) */
export function va_canonical_split(fmt: pt_format, hi: number, lo: number): boolean {
  if (fmt.canonical) {
    const s = fmt.va_bits - 1 - 32;
    const top = hi >>> s;
    return top === 0 || top === 2 ** (32 - s) - 1;
  }
  if (fmt.va_bits <= 32) return hi === 0 && (fmt.va_bits === 32 || lo < 2 ** fmt.va_bits);
  return hi < 2 ** (fmt.va_bits - 32);
}

// ---------------------------------------------------------------- entries in frames

/** an entry as two 32-bit words (low, high) */
export interface pt_entry {
  lo: number;
  hi: number;
}

/** read entry idx of the table at `table` (a pte_t/pmd_t/... as stored in memory) */
export function entry_read(ms: MachineState, fmt: pt_format, table: number, idx: number, out: pt_entry): pt_entry {
  const off = idx * fmt.esz;
  const b = contents(ms).frames.get(table + (off >> fmt.page_shift));
  if (!b) {
    out.lo = 0;
    out.hi = 0;
    return out;
  }
  const w = (off & (fmt.page_size - 1)) >> 2;
  out.lo = b.u32[w]!;
  out.hi = fmt.esz === 8 ? b.u32[w + 1]! : 0;
  return out;
}

/** set_pte()/set_pmd()/set_pgd(): store an entry */
export function entry_write(ms: MachineState, fmt: pt_format, table: number, idx: number, lo: number, hi: number): void {
  const off = idx * fmt.esz;
  const f = table + (off >> fmt.page_shift);
  const c = contents(ms);
  let b = c.frames.get(f);
  if (!b) {
    if (lo === 0 && hi === 0) return;
    const u8 = new Uint8Array(fmt.page_size);
    b = { u8, u32: new Uint32Array(u8.buffer) };
    c.frames.set(f, b);
  }
  const w = (off & (fmt.page_size - 1)) >> 2;
  b.u32[w] = lo >>> 0;
  if (fmt.esz === 8) b.u32[w + 1] = hi >>> 0;
}

/** the frame number an entry points to (pte_pfn(), pmd_pfn()) */
export function entry_pfn(fmt: pt_format, lo: number, hi: number): number {
  return (lo >>> 12) + (hi & fmt.hi_pfn_mask) * 0x100000;
}

/** pfn_pte(pfn, prot): an entry's two words */
export function mk_entry(fmt: pt_format, pfn: number, prot: number): pt_entry {
  const lo = (((pfn & 0xfffff) << 12) | (prot & 0xfff)) >>> 0;
  let hi = fmt.esz === 8 ? Math.floor(pfn / 0x100000) & fmt.hi_pfn_mask : 0;
  if (prot & _PAGE_NX && fmt.has_nx) hi = (hi | NX_HI) >>> 0;
  return { lo, hi };
}

/** the pgprot (low flags + _PAGE_NX) of an entry: pte_flags() */
export function entry_prot(fmt: pt_format, e: pt_entry): number {
  return (e.lo & 0xfff) | (fmt.has_nx && e.hi & NX_HI ? _PAGE_NX : 0);
}

/** an entry's raw value as a bigint */
export function entry_value(e: pt_entry): bigint {
  return (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0);
}

/** the names of the flags set in an entry */
export function entry_flag_names(fmt: pt_format, e: pt_entry, level: number): string[] {
  const out: string[] = [];
  const leaf = level === fmt.L - 1;
  const protnone = leaf && !(e.lo & _PAGE_PRESENT) && e.lo & _PAGE_PROTNONE;
  for (const [bit, name] of ENTRY_BITS) if (e.lo & bit) out.push(bit === _PAGE_PSE && leaf ? "PAT" : bit === _PAGE_GLOBAL && protnone ? "PROTNONE" : name);
  if (fmt.has_nx && e.hi & NX_HI) out.push("NX");
  return out;
}

// ---------------------------------------------------------------- state: the kernel's page table

/** page-table bookkeeping of the machine (init_mm.pgd = swapper_pg_dir, pgd_list, NR_PAGETABLE) */
export class pgtable_state {
  /** swapper_pg_dir: the kernel's top-level table (PFN) */
  swapper_pgd = -1;
  /** frames of the kernel page tables made at boot (from memblock in the kernel: not in PageTables) */
  boot_tables: number[] = [];
  /** kernel tables made later (map_kernel_page for vmalloc): counted in PageTables */
  kernel_tables = 0;
  /** pgd_list: every process's top-level table, kept in sync with the kernel entries */
  pgd_list: number[] = [];
  /** NR_PAGETABLE: frames of page tables counted in /proc/meminfo PageTables */
  nr_pagetable = 0;
  clone_for(_ms: MachineState): pgtable_state {
    const c = new pgtable_state();
    c.swapper_pgd = this.swapper_pgd;
    c.boot_tables = [...this.boot_tables];
    c.kernel_tables = this.kernel_tables;
    c.pgd_list = [...this.pgd_list];
    c.nr_pagetable = this.nr_pagetable;
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** page-table bookkeeping, see src/mm/pgtable.ts */
    pgt?: pgtable_state;
  }
}

/** who pays for a table: an mm (mm->pgtables_bytes) or the kernel (undefined) */
export interface pt_owner {
  /** page-table frames this mm holds, its pgd included */
  nr_pgtables: number;
}

/** pagetable_alloc() + pagetable_*_ctor(): a zeroed table for level i, marked PG_table. -1 on ENOMEM. */
export function pt_alloc_table(ms: MachineState, fmt: pt_format, level: number, owner: pt_owner | undefined, counted = true): number {
  const order = fmt.order[level]!;
  const r = __alloc_pages(ms, GFP_KERNEL, order);
  if (r.pfn < 0) return -1;
  const mm = ms.mem_map;
  for (let i = 0; i < 1 << order; i++) mm.flags[r.pfn + i]! |= PG_table;
  clear_frames(ms, r.pfn, order);
  const st = pgtable(ms);
  const n = 1 << order;
  if (owner) owner.nr_pgtables += n;
  else if (counted) st.kernel_tables += n;
  if (counted) st.nr_pagetable += n;
  if (ms.trace.on) ms.trace.emit(level === 0 ? "pgd_alloc" : `${fmt.levels[level]!.name}_alloc_one`, F, `new ${fmt.levels[level]!.name} table at PFN ${hex(r.pfn)} (${fmt.nent[level]} entries of ${fmt.esz} bytes)${owner ? "" : " for the kernel"}`, { pfn: r.pfn, level });
  return r.pfn;
}

/** pagetable_dtor() + pagetable_free(): give a table's frame(s) back */
export function pt_free_table(ms: MachineState, fmt: pt_format, level: number, pfn: number, owner: pt_owner | undefined, counted = true): void {
  const order = fmt.order[level]!;
  const mm = ms.mem_map;
  for (let i = 0; i < 1 << order; i++) mm.flags[pfn + i]! &= ~PG_table;
  clear_frames(ms, pfn, order);
  const st = pgtable(ms);
  const n = 1 << order;
  if (owner) owner.nr_pgtables -= n;
  else if (counted) st.kernel_tables -= n;
  if (counted) st.nr_pagetable -= n;
  if (ms.trace.on) ms.trace.emit(level === 0 ? "pgd_free" : `${fmt.levels[level]!.name}_free`, F, `free ${fmt.levels[level]!.name} table at PFN ${hex(pfn)}`, { pfn, level });
  __free_pages(ms, pfn, order);
}

/** frames needed to map one more page in the worst case (a table per level below the top) */
export function pt_worst_case_frames(fmt: pt_format): number {
  let n = 0;
  for (let i = 1; i < fmt.L; i++) n += 1 << fmt.order[i]!;
  return n;
}

/** the entry that points to a table of level `level` (below the top) */
function table_entry_prot(fmt: pt_format, level: number, user: boolean): number {
  // the PAE PDPT entry holds only P (pud_populate(): __pa(pmd) | _PAGE_PRESENT)
  if (fmt.pae && level === 0) return _PAGE_PRESENT;
  return user ? _PAGE_TABLE : _KERNPG_TABLE;
}

export function pgtable(ms: MachineState): pgtable_state {
  if (!ms.pgt) pgtable_init(ms);
  return ms.pgt!;
}

/**
 * paging_init() / kernel_physical_mapping_init() (arch/x86/mm/init_32.c, init_64.c): swapper_pg_dir
 * with the direct map of lowmem (all RAM on 64-bit) at PAGE_OFFSET in the largest pages the format
 * has, and on x86-64 the kernel image at __START_KERNEL_map (2 MiB pages) and the fixmap's PTE table
 * (vsyscall's slot left empty: vsyscall=xonly). The toy has no kernel half.
 */
export function pgtable_init(ms: MachineState): void {
  if (ms.pgt) return;
  const st = new pgtable_state();
  ms.pgt = st;
  const fmt = pt_format_of(ms.arch);
  const was = ms.trace.on;
  ms.trace.on = false;
  try {
    const pgd = pt_alloc_table(ms, fmt, 0, undefined, false);
    if (pgd < 0) throw new Error("mmlab: no memory for swapper_pg_dir");
    st.swapper_pgd = pgd;
    st.boot_tables.push(pgd);
    if (ms.arch.name === "toy") return;
    const endpfn = ms.arch.bits === 32 ? ms.max_low_pfn : ms.max_pfn;
    // the direct map: PAGE_OFFSET + pa ↦ pa
    const nx = ms.arch.bits === 64 || fmt.pae;
    boot_map_range(ms, fmt, ms.arch.PAGE_OFFSET, 0, endpfn, nx ? PAGE_KERNEL : PAGE_KERNEL_EXEC);
    if (ms.arch.name === "x86_64") {
      // __START_KERNEL_map: the kernel image (text executable), 2 MiB pages, KERNEL_IMAGE_SIZE 512 MiB
      const img = ms.reserved.find((r) => /kernel image/.test(r.name));
      const start = img ? img.base : 0;
      const end = img ? img.base + img.size : 0;
      const two = (2 << 20) / ms.arch.PAGE_SIZE;
      const s2 = Math.floor(start / two) * two;
      const e2 = Math.ceil(end / two) * two;
      if (e2 > s2) boot_map_range(ms, fmt, 0xffffffff80000000n + BigInt(s2) * 4096n, s2, e2, PAGE_KERNEL_EXEC, 2);
      // the fixmap's last PMD slot: a PTE table (level1_fixmap_pgt) where vsyscall's page would go
      boot_table_for(ms, fmt, 0xffffffffff600000n, fmt.L - 1);
    }
  } finally {
    ms.trace.on = was;
  }
}

/** a table of level `level` covering va in swapper_pg_dir, creating what is missing (boot time) */
function boot_table_for(ms: MachineState, fmt: pt_format, va: bigint, level: number): number {
  const st = ms.pgt!;
  const [hi, lo] = va_split(va);
  let table = st.swapper_pgd;
  const e: pt_entry = { lo: 0, hi: 0 };
  for (let i = 0; i < level; i++) {
    const idx = pt_index(fmt, i, hi, lo);
    entry_read(ms, fmt, table, idx, e);
    if (!(e.lo & _PAGE_PRESENT)) {
      const t = pt_alloc_table(ms, fmt, i + 1, undefined, false);
      if (t < 0) throw new Error("mmlab: no memory for the kernel page tables");
      st.boot_tables.push(t);
      const ne = mk_entry(fmt, t, table_entry_prot(fmt, i, false));
      entry_write(ms, fmt, table, idx, ne.lo, ne.hi);
      table = t;
    } else table = entry_pfn(fmt, e.lo, e.hi);
  }
  return table;
}

/** kernel_physical_mapping_init()-like: map [pfn, endpfn) at va with the largest aligned pages
 * (`smallestLevelFromBottom` > 0: no 1 GiB pages, as level2_kernel_pgt maps the kernel image) */
function boot_map_range(ms: MachineState, fmt: pt_format, va: bigint, pfn: number, endpfn: number, prot: number, smallestLevelFromBottom = 0): void {
  const P = BigInt(fmt.page_size);
  while (pfn < endpfn) {
    // the largest level whose page fits here
    let lvl = fmt.L - 1;
    for (let i = 0; i < fmt.L - 1; i++) {
      const l = fmt.levels[i]!;
      if (!l.huge) continue;
      if (ms.arch.name === "x86_64" && l.name === "pud" && smallestLevelFromBottom > 0) continue;
      const pages = 2 ** (l.shift - fmt.page_shift);
      if (pfn % pages === 0 && pfn + pages <= endpfn) {
        lvl = i;
        break;
      }
    }
    const pages = 2 ** (fmt.levels[lvl]!.shift - fmt.page_shift);
    const table = boot_table_for(ms, fmt, va, lvl);
    const [hi, lo] = va_split(va);
    const idx = pt_index(fmt, lvl, hi, lo);
    const e = mk_entry(fmt, pfn, prot | (lvl < fmt.L - 1 ? _PAGE_PSE : 0));
    entry_write(ms, fmt, table, idx, e.lo, e.hi);
    pfn += pages;
    va += BigInt(pages) * P;
  }
}

// ---------------------------------------------------------------- per-process top level

/**
 * pgd_alloc() (arch/x86/mm/pgtable.c): a zeroed pgd whose kernel entries are copied from
 * swapper_pg_dir (pgd_ctor → clone_pgd_range(KERNEL_PGD_BOUNDARY..)), put on pgd_list; with PAE the
 * user PMDs are allocated up front (preallocate_pmds: the CPU caches the four PDPT entries).
 * Returns the PFN, or -1 on ENOMEM (nothing changed).
 */
export function pgd_alloc(ms: MachineState, owner: pt_owner): number {
  const st = pgtable(ms);
  const fmt = pt_format_of(ms.arch);
  // 6.12's x86 _pgd_alloc() takes the pgd with __get_free_pages(): no page-table constructor, so it
  // is not in NR_PAGETABLE (/proc/meminfo PageTables); mmlab still marks it PG_table and counts it
  // in the mm's nr_pgtables (what this process's page tables cost)
  const pgd = pt_alloc_table(ms, fmt, 0, owner, false);
  if (pgd < 0) return -1;
  const e: pt_entry = { lo: 0, hi: 0 };
  for (let i = fmt.kernel_boundary; i < fmt.nent[0]!; i++) {
    entry_read(ms, fmt, st.swapper_pgd, i, e);
    if (e.lo || e.hi) entry_write(ms, fmt, pgd, i, e.lo, e.hi);
  }
  if (fmt.pae) {
    const got: number[] = [];
    for (let i = 0; i < fmt.kernel_boundary; i++) {
      const t = pt_alloc_table(ms, fmt, 1, owner);
      if (t < 0) {
        for (const g of got) pt_free_table(ms, fmt, 1, g, owner);
        pt_free_table(ms, fmt, 0, pgd, owner, false);
        return -1;
      }
      got.push(t);
      const ne = mk_entry(fmt, t, _PAGE_PRESENT);
      entry_write(ms, fmt, pgd, i, ne.lo, ne.hi);
    }
  }
  st.pgd_list.push(pgd);
  return pgd;
}

/** pgd_free(): drop from pgd_list, free leftover PAE PMDs (pgd_mop_up_pmds) and the pgd itself */
export function pgd_free(ms: MachineState, owner: pt_owner, pgd: number): void {
  const st = pgtable(ms);
  const fmt = pt_format_of(ms.arch);
  const e: pt_entry = { lo: 0, hi: 0 };
  if (fmt.pae) {
    for (let i = 0; i < fmt.kernel_boundary; i++) {
      entry_read(ms, fmt, pgd, i, e);
      if (e.lo & _PAGE_PRESENT) {
        entry_write(ms, fmt, pgd, i, 0, 0);
        pt_free_table(ms, fmt, 1, entry_pfn(fmt, e.lo, e.hi), owner);
      }
    }
  }
  st.pgd_list = st.pgd_list.filter((p) => p !== pgd);
  pt_free_table(ms, fmt, 0, pgd, owner, false);
}

// ---------------------------------------------------------------- software walks

/** where a leaf entry lives: table PFN and index (pte_offset_map()) */
export interface pt_slot {
  table: number;
  idx: number;
  /** the level of the entry (L-1 for a PTE; less for a huge kernel page) */
  level: number;
}

/** follow the tables for va from `pgd` without allocating: the slot of the PTE, or undefined if a
 * table on the way is missing. A huge (PSE) entry ends the walk at its level. */
export function pt_lookup(ms: MachineState, pgd: number, va: bigint): pt_slot | undefined {
  const fmt = pt_format_of(ms.arch);
  const [hi, lo] = va_split(va);
  let table = pgd;
  const e: pt_entry = { lo: 0, hi: 0 };
  for (let i = 0; i < fmt.L - 1; i++) {
    const idx = pt_index(fmt, i, hi, lo);
    entry_read(ms, fmt, table, idx, e);
    if (!(e.lo & _PAGE_PRESENT)) return undefined;
    if (e.lo & _PAGE_PSE && fmt.levels[i]!.huge && !(fmt.pae && i === 0)) return { table, idx, level: i };
    table = entry_pfn(fmt, e.lo, e.hi);
  }
  return { table, idx: pt_index(fmt, fmt.L - 1, hi, lo), level: fmt.L - 1 };
}

/**
 * __pte_alloc() / __pmd_alloc() … then pte_offset_map(): the slot of va's PTE, allocating the tables
 * on the way (user tables get _PAGE_TABLE, kernel ones _KERNPG_TABLE). undefined on ENOMEM; tables
 * already made stay (as in the kernel, they are freed with the VMA's range later).
 * `onTop(idx)` is told when a top-level entry was filled (the kernel's tables must be synced).
 */
export function pt_alloc_walk(ms: MachineState, pgd: number, va: bigint, owner: pt_owner | undefined, onTop?: (idx: number) => void): pt_slot | undefined {
  const fmt = pt_format_of(ms.arch);
  const [hi, lo] = va_split(va);
  let table = pgd;
  const e: pt_entry = { lo: 0, hi: 0 };
  const user = owner !== undefined;
  for (let i = 0; i < fmt.L - 1; i++) {
    const idx = pt_index(fmt, i, hi, lo);
    entry_read(ms, fmt, table, idx, e);
    if (!(e.lo & _PAGE_PRESENT)) {
      const t = pt_alloc_table(ms, fmt, i + 1, owner);
      if (t < 0) return undefined;
      const ne = mk_entry(fmt, t, table_entry_prot(fmt, i, user));
      entry_write(ms, fmt, table, idx, ne.lo, ne.hi);
      if (ms.trace.on) ms.trace.emit(`${fmt.levels[i]!.name}_populate`, "arch/x86/include/asm/pgalloc.h", `${fmt.levels[i]!.name}[${idx}] of PFN ${hex(table)} → ${fmt.levels[i + 1]!.name} table PFN ${hex(t)}`, { table, idx, pfn: t });
      if (i === 0 && onTop) onTop(idx);
      table = t;
    } else {
      if (e.lo & _PAGE_PSE && fmt.levels[i]!.huge && !(fmt.pae && i === 0)) return { table, idx, level: i };
      table = entry_pfn(fmt, e.lo, e.hi);
    }
  }
  return { table, idx: pt_index(fmt, fmt.L - 1, hi, lo), level: fmt.L - 1 };
}

/**
 * free_pgd_range() (mm/memory.c): free the page tables (below the top level) that map only
 * [addr, end), given that nothing outside [floor, ceiling) may lose its tables (ceiling 0 = the top).
 * The PTEs must have been cleared already (zap_pte_range). A table is freed when the whole span it
 * covers lies inside [floor, ceiling) (after the kernel's rounding), else the walk descends into it.
 */
export function free_pgd_range(ms: MachineState, owner: pt_owner, pgd: number, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): void {
  const fmt = pt_format_of(ms.arch);
  const ceil = ceiling === 0n ? fmt.va_end : ceiling;
  const lvl = (table: number, i: number, base: bigint) => {
    // table at level i covers [base, base + nent << shift)
    const l = fmt.levels[i]!;
    const sz = 1n << BigInt(l.shift);
    const e: pt_entry = { lo: 0, hi: 0 };
    const first = addr > base ? Number((addr - base) >> BigInt(l.shift)) : 0;
    for (let idx = first; idx < fmt.nent[i]!; idx++) {
      const s = base + BigInt(idx) * sz;
      if (s >= end) break;
      if (i === 0 && idx >= fmt.kernel_boundary) break;
      entry_read(ms, fmt, table, idx, e);
      if (!(e.lo & _PAGE_PRESENT)) continue;
      if (e.lo & _PAGE_PSE && l.huge && !(fmt.pae && i === 0)) continue;
      const child = entry_pfn(fmt, e.lo, e.hi);
      // the child table covers [s, s+sz): free it whole if that lies inside the free range
      if (s >= floor && s + sz <= ceil) {
        free_subtree(ms, fmt, child, i + 1, owner);
        entry_write(ms, fmt, table, idx, 0, 0);
      } else if (i + 1 < fmt.L - 1) lvl(child, i + 1, s);
    }
  };
  lvl(pgd, 0, 0n);
}

function free_subtree(ms: MachineState, fmt: pt_format, table: number, level: number, owner: pt_owner): void {
  if (level < fmt.L - 1) {
    const e: pt_entry = { lo: 0, hi: 0 };
    for (let idx = 0; idx < fmt.nent[level]!; idx++) {
      entry_read(ms, fmt, table, idx, e);
      if (e.lo & _PAGE_PRESENT && !(e.lo & _PAGE_PSE && fmt.levels[level]!.huge)) free_subtree(ms, fmt, entry_pfn(fmt, e.lo, e.hi), level + 1, owner);
    }
  }
  pt_free_table(ms, fmt, level, table, owner);
}

/** every table frame reachable from a pgd's user half, with its level (for checks and renderings) */
export function pt_user_tables(ms: MachineState, pgd: number): { pfn: number; level: number }[] {
  const fmt = pt_format_of(ms.arch);
  const out: { pfn: number; level: number }[] = [{ pfn: pgd, level: 0 }];
  const e: pt_entry = { lo: 0, hi: 0 };
  const rec = (table: number, level: number) => {
    if (level >= fmt.L - 1) return;
    const n = level === 0 ? fmt.kernel_boundary : fmt.nent[level]!;
    for (let idx = 0; idx < n; idx++) {
      entry_read(ms, fmt, table, idx, e);
      if (!(e.lo & _PAGE_PRESENT) || (e.lo & _PAGE_PSE && fmt.levels[level]!.huge && !(fmt.pae && level === 0))) continue;
      const c = entry_pfn(fmt, e.lo, e.hi);
      out.push({ pfn: c, level: level + 1 });
      rec(c, level + 1);
    }
  };
  rec(pgd, 0);
  return out;
}

// ---------------------------------------------------------------- kernel mappings (for vmalloc)

/** arch_sync_kernel_mappings() (arch/x86/mm/fault.c): copy a new top-level kernel entry to every pgd */
function sync_kernel_pgd(ms: MachineState, idx: number): void {
  const st = pgtable(ms);
  const fmt = pt_format_of(ms.arch);
  const e: pt_entry = { lo: 0, hi: 0 };
  entry_read(ms, fmt, st.swapper_pgd, idx, e);
  for (const pgd of st.pgd_list) entry_write(ms, fmt, pgd, idx, e.lo, e.hi);
  if (ms.trace.on && st.pgd_list.length) ms.trace.emit("arch_sync_kernel_mappings", "arch/x86/mm/fault.c", `new kernel pgd[${idx}]: copied into ${st.pgd_list.length} process page table${st.pgd_list.length > 1 ? "s" : ""} (pgd_list)`, { idx });
}

/**
 * vmap_range_noflush() → vmap_pte_range() (mm/vmalloc.c) for one page: map `pfn` at kernel address
 * `va` in swapper_pg_dir (and so in every process), allocating kernel page tables as needed.
 * Returns 0, -EINVAL (va not a page-aligned kernel address, or a slot already mapped / under a huge
 * page) or -ENOMEM (nothing changed then except tables kept for later, as the kernel keeps them).
 */
export function map_kernel_page(ms: MachineState, va: bigint, pfn: number, prot: number = PAGE_KERNEL): number {
  const st = pgtable(ms);
  const fmt = pt_format_of(ms.arch);
  if (!va_canonical(fmt, va) || va % BigInt(fmt.page_size) !== 0n || va < ms.arch.PAGE_OFFSET || ms.arch.name === "toy") return -22;
  if (!ms.pfn_valid(pfn)) return -22;
  const slot = pt_alloc_walk(ms, st.swapper_pgd, va, undefined, (idx) => sync_kernel_pgd(ms, idx));
  if (!slot) return -12;
  if (slot.level !== fmt.L - 1) return -22;
  const e: pt_entry = { lo: 0, hi: 0 };
  entry_read(ms, fmt, slot.table, slot.idx, e);
  if (e.lo & _PAGE_PRESENT) return -22;
  const ne = mk_entry(fmt, pfn, prot);
  entry_write(ms, fmt, slot.table, slot.idx, ne.lo, ne.hi);
  if (ms.trace.on) ms.trace.emit("set_pte_at", "mm/vmalloc.c", `kernel ${hex(va)} → PFN ${hex(pfn)} (pte[${slot.idx}] of PFN ${hex(slot.table)})`, { va: hex(va), pfn });
  return 0;
}

/** vunmap_pte_range() + flush_tlb_kernel_range() for one page: returns the PFN that was mapped, or -1 */
export function unmap_kernel_page(ms: MachineState, va: bigint): number {
  const st = pgtable(ms);
  const fmt = pt_format_of(ms.arch);
  if (ms.arch.name === "toy" || !va_canonical(fmt, va) || va < ms.arch.PAGE_OFFSET) return -1;
  const slot = pt_lookup(ms, st.swapper_pgd, va);
  if (!slot || slot.level !== fmt.L - 1) return -1;
  const e: pt_entry = { lo: 0, hi: 0 };
  entry_read(ms, fmt, slot.table, slot.idx, e);
  if (!(e.lo & _PAGE_PRESENT)) return -1;
  entry_write(ms, fmt, slot.table, slot.idx, 0, 0);
  flush_tlb_kernel_range(ms, va, va + BigInt(fmt.page_size));
  return entry_pfn(fmt, e.lo, e.hi);
}

/** the PFN a kernel address maps to in swapper_pg_dir (huge pages included), or -1 */
export function kernel_va_to_pfn(ms: MachineState, va: bigint): number {
  const st = pgtable(ms);
  const fmt = pt_format_of(ms.arch);
  if (!va_canonical(fmt, va)) return -1;
  const slot = pt_lookup(ms, st.swapper_pgd, va);
  if (!slot) return -1;
  const e: pt_entry = { lo: 0, hi: 0 };
  entry_read(ms, fmt, slot.table, slot.idx, e);
  if (!(e.lo & _PAGE_PRESENT)) return -1;
  const base = entry_pfn(fmt, e.lo, e.hi);
  if (slot.level === fmt.L - 1) return base;
  const within = (va & ((1n << BigInt(fmt.levels[slot.level]!.shift)) - 1n)) >> BigInt(fmt.page_shift);
  return base + Number(within);
}

/**
 * walk_page_range()-like: call `fn` for every leaf slot in [start, end) whose entry is non-zero,
 * skipping missing tables (so a sparse 1 GiB range costs only what is mapped). User half only.
 */
export function pt_walk_range(ms: MachineState, pgd: number, start: bigint, end: bigint, fn: (table: number, idx: number, va: bigint, e: pt_entry) => void): void {
  const fmt = pt_format_of(ms.arch);
  const e: pt_entry = { lo: 0, hi: 0 };
  const rec = (table: number, i: number, base: bigint) => {
    const l = fmt.levels[i]!;
    const sz = 1n << BigInt(l.shift);
    const first = start > base ? Number((start - base) >> BigInt(l.shift)) : 0;
    for (let idx = first; idx < fmt.nent[i]!; idx++) {
      const s = base + BigInt(idx) * sz;
      if (s >= end) break;
      entry_read(ms, fmt, table, idx, e);
      if (!e.lo && !e.hi) continue;
      if (i === fmt.L - 1) {
        fn(table, idx, s, e);
        continue;
      }
      if (!(e.lo & _PAGE_PRESENT) || (e.lo & _PAGE_PSE && l.huge && !(fmt.pae && i === 0))) continue;
      rec(entry_pfn(fmt, e.lo, e.hi), i + 1, s);
    }
  };
  rec(pgd, 0, 0n);
}
