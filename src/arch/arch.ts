/**
 * Per-architecture facts the engine needs (arch/x86/include/asm/*): page size, page-table geometry,
 * PAGE_OFFSET per split, physical zone limits, pageblock order, sizeof(struct page).
 * The tables live here; the engine reads them and never hard-codes an architecture.
 */

/** One level of the page-table walk, top first (kernel names: pgd, p4d, pud, pmd, pte). */
export interface pt_level {
  name: "pgd" | "p4d" | "pud" | "pmd" | "pte";
  /** bit position of the lowest VA bit this level indexes (PGDIR_SHIFT, PMD_SHIFT, PAGE_SHIFT…) */
  shift: number;
  /** number of index bits (log2 of PTRS_PER_*) */
  bits: number;
  /** a large page can be mapped at this level (PSE): size = 1 << shift */
  huge: boolean;
}

export type ArchName = "x86" | "x86_pae" | "x86_64" | "toy";

export interface arch_desc {
  name: ArchName;
  /** what a learner reads: "x86 (32-bit, 2-level paging)" */
  title: string;
  bits: 32 | 64;
  PAGE_SHIFT: number;
  PAGE_SIZE: number;
  /** levels of the walk, top first */
  levels: pt_level[];
  /** bytes per page-table entry */
  pte_size: 4 | 8;
  /** virtual-address bits translated (32, 47, 56, or toy) */
  va_bits: number;
  /** physical-address bits (MAX_PHYSMEM_BITS) */
  pa_bits: number;
  /** pageblock_order: min(HUGETLB_PAGE_ORDER, MAX_PAGE_ORDER) (include/linux/pageblock-flags.h) */
  pageblock_order: number;
  /** sizeof(struct page): 64 on x86-64; 36 on i386 with CONFIG_MEMCG (flags, 5-word union,
   * _mapcount, _refcount, memcg_data: include/linux/mm_types.h); the toy reserves nothing */
  struct_page_size: number;
  /** zones this configuration has (include/linux/mmzone.h enum zone_type order) */
  zones: ZoneType[];
  /** ZONE_DMA limit in PFNs (MAX_DMA_PFN = 16 MiB >> PAGE_SHIFT, arch/x86/include/asm/dma.h) */
  max_dma_pfn: number;
  /** ZONE_DMA32 limit (MAX_DMA32_PFN = 1 << (32 - PAGE_SHIFT)); 0 if no DMA32 */
  max_dma32_pfn: number;
  /** PAGE_OFFSET as a bigint (x86-64 kernel addresses exceed 2^53) */
  PAGE_OFFSET: bigint;
  /** the user/kernel split (32-bit): "3G/1G" etc */
  split?: Split;
  /** MAX_PAGE_ORDER (include/linux/mmzone.h: 10 on x86, CONFIG_ARCH_FORCE_MAX_ORDER unset) */
  MAX_PAGE_ORDER: number;
  /** is there a kernel/firmware layout (e820, reserved low memory)? false for the toy */
  pc: boolean;
  /** 5-level paging (LA57) */
  la57?: boolean;
}

export type ZoneType = "DMA" | "DMA32" | "Normal" | "HighMem" | "Movable";
/** enum zone_type index as the kernel numbers it for this config */
export const ZONE_NAMES: Record<ZoneType, string> = {
  DMA: "DMA",
  DMA32: "DMA32",
  Normal: "Normal",
  HighMem: "HighMem",
  Movable: "Movable",
};

export type Split = "3G/1G" | "2G/2G" | "1G/3G";

/** CONFIG_PAGE_OFFSET per VMSPLIT option (arch/x86/Kconfig: VMSPLIT_3G 0xC0000000, VMSPLIT_2G
 * 0x80000000, VMSPLIT_1G 0x40000000). The split names user/kernel. */
export const PAGE_OFFSET_FOR_SPLIT: Record<Split, bigint> = {
  "3G/1G": 0xc0000000n,
  "2G/2G": 0x80000000n,
  "1G/3G": 0x40000000n,
};

/** 32-bit x86 without PAE: 2-level 10/10/12, 4 MiB large pages (pgtable-2level_types.h);
 * PMD folded so pageblock_order = PGDIR_SHIFT - PAGE_SHIFT = 10. */
export function x86(split: Split = "3G/1G"): arch_desc {
  return {
    name: "x86",
    title: `x86 (32-bit, 2-level paging, ${split} split)`,
    bits: 32,
    PAGE_SHIFT: 12,
    PAGE_SIZE: 4096,
    levels: [
      { name: "pgd", shift: 22, bits: 10, huge: true },
      { name: "pte", shift: 12, bits: 10, huge: false },
    ],
    pte_size: 4,
    va_bits: 32,
    pa_bits: 32,
    pageblock_order: 10,
    struct_page_size: 36,
    zones: ["DMA", "Normal", "HighMem", "Movable"],
    max_dma_pfn: (16 << 20) >>> 12,
    max_dma32_pfn: 0,
    PAGE_OFFSET: PAGE_OFFSET_FOR_SPLIT[split],
    split,
    MAX_PAGE_ORDER: 10,
    pc: true,
  };
}

