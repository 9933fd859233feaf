/**
 * Swap and the LRU in /proc, byte for byte (Linux 6.12): /proc/swaps (mm/swapfile.c swap_show()),
 * /proc/meminfo's LRU, Mlocked and swap lines (fs/proc/meminfo.c), /proc/vmstat (mm/vmstat.c
 * vmstat_text[] and vmstat_show()), /proc/zoneinfo's zone and per-node LRU counters, smaps' Swap:,
 * SwapPss: and Locked: (fs/proc/task_mmu.c smaps_pte_entry(), smaps_account()) and the node meminfo.
 * Expected numbers are recounted here from the engine's state (LRU list lengths, swap_map, PTEs), not
 * read back from the generators; line shapes are compared with this machine's own /proc files.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { boot } from "../../src";
import type { MachineState } from "../../src/kernel/machine";
import { PG_mlocked } from "../../src/mm/memmap";
import type { mm_struct, vm_area_struct } from "../../src/mm/mmap";
import { do_mlock } from "../../src/mm/mlock";
import { pt_format_of, pt_walk_range } from "../../src/mm/pgtable";
import { lru_pages, zone_lru_pages } from "../../src/mm/swap";
import { swap_count } from "../../src/mm/swapfile";
import { is_swap_pte, pte_swp_offset } from "../../src/mm/swapops";

const host = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : undefined);
const MiB = 1 << 20;

/** "Label:   N kB" of a meminfo-style text, in kB */
function kb(text: string, label: string): number {
  const l = text.split("\n").find((x) => x.startsWith(label + ":"));
  if (!l) throw new Error(`no ${label}`);
  return Number(l.slice(label.length + 1).trim().split(/\s+/)[0]);
}
/** "name value" of /proc/vmstat */
function vm(text: string, name: string): number {
  const l = text.split("\n").find((x) => x.startsWith(name + " "));
  if (!l) throw new Error(`no ${name}`);
  return Number(l.slice(name.length + 1));
}
/** the swap PTEs of a VMA, and the slots they name */
function swap_ptes(ms: MachineState, mm: mm_struct, v: vm_area_struct): number[] {
  const fmt = pt_format_of(ms.arch);
  const slots: number[] = [];
  pt_walk_range(ms, mm.pgd, v.vm_start, v.vm_end, (_t, _i, _va, e) => {
    if (is_swap_pte(e.lo, e.hi)) slots.push(pte_swp_offset(fmt, e.lo, e.hi));
  });
  return slots;
}
/** the smaps block of the VMA starting at `start` */
function smapsBlock(text: string, start: bigint): string {
  const head = start.toString(16).padStart(8, "0") + "-";
  const i = text.indexOf("\n" + head) + 1 || (text.startsWith(head) ? 0 : -1);
  expect(i).toBeGreaterThanOrEqual(0);
  const next = text.indexOf("\nVmFlags:", i);
  return text.slice(i, text.indexOf("\n", next + 1) + 1);
}

/** a 128 MiB x86-64 machine with 64 MiB of swap, 100 MiB touched: reclaim swaps about 16 MiB out */
function swapped() {
  const m = boot({ arch: "x86_64", ram: "128MiB", swap: "64MiB", trace: false });
  const p = m.spawn();
  const a = p.mmap("100MiB");
  p.write(a.addr + 16n, "hello swap"); // touch() writes one zero byte at each page's start
  p.touch(a.addr, 100 * MiB);
  return { m, p, a, ms: m.ms };
}

