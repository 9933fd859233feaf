/**
 * glibc 2.39 ptmalloc2, main arena only (single-threaded process): malloc, free, calloc, realloc,
 * malloc_usable_size, mallopt, malloc_trim, mallinfo2 — with chunk headers, bin links (safe-linked
 * tcache/fastbin pointers) and the tcache_perthread_struct written into the process's memory through a
 * `malloc_host`, exactly where glibc keeps them, in glibc's order of attempts: tcache → fastbin (stashing
 * into tcache) → smallbin (stashing) → large request: malloc_consolidate → unsorted bin (last_remainder
 * rule, exact fits cached, binning in sorted large bins) → large bin best fit → binmap → top → sysmalloc
 * (mmap at ≥ mmap_threshold, else sbrk(nb + top_pad + MINSIZE − top), page-rounded).
 *
 * Sources: the function bodies follow bminor/glibc malloc/malloc.c as stored in the search index (a
 * 2.33-era tree: hooks and __morecore still present), updated to 2.39 where 2.39 differs in behaviour a
 * program can see — tcache_key (random per process in 2.34+; a fixed option here) instead of the tcache
 * pointer as the double-free mark, checked_request2size returning 0 (2.35), sysmalloc_mmap /
 * sysmalloc_mmap_fallback split out of sysmalloc (2.35), _int_free split into _int_free_merge_chunk /
 * _int_free_create_chunk / _int_free_maybe_consolidate (2.39), calloc without a tcache path (added in
 * 2.41). Verified against the real allocator: test/libc/glibc-oracle.test.ts runs one sequence of 1,657
 * calls (scripted cases plus a seeded random workload) on this machine's glibc (Debian 2.36, x86-64 and,
 * with gcc-multilib, i386) and compares every pointer, break movement and mallinfo2() exactly.
 *
 * The arena (`struct malloc_state main_arena`) lives in libc's .data, which the model does not map: its
 * pointer-sized fields (fastbinsY, top, last_remainder, bins) are kept here at glibc's offsets from a
 * configurable `main_arena` address, so a free chunk's fd/bk read from memory show "main_arena+96" like
 * the real thing. Not modelled: non-main arenas (threads; a NON_MAIN_ARENA bit is ignored),
 * memalign/aligned_alloc/valloc/pvalloc, THP/hugetlb tunables (off by default in 2.39), MALLOC_CHECK_,
 * perturb bytes, memory tagging, glibc's assert()s (only malloc_printerr checks are kept), the
 * "[anon: glibc: malloc]" VMA name (tunable glibc.mem.decorate_maps, default off).
 *
 * Addresses and sizes cross the API as bigint. Internally they are JS numbers: user-space addresses
 * are below 2^47 on x86-64 and 2^32 on i386, so they are exact; a corrupted size word above 2^53 is
 * rounded, which only affects which misuse check fires.
 *
 * Any misuse glibc detects (malloc_printerr → abort) throws `malloc_abort` with glibc's exact message,
 * and every public call is atomic: memory writes, arena fields and sbrk/mmap calls made before the
 * abort (or a host fault such as SIGSEGV) are rolled back; munmap/mremap are always a call's last
 * action, so they never need undoing. (Pages a rolled-back call faulted in stay resident.)
 */

const FILE = "malloc/malloc.c";
const TWO32 = 4294967296;

/** What a process gives its libc: the brk/mmap system calls and byte access to its memory. */
export interface malloc_host {
  readonly bits: 32 | 64;
  readonly pageSize: number;
  /** sbrk(2): move the break by `increment`, return the old break; null on failure (ENOMEM). */
  sbrk(increment: bigint): bigint | null;
  /** mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS): page-aligned, or null. */
  mmap(length: bigint): bigint | null;
  munmap(addr: bigint, length: bigint): void;
  /** mremap(addr, old, new, MREMAP_MAYMOVE); optional — without it realloc of an mmapped chunk is
   *  emulated (shrink: munmap the tail; grow: mmap + copy + munmap). */
  mremap?(addr: bigint, old_length: bigint, new_length: bigint): bigint | null;
  /** madvise(addr, length, MADV_DONTNEED); optional, used by malloc_trim only. */
  madvise_dontneed?(addr: bigint, length: bigint): void;
  read(addr: bigint, len: number): Uint8Array;
  write(addr: bigint, bytes: Uint8Array): void;
  /** optional fast path: little-endian 2/4/8-byte load at a number address (user addresses are < 2^53);
   *  an 8-byte value above 2^53 may be rounded. Must behave exactly like read(). */
  read_word?(addr: number, size: 2 | 4 | 8): number;
  /** optional fast path: little-endian store of a value < 2^53; must behave exactly like write(). */
  write_word?(addr: number, size: 2 | 4 | 8, value: number): void;
  /** optional: a public libc call starts. Until leave(), nothing but this libc (through this host)
   *  touches the process, so a host may batch per-access bookkeeping (process_host batches the TLB's
   *  hit counts and LRU stamps of the word accesses). Pairs nest: only the outermost one counts (a
   *  caller may bracket several calls). */
  enter?(): void;
  /** optional: the call is over (also after a throw): settle whatever enter() allowed to batch. */
  leave?(): void;
}

/** trace(fn, file, text): one event per glibc step, `fn` a glibc function name. */
export type malloc_trace = (fn: string, file: string, text: string) => void;

export interface malloc_options {
  trace?: malloc_trace;
  /** Address of `main_arena` in libc's .data (illustrative default; the model does not map libc). */
  main_arena?: bigint;
  /** `tcache_key` (glibc 2.34+ takes it from getrandom at startup; fixed here for determinism). */
  tcache_key?: bigint;
}

/** malloc_printerr(): glibc prints the message and calls abort(); the facade turns this into SIGABRT. */
export class malloc_abort extends Error {
  override readonly name = "malloc_abort";
  /** malloc_printerr's message, e.g. "free(): invalid pointer" */
  constructor(message: string) {
    super(message);
  }
}

/** mallopt() parameter numbers from malloc.h */
export const M_MXFAST = 1;
export const M_TRIM_THRESHOLD = -1;
export const M_TOP_PAD = -2;
export const M_MMAP_THRESHOLD = -3;
export const M_MMAP_MAX = -4;

/** Compile-time constants of malloc.c for one word size (sysdeps/generic + i386 malloc-alignment.h). */
export interface malloc_geometry {
  readonly bits: 32 | 64;
  readonly SIZE_SZ: number;
  readonly MALLOC_ALIGNMENT: number;
  readonly CHUNK_HDR_SZ: number;
  readonly MIN_CHUNK_SIZE: number;
  readonly MINSIZE: number;
  readonly SMALLBIN_CORRECTION: number;
  readonly MIN_LARGE_SIZE: number;
  readonly MAX_FAST_SIZE: number;
  readonly NFASTBINS: number;
  readonly DEFAULT_MXFAST: number;
  readonly DEFAULT_MMAP_THRESHOLD_MAX: number;
  readonly PTRDIFF_MAX: number;
  readonly MAX_TCACHE_SIZE: number;
  readonly TCACHE_STRUCT_SIZE: number;
}

export const NBINS = 128;
export const NSMALLBINS = 64;
export const BINMAPSIZE = 4;
export const TCACHE_MAX_BINS = 64;
export const TCACHE_FILL_COUNT = 7;
export const DEFAULT_TOP_PAD = 128 * 1024; // sysdeps/generic/malloc-machine.h
export const DEFAULT_MMAP_THRESHOLD = 128 * 1024;
export const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
export const DEFAULT_MMAP_MAX = 65536;
export const FASTBIN_CONSOLIDATION_THRESHOLD = 65536;
export const MMAP_AS_MORECORE_SIZE = 1024 * 1024;
const MAX_ITERS = 10000;
const PREV_INUSE = 1;
const IS_MMAPPED = 2;
const NON_MAIN_ARENA = 4;
const MALLOC_ALIGN_MASK = 15;

/** The constants malloc.c derives from SIZE_SZ and MALLOC_ALIGNMENT (both 16 on i386 and x86-64). */
export function malloc_geometry(bits: 32 | 64): malloc_geometry {
  const SIZE_SZ = bits / 8;
  const MALLOC_ALIGNMENT = 16;
  const CHUNK_HDR_SZ = 2 * SIZE_SZ;
  const MIN_CHUNK_SIZE = 4 * SIZE_SZ; // offsetof (struct malloc_chunk, fd_nextsize)
  const MINSIZE = align_up(MIN_CHUNK_SIZE, MALLOC_ALIGNMENT);
  const SMALLBIN_CORRECTION = MALLOC_ALIGNMENT > CHUNK_HDR_SZ ? 1 : 0;
  const MAX_FAST_SIZE = (80 * SIZE_SZ) / 4;
  const r2s = (req: number) =>
    req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE ? MINSIZE : down16(req + SIZE_SZ + MALLOC_ALIGN_MASK);
  const fbi = (sz: number) => Math.floor(sz / (SIZE_SZ === 8 ? 16 : 8)) - 2;
  return {
    bits,
    SIZE_SZ,
    MALLOC_ALIGNMENT,
    CHUNK_HDR_SZ,
    MIN_CHUNK_SIZE,
    MINSIZE,
    SMALLBIN_CORRECTION,
    MIN_LARGE_SIZE: (NSMALLBINS - SMALLBIN_CORRECTION) * 16,
    MAX_FAST_SIZE,
    NFASTBINS: fbi(r2s(MAX_FAST_SIZE)) + 1,
    DEFAULT_MXFAST: (64 * SIZE_SZ) / 4,
    DEFAULT_MMAP_THRESHOLD_MAX: bits === 32 ? 512 * 1024 : 4 * 1024 * 1024 * 8,
    PTRDIFF_MAX: bits === 32 ? 2 ** 31 - 1 : 2 ** 63 - 1,
    MAX_TCACHE_SIZE: (TCACHE_MAX_BINS - 1) * 16 + MINSIZE - SIZE_SZ, // tidx2usize (63)
    TCACHE_STRUCT_SIZE: 2 * TCACHE_MAX_BINS + SIZE_SZ * TCACHE_MAX_BINS, // uint16 counts + entries
  };
}

