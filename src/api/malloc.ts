/**
 * User malloc on a simulated process: glibc 2.39's ptmalloc (src/libc/malloc.ts) given a
 * malloc_host that is the process itself — sbrk moves the process's break (mm/mmap.c brk), mmap and
 * munmap make and remove its anonymous mappings, and every load and store goes through its MMU
 * (a TLB hit is used directly; a miss walks, and a page fault goes to handle_mm_fault, so the first
 * malloc faults a heap page in). One allocator per process; a fork child gets the parent's state
 * (its memory arrives copy-on-write). Results: Allocation (a pointer that knows its process) and
 * HeapState (the heap as a strip of chunks, which bin each free chunk is in, brk, mmapped chunks, and
 * `overhead`: requested vs chunk bytes of the live allocations). In quiet mode a result's labels and
 * heap picture are built when looked at; p.mallocQuiet/p.freeQuiet make the same calls without one.
 */
import { MmError } from "../errors";
import type { MachineState } from "../kernel/machine";
import type { task_struct } from "../kernel/sched";
import type { TraceEvent } from "../kernel/trace";
import { fmtBytes, hex } from "../lib/units";
import { tlbs, type cpu_tlb, type tlb_entry, type tlb_state } from "../hw/tlb";
import { malloc_abort, ptmalloc, type heap_view, type malloc_host, type malloc_saved_state } from "../libc/malloc";
import { do_exit } from "../kernel/exit";
import { user_access } from "../mm/memory";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, do_brk, do_mmap, do_munmap } from "../mm/mmap";
import { contents, frame_data, type frame_buf } from "../mm/page_contents";
import { _PAGE_PRESENT, entry_pfn, entry_read, pt_format_of, pt_lookup, type pt_entry } from "../mm/pgtable";
import { Renderable } from "../render/renderable";
import type { Block, View } from "../render/view";
import type { Process } from "./process";

const TWO32 = 4294967296;

/** a fault taken by libc's own access (a wild pointer in a corrupted heap) */
export class host_fault extends Error {
  override readonly name = "host_fault";
  constructor(
    readonly code: "SIGSEGV" | "ENOMEM",
    readonly addr: bigint,
    readonly why: string,
  ) {
    super(`${code} at ${hex(addr)}: ${why}`);
  }
}

/** the process as glibc sees it: brk/mmap/munmap system calls and its memory through the MMU */
/** slots of process_host's translation cache (a power of two) */
const K_SLOTS = 16;

