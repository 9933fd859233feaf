/**
 * The TLB: one per CPU (hardware; the kernel's side is arch/x86/mm/tlb.c flush_tlb_mm_range,
 * flush_tlb_kernel_range, switch_mm_irqs_off). Entries cache a finished walk: page number at the
 * page's size, frame, permissions, dirty, global. Without PCID a switch to another mm (a CR3 write)
 * drops every non-global entry; global kernel entries survive it. Replacement: LRU (default), FIFO
 * or random (ms.rng).
 */
import type { MachineState } from "../kernel/machine";

export type tlb_policy = "lru" | "fifo" | "random";

export interface tlb_entry {
  /** page number at the page's size (va >> shift) */
  vpn: number;
  /** log2 of the page size */
  shift: number;
  /** first frame of the page */
  pfn: number;
  /** the walk's level that held the leaf (for the ladder) */
  level: number;
  rw: boolean;
  user: boolean;
  nx: boolean;
  dirty: boolean;
  global: boolean;
  /** the mm whose tables produced it (-1 for global kernel entries) */
  mm: number;
  /** last use (LRU) or fill (FIFO) time */
  stamp?: number;
}

export class cpu_tlb {
  /** key: key_of(vpn, shift) */
  entries = new Map<number, tlb_entry>();
  hits = 0;
  misses = 0;
  flushes = 0;
  /** the mm whose page tables CR3 points to (-1: none yet) */
  loaded_mm = -1;
  /** a clock for LRU/FIFO stamps */
  clock = 0;
  /**
   * The LRU/FIFO victim without scanning every entry: a binary min-heap of (stamp, entry) records,
   * pushed at fill. A record's stamp is a lower bound of its entry's stamp (stamps only grow: a hit
   * restamps without touching the heap), so a popped record whose stamp is still its entry's, for an
   * entry still in the map, is the entry with the oldest stamp; stale records are re-pushed or
   * dropped. `heap_ok` false: rebuild from the map before use (after a clone).
   */
  heap_stamp: number[] = [];
  heap_entry: tlb_entry[] = [];
  heap_ok = true;
}

function heap_push(t: cpu_tlb, stamp: number, e: tlb_entry): void {
  const hs = t.heap_stamp;
  const he = t.heap_entry;
  let i = hs.length;
  hs.push(stamp);
  he.push(e);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (hs[p]! <= stamp) break;
    hs[i] = hs[p]!;
    he[i] = he[p]!;
    i = p;
  }
  hs[i] = stamp;
  he[i] = e;
}

function heap_pop(t: cpu_tlb): void {
  const hs = t.heap_stamp;
  const he = t.heap_entry;
  const ls = hs.pop()!;
  const le = he.pop()!;
  const n = hs.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && hs[c + 1]! < hs[c]!) c++;
    if (hs[c]! >= ls) break;
    hs[i] = hs[c]!;
    he[i] = he[c]!;
    i = c;
  }
  hs[i] = ls;
  he[i] = le;
}

function heap_rebuild(t: cpu_tlb): void {
  t.heap_stamp.length = 0;
  t.heap_entry.length = 0;
  for (const v of t.entries.values()) heap_push(t, v.stamp ?? 0, v);
  t.heap_ok = true;
}

/** the entry with the oldest stamp (the first such in map order), as a scan of every entry finds it */
function oldest_by_scan(t: cpu_tlb): tlb_entry | undefined {
  let victim: tlb_entry | undefined;
  let old = Infinity;
  for (const v of t.entries.values()) {
    const s = v.stamp ?? 0;
    if (s < old) {
      old = s;
      victim = v;
    }
  }
  return victim;
}

