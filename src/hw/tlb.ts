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
  const vpn = shift >= 32 ? hi >>> (shift - 32) : hi * 2 ** (32 - shift) + (lo >>> shift);
  return key_of(vpn, shift);
}

/** look up an address: the page sizes in use are tried smallest first */
export function tlb_lookup(t: cpu_tlb, hi: number, lo: number, shifts: number[]): tlb_entry | undefined {
  for (const s of shifts) {
    const k = tlb_key(hi, lo, s);
    const e = t.entries.get(k);
    if (e) {
      e.stamp = ++t.clock;
      return e;
    }
  }
  return undefined;
}

/** fill after a walk, evicting by the policy when full */
export function tlb_fill(ms: MachineState, t: cpu_tlb, e: tlb_entry): void {
  const st = tlbs(ms);
  const k = key_of(e.vpn, e.shift);
  if (t.entries.has(k)) t.entries.delete(k);
  else if (t.entries.size >= st.size) {
    if (st.policy === "random") {
      const n = ms.rng.below(t.entries.size);
      let i = 0;
      for (const kk of t.entries.keys()) if (i++ === n) {
        t.entries.delete(kk);
        break;
      }
    } else {
      // the oldest stamp goes: last use for LRU, fill time for FIFO
      let victim = -1;
      let old = Infinity;
      for (const [kk, v] of t.entries) if ((v.stamp ?? 0) < old) {
        old = v.stamp ?? 0;
        victim = kk;
      }
      t.entries.delete(victim);
    }
  }
  e.stamp = ++t.clock;
  t.entries.set(k, e);
}

/** lookup without touching the LRU order (FIFO hits) */
export function tlb_peek(t: cpu_tlb, hi: number, lo: number, shifts: number[]): tlb_entry | undefined {
  for (const s of shifts) {
    const e = t.entries.get(tlb_key(hi, lo, s));
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
