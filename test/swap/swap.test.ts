import { describe, expect, it, vi } from "vitest";
import { MiB, ms, pressured, pte } from "./helpers";

vi.setConfig({ testTimeout: 60_000 });
import { boot, MmError, type Machine, type Process } from "../../src/index";
import { entry_read, pt_format_of, pt_lookup } from "../../src/mm/pgtable";
import { is_swap_pte, pte_swp_exclusive, pte_swp_offset, swp_entry_to_pte } from "../../src/mm/swapops";
import { PG_mlocked, PG_unevictable, PG_lru, PG_slab, PG_vmalloc } from "../../src/mm/memmap";
import { lru_pages, LRU_UNEVICTABLE } from "../../src/mm/swap";
import { state_equal } from "../../src/kernel/snapshot";


describe("swap entries in PTEs (arch/x86/include/asm/pgtable_64.h, pgtable-2level.h)", () => {
  it("x86-64 / PAE: the offset inverted in bits 9..58, type in 59..63, _PAGE_SWP_EXCLUSIVE = bit 3", () => {
    const fmt = pt_format_of(ms(boot({ arch: "x86_64", ram: "64MiB" })).arch);
    // ~1 = ...fffe; its low 50 bits << 9 = 0x07fffffffffffc00
    expect(swp_entry_to_pte(fmt, 0, 1, false)).toEqual({ lo: 0xfffffc00, hi: 0x07ffffff });
    expect(swp_entry_to_pte(fmt, 0, 1, true)).toEqual({ lo: 0xfffffc08, hi: 0x07ffffff });
    expect(swp_entry_to_pte(fmt, 1, 0x1234, false).hi >>> 27).toBe(1);
    for (const off of [1, 2, 255, 262143, 0x3ffffff]) {
      const e = swp_entry_to_pte(fmt, 0, off, off % 2 === 0);
      expect(is_swap_pte(e.lo, e.hi)).toBe(true);
      expect(e.lo & 0x101).toBe(0); // neither present nor PROT_NONE
      expect(pte_swp_offset(fmt, e.lo, e.hi)).toBe(off);
      expect(pte_swp_exclusive(fmt, e.lo)).toBe(off % 2 === 0);
    }
  });
  it("32-bit 2-level: (type << 1) | (offset << 9)", () => {
    const fmt = pt_format_of(ms(boot({ ram: "64MiB" })).arch);
    expect(swp_entry_to_pte(fmt, 0, 1, false)).toEqual({ lo: 0x200, hi: 0 });
    expect(swp_entry_to_pte(fmt, 3, 5, false)).toEqual({ lo: (5 << 9) | (3 << 1), hi: 0 });
    expect(pte_swp_offset(fmt, 0xa00, 0)).toBe(5);
  });
});

describe("boot({ swap })", () => {
  it("SwapTotal leaves out the header slot; /proc/swaps; bad sizes are EINVAL", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", swap: "16MiB" });
    const mi = m.cat("/proc/meminfo").text;
    expect(mi).toMatch(/^SwapTotal: +16380 kB$/m);
    expect(mi).toMatch(/^SwapFree: +16380 kB$/m);
    expect(String(m.swapInfo())).toBe("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t16380\t\t0\t\t-2\n");
    expect(m.dmesg().text).toContain("Adding 16380k swap on /swapfile.  Priority:-2 extents:1 across:16380k SS");
    for (const bad of ["-1MiB", "1PiB", "4097", "lots"]) expect(() => boot({ arch: "x86_64", ram: "64MiB", swap: bad })).toThrow(MmError);
  });
});


