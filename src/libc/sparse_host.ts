/**
 * A minimal process for libc tests and demos: sparse byte memory, a program break that starts at a
 * page-aligned heap start, and anonymous mappings placed top-down below `mmap_base` like
 * unmapped_area_topdown() on x86 (mm/mmap.c, Linux 6.12) — no VMAs, page tables or faults. Accessing
 * an address that is neither below the (page-rounded) break nor inside a mapping throws SIGSEGV.
 */
import type { malloc_host } from "./malloc";

export interface sparse_host_options {
  bits: 32 | 64;
  pageSize?: number;
  /** initial break (page aligned); default 0x555555559000 (64-bit PIE) / 0x5655a000 (32-bit PIE) */
  heap_start?: bigint;
  /** mappings are placed top-down below this; default 0x7ffff7c00000 / 0xf7c00000 */
  mmap_base?: bigint;
  /** the break may not pass this (RLIMIT_DATA / the next mapping); default heap_start + 1 GiB (64) / 256 MiB (32) */
  brk_limit?: bigint;
  /** record each system call in `calls` */
  log?: boolean;
}

export class sparse_host_fault extends Error {
  override readonly name = "sparse_host_fault";
  /** the faulting address */
  constructor(readonly addr: bigint) {
    super(`SIGSEGV: access to unmapped address 0x${addr.toString(16)}`);
  }
}

/** sparse memory + brk + top-down mmap, for exercising ptmalloc without a whole process */
export class sparse_host implements malloc_host {
  readonly bits: 32 | 64;
  readonly pageSize: number;
  readonly start_brk: number;
  readonly mmap_base: number;
  brk_limit: number;
  private cur_brk: number;
  /** sorted by start */
  readonly maps: { start: number; end: number }[] = [];
  private readonly pages = new Map<number, Uint8Array>();
  readonly calls: string[] = [];
  private readonly log: boolean;

  /** sets up the empty address space */
  constructor(o: sparse_host_options) {
    this.bits = o.bits;
    this.pageSize = o.pageSize ?? 4096;
    this.start_brk = Number(o.heap_start ?? (o.bits === 64 ? 0x555555559000n : 0x5655a000n));
    this.mmap_base = Number(o.mmap_base ?? (o.bits === 64 ? 0x7ffff7c00000n : 0xf7c00000n));
    this.brk_limit = Number(o.brk_limit ?? BigInt(this.start_brk) + (o.bits === 64 ? 1n << 30n : 1n << 28n));
    this.cur_brk = this.start_brk;
    this.log = o.log ?? false;
  }

  /** the current program break (sbrk(0)) */
  get brk(): bigint {
    return BigInt(this.cur_brk);
  }

  /** sbrk(2) on top of brk(2): page-rounded heap VMA, pages above the new break dropped on shrink */
  sbrk(increment: bigint): bigint | null {
    const old = this.cur_brk;
    const nw = old + Number(increment);
    if (nw < this.start_brk || nw > this.brk_limit || this.overlaps(this.start_brk, this.page_up(nw))) {
      if (this.log) this.calls.push(`sbrk(${increment}) = -1 ENOMEM`);
      return null;
    }
    if (nw < old) this.drop(this.page_up(nw), this.page_up(old));
    this.cur_brk = nw;
    if (this.log && increment !== 0n) this.calls.push(`sbrk(${increment}) = 0x${old.toString(16)}`);
    return BigInt(old);
  }

  /** mmap(NULL, len, RW, PRIVATE|ANONYMOUS): highest free gap below mmap_base (unmapped_area_topdown) */
  mmap(length: bigint): bigint | null {
    const len = this.page_up(Number(length));
    if (len <= 0) return null;
    let end = this.mmap_base;
    for (let i = this.maps.length - 1; i >= -1; i--) {
      const m = this.maps[i];
      const gap_start = m ? Math.max(m.end, this.page_up(this.cur_brk)) : this.page_up(this.cur_brk);
      if (m && m.start >= end) continue;
      if (end - gap_start >= len) {
        const start = end - len;
        this.maps.push({ start, end });
        this.maps.sort((a, b) => a.start - b.start);
        if (this.log) this.calls.push(`mmap(${len}) = 0x${start.toString(16)}`);
        return BigInt(start);
      }
      if (m) end = Math.min(end, m.start);
    }
    if (this.log) this.calls.push(`mmap(${len}) = MAP_FAILED`);
    return null;
  }

  /** munmap(2): may split a mapping */
  munmap(addr: bigint, length: bigint): void {
    const a = Number(addr);
    const e = this.page_up(a + Number(length));
    const out: { start: number; end: number }[] = [];
    for (const m of this.maps) {
      if (m.end <= a || m.start >= e) out.push(m);
      else {
        if (m.start < a) out.push({ start: m.start, end: a });
        if (m.end > e) out.push({ start: e, end: m.end });
      }
    }
    this.maps.length = 0;
    this.maps.push(...out);
    this.drop(a, e);
    if (this.log) this.calls.push(`munmap(0x${a.toString(16)}, ${Number(length)})`);
  }

