/**
 * High memory on 32-bit x86 (mm/highmem.c, include/linux/highmem-internal.h, Linux 6.12):
 * kmap()/kunmap() through the LAST_PKMAP persistent slots (pkmap_count[] semantics: 0 = free and
 * flushed, 1 = free but the TLB may still hold it, n = n-1 users; map_new_virtual()'s scan from
 * last_pkmap_nr and flush_all_zero_pkmaps() when it wraps), and kmap_local_page() on CPU 0's
 * KM_MAX_IDX fixmap slots, a stack.
 *
 * Simplifications: one CPU; no sleeping: when every pkmap slot is busy kmap() would sleep until a
 * kunmap(), here it fails. The PTEs are written in swapper_pg_dir through mm/pgtable.ts
 * (map_kernel_page / unmap_kernel_page); the pkmap page table is allocated on first use, not at boot.
 */
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { KM_MAX_IDX, kmap_local_vaddr } from "../arch/layout";
import { x86_32_areas } from "../arch/pgtable_32_areas";
import { PageHighMem, lowmem_page_address } from "./slab_common";
import { kernel_va_to_pfn, map_kernel_page, unmap_kernel_page } from "./pgtable";

const F = "mm/highmem.c";

export class kmap_state {
  /** pkmap_count[LAST_PKMAP] */
  pkmap_count: Int32Array;
  /** which frame each slot maps (-1 none) — the PTE at PKMAP_ADDR(nr) */
  pkmap_page: Int32Array;
  last_pkmap_nr = 0;
  /** page_address_htable: highmem PFN → pkmap slot */
  page_address_map = new Map<number, number>();
  /** kmap_local stack of CPU 0: the frame in each used fixmap slot */
  local: number[] = [];
  /** flush_tlb_kernel_range() calls made by flush_all_zero_pkmaps() */
  flushes = 0;
  constructor(n: number) {
    this.pkmap_count = new Int32Array(n);
    this.pkmap_page = new Int32Array(n).fill(-1);
  }
  clone_for(_ms: MachineState): kmap_state {
    const c = new kmap_state(this.pkmap_count.length);
    c.pkmap_count.set(this.pkmap_count);
    c.pkmap_page.set(this.pkmap_page);
    c.last_pkmap_nr = this.last_pkmap_nr;
    c.page_address_map = new Map(this.page_address_map);
    c.local = [...this.local];
    c.flushes = this.flushes;
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    kmap?: kmap_state;
  }
}

/** does this machine have CONFIG_HIGHMEM's pkmap area (32-bit x86)? */
export function has_pkmap(ms: MachineState): boolean {
  return ms.arch.bits === 32 && ms.arch.pc;
}

/** pkmap_count[] and friends (mm/highmem.c globals), created on first use with LAST_PKMAP slots */
export function kmap_of(ms: MachineState): kmap_state {
  return (ms.kmap ??= new kmap_state(x86_32_areas(ms.arch).LAST_PKMAP));
}

/** PKMAP_BASE */
export function PKMAP_BASE(ms: MachineState): bigint {
  return x86_32_areas(ms.arch).PKMAP_BASE;
}
/** PKMAP_ADDR(nr) = PKMAP_BASE + (nr << PAGE_SHIFT) */
export function PKMAP_ADDR(ms: MachineState, nr: number): bigint {
  return PKMAP_BASE(ms) + (BigInt(nr) << BigInt(ms.arch.PAGE_SHIFT));
}

/** page_address(): the direct-map address of a lowmem frame, the pkmap address of a kmapped highmem frame, else undefined (NULL) */
export function page_address(ms: MachineState, pfn: number): bigint | undefined {
  if (!PageHighMem(ms, pfn)) return lowmem_page_address(ms, pfn);
  const slot = ms.kmap?.page_address_map.get(pfn);
  return slot === undefined ? undefined : PKMAP_ADDR(ms, slot);
}