describe("swap-out and swap-in", () => {
  for (const arch of ["x86_64", "x86", "x86_pae"] as const) {
    it(`${arch}: 140 MiB written on a 128 MiB machine: pages go to swap and come back with their bytes`, () => {
      const n = (140 * MiB) / 4096;
      const { m, p, base } = pressured(n, { arch, swap: "96MiB" });
      const s = ms(m);
      expect(s.vmstat.pswpout).toBeGreaterThan(0); // pages with a marker are written
      expect(s.vmstat.swpout_zero).toBeGreaterThan(0); // touched-only pages are all zeros: zeromap, no I/O
      expect(p.swapped).toBeGreaterThan(0);
      // the first page was written first: it is the coldest, in swap now
      const e = pte(m, p, base);
      expect(is_swap_pte(e.lo, e.hi)).toBe(true);
      const off = pte_swp_offset(pt_format_of(s.arch), e.lo, e.hi);
      expect(s.swap!.swap_map[off]).toBe(1);
      const t = p.translate(base);
      expect(t.ok).toBe(false);
      m.check();
      const maj0 = p.task().maj_flt;
      const pswpin0 = s.vmstat.pswpin + s.vmstat.swpin_zero;
      for (let i = 0; i < n; i += 64 * 7) expect(p.read(base + BigInt(i * 4096 + 8), 16).text).toBe(`page ${i}`);
      expect(p.task().maj_flt).toBeGreaterThan(maj0);
      expect(s.vmstat.pswpin + s.vmstat.swpin_zero - pswpin0).toBe(p.task().maj_flt - maj0);
      m.check();
    });
  }

  it("do_swap_page: a read keeps the swap copy (SwapCached) and maps an exclusive page writable but clean; a write fault drops the copy", () => {
    // swap less than half full: vm_swap_full() is false, so swap-in keeps the slot
    const { m, p, base } = pressured((120 * MiB) / 4096, { swap: "128MiB" });
    const s = ms(m);
    const fmt = pt_format_of(s.arch);
    const e0 = pte(m, p, base);
    const e1 = pte(m, p, base + 4096n);
    expect(is_swap_pte(e0.lo, e0.hi) && is_swap_pte(e1.lo, e1.hi)).toBe(true);
    expect(pte_swp_exclusive(fmt, e0.lo)).toBe(true); // try_to_unmap kept PageAnonExclusive in the entry
    const off0 = pte_swp_offset(fmt, e0.lo, e0.hi);
    const off1 = pte_swp_offset(fmt, e1.lo, e1.hi);
    const r = p.read(base + 8n, 6);
    expect(r.text).toBe("page 0");
    expect(r.faults.length).toBe(1);
    const after = pte(m, p, base);
    expect(is_swap_pte(after.lo, after.hi)).toBe(false);
    expect(after.lo & 0x42).toBe(0x02); // writable, not dirty
    expect(s.swapcache!.pages.has(off0)).toBe(true);
    expect(s.swap!.swap_map[off0]).toBe(0x40); // SWAP_HAS_CACHE, no PTE reference
    expect(m.cat("/proc/meminfo").text).toMatch(/^SwapCached: +4 kB$/m);
    m.check();
    // a write now needs no fault; the page stays in the swap cache, its slot's copy now stale (the
    // dirty PTE makes reclaim write it again)
    expect(p.write(base + 100n, "x").faults.length).toBe(0);
    expect(pte(m, p, base).lo & 0x40).toBe(0x40);
    expect(s.swapcache!.pages.has(off0)).toBe(true);
    // a write fault on a swapped page: the copy is dropped at once (should_try_to_free_swap)
    const w = p.write(base + 4096n + 100n, "y");
    expect(w.faults.length).toBe(1);
    expect(s.swapcache!.pages.has(off1)).toBe(false);
    expect(s.swap!.swap_map[off1]).toBe(0);
    expect(p.read(base + 4096n + 8n, 6).text).toBe("page 1");
    m.check();
  });

  it("fork shares swap entries (swap_duplicate); each side reads the old bytes; the child's write is its own", () => {
    const { m, p, base } = pressured((120 * MiB) / 4096);
    const s = ms(m);
    const e = pte(m, p, base);
    const off = pte_swp_offset(pt_format_of(s.arch), e.lo, e.hi);
    const c = p.fork();
    expect(s.swap!.swap_map[off]).toBe(2);
    expect(c.swapped).toBe(p.swapped);
    m.check();
    c.write(base + 8n, "child!");
    expect(c.read(base + 8n, 6).text).toBe("child!");
    expect(p.read(base + 8n, 6).text).toBe("page 0");
    m.check();
    c.exit();
    p.exit();
    m.check();
    expect(s.swap!.inuse_pages).toBe(0);
    expect(lru_pages(s).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("exit frees the process's swap slots", () => {
    const { m, p } = pressured((120 * MiB) / 4096);
    const s = ms(m);
    expect(s.swap!.inuse_pages).toBeGreaterThan(0);
    p.exit();
    expect(s.swap!.inuse_pages).toBe(0);
    m.check();
  });

  it("without swap, anonymous memory is not reclaimed", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", trace: false });
    const p = m.spawn();
    const map = p.mmap("16MiB");
    p.touch(map.addr, "16MiB");
    const r = m.reclaim("8MiB");
    expect(r.reclaimed).toBe(0);
    expect(ms(m).vmstat.pswpout + ms(m).vmstat.swpout_zero).toBe(0);
  });
});

describe("mlock", () => {
  it("locked pages are faulted in, unevictable, and never swapped however hard the machine is pressed", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB", swap: "128MiB", trace: false });
    const s = ms(m);
    const p = m.spawn();
    const locked = p.mmap("4MiB");
    const r = p.mlock(locked.addr, "4MiB");
    expect(r.result.faulted).toBe(1024);
    expect(r.result.locked).toBe(1024);
    expect(p.task().mm!.locked_vm).toBe(1024);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(1024);
    expect(m.cat("/proc/meminfo").text).toMatch(/^Mlocked: +4096 kB$/m);
    p.write(locked.addr + 12345n, "pinned");
    const q = m.spawn();
    const big = q.mmap("150MiB");
    q.touch(big.addr, "150MiB");
    expect(s.vmstat.pswpout + s.vmstat.swpout_zero).toBeGreaterThan(5000);
    for (let va = locked.addr; va < locked.addr + BigInt(4 * MiB); va += 4096n) {
      const e = pte(m, p, va);
      expect(e.lo & 1).toBe(1);
    }
    expect(p.read(locked.addr + 12345n, 6).text).toBe("pinned");
    m.check();
    // munlock: the pages are evictable again
    const u = p.munlock(locked.addr, "4MiB");
    expect(u.result.locked).toBe(1024);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(0);
    m.check();
  });

  it("RLIMIT_MEMLOCK: 8 MiB by default (ENOMEM past it), 0 → EPERM; a refused call changes nothing", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", swap: "16MiB" });
    const p = m.spawn();
    const a = p.mmap("12MiB");
    p.mlock(a.addr, "6MiB");
    const snap = m.snapshot();
    const err = (() => {
      try {
        p.mlock(a.addr, "9MiB");
      } catch (e) {
        return e as MmError;
      }
    })();
    expect(err?.code).toBe("ENOMEM");
    expect(err?.message).toMatch(/RLIMIT_MEMLOCK/);
    expect(state_equal(ms(m), ms(boot(snap)))).toBe(true);
    // re-locking what is already locked is not counted twice (count_mm_mlocked_page_nr)
    expect(() => p.mlock(a.addr, "8MiB")).not.toThrow();
    expect(p.task().mm!.locked_vm).toBe(2048);
    p.setrlimit("memlock", 0);
    expect(() => p.mlock(a.addr + BigInt(10 * MiB), "4KiB")).toThrow(expect.objectContaining({ code: "EPERM" }));
    p.setrlimit("memlock", "64MiB");
    expect(() => p.mlockall("current")).not.toThrow();
    expect(() => p.mlockall("sometimes")).toThrow(expect.objectContaining({ code: "EINVAL" }));
    m.check();
  });

  it("mlockall(MCL_CURRENT) needs total_vm within the limit", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB" });
    const p = m.spawn();
    p.mmap("16MiB");
    expect(() => p.mlockall("current")).toThrow(expect.objectContaining({ code: "ENOMEM" }));
  });

  it("mlockall(MCL_FUTURE): new mappings are locked (EAGAIN past the limit); not inherited by fork", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB" });
    const s = ms(m);
    const p = m.spawn();
    p.mlockall("future");
    const a = p.mmap("1MiB");
    p.touch(a.addr, "1MiB");
    expect(p.task().mm!.locked_vm).toBe(256);
    expect(lru_pages(s)[LRU_UNEVICTABLE]).toBe(256);
    expect(() => p.mmap("8MiB")).toThrow(expect.objectContaining({ code: "EAGAIN" }));
    const c = p.fork();
    expect(c.task().mm!.locked_vm).toBe(0);
    expect(c.task().mm!.vmas.some((v) => v.vm_flags & 0x2000)).toBe(false);
    // the child's own new page (COW copy) is evictable; the parent's stays locked
    c.write(a.addr, "c");
    const cp = pte(m, c, a.addr);
    const pfn = (cp.lo >>> 12) | ((cp.hi & 0xfffff) << 20);
    expect(s.mem_map.flags[pfn]! & PG_mlocked).toBe(0);
    const pp = pte(m, p, a.addr);
    expect(s.mem_map.flags[(pp.lo >>> 12) | ((pp.hi & 0xfffff) << 20)]! & PG_unevictable).toBe(PG_unevictable);
    m.check();
  });
});

