/**
 * The allocator-independent half of the slab layer (mm/slab_common.c, include/linux/slab.h, mm/slab.h,
 * Linux 6.12): the kmalloc size classes (kmalloc_info[]), the ≤192-byte size_index table, kmalloc_slab(),
 * the limits KMALLOC_MIN_SIZE / KMALLOC_MAX_CACHE_SIZE / KMALLOC_MAX_SIZE, ZERO_SIZE_PTR, and the
 * lowmem direct-map helpers __pa/__va that kmalloc pointers live in.
 *
 * Simplifications: only the KMALLOC_NORMAL type exists (no kmalloc-cg-*, kmalloc-rcl-*, dma-kmalloc-*,
 * no CONFIG_RANDOM_KMALLOC_CACHES), caches are never merged (as with slab_nomerge), and the
 * boot caches kmem_cache / kmem_cache_node are not listed.
 */
import type { MachineState } from "../kernel/machine";

/** KMALLOC_SHIFT_LOW = ilog2(KMALLOC_MIN_SIZE) = 3: x86 defines no ARCH_DMA_MINALIGN (include/linux/slab.h) */
export const KMALLOC_SHIFT_LOW = 3;
export const KMALLOC_MIN_SIZE = 1 << KMALLOC_SHIFT_LOW;
/** ZERO_SIZE_PTR ((void *)16): what kmalloc(0) returns; kfree() of it (or NULL) is a no-op */
export const ZERO_SIZE_PTR = 0x10n;
/** ZERO_OR_NULL_PTR(x): (unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR */
export function ZERO_OR_NULL_PTR(p: bigint): boolean {
  return p <= ZERO_SIZE_PTR;
}

/** KMALLOC_SHIFT_HIGH = PAGE_SHIFT + 1 with SLUB: kmalloc-8k is the biggest slab-backed class on x86 */
export function KMALLOC_SHIFT_HIGH(ms: MachineState): number {
  return ms.arch.PAGE_SHIFT + 1;
}
/** KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH (8192 on x86) */
export function KMALLOC_MAX_CACHE_SIZE(ms: MachineState): number {
  return 1 << KMALLOC_SHIFT_HIGH(ms);
}
/** KMALLOC_MAX_SIZE = 1 << (MAX_PAGE_ORDER + PAGE_SHIFT): 4 MiB on x86 */
export function KMALLOC_MAX_SIZE(ms: MachineState): bigint {
  return 1n << BigInt(ms.MAX_PAGE_ORDER + ms.arch.PAGE_SHIFT);
}

/** kmalloc_info[] names by index (mm/slab_common.c INIT_KMALLOC_INFO): 1 = 96, 2 = 192, i ≥ 3 = 2^i */
export function kmalloc_cache_name(index: number): string {
  if (index === 1) return "kmalloc-96";
  if (index === 2) return "kmalloc-192";
  const size = 2 ** index;
  if (size >= 1 << 20) return `kmalloc-${size >> 20}M`;
  if (size >= 1024) return `kmalloc-${size >> 10}k`;
  return `kmalloc-${size}`;
}
/** kmalloc_info[index].size */
export function kmalloc_index_size(index: number): number {
  return index === 1 ? 96 : index === 2 ? 192 : 2 ** index;
}

/** kmalloc_size_index[24] (mm/slab_common.c): index of the cache for sizes 1..192, by (size-1)/8 */
export const kmalloc_size_index: readonly number[] = [
  3, // 8
  4, // 16
  5, // 24
  5, // 32
  6, // 40
  6, // 48
  6, // 56
  6, // 64
  1, // 72
  1, // 80
  1, // 88
  1, // 96
  7, // 104
  7, // 112
  7, // 120
  7, // 128
  2, // 136
  2, // 144
  2, // 152
  2, // 160
  2, // 168
  2, // 176
  2, // 184
  2, // 192
];

/** fls(): find last set bit, 1-based (fls(1) = 1, fls(0) = 0) */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * kmalloc_index of kmalloc_slab() (mm/slab.h __kmalloc_index / mm/slab_common.c kmalloc_slab()):
 * size_index table for size ≤ 192, else fls(size - 1). The caller has checked 0 < size ≤ KMALLOC_MAX_CACHE_SIZE.
 */
export function kmalloc_index(size: number): number {
  if (size <= 192) return kmalloc_size_index[(size - 1) >> 3]!;
  return fls(size - 1);
}

/** the indices of the kmalloc caches create_kmalloc_caches() makes, in creation order: 96, 192, then 8..8k */
export function kmalloc_cache_indices(ms: MachineState): number[] {
  const out: number[] = [];
  if (KMALLOC_MIN_SIZE <= 32) out.push(1);
  if (KMALLOC_MIN_SIZE <= 64) out.push(2);
  for (let i = KMALLOC_SHIFT_LOW; i <= KMALLOC_SHIFT_HIGH(ms); i++) out.push(i);
  return out;
}

// ---------------------------------------------------------------- the lowmem direct map

/** high_memory: the first virtual address past the lowmem direct map (__va(max_low_pfn << PAGE_SHIFT)) */
export function high_memory(ms: MachineState): bigint {
  return ms.arch.PAGE_OFFSET + BigInt(ms.max_low_pfn) * BigInt(ms.arch.PAGE_SIZE);
}
/** __va(pa) for a lowmem physical address (arch/x86/include/asm/page.h: pa + PAGE_OFFSET) */
export function __va(ms: MachineState, pa: bigint): bigint {
  return pa + ms.arch.PAGE_OFFSET;
}
/** __pa(va) for a direct-map address (va - PAGE_OFFSET); the caller checks va is in lowmem */
export function __pa(ms: MachineState, va: bigint): bigint {
  return va - ms.arch.PAGE_OFFSET;
}
/** page_address() of a lowmem frame: PAGE_OFFSET + pfn * PAGE_SIZE */
export function lowmem_page_address(ms: MachineState, pfn: number): bigint {
  return ms.arch.PAGE_OFFSET + BigInt(pfn) * BigInt(ms.arch.PAGE_SIZE);
}
/** virt_addr_valid()-like: is va inside the lowmem direct map (PAGE_OFFSET ≤ va < high_memory)? */
export function is_lowmem_addr(ms: MachineState, va: bigint): boolean {
  return va >= ms.arch.PAGE_OFFSET && va < high_memory(ms);
}
/** virt_to_pfn(): the PFN behind a direct-map address */
export function virt_to_pfn(ms: MachineState, va: bigint): number {
  return Number((va - ms.arch.PAGE_OFFSET) >> BigInt(ms.arch.PAGE_SHIFT));
}
/** PageHighMem(): the frame lies above max_low_pfn (32-bit HighMem; never on 64-bit) */
export function PageHighMem(ms: MachineState, pfn: number): boolean {
  return pfn >= ms.max_low_pfn;
}