/** 32-bit x86 with PAE: 3-level 2/9/9/12, 64-bit entries, NX, 2 MiB large pages, 36-bit physical
 * (pgtable-3level_types.h, sparsemem.h MAX_PHYSMEM_BITS 36); pageblock_order 9. */
export function x86_pae(split: Split = "3G/1G"): arch_desc {
  return {
    ...x86(split),
    name: "x86_pae",
    title: `x86 PAE (32-bit, 3-level paging, ${split} split)`,
    levels: [
      { name: "pgd", shift: 30, bits: 2, huge: false },
      { name: "pmd", shift: 21, bits: 9, huge: true },
      { name: "pte", shift: 12, bits: 9, huge: false },
    ],
    pte_size: 8,
    pa_bits: 36,
    pageblock_order: 9,
  };
}

/** x86-64: 4-level 9/9/9/9/12 (47-bit VA) or 5-level with LA57 (56-bit VA); 2 MiB and 1 GiB pages;
 * direct map at __PAGE_OFFSET_BASE_L4 0xffff888000000000 / _L5 0xff11000000000000
 * (arch/x86/include/asm/page_64_types.h, pgtable_64_types.h). */
export function x86_64(la57 = false): arch_desc {
  const levels: pt_level[] = la57
    ? [
        { name: "pgd", shift: 48, bits: 9, huge: false },
        { name: "p4d", shift: 39, bits: 9, huge: false },
        { name: "pud", shift: 30, bits: 9, huge: true },
        { name: "pmd", shift: 21, bits: 9, huge: true },
        { name: "pte", shift: 12, bits: 9, huge: false },
      ]
    : [
        { name: "pgd", shift: 39, bits: 9, huge: false },
        { name: "pud", shift: 30, bits: 9, huge: true },
        { name: "pmd", shift: 21, bits: 9, huge: true },
        { name: "pte", shift: 12, bits: 9, huge: false },
      ];
  return {
    name: "x86_64",
    title: la57 ? "x86-64 (5-level paging, LA57)" : "x86-64 (4-level paging)",
    bits: 64,
    PAGE_SHIFT: 12,
    PAGE_SIZE: 4096,
    levels,
    pte_size: 8,
    va_bits: la57 ? 57 : 48,
    pa_bits: la57 ? 52 : 46,
    pageblock_order: 9,
    struct_page_size: 64,
    zones: ["DMA", "DMA32", "Normal", "Movable"],
    max_dma_pfn: (16 << 20) >>> 12,
    max_dma32_pfn: 1 << (32 - 12),
    PAGE_OFFSET: la57 ? 0xff11000000000000n : 0xffff888000000000n,
    MAX_PAGE_ORDER: 10,
    pc: true,
    la57,
  };
}

/** A bare teaching machine: one node, one zone ("Normal"), PFN 0 first, nothing reserved, every
 * pageblock MOVABLE. Page size is any power of two; page-table geometry is a teaching choice. */
export function toy(pageSize = 4096, levelsCount = 2, vaBits = 32): arch_desc {
  const PAGE_SHIFT = Math.log2(pageSize);
  const idxBits = vaBits - PAGE_SHIFT;
  const levels: pt_level[] = [];
  const names: pt_level["name"][] =
    levelsCount === 1 ? ["pte"] : levelsCount === 2 ? ["pgd", "pte"] : levelsCount === 3 ? ["pgd", "pmd", "pte"] : levelsCount === 4 ? ["pgd", "pud", "pmd", "pte"] : ["pgd", "p4d", "pud", "pmd", "pte"];
  // split the index bits as evenly as possible, the top level taking the remainder
  const per = Math.floor(idxBits / levelsCount);
  let shift = PAGE_SHIFT;
  const fromBottom: pt_level[] = [];
  for (let i = levelsCount - 1; i >= 0; i--) {
    const bits = i === 0 ? idxBits - per * (levelsCount - 1) : per;
    fromBottom.push({ name: names[i]!, shift, bits, huge: false });
    shift += bits;
  }
  levels.push(...fromBottom.reverse());
  return {
    name: "toy",
    title: `toy (${pageSize}-byte pages, ${levelsCount}-level, ${vaBits}-bit VA)`,
    bits: vaBits > 32 ? 64 : 32,
    PAGE_SHIFT,
    PAGE_SIZE: pageSize,
    levels,
    pte_size: vaBits > 32 ? 8 : 4,
    va_bits: vaBits,
    pa_bits: vaBits > 32 ? 52 : 32,
    pageblock_order: 10,
    struct_page_size: 0,
    zones: ["Normal"],
    max_dma_pfn: 0,
    max_dma32_pfn: 0,
    PAGE_OFFSET: 0n,
    MAX_PAGE_ORDER: 10,
    pc: false,
  };
}