function align_up(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
function align_down(x: number, a: number): number {
  return Math.floor(x / a) * a;
}
function down16(x: number): number {
  return x - (x & 15);
}
function hx(n: number): string {
  return "0x" + n.toString(16);
}
/** XOR of two non-negative integers below 2^53 (JS bitwise ops are 32-bit). */
function xor53(a: number, b: number): number {
  const ah = Math.floor(a / TWO32);
  const bh = Math.floor(b / TWO32);
  return ((ah ^ bh) >>> 0) * TWO32 + (((a >>> 0) ^ (b >>> 0)) >>> 0);
}
function to_num(v: bigint | number): number {
  return typeof v === "bigint" ? Number(v) : v;
}
// bigint ↔ number through a BigUint64Array: in Node 20 `BigInt(n)` and `Number(b)` are runtime calls
// that cost more than a whole tcache hit; a typed-array store and two 32-bit loads do not
const U64 = new BigUint64Array(1);
const U64_32 = new Uint32Array(U64.buffer);
const LO = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1; // little-endian host: low half first
const HI = 1 - LO;
/** the bigints u64_of made last, direct-mapped by 16-byte granule: malloc hands the same pointers
 *  out again and again (tcache is LIFO), and a bigint is an immutable value, so one can be reused
 *  instead of allocated (and later collected) per call */
const BIG_SLOTS = 4096;
const big_num = new Float64Array(BIG_SLOTS).fill(-1);
const big_val: bigint[] = new Array<bigint>(BIG_SLOTS).fill(0n);
/** BigInt(n) for an integer 0 ≤ n < 2^53 (a user pointer) */
function u64_of(n: number): bigint {
  const i = ((n / 16) >>> 0) & (BIG_SLOTS - 1);
  if (big_num[i] === n) return big_val[i]!;
  U64_32[LO] = n >>> 0;
  U64_32[HI] = (n / TWO32) >>> 0;
  const b = U64[0]!;
  big_num[i] = n;
  big_val[i] = b;
  return b;
}
/** Number(BigInt.asUintN(64, b)) — rounded to the nearest double above 2^53, like Number() */
function num_of_u64(b: bigint): number {
  U64[0] = b; // the store wraps modulo 2^64, as BigInt.asUintN(64, b)
  return U64_32[HI]! * TWO32 + U64_32[LO]!; // one rounding of the exact sum: Number()'s result
}

/** request2size (malloc.c): request bytes → chunk size. */
export function request2size(req: number | bigint, bits: 32 | 64): number {
  const g = malloc_geometry(bits);
  const r = to_num(req);
  return r + g.SIZE_SZ + MALLOC_ALIGN_MASK < g.MINSIZE ? g.MINSIZE : down16(r + g.SIZE_SZ + MALLOC_ALIGN_MASK);
}

/** smallbin_index / largebin_index_64 / largebin_index_32_big / bin_index (malloc.c). */
export function bin_index(sz: number, bits: 32 | 64): number {
  const g = malloc_geometry(bits);
  if (sz < g.MIN_LARGE_SIZE) return Math.floor(sz / 16) + g.SMALLBIN_CORRECTION;
  return largebin_index(sz, bits);
}
/** largebin_index (malloc.c): largebin_index_64 on 64-bit, largebin_index_32_big on i386 (MALLOC_ALIGNMENT 16). */
export function largebin_index(sz: number, bits: 32 | 64): number {
  const s6 = Math.floor(sz / 64);
  if (bits === 64 ? s6 <= 48 : s6 <= 45) return (bits === 64 ? 48 : 49) + s6;
  const s9 = Math.floor(sz / 512);
  if (s9 <= 20) return 91 + s9;
  const s12 = Math.floor(sz / 4096);
  if (s12 <= 10) return 110 + s12;
  const s15 = Math.floor(sz / 32768);
  if (s15 <= 4) return 119 + s15;
  const s18 = Math.floor(sz / 262144);
  if (s18 <= 2) return 124 + s18;
  return 126;
}

/** One chunk as the inspector sees it. */
export interface chunk_info {
  addr: bigint; // chunk header
  mem: bigint; // user pointer (chunk2mem)
  size: number; // chunksize
  prev_inuse: boolean;
  is_mmapped: boolean;
  state: "allocated" | "free" | "top" | "fencepost";
  /** tcache[i] | fastbin[i] | unsorted | smallbin[i] | largebin[i] | top | null (allocated) */
  bin: string | null;
}
export interface mmapped_chunk_info {
  mapping: bigint; // start of the anonymous mapping
  mapping_size: number;
  addr: bigint; // chunk header
  mem: bigint;
  size: number; // chunksize (mapping size minus the front correction)
}
export interface heap_view {
  bits: 32 | 64;
  initialized: boolean;
  sbrk_base: bigint;
  /** end of the memory malloc owns from sbrk: top + chunksize(top) (the break, unless someone moved it) */
  top_end: bigint;
  /** the program break now, from sbrk(0) */
  brk: bigint;
  top: bigint;
  top_size: number;
  system_mem: number;
  chunks: chunk_info[];
  mmapped: mmapped_chunk_info[];
  tcache: bigint; // tcache_perthread_struct (user pointer), 0 before the first call
  tcache_counts: number[];
  mmap_threshold: number;
  trim_threshold: number;
  top_pad: number;
  n_mmaps: number;
  mmapped_mem: number;
  main_arena: bigint;
  /** every non-empty bin, its chunk headers in the order malloc will take them (tcache/fastbin: head
   *  first, LIFO; unsorted/small/large: from bin->bk, the oldest first) */
  bins: bin_list[];
  /** lists or chunks the walk could not follow (a corrupted heap); empty normally */
  walk_errors: string[];
  /** internal fragmentation of the live user allocations (see ptmalloc.overhead()) */
  overhead: malloc_overhead;
}
/** ptmalloc.overhead(): what the live allocations asked for against what their chunks take */
export interface malloc_overhead {
  /** bytes asked for (malloc's argument; calloc's n × size; realloc's new size) */
  requested: number;
  /** Σ chunksize of their chunks (headers and padding included; an mmapped chunk's whole mapping
   *  but for i386's alignment correction) */
  chunkBytes: number;
  /** how many (mmapped ones included) */
  allocations: number;
}
export interface bin_list {
  name: string; // tcache[i] | fastbin[i] | unsorted | smallbin[i] | largebin[i]
  kind: "tcache" | "fastbin" | "unsorted" | "smallbin" | "largebin";
  index: number;
  chunks: bigint[];
}
export interface mallinfo2 {
  arena: number;
  ordblks: number;
  smblks: number;
  hblks: number;
  hblkhd: number;
  usmblks: number;
  fsmblks: number;
  uordblks: number;
  fordblks: number;
  keepcost: number;
}

/** ptmalloc.save(): plain data (bigint/number/arrays), safe to structuredClone */
export interface malloc_saved_state {
  bits: 32 | 64;
  main_arena: bigint;
  tcache_key: bigint;
  arena_words: number[];
  scalars: scalar_state;
  mmapped: [number, number, number][];
  segments: [number, number][];
  /** model: live user allocations as [mem, bytes requested] (absent in states saved before it existed) */
  requested?: [number, number][];
}

export interface scalar_state {
  flags: number;
  have_fastchunks: boolean;
  binmap: number[];
  system_mem: number;
  max_system_mem: number;
  trim_threshold: number;
  top_pad: number;
  mmap_threshold: number;
  n_mmaps: number;
  n_mmaps_max: number;
  max_n_mmaps: number;
  no_dyn_threshold: boolean;
  mmapped_mem: number;
  max_mmapped_mem: number;
  sbrk_base: number;
  max_fast: number;
  tcache: number;
  errno: number;
}


const NONCONTIGUOUS_BIT = 2;

/**
 * model bookkeeping, not glibc: user pointer → bytes requested, for ptmalloc.overhead(). Open
 * addressing over typed arrays (linear probing, Fibonacci hashing of the 16-byte granule, deletion by
 * backward shift): a Map with non-Smi number keys costs as much as the whole tcache path.
 */
class request_table {
  private keys = new Float64Array(64); // 0: empty (no user pointer is NULL)
  private vals = new Float64Array(64);
  private shift = 26; // 32 − log2(capacity)
  size = 0;
  /** home slot of a key */
  private home(k: number): number {
    return Math.imul((k / 16) >>> 0, 0x9e3779b1) >>> this.shift;
  }
  /** slot holding k, or −1 */
  private find(k: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let i = this.home(k); ; i = (i + 1) & mask) {
      const x = keys[i]!;
      if (x === k) return i;
      if (x === 0) return -1;
    }
  }
  get(k: number): number | undefined {
    const i = this.find(k);
    return i < 0 ? undefined : this.vals[i]!;
  }
  set(k: number, v: number): void {
    const keys = this.keys;
    const mask = keys.length - 1;
    let i = this.home(k);
    for (;;) {
      const x = keys[i]!;
      if (x === k) {
        this.vals[i] = v;
        return;
      }
      if (x === 0) break;
      i = (i + 1) & mask;
    }
    keys[i] = k;
    this.vals[i] = v;
    if (++this.size * 2 > keys.length) this.grow();
  }
  delete(k: number): boolean {
    let i = this.find(k);
    if (i < 0) return false;
    const keys = this.keys;
    const vals = this.vals;
    const mask = keys.length - 1;
    // backward shift: pull later members of the probe run into the hole unless their home lies
    // cyclically in (hole, their slot]
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const h = this.home(keys[j]!);
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!stays) {
        keys[i] = keys[j]!;
        vals[i] = vals[j]!;
        i = j;
      }
    }
    keys[i] = 0;
    this.size--;
    return true;
  }
  /** [key, value] pairs, by key */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== 0) out.push([this.keys[i]!, this.vals[i]!]);
    return out.sort((a, b) => a[0] - b[0]);
  }
  private grow(): void {
    const ok = this.keys;
    const ov = this.vals;
    this.keys = new Float64Array(ok.length * 2);
    this.vals = new Float64Array(ok.length * 2);
    this.shift--;
    this.size = 0;
    for (let i = 0; i < ok.length; i++) if (ok[i] !== 0) this.set(ok[i]!, ov[i]!);
  }
}

/**
 * The main arena (`main_arena` + `mp_` + the thread's tcache) of one process. Method names are glibc's
 * public entry points; internal methods are named after the glibc function they mirror.
 */
export class ptmalloc {
  readonly g: malloc_geometry;
  readonly bits: 32 | 64;
  private readonly W: number;
  private readonly MINSIZE: number;
  private readonly HDR: number;
  private readonly pagesize: number;
  private readonly tr: malloc_trace | undefined;
  readonly main_arena: number;
  private readonly tcache_key: number;
  // offsets inside struct malloc_state
  private readonly off_fastbins: number;
  private readonly off_top: number;
  private readonly off_last_remainder: number;
  private readonly off_bins: number;
  private readonly arena_end: number; // main_arena + offset of binmap (end of the word-array fields)
  /** the pointer-sized fields of main_arena (fastbinsY, top, last_remainder, bins), by word offset */
  private readonly arena_words: Float64Array;

  // struct malloc_state scalars and struct malloc_par mp_ (snapshotted per call for rollback)
  private flags = 0;
  private have_fastchunks = false;
  private binmap = [0, 0, 0, 0];
  private system_mem = 0;
  private max_system_mem = 0;
  private trim_threshold = DEFAULT_TRIM_THRESHOLD;
  private top_pad = DEFAULT_TOP_PAD;
  private mmap_threshold = DEFAULT_MMAP_THRESHOLD;
  private n_mmaps = 0;
  private n_mmaps_max = DEFAULT_MMAP_MAX;
  private max_n_mmaps = 0;
  private no_dyn_threshold = false;
  private mmapped_mem = 0;
  private max_mmapped_mem = 0;
  private sbrk_base = 0;
  private max_fast = 0; // global_max_fast
  private tcache = 0; // static __thread tcache_perthread_struct *tcache
  /** errno after the last call (ENOMEM = 12 when a call returned NULL for lack of memory). */
  errno = 0;

  /** model bookkeeping, not glibc state: live mmapped chunks (mem → mapping) and sbrk segments */
  private readonly mmapped = new Map<number, { block: number; total: number }>();
  private readonly segments: { start: number; end: number }[] = [];
  /** model bookkeeping: the bytes asked for, by user pointer, of every live allocation a public
   *  malloc/calloc/realloc returned (glibc keeps only the rounded chunk size); see overhead() */
  private readonly requested = new request_table();

  /** model: the current public call journals its changes */
  private undo = false;
  /** model: begin() was called for the current outermost call (end() is due; commit() clears only `undo`) */
  private begun = false;
  /** model: the journal, as (address, old word) pairs: a negative address is a uint16 store, a NaN
   *  address an undo action (the pair's second number indexes `log_fn`). A typed array, reused across
   *  calls: no number boxing per journaled store. */
  private log = new Float64Array(256);
  private readonly log_fn: (() => void)[] = [];
  /** model: numbers used in `log`, actions used in `log_fn` */
  private ulen = 0;
  private flen = 0;
  /** model: the scalars at the start of the current outermost call, for rollback (reused) */
  private readonly snap: scalar_state = {
    flags: 0, have_fastchunks: false, binmap: [0, 0, 0, 0], system_mem: 0, max_system_mem: 0, trim_threshold: 0,
    top_pad: 0, mmap_threshold: 0, n_mmaps: 0, n_mmaps_max: 0, max_n_mmaps: 0, no_dyn_threshold: false,
    mmapped_mem: 0, max_mmapped_mem: 0, sbrk_base: 0, max_fast: 0, tcache: 0, errno: 0,
  };
  /** model: 2^bits, the (uintptr_t) wrap-around point of `(uintptr_t) p > (uintptr_t) -size` */
  private readonly addr_space: number;
  /** model: problems met while walking lists for inspect()/check()/mallinfo2() */
  private walk_errors: string[] = [];
  private readonly fast_rd: malloc_host["read_word"];
  private readonly fast_wr: malloc_host["write_word"];
  private readonly buf8 = new Uint8Array(8);

  /** model: emit trace events (a caller with tracing off clears it: building the text costs more than the allocator) */
  trace_on = true;

  /** ptmalloc_init + malloc_init_state (malloc.c / arena.c). */
  constructor(
    readonly host: malloc_host,
    options: malloc_options = {},
  ) {
    this.bits = host.bits;
    this.g = malloc_geometry(host.bits);
    this.W = this.g.SIZE_SZ;
    this.MINSIZE = this.g.MINSIZE;
    this.HDR = this.g.CHUNK_HDR_SZ;
    this.pagesize = host.pageSize;
    this.tr = options.trace;
    this.addr_space = 2 ** host.bits;
    this.fast_rd = host.read_word;
    this.fast_wr = host.write_word;
    this.main_arena = Number(options.main_arena ?? (this.bits === 64 ? 0x7ffff7e19c80n : 0xf7fa2780n));
    this.tcache_key = Number(options.tcache_key ?? (this.bits === 64 ? 0x5f0d3c2a91e4b7n : 0x91e4b7c3n));
    const W = this.W;
    // mutex, flags, have_fastchunks (3 ints), then pointer-aligned fastbinsY
    this.off_fastbins = align_up(12, W);
    this.off_top = this.off_fastbins + this.g.NFASTBINS * W;
    this.off_last_remainder = this.off_top + W;
    this.off_bins = this.off_last_remainder + W;
    const off_binmap = this.off_bins + (NBINS * 2 - 2) * W;
    this.arena_end = this.main_arena + off_binmap;
    this.arena_words = new Float64Array(off_binmap / W);
    // malloc_init_state (&main_arena)
    for (let i = 1; i < NBINS; i++) {
      const b = this.bin_at(i);
      this.arena_words[(b + 2 * W - this.main_arena) / W] = b;
      this.arena_words[(b + 3 * W - this.main_arena) / W] = b;
    }
    this.max_fast = this.set_max_fast(this.g.DEFAULT_MXFAST);
    this.arena_words[this.off_top / W] = this.bin_at(1); // initial_top
  }

  // ------------------------------------------------------------------ public entry points