export class process_host implements malloc_host {
  readonly bits: 32 | 64;
  readonly pageSize: number;
  /** reads walk the page tables without faulting or touching the TLB (checks and renderings) */
  peek = false;
  constructor(
    readonly ms: MachineState,
    readonly task: task_struct,
  ) {
    this.bits = ms.arch.bits === 64 ? 64 : 32;
    this.pageSize = ms.arch.PAGE_SIZE;
  }
  /** sbrk() (misc/sbrk.c) over brk(2) */
  sbrk(increment: bigint): bigint | null {
    const mm = this.task.mm!;
    const old = mm.brk;
    if (increment === 0n) return old;
    const ms = this.ms;
    if (ms.trace.on) ms.trace.emit("sbrk", "misc/sbrk.c", `sbrk(${increment < 0n ? "-" : ""}${hex(increment < 0n ? -increment : increment)}): brk(${hex(old + increment)})`);
    const was = this.k_out();
    const r = do_brk(ms, mm, old + increment);
    this.k_back(was);
    return r === old + increment ? old : null;
  }
  /** mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) */
  mmap(length: bigint): bigint | null {
    const was = this.k_out();
    try {
      return do_mmap(this.ms, this.task.mm!, { len: length, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    } catch (e) {
      if (e instanceof MmError) return null;
      throw e;
    } finally {
      this.k_back(was);
    }
  }
  /** munmap(2) */
  munmap(addr: bigint, length: bigint): void {
    const was = this.k_out();
    do_munmap(this.ms, this.task.mm!, addr, length);
    this.k_back(was);
  }
  /** copy_from_user through the MMU (faults handled); peek mode reads the tables without faulting */
  read(addr: bigint, len: number): Uint8Array {
    if (this.peek) return this.peek_read(addr, len);
    const was = this.k_out();
    const r = user_access(this.ms, this.task, addr, "read", len);
    if (!r.ok) throw new host_fault(r.code ?? "SIGSEGV", r.at ?? addr, r.why ?? "fault");
    this.k_back(was);
    return r.data!;
  }
  /** copy_to_user through the MMU */
  write(addr: bigint, bytes: Uint8Array): void {
    if (this.peek) throw new host_fault("SIGSEGV", addr, "mmlab: a write while inspecting the heap");
    const was = this.k_out();
    const r = user_access(this.ms, this.task, addr, "write", bytes.slice());
    if (!r.ok) throw new host_fault(r.code ?? "SIGSEGV", r.at ?? addr, r.why ?? "fault");
    this.k_back(was);
  }
  // A small direct-mapped cache of TLB entries (page → the TLB's own entry object and its frame
  // buffer), looked up without the TLB's map. It is valid only while nothing else has touched this
  // CPU's TLB: no flush (every PTE change the kernel makes is followed by one), the same mm loaded,
  // the same CPU, and the TLB clock unchanged but for this host's own LRU hits (every fill, which may
  // evict an entry or reuse its object, advances the clock). Otherwise it is dropped whole.
  //
  // Inside one libc call (enter() … leave()) nothing but this host touches the TLB, so the cache is
  // validated once, at enter(), and the bookkeeping of each hit — the TLB's hit counter and, under
  // LRU, the stamp `++clock` the hit gives its entry — is batched: counted here (k_n, and per slot the
  // number of the entry's last hit) and settled before anyone can look (k_settle: at leave(), before a
  // walk or fault or system call, which also drop and re-arm the cache). The TLB then holds exactly
  // what one update per access would have left: hits + n, clock + n, each entry stamped with the
  // clock value of its last hit.
  private k_t: cpu_tlb | undefined;
  /** the machine's TLB state (ms.tlb, created once and never replaced), for its live policy */
  private k_st: tlb_state | undefined;
  private k_gen = -1;
  private k_mm = -1;
  private k_clock = -1;
  private k_cpu = -1;
  private readonly k_vpn = new Float64Array(K_SLOTS).fill(-1);
  private readonly k_e: (tlb_entry | undefined)[] = new Array<tlb_entry | undefined>(K_SLOTS).fill(undefined);
  private readonly k_buf: (frame_buf | undefined)[] = new Array<frame_buf | undefined>(K_SLOTS).fill(undefined);
  /** k_buf[i].u32 (one load less on the hot path) */
  private readonly k_u32: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(K_SLOTS).fill(undefined);
  /** inside a libc call with the cache validated: hits are batched */
  private k_in = false;
  /** the TLB's policy is LRU (hits restamp) */
  private k_lru = false;
  /** hits batched since k_clock0 */
  private k_n = 0;
  /** the TLB clock when the batch started */
  private k_clock0 = 0;
  /** per slot: the batch number (1…k_n) of its entry's last hit, 0 if none (used under LRU) */
  private readonly k_last = new Float64Array(K_SLOTS);
  /** the slots with a nonzero k_last, as bits */
  private k_mask = 0;
  /** per slot: 1 if its entry allows a store without a walk (rw and dirty; a PTE change that takes
   *  either away is followed by a flush, which drops the cache) */
  private readonly k_w = new Uint8Array(K_SLOTS);
  /** forget every cached translation */
  private k_drop(): void {
    this.k_t = undefined;
    this.k_vpn.fill(-1);
  }
  /** enter() calls not yet left */
  private k_depth = 0;
  /** malloc_host.enter: a libc call starts (the facade also brackets a call and its follow-up reads) */
  enter(): void {
    if (this.k_depth++ !== 0) return;
    this.k_settle();
    this.k_arm();
  }
  /** malloc_host.leave: the call is over */
  leave(): void {
    if (this.k_depth === 0 || --this.k_depth !== 0) return;
    this.k_settle();
    this.k_in = false;
  }
  /** validate the cache for the rest of a call (k_in), or leave batching off: peek mode, another page
   *  size, another mm loaded on the CPU (the first access takes the slow path, which switches) */
  private k_arm(): void {
    this.k_in = false;
    if (this.peek || this.pageSize !== 4096) return;
    const st = tlbs(this.ms);
    const cpu = this.task.cpu;
    const tt = st.cpus[cpu]!;
    if (tt.loaded_mm !== this.task.mm!.id) return;
    if (tt !== this.k_t || tt.clock !== this.k_clock || tt.flushes !== this.k_gen || tt.loaded_mm !== this.k_mm || cpu !== this.k_cpu) {
      this.k_vpn.fill(-1);
      this.k_t = tt;
      this.k_st = st;
      this.k_gen = tt.flushes;
      this.k_mm = tt.loaded_mm;
      this.k_clock = tt.clock;
      this.k_cpu = cpu;
    }
    this.k_lru = st.policy === "lru";
    this.k_clock0 = tt.clock;
    this.k_n = 0;
    this.k_in = true;
  }
  /** write the batched hits into the TLB */
  private k_settle(): void {
    const n = this.k_n;
    if (n === 0) return;
    const t = this.k_t!;
    t.hits += n;
    const c0 = this.k_clock0;
    const last = this.k_last;
    const lru = this.k_lru;
    for (let m = this.k_mask; m !== 0; m &= m - 1) {
      const i = 31 - Math.clz32(m & -m);
      if (lru) this.k_e[i]!.stamp = c0 + last[i]!;
      last[i] = 0;
    }
    this.k_mask = 0;
    if (lru) this.k_clock = t.clock = c0 + n;
    this.k_clock0 = t.clock;
    this.k_n = 0;
  }
  /** before something that changes the TLB (a walk, a fault, a system call): settle, drop the cache */
  private k_out(): boolean {
    const was = this.k_in;
    this.k_settle();
    this.k_drop();
    this.k_in = false;
    return was;
  }
  /** after it: inside a call, arm the cache again */
  private k_back(was: boolean): void {
    if (was) this.k_arm();
  }
  /** inside a call, page vpn is not cached in slot i: cache the TLB's entry if it allows the access
   *  (false: not a hit — the slow path walks, maybe faults) */
  private k_install(vpn: number, i: number, write: boolean): boolean {
    const e = this.k_t!.entries.get(vpn);
    if (!e || !e.user || e.shift !== 12 || (write && !(e.rw && e.dirty))) return false;
    const l = this.k_last[i]!;
    if (l !== 0) {
      if (this.k_lru) this.k_e[i]!.stamp = this.k_clock0 + l; // the evicted slot's entry: its last hit in this batch
      this.k_last[i] = 0;
      this.k_mask &= ~(1 << i);
    }
    this.k_vpn[i] = vpn;
    this.k_e[i] = e;
    this.k_w[i] = e.rw && e.dirty ? 1 : 0;
    const b = contents(this.ms).frames.get(e.pfn);
    this.k_buf[i] = b;
    this.k_u32[i] = b?.u32;
    return true;
  }
  /** the TLB entry of page vpn when it allows the access (a hit: counted, LRU-stamped), else undefined */
  private hit(vpn: number, write: boolean): tlb_entry | undefined {
    const t = this.k_t;
    const i = vpn & (K_SLOTS - 1);
    let e: tlb_entry | undefined;
    if (t !== undefined && this.k_vpn[i] === vpn && t.clock === this.k_clock && t.flushes === this.k_gen && t.loaded_mm === this.k_mm && this.task.cpu === this.k_cpu) {
      e = this.k_e[i]!;
    } else {
      const st = tlbs(this.ms);
      const tt = st.cpus[this.task.cpu]!;
      if (tt.loaded_mm !== this.task.mm!.id) return undefined;
      e = tt.entries.get(vpn);
      if (!e || !e.user || e.shift !== 12) return undefined;
      if (tt !== t || tt.clock !== this.k_clock || tt.flushes !== this.k_gen || tt.loaded_mm !== this.k_mm || this.task.cpu !== this.k_cpu) {
        this.k_vpn.fill(-1);
        this.k_t = tt;
        this.k_st = st;
        this.k_gen = tt.flushes;
        this.k_mm = tt.loaded_mm;
        this.k_clock = tt.clock;
        this.k_cpu = this.task.cpu;
      }
      this.k_vpn[i] = vpn;
      this.k_e[i] = e;
      this.k_w[i] = e.rw && e.dirty ? 1 : 0;
      this.k_buf[i] = undefined;
      this.k_u32[i] = undefined;
    }
    if (write && !(e.rw && e.dirty)) return undefined;
    const tt = this.k_t!;
    tt.hits++;
    if (this.k_st!.policy === "lru") this.k_clock = e.stamp = ++tt.clock;
    return e;
  }
  /** the frame buffer behind a cached page (undefined: all zeros, unless create) */
  private buf(vpn: number, e: tlb_entry, create: boolean): frame_buf | undefined {
    const i = vpn & (K_SLOTS - 1);
    const c = this.k_buf[i];
    if (c) return c;
    const b = create ? frame_data(this.ms, e.pfn, true) : contents(this.ms).frames.get(e.pfn);
    this.k_buf[i] = b;
    this.k_u32[i] = b?.u32;
    return b;
  }
  /** a word load: a TLB hit reads the frame directly (what the CPU does), a miss takes the slow path */
  read_word(addr: number, size: 2 | 4 | 8): number {
    if (this.k_in) {
      // inside a libc call, a cached page, an aligned word of a frame with contents: the hot path,
      // small enough for V8 to inline into libc's loads
      const vpn = Math.floor(addr / 4096);
      const i = vpn & (K_SLOTS - 1);
      const off = addr - vpn * 4096;
      const w = this.k_u32[i];
      if (this.k_vpn[i] === vpn && (off & (size - 1)) === 0 && w !== undefined) {
        this.k_last[i] = ++this.k_n;
        this.k_mask |= 1 << i;
        const j = off >> 2;
        return size === 8 ? w[j + 1]! * TWO32 + w[j]! : size === 4 ? w[j]! : (w[j]! >>> ((off & 2) << 3)) & 0xffff;
      }
    }
    return this.read_word_other(addr, size);
  }
  /** read_word's other cases: a page not cached yet, a frame without contents, an unaligned word, a
   *  load outside a libc call (validated per access), a TLB miss */
  private read_word_other(addr: number, size: 2 | 4 | 8): number {
    if (this.k_in) {
      // inside a libc call: the cache was validated at enter(), the hit is batched
      const vpn = Math.floor(addr / 4096);
      const i = vpn & (K_SLOTS - 1);
      const off = addr - vpn * 4096;
      if (off + size <= 4096 && (this.k_vpn[i] === vpn || this.k_install(vpn, i, false))) {
        this.k_last[i] = ++this.k_n;
        this.k_mask |= 1 << i;
        let b = this.k_buf[i];
        if (b === undefined) {
          b = contents(this.ms).frames.get(this.k_e[i]!.pfn);
          if (b === undefined) return 0; // a frame that was never written reads as zeros
          this.k_buf[i] = b;
          this.k_u32[i] = b.u32;
        }
        if ((off & 3) === 0) {
          if (size === 8) return b.u32[(off >> 2) + 1]! * TWO32 + b.u32[off >> 2]!;
          if (size === 4) return b.u32[off >> 2]!;
        }
        let v = 0;
        for (let j = size - 1; j >= 0; j--) v = v * 256 + b.u8[off + j]!;
        return v;
      }
      return this.read_word_slow(addr, size);
    }
    const vpn = Math.floor(addr / 4096);
    const off = addr - vpn * 4096;
    if (off + size <= 4096 && !this.peek && this.pageSize === 4096) {
      const i = vpn & (K_SLOTS - 1);
      const t = this.k_t;
      let e: tlb_entry | undefined;
      let b: frame_buf | undefined;
      if (t !== undefined && this.k_vpn[i] === vpn && t.clock === this.k_clock && t.flushes === this.k_gen && t.loaded_mm === this.k_mm && this.task.cpu === this.k_cpu) {
        // a cached hit (inline copy of hit())
        e = this.k_e[i]!;
        t.hits++;
        if (this.k_st!.policy === "lru") this.k_clock = e.stamp = ++t.clock;
        b = this.k_buf[i];
      } else e = this.hit(vpn, false);
      if (e) {
        if (b === undefined) b = this.buf(vpn, e, false);
        if (!b) return 0;
        if ((off & 3) === 0) {
          if (size === 4) return b.u32[off >> 2]!;
          if (size === 8) return b.u32[(off >> 2) + 1]! * TWO32 + b.u32[off >> 2]!;
        }
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = v * 256 + b.u8[off + i]!;
        return v;
      }
    }
    return this.read_word_slow(addr, size);
  }
  /** a word load that is not a TLB hit: copy_from_user (a walk, maybe a fault) */
  private read_word_slow(addr: number, size: 2 | 4 | 8): number {
    const b = this.read(BigInt(addr), size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!;
    return v;
  }
  /** a word store, little-endian, value < 2^53 */
  write_word(addr: number, size: 2 | 4 | 8, value: number): void {
    if (this.k_in) {
      // the hot path, as in read_word: a cached page whose entry allows the store (rw, dirty)
      const vpn = Math.floor(addr / 4096);
      const i = vpn & (K_SLOTS - 1);
      const off = addr - vpn * 4096;
      const w = this.k_u32[i];
      if (this.k_vpn[i] === vpn && this.k_w[i] === 1 && (off & (size - 1)) === 0 && w !== undefined) {
        this.k_last[i] = ++this.k_n;
        this.k_mask |= 1 << i;
        const j = off >> 2;
        if (size === 2) {
          const sh = (off & 2) << 3; // a uint16_t in the low or high half of its 32-bit word
          w[j] = (w[j]! & ~(0xffff << sh)) | ((value & 0xffff) << sh);
        } else {
          w[j] = value >>> 0;
          if (size === 8) w[j + 1] = Math.floor(value / TWO32) >>> 0;
        }
        return;
      }
    }
    this.write_word_other(addr, size, value);
  }
  /** write_word's other cases (see read_word_other) */
  private write_word_other(addr: number, size: 2 | 4 | 8, value: number): void {
    if (this.k_in) {
      // inside a libc call: the cache was validated at enter(), the hit is batched
      const vpn = Math.floor(addr / 4096);
      const i = vpn & (K_SLOTS - 1);
      const off = addr - vpn * 4096;
      // (a cached page's k_w may be stale at 0: the entry got its dirty bit by a walk outside a call)
      if (off + size <= 4096 && (this.k_vpn[i] === vpn ? (this.k_w[i] = this.k_e[i]!.rw && this.k_e[i]!.dirty ? 1 : 0) === 1 : this.k_install(vpn, i, true))) {
        this.k_last[i] = ++this.k_n;
        this.k_mask |= 1 << i;
        let b = this.k_buf[i];
        if (b === undefined) {
          const pfn = this.k_e[i]!.pfn;
          b = contents(this.ms).frames.get(pfn);
          if (b === undefined) {
            if (value === 0) return; // zeros into a frame that reads as zeros
            b = frame_data(this.ms, pfn, true);
          }
          this.k_buf[i] = b;
          this.k_u32[i] = b.u32;
        }
        if ((off & 3) === 0 && size !== 2) {
          b.u32[off >> 2] = value >>> 0;
          if (size === 8) b.u32[(off >> 2) + 1] = Math.floor(value / TWO32) >>> 0;
          return;
        }
        let v = value;
        for (let j = 0; j < size; j++) {
          b.u8[off + j] = v % 256;
          v = Math.floor(v / 256);
        }
        return;
      }
      return this.write_word_slow(addr, size, value);
    }
    const vpn = Math.floor(addr / 4096);
    const off = addr - vpn * 4096;
    if (off + size <= 4096 && !this.peek && this.pageSize === 4096) {
      const i = vpn & (K_SLOTS - 1);
      const t = this.k_t;
      let e: tlb_entry | undefined;
      let b: frame_buf | undefined;
      if (t !== undefined && this.k_vpn[i] === vpn && t.clock === this.k_clock && t.flushes === this.k_gen && t.loaded_mm === this.k_mm && this.task.cpu === this.k_cpu && this.k_e[i]!.rw && this.k_e[i]!.dirty) {
        // a cached hit (inline copy of hit())
        e = this.k_e[i]!;
        t.hits++;
        if (this.k_st!.policy === "lru") this.k_clock = e.stamp = ++t.clock;
        b = this.k_buf[i];
      } else e = this.hit(vpn, true);
      if (e) {
        if (b === undefined) b = this.buf(vpn, e, false);
        if (!b) {
          if (value === 0) return; // zeros into a frame that reads as zeros
          b = this.buf(vpn, e, true)!;
        }
        if ((off & 3) === 0 && size !== 2) {
          b.u32[off >> 2] = value >>> 0;
          if (size === 8) b.u32[(off >> 2) + 1] = Math.floor(value / TWO32) >>> 0;
          return;
        }
        let v = value;
        for (let i = 0; i < size; i++) {
          b.u8[off + i] = v % 256;
          v = Math.floor(v / 256);
        }
        return;
      }
    }
    this.write_word_slow(addr, size, value);
  }
  /** a word store that is not a TLB hit: copy_to_user (a walk, maybe a fault) */
  private write_word_slow(addr: number, size: 2 | 4 | 8, value: number): void {
    const bytes = new Uint8Array(size);
    let v = value;
    for (let i = 0; i < size; i++) {
      bytes[i] = v % 256;
      v = Math.floor(v / 256);
    }
    this.write(BigInt(addr), bytes);
  }
  /** peek mode's page → frame buffer cache (null: not present or all zeros), cleared per session */
  readonly peek_pages = new Map<number, frame_buf | null>();
  /** the frame buffer behind a page, by the page tables (peek mode) */
  private peek_page(vpn: number): frame_buf | null {
    let b = this.peek_pages.get(vpn);
    if (b !== undefined) return b;
    const ms = this.ms;
    const fmt = pt_format_of(ms.arch);
    const e: pt_entry = { lo: 0, hi: 0 };
    b = null;
    const slot = pt_lookup(ms, this.task.mm!.pgd, BigInt(vpn) * BigInt(this.pageSize));
    if (slot) {
      entry_read(ms, fmt, slot.table, slot.idx, e);
      if (e.lo & _PAGE_PRESENT) b = frame_data(ms, entry_pfn(fmt, e.lo, e.hi)) ?? null;
    }
    this.peek_pages.set(vpn, b);
    return b;
  }
  /** read through the page tables as a debugger would: no fault, no TLB, absent pages read as zeros */
  private peek_read(addr: bigint, len: number): Uint8Array {
    if (len <= 8) {
      const a = Number(addr);
      const vpn = Math.floor(a / this.pageSize);
      const off = a - vpn * this.pageSize;
      if (off + len <= this.pageSize) {
        const b = this.peek_page(vpn);
        return b ? b.u8.slice(off, off + len) : new Uint8Array(len);
      }
    }
    const out = new Uint8Array(len);
    const ms = this.ms;
    const fmt = pt_format_of(ms.arch);
    const P = BigInt(this.pageSize);
    const e: pt_entry = { lo: 0, hi: 0 };
    let done = 0;
    while (done < len) {
      const at = addr + BigInt(done);
      const off = Number(at % P);
      const n = Math.min(len - done, this.pageSize - off);
      const slot = pt_lookup(ms, this.task.mm!.pgd, at);
      if (slot) {
        entry_read(ms, fmt, slot.table, slot.idx, e);
        if (e.lo & _PAGE_PRESENT) {
          const b = frame_data(ms, entry_pfn(fmt, e.lo, e.hi));
          if (b) out.set(b.u8.subarray(off, off + n), done);
        }
      }
      done += n;
    }
    return out;
  }
}

interface libc_state {
  libc: ptmalloc;
  host: process_host;
}
/**
 * Each process's libc, by PID, on the machine state (so m.snapshot() branches it too: clone_for saves
 * every allocator and the clone restores it, bound to the cloned task, the first time it is used).
 */
export class libc_registry {
  readonly live = new Map<number, libc_state & { task: task_struct }>();
  readonly saved = new Map<number, malloc_saved_state>();
  /** snapshot hook (src/kernel/snapshot.ts) */
  clone_for(_ms: MachineState): libc_registry {
    const c = new libc_registry();
    for (const [pid, s] of this.saved) c.saved.set(pid, s);
    for (const [pid, s] of this.live) if (s.task.mm) c.saved.set(pid, s.libc.save());
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** the processes' glibc malloc state, see src/api/malloc.ts */
    libc?: libc_registry;
  }
}

const libcs = {
  get(ms: MachineState, task: task_struct): libc_state | undefined {
    const reg = ms.libc;
    if (!reg) return undefined;
    const s = reg.live.get(task.pid);
    if (s && s.task === task) return s;
    const saved = reg.saved.get(task.pid);
    if (!saved || task.mm === null) return undefined;
    // a snapshot's clone: the allocator restored over the cloned process's memory
    const host = new process_host(ms, task);
    const ns = { libc: ptmalloc.restore(host, saved, { trace: tracer(ms) }), host, task };
    reg.saved.delete(task.pid);
    reg.live.set(task.pid, ns);
    return ns;
  },
  set(ms: MachineState, task: task_struct, s: libc_state): void {
    const reg = (ms.libc ??= new libc_registry());
    for (const [pid, x] of reg.live) if (!x.task.mm) reg.live.delete(pid); // exited processes
    reg.live.set(task.pid, { ...s, task });
  },
};

function tracer(ms: MachineState) {
  return (fn: string, file: string, text: string) => ms.trace.emit(fn, file, text);
}

/** the process's glibc (made at its first malloc: ptmalloc_init) */
export function libc_of(ms: MachineState, task: task_struct, create = true): libc_state | undefined {
  let s = libcs.get(ms, task);
  if (!s && create) {
    if (ms.arch.name === "toy") throw new MmError("EINVAL", "malloc: the toy geometry has no libc; boot an x86 or x86_64 machine");
    const host = new process_host(ms, task);
    s = { libc: new ptmalloc(host, { trace: tracer(ms) }), host };
    libcs.set(ms, task, s);
  }
  return s;
}

/** fork(): the child's libc is the parent's state over the child's memory (ptmalloc.fork) */
export function libc_fork(ms: MachineState, parent: task_struct, child: task_struct): void {
  const p = libcs.get(ms, parent);
  if (!p) return;
  const host = new process_host(ms, child);
  libcs.set(ms, child, { libc: p.libc.fork(host, { trace: tracer(ms) }), host });
}

/** the heap as the inspector sees it, read without faulting */
export function heap_snapshot(ms: MachineState, task: task_struct): heap_view | undefined {
  const s = libc_of(ms, task, false);
  if (!s) return undefined;
  s.host.peek = true;
  s.host.peek_pages.clear();
  const was = ms.trace.on;
  ms.trace.on = false;
  try {
    return s.libc.inspect();
  } finally {
    s.host.peek = false;
    ms.trace.on = was;
  }
}

/** every live process's heap passes glibc's consistency checks (for m.check()) */
export function validate_malloc(ms: MachineState): string | undefined {
  for (const t of ms.procs?.tasks.values() ?? []) {
    const s = libcs.get(ms, t);
    if (!s || !t.mm) continue;
    s.host.peek = true;
    s.host.peek_pages.clear();
    const was = ms.trace.on;
    ms.trace.on = false;
    let errs: string[];
    try {
      errs = s.libc.check();
    } finally {
      s.host.peek = false;
      ms.trace.on = was;
    }
    if (errs.length) return `pid ${t.pid} heap: ${errs[0]}`;
  }
  return undefined;
}

/**
 * Run one libc call for the facade: glibc's abort (malloc_printerr) kills the process with SIGABRT,
 * as on Linux; a wild access in libc kills it with SIGSEGV; both throw MmError. The allocator rolled
 * back its own writes and system calls before the signal.
 */
export function libc_call<T>(ms: MachineState, task: task_struct, kill: (sig: string, why: string) => void, fn: (l: ptmalloc) => T): T {
  const l = libc_for(ms, task);
  try {
    return fn(l);
  } catch (e) {
    throw libc_failure(ms, task, e, kill);
  }
}

/** the process's allocator for a facade call, tracing as the machine does */
function libc_for(ms: MachineState, task: task_struct): ptmalloc {
  const l = libc_of(ms, task)!.libc;
  l.trace_on = ms.trace.on;
  return l;
}

/** what a throw from inside libc becomes (see libc_call): the MmError after the signal, or `e` itself */
function libc_failure(ms: MachineState, task: task_struct, e: unknown, kill: (sig: string, why: string) => void = (sig, why) => do_exit(ms, task, sig, why)): unknown {
  if (e instanceof malloc_abort) {
    const trace = ms.trace.take();
    kill("SIGABRT", e.message);
    return new MmError("SIGABRT", `pid ${task.pid} (${task.comm}): ${e.message} — glibc called abort(); the process was killed by SIGABRT and its memory went back to the allocator`, { pid: task.pid, glibc: e.message, trace });
  }
  if (e instanceof host_fault) {
    const trace = ms.trace.take();
    if (e.code === "ENOMEM") return new MmError("ENOMEM", `out of memory handling a page fault at ${hex(e.addr)} inside malloc`, { trace });
    kill("SIGSEGV", `segfault at ${e.addr.toString(16)}: ${e.why}`);
    return new MmError("SIGSEGV", `pid ${task.pid} (${task.comm}) killed inside malloc: ${e.why} (address ${hex(e.addr)})`, { pid: task.pid, addr: e.addr, trace });
  }
  return e;
}

/** a facade call starts: drop events nothing took (Process.begin(), without a new array when there are none) */
function begin_call(ms: MachineState): void {
  const tr = ms.trace;
  if (tr.events.length !== 0 || tr.depth !== 0) tr.take();
}

/** how a result's call reads ("malloc(100)"), kept as numbers and built when looked at: formatting a
 *  hex address costs more than the call in a million-step experiment */
const enum op {
  malloc,
  calloc,
  realloc,
  free,
  realloc_free,
  heap,
}
function call_text(o: op, a: bigint, n: number, m: number): string {
  switch (o) {
    case op.malloc:
      return `malloc(${n})`;
    case op.calloc:
      return `calloc(${n}, ${m})`;
    case op.realloc:
      return `realloc(${hex(a)}, ${n})`;
    case op.free:
      return `free(${hex(a)})`;
    case op.realloc_free:
      return `realloc(${hex(a)}, 0) freed it`;
    case op.heap:
      return "heap";
  }
}

/** the events of the call just made (a shared empty list when there are none: quiet mode) */
function take_trace(ms: MachineState): TraceEvent[] {
  const tr = ms.trace;
  return tr.events.length === 0 && tr.depth === 0 ? NO_EVENTS : tr.take();
}
const NO_EVENTS: TraceEvent[] = Object.freeze([]) as unknown as TraceEvent[];

/**
 * One malloc/calloc/realloc for the facade, as an Allocation (NULL: ENOMEM). The call and the two
 * reads of the new chunk's header (malloc_usable_size, chunk_is_mmapped) share one host bracket
 * (process_host.enter/leave), so their TLB hits are batched together.
 */
function allocate(proc: Process, task: task_struct, o: op, a: bigint, n: number, m: number): Allocation | HeapState {
  const ms = proc.machine.ms;
  begin_call(ms);
  const s = libc_of(ms, task)!;
  const l = s.libc;
  l.trace_on = ms.trace.on;
  const h = s.host;
  let p: bigint;
  let usable = 0;
  let mmapped = false;
  h.enter();
  try {
    p = o === op.malloc ? l.malloc(n) : o === op.calloc ? l.calloc(n, m) : l.realloc(a, n);
    if (p !== 0n) {
      usable = l.malloc_usable_size(p);
      mmapped = l.chunk_is_mmapped(p);
    }
  } catch (e) {
    h.leave();
    throw libc_failure(ms, task, e);
  }
  h.leave();
  if (o === op.realloc && n === 0 && a !== 0n) return new HeapState(proc, op.realloc_free, a, take_trace(ms), task, heap_snapshot(ms, task));
  const trace = take_trace(ms);
  if (p === 0n) throw new MmError("ENOMEM", `${call_text(o, a, n, m)} returned NULL (errno ENOMEM): neither brk nor mmap could provide the memory`, { trace });
  return new Allocation(proc, p, o === op.calloc ? n * m : n, usable, mmapped, trace, task, o, a, n, m);
}

/** p.malloc(n) (n validated by the Process) */
export function libc_malloc(proc: Process, task: task_struct, n: number): Allocation {
  return allocate(proc, task, op.malloc, 0n, n, 0) as Allocation;
}

/** p.calloc(n, size) */
export function libc_calloc(proc: Process, task: task_struct, n: number, size: number): Allocation {
  return allocate(proc, task, op.calloc, 0n, n, size) as Allocation;
}

/** p.realloc(ptr, n): an Allocation, or the HeapState of realloc(ptr, 0), which frees */
export function libc_realloc(proc: Process, task: task_struct, ptr: bigint, n: number): Allocation | HeapState {
  return allocate(proc, task, op.realloc, ptr, n, 0);
}

/** p.free(ptr) */
export function libc_free(proc: Process, task: task_struct, ptr: bigint): HeapState {
  const ms = proc.machine.ms;
  begin_call(ms);
  const l = libc_for(ms, task);
  try {
    l.free(ptr);
  } catch (e) {
    throw libc_failure(ms, task, e);
  }
  return new HeapState(proc, op.free, ptr, take_trace(ms), task, ms.trace.on ? heap_snapshot(ms, task) : LAZY);
}

/** p.heap(): the heap now */
export function libc_heap(proc: Process, task: task_struct): HeapState {
  return new HeapState(proc, op.heap, 0n, [], task, heap_snapshot(proc.machine.ms, task));
}

/** p.mallocQuiet(n): the same call as p.malloc(n), returning only the pointer (0n for NULL, errno
 *  ENOMEM, as C's malloc) — no result object, no trace kept */
export function libc_malloc_quiet(proc: Process, task: task_struct, n: number): bigint {
  const ms = proc.machine.ms;
  begin_call(ms);
  const l = libc_of(ms, task)!.libc;
  l.trace_on = false; // its events would be dropped: do not build their text
  try {
    return l.malloc(n);
  } catch (e) {
    throw libc_failure(ms, task, e);
  } finally {
    if (ms.trace.events.length !== 0) ms.trace.take();
  }
}

/** p.freeQuiet(ptr): the same call as p.free(ptr), without a result */
export function libc_free_quiet(proc: Process, task: task_struct, ptr: bigint): void {
  const ms = proc.machine.ms;
  begin_call(ms);
  const l = libc_of(ms, task)!.libc;
  l.trace_on = false;
  try {
    l.free(ptr);
  } catch (e) {
    throw libc_failure(ms, task, e);
  } finally {
    if (ms.trace.events.length !== 0) ms.trace.take();
  }
}

// ---------------------------------------------------------------- results

function heapBlocks(ms: MachineState, h: heap_view | undefined, highlight?: bigint): Block[] {
  if (!h || !h.initialized) return [{ kind: "text", text: "the heap is empty: malloc has not called sbrk yet", tone: "muted" }];
  const W = h.bits === 64 ? 8 : 4;
  const segs: { start: bigint; len: bigint; tone: "used" | "free" | "muted" | "accent" | "warn"; label?: string }[] = [];
  const rows: (string | { text: string; tone: "used" | "free" | "muted" | "accent" })[][] = [];
  for (const c of h.chunks) {
    const mine = highlight !== undefined && c.mem === highlight;
    const tone = mine ? "accent" : c.state === "allocated" ? "used" : c.state === "free" ? "free" : "muted";
    segs.push({ start: c.addr, len: BigInt(c.size || W * 2), tone, label: `${c.state} ${hex(c.size)}` });
    if (rows.length < 40) rows.push([{ text: hex(c.addr), tone }, hex(c.mem), hex(c.size), { text: mine ? `${c.state} ← this one` : c.state, tone }, c.bin ?? (c.state === "allocated" ? "in use" : ""), c.prev_inuse ? "1" : "0"]);
  }
  const end = h.top_end > h.brk ? h.top_end : h.brk;
  const blocks: Block[] = [
    { kind: "bar", title: `the heap (sbrk area), ${hex(h.sbrk_base)}–${hex(end)}`, base: h.sbrk_base, total: end - h.sbrk_base || 1n, unit: "byte", segments: segs, marks: [{ at: h.brk, label: "brk" }], format: "hex", legend: [{ tone: "used", label: "in use" }, { tone: "free", label: "free (in a bin)" }, { tone: "muted", label: "top chunk" }, ...(highlight !== undefined ? [{ tone: "accent" as const, label: "this allocation" }] : [])] },
    { kind: "table", columns: ["chunk", "user ptr", "size", "state", "bin", "P"], align: ["l", "l", "r", "l", "l", "r"], rows, omitted: Math.max(0, h.chunks.length - rows.length), caption: `chunk header = prev_size + size (${2 * W} bytes); P = PREV_INUSE bit of size` },
  ];
  if (h.mmapped.length)
    blocks.push({ kind: "table", columns: ["mapping", "mapping size", "chunk", "user ptr", "chunk size"], align: ["l", "r", "l", "l", "r"], rows: h.mmapped.slice(0, 20).map((m) => [{ text: `${hex(m.mapping)}-${hex(m.mapping + BigInt(m.mapping_size))}`, tone: m.mem === highlight ? "accent" : "plain" }, fmtBytes(m.mapping_size), hex(m.addr), hex(m.mem), hex(m.size)]), omitted: Math.max(0, h.mmapped.length - 20), caption: "chunks with their own anonymous mapping (IS_MMAPPED): munmap'ed on free" });
  void ms;
  return blocks;
}

function heapKv(h: heap_view | undefined): Block {
  if (!h) return { kind: "text", text: "no malloc yet in this process", tone: "muted" };
  return { kind: "kv", items: [
    { label: "brk", value: hex(h.brk), note: `heap start ${hex(h.sbrk_base)}; ${fmtBytes(h.system_mem)} from sbrk` },
    { label: "top chunk", value: h.initialized ? `${hex(h.top)} (${fmtBytes(h.top_size)})` : "none yet" },
    { label: "mmap threshold", value: fmtBytes(h.mmap_threshold), note: "chunk sizes at or above it get their own mapping (raised when such a chunk is freed)" },
    { label: "trim threshold", value: fmtBytes(h.trim_threshold), note: "free() gives the top back to the kernel (sbrk < 0) when the top exceeds it" },
    { label: "mmapped chunks", value: `${h.n_mmaps} (${fmtBytes(h.mmapped_mem)})` },
  ] };
}

function traceBlock(trace: TraceEvent[]): Block[] {
  return trace.length ? [{ kind: "trace", events: trace.slice(0, 80), omitted: Math.max(0, trace.length - 80) }] : [];
}

/** a result whose heap picture is still to be taken (see heap_result) */
const LAZY: unique symbol = Symbol("lazy heap");

/**
 * A result with the heap after its call: the picture is taken at once when tracing, or on first look
 * in quiet (bulk) mode, where a walk of the heap per call would cost more than the call.
 */
abstract class heap_result extends Renderable {
  /** @internal */
  constructor(
    readonly process: Process,
    /** the task at the time of the call (the picture of a process that died since is its last) */
    private readonly _task: task_struct,
    private _heap: heap_view | undefined | typeof LAZY,
  ) {
    super();
  }
  /** the heap picture (taken now if it was left for later) */
  protected get heapView(): heap_view | undefined {
    if (this._heap === LAZY) this._heap = heap_snapshot(this.process.machine.ms, this._task);
    return this._heap;
  }
  get machine() {
    return this.process.machine;
  }
}

/** p.malloc()/calloc()/realloc(): a pointer in a process's memory */
export class Allocation extends heap_result {
  /** @internal */
  constructor(
    process: Process,
    /** the user pointer */
    readonly addr: bigint,
    /** the size asked for */
    readonly size: number,
    /** malloc_usable_size() */
    readonly usable: number,
    /** true if the chunk has its own mapping (IS_MMAPPED) */
    readonly mmapped: boolean,
    readonly trace: TraceEvent[],
    task: task_struct,
    private readonly _op: op,
    private readonly _a: bigint,
    private readonly _n: number,
    private readonly _m: number,
  ) {
    super(process, task, process.machine.ms.trace.on ? heap_snapshot(process.machine.ms, task) : LAZY);
  }
  /** "malloc(100)", "calloc(4, 25)", "realloc(0x…, 200)" */
  get call(): string {
    return call_text(this._op, this._a, this._n, this._m);
  }
  private get heap(): heap_view | undefined {
    return this.heapView;
  }
  /** the chunk header (user pointer − 2·SIZE_SZ) */
  get chunk(): bigint {
    return this.addr - BigInt(this.process.machine.ms.arch.bits === 64 ? 16 : 8);
  }
  free() {
    return this.process.free(this);
  }
  write(data: string | Uint8Array | number[], offset: number | bigint = 0) {
    return this.process.write(this.addr + BigInt(offset), data);
  }
  read(len: number | string = 16, offset: number | bigint = 0) {
    return this.process.read(this.addr + BigInt(offset), len);
  }
  translate(opts: Parameters<Process["translate"]>[1] = {}) {
    return this.process.translate(this.addr, opts);
  }
  realloc(size: number | bigint | string) {
    return this.process.realloc(this, size);
  }
  view(): View {
    const ms = this.process.machine.ms;
    const h = this.heap;
    const m = this.mmapped ? h?.mmapped.find((x) => x.mem === this.addr) : undefined;
    const faults = this.trace.filter((e) => e.fn === "do_anonymous_page" || e.fn === "wp_page_copy" || e.fn === "wp_page_reuse").length;
    const sys = this.trace.filter((e) => e.fn === "sbrk" || e.fn === "do_mmap" || e.fn === "do_vmi_munmap").map((e) => e.text);
    return {
      title: `${this.call} = ${hex(this.addr)} (pid ${this.process.pid})`,
      summary: `Allocation ${hex(this.addr)} ${this.call} ${this.mmapped ? "mmapped" : "heap"} pid ${this.process.pid}`,
      blocks: [
        { kind: "kv", items: [
          { label: "pointer", value: hex(this.addr), note: `chunk header at ${hex(this.chunk)}` },
          { label: "usable", value: `${this.usable} bytes`, note: `asked ${this.size}` },
          { label: "where", value: this.mmapped ? `its own mapping ${m ? `${hex(m.mapping)}-${hex(m.mapping + BigInt(m.mapping_size))} (${fmtBytes(m.mapping_size)})` : ""}` : "the brk heap", note: this.mmapped ? `chunk size ≥ mmap threshold (${fmtBytes(h?.mmap_threshold ?? 0)})` : `below the mmap threshold (${fmtBytes(h?.mmap_threshold ?? 0)})` },
          { label: "system calls", value: sys.length ? sys.join("; ") : "none (served from memory malloc already had)" },
          { label: "page faults", value: String(faults), note: "taken by malloc's own stores (headers, tcache) through the MMU" },
        ] },
        heapKv(h),
        ...heapBlocks(ms, h, this.addr),
        ...traceBlock(this.trace),
      ],
    };
  }
  toJSON() {
    return { pid: this.process.pid, addr: hex(this.addr), size: this.size, usable: this.usable, mmapped: this.mmapped, call: this.call, trace: this.trace };
  }
}

/** p.heap(), p.free(): the heap of a process after a call */
export class HeapState extends heap_result {
  /** @internal */
  constructor(
    process: Process,
    private readonly _op: op,
    private readonly _a: bigint,
    readonly trace: TraceEvent[],
    task: task_struct,
    heap: heap_view | undefined | typeof LAZY,
  ) {
    super(process, task, heap);
  }
  /** what the call was: "heap", "free(0x…)", "realloc(0x…, 0) freed it" */
  get what(): string {
    return call_text(this._op, this._a, 0, 0);
  }
  /** the heap after the call */
  get heap(): heap_view | undefined {
    return this.heapView;
  }
  /** the program break after the call */
  get brk(): bigint | undefined {
    return this.heap?.brk;
  }
  /**
   * Internal fragmentation of the live allocations (malloc, calloc, realloc; mmapped ones included,
   * the tcache_perthread_struct glibc allocates for itself not): bytes asked for, bytes of their
   * chunks (chunksize: request2size of the request on the heap, e.g. malloc(100) → 112 on x86-64; the
   * page-rounded mapping for an mmapped chunk), and how many. All 0 before the first malloc.
   */
  get overhead(): { requested: number; chunkBytes: number; allocations: number } {
    const o = this.heap?.overhead;
    return o ? { requested: o.requested, chunkBytes: o.chunkBytes, allocations: o.allocations } : { requested: 0, chunkBytes: 0, allocations: 0 };
  }
  view(): View {
    const h = this.heap;
    const ms = this.process.machine.ms;
    const nfree = h?.chunks.filter((c) => c.state === "free").length ?? 0;
    const nused = h?.chunks.filter((c) => c.state === "allocated").length ?? 0;
    return {
      title: `${this.what} (pid ${this.process.pid})`,
      summary: `${this.what}: ${nused} chunks in use, ${nfree} free, brk ${h ? hex(h.brk) : "?"}${h?.n_mmaps ? `, ${h.n_mmaps} mmapped` : ""}`,
      blocks: [heapKv(h), ...heapBlocks(ms, h), ...traceBlock(this.trace)],
    };
  }
  toJSON() {
    return { pid: this.process.pid, what: this.what, brk: this.heap ? hex(this.heap.brk) : undefined, chunks: this.heap?.chunks.map((c) => ({ ...c, addr: hex(c.addr), mem: hex(c.mem) })), trace: this.trace };
  }
}
