/**
 * Behaviour fixed in the 6.12 review of the swap / reclaim / mlock engine: each test pins a value that
 * the previous model got wrong (see the comments in src/mm/vmscan.ts, swapops.ts, memory.ts, mlock.ts).
 */
import { describe, expect, it, vi } from "vitest";
import { MiB, ms, pressured, pte } from "./helpers";

vi.setConfig({ testTimeout: 60_000 });
import { boot, type Machine, type Process } from "../../src/index";
import { entry_pfn, entry_read, pt_format_of, pt_lookup } from "../../src/mm/pgtable";
import { is_swap_pte, pte_swp_exclusive, pte_swp_offset, swp_entry_to_pte } from "../../src/mm/swapops";
import { PG_dirty, PG_mlocked } from "../../src/mm/memmap";
import { VM_LOCKED } from "../../src/mm/mmap";
import { LRU_INACTIVE_ANON, LRU_UNEVICTABLE, PG_referenced, PG_workingset, folio_activate, lru_pages } from "../../src/mm/swap";
import { balance_pgdat, get_scan_count, new_sc, shrink_active_list, try_to_free_pages } from "../../src/mm/vmscan";
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from "../../src/mm/gfp";
import { do_mlock } from "../../src/mm/mlock";


describe("swap PTEs: _PAGE_SWP_EXCLUSIVE on 32-bit is bit 7 (pgtable-2level.h, pgtable-3level.h)", () => {
  it("2-level: offset << 9 | type << 1 | E in bit 7; PAE: the 64-bit layout with E in bit 7; x86-64: bit 3", () => {
    const f2 = pt_format_of(ms(boot({ arch: "x86", ram: "64MiB" })).arch);
    expect(swp_entry_to_pte(f2, 0, 1, true)).toEqual({ lo: 0x280, hi: 0 });
    expect(swp_entry_to_pte(f2, 3, 5, true)).toEqual({ lo: 0xa86, hi: 0 });
    expect(pte_swp_exclusive(f2, 0x280)).toBe(true);
    expect(pte_swp_exclusive(f2, 0x208)).toBe(false);
    expect(pte_swp_offset(f2, 0xa86, 0)).toBe(5);
    const fp = pt_format_of(ms(boot({ arch: "x86_pae", ram: "64MiB" })).arch);
    expect(swp_entry_to_pte(fp, 0, 1, true)).toEqual({ lo: 0xfffffc80, hi: 0x07ffffff });
    expect(pte_swp_exclusive(fp, 0xfffffc80)).toBe(true);
    expect(pte_swp_exclusive(fp, 0xfffffc08)).toBe(false);
    const f64 = pt_format_of(ms(boot({ arch: "x86_64", ram: "64MiB" })).arch);
    expect(swp_entry_to_pte(f64, 0, 1, true)).toEqual({ lo: 0xfffffc08, hi: 0x07ffffff });
  });

  for (const arch of ["x86", "x86_pae"] as const) {
    it(`${arch}: try_to_unmap keeps PageAnonExclusive in bit 7; fork clears it on both sides (copy_nonpresent_pte)`, () => {
      const { m, p, base } = pressured((120 * MiB) / 4096, { arch });
      const e = pte(m, p, base);
      expect(is_swap_pte(e.lo, e.hi)).toBe(true);
      expect(e.lo & 0x80).toBe(0x80);
      expect(e.lo & 0x08).toBe(0);
      const c = p.fork();
      expect(pte(m, p, base).lo & 0x80).toBe(0);
      expect(pte(m, c, base).lo & 0x80).toBe(0);
      m.check();
    });
  }
});