  /** __libc_malloc: tcache first, then _int_malloc. Returns the user pointer or 0n (errno ENOMEM). */
  malloc(bytes: number | bigint): bigint {
    const b = to_num(bytes);
    if (this.undo) return u64_of(this.note_request(this.__libc_malloc(b, false), b)); // nested: the outer call journals
    // atomic() inlined (no closure per call: this is the hot path), with the journal started late:
    // a tcache hit needs none (see __libc_malloc)
    const h = this.host;
    if (h.enter) h.enter();
    let v: number;
    try {
      v = this.__libc_malloc(b, true);
    } catch (e) {
      if (this.begun) this.rollback();
      throw e;
    } finally {
      if (this.begun) this.end();
      if (h.leave) h.leave();
    }
    if (v !== 0) this.requested.set(v, b);
    return u64_of(v);
  }
  /** __libc_free */
  free(mem: number | bigint): void {
    const m = this.to_ptr(mem);
    if (this.undo) {
      this.__libc_free(m, false);
      this.forget_request(m);
      return;
    }
    const h = this.host;
    if (h.enter) h.enter();
    try {
      this.__libc_free(m, true); // starts the journal itself unless the chunk goes to the tcache
    } catch (e) {
      if (this.begun) this.rollback();
      throw e;
    } finally {
      if (this.begun) this.end();
      if (h.leave) h.leave();
    }
    this.requested.delete(m);
  }
  /** __libc_calloc (no tcache path in 2.39; clears only memory not fresh from sbrk). */
  calloc(n: number | bigint, elem_size: number | bigint): bigint {
    return this.atomic(() => {
      const v = this.__libc_calloc(n, elem_size);
      return u64_of(this.note_request(v, v === 0 ? 0 : Number(BigInt(n) * BigInt(elem_size))));
    });
  }
  /** __libc_realloc */
  realloc(mem: number | bigint, bytes: number | bigint): bigint {
    return this.atomic(() => {
      const old = this.to_ptr(mem);
      const b = to_num(bytes);
      const v = this.__libc_realloc(old, b);
      // realloc (p, 0) frees p; a NULL result otherwise leaves p allocated (ENOMEM)
      if (v !== 0 || (b === 0 && old !== 0)) this.forget_request(old);
      return u64_of(this.note_request(v, b));
    });
  }
  /**
   * model: internal fragmentation of the live allocations made through malloc/calloc/realloc (mmapped
   * ones included; the tcache_perthread_struct, which no caller asked for, is not one): the bytes
   * asked for, the bytes of their chunks (chunksize, read from each chunk's header: request2size of
   * the request for a heap chunk, the page-rounded mapping for an mmapped one) and how many.
   */
  overhead(): malloc_overhead {
    let requested = 0;
    let chunkBytes = 0;
    for (const [mem, bytes] of this.requested.entries()) {
      requested += bytes;
      chunkBytes += this.chunksize_of(this.try_rd(mem - this.HDR + this.W) ?? 0);
    }
    return { requested, chunkBytes, allocations: this.requested.size };
  }
  /** model: remember what a live allocation asked for (undone with the journaled call it is part of) */
  private note_request(mem: number, bytes: number): number {
    if (mem === 0) return 0;
    const old = this.requested.get(mem);
    this.requested.set(mem, bytes);
    if (this.undo) this.on_undo(() => (old === undefined ? this.requested.delete(mem) : this.requested.set(mem, old)));
    return mem;
  }
  /** model: a live allocation was freed (or moved by realloc) */
  private forget_request(mem: number): void {
    const old = this.requested.get(mem);
    if (old === undefined) return;
    this.requested.delete(mem);
    if (this.undo) this.on_undo(() => this.requested.set(mem, old));
  }
  /** chunk_is_mmapped(mem2chunk(mem)): does this allocation have its own mapping? */
  chunk_is_mmapped(mem: number | bigint): boolean {
    const m = this.to_ptr(mem);
    if (m === 0) return false;
    return (this.rd(m - this.HDR + this.W) & IS_MMAPPED) !== 0;
  }
  /** __malloc_usable_size → musable */
  malloc_usable_size(mem: number | bigint): number {
    const m = this.to_ptr(mem);
    if (m === 0) return 0;
    const p = m - this.HDR;
    const sz = this.rd(p + this.W);
    const size = this.chunksize_of(sz);
    if (sz & IS_MMAPPED) return size - this.HDR;
    if (this.inuse(p)) return size - this.W;
    return 0;
  }
  /** __libc_mallopt for M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX (do_set_*). Returns 1 or 0. */
  mallopt(param: number, value: number): number {
    return this.atomic(() => {
      this.malloc_consolidate(); // __libc_mallopt consolidates first
      switch (param) {
        case M_MXFAST:
          if (value < 0 || value > this.g.MAX_FAST_SIZE) return 0;
          this.max_fast = this.set_max_fast(value);
          return 1;
        case M_TRIM_THRESHOLD:
          this.trim_threshold = value;
          this.no_dyn_threshold = true;
          return 1;
        case M_TOP_PAD:
          this.top_pad = value;
          this.no_dyn_threshold = true;
          return 1;
        case M_MMAP_THRESHOLD:
          if (value > this.g.DEFAULT_MMAP_THRESHOLD_MAX) return 0;
          this.mmap_threshold = value;
          this.no_dyn_threshold = true;
          return 1;
        case M_MMAP_MAX:
          this.n_mmaps_max = value;
          this.no_dyn_threshold = true;
          return 1;
        default:
          return 0;
      }
    });
  }
  /** __malloc_trim → mtrim: consolidate, MADV_DONTNEED whole free pages in bins, systrim(pad). */
  malloc_trim(pad: number): number {
    return this.atomic(() => this.mtrim(pad));
  }
  /** __libc_mallinfo2 → int_mallinfo (main arena). */
  mallinfo2(): mallinfo2 {
    this.walk_errors = [];
    const m: mallinfo2 = { arena: 0, ordblks: 0, smblks: 0, hblks: 0, hblkhd: 0, usmblks: 0, fsmblks: 0, uordblks: 0, fordblks: 0, keepcost: 0 };
    let avail = this.chunksize(this.top);
    let nblocks = 1;
    let nfast = 0;
    let fastavail = 0;
    for (let i = 0; i < this.g.NFASTBINS; i++)
      for (const p of this.fastbin_chunks(i)) {
        nfast++;
        fastavail += this.chunksize(p);
      }
    avail += fastavail;
    for (let i = 1; i < NBINS; i++)
      for (const p of this.bin_chunks(i)) {
        nblocks++;
        avail += this.chunksize(p);
      }
    m.smblks = nfast;
    m.ordblks = nblocks;
    m.fordblks = avail;
    m.uordblks = this.system_mem - avail;
    m.arena = this.system_mem;
    m.fsmblks = fastavail;
    m.hblks = this.n_mmaps;
    m.hblkhd = this.mmapped_mem;
    m.keepcost = this.chunksize(this.top);
    return m;
  }

  /** model: a pointer argument as an address: negative values wrap like (uintptr_t) casts */
  private to_ptr(p: number | bigint): number {
    if (typeof p === "bigint") {
      // (uintptr_t) p: its low `bits` bits (through the BigUint64Array: no BigInt runtime call)
      const n = num_of_u64(p);
      return this.bits === 64 ? n : U64_32[LO]!;
    }
    if (p >= 0 && p < 2 ** this.bits) return Math.trunc(p);
    return Number(BigInt.asUintN(this.bits, BigInt(Math.trunc(p))));
  }
  /** __malloc_stats: the text glibc prints on stderr (one arena; %10u fields truncate to 32 bits) */
  malloc_stats(): string {
    const mi = this.mallinfo2();
    const u = (x: number) => String(x % TWO32).padStart(10);
    const system_b = (this.mmapped_mem + mi.arena) % TWO32;
    const in_use_b = (this.mmapped_mem + mi.uordblks) % TWO32;
    return (
      `Arena 0:\nsystem bytes     = ${u(mi.arena)}\nin use bytes     = ${u(mi.uordblks)}\n` +
      `Total (incl. mmap):\nsystem bytes     = ${u(system_b)}\nin use bytes     = ${u(in_use_b)}\n` +
      `max mmap regions = ${u(this.max_n_mmaps)}\nmax mmap bytes   = ${String(this.max_mmapped_mem).padStart(10)}\n`
    );
  }
  /** Current tunables (mp_). */
  get params(): { mmap_threshold: number; trim_threshold: number; top_pad: number; n_mmaps: number; mmapped_mem: number; no_dyn_threshold: boolean; max_fast: number } {
    return {
      mmap_threshold: this.mmap_threshold,
      trim_threshold: this.trim_threshold,
      top_pad: this.top_pad,
      n_mmaps: this.n_mmaps,
      mmapped_mem: this.mmapped_mem,
      no_dyn_threshold: this.no_dyn_threshold,
      max_fast: this.max_fast,
    };
  }

  /** Everything the model keeps outside the process's memory (main_arena in libc .data, mp_, the
   *  tcache pointer, bookkeeping): with a copy of the memory this is the whole allocator. */
  save(): malloc_saved_state {
    return {
      bits: this.bits,
      main_arena: BigInt(this.main_arena),
      tcache_key: BigInt(this.tcache_key),
      arena_words: Array.from(this.arena_words),
      scalars: this.snapshot(),
      mmapped: [...this.mmapped].map(([mem, r]) => [mem, r.block, r.total]),
      segments: this.segments.map((x) => [x.start, x.end]),
      requested: this.requested.entries(),
    };
  }
  /** The allocator of a process restored from save() (or of a fork child): `host` must hold a copy of
   *  the memory the saved allocator wrote. */
  static restore(host: malloc_host, saved: malloc_saved_state, options: Omit<malloc_options, "main_arena" | "tcache_key"> = {}): ptmalloc {
    if (saved.bits !== host.bits) throw new RangeError(`saved allocator is ${saved.bits}-bit, host is ${host.bits}-bit`);
    const m = new ptmalloc(host, { ...options, main_arena: saved.main_arena, tcache_key: saved.tcache_key });
    m.arena_words.set(saved.arena_words);
    m.restore(saved.scalars);
    m.binmap = saved.scalars.binmap.slice();
    for (const [mem, block, total] of saved.mmapped) m.mmapped.set(mem, { block, total });
    for (const [start, end] of saved.segments) m.segments.push({ start, end });
    for (const [mem, bytes] of saved.requested ?? []) m.requested.set(mem, bytes);
    return m;
  }
  /** fork(): the child's libc state is the parent's (its memory arrives by copy-on-write). */
  fork(child_host: malloc_host, options: Omit<malloc_options, "main_arena" | "tcache_key"> = {}): ptmalloc {
    return ptmalloc.restore(child_host, this.save(), options);
  }

  // ------------------------------------------------------------------ atomicity

  /** model: the scalar fields of main_arena/mp_/tcache, for rollback and save() */
  private snapshot(): scalar_state {
    return {
      flags: this.flags,
      have_fastchunks: this.have_fastchunks,
      binmap: this.binmap.slice(),
      system_mem: this.system_mem,
      max_system_mem: this.max_system_mem,
      trim_threshold: this.trim_threshold,
      top_pad: this.top_pad,
      mmap_threshold: this.mmap_threshold,
      n_mmaps: this.n_mmaps,
      n_mmaps_max: this.n_mmaps_max,
      max_n_mmaps: this.max_n_mmaps,
      no_dyn_threshold: this.no_dyn_threshold,
      mmapped_mem: this.mmapped_mem,
      max_mmapped_mem: this.max_mmapped_mem,
      sbrk_base: this.sbrk_base,
      max_fast: this.max_fast,
      tcache: this.tcache,
      errno: this.errno,
    };
  }
  /** model: put back a snapshot() */
  private restore(s: scalar_state): void {
    Object.assign(this, s);
  }
  /** Run one public call; on any throw undo every write, arena change and sbrk/mmap it made. */
  private atomic<T>(fn: () => T): T {
    if (this.undo) return fn(); // nested: the outer call journals
    const h = this.host;
    if (h.enter) h.enter();
    this.begin();
    try {
      return fn();
    } catch (e) {
      this.rollback();
      throw e;
    } finally {
      this.end();
      if (h.leave) h.leave();
    }
  }
  /** model: an outermost malloc/free starts its journal at its first store that may need undoing
   *  (what it read and checked before needs none); `outer` false: a nested call, already journaled */
  private start_journal(outer: boolean): void {
    if (outer && !this.begun) this.begin();
  }
  /** model: start journaling an outermost public call (scalars copied into a reused record) */
  private begin(): void {
    const s = this.snap;
    s.flags = this.flags;
    s.have_fastchunks = this.have_fastchunks;
    const bm = this.binmap;
    const sb = s.binmap;
    sb[0] = bm[0]!;
    sb[1] = bm[1]!;
    sb[2] = bm[2]!;
    sb[3] = bm[3]!;
    s.system_mem = this.system_mem;
    s.max_system_mem = this.max_system_mem;
    s.trim_threshold = this.trim_threshold;
    s.top_pad = this.top_pad;
    s.mmap_threshold = this.mmap_threshold;
    s.n_mmaps = this.n_mmaps;
    s.n_mmaps_max = this.n_mmaps_max;
    s.max_n_mmaps = this.max_n_mmaps;
    s.no_dyn_threshold = this.no_dyn_threshold;
    s.mmapped_mem = this.mmapped_mem;
    s.max_mmapped_mem = this.max_mmapped_mem;
    s.sbrk_base = this.sbrk_base;
    s.max_fast = this.max_fast;
    s.tcache = this.tcache;
    s.errno = this.errno;
    this.ulen = 0;
    this.flen = 0;
    this.undo = true;
    this.begun = true;
  }
  /** model: the outermost call is over: stop journaling (drop a large journal's references) */
  private end(): void {
    this.undo = false;
    this.begun = false;
    if (this.flen > 0) this.log_fn.length = 0; // drop the actions' references
    this.ulen = 0;
    this.flen = 0;
  }
  /** model: a throw in the outermost call: undo every journaled change, newest first */
  private rollback(): void {
    {
      const log = this.log;
      const fns = this.log_fn;
      this.undo = false;
      let i = this.ulen - 1;
      while (i >= 0) {
        const e2 = log[i]!;
        const a = log[i - 1]!;
        if (Number.isNaN(a)) fns[e2]!();
        else if (a < 0) this.fast_wr!.call(this.host, -a, 2, e2); // a uint16 store (wr16)
        else this.wr_raw(a, e2);
        i -= 2;
      }
      const s = this.snap;
      this.restore(s);
      this.binmap = s.binmap.slice(); // not the reused record's array
    }
  }
  /** model: the rest of this call cannot abort (the caller's last action follows): stop journaling */
  private commit(): void {
    this.undo = false;
  }
  /** model bookkeeping: the current sbrk segment now ends at `end` */
  private set_seg_end(end: number): void {
    const seg = this.segments[this.segments.length - 1];
    if (!seg) return;
    const old = seg.end;
    seg.end = end;
    this.on_undo(() => {
      seg.end = old;
    });
  }
  /** model: append one (address, value) pair to the journal */
  private journal(a: number, v: number): void {
    let log = this.log;
    const n = this.ulen;
    if (n + 2 > log.length) {
      const g = new Float64Array(log.length * 2);
      g.set(log);
      this.log = log = g;
    }
    log[n] = a;
    log[n + 1] = v;
    this.ulen = n + 2;
  }
  /** model: register an undo action for the current public call */
  private on_undo(f: () => void): void {
    if (this.undo) this.journal(NaN, this.flen), (this.log_fn[this.flen++] = f);
  }

  // ------------------------------------------------------------------ memory access

  /** Read one INTERNAL_SIZE_T / pointer word (arena fields or process memory). */
  private rd(a: number): number {
    const o = a - this.main_arena;
    if (o >= 0 && a < this.arena_end) return this.arena_words[Math.floor(o / this.W)]!;
    if (this.fast_rd) return this.host.read_word!(a, this.W as 4 | 8);
    return this.rd_bytes(a);
  }
  /** rd() through host.read (a host without read_word); kept out of rd so that V8 inlines rd */
  private rd_bytes(a: number): number {
    const b = this.host.read(BigInt(a), this.W);
    const lo = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    if (this.W === 4) return lo;
    const hi = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    return hi * TWO32 + lo;
  }
  /** Write one word, journaled for rollback. */
  private wr(a: number, v: number): void {
    if (this.undo) this.journal(a, this.rd(a));
    this.wr_raw(a, v);
  }
  /** model: a store without journaling (also used to undo) */
  private wr_raw(a: number, v: number): void {
    const o = a - this.main_arena;
    if (o >= 0 && a < this.arena_end) {
      this.arena_words[Math.floor(o / this.W)] = v;
      return;
    }
    if (this.fast_wr) return this.host.write_word!(a, this.W as 4 | 8, v);
    this.wr_bytes(a, v);
  }
  /** wr_raw() through host.write (a host without write_word) */
  private wr_bytes(a: number, v: number): void {
    const b = this.W === 8 ? this.buf8 : this.buf8.subarray(0, 4);
    const lo = v >>> 0;
    b[0] = lo & 0xff;
    b[1] = (lo >>> 8) & 0xff;
    b[2] = (lo >>> 16) & 0xff;
    b[3] = lo >>> 24;
    if (this.W === 8) {
      const hi = Math.floor(v / TWO32) >>> 0;
      b[4] = hi & 0xff;
      b[5] = (hi >>> 8) & 0xff;
      b[6] = (hi >>> 16) & 0xff;
      b[7] = hi >>> 24;
    }
    this.host.write(BigInt(a), b);
  }
  /** load a uint16_t (tcache->counts[]) */
  private rd16(a: number): number {
    if (this.fast_rd) return this.host.read_word!(a, 2);
    const b = this.host.read(BigInt(a), 2);
    return b[0]! | (b[1]! << 8);
  }
  /** store a uint16_t (tcache->counts[]), journaled */
  private wr16(a: number, v: number): void {
    if (this.fast_wr) {
      if (this.undo) this.journal(-a, this.rd16(a)); // negative address: a uint16 entry
      return this.host.write_word!(a, 2, v);
    }
    this.write_bytes(a, new Uint8Array([v & 0xff, (v >>> 8) & 0xff]));
  }
  /** memset/memcpy destination writes, journaled. */
  private write_bytes(a: number, bytes: Uint8Array): void {
    if (this.undo && bytes.length) {
      const old = this.host.read(BigInt(a), bytes.length).slice();
      this.on_undo(() => this.host.write(BigInt(a), old));
    }
    this.host.write(BigInt(a), bytes);
  }
  /** memset (p, 0, n), journaled */
  private memset0(a: number, n: number): void {
    if (n > 0) this.write_bytes(a, new Uint8Array(n));
  }
  /** memcpy (dst, src, n), journaled */
  private memcpy(dst: number, src: number, n: number): void {
    if (n > 0) this.write_bytes(dst, this.host.read(BigInt(src), n).slice());
  }

