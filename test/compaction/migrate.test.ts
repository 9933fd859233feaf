/**
 * migrate_pages() (mm/migrate.c) on single pages: a page shared by fork (two PTEs in two processes), a
 * page in the swap cache (the cache's reference and slot move with it), a pinned page (an extra
 * reference: -EAGAIN, not migrated), and a missing destination (-ENOMEM).
 */
import { describe, expect, it } from "vitest";
import { swapCacheMachine } from "./helpers";
import { boot, type Machine } from "../../src";
import { GFP_HIGHUSER_MOVABLE } from "../../src/mm/gfp";
import { migrate_pages } from "../../src/mm/migrate";
import { __alloc_pages } from "../../src/mm/page_alloc";
import { PG_swapcache, folio_isolate_lru } from "../../src/mm/swap";
import { swap_cache_of } from "../../src/mm/swap_state";

const P = 4096;

/** a fresh order-0 page to migrate into, as compaction_alloc() would hand it out */
function newPage(m: Machine): number {
  const r = __alloc_pages(m.ms, GFP_HIGHUSER_MOVABLE, 0);
  expect(r.pfn).toBeGreaterThanOrEqual(0);
  return r.pfn;
}

describe("migrate_pages()", () => {
  it("a page shared by fork: both processes' PTEs move to the new frame", () => {
    const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
    const p = m.spawn("parent");
    const a = p.mmap("16KiB");
    a.write("shared bytes");
    const c = p.fork();
    const old = Number(p.translate(a.addr).pa! / BigInt(P));
    expect(Number(c.translate(a.addr).pa! / BigInt(P))).toBe(old);
    expect([m.ms.mem_map.mapcount[old], m.ms.mem_map.refcount[old]]).toEqual([2, 2]);
    const dst = newPage(m);
    expect(folio_isolate_lru(m.ms, old)).toBe(true);
    const list = [old];
    const r = migrate_pages(m.ms, list, () => dst, () => {}, "MIGRATE_SYNC", "MR_COMPACTION");
    expect([r.nr_succeeded, r.nr_failed, r.moves, list]).toEqual([1, 0, [{ from: old, to: dst }], []]);
    expect(Number(p.translate(a.addr).pa! / BigInt(P))).toBe(dst);
    expect(Number(c.translate(a.addr).pa! / BigInt(P))).toBe(dst);
    expect([m.ms.mem_map.mapcount[dst], m.ms.mem_map.refcount[dst]]).toEqual([2, 2]);
    expect(m.ms.mem_map.flags[old]! & 2 /* PG_buddy */).toBe(2);
    expect(c.read(a.addr, 12).text).toBe("shared bytes");
    // copy-on-write still works on the new frame: the child's write copies it
    c.write(a.addr, "child");
    expect(p.read(a.addr, 12).text).toBe("shared bytes");
    expect(m.ms.vmstat.pgmigrate_success).toBe(1);
    m.check();
  });

  it("a page in the swap cache keeps its slot: the cache now maps the slot to the new frame", () => {
    const { m, p, l, src } = swapCacheMachine();
    expect(src).toBeGreaterThan(0);
    const slot = [...swap_cache_of(m.ms).pages].find(([, pfn]) => pfn === src)![0];
    expect(m.ms.mem_map.refcount[src]).toBe(2); // the mapping and the swap cache
    const va = BigInt(l.index[src]!) * BigInt(P);
    const text = p.read(va, 8).text;
    const dst = newPage(m);
    expect(folio_isolate_lru(m.ms, src)).toBe(true);
    const r = migrate_pages(m.ms, [src], () => dst, () => {}, "MIGRATE_SYNC", "MR_COMPACTION");
    expect(r.nr_succeeded).toBe(1);
    expect(swap_cache_of(m.ms).pages.get(slot)).toBe(dst);
    expect(l.flags2[dst]! & PG_swapcache).toBe(PG_swapcache);
    expect(l.flags2[src]).toBe(0);
    expect(m.ms.mem_map.refcount[dst]).toBe(2);
    expect(Number(p.translate(va).pa! / BigInt(P))).toBe(dst);
    expect(p.read(va, 8).text).toBe(text);
    m.check();
  });

  it("a pinned page (a reference no mapping explains) is not migrated: -EAGAIN, the destination goes back", () => {
    const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
    const p = m.spawn("a");
    const a = p.mmap("4KiB");
    a.write("pinned");
    const src = Number(p.translate(a.addr).pa! / BigInt(P));
    m.ms.mem_map.refcount[src]!++; // get_user_pages(): a pin
    const dst = newPage(m);
    folio_isolate_lru(m.ms, src);
    const back: number[] = [];
    const list = [src];
    const r = migrate_pages(m.ms, list, () => dst, (d) => back.push(d), "MIGRATE_SYNC", "MR_COMPACTION");
    expect([r.nr_succeeded, r.nr_failed, back, list]).toEqual([0, 1, [dst], [src]]);
    expect(m.ms.vmstat.pgmigrate_fail).toBe(1);
    expect(Number(p.translate(a.addr).pa! / BigInt(P))).toBe(src);
  });

  it("no destination: -ENOMEM, the page stays on the list", () => {
    const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false });
    const p = m.spawn("a");
    const a = p.mmap("8KiB");
    a.write("x");
    a.write("y", P);
    const s0 = Number(p.translate(a.addr).pa! / BigInt(P));
    const s1 = Number(p.translate(a.addr + BigInt(P)).pa! / BigInt(P));
    folio_isolate_lru(m.ms, s0);
    folio_isolate_lru(m.ms, s1);
    const list = [s1, s0];
    const r = migrate_pages(m.ms, list, () => -1, () => {}, "MIGRATE_SYNC", "MR_COMPACTION");
    expect([r.err, r.nr_succeeded, r.nr_failed, list]).toEqual(["ENOMEM", 0, 1, [s1, s0]]);
  });
});