describe("do_swap_page (6.12)", () => {
  it("a non-exclusive entry is mapped read-only even when its slot has one user; the write reuses the page (wp_can_reuse_anon_folio → folio_free_swap)", () => {
    const { m, p, base } = pressured((120 * MiB) / 4096, { swap: "128MiB" });
    const s = ms(m);
    const fmt = pt_format_of(s.arch);
    const c = p.fork();
    c.exit(); // the slot is back to one reference, but the parent's entry is no longer exclusive
    const e = pte(m, p, base);
    const off = pte_swp_offset(fmt, e.lo, e.hi);
    expect(pte_swp_exclusive(fmt, e.lo)).toBe(false);
    expect(s.swap!.swap_map[off]).toBe(1);
    expect(p.read(base + 8n, 6).text).toBe("page 0");
    const r = pte(m, p, base);
    const pfn = entry_pfn(fmt, r.lo, r.hi);
    expect(r.lo & 0x2).toBe(0); // read-only: exclusive is false and the swap cache holds a reference
    expect(s.swap!.swap_map[off]).toBe(0x40);
    expect(s.mem_map.refcount[pfn]).toBe(2);
    const w = p.write(base + 100n, "w");
    expect(w.faults.length).toBe(1);
    const after = pte(m, p, base);
    expect(entry_pfn(fmt, after.lo, after.hi)).toBe(pfn); // reused, not copied
    expect(after.lo & 0x42).toBe(0x42);
    expect(s.swap!.swap_map[off]).toBe(0); // folio_free_swap dropped the copy
    expect(s.mem_map.flags[pfn]! & PG_dirty).toBe(PG_dirty); // … and marked the page dirty
    m.check();
  });

  it("a swap-cache hit is a minor fault and not a readahead hit (swap_ra_hit stays 0)", () => {
    const { m, p, base } = pressured((120 * MiB) / 4096, { swap: "128MiB" });
    const s = ms(m);
    const c = p.fork();
    const maj = s.vmstat.pgmajfault;
    expect(p.read(base + 8n, 6).text).toBe("page 0"); // read from the slot: major
    expect(s.vmstat.pgmajfault).toBe(maj + 1);
    const cmin = c.task().min_flt;
    const cmaj = c.task().maj_flt;
    expect(c.read(base + 8n, 6).text).toBe("page 0"); // the same slot: found in the swap cache
    expect(s.vmstat.pgmajfault).toBe(maj + 1);
    expect(c.task().maj_flt).toBe(cmaj);
    expect(c.task().min_flt).toBe(cmin + 1);
    expect(s.vmstat.swap_ra_hit).toBe(0);
    m.check();
  });
});

describe("free_swap_and_cache_nr (6.12): __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL)", () => {
  it("when swap is more than half full, the last PTE reference going drops the swap copy of a page that is still mapped", () => {
    const { m, p, base } = pressured((100 * MiB) / 4096, { swap: "16MiB" });
    const s = ms(m);
    const fmt = pt_format_of(s.arch);
    const e = pte(m, p, base);
    const off = pte_swp_offset(fmt, e.lo, e.hi);
    const c = p.fork();
    expect(s.swap!.inuse_pages * 2).toBeGreaterThan(s.swap!.pages); // vm_swap_full()
    expect(p.read(base + 8n, 6).text).toBe("page 0"); // the child still names the slot: the copy stays
    expect(s.swap!.swap_map[off]).toBe(0x41);
    const r = pte(m, p, base);
    const pfn = entry_pfn(fmt, r.lo, r.hi);
    c.exit(); // zap: the slot keeps only SWAP_HAS_CACHE, swap is full → the cache lets go though p maps the page
    expect(s.swap!.swap_map[off]).toBe(0);
    expect(s.swapcache!.pages.has(off)).toBe(false);
    expect(s.mem_map.flags[pfn]! & PG_dirty).toBe(PG_dirty);
    expect(s.mem_map.refcount[pfn]).toBe(1);
    expect(p.read(base + 8n, 6).text).toBe("page 0");
    m.check();
  });
});

describe("get_scan_count() (6.12) with an empty file LRU", () => {
  it("SCAN_FILE without free swap, SCAN_EQUAL at priority 0, SCAN_ANON when file is tiny, else SCAN_FRACT by cost", () => {
    const { m } = pressured((120 * MiB) / 4096);
    const s = ms(m);
    const node = s.nodes[0]!;
    const [inact, act] = lru_pages(s);
    expect(inact! + act!).toBeGreaterThan(4096);
    const sc = new_sc(32, node.node_zones.length - 1, true);
    sc.priority = 4;
    // SCAN_FRACT, no cost recorded: ap = 60, fp = 140 → 60/200 of size >> priority
    expect(get_scan_count(s, node, sc)).toEqual([Math.floor(((inact! >> 4) * 60) / 200), Math.floor(((act! >> 4) * 60) / 200)]);
    // anon_cost 100, file_cost 0: total 100, anon 200, file 100, total 300; ap = 60·301/201 = 89, fp = 140·301/101 = 417
    sc.anon_cost = 100;
    expect(get_scan_count(s, node, sc)[0]).toBe(Math.floor(((inact! >> 4) * 89) / 506));
    sc.file_is_tiny = true; // SCAN_ANON
    expect(get_scan_count(s, node, sc)).toEqual([inact! >> 4, act! >> 4]);
    sc.priority = 0; // SCAN_EQUAL
    sc.file_is_tiny = false;
    expect(get_scan_count(s, node, sc)).toEqual([inact, act]);
    sc.may_swap = false; // SCAN_FILE
    expect(get_scan_count(s, node, sc)).toEqual([0, 0]);
  });
});