  // ------------------------------------------------------------------ chunk macros

  /** chunksize() of a raw size word: mask SIZE_BITS */
  private chunksize_of(v: number): number {
    return v - (v & 7); // & keeps the low bits of any integer below 2^53
  }
  /** chunksize(p) */
  private chunksize(p: number): number {
    return this.chunksize_of(this.rd(p + this.W));
  }
  /** chunksize_nomask(p) */
  private size_nomask(p: number): number {
    return this.rd(p + this.W);
  }
  /** prev_size (p) */
  private prev_size(p: number): number {
    return this.rd(p);
  }
  /** prev_inuse (p) */
  private prev_inuse(p: number): boolean {
    return (this.rd(p + this.W) & PREV_INUSE) !== 0;
  }
  /** set_head (p, s) */
  private set_head(p: number, v: number): void {
    this.wr(p + this.W, v);
  }
  /** set_head_size: keep the three flag bits */
  private set_head_size(p: number, s: number): void {
    this.wr(p + this.W, (this.rd(p + this.W) & 7) + s);
  }
  /** set_foot (p, s) */
  private set_foot(p: number, s: number): void {
    this.wr(p + s, s);
  }
  /** set_prev_size (p, s) */
  private set_prev_size(p: number, s: number): void {
    this.wr(p, s);
  }
  /** inuse (p): PREV_INUSE of the next chunk */
  private inuse(p: number): boolean {
    return this.prev_inuse(p + this.chunksize(p));
  }
  /** inuse_bit_at_offset (p, s) */
  private inuse_bit_at_offset(p: number, s: number): boolean {
    return this.prev_inuse(p + s);
  }
  /** set_inuse_bit_at_offset (p, s) */
  private set_inuse_bit_at_offset(p: number, s: number): void {
    const v = this.rd(p + s + this.W);
    if (!(v & PREV_INUSE)) this.wr(p + s + this.W, v + 1);
  }
  /** clear_inuse_bit_at_offset (p, s) */
  private clear_inuse_bit_at_offset(p: number, s: number): void {
    const v = this.rd(p + s + this.W);
    if (v & PREV_INUSE) this.wr(p + s + this.W, v - 1);
  }
  /** p->fd */
  private fd(p: number): number {
    return this.rd(p + 2 * this.W);
  }
  /** p->bk */
  private bk(p: number): number {
    return this.rd(p + 3 * this.W);
  }
  /** p->fd = v */
  private set_fd(p: number, v: number): void {
    this.wr(p + 2 * this.W, v);
  }
  /** p->bk = v */
  private set_bk(p: number, v: number): void {
    this.wr(p + 3 * this.W, v);
  }
  /** p->fd_nextsize */
  private fd_nextsize(p: number): number {
    return this.rd(p + 4 * this.W);
  }
  /** p->bk_nextsize */
  private bk_nextsize(p: number): number {
    return this.rd(p + 5 * this.W);
  }
  /** p->fd_nextsize = v */
  private set_fd_nextsize(p: number, v: number): void {
    this.wr(p + 4 * this.W, v);
  }
  /** p->bk_nextsize = v */
  private set_bk_nextsize(p: number, v: number): void {
    this.wr(p + 5 * this.W, v);
  }
  /** chunk2mem (p): header → user pointer */
  private chunk2mem(p: number): number {
    return p + this.HDR;
  }
  /** mem2chunk (mem): user pointer → header */
  private mem2chunk(m: number): number {
    return m - this.HDR;
  }
  /** misaligned_chunk: i386 checks chunk2mem, x86-64 the chunk itself */
  private misaligned_chunk(p: number): boolean {
    return ((this.g.MALLOC_ALIGNMENT === this.HDR ? p : p + this.HDR) & 15) !== 0;
  }
  /** aligned_OK (m) */
  private aligned_OK(m: number): boolean {
    return (m & 15) === 0;
  }
  /** request2size */
  private request2size(req: number): number {
    return req + this.W + MALLOC_ALIGN_MASK < this.MINSIZE ? this.MINSIZE : down16(req + this.W + MALLOC_ALIGN_MASK);
  }
  /** checked_request2size (2.35+: returns 0 when req > PTRDIFF_MAX) */
  private checked_request2size(req: number): number {
    if (req > this.g.PTRDIFF_MAX || req < 0) return 0;
    return this.request2size(req);
  }
  /** in_smallbin_range (sz) */
  private in_smallbin_range(sz: number): boolean {
    return sz < this.g.MIN_LARGE_SIZE;
  }
  /** smallbin_index (sz) */
  private smallbin_index(sz: number): number {
    return Math.floor(sz / 16) + this.g.SMALLBIN_CORRECTION;
  }
  /** largebin_index (sz) */
  private largebin_index(sz: number): number {
    return largebin_index(sz, this.bits);
  }
  /** bin_index (sz) */
  private bin_index(sz: number): number {
    return this.in_smallbin_range(sz) ? this.smallbin_index(sz) : this.largebin_index(sz);
  }
  /** fastbin_index: (unsigned int) sz >> (SIZE_SZ == 8 ? 4 : 3), minus 2 */
  private fastbin_index(sz: number): number {
    return (sz >>> (this.W === 8 ? 4 : 3)) - 2; // >>> takes sz modulo 2^32, as the cast does
  }
  /** set_max_fast */
  private set_max_fast(s: number): number {
    return s <= MALLOC_ALIGN_MASK - this.W ? this.g.MIN_CHUNK_SIZE / 2 : down16(s + this.W);
  }
  /** csize2tidx */
  private csize2tidx(x: number): number {
    return Math.floor((x - this.MINSIZE + MALLOC_ALIGN_MASK) / 16);
  }
  /** bin_at(&main_arena, i): the bin header overlaid on bins[] as a fake chunk */
  private bin_at(i: number): number {
    return this.main_arena + this.off_bins + (i - 1) * 2 * this.W - 2 * this.W;
  }
  /** model: bin header address → bin index (inverse of bin_at) */
  private bin_of(b: number): number {
    return (b - this.bin_at(0)) / (2 * this.W);
  }
  /** unsorted_chunks (av) = bin_at (av, 1) */
  private get unsorted(): number {
    return this.bin_at(1);
  }
  /** av->top */
  private get top(): number {
    return this.arena_words[this.off_top / this.W]!;
  }
  /** av->top = v */
  private set top(v: number) {
    this.wr(this.main_arena + this.off_top, v);
  }
  /** av->last_remainder */
  private get last_remainder(): number {
    return this.arena_words[this.off_last_remainder / this.W]!;
  }
  /** av->last_remainder = v */
  private set last_remainder(v: number) {
    this.wr(this.main_arena + this.off_last_remainder, v);
  }
  /** &fastbin (av, i): address of av->fastbinsY[i] */
  private fastbin_addr(i: number): number {
    return this.main_arena + this.off_fastbins + i * this.W;
  }
  /** contiguous (av) */
  private contiguous(): boolean {
    return (this.flags & NONCONTIGUOUS_BIT) === 0;
  }
  /** mark_bin (av, i) */
  private mark_bin(i: number): void {
    this.binmap[i >>> 5] = (this.binmap[i >>> 5]! | (1 << (i & 31))) >>> 0;
  }
  /** PROTECT_PTR (pos, ptr): safe-linking of tcache/fastbin next pointers */
  private protect_ptr(pos: number, ptr: number): number {
    return xor53(Math.floor(pos / 4096), ptr);
  }
  /** malloc_printerr: glibc prints the message and aborts; here it throws malloc_abort */
  private malloc_printerr(str: string): never {
    this.tr?.("malloc_printerr", FILE, `${str} → abort()`);
    throw new malloc_abort(str);
  }
  /** model: a corrupted list can make glibc loop forever; the model stops with an abort instead */
  private loop_guard(n: number, fn: string): void {
    if (n > 4_000_000) throw new malloc_abort(`mmlab: ${fn} is looping on a corrupted list (glibc would hang here)`);
  }
  /** model: emit one trace event */
  private t(fn: string, text: string): void {
    this.tr?.(fn, FILE, text);
  }

  // ------------------------------------------------------------------ tcache

  /** model: tcache->counts[i], 0 if unreadable */
  private try_tc_count(i: number): number {
    try {
      return this.tc_count(i);
    } catch {
      return 0;
    }
  }
  /** tcache->counts[i] */
  private tc_count(i: number): number {
    return this.rd16(this.tcache + 2 * i);
  }
  /** &tcache->entries[i] */
  private tc_entry_addr(i: number): number {
    return this.tcache + 2 * TCACHE_MAX_BINS + i * this.W;
  }
  /** tcache_put. `size`: chunksize (chunk), for the trace only. */
  private tcache_put(chunk: number, tc_idx: number, last = false, size = 0): void {
    const e = this.chunk2mem(chunk);
    if (last) this.commit();
    this.wr(e + this.W, this.tcache_key); // e->key = tcache_key
    const ea = this.tc_entry_addr(tc_idx);
    const head = this.rd(ea);
    this.wr(e, this.protect_ptr(e, head)); // e->next = PROTECT_PTR (&e->next, entries[tc_idx])
    this.wr(ea, e);
    // ++(tcache->counts[tc_idx]), loaded after the stores above (a chunk forged inside the
    // tcache_perthread_struct could overlap the counts)
    const ca = this.tcache + 2 * tc_idx;
    const cnt = this.rd16(ca) + 1;
    this.wr16(ca, cnt);
    if (this.trace_on) this.t("tcache_put", `chunk ${hx(chunk)} (size ${hx(size || this.chunksize(chunk))}) → tcache[${tc_idx}], count ${cnt}`);
  }
  /** tcache_get (tcache_get_n on entries[tc_idx]). `cnt`: tcache->counts[tc_idx] as the caller just
   *  read it (no store in between can reach the counts: entries[] is another field). */
  private tcache_get(tc_idx: number, last = false, cnt = this.tc_count(tc_idx)): number {
    const ea = this.tc_entry_addr(tc_idx);
    const e = this.rd(ea);
    if (!this.aligned_OK(e)) this.malloc_printerr("malloc(): unaligned tcache chunk detected");
    if (last) this.commit();
    this.wr(ea, this.protect_ptr(e, this.rd(e))); // REVEAL_PTR (e->next)
    this.wr16(this.tcache + 2 * tc_idx, cnt - 1); // --(tcache->counts[tc_idx])
    this.wr(e + this.W, 0); // e->key = 0
    if (this.trace_on) this.t("tcache_get", `tcache[${tc_idx}] → ${hx(e)}, count ${cnt - 1}`);
    return e;
  }
  /** tcache_init: the per-thread cache is itself the first chunk malloc'ed from the heap */
  private tcache_init(): void {
    const bytes = this.g.TCACHE_STRUCT_SIZE;
    if (this.trace_on) this.t("tcache_init", `_int_malloc (&main_arena, ${bytes}) for tcache_perthread_struct`);
    const victim = this._int_malloc(bytes);
    if (victim) {
      this.tcache = victim;
      this.memset0(victim, bytes);
    }
  }
  /** MAYBE_INIT_TCACHE */
  private maybe_init_tcache(): void {
    if (this.tcache === 0) this.tcache_init();
  }

  // ------------------------------------------------------------------ public wrappers (malloc.c)

  /** __libc_malloc. `outer`: the outermost call, whose journal starts at the first store that may need
   *  undoing — a tcache hit reads and checks, and tcache_get stores only after its last check. */
  private __libc_malloc(bytes: number, outer = false): number {
    const tbytes = this.checked_request2size(bytes);
    if (tbytes === 0) {
      this.errno = 12;
      return 0;
    }
    const tc_idx = this.csize2tidx(tbytes);
    if (this.tcache === 0) {
      this.start_journal(outer);
      this.tcache_init(); // MAYBE_INIT_TCACHE
    }
    if (tc_idx < TCACHE_MAX_BINS && this.tcache !== 0) {
      const cnt = this.tc_count(tc_idx);
      if (cnt > 0) {
        const v = this.tcache_get(tc_idx, true, cnt);
        if (this.trace_on) this.t("__libc_malloc", `malloc(${bytes}) = ${hx(v)} from tcache[${tc_idx}]`);
        return v;
      }
    }
    this.start_journal(outer);
    const v = this._int_malloc(bytes);
    if (this.trace_on) this.t("__libc_malloc", `malloc(${bytes}) = ${hx(v)}`);
    return v;
  }

  /** __libc_free (with the dynamic mmap threshold update). `outer`: as for __libc_malloc (a chunk that
   *  goes to the tcache needs no journal). */
  private __libc_free(mem: number, outer = false): void {
    if (mem === 0) return;
    if (this.trace_on) this.t("__libc_free", `free(${hx(mem)})`);
    const p = this.mem2chunk(mem);
    const sz = this.size_nomask(p);
    if (sz & IS_MMAPPED) {
      this.start_journal(outer);
      if (!this.no_dyn_threshold && sz > this.mmap_threshold && sz <= this.g.DEFAULT_MMAP_THRESHOLD_MAX) {
        this.mmap_threshold = this.chunksize_of(sz);
        this.trim_threshold = 2 * this.mmap_threshold;
        if (this.trace_on) this.t("__libc_free", `dynamic threshold: mmap_threshold = ${this.mmap_threshold}, trim_threshold = ${this.trim_threshold}`);
      }
      this.munmap_chunk(p);
    } else {
      if (this.tcache === 0) {
        this.start_journal(outer);
        this.tcache_init(); // MAYBE_INIT_TCACHE
      }
      this.arena_for_chunk(p, sz);
      this._int_free(p, false, sz, outer);
    }
  }