/** flush_all_zero_pkmaps(): slots with count 1 (unused, maybe still in the TLB) become 0, their PTEs cleared, one TLB flush */
function flush_all_zero_pkmaps(ms: MachineState, st: kmap_state): void {
  let n = 0;
  for (let i = 0; i < st.pkmap_count.length; i++) {
    if (st.pkmap_count[i] !== 1) continue;
    st.pkmap_count[i] = 0;
    unmap_kernel_page(ms, PKMAP_ADDR(ms, i));
    st.page_address_map.delete(st.pkmap_page[i]!);
    st.pkmap_page[i] = -1;
    n++;
  }
  if (n) st.flushes++;
  if (ms.trace.on) ms.trace.emit("flush_all_zero_pkmaps", F, n ? `the scan wrapped: ${n} slot${n > 1 ? "s" : ""} with count 1 cleared, flush_tlb_kernel_range(PKMAP_BASE…)` : "the scan wrapped: no slot with count 1 to reclaim");
}

/** would kmap_high() find a slot (without changing anything)? */
export function kmap_high_would_sleep(st: kmap_state, pfn: number): boolean {
  if (st.page_address_map.has(pfn)) return false;
  for (let i = 0; i < st.pkmap_count.length; i++) if (st.pkmap_count[i]! <= 1) return false;
  return true;
}

/** kmap() → kmap_high() → map_new_virtual(): the caller checked a slot can be had (kmap_high_would_sleep) */
export function kmap(ms: MachineState, pfn: number): { vaddr: bigint; slot: number; error?: string } {
  const tr = ms.trace;
  if (!PageHighMem(ms, pfn)) {
    const v = lowmem_page_address(ms, pfn);
    if (tr.on) tr.emit("kmap", "include/linux/highmem-internal.h", `PFN ${hex(pfn)} is lowmem: page_address() = ${hex(v)}, no pkmap slot needed`);
    return { vaddr: v, slot: -1 };
  }
  const st = kmap_of(ms);
  let slot = st.page_address_map.get(pfn);
  if (slot === undefined) {
    const n = st.pkmap_count.length;
    let count = n;
    for (;;) {
      st.last_pkmap_nr = (st.last_pkmap_nr + 1) & (n - 1);
      if (st.last_pkmap_nr === 0) {
        flush_all_zero_pkmaps(ms, st);
        count = n;
      }
      if (!st.pkmap_count[st.last_pkmap_nr]) break;
      if (--count) continue;
      throw new Error("kmap: no free pkmap slot (the caller should have checked)");
    }
    slot = st.last_pkmap_nr;
    // set_pte_at(&init_mm, vaddr, &pkmap_page_table[last_pkmap_nr], mk_pte(page, kmap_prot))
    const rc = map_kernel_page(ms, PKMAP_ADDR(ms, slot), pfn);
    if (rc !== 0) return { vaddr: 0n, slot: -1, error: rc === -12 ? "no memory for the pkmap page table" : `cannot map slot ${slot} (${rc})` };
    st.pkmap_page[slot] = pfn;
    st.pkmap_count[slot] = 1;
    st.page_address_map.set(pfn, slot);
    if (tr.on) tr.emit("map_new_virtual", F, `HighMem PFN ${hex(pfn)} has no kernel address: take pkmap slot ${slot}, set the PTE of ${hex(PKMAP_ADDR(ms, slot))}`, { slot });
  } else if (tr.on) tr.emit("kmap_high", F, `PFN ${hex(pfn)} is already mapped at slot ${slot}: one more user`);
  st.pkmap_count[slot]!++;
  return { vaddr: PKMAP_ADDR(ms, slot), slot };
}

/** kunmap() → kunmap_high(): one user less; at count 1 the slot is free (reclaimed at the next wrap). The caller checked the frame is kmapped. */
export function kunmap(ms: MachineState, pfn: number): number {
  const st = kmap_of(ms);
  const slot = st.page_address_map.get(pfn)!;
  const c = --st.pkmap_count[slot]!;
  if (ms.trace.on) ms.trace.emit("kunmap_high", F, c === 1 ? `slot ${slot}: last user gone; count 1 = free but still mapped until flush_all_zero_pkmaps()` : `slot ${slot}: ${c - 1} user${c - 1 === 1 ? "" : "s"} left`);
  return slot;
}

