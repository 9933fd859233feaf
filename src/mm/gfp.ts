/**
 * GFP flags (include/linux/gfp_types.h, Linux 6.12; no CONFIG_KASAN_HW_TAGS, no LOCKDEP bit), zone
 * selection (include/linux/gfp.h gfp_zone(), GFP_ZONE_TABLE) and migratetype selection
 * (gfp_migratetype()), and the "%pGg" printer (include/trace/events/mmflags.h __def_gfpflag_names).
 */
import type { ZoneType } from "../arch/arch";
import { MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE } from "./mmzone";

export const __GFP_DMA = 0x01;
export const __GFP_HIGHMEM = 0x02;
export const __GFP_DMA32 = 0x04;
export const __GFP_MOVABLE = 0x08;
export const __GFP_RECLAIMABLE = 0x10;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_WRITE = 0x1000;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_COMP = 0x40000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_THISNODE = 0x200000;
export const __GFP_ACCOUNT = 0x400000;
export const __GFP_ZEROTAGS = 0x800000;
export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
/** __GFP_SKIP_KASAN is 0 without CONFIG_KASAN_HW_TAGS (x86 has none) */
export const __GFP_SKIP_KASAN = 0;

export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA = __GFP_DMA;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN;
export const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/** Every name a learner may write, composite and single (the order of __def_gfpflag_names: composites
 * first, so the printer matches GFP_KERNEL before __GFP_IO). */
export const GFP_NAMES: [string, number][] = [
  ["GFP_TRANSHUGE", GFP_TRANSHUGE],
  ["GFP_TRANSHUGE_LIGHT", GFP_TRANSHUGE_LIGHT],
  ["GFP_HIGHUSER_MOVABLE", GFP_HIGHUSER_MOVABLE],
  ["GFP_HIGHUSER", GFP_HIGHUSER],
  ["GFP_USER", GFP_USER],
  ["GFP_KERNEL_ACCOUNT", GFP_KERNEL_ACCOUNT],
  ["GFP_KERNEL", GFP_KERNEL],
  ["GFP_NOFS", GFP_NOFS],
  ["GFP_ATOMIC", GFP_ATOMIC],
  ["GFP_NOIO", GFP_NOIO],
  ["GFP_NOWAIT", GFP_NOWAIT],
  ["GFP_DMA", GFP_DMA],
  ["__GFP_HIGHMEM", __GFP_HIGHMEM],
  ["GFP_DMA32", GFP_DMA32],
  ["__GFP_HIGH", __GFP_HIGH],
  ["__GFP_IO", __GFP_IO],
  ["__GFP_FS", __GFP_FS],
  ["__GFP_NOWARN", __GFP_NOWARN],
  ["__GFP_RETRY_MAYFAIL", __GFP_RETRY_MAYFAIL],
  ["__GFP_NOFAIL", __GFP_NOFAIL],
  ["__GFP_NORETRY", __GFP_NORETRY],
  ["__GFP_COMP", __GFP_COMP],
  ["__GFP_ZERO", __GFP_ZERO],
  ["__GFP_NOMEMALLOC", __GFP_NOMEMALLOC],
  ["__GFP_MEMALLOC", __GFP_MEMALLOC],
  ["__GFP_HARDWALL", __GFP_HARDWALL],
  ["__GFP_THISNODE", __GFP_THISNODE],
  ["__GFP_RECLAIMABLE", __GFP_RECLAIMABLE],
  ["__GFP_MOVABLE", __GFP_MOVABLE],
  ["__GFP_ACCOUNT", __GFP_ACCOUNT],
  ["__GFP_WRITE", __GFP_WRITE],
  ["__GFP_RECLAIM", __GFP_RECLAIM],
  ["__GFP_DIRECT_RECLAIM", __GFP_DIRECT_RECLAIM],
  ["__GFP_KSWAPD_RECLAIM", __GFP_KSWAPD_RECLAIM],
  ["__GFP_ZEROTAGS", __GFP_ZEROTAGS],
  // accepted on input, never printed
  ["__GFP_DMA", __GFP_DMA],
  ["__GFP_DMA32", __GFP_DMA32],
];
const BY_NAME = new Map(GFP_NAMES.map(([n, v]) => [n, v]));
/** the names accepted on input */
export const GFP_INPUT_NAMES = [...BY_NAME.keys()];

export function gfp_by_name(name: string): number | undefined {
  return BY_NAME.get(name.trim());
}

/** format_flags(gfp, gfpflag_names): "GFP_KERNEL|__GFP_COMP" (the %pGg printer) */
export function gfp_string(gfp: number): string {
  if (gfp === 0) return "0";
  const parts: string[] = [];
  let rest = gfp;
  for (const [name, mask] of GFP_NAMES.slice(0, -2)) {
    if (mask !== 0 && (rest & mask) === mask) {
      parts.push(name);
      rest &= ~mask;
    }
  }
  if (rest) parts.push("0x" + rest.toString(16));
  return parts.join("|");
}

/** "0xcc0(GFP_KERNEL)" as warn_alloc prints a mode */
export function gfp_mode(gfp: number): string {
  return `0x${gfp.toString(16)}(${gfp_string(gfp)})`;
}

/**
 * gfp_zone(): GFP_ZONE_TABLE lookup on the four zone modifier bits, mapped to this configuration's
 * zones (OPT_ZONE_DMA32 is Normal where there is no DMA32, OPT_ZONE_HIGHMEM is Normal where there is no
 * HighMem). Returns undefined for the BAD combinations (two of DMA/DMA32/HIGHMEM): the kernel VM_BUG_ONs.
 */
export function gfp_zone_type(gfp: number, zones: readonly ZoneType[]): ZoneType | undefined {
  const bits = gfp & (__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE);
  const has = (z: ZoneType) => zones.includes(z);
  const dma: ZoneType = has("DMA") ? "DMA" : "Normal";
  const dma32: ZoneType = has("DMA32") ? "DMA32" : "Normal";
  const highmem: ZoneType = has("HighMem") ? "HighMem" : "Normal";
  switch (bits) {
    case 0:
      return "Normal";
    case __GFP_DMA:
      return dma;
    case __GFP_HIGHMEM:
      return highmem;
    case __GFP_DMA32:
      return dma32;
    case __GFP_MOVABLE:
      return "Normal";
    case __GFP_MOVABLE | __GFP_DMA:
      return dma;
    case __GFP_MOVABLE | __GFP_HIGHMEM:
      return has("Movable") ? "Movable" : "Normal";
    case __GFP_MOVABLE | __GFP_DMA32:
      return dma32;
    default:
      return undefined;
  }
}

/** gfp_migratetype(): (gfp & (__GFP_RECLAIMABLE|__GFP_MOVABLE)) >> 3 */
export function gfp_migratetype(gfp: number): number {
  if (gfp & __GFP_MOVABLE) return MIGRATE_MOVABLE;
  if (gfp & __GFP_RECLAIMABLE) return MIGRATE_RECLAIMABLE;
  return MIGRATE_UNMOVABLE;
}