describe("kernel memory is never reclaimed", () => {
  it("slab and vmalloc frames stay put under pressure; they are on no LRU list", () => {
    const m = boot({ arch: "x86_64", ram: "128MiB", swap: "128MiB", trace: false });
    const s = ms(m);
    const k = m.kmalloc(2048);
    const v = m.vmalloc("1MiB");
    const slabPfns: number[] = [];
    const vmPfns: number[] = [];
    for (let pfn = 0; pfn < s.max_pfn; pfn++) {
      if (s.mem_map.flags[pfn]! & PG_slab) slabPfns.push(pfn);
      if (s.mem_map.flags[pfn]! & PG_vmalloc) vmPfns.push(pfn);
    }
    expect(vmPfns.length).toBe(256);
    const p = m.spawn();
    const big = p.mmap("150MiB");
    p.touch(big.addr, "150MiB");
    expect(s.vmstat.pswpout + s.vmstat.swpout_zero).toBeGreaterThan(5000);
    for (const pfn of [...slabPfns, ...vmPfns]) {
      expect(s.mem_map.flags[pfn]! & (PG_slab | PG_vmalloc)).not.toBe(0);
      expect(s.mem_map.flags[pfn]! & PG_lru).toBe(0);
    }
    void k;
    void v;
    m.check();
  });
});

describe("overcommit (vm.overcommit_memory = 0, __vm_enough_memory)", () => {
  it("a private writable mapping larger than RAM + swap is ENOMEM, logged; anything smaller is allowed (overcommitted)", () => {
    const m = boot({ arch: "x86_64", ram: "64MiB", swap: "16MiB" });
    const s = ms(m);
    const p = m.spawn();
    const limit = s.totalram_pages + s.swap!.pages;
    const snap = m.snapshot();
    expect(() => p.mmap((limit + 1) * 4096)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
    expect(m.dmesg().text).toContain(`__vm_enough_memory: pid: ${p.pid}, comm: ${p.name}, bytes: ${(limit + 1) * 4096} not enough memory for the allocation`);
    expect(state_equal(ms(boot(snap)), s)).toBe(false); // the log line is the only change
    expect(() => p.mmap(limit * 4096)).not.toThrow();
    expect(() => p.mmap(limit * 4096)).not.toThrow(); // heuristic: no running total
    // read-only and shared mappings are not charged
    expect(() => p.mmap((limit + 1) * 4096, "r")).not.toThrow();
  });
});