/** kmap_local_page() → __kmap_local_pfn_prot(): lowmem → page_address(); HighMem → the next fixmap slot of this CPU. The caller checked the stack depth. */
export function kmap_local_page(ms: MachineState, pfn: number): { vaddr: bigint; idx: number; error?: string } {
  if (!PageHighMem(ms, pfn)) return { vaddr: lowmem_page_address(ms, pfn), idx: -1 };
  const st = kmap_of(ms);
  const idx = st.local.length;
  const v = kmap_local_vaddr(ms, idx);
  const rc = map_kernel_page(ms, v, pfn);
  if (rc !== 0) return { vaddr: 0n, idx: -1, error: rc === -12 ? "no memory for the fixmap page table" : `cannot map fixmap slot ${idx} (${rc})` };
  st.local.push(pfn);
  if (ms.trace.on) ms.trace.emit("__kmap_local_pfn_prot", F, `kmap_local_idx_push() = ${idx}: fixmap slot FIX_KMAP_BEGIN+${idx} at ${hex(v)} maps PFN ${hex(pfn)} (this CPU only, until kunmap_local)`);
  return { vaddr: v, idx };
}

/** kunmap_local() → kunmap_local_indexed(): pop the top slot. The caller checked it is the top. */
export function kunmap_local(ms: MachineState): number {
  const st = kmap_of(ms);
  const pfn = st.local.pop()!;
  unmap_kernel_page(ms, kmap_local_vaddr(ms, st.local.length));
  if (ms.trace.on) ms.trace.emit("kunmap_local_indexed", F, `slot FIX_KMAP_BEGIN+${st.local.length} (PFN ${hex(pfn)}) unmapped, kmap_local_idx_pop()`);
  return pfn;
}

export const KMAP_LOCAL_MAX = KM_MAX_IDX;

/** every pkmap slot accounted: count 0 ⇔ no page; page_address_map is the inverse of pkmap_page */
export function validate_kmap(ms: MachineState): string | undefined {
  const st = ms.kmap;
  if (!st) return undefined;
  let mapped = 0;
  for (let i = 0; i < st.pkmap_count.length; i++) {
    const c = st.pkmap_count[i]!;
    const p = st.pkmap_page[i]!;
    if (c < 0) return `pkmap_count[${i}] is negative`;
    if ((c === 0) !== (p === -1)) return `pkmap slot ${i}: count ${c} but ${p === -1 ? "no page" : `page ${hex(p)}`}`;
    if (p !== -1) {
      mapped++;
      if (st.page_address_map.get(p) !== i) return `pkmap slot ${i} maps ${hex(p)} but page_address() of it says ${st.page_address_map.get(p)}`;
      if (!ms.pfn_valid(p) || !PageHighMem(ms, p)) return `pkmap slot ${i} maps ${hex(p)}, not a HighMem frame`;
    }
    if (ms.pgt) {
      const m = kernel_va_to_pfn(ms, PKMAP_ADDR(ms, i));
      if (m !== p) return `pkmap slot ${i}: pkmap_page says ${p < 0 ? "none" : hex(p)} but the PTE at ${hex(PKMAP_ADDR(ms, i))} maps ${m < 0 ? "nothing" : hex(m)}`;
    }
  }
  if (mapped !== st.page_address_map.size) return `page_address_htable has ${st.page_address_map.size} entries, ${mapped} slots are mapped`;
  if (st.local.length > KM_MAX_IDX) return `kmap_local stack deeper than KM_MAX_IDX`;
  for (const [i, p] of st.local.entries()) if (ms.pgt && kernel_va_to_pfn(ms, kmap_local_vaddr(ms, i)) !== p) return `kmap_local slot ${i} should map PFN ${hex(p)}`;
  return undefined;
}