describe("/proc/swaps (swap_show)", () => {
  it("header only without swap", () => {
    expect(boot({ arch: "x86_64", ram: "128MiB" }).cat("/proc/swaps").text).toBe("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
  });

  it("one area: the path padded to 40 columns, file\\t, Size and Used in kB each with a second tab, priority -2", () => {
    const { m, ms } = swapped();
    const used = ms.swap!.inuse_pages * 4;
    expect(used).toBeGreaterThan(0);
    expect(m.cat("/proc/swaps").text).toBe(`Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile${" ".repeat(31)}file\t\t65532\t\t${used}\t\t-2\n`);
    const fresh = boot({ arch: "x86_64", ram: "128MiB", swap: "64MiB" }).cat("/proc/swaps").text;
    expect(fresh.split("\n")[1]).toBe("/swapfile                               file\t\t65532\t\t0\t\t-2");
  });

  it("its header is this machine's", () => {
    const real = host("/proc/swaps");
    if (!real) return;
    expect(boot().cat("/proc/swaps").text.split("\n")[0]).toBe(real.split("\n")[0]);
  });
});

describe("/proc/meminfo after reclaim swapped", () => {
  const { m, p, ms } = swapped();
  const t = m.cat("/proc/meminfo").text;

  it("SwapTotal is 65532 kB (slot 0 is the header); SwapFree = total − used slots × 4", () => {
    expect(t).toContain("\nSwapTotal:         65532 kB\nSwapFree:   ");
    expect(kb(t, "SwapFree")).toBe(65532 - ms.swap!.inuse_pages * 4);
    expect(ms.swap!.inuse_pages).toBeGreaterThan(1000);
    // CommitLimit = totalram / 2 + total_swap_pages
    expect(kb(t, "CommitLimit")).toBe(Math.floor(ms.totalram_pages / 2) * 4 + 65532);
  });

  it("the LRU lines are the lruvec's list lengths; AnonPages the mapped anonymous pages", () => {
    const [ia, aa, ifl, af, ue] = lru_pages(ms);
    expect(kb(t, "Inactive(anon)")).toBe(ia! * 4);
    expect(kb(t, "Active(anon)")).toBe(aa! * 4);
    expect(kb(t, "Inactive(file)")).toBe(ifl! * 4);
    expect(kb(t, "Active(file)")).toBe(af! * 4);
    expect(kb(t, "Unevictable")).toBe(ue! * 4);
    expect(kb(t, "Active")).toBe((aa! + af!) * 4);
    expect(kb(t, "Inactive")).toBe((ia! + ifl!) * 4);
    expect(kb(t, "Active(anon)") + kb(t, "Inactive(anon)")).toBe((ia! + aa!) * 4);
    // every resident page of the process is anonymous, mapped once, and on an anon list
    const rss = p.task().mm!.rss;
    expect(kb(t, "AnonPages")).toBe(rss.anon * 4);
    expect(ia! + aa!).toBe(rss.anon + (ms.swapcache?.pages.size ?? 0));
    expect(kb(t, "SwapCached")).toBe((ms.swapcache?.pages.size ?? 0) * 4);
  });

  it("HardwareCorrupted keeps its own %5lu format", () => {
    expect(t).toContain("\nHardwareCorrupted:     0 kB\n");
  });
});

describe("/proc/vmstat", () => {
  const { m, p, ms } = swapped();
  const t = m.cat("/proc/vmstat").text;

  it("\"name value\" lines, zone items first, the vm events last, then the deprecated nr_unstable 0", () => {
    const lines = t.split("\n");
    expect(lines.pop()).toBe("");
    for (const l of lines) expect(l).toMatch(/^[a-z0-9_]+ \d+$/);
    expect(lines[0]).toBe(`nr_free_pages ${m.freePagesCount}`);
    expect(lines.slice(1, 12).map((l) => l.split(" ")[0])).toEqual(["nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file", "nr_zone_active_file", "nr_zone_unevictable", "nr_zone_write_pending", "nr_mlock", "nr_bounce", "nr_zspages", "nr_free_cma", "nr_unaccepted"]);
    expect(lines.at(-1)).toBe("nr_unstable 0");
    expect(lines.at(-3)).toBe("direct_map_level2_splits 0");
    // x86-64 zones: DMA, DMA32, Normal, Movable, Device (no HighMem)
    expect(lines.filter((l) => l.startsWith("pgalloc_")).map((l) => l.split(" ")[0])).toEqual(["pgalloc_dma", "pgalloc_dma32", "pgalloc_normal", "pgalloc_movable", "pgalloc_device"]);
    expect(lines).toHaveLength(new Set(lines.map((l) => l.split(" ")[0])).size);
  });

  it("the swap and reclaim events are the engine's counters", () => {
    // p.touch() leaves pages all zero: 6.12 writes no I/O for them (swap_zeromap_folio_set: swpout_zero)
    expect(ms.vmstat.pswpout).toBeGreaterThan(0);
    expect(ms.vmstat.swpout_zero).toBeGreaterThan(1000);
    expect(vm(t, "pswpout")).toBe(ms.vmstat.pswpout);
    expect(vm(t, "swpout_zero")).toBe(ms.vmstat.swpout_zero);
    expect(vm(t, "pswpin")).toBe(ms.vmstat.pswpin);
    // each slot written (or zero-marked) once: the slots in use are the pages swapped out (none read back yet)
    expect(vm(t, "pswpout") + vm(t, "swpout_zero")).toBe(ms.swap!.inuse_pages);
    expect(vm(t, "pgpgout")).toBe(ms.vmstat.pswpout * 4);
    for (const k of ["pgfault", "pgmajfault", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct", "pgactivate", "pgdeactivate", "pgrefill", "oom_kill"] as const) expect(vm(t, k), k).toBe(ms.vmstat[k]);
    expect(vm(t, "pgsteal_kswapd") + vm(t, "pgsteal_direct")).toBe(ms.vmstat.pswpout + ms.vmstat.swpout_zero);
    // pageout() counts every page it hands on in NR_VMSCAN_WRITE; NR_WRITTEN only real writes
    expect(vm(t, "nr_vmscan_write")).toBe(ms.vmstat.pswpout + ms.vmstat.swpout_zero);
    expect(vm(t, "nr_written")).toBe(ms.vmstat.pswpout);
  });

  it("zone and node LRU items agree with the lists and with /proc/meminfo", () => {
    const [ia, aa] = lru_pages(ms);
    expect(vm(t, "nr_inactive_anon")).toBe(ia);
    expect(vm(t, "nr_active_anon")).toBe(aa);
    expect(vm(t, "nr_zone_inactive_anon")).toBe(ia);
    expect(vm(t, "nr_zone_active_anon")).toBe(aa);
    expect(vm(t, "nr_anon_pages")).toBe(p.task().mm!.rss.anon);
    const mi = m.cat("/proc/meminfo").text;
    expect(vm(t, "nr_page_table_pages") * 4).toBe(kb(mi, "PageTables"));
    expect(vm(t, "nr_swapcached") * 4).toBe(kb(mi, "SwapCached"));
    // numa_hit counts every allocation of a one-node machine: Σ pgalloc_*
    const pgalloc = t.split("\n").filter((l) => l.startsWith("pgalloc_")).reduce((a, l) => a + Number(l.split(" ")[1]), 0);
    expect(vm(t, "numa_hit")).toBe(pgalloc);
  });

  it("nr_dirty_threshold / nr_dirty_background_threshold follow global_dirty_limits() (20% / 10%)", () => {
    const fresh = boot({ arch: "x86_64", ram: "1GiB" });
    const ft = fresh.cat("/proc/vmstat").text;
    const avail = fresh.freePagesCount - Math.min(fresh.freePagesCount, fresh.ms.totalreserve_pages) + 1;
    expect(vm(ft, "nr_dirty_threshold")).toBe(Math.floor((819 * avail) / 4096));
    expect(vm(ft, "nr_dirty_background_threshold")).toBe(Math.floor((409 * avail) / 4096));
    // one 2 MiB vmemmap chunk (512 pages) per present 128 MiB section: 1 GiB → 8 sections
    expect(vm(ft, "nr_memmap_boot_pages")).toBe(8 * 512);
  });

  it("32-bit: HighMem items, no DMA32, no NUMA balancing, no thp_split_pud", () => {
    const x = boot({ ram: "2GiB" }).cat("/proc/vmstat").text;
    const names = x.split("\n").map((l) => l.split(" ")[0]);
    expect(names.filter((n) => n!.startsWith("allocstall_"))).toEqual(["allocstall_dma", "allocstall_normal", "allocstall_high", "allocstall_movable"]);
    for (const n of ["nr_unaccepted", "pgpromote_success", "numa_pte_updates", "thp_split_pud"]) expect(names).not.toContain(n);
    expect(names).toContain("numa_hit");
  });

  it("lists the names this machine's kernel lists, in the same order (the names both kernels have)", () => {
    const real = host("/proc/vmstat");
    if (!real) return;
    // the host may run another version (6.18 adds nr_free_pages_blocks, *_proactive…; drops nr_bounce,
    // nr_writeback_temp): compare the order of the names both have, which vmstat_text[] keeps stable
    const ours = t.trimEnd().split("\n").map((l) => l.split(" ")[0]!);
    const theirs = real.trimEnd().split("\n").map((l) => l.split(" ")[0]!);
    const a = new Set(ours);
    const b = new Set(theirs);
    const common = ours.filter((k) => b.has(k));
    expect(theirs.filter((k) => a.has(k))).toEqual(common);
    expect(common.length).toBeGreaterThan(150);
    for (const l of real.trimEnd().split("\n")) expect(l).toMatch(/^[a-z0-9_]+ \d+$/);
  });
});

describe("/proc/zoneinfo LRU counters", () => {
  const { m, ms } = swapped();
  const t = m.cat("/proc/zoneinfo").text;

  it("each populated zone's nr_zone_* lines are its own list lengths; per-node stats the node's", () => {
    const [ia, aa, ifl, af, ue] = lru_pages(ms, 0);
    expect(t).toContain(`\n  per-node stats\n      nr_inactive_anon ${ia}\n      nr_active_anon ${aa}\n      nr_inactive_file ${ifl}\n      nr_active_file ${af}\n      nr_unevictable ${ue}\n`);
    let sum = 0;
    for (const z of ms.nodes[0]!.node_zones) {
      if (!z.populated) continue;
      const l = zone_lru_pages(ms, z.id);
      sum += l[0]!;
      expect(t).toContain(`\n      nr_free_pages ${z.nr_free_pages}\n      nr_zone_inactive_anon ${l[0]}\n      nr_zone_active_anon ${l[1]}\n      nr_zone_inactive_file ${l[2]}\n      nr_zone_active_file ${l[3]}\n      nr_zone_unevictable ${l[4]}\n      nr_zone_write_pending 0\n      nr_mlock     0\n      nr_bounce    0\n      nr_zspages   0\n      nr_free_cma  0\n      nr_unaccepted 0\n      numa_hit     `);
    }
    expect(sum).toBe(ia);
    expect(sum).toBeGreaterThan(0);
  });

  it("pagesets as 6.12 prints them: count, high, batch (at least 1), vm stats threshold", () => {
    const x = boot({ arch: "x86_64", ram: "24GiB", cpus: 2 }).cat("/proc/zoneinfo").text;
    // DMA: 3840 managed pages → zone_batchsize() 0, stored as max(1, 0)
    expect(x).toContain("\n  pagesets\n    cpu: 0\n              count: 0\n              high:  0\n              batch: 1\n  vm stats threshold: 4\n    cpu: 1\n              count: 0\n              high:  0\n              batch: 1\n  vm stats threshold: 4\n  node_unreclaimable:  0\n  start_pfn:           1\n");
    // Normal: managed >> 10 capped at 256, /4 = 64, rounddown_pow_of_two(96) - 1 = 63
    expect(x).toContain("\n              batch: 63\n");
    expect(x).not.toContain("high_min");
  });
});

describe("/proc/PID/smaps Swap:, SwapPss:, Locked:", () => {
  it("Swap: is the swap PTEs × 4 kB; SwapPss: the same while each slot has one sharer", () => {
    const { m, p, a, ms } = swapped();
    const mm = p.task().mm!;
    const text = m.cat(`/proc/${p.pid}/smaps`).text;
    const v = mm.vmas.find((x) => x.vm_start === a.addr)!;
    const slots = swap_ptes(ms, mm, v);
    expect(slots.length).toBeGreaterThan(1000);
    const blk = smapsBlock(text, a.addr);
    expect(blk).toContain(`\nSwap:           ${String(slots.length * 4).padStart(8)} kB\nSwapPss:        ${String(slots.length * 4).padStart(8)} kB\nLocked:                0 kB\n`);
    // all VMAs together: MM_SWAPENTS
    const all = [...text.matchAll(/\nSwap: +(\d+) kB/g)].reduce((s, x) => s + Number(x[1]), 0);
    expect(all).toBe(mm.rss.swapents * 4);
    // Rss + Swap covers the touched range
    expect(Number(/\nRss: +(\d+) kB/.exec(blk)![1]) + slots.length * 4).toBe(100 * 1024);
  });

  it("after fork each swap slot has two PTEs: SwapPss is half of Swap in parent and child", () => {
    const { m, p, a, ms } = swapped();
    const c = p.fork();
    const mm = p.task().mm!;
    const v = mm.vmas.find((x) => x.vm_start === a.addr)!;
    const slots = swap_ptes(ms, mm, v);
    for (const s of slots) expect(swap_count(ms, s)).toBe(2);
    const half = Math.floor((slots.length * 4096 * 4096) / 2 / 4096 / 1024);
    for (const pid of [p.pid, c.pid]) {
      const blk = smapsBlock(m.cat(`/proc/${pid}/smaps`).text, a.addr);
      expect(blk).toContain(`\nSwap:           ${String(slots.length * 4).padStart(8)} kB\nSwapPss:        ${String(half).padStart(8)} kB\n`);
    }
  });

  it("Locked: is the PSS of the present pages of a VM_LOCKED VMA; Mlocked, Unevictable and nr_mlock follow", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB", trace: false });
    const p = m.spawn();
    const a = p.mmap("4MiB");
    const r = do_mlock(m.ms, p.task(), a.addr, 2n * BigInt(MiB), true);
    expect(r.ok).toBe(true);
    const blk = smapsBlock(m.cat(`/proc/${p.pid}/smaps`).text, a.addr);
    expect(blk).toMatch(/^[0-9a-f]+-[0-9a-f]+ rw-p /);
    expect(blk).toContain("\nSize:               2048 kB\n");
    expect(blk).toContain("\nRss:                2048 kB\n");
    expect(blk).toContain("\nLocked:             2048 kB\n");
    expect(blk).toMatch(/\nVmFlags: .*\blo\b/);
    let mlocked = 0;
    for (let pfn = 0; pfn < m.ms.max_pfn; pfn++) if (m.ms.mem_map.flags[pfn]! & PG_mlocked) mlocked++;
    expect(mlocked).toBe(512);
    const mi = m.cat("/proc/meminfo").text;
    expect(kb(mi, "Mlocked")).toBe(2048);
    expect(kb(mi, "Unevictable")).toBe(lru_pages(m.ms)[4]! * 4);
    expect(kb(mi, "Unevictable")).toBe(2048);
    const vs = m.cat("/proc/vmstat").text;
    expect(vm(vs, "nr_mlock")).toBe(512);
    expect(vm(vs, "nr_unevictable")).toBe(512);
    expect(vm(vs, "unevictable_pgs_mlocked")).toBe(m.ms.vmstat.unevictable_pgs_mlocked);
    const zi = m.cat("/proc/zoneinfo").text;
    const perZone = [...zi.matchAll(/\n      nr_mlock     (\d+)/g)].reduce((s, x) => s + Number(x[1]), 0);
    expect(perZone).toBe(512);
    const node = m.cat("/sys/devices/system/node/node0/meminfo").text;
    expect(node).toContain("\nNode 0 Unevictable:        2048 kB\nNode 0 Mlocked:            2048 kB\n");
  });
});

describe("/sys/devices/system/node/nodeN/meminfo", () => {
  it("one node: the same LRU, swap-cache and anon numbers as /proc/meminfo", () => {
    const { m } = swapped();
    const mi = m.cat("/proc/meminfo").text;
    const nd = m.cat("/sys/devices/system/node/node0/meminfo").text.replace(/^Node 0 /gm, "");
    for (const k of ["SwapCached", "Active", "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked", "AnonPages", "Mapped", "Shmem", "PageTables"]) expect(kb(nd, k), k).toBe(kb(mi, k));
    expect(kb(nd, "FilePages")).toBe(kb(mi, "Cached") + kb(mi, "SwapCached"));
  });

  it("two nodes: each node counts its own pages; the sums are the global counts", () => {
    const m = boot({ arch: "x86_64", nodes: ["256MiB", "256MiB"], trace: false });
    const p = m.spawn();
    const a = p.mmap("300MiB");
    p.touch(a.addr, 300 * MiB); // more than node 0 holds: the rest comes from node 1
    const ms = m.ms;
    expect(lru_pages(ms, 0)[0]).toBeGreaterThan(0);
    expect(lru_pages(ms, 1)[0]).toBeGreaterThan(0);
    const vs = m.cat("/proc/vmstat").text;
    let inactive = 0;
    let tables = 0;
    for (const n of [0, 1]) {
      const nd = m.cat(`/sys/devices/system/node/node${n}/meminfo`).text;
      expect(kb(nd, `Node ${n} Inactive(anon)`)).toBe(lru_pages(ms, n)[0]! * 4);
      inactive += kb(nd, `Node ${n} Inactive(anon)`);
      tables += kb(nd, `Node ${n} PageTables`);
    }
    expect(inactive).toBe(vm(vs, "nr_inactive_anon") * 4);
    expect(inactive).toBe(kb(m.cat("/proc/meminfo").text, "Inactive(anon)"));
    expect(tables).toBe((ms.pgt?.nr_pagetable ?? 0) * 4);
    expect(vm(vs, "nr_page_table_pages")).toBe(ms.pgt?.nr_pagetable ?? 0);
  });
});

describe("/proc/vmstat on the toy machine", () => {
  it("no NUMA and no x86 items; Normal and Movable zone names always", () => {
    const t = boot({ arch: "toy", ram: "256KiB" }).cat("/proc/vmstat").text;
    const names = t.trimEnd().split("\n").map((l) => l.split(" ")[0]);
    expect(names.filter((n) => n!.startsWith("pgalloc_"))).toEqual(["pgalloc_normal", "pgalloc_movable"]);
    for (const n of ["numa_hit", "zone_reclaim_success", "direct_map_level2_splits"]) expect(names).not.toContain(n);
    expect(names.at(-1)).toBe("nr_unstable");
  });
});

describe("a page read back from swap (do_swap_page)", () => {
  it("stays in the swap cache: SwapCached, nr_swapcached and nr_file_pages count it, Cached does not", () => {
    const { m, p, a, ms } = swapped();
    const mm = p.task().mm!;
    const v = mm.vmas.find((x) => x.vm_start === a.addr)!;
    const before = swap_ptes(ms, mm, v).length;
    const used = ms.swap!.inuse_pages;
    const vs0 = m.cat("/proc/vmstat").text;
    // the first page ("hello swap") was touched first, so reclaim took it from the inactive tail
    expect(p.read(a.addr + 16n, 10).text).toBe("hello swap");
    const cached = ms.swapcache?.pages.size ?? 0;
    expect(cached).toBe(1);
    const mi = m.cat("/proc/meminfo").text;
    expect(kb(mi, "SwapCached")).toBe(4);
    expect(kb(mi, "Cached")).toBe(0);
    // the slot stays allocated for the swap-cache copy: SwapFree unchanged
    expect(ms.swap!.inuse_pages).toBe(used);
    expect(kb(mi, "SwapFree")).toBe(65532 - used * 4);
    const vs = m.cat("/proc/vmstat").text;
    expect(vm(vs, "nr_swapcached")).toBe(1);
    expect(vm(vs, "nr_file_pages")).toBe(1);
    expect(vm(vs, "pswpin")).toBe(vm(vs0, "pswpin") + 1);
    expect(vm(vs, "pgmajfault")).toBe(vm(vs0, "pgmajfault") + 1);
    expect(swap_ptes(ms, mm, v).length).toBe(before - 1);
    const blk = smapsBlock(m.cat(`/proc/${p.pid}/smaps`).text, a.addr);
    expect(blk).toContain(`\nSwap:           ${String((before - 1) * 4).padStart(8)} kB\n`);
    expect(m.cat("/sys/devices/system/node/node0/meminfo").text).toContain("\nNode 0 SwapCached:            4 kB\n");
  });
});