/** the entry with the oldest stamp, through the heap (equal to oldest_by_scan) */
function oldest(t: cpu_tlb, size: number): tlb_entry | undefined {
  if (!t.heap_ok || t.heap_stamp.length > 4 * size + 64) heap_rebuild(t);
  const hs = t.heap_stamp;
  const he = t.heap_entry;
  while (hs.length) {
    const s = hs[0]!;
    const e = he[0]!;
    if (t.entries.get(key_of(e.vpn, e.shift)) !== e) {
      heap_pop(t); // gone (flushed, evicted, or its object reused for another page)
      continue;
    }
    const now = e.stamp ?? 0;
    if (now !== s) {
      heap_pop(t); // used since: file it under its current stamp
      heap_push(t, now, e);
      continue;
    }
    heap_pop(t);
    // an equal stamp elsewhere (only entries without one, as 0): map order decides, as the scan does
    if (hs.length && hs[0] === s) {
      heap_push(t, s, e);
      return oldest_by_scan(t);
    }
    return e;
  }
  return oldest_by_scan(t);
}

export class tlb_state {
  cpus: cpu_tlb[] = [];
  constructor(
    public size: number,
    public policy: tlb_policy,
    nr: number,
  ) {
    for (let i = 0; i < nr; i++) this.cpus.push(new cpu_tlb());
  }
  clone_for(_ms: MachineState): tlb_state {
    const c = new tlb_state(this.size, this.policy, 0);
    for (const t of this.cpus) {
      const n = new cpu_tlb();
      for (const [k, v] of t.entries) n.entries.set(k, { ...v });
      n.hits = t.hits;
      n.misses = t.misses;
      n.flushes = t.flushes;
      n.loaded_mm = t.loaded_mm;
      n.clock = t.clock;
      n.heap_ok = false;
      c.cpus.push(n);
    }
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** the TLBs, see src/hw/tlb.ts */
    tlb?: tlb_state;
  }
}

export function tlbs(ms: MachineState): tlb_state {
  return (ms.tlb ??= new tlb_state(64, "lru", Math.max(1, ms.nr_cpus ?? 1)));
}

/** the map key of a page number at a page size: the page number itself for base pages (exact up to
 * 2^53: 4 KiB pages of 57-bit addresses fit), −(vpn·64 + shift) for large pages (vpn < 2^44) */
export function key_of(vpn: number, shift: number): number {
  return shift <= 12 ? vpn : -(vpn * 64 + shift);
}

/** key of a page of size 2^shift holding the address hi:lo */
export function tlb_key(hi: number, lo: number, shift: number): number {
  if (shift <= 12) return hi * POW2[32 - shift]! + (lo >>> shift);
  const vpn = shift >= 32 ? hi >>> (shift - 32) : hi * POW2[32 - shift]! + (lo >>> shift);
  return -(vpn * 64 + shift);
}
/** 2^i for i in 0..32 (no Math.pow on the lookup path) */
const POW2: number[] = Array.from({ length: 33 }, (_, i) => 2 ** i);

/** look up an address: the page sizes in use are tried smallest first */
export function tlb_lookup(t: cpu_tlb, hi: number, lo: number, shifts: number[]): tlb_entry | undefined {
  for (let i = 0; i < shifts.length; i++) {
    const e = t.entries.get(tlb_key(hi, lo, shifts[i]!));
    if (e) {
      e.stamp = ++t.clock;
      return e;
    }
  }
  return undefined;
}

/** fill after a walk, evicting by the policy when full. Returns the entry object that left the TLB
 * (the stale one of the same page, or the victim), which nothing references any more: the walker
 * reuses it for its next fill instead of allocating. */
export function tlb_fill(ms: MachineState, t: cpu_tlb, e: tlb_entry): tlb_entry | undefined {
  const st = tlbs(ms);
  const k = key_of(e.vpn, e.shift);
  let gone = t.entries.get(k);
  if (gone) t.entries.delete(k);
  else if (t.entries.size >= st.size) {
    if (st.policy === "random") {
      const n = ms.rng.below(t.entries.size);
      let i = 0;
      for (const [kk, v] of t.entries) if (i++ === n) {
        t.entries.delete(kk);
        gone = v;
        break;
      }
    } else {
      // the oldest stamp goes: last use for LRU, fill time for FIFO (the first such in map order)
      const victim = oldest(t, st.size);
      if (victim) t.entries.delete(key_of(victim.vpn, victim.shift));
      else t.entries.delete(-1);
      gone = victim;
    }
  }
  e.stamp = ++t.clock;
  t.entries.set(k, e);
  if (st.policy === "random") t.heap_ok = false; // no records kept: rebuilt if LRU/FIFO come back
  else if (t.heap_ok) heap_push(t, e.stamp, e);
  return gone === e ? undefined : gone;
}

