/**
 * The engine's invariant checks (CONFIG_DEBUG_VM-style, and what crash's `kmem -f` verifies):
 * every frame in exactly one state, free lists consistent with the frames, free counts equal
 * Σ nr_free·2^order, no two free buddies left unmerged, nothing lost or double-counted.
 * Each check returns the first violation it finds as a sentence, or undefined.
 */
import type { MachineState } from "../kernel/machine";
import { hex } from "../lib/units";
import { PG_buddy, PG_head, PG_reserved } from "./memmap";
import { MIGRATE_TYPES, migratetype_is_mergeable, migratetype_names } from "./mmzone";

export interface zone_check {
  node: number;
  zone: string;
  managed: number;
  free: number;
  allocated: number;
  blocks: number[];
}
export interface check_report {
  zones: zone_check[];
  frames: number;
  reserved: number;
  free: number;
  allocated: number;
}

/** validate_free_lists(): list links, PageBuddy heads, orders, zones, counts */
export function validate_free_lists(ms: MachineState): string | undefined {
  const mm = ms.mem_map;
  for (const node of ms.nodes)
    for (const z of node.node_zones) {
      let pages = 0;
      for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) {
        let blocks = 0;
        for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
          const li = o * MIGRATE_TYPES + mt;
          let prev = -1;
          let n = 0;
          for (let p = z.list_head[li]!; p !== -1; p = mm.next[p]!) {
            const where = `Node ${node.node_id} ${z.name} free_area[${o}] ${migratetype_names[mt]}`;
            if (n > z.spanned_pages) return `${where}: the list loops`;
            if (mm.prev[p] !== prev) return `${where}: ${hex(p)}'s prev link is ${mm.prev[p]} not ${prev}`;
            if (!(mm.flags[p]! & PG_buddy)) return `${where}: ${hex(p)} is on a free list but not PageBuddy`;
            if (mm.order[p] !== o) return `${where}: ${hex(p)} has order ${mm.order[p]} on the order-${o} list`;
            if (p % (1 << o) !== 0) return `${where}: ${hex(p)} is not aligned to its order ${o}`;
            if (!z.zone_spans_pfn(p) || !z.zone_spans_pfn(p + (1 << o) - 1) || mm.zoneid[p] !== z.id) return `${where}: ${hex(p)} lies outside the zone`;
            prev = p;
            n++;
          }
          if (z.list_tail[li] !== prev) return `Node ${node.node_id} ${z.name} free_area[${o}] ${migratetype_names[mt]}: tail is ${z.list_tail[li]} but the last entry is ${prev}`;
          if (z.list_count[li] !== n) return `Node ${node.node_id} ${z.name} free_area[${o}] ${migratetype_names[mt]}: ${n} blocks on the list, ${z.list_count[li]} counted`;
          blocks += n;
        }
        if (z.nr_free[o] !== blocks) return `Node ${node.node_id} ${z.name}: free_area[${o}].nr_free is ${z.nr_free[o]} but ${blocks} blocks are on its lists`;
        pages += blocks * (1 << o);
      }
      if (pages !== z.nr_free_pages) return `Node ${node.node_id} ${z.name}: NR_FREE_PAGES is ${z.nr_free_pages} but Σ nr_free·2^order is ${pages}`;
    }
  return undefined;
}

/** validate_buddies_merged(): no free block whose buddy is free at the same order (they would have merged) */
export function validate_buddies_merged(ms: MachineState): string | undefined {
  const mm = ms.mem_map;
  for (const node of ms.nodes)
    for (const z of node.node_zones)
      for (let o = 0; o < ms.MAX_PAGE_ORDER; o++)
        for (let mt = 0; mt < MIGRATE_TYPES; mt++)
          for (let p = z.list_head[o * MIGRATE_TYPES + mt]!; p !== -1; p = mm.next[p]!) {
            const b = p ^ (1 << o);
            if (b < 0 || b >= ms.max_pfn) continue;
            if (mm.flags[b]! & PG_buddy && mm.order[b] === o && mm.zoneid[b] === mm.zoneid[p]) {
              if (o >= ms.pageblock_order) {
                const a = ms.get_pageblock_migratetype(p);
                const c = ms.get_pageblock_migratetype(b);
                if (a !== c && (!migratetype_is_mergeable(a) || !migratetype_is_mergeable(c))) continue;
              }
              return `Node ${node.node_id} ${z.name}: free buddies ${hex(Math.min(p, b))} and ${hex(Math.max(p, b))} (order ${o}) were left unmerged`;
            }
          }
  return undefined;
}

/** validate_frames(): walk every PFN; each frame is in exactly one state (a free block, an allocated
 * block, reserved/hole); per zone, free + allocated = managed. */
export function validate_frames(ms: MachineState): { error?: string; report?: check_report } {
  const mm = ms.mem_map;
  const perZone = new Map<number, zone_check>();
  for (const node of ms.nodes)
    for (const z of node.node_zones)
      perZone.set(z.id, { node: node.node_id, zone: z.name, managed: z.managed_pages, free: 0, allocated: 0, blocks: new Array(ms.NR_PAGE_ORDERS).fill(0) });
  let reserved = 0;
  let free = 0;
  let allocated = 0;
  for (let p = 0; p < ms.max_pfn; ) {
    const f = mm.flags[p]!;
    if (f & PG_buddy || f & PG_head) {
      const o = mm.order[p]!;
      const n = 1 << o;
      if (f & PG_buddy && f & PG_head) return { error: `frame ${hex(p)} is both free (PageBuddy) and allocated` };
      if (p % n) return { error: `block at ${hex(p)} is not aligned to its order ${o}` };
      if (p + n > ms.max_pfn) return { error: `block at ${hex(p)} order ${o} runs past the end of memory` };
      for (let q = p + 1; q < p + n; q++) {
        const g = mm.flags[q]!;
        if (g & (PG_buddy | PG_head | PG_reserved)) return { error: `frame ${hex(q)} is inside the ${f & PG_buddy ? "free" : "allocated"} order-${o} block at ${hex(p)} but is itself ${g & PG_buddy ? "a free block" : g & PG_head ? "an allocated block" : "reserved"} (counted twice)` };
        if (mm.zoneid[q] !== mm.zoneid[p]) return { error: `block at ${hex(p)} order ${o} crosses a zone boundary at ${hex(q)}` };
      }
      const zc = perZone.get(mm.zoneid[p]!);
      if (!zc) return { error: `block at ${hex(p)} is in no zone` };
      if (f & PG_buddy) {
        zc.free += n;
        zc.blocks[o]!++;
        free += n;
      } else {
        zc.allocated += n;
        allocated += n;
      }
      p += n;
      continue;
    }
    if (f & PG_reserved) {
      reserved++;
      p++;
      continue;
    }
    return { error: `frame ${hex(p)} is in no state: not free, not allocated, not reserved (lost)` };
  }
  for (const zc of perZone.values()) {
    if (zc.free + zc.allocated !== zc.managed)
      return { error: `Node ${zc.node} ${zc.zone}: ${zc.free} free + ${zc.allocated} allocated ≠ ${zc.managed} managed pages` };
  }
  return { report: { zones: [...perZone.values()], frames: ms.max_pfn, reserved, free, allocated } };
}

/** every check, in order; the first failure wins */
export function validate_all(ms: MachineState): { error?: string; report?: check_report } {
  const e1 = validate_free_lists(ms);
  if (e1) return { error: e1 };
  const fr = validate_frames(ms);
  if (fr.error) return fr;
  const e2 = validate_buddies_merged(ms);
  if (e2) return { error: e2 };
  return fr;
}
