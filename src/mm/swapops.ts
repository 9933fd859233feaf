/**
 * Swap entries in page-table entries (include/linux/swapops.h, arch/x86/include/asm/pgtable_64.h,
 * pgtable-3level.h, pgtable-2level.h, pgtable_types.h; Linux 6.12). A swapped-out page leaves a
 * non-present PTE that names its slot: swap type (which swap area) and offset (which slot).
 *
 * - x86-64 and PAE (64-bit entries): SWP_TYPE_BITS = 5, SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1 = 9,
 *   SWP_OFFSET_SHIFT = 14. `__swp_entry(type, offset) = (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) |
 *   (type << 59)`: the offset is stored *inverted* in bits 9..58, so the would-be PFN bits of a
 *   non-present PTE point at non-existent memory (the L1TF mitigation, pgtable-invert.h); the type sits in
 *   bits 59..63. _PAGE_SWP_EXCLUSIVE (PageAnonExclusive survives swap) is bit 3 (_PAGE_PWT) on x86-64
 *   (pgtable_64.h) but bit 7 (_PAGE_PSE) on PAE (pgtable-3level.h: "We borrow bit 7 to store the
 *   exclusive marker in swap PTEs").
 * - 32-bit 2-level: `__swp_entry(type, offset) = (type << (_PAGE_BIT_PRESENT + 1)) | (offset << 9)`,
 *   not inverted; _PAGE_SWP_EXCLUSIVE = _PAGE_PSE, bit 7 (pgtable-2level.h, since 6.3's
 *   "x86/mm: support __HAVE_ARCH_PTE_SWP_EXCLUSIVE": "offset … 0 E <- type --> 0").
 * - the toy geometries use the 2-level encoding (exclusive marker in bit 7 too).
 * Present bit (0) and PROT_NONE bit (8) are always clear, so `pte_present()` is false and the MMU faults.
 */
import type { pt_format } from "./pgtable";

export const SWP_TYPE_BITS = 5;
const SWP_OFFSET_FIRST_BIT = 9;
const SWP_OFFSET_SHIFT = SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS;
/** _PAGE_SWP_EXCLUSIVE of x86-64 (= _PAGE_PWT, bit 3; arch/x86/include/asm/pgtable_64.h) */
export const _PAGE_SWP_EXCLUSIVE = 1 << 3;
/** _PAGE_SWP_EXCLUSIVE of 32-bit x86, 2-level and PAE (= _PAGE_PSE, bit 7; pgtable-2level.h, pgtable-3level.h) */
export const _PAGE_SWP_EXCLUSIVE_32 = 1 << 7;

/** the format's _PAGE_SWP_EXCLUSIVE bit (in the low word) */
export function swp_exclusive_bit(fmt: pt_format): number {
  return fmt.esz === 8 && !fmt.pae ? _PAGE_SWP_EXCLUSIVE : _PAGE_SWP_EXCLUSIVE_32;
}

/** is a non-zero, non-present PTE a swap entry (is_swap_pte(): !pte_none && !pte_present) */
export function is_swap_pte(lo: number, hi: number): boolean {
  return (lo & 0x101) === 0 && (lo !== 0 || hi !== 0);
}

/** swp_entry_to_pte(swp_entry(type, offset)) (+ pte_swp_mkexclusive when `exclusive`): the PTE's two words */
export function swp_entry_to_pte(fmt: pt_format, type: number, offset: number, exclusive: boolean): { lo: number; hi: number } {
  if (fmt.esz === 8) {
    // 64 bits: ~offset in bits 9..58, type in 59..63
    const inv = ~offset; // two's complement: the low 50 bits of ~offset (offset < 2^31 here)
    const v = (BigInt.asUintN(50, BigInt(inv)) << BigInt(SWP_OFFSET_FIRST_BIT)) | (BigInt(type) << 59n);
    const lo = Number(v & 0xffffffffn) | (exclusive ? swp_exclusive_bit(fmt) : 0);
    return { lo: lo >>> 0, hi: Number(v >> 32n) >>> 0 };
  }
  return { lo: ((type << 1) | (offset << SWP_OFFSET_FIRST_BIT) | (exclusive ? _PAGE_SWP_EXCLUSIVE_32 : 0)) >>> 0, hi: 0 };
}

/** swp_offset(pte_to_swp_entry(pte)) */
export function pte_swp_offset(fmt: pt_format, lo: number, hi: number): number {
  if (fmt.esz === 8) {
    const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    return Number(BigInt.asUintN(50, ~(v >> BigInt(SWP_OFFSET_FIRST_BIT))));
  }
  return lo >>> SWP_OFFSET_FIRST_BIT;
}

/** swp_type(pte_to_swp_entry(pte)) */
export function pte_swp_type(fmt: pt_format, lo: number, hi: number): number {
  if (fmt.esz === 8) return hi >>> (59 - 32);
  return (lo >>> 1) & ((1 << SWP_TYPE_BITS) - 1);
}

/** pte_swp_exclusive() */
export function pte_swp_exclusive(fmt: pt_format, lo: number): boolean {
  return (lo & swp_exclusive_bit(fmt)) !== 0;
}

/** the hash of a swp_entry_t: type and offset as one number (type < 32, offset < 2^26 here) */
export function swp_entry(type: number, offset: number): number {
  return type * 0x4000000 + offset;
}
export const SWP_OFFSET_LIMIT = 0x4000000;