  /** arena_for_chunk: NON_MAIN_ARENA → heap_for_ptr (p)->ar_ptr (a read that can fault); only main_arena is modelled */
  private arena_for_chunk(p: number, sz: number): void {
    if (!(sz & NON_MAIN_ARENA)) return;
    const heap_max = 2 * this.g.DEFAULT_MMAP_THRESHOLD_MAX; // HEAP_MAX_SIZE
    const ar_ptr = this.rd(align_down(p, heap_max));
    if (ar_ptr !== this.main_arena) throw new malloc_abort(`mmlab: chunk ${hx(p)} claims arena ${hx(ar_ptr)} (NON_MAIN_ARENA); only the main arena is modelled`);
  }

  /** __libc_calloc */
  private __libc_calloc(n: number | bigint, elem: number | bigint): number {
    const prod = BigInt(n) * BigInt(elem);
    if (prod > BigInt(this.g.PTRDIFF_MAX) || BigInt(n) < 0n || BigInt(elem) < 0n) {
      this.errno = 12;
      return 0;
    }
    const sz = Number(prod);
    this.maybe_init_tcache();
    const oldtop = this.top;
    let oldtopsize = this.chunksize(oldtop);
    // MORECORE_CLEARS < 2: only newly allocated memory is guaranteed to be cleared
    if (oldtopsize < this.sbrk_base + this.max_system_mem - oldtop) oldtopsize = this.sbrk_base + this.max_system_mem - oldtop;
    const mem = this._int_malloc(sz);
    if (mem === 0) return 0;
    const p = this.mem2chunk(mem);
    if (this.size_nomask(p) & IS_MMAPPED) {
      if (this.trace_on) this.t("__libc_calloc", `calloc(${n}, ${elem}) = ${hx(mem)}: mmapped, already zero`);
      return mem;
    }
    let csz = this.chunksize(p);
    if (p === oldtop && csz > oldtopsize) csz = oldtopsize; // clear only the non-freshly-sbrked part
    const clearsize = csz - this.W;
    this.memset0(mem, clearsize);
    if (this.trace_on) this.t("__libc_calloc", `calloc(${n}, ${elem}) = ${hx(mem)}: cleared ${clearsize} bytes`);
    return mem;
  }

  /** __libc_realloc */
  private __libc_realloc(oldmem: number, bytes: number): number {
    if (bytes === 0 && oldmem !== 0) {
      this.__libc_free(oldmem); // REALLOC_ZERO_BYTES_FREES
      return 0;
    }
    if (oldmem === 0) return this.__libc_malloc(bytes);
    const oldp = this.mem2chunk(oldmem);
    const oldsize = this.chunksize(oldp);
    const mmapped = (this.size_nomask(oldp) & IS_MMAPPED) !== 0;
    if (!mmapped) {
      this.maybe_init_tcache();
      this.arena_for_chunk(oldp, this.size_nomask(oldp));
    }
    const lim = oldsize === 0 ? 0 : 2 ** this.bits - oldsize;
    if (oldp > lim || this.misaligned_chunk(oldp)) this.malloc_printerr("realloc(): invalid pointer");
    const nb = this.checked_request2size(bytes);
    if (nb === 0) {
      this.errno = 12;
      return 0;
    }
    if (mmapped) {
      const newp = this.mremap_chunk(oldp, nb);
      if (newp) return this.chunk2mem(newp);
      if (oldsize - this.W >= nb) return oldmem; // do nothing
      const newmem = this.__libc_malloc(bytes);
      if (newmem === 0) return 0;
      this.memcpy(newmem, oldmem, oldsize - this.HDR);
      this.munmap_chunk(oldp);
      return newmem;
    }
    const r = this._int_realloc(oldp, oldsize, nb);
    if (this.trace_on) this.t("__libc_realloc", `realloc(${hx(oldmem)}, ${bytes}) = ${hx(r)}`);
    return r;
  }

  // ------------------------------------------------------------------ _int_malloc

  /** unlink_chunk: take a chunk off a doubly-linked bin list */
  private unlink_chunk(p: number): void {
    if (this.chunksize(p) !== this.prev_size(p + this.chunksize(p))) this.malloc_printerr("corrupted size vs. prev_size");
    const fd = this.fd(p);
    const bk = this.bk(p);
    if (this.bk(fd) !== p || this.fd(bk) !== p) this.malloc_printerr("corrupted double-linked list");
    this.set_bk(fd, bk);
    this.set_fd(bk, fd);
    if (!this.in_smallbin_range(this.size_nomask(p)) && this.fd_nextsize(p) !== 0) {
      const fns = this.fd_nextsize(p);
      const bns = this.bk_nextsize(p);
      if (this.bk_nextsize(fns) !== p || this.fd_nextsize(bns) !== p) this.malloc_printerr("corrupted double-linked list (not small)");
      if (this.fd_nextsize(fd) === 0) {
        if (fns === p) {
          this.set_fd_nextsize(fd, fd);
          this.set_bk_nextsize(fd, fd);
        } else {
          this.set_fd_nextsize(fd, fns);
          this.set_bk_nextsize(fd, bns);
          this.set_bk_nextsize(fns, fd);
          this.set_fd_nextsize(bns, fd);
        }
      } else {
        this.set_bk_nextsize(fns, bns);
        this.set_fd_nextsize(bns, fns);
      }
    }
  }

  /** _int_malloc: tcache-stashing fastbin → smallbin → (large: consolidate) → unsorted → large bin → binmap → top → sysmalloc */
  private _int_malloc(bytes: number): number {
    const nb = this.checked_request2size(bytes);
    if (nb === 0) {
      this.errno = 12;
      return 0;
    }
    const W = this.W;
    let idx: number;
    let victim: number;
    let size: number;
    let bck: number;
    let fwd: number;

    // fastbins
    if (nb <= this.max_fast) {
      idx = this.fastbin_index(nb);
      const fb = this.fastbin_addr(idx);
      victim = this.rd(fb);
      if (victim !== 0) {
        if (this.misaligned_chunk(victim)) this.malloc_printerr("malloc(): unaligned fastbin chunk detected 2");
        this.wr(fb, this.protect_ptr(victim + 2 * W, this.fd(victim)));
        const victim_idx = this.fastbin_index(this.chunksize(victim));
        if (victim_idx !== idx) this.malloc_printerr("malloc(): memory corruption (fast)");
        if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: fastbin[${idx}] → ${hx(victim)}`);
        const tc_idx = this.csize2tidx(nb);
        if (this.tcache && tc_idx < TCACHE_MAX_BINS) {
          let tc_victim: number;
          while (this.tc_count(tc_idx) < TCACHE_FILL_COUNT && (tc_victim = this.rd(fb)) !== 0) {
            if (this.misaligned_chunk(tc_victim)) this.malloc_printerr("malloc(): unaligned fastbin chunk detected 3");
            this.wr(fb, this.protect_ptr(tc_victim + 2 * W, this.fd(tc_victim)));
            this.tcache_put(tc_victim, tc_idx);
          }
        }
        return this.chunk2mem(victim);
      }
    }

    // small bins
    if (this.in_smallbin_range(nb)) {
      idx = this.smallbin_index(nb);
      const bin = this.bin_at(idx);
      if ((victim = this.bk(bin)) !== bin) {
        bck = this.bk(victim);
        if (this.fd(bck) !== victim) this.malloc_printerr("malloc(): smallbin double linked list corrupted");
        this.set_inuse_bit_at_offset(victim, nb);
        this.set_bk(bin, bck);
        this.set_fd(bck, bin);
        if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: smallbin[${idx}] → ${hx(victim)}`);
        const tc_idx = this.csize2tidx(nb);
        if (this.tcache && tc_idx < TCACHE_MAX_BINS) {
          let tc_victim: number;
          while (this.tc_count(tc_idx) < TCACHE_FILL_COUNT && (tc_victim = this.bk(bin)) !== bin) {
            if (tc_victim !== 0) {
              bck = this.bk(tc_victim);
              this.set_inuse_bit_at_offset(tc_victim, nb);
              this.set_bk(bin, bck);
              this.set_fd(bck, bin);
              this.tcache_put(tc_victim, tc_idx);
            }
          }
        }
        return this.chunk2mem(victim);
      }
    } else {
      idx = this.largebin_index(nb);
      if (this.have_fastchunks) {
        if (this.trace_on) this.t("_int_malloc", `large request nb ${hx(nb)} (largebin[${idx}]): consolidate fastbins first`);
        this.malloc_consolidate();
      }
    }

    const tc_idx = this.csize2tidx(nb);
    const tcache_nb = this.tcache && tc_idx < TCACHE_MAX_BINS ? nb : 0;
    let return_cached = false;
    const unsorted = this.unsorted;
    const MINSIZE = this.MINSIZE;

    for (;;) {
      let iters = 0;
      while ((victim = this.bk(unsorted)) !== unsorted) {
        bck = this.bk(victim);
        size = this.chunksize(victim);
        const next = victim + size;
        if (size <= this.HDR || size > this.system_mem) this.malloc_printerr("malloc(): invalid size (unsorted)");
        const nextsz = this.size_nomask(next);
        if (nextsz < this.HDR || nextsz > this.system_mem) this.malloc_printerr("malloc(): invalid next size (unsorted)");
        if (this.chunksize_of(this.prev_size(next)) !== size) this.malloc_printerr("malloc(): mismatching next->prev_size (unsorted)");
        if (this.fd(bck) !== victim || this.fd(victim) !== unsorted) this.malloc_printerr("malloc(): unsorted double linked list corrupted");
        if (nextsz & PREV_INUSE) this.malloc_printerr("malloc(): invalid next->prev_inuse (unsorted)");

        // the last_remainder rule: only chunk in unsorted, small request, remainder of the last split
        if (this.in_smallbin_range(nb) && bck === unsorted && victim === this.last_remainder && size > nb + MINSIZE) {
          const remainder_size = size - nb;
          const remainder = victim + nb;
          this.set_bk(unsorted, remainder);
          this.set_fd(unsorted, remainder);
          this.last_remainder = remainder;
          this.set_bk(remainder, unsorted);
          this.set_fd(remainder, unsorted);
          if (!this.in_smallbin_range(remainder_size)) {
            this.set_fd_nextsize(remainder, 0);
            this.set_bk_nextsize(remainder, 0);
          }
          this.set_head(victim, nb + PREV_INUSE);
          this.set_head(remainder, remainder_size + PREV_INUSE);
          this.set_foot(remainder, remainder_size);
          if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: split last_remainder ${hx(victim)}, remainder ${hx(remainder)} (${hx(remainder_size)}) stays in unsorted`);
          return this.chunk2mem(victim);
        }

        // remove from unsorted list
        if (this.fd(bck) !== victim) this.malloc_printerr("malloc(): corrupted unsorted chunks 3");
        this.set_bk(unsorted, bck);
        this.set_fd(bck, unsorted);

        if (size === nb) {
          this.set_inuse_bit_at_offset(victim, size);
          if (tcache_nb && this.tc_count(tc_idx) < TCACHE_FILL_COUNT) {
            this.tcache_put(victim, tc_idx);
            return_cached = true;
            continue;
          }
          if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: exact fit in unsorted → ${hx(victim)}`);
          return this.chunk2mem(victim);
        }

        // place chunk in bin
        let victim_index: number;
        if (this.in_smallbin_range(size)) {
          victim_index = this.smallbin_index(size);
          bck = this.bin_at(victim_index);
          fwd = this.fd(bck);
        } else {
          victim_index = this.largebin_index(size);
          bck = this.bin_at(victim_index);
          fwd = this.fd(bck);
          if (fwd !== bck) {
            const sizeP = size + PREV_INUSE; // or with inuse bit to speed comparisons
            if (sizeP < this.size_nomask(this.bk(bck))) {
              fwd = bck;
              bck = this.bk(bck);
              this.set_fd_nextsize(victim, this.fd(fwd));
              this.set_bk_nextsize(victim, this.bk_nextsize(this.fd(fwd)));
              const f = this.fd(fwd);
              this.set_bk_nextsize(f, victim);
              this.set_fd_nextsize(this.bk_nextsize(victim), victim);
            } else {
              for (let g = 0; sizeP < this.size_nomask(fwd); g++) {
                fwd = this.fd_nextsize(fwd);
                this.loop_guard(g, "_int_malloc");
              }
              if (sizeP === this.size_nomask(fwd)) fwd = this.fd(fwd); // always insert in the second position
              else {
                this.set_fd_nextsize(victim, fwd);
                this.set_bk_nextsize(victim, this.bk_nextsize(fwd));
                if (this.fd_nextsize(this.bk_nextsize(fwd)) !== fwd) this.malloc_printerr("malloc(): largebin double linked list corrupted (nextsize)");
                this.set_bk_nextsize(fwd, victim);
                this.set_fd_nextsize(this.bk_nextsize(victim), victim);
              }
              bck = this.bk(fwd);
              if (this.fd(bck) !== fwd) this.malloc_printerr("malloc(): largebin double linked list corrupted (bk)");
            }
          } else {
            this.set_fd_nextsize(victim, victim);
            this.set_bk_nextsize(victim, victim);
          }
        }
        this.mark_bin(victim_index);
        this.set_bk(victim, bck);
        this.set_fd(victim, fwd);
        this.set_bk(fwd, victim);
        this.set_fd(bck, victim);
        if (this.trace_on) this.t("_int_malloc", `unsorted chunk ${hx(victim)} (${hx(size)}) → ${victim_index < NSMALLBINS ? "smallbin" : "largebin"}[${victim_index}]`);
        if (++iters >= MAX_ITERS) break;
      }

