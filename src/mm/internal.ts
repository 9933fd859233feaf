/**
 * Buddy helpers of mm/internal.h (Linux 6.12). Internal to the engine; never re-exported.
 */
import type { MachineState } from "../kernel/machine";
import { PG_buddy } from "./memmap";

/** __find_buddy_pfn(): the buddy of the order-`order` block at `pfn` is pfn ^ (1 << order).
 * "PFN 8's order-1 buddy is 8 ^ 2 = 10" (the comment above it in mm/internal.h). */
export function __find_buddy_pfn(pfn: number, order: number): number {
  return pfn ^ (1 << order);
}

/** buddy_order(): the order stored in page_private of a PageBuddy head */
export function buddy_order(ms: MachineState, pfn: number): number {
  return ms.mem_map.order[pfn]!;
}

/** page_is_buddy(page, buddy, order): the buddy is free (PageBuddy), of the same order, in the same
 * zone. (No debug guard pages: CONFIG_DEBUG_PAGEALLOC is off.) */
export function page_is_buddy(ms: MachineState, pfn: number, buddy: number, order: number): boolean {
  const mm = ms.mem_map;
  if (buddy < 0 || buddy >= ms.max_pfn) return false;
  if (!(mm.flags[buddy]! & PG_buddy)) return false;
  if (mm.order[buddy] !== order) return false;
  return mm.zoneid[buddy] === mm.zoneid[pfn];
}

/** find_buddy_page_pfn(): the buddy's PFN if it can merge, else -1 */
export function find_buddy_page_pfn(ms: MachineState, pfn: number, order: number): number {
  const buddy = __find_buddy_pfn(pfn, order);
  return page_is_buddy(ms, pfn, buddy, order) ? buddy : -1;
}
