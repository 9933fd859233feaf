/**
 * The top of the 32-bit x86 kernel address space (arch/x86/include/asm/pgtable_32_areas.h,
 * fixmap.h, highmem.h, arch/x86/mm/pgtable_32.c) and the lowmem limit MAXMEM that follows from it:
 *
 *   CPU_ENTRY_AREA_BASE = (FIXADDR_TOT_START - PAGE_SIZE*(CPU_ENTRY_AREA_PAGES+1)) & PMD_MASK
 *   LDT_BASE_ADDR       = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK
 *   PKMAP_BASE          = (LDT_BASE_ADDR - PAGE_SIZE) & PMD_MASK
 *   VMALLOC_END         = PKMAP_BASE - 2*PAGE_SIZE
 *   MAXMEM              = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE
 *   __VMALLOC_RESERVE   = 128 MiB, or vmalloc=<size> + VMALLOC_OFFSET (8 MiB)
 *
 * CPU_ENTRY_AREA_BASE depends on NR_CPUS and the fixmap size; we use 0xff800000, what i386 kernels
 * since 4.15 print in their "virtual kernel memory layout" ("cpu_entry : 0xff800000 - 0xffc00000").
 * With PAE that gives "lowmem : 0xc0000000 - 0xf73fe000 (883 MB)", as real PAE kernels print; without
 * PAE (4 MiB PMD_MASK) the pkmap area starts at 0xff000000 and lowmem is 880 MiB − 8 KiB. The classic
 * "896 MiB" is the pre-4.x formula (MAXMEM = -PAGE_OFFSET - __VMALLOC_RESERVE), before the fixmap,
 * cpu_entry_area and pkmap were taken out of the same 1 GiB; `classicMaxmem` selects it.
 */
import type { arch_desc } from "./arch";

export const VMALLOC_OFFSET = 8n << 20n;
export const DEFAULT_VMALLOC_RESERVE = 128n << 20n;
export const FIXADDR_TOP = 0xfffff000n;
export const CPU_ENTRY_AREA_BASE = 0xff800000n;

export interface x86_32_areas {
  PAGE_OFFSET: bigint;
  CPU_ENTRY_AREA_BASE: bigint;
  LDT_BASE_ADDR: bigint;
  PKMAP_BASE: bigint;
  VMALLOC_END: bigint;
  __VMALLOC_RESERVE: bigint;
  MAXMEM: bigint;
  /** LAST_PKMAP: 1024 without PAE, 512 with (one page-table page of PTEs) */
  LAST_PKMAP: number;
}

export function x86_32_areas(arch: arch_desc, vmallocReserve?: bigint, classicMaxmem = false): x86_32_areas {
  const PAGE_SIZE = BigInt(arch.PAGE_SIZE);
  const pae = arch.name === "x86_pae";
  const PMD_SIZE = pae ? 2n << 20n : 4n << 20n;
  const PMD_MASK = ~(PMD_SIZE - 1n) & 0xffffffffn;
  const LDT_BASE_ADDR = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK;
  const PKMAP_BASE = (LDT_BASE_ADDR - PAGE_SIZE) & PMD_MASK;
  const VMALLOC_END = PKMAP_BASE - 2n * PAGE_SIZE;
  const reserve = vmallocReserve === undefined ? DEFAULT_VMALLOC_RESERVE : vmallocReserve + VMALLOC_OFFSET;
  const MAXMEM = classicMaxmem ? (1n << 32n) - arch.PAGE_OFFSET - reserve : VMALLOC_END - arch.PAGE_OFFSET - reserve;
  return {
    PAGE_OFFSET: arch.PAGE_OFFSET,
    CPU_ENTRY_AREA_BASE,
    LDT_BASE_ADDR,
    PKMAP_BASE,
    VMALLOC_END,
    __VMALLOC_RESERVE: reserve,
    MAXMEM,
    LAST_PKMAP: pae ? 512 : 1024,
  };
}