describe("shrink_active_list() (6.12)", () => {
  it("deactivates referenced anon pages too, keeps PG_referenced, sets PG_workingset; a VM_LOCKED page is culled instead", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", swap: "16MiB", trace: false });
    const s = ms(m);
    const fmt = pt_format_of(s.arch);
    const p = m.spawn();
    const a = p.mmap("16KiB");
    const b = p.mmap("4KiB");
    p.touch(a.addr, "16KiB");
    p.touch(b.addr, "4KiB");
    p.mprotect(a.addr, "16KiB", "r"); // a VMA of its own: only b's gets VM_LOCKED below
    const pfns = [0, 1, 2, 3].map((i) => {
      const e = pte(m, p, a.addr + BigInt(i * 4096));
      return entry_pfn(fmt, e.lo, e.hi);
    });
    const eb = pte(m, p, b.addr);
    const lockedPfn = entry_pfn(fmt, eb.lo, eb.hi);
    const l = s.lru!;
    for (const pfn of [...pfns, lockedPfn]) folio_activate(s, pfn);
    l.flags2[pfns[0]!]! |= PG_referenced;
    // a VM_LOCKED VMA whose page missed its mlock (the race folio_referenced_one repairs)
    p.task().mm!.vmas.find((v) => v.vm_start === b.addr)!.vm_flags |= VM_LOCKED;
    const v0 = { ...s.vmstat };
    const node = s.nodes[0]!;
    shrink_active_list(s, node, 32, new_sc(32, node.node_zones.length - 1, true));
    expect(s.vmstat.pgrefill - v0.pgrefill).toBe(5);
    expect(s.vmstat.pgdeactivate - v0.pgdeactivate).toBe(4);
    expect(s.vmstat.unevictable_pgs_mlocked - v0.unevictable_pgs_mlocked).toBe(1);
    expect(s.vmstat.unevictable_pgs_culled - v0.unevictable_pgs_culled).toBe(1);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(1);
    expect(s.mem_map.flags[lockedPfn]! & PG_mlocked).toBe(PG_mlocked);
    expect(l.flags2[pfns[0]!]! & PG_referenced).toBe(PG_referenced);
    for (const pfn of pfns) expect(l.flags2[pfn]! & PG_workingset).toBe(PG_workingset);
    expect(pte(m, p, a.addr).lo & 0x20).toBe(0); // folio_referenced cleared the accessed bit
  });
});

describe("kswapd and direct reclaim bookkeeping", () => {
  it("balance_pgdat on a balanced node: pageoutrun only — the *_wmark_hit_quickly counters belong to kswapd_try_to_sleep", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB", swap: "64MiB", trace: false });
    const s = ms(m);
    const p = m.spawn();
    p.touch(p.mmap("1MiB").addr, "1MiB");
    const r = balance_pgdat(s, s.nodes[0]!, 0, 2);
    expect(r.balanced).toBe(true); // it left at the top of the loop, without reclaiming
    expect(r.reclaimed).toBe(0);
    expect(s.vmstat.pageoutrun).toBe(1);
    expect(s.vmstat.kswapd_high_wmark_hit_quickly).toBe(0);
    expect(s.vmstat.pgscan_kswapd).toBe(0);
  });

  it("try_to_free_pages with nothing reclaimable counts allocstall twice (the memcg_full_walk retry)", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false }); // no swap
    const s = ms(m);
    const p = m.spawn();
    p.touch(p.mmap("4MiB").addr, "4MiB");
    const node = s.nodes[0]!;
    const dma32 = node.node_zones.find((z) => z.name === "DMA32")!;
    const before = s.vmstat.allocstall_dma32;
    expect(try_to_free_pages(s, GFP_HIGHUSER_MOVABLE, 0, node.node_zones.filter((z) => z.managed_pages), dma32.zone_idx)).toBe(0);
    expect(s.vmstat.allocstall_dma32 - before).toBe(2);
    expect(s.vmstat.pgscan_direct).toBe(0);
  });
});

