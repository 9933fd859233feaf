/**
 * Views of engine state for result objects: free lists per order, a zone's memory bar, the zone
 * table. Read-only; bounded (a 64 GiB zone becomes at most a few thousand bar segments).
 */
import type { MachineState } from "../kernel/machine";
import { PG_buddy, PG_head, PG_kernel, PG_reserved, PG_slab, PG_table, PG_anon, PG_vmalloc } from "../mm/memmap";
import { MIGRATE_TYPES, migratetype_names, type zone } from "../mm/mmzone";
import type { Block, Tone } from "../render/view";
import { fmtBytes } from "../lib/units";

export function zoneLabel(z: zone): string {
  return `Node ${z.node.node_id}, zone ${z.name}`;
}

/** free_area of a zone as a freelists block: counts per order, first heads of each list (all types) */
export function freelistsBlock(ms: MachineState, z: zone, highlight: number[] = [], title?: string): Block {
  const orders = [];
  // when more than one migratetype has free blocks, tag each PFN with its list's type (U/M/R/H/C/I)
  let typesInUse = 0;
  for (let mt = 0; mt < MIGRATE_TYPES; mt++) for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) if (z.list_count[o * MIGRATE_TYPES + mt]) {
    typesInUse++;
    break;
  }
  for (let o = 0; o < ms.NR_PAGE_ORDERS; o++) {
    const heads: string[] = [];
    let total = 0;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
      total += z.list_count[o * MIGRATE_TYPES + mt]!;
      if (heads.length < 4)
        for (const p of z.list_pfns(o, mt, 4 - heads.length)) heads.push(`0x${p.toString(16)}${typesInUse > 1 ? " " + migratetype_names[mt]![0] : ""}`);
    }
    orders.push({ order: o, nr_free: z.nr_free[o]!, heads, more: Math.max(0, total - heads.length), highlight: highlight.includes(o) });
  }
  return {
    kind: "freelists",
    title: title ?? `free_area of ${zoneLabel(z)}`,
    orders,
    pageSize: ms.page_size,
    footer: `${typesInUse > 1 ? "U/M/R: the Unmovable/Movable/Reclaimable list. " : ""}${z.nr_free_pages} free pages (${fmtBytes(z.nr_free_pages * ms.page_size)}) = Σ nr_free·2^order — verified`,
  };
}

function frameTone(f: number): Tone {
  if (f & PG_buddy) return "free";
  if (f & PG_table) return "pagetable";
  if (f & PG_slab) return "slab";
  if (f & PG_anon) return "user";
  if (f & PG_vmalloc) return "highmem";
  if (f & PG_kernel) return "kernel";
  if (f & PG_reserved) return "reserved";
  if (f & PG_head) return "used";
  return "reserved";
}

/** a zone's frames to scale: free blocks, allocated blocks, reserved frames */
export function zoneBar(ms: MachineState, z: zone, mark?: { pfn: number; order: number; label: string }): Block {
  const segs: { start: number; len: number; tone: Tone; label?: string }[] = [];
  const mm = ms.mem_map;
  const end = z.zone_end_pfn;
  const span = z.spanned_pages;
  // walk blocks; bucket when the zone is large so the segment list stays bounded
  const bucket = span > 65536 ? Math.ceil(span / 4096) : 1;
  if (bucket === 1) {
    for (let p = z.zone_start_pfn; p < end; ) {
      const f = mm.flags[p]!;
      const n = f & (PG_buddy | PG_head) ? 1 << mm.order[p]! : 1;
      const tone = mm.zoneid[p] === z.id ? frameTone(f) : "reserved";
      const last = segs[segs.length - 1];
      if (last && last.tone === tone && last.start + last.len === p) last.len += n;
      else segs.push({ start: p, len: n, tone });
      p += n;
    }
  } else {
    // dominant tone per bucket, counting pages
    const counts = new Map<Tone, number>();
    let bstart = z.zone_start_pfn;
    for (let p = z.zone_start_pfn; p < end; ) {
      const f = mm.flags[p]!;
      const n = f & (PG_buddy | PG_head) ? 1 << mm.order[p]! : 1;
      const t = frameTone(f);
      counts.set(t, (counts.get(t) ?? 0) + n);
      p += n;
      if (p - bstart >= bucket || p >= end) {
        let best: Tone = "reserved";
        let bn = -1;
        for (const [k, v] of counts) if (v > bn) [best, bn] = [k, v];
        const last = segs[segs.length - 1];
        if (last && last.tone === best) last.len += p - bstart;
        else segs.push({ start: bstart, len: p - bstart, tone: best });
        counts.clear();
        bstart = p;
      }
    }
  }
  const marks = mark ? [{ at: mark.pfn, label: mark.label }] : [];
  return {
    kind: "bar",
    title: `${zoneLabel(z)}: PFN ${z.zone_start_pfn.toString(16)}–${(end - 1).toString(16)} (${fmtBytes(span * ms.page_size)})`,
    base: z.zone_start_pfn,
    total: span,
    unit: "page",
    segments: segs,
    marks,
    format: "pfn",
    legend: [
      { tone: "free", label: "free" },
      { tone: "used", label: "allocated" },
      { tone: "kernel", label: "kernel image / mem_map" },
      { tone: "reserved", label: "reserved / hole" },
    ],
  };
}

/** the zones table of a machine */
export function zonesTable(ms: MachineState): Block {
  const rows = [];
  for (const n of ms.nodes)
    for (const z of n.node_zones) {
      if (!z.spanned_pages) continue;
      rows.push([
        n.node_id,
        z.name,
        `0x${z.zone_start_pfn.toString(16)}–0x${(z.zone_end_pfn - 1).toString(16)}`,
        z.spanned_pages,
        z.present_pages,
        z.managed_pages,
        z.nr_free_pages,
        `${z.min_wmark_pages()}/${z.low_wmark_pages()}/${z.high_wmark_pages()}`,
      ]);
    }
  return {
    kind: "table",
    columns: ["node", "zone", "PFNs", "spanned", "present", "managed", "free", "min/low/high"],
    align: ["r", "l", "l", "r", "r", "r", "r", "r"],
    rows,
  };
}