      if (return_cached) {
        if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: exact fits cached, return one from tcache[${tc_idx}]`);
        return this.tcache_get(tc_idx);
      }

      // large request: best fit in its own bin, via the skip list
      if (!this.in_smallbin_range(nb)) {
        const bin = this.bin_at(idx);
        victim = this.fd(bin);
        if (victim !== bin && this.size_nomask(victim) >= nb) {
          victim = this.bk_nextsize(victim);
          for (let g = 0; (size = this.chunksize(victim)) < nb; g++) {
            victim = this.bk_nextsize(victim);
            this.loop_guard(g, "_int_malloc");
          }
          if (victim !== this.bk(bin) && this.size_nomask(victim) === this.size_nomask(this.fd(victim))) victim = this.fd(victim);
          const remainder_size = size - nb;
          this.unlink_chunk(victim);
          if (remainder_size < MINSIZE) {
            this.set_inuse_bit_at_offset(victim, size);
          } else {
            const remainder = victim + nb;
            bck = unsorted;
            fwd = this.fd(bck);
            if (this.bk(fwd) !== bck) this.malloc_printerr("malloc(): corrupted unsorted chunks");
            this.set_bk(remainder, bck);
            this.set_fd(remainder, fwd);
            this.set_fd(bck, remainder);
            this.set_bk(fwd, remainder);
            if (!this.in_smallbin_range(remainder_size)) {
              this.set_fd_nextsize(remainder, 0);
              this.set_bk_nextsize(remainder, 0);
            }
            this.set_head(victim, nb + PREV_INUSE);
            this.set_head(remainder, remainder_size + PREV_INUSE);
            this.set_foot(remainder, remainder_size);
          }
          if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: best fit ${hx(victim)} (${hx(size)}) in largebin[${idx}]`);
          return this.chunk2mem(victim);
        }
      }

      // binmap scan of larger bins
      ++idx;
      let bin = this.bin_at(idx);
      let block = idx >>> 5;
      let map = this.binmap[block]!;
      let bit = (1 << (idx & 31)) >>> 0;
      let found = false;
      for (;;) {
        if (bit > map || bit === 0) {
          let out = false;
          do {
            if (++block >= BINMAPSIZE) {
              out = true;
              break;
            }
          } while ((map = this.binmap[block]!) === 0);
          if (out) break;
          bin = this.bin_at(block << 5);
          bit = 1;
        }
        while ((bit & map) >>> 0 === 0) {
          bin += 2 * W;
          bit = (bit << 1) >>> 0;
        }
        victim = this.bk(bin);
        if (victim === bin) {
          map = (map & ~bit) >>> 0;
          this.binmap[block] = map; // a false alarm: clear the bit
          bin += 2 * W;
          bit = (bit << 1) >>> 0;
        } else {
          size = this.chunksize(victim);
          const remainder_size = size - nb;
          this.unlink_chunk(victim);
          if (remainder_size < MINSIZE) {
            this.set_inuse_bit_at_offset(victim, size);
          } else {
            const remainder = victim + nb;
            bck = unsorted;
            fwd = this.fd(bck);
            if (this.bk(fwd) !== bck) this.malloc_printerr("malloc(): corrupted unsorted chunks 2");
            this.set_bk(remainder, bck);
            this.set_fd(remainder, fwd);
            this.set_fd(bck, remainder);
            this.set_bk(fwd, remainder);
            if (this.in_smallbin_range(nb)) this.last_remainder = remainder;
            if (!this.in_smallbin_range(remainder_size)) {
              this.set_fd_nextsize(remainder, 0);
              this.set_bk_nextsize(remainder, 0);
            }
            this.set_head(victim, nb + PREV_INUSE);
            this.set_head(remainder, remainder_size + PREV_INUSE);
            this.set_foot(remainder, remainder_size);
          }
          const bi = this.bin_of(bin);
          if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: binmap → ${bi < NSMALLBINS ? "smallbin" : "largebin"}[${bi}] chunk ${hx(victim)} (${hx(size)})${remainder_size >= MINSIZE ? `, remainder ${hx(remainder_size)} → unsorted` : ""}`);
          found = true;
          break;
        }
      }
      if (found) return this.chunk2mem(victim);

      // use_top
      victim = this.top;
      size = this.chunksize(victim);
      if (size > this.system_mem) this.malloc_printerr("malloc(): corrupted top size");
      if (size >= nb + MINSIZE) {
        const remainder_size = size - nb;
        const remainder = victim + nb;
        this.top = remainder;
        this.set_head(victim, nb + PREV_INUSE);
        this.set_head(remainder, remainder_size + PREV_INUSE);
        if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: split top ${hx(victim)}, new top ${hx(remainder)} (${hx(remainder_size)})`);
        return this.chunk2mem(victim);
      } else if (this.have_fastchunks) {
        this.malloc_consolidate();
        idx = this.in_smallbin_range(nb) ? this.smallbin_index(nb) : this.largebin_index(nb);
      } else {
        if (this.trace_on) this.t("_int_malloc", `nb ${hx(nb)}: top ${hx(size)} too small → sysmalloc`);
        return this.sysmalloc(nb);
      }
    }
  }

  // ------------------------------------------------------------------ system allocation

  /** __glibc_morecore: sbrk, NULL (0) on failure */
  private MORECORE(increment: number): number {
    const r = this.host.sbrk(BigInt(increment));
    if (r === null) {
      if (this.trace_on) this.t("MORECORE", `sbrk(${increment}) = -1 (ENOMEM)`);
      return 0;
    }
    if (increment !== 0) {
      this.on_undo(() => void this.host.sbrk(BigInt(-increment)));
      if (this.trace_on) this.t("MORECORE", `sbrk(${increment < 0 ? "-" + hx(-increment) : hx(increment)}) = ${hx(Number(r))}`);
    }
    return Number(r);
  }
  /** MMAP (0, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) */
  private MMAP(size: number): number {
    const r = this.host.mmap(BigInt(size));
    if (r === null) {
      if (this.trace_on) this.t("MMAP", `mmap(NULL, ${hx(size)}) = MAP_FAILED`);
      return -1;
    }
    const a = Number(r);
    this.on_undo(() => this.host.munmap(BigInt(a), BigInt(size)));
    if (this.trace_on) this.t("MMAP", `mmap(NULL, ${hx(size)}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) = ${hx(a)}`);
    return a;
  }

  /** sysmalloc_mmap: a request of its own mapping; user pointer = mapping + 16 on both i386 and x86-64 */
  private sysmalloc_mmap(nb: number): number {
    const size = this.g.MALLOC_ALIGNMENT === this.HDR ? align_up(nb + this.W, this.pagesize) : align_up(nb + this.W + MALLOC_ALIGN_MASK, this.pagesize);
    if (size <= nb) return -1;
    const mm = this.MMAP(size);
    if (mm === -1) return -1;
    let p: number;
    const front_misalign = this.g.MALLOC_ALIGNMENT === this.HDR ? 0 : (mm + this.HDR) & MALLOC_ALIGN_MASK;
    if (front_misalign > 0) {
      const correction = this.g.MALLOC_ALIGNMENT - front_misalign;
      p = mm + correction;
      this.set_prev_size(p, correction);
      this.set_head(p, size - correction + IS_MMAPPED);
    } else {
      p = mm;
      this.set_prev_size(p, 0);
      this.set_head(p, size + IS_MMAPPED);
    }
    this.n_mmaps++;
    this.max_n_mmaps = Math.max(this.max_n_mmaps, this.n_mmaps);
    this.mmapped_mem += size;
    this.max_mmapped_mem = Math.max(this.max_mmapped_mem, this.mmapped_mem);
    const mem = this.chunk2mem(p);
    this.mmapped.set(mem, { block: mm, total: size });
    this.on_undo(() => this.mmapped.delete(mem));
    if (this.trace_on) this.t("sysmalloc_mmap", `nb ${hx(nb)} ≥ mmap_threshold ${hx(this.mmap_threshold)}: own mapping ${hx(mm)}+${hx(size)}, chunk ${hx(p)}, mem ${hx(mem)}`);
    return mem;
  }

  /** sysmalloc: mmap the request if ≥ mmap_threshold, else grow top with sbrk(nb + top_pad + MINSIZE − top) */
  private sysmalloc(nb: number): number {
    const MINSIZE = this.MINSIZE;
    const pagesize = this.pagesize;
    if (nb >= this.mmap_threshold && this.n_mmaps < this.n_mmaps_max) {
      const mm = this.sysmalloc_mmap(nb);
      if (mm !== -1) return mm;
    }
    const old_top = this.top;
    let old_size = this.chunksize(old_top);
    const old_end = old_top + old_size;
    let brk = 0; // MORECORE_FAILURE
    let snd_brk = 0;

    let size = nb + this.top_pad + MINSIZE;
    if (this.contiguous()) size -= old_size;
    size = align_up(size, pagesize);
    if (this.trace_on) this.t("sysmalloc", `nb ${hx(nb)}: top ${hx(old_size)}; MORECORE(${hx(size)}) = nb + top_pad ${hx(this.top_pad)} + MINSIZE${this.contiguous() ? " − top" : ""}, page-rounded`);
    if (size > 0) brk = this.MORECORE(size);

    if (brk === 0) {
      // MORECORE failed: try mmap as a backup (sysmalloc_mmap_fallback)
      if (this.contiguous()) size = align_up(size + old_size, pagesize);
      if (size < MMAP_AS_MORECORE_SIZE) size = MMAP_AS_MORECORE_SIZE;
      if (size > nb) {
        const mbrk = this.MMAP(size);
        if (mbrk !== -1) {
          this.flags |= NONCONTIGUOUS_BIT; // set_noncontiguous
          if (this.trace_on) this.t("sysmalloc_mmap_fallback", `sbrk failed: ${hx(size)} bytes mmapped at ${hx(mbrk)} as non-contiguous heap`);
          brk = mbrk;
          snd_brk = brk + size;
        }
      }
    }

    if (brk !== 0) {
      if (this.sbrk_base === 0) this.sbrk_base = brk;
      this.system_mem += size;
      if (brk === old_end && snd_brk === 0) {
        this.set_head(old_top, size + old_size + PREV_INUSE);
        this.set_seg_end(old_end + size);
        if (this.trace_on) this.t("sysmalloc", `heap grew in place: top ${hx(old_top)} now ${hx(size + old_size)}`);
      } else if (this.contiguous() && old_size && brk < old_end) {
        this.malloc_printerr("break adjusted to free malloc space");
      } else {
        let front_misalign = 0;
        let end_misalign = 0;
        let correction = 0;
        let aligned_brk = brk;
        if (this.contiguous()) {
          if (old_size) this.system_mem += brk - old_end; // count foreign sbrk as system_mem
          front_misalign = (brk + this.HDR) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) {
            correction = this.g.MALLOC_ALIGNMENT - front_misalign;
            aligned_brk += correction;
          }
          correction += old_size;
          end_misalign = brk + size + correction;
          correction += align_up(end_misalign, pagesize) - end_misalign;
          snd_brk = this.MORECORE(correction);
          if (snd_brk === 0) {
            correction = 0;
            snd_brk = this.MORECORE(0);
          }
        } else {
          if (this.g.MALLOC_ALIGNMENT !== this.HDR) {
            front_misalign = (brk + this.HDR) & MALLOC_ALIGN_MASK;
            if (front_misalign > 0) aligned_brk += this.g.MALLOC_ALIGNMENT - front_misalign;
          }
          if (snd_brk === 0) snd_brk = this.MORECORE(0);
        }
        if (snd_brk !== 0) {
          this.top = aligned_brk;
          this.set_head(aligned_brk, snd_brk - aligned_brk + correction + PREV_INUSE);
          this.system_mem += correction;
          const segs = this.segments;
          if (segs.length) this.set_seg_end(old_end);
          segs.push({ start: aligned_brk, end: snd_brk + correction });
          this.on_undo(() => {
            segs.pop();
          });
          if (this.trace_on) this.t("sysmalloc", `new top ${hx(aligned_brk)} size ${hx(snd_brk - aligned_brk + correction)}${correction ? ` (correction ${hx(correction)})` : ""}`);
          if (old_size !== 0) {
            // double fencepost at old_top so nothing merges with memory we do not own
            old_size = down16(old_size - 2 * this.HDR);
            this.set_head(old_top, old_size + PREV_INUSE);
            this.set_head(old_top + old_size, this.HDR + PREV_INUSE);
            this.set_head(old_top + old_size + this.HDR, this.HDR + PREV_INUSE);
            if (this.trace_on) this.t("sysmalloc", `foreign sbrk or non-contiguous space: fenceposts at ${hx(old_top + old_size)}`);
            if (old_size >= MINSIZE) this._int_free(old_top, true);
          }
        }
      }
    }
    this.max_system_mem = Math.max(this.max_system_mem, this.system_mem);

    const p = this.top;
    const psize = this.chunksize(p);
    if (psize >= nb + MINSIZE) {
      const remainder_size = psize - nb;
      const remainder = p + nb;
      this.top = remainder;
      this.set_head(p, nb + PREV_INUSE);
      this.set_head(remainder, remainder_size + PREV_INUSE);
      return this.chunk2mem(p);
    }
    this.errno = 12; // ENOMEM
    if (this.trace_on) this.t("sysmalloc", `cannot satisfy nb ${hx(nb)}: ENOMEM`);
    return 0;
  }

  /** systrim: give the top of the heap back with sbrk(-extra), keeping `pad` */
  private systrim(pad: number): number {
    const top_size = this.chunksize(this.top);
    const top_area = top_size - this.MINSIZE - 1;
    if (top_area <= pad) return 0;
    const extra = align_down(top_area - pad, this.pagesize);
    if (extra === 0) return 0;
    const current_brk = this.MORECORE(0);
    if (current_brk === this.top + top_size) {
      this.MORECORE(-extra);
      const new_brk = this.MORECORE(0);
      if (new_brk !== 0) {
        const released = current_brk - new_brk;
        if (released !== 0) {
          this.system_mem -= released;
          this.set_head(this.top, top_size - released + PREV_INUSE);
          this.set_seg_end(new_brk);
          if (this.trace_on) this.t("systrim", `top ${hx(top_size)} ≥ trim_threshold: released ${hx(released)}, break now ${hx(new_brk)}`);
          return 1;
        }
      }
    }
    return 0;
  }

  /** munmap_chunk: release an mmapped chunk's whole mapping */
  private munmap_chunk(p: number): void {
    const size = this.chunksize(p);
    const mem = this.chunk2mem(p);
    const block = p - this.prev_size(p);
    const total_size = this.prev_size(p) + size;
    const off = mem % this.pagesize;
    if (block % this.pagesize !== 0 || total_size % this.pagesize !== 0 || (off & (off - 1)) !== 0) this.malloc_printerr("munmap_chunk(): invalid pointer");
    this.n_mmaps--;
    this.mmapped_mem -= total_size;
    const rec = this.mmapped.get(mem);
    this.mmapped.delete(mem);
    if (rec) this.on_undo(() => this.mmapped.set(mem, rec));
    if (this.trace_on) this.t("munmap_chunk", `munmap(${hx(block)}, ${hx(total_size)})`);
    this.host.munmap(BigInt(block), BigInt(total_size));
  }

  /** mremap_chunk (HAVE_MREMAP on Linux); host.mremap or an emulation (shrink in place, grow by copy) */
  private mremap_chunk(p: number, nb: number): number {
    const offset = this.prev_size(p);
    const size = this.chunksize(p);
    const block = p - offset;
    const mem = this.chunk2mem(p);
    const total_size = offset + size;
    const off = mem % this.pagesize;
    if (block % this.pagesize !== 0 || total_size % this.pagesize !== 0 || (off & (off - 1)) !== 0) this.malloc_printerr("mremap_chunk(): invalid pointer");
    const new_size = align_up(nb + offset + this.W, this.pagesize);
    if (total_size === new_size) return p;
    let cp: number;
    if (this.host.mremap) {
      const r = this.host.mremap(BigInt(block), BigInt(total_size), BigInt(new_size));
      if (r === null) return 0;
      cp = Number(r);
    } else if (new_size < total_size) {
      this.host.munmap(BigInt(block + new_size), BigInt(total_size - new_size));
      cp = block;
    } else {
      const r = this.host.mmap(BigInt(new_size));
      if (r === null) return 0;
      cp = Number(r);
      this.host.write(BigInt(cp), this.host.read(BigInt(block), total_size));
      this.host.munmap(BigInt(block), BigInt(total_size));
    }
    // mremap is the point of no return (like munmap): nothing after it can abort
    this.commit();
    const np = cp + offset;
    this.wr(np + this.W, new_size - offset + IS_MMAPPED);
    this.mmapped_mem += new_size - size - offset;
    this.max_mmapped_mem = Math.max(this.max_mmapped_mem, this.mmapped_mem);
    this.mmapped.delete(mem);
    this.mmapped.set(this.chunk2mem(np), { block: cp, total: new_size });
    if (this.trace_on) this.t("mremap_chunk", `mremap(${hx(block)}, ${hx(total_size)}, ${hx(new_size)}, MREMAP_MAYMOVE) = ${hx(cp)}${this.host.mremap ? "" : " (emulated)"}`);
    return np;
  }

  // ------------------------------------------------------------------ free

  /** _int_free: the checks, then tcache_put while the chunk's tcache bin has room, else
   *  _int_free_chunk. `sz`: p's size word if the caller (__libc_free) just loaded it; `outer`: see
   *  __libc_malloc (the journal starts after the tcache attempt). */
  private _int_free(p: number, have_lock: boolean, sz = this.size_nomask(p), outer = false): void {
    const W = this.W;
    const size = this.chunksize_of(sz);
    if (this.trace_on) this.t("_int_free", `chunk ${hx(p)} size ${hx(size)}`);
    const lim = size === 0 ? 0 : this.addr_space - size; // (uintptr_t) -size
    if (p > lim || this.misaligned_chunk(p)) this.malloc_printerr("free(): invalid pointer");
    if (size < this.MINSIZE || (size & MALLOC_ALIGN_MASK) !== 0) this.malloc_printerr("free(): invalid size"); // !aligned_OK (size)

    const tc_idx = this.csize2tidx(size);
    if (this.tcache !== 0 && tc_idx < TCACHE_MAX_BINS) {
      const e = this.chunk2mem(p);
      if (this.rd(e + W) === this.tcache_key) {
        // tcache_double_free_verify
        let cnt = 0;
        for (let tmp = this.rd(this.tc_entry_addr(tc_idx)); tmp; tmp = this.protect_ptr(tmp, this.rd(tmp)), ++cnt) {
          if (cnt >= TCACHE_FILL_COUNT) this.malloc_printerr("free(): too many chunks detected in tcache");
          if (!this.aligned_OK(tmp)) this.malloc_printerr("free(): unaligned chunk detected in tcache 2");
          if (tmp === e) this.malloc_printerr("free(): double free detected in tcache 2");
        }
      }
      if (this.tc_count(tc_idx) < TCACHE_FILL_COUNT) {
        this.tcache_put(p, tc_idx, true, size);
        return;
      }
    }
    this.start_journal(outer);
    this._int_free_chunk(p, size, have_lock);
  }

  /** the part of _int_free after the tcache (later glibc releases split it out under this name):
   *  fastbin, _int_free_merge_chunk, or munmap_chunk */
  private _int_free_chunk(p: number, size: number, have_lock: boolean): void {
    const W = this.W;
    if (size <= this.max_fast) {
      const nxt = p + size;
      if (this.size_nomask(nxt) <= this.HDR || this.chunksize(nxt) >= this.system_mem) this.malloc_printerr("free(): invalid next size (fast)");
      this.have_fastchunks = true;
      const idx = this.fastbin_index(size);
      const fb = this.fastbin_addr(idx);
      const old = this.rd(fb);
      if (old === p) this.malloc_printerr("double free or corruption (fasttop)");
      this.set_fd(p, this.protect_ptr(p + 2 * W, old));
      this.wr(fb, p);
      if (have_lock && old !== 0 && this.fastbin_index(this.chunksize(old)) !== idx) this.malloc_printerr("invalid fastbin entry (free)");
      if (this.trace_on) this.t("_int_free", `chunk ${hx(p)} (${hx(size)}) → fastbin[${idx}]`);
    } else if (!(this.size_nomask(p) & IS_MMAPPED)) {
      this._int_free_merge_chunk(p, size);
    } else {
      this.munmap_chunk(p);
    }
  }

  /** _int_free_merge_chunk: sanity checks, consolidate backward, then _int_free_create_chunk */
  private _int_free_merge_chunk(p: number, size: number): void {
    const nextchunk = p + size;
    if (p === this.top) this.malloc_printerr("double free or corruption (top)");
    if (this.contiguous() && nextchunk >= this.top + this.chunksize(this.top)) this.malloc_printerr("double free or corruption (out)");
    if (!this.prev_inuse(nextchunk)) this.malloc_printerr("double free or corruption (!prev)");
    const nextsize = this.chunksize(nextchunk);
    if (this.size_nomask(nextchunk) <= this.HDR || nextsize >= this.system_mem) this.malloc_printerr("free(): invalid next size (normal)");
    if (!this.prev_inuse(p)) {
      const prevsize = this.prev_size(p);
      size += prevsize;
      p = p - prevsize;
      if (this.chunksize(p) !== prevsize) this.malloc_printerr("corrupted size vs. prev_size while consolidating");
      if (this.trace_on) this.t("_int_free_merge_chunk", `merge backward with free ${hx(p)} (${hx(prevsize)})`);
      this.unlink_chunk(p);
    }
    size = this._int_free_create_chunk(p, size, nextchunk, nextsize);
    this._int_free_maybe_consolidate(size);
  }

  /** _int_free_create_chunk: consolidate forward; put in unsorted, or merge into top */
  private _int_free_create_chunk(p: number, size: number, nextchunk: number, nextsize: number): number {
    if (nextchunk !== this.top) {
      const nextinuse = this.inuse_bit_at_offset(nextchunk, nextsize);
      if (!nextinuse) {
        if (this.trace_on) this.t("_int_free_create_chunk", `merge forward with free ${hx(nextchunk)} (${hx(nextsize)})`);
        this.unlink_chunk(nextchunk);
        size += nextsize;
      } else this.clear_inuse_bit_at_offset(nextchunk, 0);
      const bck = this.unsorted;
      const fwd = this.fd(bck);
      if (this.bk(fwd) !== bck) this.malloc_printerr("free(): corrupted unsorted chunks");
      this.set_fd(p, fwd);
      this.set_bk(p, bck);
      if (!this.in_smallbin_range(size)) {
        this.set_fd_nextsize(p, 0);
        this.set_bk_nextsize(p, 0);
      }
      this.set_fd(bck, p);
      this.set_bk(fwd, p);
      this.set_head(p, size + PREV_INUSE);
      this.set_foot(p, size);
      if (this.trace_on) this.t("_int_free_create_chunk", `chunk ${hx(p)} (${hx(size)}) → unsorted`);
    } else {
      size += nextsize;
      this.set_head(p, size + PREV_INUSE);
      this.top = p;
      if (this.trace_on) this.t("_int_free_create_chunk", `chunk ${hx(p)} merged into top, top size ${hx(size)}`);
    }
    return size;
  }

  /** _int_free_maybe_consolidate: a free of ≥ 64 KiB consolidates fastbins and may systrim */
  private _int_free_maybe_consolidate(size: number): void {
    if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
      if (this.have_fastchunks) this.malloc_consolidate();
      if (this.chunksize(this.top) >= this.trim_threshold) this.systrim(this.top_pad);
    }
  }

  /** malloc_consolidate: empty every fastbin, coalescing each chunk and putting it in unsorted or top */
  private malloc_consolidate(): void {
    this.have_fastchunks = false;
    const unsorted_bin = this.unsorted;
    let moved = 0;
    for (let i = 0; i < this.g.NFASTBINS; i++) {
      const fb = this.fastbin_addr(i);
      let p = this.rd(fb);
      if (p === 0) continue;
      this.wr(fb, 0);
      do {
        if (this.misaligned_chunk(p)) this.malloc_printerr("malloc_consolidate(): unaligned fastbin chunk detected");
        if (this.fastbin_index(this.chunksize(p)) !== i) this.malloc_printerr("malloc_consolidate(): invalid chunk size");
        const nextp = this.protect_ptr(p + 2 * this.W, this.fd(p));
        let size = this.chunksize(p);
        const nextchunk = p + size;
        const nextsize = this.chunksize(nextchunk);
        if (!this.prev_inuse(p)) {
          const prevsize = this.prev_size(p);
          size += prevsize;
          p = p - prevsize;
          if (this.chunksize(p) !== prevsize) this.malloc_printerr("corrupted size vs. prev_size in fastbins");
          this.unlink_chunk(p);
        }
        if (nextchunk !== this.top) {
          const nextinuse = this.inuse_bit_at_offset(nextchunk, nextsize);
          if (!nextinuse) {
            size += nextsize;
            this.unlink_chunk(nextchunk);
          } else this.clear_inuse_bit_at_offset(nextchunk, 0);
          const first_unsorted = this.fd(unsorted_bin);
          this.set_fd(unsorted_bin, p);
          this.set_bk(first_unsorted, p);
          if (!this.in_smallbin_range(size)) {
            this.set_fd_nextsize(p, 0);
            this.set_bk_nextsize(p, 0);
          }
          this.set_head(p, size + PREV_INUSE);
          this.set_bk(p, unsorted_bin);
          this.set_fd(p, first_unsorted);
          this.set_foot(p, size);
        } else {
          size += nextsize;
          this.set_head(p, size + PREV_INUSE);
          this.top = p;
        }
        this.loop_guard(moved++, "malloc_consolidate");
        p = nextp;
      } while (p !== 0);
    }
    if (this.trace_on) this.t("malloc_consolidate", `${moved} fastbin chunk(s) coalesced into unsorted/top`);
  }

  // ------------------------------------------------------------------ realloc / trim

  /** _int_realloc: shrink in place, grow into top or a free next chunk, else malloc-copy-free */
  private _int_realloc(oldp: number, oldsize: number, nb: number): number {
    if (this.size_nomask(oldp) <= this.HDR || oldsize >= this.system_mem) this.malloc_printerr("realloc(): invalid old size");
    const next = oldp + oldsize;
    const nextsize = this.chunksize(next);
    if (this.size_nomask(next) <= this.HDR || nextsize >= this.system_mem) this.malloc_printerr("realloc(): invalid next size");
    let newp: number;
    let newsize: number;
    if (oldsize >= nb) {
      newp = oldp;
      newsize = oldsize;
    } else if (next === this.top && (newsize = oldsize + nextsize) >= nb + this.MINSIZE) {
      this.set_head_size(oldp, nb);
      this.top = oldp + nb;
      this.set_head(this.top, newsize - nb + PREV_INUSE);
      if (this.trace_on) this.t("_int_realloc", `grow ${hx(oldp)} into top to ${hx(nb)}`);
      return this.chunk2mem(oldp);
    } else if (next !== this.top && !this.inuse(next) && (newsize = oldsize + nextsize) >= nb) {
      newp = oldp;
      if (this.trace_on) this.t("_int_realloc", `grow ${hx(oldp)} into free next chunk ${hx(next)}`);
      this.unlink_chunk(next);
    } else {
      const newmem = this._int_malloc(nb - MALLOC_ALIGN_MASK);
      if (newmem === 0) return 0;
      newp = this.mem2chunk(newmem);
      newsize = this.chunksize(newp);
      if (newp === next) {
        newsize += oldsize;
        newp = oldp;
      } else {
        this.memcpy(newmem, this.chunk2mem(oldp), oldsize - this.W); // CHUNK_AVAILABLE_SIZE - CHUNK_HDR_SZ
        if (this.trace_on) this.t("_int_realloc", `moved ${hx(oldp)} → ${hx(newp)}, copied ${oldsize - this.W} bytes`);
        this._int_free(oldp, true);
        return newmem;
      }
    }
    const remainder_size = newsize - nb;
    if (remainder_size < this.MINSIZE) {
      this.set_head_size(newp, newsize);
      this.set_inuse_bit_at_offset(newp, newsize);
    } else {
      const remainder = newp + nb;
      this.set_head_size(newp, nb);
      this.set_head(remainder, remainder_size + PREV_INUSE);
      this.set_inuse_bit_at_offset(remainder, remainder_size);
      if (this.trace_on) this.t("_int_realloc", `split off ${hx(remainder_size)} at ${hx(remainder)} and free it`);
      this._int_free(remainder, true);
    }
    return this.chunk2mem(newp);
  }

  /** mtrim: malloc_consolidate, madvise(MADV_DONTNEED) whole free pages inside binned chunks, systrim */
  private mtrim(pad: number): number {
    this.malloc_consolidate();
    const ps = this.pagesize;
    const psindex = this.bin_index(ps);
    let result = 0;
    const sizeof_chunk = 6 * this.W;
    for (let i = 1; i < NBINS; i++) {
      if (!(i === 1 || i >= psindex)) continue;
      for (const p of this.bin_chunks(i)) {
        let size = this.chunksize(p);
        if (size > ps - 1 + sizeof_chunk) {
          const paligned = align_up(p + sizeof_chunk, ps);
          size -= paligned - p;
          if (size > ps - 1) {
            this.host.madvise_dontneed?.(BigInt(paligned), BigInt(align_down(size, ps)));
            result = 1;
          }
        }
      }
    }
    return result | this.systrim(pad);
  }

  // ------------------------------------------------------------------ read-only inspection

  /** model: rd() that returns null instead of faulting, for walking possibly corrupted lists */
  private try_rd(a: number): number | null {
    try {
      return this.rd(a);
    } catch {
      return null;
    }
  }
  /** model: the chunks of bin i from last to first (the order malloc takes them); stops at a bad link or a cycle */
  private *bin_chunks(i: number): Generator<number> {
    const b = this.bin_at(i);
    const seen = new Set<number>();
    let p = this.try_rd(b + 3 * this.W);
    while (p !== null && p !== b) {
      if (p === 0 || this.misaligned_chunk(p) || seen.has(p)) {
        this.walk_errors.push(`bin ${i}: ${seen.has(p) ? "cycle" : "bad link"} at ${hx(p)}`);
        return;
      }
      seen.add(p);
      yield p;
      p = this.try_rd(p + 3 * this.W);
    }
    if (p === null) this.walk_errors.push(`bin ${i}: unreadable link`);
  }
  /** model: the chunks of fastbin i (REVEAL_PTR of each fd); stops at a bad link or a cycle */
  private *fastbin_chunks(i: number): Generator<number> {
    const seen = new Set<number>();
    let p = this.try_rd(this.fastbin_addr(i));
    while (p !== null && p !== 0) {
      if (this.misaligned_chunk(p) || seen.has(p)) {
        this.walk_errors.push(`fastbin[${i}]: ${seen.has(p) ? "cycle" : "bad link"} at ${hx(p)}`);
        return;
      }
      seen.add(p);
      yield p;
      const fd = this.try_rd(p + 2 * this.W);
      p = fd === null ? null : this.protect_ptr(p + 2 * this.W, fd);
    }
    if (p === null) this.walk_errors.push(`fastbin[${i}]: unreadable link`);
  }
  /** model: the chunks of tcache bin i (REVEAL_PTR of each next); stops at a bad link or a cycle */
  private *tcache_chunks(i: number): Generator<number> {
    if (!this.tcache) return;
    const seen = new Set<number>();
    let e = this.try_rd(this.tc_entry_addr(i));
    while (e !== null && e !== 0) {
      if (!this.aligned_OK(e) || seen.has(e)) {
        this.walk_errors.push(`tcache[${i}]: ${seen.has(e) ? "cycle" : "bad link"} at ${hx(e)}`);
        return;
      }
      seen.add(e);
      yield this.mem2chunk(e);
      const nx = this.try_rd(e);
      e = nx === null ? null : this.protect_ptr(e, nx);
    }
    if (e === null) this.walk_errors.push(`tcache[${i}]: unreadable link`);
  }
  /** chunk address → bin label, for every chunk reachable from tcache, fastbins and bins */
  private bin_labels(lists?: bin_list[]): Map<number, string> {
    const m = new Map<number, string>();
    const add = (label: string, kind: bin_list["kind"], index: number, chunks: Iterable<number>) => {
      const cs = [...chunks];
      for (const p of cs) m.set(p, label);
      if (lists && cs.length) lists.push({ name: label, kind, index, chunks: cs.map((p) => BigInt(p)) });
    };
    for (let i = 0; i < TCACHE_MAX_BINS; i++) add(`tcache[${i}]`, "tcache", i, this.tcache_chunks(i));
    for (let i = 0; i < this.g.NFASTBINS; i++) add(`fastbin[${i}]`, "fastbin", i, this.fastbin_chunks(i));
    for (let i = 1; i < NBINS; i++) {
      const kind = i === 1 ? "unsorted" : i < NSMALLBINS ? "smallbin" : "largebin";
      add(i === 1 ? "unsorted" : `${kind}[${i}]`, kind, i, this.bin_chunks(i));
    }
    return m;
  }

  /** The heap as a list of chunks (per sbrk segment), the mmapped chunks and the tunables. Never mutates. */
  inspect(): heap_view {
    this.walk_errors = [];
    const bins: bin_list[] = [];
    const labels = this.bin_labels(bins);
    const chunks: chunk_info[] = [];
    const top = this.top;
    for (const seg of this.segments) {
      let p = seg.start;
      let fenceposts = 0;
      for (let n = 0; n < 1_000_000 && p < seg.end; n++) {
        const raw = this.try_rd(p + this.W);
        if (raw === null) {
          this.walk_errors.push(`chunk ${hx(p)}: unreadable header`);
          break;
        }
        const size = this.chunksize_of(raw);
        const base = { addr: BigInt(p), mem: BigInt(p + this.HDR), size, prev_inuse: (raw & PREV_INUSE) !== 0, is_mmapped: (raw & IS_MMAPPED) !== 0 };
        if (p === top) {
          chunks.push({ ...base, state: "top", bin: "top" });
          break;
        }
        if (size < this.MINSIZE) {
          chunks.push({ ...base, state: "fencepost", bin: null });
          if (size === 0 || ++fenceposts === 2) break;
          p += size;
          continue;
        }
        const label = labels.get(p) ?? null;
        chunks.push({ ...base, state: label ? "free" : "allocated", bin: label });
        p += size;
      }
    }
    const mmapped: mmapped_chunk_info[] = [];
    for (const [mem, r] of [...this.mmapped].sort((a, b) => a[0] - b[0])) {
      const p = this.mem2chunk(mem);
      mmapped.push({ mapping: BigInt(r.block), mapping_size: r.total, addr: BigInt(p), mem: BigInt(mem), size: this.chunksize_of(this.try_rd(p + this.W) ?? 0) });
    }
    const initialized = this.segments.length > 0;
    return {
      bits: this.bits,
      initialized,
      sbrk_base: BigInt(this.sbrk_base),
      top_end: initialized ? BigInt(top + this.chunksize_of(this.try_rd(top + this.W) ?? 0)) : 0n,
      brk: this.host.sbrk(0n) ?? 0n,
      top: initialized ? BigInt(top) : 0n,
      top_size: initialized ? this.chunksize_of(this.try_rd(top + this.W) ?? 0) : 0,
      system_mem: this.system_mem,
      chunks,
      mmapped,
      tcache: BigInt(this.tcache),
      tcache_counts: Array.from({ length: TCACHE_MAX_BINS }, (_, i) => (this.tcache ? this.try_tc_count(i) : 0)),
      mmap_threshold: this.mmap_threshold,
      trim_threshold: this.trim_threshold,
      top_pad: this.top_pad,
      n_mmaps: this.n_mmaps,
      mmapped_mem: this.mmapped_mem,
      main_arena: BigInt(this.main_arena),
      bins,
      walk_errors: this.walk_errors.slice(),
      overhead: this.overhead(),
    };
  }

  /**
   * do_check_malloc_state, extended: every problem found (empty when consistent). Checks the chunk chain
   * of each heap segment ends at top, PREV_INUSE bits, footers, full coalescing, bin membership and
   * order, binmap, tcache counts/keys, fastbin sizes, mmapped chunk geometry and statistics.
   */
  check(): string[] {
    const errs: string[] = [];
    const err = (s: string) => {
      if (errs.length < 50) errs.push(s);
    };
    this.walk_errors = [];
    try {
      this.check_into(err);
    } catch (e) {
      err(`check aborted: ${(e as Error).message}`);
    }
    for (const w of this.walk_errors) err(w);
    return errs;
  }

  /** model: a large bin's skip list — the first chunk of each size links to the next smaller and larger
   *  first chunks (circularly, fd_nextsize going down); every other chunk has NULL nextsize links */
  private check_nextsize(i: number, err: (s: string) => void): void {
    const fdorder = [...this.bin_chunks(i)].reverse(); // first (largest) … last (smallest)
    const heads = fdorder.filter((p, k) => k === 0 || this.chunksize(p) !== this.chunksize(fdorder[k - 1]!));
    const headset = new Set(heads);
    heads.forEach((h, k) => {
      const down = heads[(k + 1) % heads.length]!;
      const up = heads[(k - 1 + heads.length) % heads.length]!;
      if (this.fd_nextsize(h) !== down || this.bk_nextsize(h) !== up) err(`largebin[${i}]: skip list broken at ${hx(h)}`);
    });
    for (const p of fdorder)
      if (!headset.has(p) && (this.fd_nextsize(p) !== 0 || this.bk_nextsize(p) !== 0)) err(`largebin[${i}]: ${hx(p)} is not first of its size but has nextsize links`);
  }
  /** model: the body of check() */
  private check_into(err: (s: string) => void): void {
    const W = this.W;
    const MINSIZE = this.MINSIZE;
    const top = this.top;
    const where = new Map<number, string>(); // chunk → bin label
    const put = (p: number, label: string) => {
      const prev = where.get(p);
      if (prev) err(`chunk ${hx(p)} is in ${prev} and in ${label}`);
      where.set(p, label);
    };
    // tcache
    if (this.tcache) {
      for (let i = 0; i < TCACHE_MAX_BINS; i++) {
        let n = 0;
        for (const p of this.tcache_chunks(i)) {
          n++;
          put(p, `tcache[${i}]`);
          if (!this.aligned_OK(p + this.HDR)) err(`tcache[${i}]: misaligned ${hx(p)}`);
          if (this.csize2tidx(this.chunksize(p)) !== i) err(`tcache[${i}]: chunk ${hx(p)} has size ${hx(this.chunksize(p))}`);
          if (this.rd(p + this.HDR + W) !== this.tcache_key) err(`tcache[${i}]: chunk ${hx(p)} lacks tcache_key`);
          if (!this.inuse(p)) err(`tcache[${i}]: chunk ${hx(p)} not marked in use`);
          if (n > TCACHE_FILL_COUNT) break;
        }
        if (n !== this.tc_count(i)) err(`tcache counts[${i}] = ${this.tc_count(i)} but ${n} chunks listed`);
      }
    }
    // fastbins
    for (let i = 0; i < this.g.NFASTBINS; i++) {
      for (const p of this.fastbin_chunks(i)) {
        put(p, `fastbin[${i}]`);
        if (this.misaligned_chunk(p)) err(`fastbin[${i}]: misaligned ${hx(p)}`);
        if (this.fastbin_index(this.chunksize(p)) !== i) err(`fastbin[${i}]: chunk ${hx(p)} has size ${hx(this.chunksize(p))}`);
        if (!this.inuse(p)) err(`fastbin[${i}]: chunk ${hx(p)} not marked in use`);
        if (!this.have_fastchunks) err(`fastbin[${i}] not empty but have_fastchunks is false`);
      }
    }
    // regular bins
    for (let i = 1; i < NBINS; i++) {
      const b = this.bin_at(i);
      const empty = this.bk(b) === b;
      if (i >= 2 && !((this.binmap[i >>> 5]! >>> (i & 31)) & 1) && !empty) err(`bin ${i} not empty but its binmap bit is clear`);
      let prevsize = Infinity;
      for (const p of this.bin_chunks(i)) {
        const label = i === 1 ? "unsorted" : i < NSMALLBINS ? `smallbin[${i}]` : `largebin[${i}]`;
        put(p, label);
        const size = this.chunksize(p);
        if (this.bk(this.fd(p)) !== p || this.fd(this.bk(p)) !== p) err(`${label}: broken links at ${hx(p)}`);
        if (this.inuse(p)) err(`${label}: chunk ${hx(p)} is marked in use`);
        if (this.prev_size(p + size) !== size) err(`${label}: chunk ${hx(p)} footer ${hx(this.prev_size(p + size))} ≠ size ${hx(size)}`);
        if (i >= 2 && this.bin_index(size) !== i) err(`${label}: chunk ${hx(p)} size ${hx(size)} belongs in bin ${this.bin_index(size)}`);
        // walking from the back (bk) goes from smallest to largest in a large bin
        if (i >= NSMALLBINS && prevsize !== Infinity && size < prevsize) err(`${label}: not sorted at ${hx(p)}`);
        prevsize = size;
      }
      if (i >= NSMALLBINS && !empty) this.check_nextsize(i, err);
    }
    // heap walk
    if (this.segments.length) {
      const topsize = this.chunksize(top);
      if (topsize < MINSIZE) err(`top ${hx(top)} smaller than MINSIZE`);
      if (!this.prev_inuse(top)) err(`top ${hx(top)} has PREV_INUSE clear`);
      if (this.contiguous() && this.sbrk_base + this.system_mem !== top + topsize)
        err(`sbrk_base + system_mem ${hx(this.sbrk_base + this.system_mem)} ≠ top end ${hx(top + topsize)}`);
      if ((top + topsize) % this.pagesize !== 0) err(`top end ${hx(top + topsize)} not page aligned`);
      const starts = new Set<number>();
      let reached_top = false;
      for (const seg of this.segments) {
        let p = seg.start;
        let prev_binned_free = false;
        let fenceposts = 0;
        for (let n = 0; p < seg.end && n < 10_000_000; n++) {
          starts.add(p);
          const raw = this.size_nomask(p);
          const size = this.chunksize_of(raw);
          if (((raw & PREV_INUSE) === 0) !== prev_binned_free) err(`chunk ${hx(p)}: PREV_INUSE is ${raw & PREV_INUSE} but previous chunk is ${prev_binned_free ? "free" : "in use"}`);
          if (raw & IS_MMAPPED) err(`heap chunk ${hx(p)} has IS_MMAPPED set`);
          if (p === top) {
            reached_top = true;
            if (prev_binned_free) err(`free chunk before top was not merged into top`);
            break;
          }
          if (size < MINSIZE) {
            if (size !== this.HDR) {
              err(`chunk ${hx(p)}: size ${hx(size)} below MINSIZE`);
              break;
            }
            if (++fenceposts === 2) break;
            p += size;
            prev_binned_free = false;
            continue;
          }
          if (size % 16 !== 0) err(`chunk ${hx(p)}: size ${hx(size)} not a multiple of 16`);
          if (!this.aligned_OK(p + this.HDR)) err(`chunk ${hx(p)}: misaligned`);
          const binned_free = !this.inuse(p);
          if (binned_free) {
            const w = where.get(p);
            if (!w || w.startsWith("tcache") || w.startsWith("fastbin")) err(`free chunk ${hx(p)} is in no regular bin`);
            if (prev_binned_free) err(`two adjacent free chunks at ${hx(p)}`);
          } else {
            const w = where.get(p);
            if (w && !(w.startsWith("tcache") || w.startsWith("fastbin"))) err(`chunk ${hx(p)} in ${w} but marked in use`);
          }
          prev_binned_free = binned_free;
          p += size;
        }
      }
      if (!reached_top) err(`chunk walk never reached top ${hx(top)}`);
      for (const p of where.keys()) if (!starts.has(p)) err(`binned chunk ${hx(p)} is not a chunk boundary of the heap`);
    } else if (where.size) err(`bins not empty before the first sysmalloc`);
    // mmapped chunks
    let total = 0;
    const ranges: [number, number][] = [];
    for (const [mem, r] of this.mmapped) {
      const p = this.mem2chunk(mem);
      const raw = this.size_nomask(p);
      if (!(raw & IS_MMAPPED)) err(`mmapped chunk ${hx(p)} lacks IS_MMAPPED`);
      if (p - this.prev_size(p) !== r.block || this.prev_size(p) + this.chunksize_of(raw) !== r.total) err(`mmapped chunk ${hx(p)} header does not describe its mapping`);
      if (r.block % this.pagesize || r.total % this.pagesize) err(`mmapped chunk ${hx(p)} mapping not page aligned`);
      if (!this.aligned_OK(mem)) err(`mmapped chunk ${hx(p)} user pointer misaligned`);
      total += r.total;
      ranges.push([r.block, r.block + r.total]);
    }
    for (const s of this.segments) ranges.push([s.start, s.end]);
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] < ranges[i - 1]![1]) err(`regions ${hx(ranges[i - 1]![0])} and ${hx(ranges[i]![0])} overlap`);
    if (total !== this.mmapped_mem) err(`mmapped_mem ${this.mmapped_mem} ≠ Σ mappings ${total}`);
    if (this.mmapped.size !== this.n_mmaps) err(`n_mmaps ${this.n_mmaps} ≠ ${this.mmapped.size} live mmapped chunks`);
  }
}