/** lookup without touching the LRU order (FIFO hits) */
export function tlb_peek(t: cpu_tlb, hi: number, lo: number, shifts: number[]): tlb_entry | undefined {
  for (let i = 0; i < shifts.length; i++) {
    const e = t.entries.get(tlb_key(hi, lo, shifts[i]!));
    if (e) return e;
  }
  return undefined;
}

function in_range(e: tlb_entry, start: bigint, end: bigint): boolean {
  const s = BigInt(e.vpn) << BigInt(e.shift);
  const en = s + (1n << BigInt(e.shift));
  return s < end && en > start;
}

/** switch_mm_irqs_off(): load another mm's CR3 on a CPU; non-global entries go (no PCID) */
export function switch_mm(ms: MachineState, cpu: number, mm: number): boolean {
  const t = tlbs(ms).cpus[cpu]!;
  if (t.loaded_mm === mm) return false;
  for (const [k, e] of t.entries) if (!e.global) t.entries.delete(k);
  t.loaded_mm = mm;
  t.flushes++;
  if (ms.trace.on) ms.trace.emit("switch_mm_irqs_off", "arch/x86/mm/tlb.c", `CPU ${cpu}: load the page tables of mm ${mm} into CR3; non-global TLB entries flushed, ${t.entries.size} global kernel entr${t.entries.size === 1 ? "y" : "ies"} kept`, { cpu, mm });
  return true;
}

/** flush_tlb_mm_range(): drop an mm's entries in [start, end) on every CPU running it */
export function flush_tlb_mm_range(ms: MachineState, mm: number, start: bigint, end: bigint): void {
  const st = tlbs(ms);
  let n = 0;
  const P = ms.arch.PAGE_SIZE;
  if (!ms.trace.on && end - start === BigInt(P)) {
    // one base page (reclaim, migration, COW): its entry is found by key, not by scanning the TLB.
    // User mappings are never huge pages in mmlab, so a non-global entry covering it has this size.
    const shift = Math.log2(P);
    const k = key_of(Number(start >> BigInt(shift)), shift);
    for (const t of st.cpus) {
      if (t.loaded_mm !== mm) continue;
      const e = t.entries.get(k);
      if (e && !e.global) t.entries.delete(k);
      t.flushes++;
    }
    return;
  }
  st.cpus.forEach((t) => {
    if (t.loaded_mm !== mm) return;
    for (const [k, e] of t.entries) if (!e.global && in_range(e, start, end)) {
      t.entries.delete(k);
      n++;
    }
    t.flushes++;
  });
  if (ms.trace.on) ms.trace.emit("flush_tlb_mm_range", "arch/x86/mm/tlb.c", `flush ${(end - start) >> 12n} page${end - start === 4096n ? "" : "s"} from 0x${start.toString(16)}: ${n} TLB entr${n === 1 ? "y" : "ies"} dropped`, { start: "0x" + start.toString(16), end: "0x" + end.toString(16), dropped: n });
}

/** flush_tlb_kernel_range(): drop kernel entries in [start, end) on every CPU (an IPI to each) */
export function flush_tlb_kernel_range(ms: MachineState, start: bigint, end: bigint): void {
  if (!ms.tlb) return;
  for (const t of ms.tlb.cpus) {
    for (const [k, e] of t.entries) if (in_range(e, start, end)) t.entries.delete(k);
    t.flushes++;
  }
  if (ms.trace.on) ms.trace.emit("flush_tlb_kernel_range", "arch/x86/mm/tlb.c", `flush kernel 0x${start.toString(16)}–0x${(end - 1n).toString(16)} on every CPU`);
}

/** flush_tlb_all() */
export function flush_tlb_all(ms: MachineState): void {
  if (!ms.tlb) return;
  for (const t of ms.tlb.cpus) {
    t.entries.clear();
    t.flushes++;
  }
}