  /** copy_from_user-like read; unmapped → SIGSEGV */
  read(addr: bigint, len: number): Uint8Array {
    const a = Number(addr);
    this.access(a, len);
    const out = new Uint8Array(len);
    const ps = this.pageSize;
    let done = 0;
    while (done < len) {
      const cur = a + done;
      const pn = Math.floor(cur / ps);
      const off = cur - pn * ps;
      const n = Math.min(len - done, ps - off);
      const pg = this.pages.get(pn);
      if (pg) out.set(pg.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** write into the address space; unmapped → SIGSEGV */
  write(addr: bigint, bytes: Uint8Array): void {
    const a = Number(addr);
    this.access(a, bytes.length);
    const ps = this.pageSize;
    let done = 0;
    while (done < bytes.length) {
      const cur = a + done;
      const pn = Math.floor(cur / ps);
      const off = cur - pn * ps;
      const n = Math.min(bytes.length - done, ps - off);
      const pg = this.page(pn, true)!;
      pg.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  /** fast path of read() for 2/4/8-byte little-endian words (values above 2^53 rounded) */
  read_word(a: number, size: 2 | 4 | 8): number {
    const ps = this.pageSize;
    const pn = Math.floor(a / ps);
    const off = a - pn * ps;
    if (off + size > ps || !(a >= this.start_brk && a + size <= this.page_up(this.cur_brk))) {
      const b = this.read(BigInt(a), size);
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!;
      return v;
    }
    const pg = pn === this.last_pn ? this.last_pg : this.page(pn, false);
    if (!pg) return 0;
    if (size === 2) return pg[off]! | (pg[off + 1]! << 8);
    const lo = (pg[off]! | (pg[off + 1]! << 8) | (pg[off + 2]! << 16) | (pg[off + 3]! << 24)) >>> 0;
    if (size === 4) return lo;
    const hi = (pg[off + 4]! | (pg[off + 5]! << 8) | (pg[off + 6]! << 16) | (pg[off + 7]! << 24)) >>> 0;
    return hi * 4294967296 + lo;
  }

  /** fast path of write() for 2/4/8-byte little-endian words */
  write_word(a: number, size: 2 | 4 | 8, v: number): void {
    const ps = this.pageSize;
    const pn = Math.floor(a / ps);
    const off = a - pn * ps;
    if (off + size > ps || !(a >= this.start_brk && a + size <= this.page_up(this.cur_brk))) {
      const b = new Uint8Array(size);
      let x = v;
      for (let i = 0; i < size; i++) {
        b[i] = x % 256;
        x = Math.floor(x / 256);
      }
      this.write(BigInt(a), b);
      return;
    }
    const pg = pn === this.last_pn && this.last_pg ? this.last_pg : this.page(pn, true)!;
    const lo = v >>> 0;
    pg[off] = lo & 0xff;
    pg[off + 1] = (lo >>> 8) & 0xff;
    if (size === 2) return;
    pg[off + 2] = (lo >>> 16) & 0xff;
    pg[off + 3] = lo >>> 24;
    if (size === 4) return;
    const hi = Math.floor(v / 4294967296) >>> 0;
    pg[off + 4] = hi & 0xff;
    pg[off + 5] = (hi >>> 8) & 0xff;
    pg[off + 6] = (hi >>> 16) & 0xff;
    pg[off + 7] = hi >>> 24;
  }

  /** a deep copy (what fork gives the child, without copy-on-write) */
  clone(): sparse_host {
    const c = new sparse_host({ bits: this.bits, pageSize: this.pageSize, heap_start: BigInt(this.start_brk), mmap_base: BigInt(this.mmap_base), brk_limit: BigInt(this.brk_limit), log: this.log });
    c.cur_brk = this.cur_brk;
    c.maps.push(...this.maps.map((m) => ({ ...m })));
    for (const [pn, pg] of this.pages) c.pages.set(pn, pg.slice());
    return c;
  }

  /** number of pages holding data (touched) */
  get resident_pages(): number {
    return this.pages.size;
  }

  private last_pn = -1;
  private last_pg: Uint8Array | undefined;
  /** page lookup with a one-entry cache (Map lookups of non-Smi keys are slow) */
  private page(pn: number, create: boolean): Uint8Array | undefined {
    let pg = this.pages.get(pn);
    if (!pg && create) {
      pg = new Uint8Array(this.pageSize);
      this.pages.set(pn, pg);
    }
    this.last_pn = pn;
    this.last_pg = pg;
    return pg;
  }
  /** PAGE_ALIGN */
  private page_up(x: number): number {
    return Math.ceil(x / this.pageSize) * this.pageSize;
  }
  /** does [s, e) meet a mapping */
  private overlaps(s: number, e: number): boolean {
    return this.maps.some((m) => m.start < e && m.end > s);
  }
  /** forget the pages of [s, e) (unmapped: zero when mapped again) */
  private drop(s: number, e: number): void {
    this.last_pn = -1;
    this.last_pg = undefined;
    const first = Math.floor(s / this.pageSize);
    const last = Math.ceil(e / this.pageSize);
    if (last - first > this.pages.size) {
      for (const pn of [...this.pages.keys()]) if (pn >= first && pn < last) this.pages.delete(pn);
    } else for (let pn = first; pn < last; pn++) this.pages.delete(pn);
  }

  /** fault unless [a, a+len) is below the break or inside one mapping */
  private access(a: number, len: number): void {
    if (len === 0) return;
    const e = a + len;
    if (a >= this.start_brk && e <= this.page_up(this.cur_brk)) return;
    for (const m of this.maps) if (a >= m.start && e <= m.end) return;
    throw new sparse_host_fault(BigInt(a));
  }
}