describe("isolate_lru_folios (6.12): skipped pages are part of nr_scanned", () => {
  it("a Normal-zone direct reclaim on a HighMem machine: pgscan_direct counts the HighMem pages it skipped too", () => {
    const m = boot({ arch: "x86", ram: "1GiB", swap: "256MiB", trace: false });
    const s = ms(m);
    const p = m.spawn();
    const a = p.mmap("200MiB");
    p.touch(a.addr, "200MiB"); // HighMem fills first: the oldest pages, at the list tail, are HighMem's
    const node = s.nodes[0]!;
    const normal = node.node_zones.find((z) => z.name === "Normal")!;
    const v0 = { ...s.vmstat };
    const r = try_to_free_pages(s, GFP_KERNEL, 0, node.node_zones.filter((z) => z.managed_pages), normal.zone_idx);
    const scan = s.vmstat.pgscan_direct - v0.pgscan_direct;
    const skip = s.vmstat.pgskip_high - v0.pgskip_high;
    expect(r).toBeGreaterThanOrEqual(32);
    expect(skip).toBeGreaterThan(0);
    // total_scan = skipped + taken: more than the skipped pages alone (6.12 counts both in PGSCAN_*)
    expect(scan).toBeGreaterThan(skip);
    expect(s.vmstat.pgscan_anon - v0.pgscan_anon).toBe(scan);
    expect(s.vmstat.pgsteal_direct - v0.pgsteal_direct).toBe(r);
    expect(s.vmstat.allocstall_normal - v0.allocstall_normal).toBe(1);
    m.check();
  });
});

describe("mlock (6.12 mm/mlock.c)", () => {
  it("mlock(addr, 0) with RLIMIT_MEMLOCK 0 is EPERM (can_do_mlock comes first)", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false });
    const p = m.spawn();
    const a = p.mmap("64KiB");
    p.setrlimit("memlock", 0);
    // (the facade refuses len 0 with EINVAL before the kernel is asked: the engine call is the syscall)
    expect(do_mlock(ms(m), p.task(), a.addr, 0n, true)).toMatchObject({ ok: false, errno: "EPERM" });
    p.setrlimit("memlock", "8MiB");
    expect(do_mlock(ms(m), p.task(), a.addr, 0n, true)).toMatchObject({ ok: true, locked: 0 });
  });

  it("mlockall(MCL_CURRENT) clears an earlier MCL_FUTURE (apply_mlockall_flags: def_flags &= ~VM_LOCKED_MASK)", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false });
    const p = m.spawn();
    p.setrlimit("memlock", "64MiB");
    p.mlockall("future");
    expect(p.task().mm!.def_flags & VM_LOCKED).toBe(VM_LOCKED);
    p.mlockall("current");
    expect(p.task().mm!.def_flags & VM_LOCKED).toBe(0);
    const b = p.mmap("64KiB");
    const v = p.task().mm!.vmas.find((x) => x.vm_start === b.addr)!;
    expect(v.vm_flags & VM_LOCKED).toBe(0);
  });

  it("mlock over [vdso] neither sets VM_LOCKED there nor counts it in locked_vm (VM_SPECIAL)", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false });
    const p = m.spawn();
    const mm = p.task().mm!;
    const vdso = mm.vmas.find((v) => v.special === "[vdso]")!;
    const before = mm.locked_vm;
    p.mlock(vdso.vm_start, Number(vdso.vm_end - vdso.vm_start));
    expect(mm.locked_vm).toBe(before);
    expect(mm.vmas.find((v) => v.special === "[vdso]")!.vm_flags & VM_LOCKED).toBe(0);
  });

  it("munmap of mlocked pages munlocks them first (munlock_vma_folio): unevictable_pgs_munlocked/rescued", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false });
    const s = ms(m);
    const p = m.spawn();
    const a = p.mmap("64KiB");
    p.mlock(a.addr, "64KiB");
    expect(s.vmstat.unevictable_pgs_mlocked).toBe(16);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(16);
    p.munmap(a.addr, "64KiB");
    expect(s.vmstat.unevictable_pgs_munlocked).toBe(16);
    expect(s.vmstat.unevictable_pgs_rescued).toBe(16);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(0);
    m.check();
  });

  it("a COW write in a locked VMA munlocks the old page the child still maps", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false });
    const s = ms(m);
    const fmt = pt_format_of(s.arch);
    const p = m.spawn();
    const a = p.mmap("4KiB");
    p.write(a.addr, "old");
    p.mlock(a.addr, "4KiB");
    const c = p.fork();
    const e = pte(m, c, a.addr);
    const old = entry_pfn(fmt, e.lo, e.hi);
    const inact = lru_pages(s)[LRU_INACTIVE_ANON]!;
    p.write(a.addr, "new");
    expect(s.mem_map.flags[old]! & PG_mlocked).toBe(0);
    expect(s.vmstat.unevictable_pgs_munlocked).toBe(1);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(1); // the parent's new copy, born mlocked
    expect(lru_pages(s)[LRU_INACTIVE_ANON]).toBe(inact + 1); // the child's page, evictable again
    expect(c.read(a.addr, 3).text).toBe("old");
    m.check();
  });
});
