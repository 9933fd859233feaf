/**
 * glibc 2.39 ptmalloc model: worked examples computed from malloc.c (request2size, bins, first heap,
 * mmapped chunk layout, dynamic threshold, trimming) and glibc's abort messages, each leaving the
 * allocator, its memory and the break exactly as before.
 */
import { describe, expect, it } from "vitest";
import { bin_index, malloc_abort, malloc_geometry, M_MMAP_THRESHOLD, ptmalloc, request2size } from "../../src/libc/malloc";
import { sparse_host, sparse_host_fault } from "../../src/libc/sparse_host";

function setup(bits: 32 | 64 = 64) {
  const h = new sparse_host({ bits });
  const events: string[] = [];
  const m = new ptmalloc(h, { trace: (fn, file, text) => events.push(`${fn} (${file}): ${text}`) });
  return { h, m, base: h.brk, events };
}
function word(h: sparse_host, a: bigint): bigint {
  const b = h.read(a, h.bits / 8);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}
/** everything a failed call must leave unchanged */
function state(m: ptmalloc, h: sparse_host): string {
  const v = m.inspect();
  return JSON.stringify({ v, p: m.params, brk: h.brk, maps: h.maps, info: m.mallinfo2() }, (_k, x) => (typeof x === "bigint" ? "0x" + x.toString(16) : x));
}
function expect_abort(m: ptmalloc, h: sparse_host, f: () => unknown, msg: string, consistent = true) {
  const before = state(m, h);
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(malloc_abort);
  expect((err as Error).message).toBe(msg);
  expect(state(m, h)).toBe(before);
  if (consistent) expect(m.check()).toEqual([]);
}

describe("constants and size classes (malloc.c, sysdeps malloc-alignment.h)", () => {
  it("request2size on x86-64: malloc(0..24) → 32, (25..40) → 48, …", () => {
    const t = [0, 1, 24, 25, 40, 41, 56, 57, 120, 121, 1032, 131048, 131049].map((n) => [n, request2size(n, 64)]);
    expect(t).toEqual([
      [0, 32], [1, 32], [24, 32], [25, 48], [40, 48], [41, 64], [56, 64], [57, 80], [120, 128], [121, 144], [1032, 1040], [131048, 131056], [131049, 131072],
    ]);
  });
  it("request2size on i386 (SIZE_SZ 4, MALLOC_ALIGNMENT 16, MINSIZE 16)", () => {
    const t = [0, 12, 13, 28, 29, 44, 45, 60, 61, 131052, 131053].map((n) => [n, request2size(n, 32)]);
    expect(t).toEqual([[0, 16], [12, 16], [13, 32], [28, 32], [29, 48], [44, 48], [45, 64], [60, 64], [61, 80], [131052, 131056], [131053, 131072]]);
  });
  it("geometry: MINSIZE, fastbin limit, tcache limit, smallbin/largebin boundary", () => {
    const g64 = malloc_geometry(64);
    const g32 = malloc_geometry(32);
    expect([g64.MINSIZE, g64.NFASTBINS, g64.DEFAULT_MXFAST, g64.MAX_TCACHE_SIZE, g64.MIN_LARGE_SIZE, g64.TCACHE_STRUCT_SIZE]).toEqual([32, 10, 128, 1032, 1024, 640]);
    expect([g32.MINSIZE, g32.NFASTBINS, g32.DEFAULT_MXFAST, g32.MAX_TCACHE_SIZE, g32.MIN_LARGE_SIZE, g32.TCACHE_STRUCT_SIZE]).toEqual([16, 11, 64, 1020, 1008, 384]);
    expect(new ptmalloc(new sparse_host({ bits: 64 })).params.max_fast).toBe(128);
    expect(new ptmalloc(new sparse_host({ bits: 32 })).params.max_fast).toBe(64);
  });
  it("bin_index: small bins every 16 bytes, then largebin_index_64 / _32_big", () => {
    expect([32, 48, 1008, 1024, 1088, 3072, 3136, 10240, 0x28000, 0x100000].map((s) => bin_index(s, 64))).toEqual([2, 3, 63, 64, 65, 96, 97, 111, 124, 126]);
    expect([16, 32, 992, 1008, 2944, 2960, 3072].map((s) => bin_index(s, 32))).toEqual([2, 3, 63, 64, 96, 96, 97]);
  });
});

describe("the heap grows with sbrk, large requests get their own mapping", () => {
  it("first malloc on x86-64: tcache_perthread_struct (0x290) then the chunk; heap 0x21000", () => {
    const { h, m, base, events } = setup(64);
    const p = m.malloc(16);
    expect(p - base).toBe(0x2a0n);
    expect(h.brk - base).toBe(0x21000n);
    expect(word(h, base + 8n)).toBe(0x291n); // tcache chunk header: 0x290 | PREV_INUSE
    expect(word(h, p - 8n)).toBe(0x21n); // the user chunk header
    expect(word(h, p + 0x18n)).toBe(0x21000n - 0x2b0n + 1n); // top chunk header
    expect(events.some((e) => e.startsWith("sysmalloc (malloc/malloc.c)"))).toBe(true);
    const v = m.inspect();
    expect(v.chunks.map((c) => [Number(c.addr - base), c.size, c.state])).toEqual([[0, 0x290, "allocated"], [0x290, 0x20, "allocated"], [0x2b0, 0x21000 - 0x2b0, "top"]]);
    expect(m.check()).toEqual([]);
  });
  it("first malloc on i386: the 8-byte front correction costs one more page (0x22000)", () => {
    const { h, m, base } = setup(32);
    const p = m.malloc(16);
    expect(p - base).toBe(0x1a0n);
    expect(p % 16n).toBe(0n);
    expect(h.brk - base).toBe(0x22000n);
    expect(m.check()).toEqual([]);
  });
  it("mmapped chunk: mapping ALIGN_UP(nb + SIZE_SZ, page), user pointer mapping + 16 (x86-64)", () => {
    const { h, m } = setup(64);
    const p = m.malloc(300000); // nb 300016 > top: sysmalloc → mmap
    expect(p % 4096n).toBe(16n);
    expect(word(h, p - 8n)).toBe(303104n + 2n); // size | IS_MMAPPED
    expect(word(h, p - 16n)).toBe(0n); // prev_size: no front correction
    expect(m.inspect().mmapped).toEqual([{ mapping: p - 16n, mapping_size: 303104, addr: p - 16n, mem: p, size: 303104 }]);
    expect(m.malloc_usable_size(p)).toBe(303104 - 16);
    m.free(p);
    expect(h.maps).toEqual([]);
    expect(m.check()).toEqual([]);
  });
  it("mmapped chunk on i386: 8-byte correction stored in prev_size, user pointer mapping + 16", () => {
    const { h, m } = setup(32);
    const p = m.malloc(300000);
    expect(p % 4096n).toBe(16n);
    expect(word(h, p - 8n)).toBe(8n); // prev_size = correction
    expect(word(h, p - 4n)).toBe(303104n - 8n + 2n);
    m.free(p);
    expect(h.maps).toEqual([]);
  });
  it("threshold compares the chunk size: 131048 → heap, 131049 → mmap (when top cannot serve it)", () => {
    const { h, m, base } = setup(64);
    m.malloc(131048);
    while (m.inspect().top_size >= 131072 + 32) m.malloc(1000); // top can no longer serve nb 131072
    const a = m.malloc(131049);
    expect(a % 4096n).toBe(16n);
    expect(a > h.brk).toBe(true);
    const b = m.malloc(131048);
    expect(b > base && b < h.brk).toBe(true);
  });
  it("dynamic threshold: freeing a 200000-byte mmapped chunk sets threshold 200704, trim 401408", () => {
    const { h, m } = setup(64);
    const q = m.malloc(200000);
    expect(q % 4096n).toBe(16n);
    m.free(q);
    expect(m.params.mmap_threshold).toBe(200704);
    expect(m.params.trim_threshold).toBe(401408);
    const q2 = m.malloc(200000);
    expect(q2 < h.brk).toBe(true); // heap now
    // mallopt(M_MMAP_THRESHOLD) turns the dynamic rule off
    const { m: m2 } = setup(64);
    expect(m2.mallopt(M_MMAP_THRESHOLD, 256 * 1024)).toBe(1);
    m2.free(m2.malloc(300000));
    expect(m2.params.mmap_threshold).toBe(256 * 1024);
  });
  it("trimming: freeing into a top ≥ trim_threshold moves the break back, keeping top_pad", () => {
    const { h, m, base, events } = setup(64);
    const ps = [m.malloc(100000), m.malloc(100000), m.malloc(100000)];
    const high = h.brk - base;
    expect(high).toBeGreaterThan(300000n);
    for (const p of ps) m.free(p);
    const low = h.brk - base;
    expect(low).toBeLessThan(high);
    const v = m.inspect();
    expect(v.top_size).toBeGreaterThanOrEqual(128 * 1024);
    expect(v.top_size).toBeLessThan(128 * 1024 + 32 + 4096 + 0x300);
    expect(events.some((e) => e.startsWith("systrim"))).toBe(true);
    expect(m.check()).toEqual([]);
  });
});

describe("bins", () => {
  it("tcache is LIFO, 7 per size; the 8th free goes to a fastbin; malloc stashes fastbin chunks into tcache", () => {
    const { m } = setup(64);
    const ps = Array.from({ length: 9 }, () => m.malloc(40));
    for (const p of ps) m.free(p);
    const bins = new Map(m.inspect().chunks.map((c) => [c.mem, c.bin]));
    expect(ps.slice(0, 7).map((p) => bins.get(p))).toEqual(Array(7).fill("tcache[1]"));
    expect(ps.slice(7).map((p) => bins.get(p))).toEqual(["fastbin[1]", "fastbin[1]"]);
    // LIFO: the last freed into tcache comes back first
    const again = Array.from({ length: 9 }, () => m.malloc(40));
    expect(again.slice(0, 7)).toEqual(ps.slice(0, 7).reverse());
    // tcache empty: fastbin head (ps[8]) returned, ps[7] stashed into tcache then returned
    expect(again.slice(7)).toEqual([ps[8], ps[7]]);
    expect(m.check()).toEqual([]);
  });
  it("free coalesces with both neighbours into one unsorted chunk; malloc sorts it and splits it", () => {
    const { m } = setup(64);
    const [x, y, z] = [m.malloc(0x500), m.malloc(0x500), m.malloc(0x500)];
    m.malloc(16); // guard against top
    m.free(x);
    m.free(z);
    m.free(y);
    let v = m.inspect();
    const free = v.chunks.filter((c) => c.state === "free");
    expect(free.map((c) => [c.addr, c.size, c.bin])).toEqual([[x - 16n, 3 * 0x510, "unsorted"]]);
    const w = m.malloc(0x100);
    expect(w).toBe(x); // the unsorted chunk went to largebin[…], then binmap search split it
    const w2 = m.malloc(0x100);
    expect(w2).toBe(x + 0x110n); // last_remainder
    v = m.inspect();
    expect(v.chunks.filter((c) => c.state === "free").map((c) => c.bin)).toEqual(["unsorted"]);
    expect(m.check()).toEqual([]);
  });
  it("large request consolidates fastbins first (malloc_consolidate)", () => {
    const { m, events } = setup(64);
    const ps = Array.from({ length: 10 }, () => m.malloc(100));
    m.malloc(16);
    for (const p of ps) m.free(p);
    expect(m.inspect().chunks.filter((c) => c.bin?.startsWith("fastbin")).length).toBe(3);
    m.malloc(2000);
    expect(events.some((e) => e.startsWith("malloc_consolidate"))).toBe(true);
    expect(m.inspect().chunks.filter((c) => c.bin?.startsWith("fastbin")).length).toBe(0);
    expect(m.check()).toEqual([]);
  });
});

describe("calloc and realloc", () => {
  it("calloc returns zeroed memory even from a reused chunk (no tcache path in 2.39)", () => {
    const { h, m } = setup(64);
    const a = m.malloc(0x500);
    m.malloc(16);
    h.write(a, new Uint8Array(0x500).fill(0xaa));
    m.free(a);
    const c = m.calloc(1, 0x500);
    expect(c).toBe(a);
    expect(h.read(c, 0x500).every((b) => b === 0)).toBe(true);
    expect(m.calloc(2n ** 62n, 4)).toBe(0n); // overflow → NULL, ENOMEM
    expect(m.errno).toBe(12);
  });
  it("realloc keeps the bytes: in place, into top, moved, and mmapped (mremap emulated)", () => {
    for (const bits of [32, 64] as const) {
      const { h, m } = setup(bits);
      let p = m.malloc(100);
      const data = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
      h.write(p, data);
      for (const n of [200, 5000, 50, 300000, 400000, 100, 20]) {
        p = m.realloc(p, n);
        expect(Array.from(h.read(p, Math.min(n, 50)))).toEqual(Array.from(data.subarray(0, Math.min(n, 50))));
        expect(m.check()).toEqual([]);
      }
      expect(m.realloc(p, 0)).toBe(0n); // realloc(p, 0) frees
      expect(m.check()).toEqual([]);
    }
  });
});

describe("misuse: glibc's messages, nothing changed", () => {
  it("double free into tcache", () => {
    const { h, m } = setup(64);
    const p = m.malloc(24);
    m.free(p);
    expect_abort(m, h, () => m.free(p), "free(): double free detected in tcache 2");
  });
  it("double free of a fastbin top", () => {
    const { h, m } = setup(64);
    const ps = Array.from({ length: 8 }, () => m.malloc(24));
    for (const p of ps) m.free(p);
    expect_abort(m, h, () => m.free(ps[7]!), "free(): double free detected in tcache 2".replace(/.*/, "double free or corruption (fasttop)"));
  });
  it("double free merged into top, and of an unsorted chunk", () => {
    const { h, m } = setup(64);
    const a = m.malloc(0x500);
    m.free(a);
    expect_abort(m, h, () => m.free(a), "double free or corruption (top)");
    const b = m.malloc(0x500);
    m.malloc(0x500);
    m.free(b);
    expect_abort(m, h, () => m.free(b), "double free or corruption (!prev)");
  });
  it("invalid pointers", () => {
    const { h, m } = setup(64);
    const p = m.malloc(100);
    expect_abort(m, h, () => m.free(p + 8n), "free(): invalid pointer");
    expect_abort(m, h, () => m.free(p + 16n), "free(): invalid pointer"); // size word is user data: 0 → p > -0
    h.write(p + 8n, new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0]));
    expect_abort(m, h, () => m.free(p + 16n), "free(): invalid size"); // 8 < MINSIZE
    expect_abort(m, h, () => m.realloc(p + 8n, 10), "realloc(): invalid pointer");
    const big = m.malloc(300000);
    // forge an mmapped-looking header inside the mapping: not page aligned
    h.write(big + 0x1000n - 16n, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0x22, 0, 0, 0, 0, 0, 0, 0]));
    expect_abort(m, h, () => m.free(big + 0x1000n), "munmap_chunk(): invalid pointer");
    // an address nobody mapped: the process would get SIGSEGV; nothing changes either
    const before = state(m, h);
    expect(() => m.free(0x1000n)).toThrow(sparse_host_fault);
    expect(state(m, h)).toBe(before);
  });
  it("corrupted top size (house of force) is caught before use", () => {
    const { h, m } = setup(64);
    const p = m.malloc(24);
    h.write(p + 24n, new Uint8Array(8).fill(0xff)); // overflow into the top chunk's size
    expect_abort(m, h, () => m.malloc(0x1000), "malloc(): corrupted top size", false);
  });
  it("an abort after sbrk (tcache_init) and after malloc_consolidate undoes them", () => {
    const { h, m, base } = setup(64);
    // first call is a bogus free: __libc_free → tcache_init → sysmalloc → sbrk(0x21000) → _int_free aborts
    const page = h.mmap(4096n)!;
    expect_abort(m, h, () => m.free(page + 24n), "free(): invalid pointer");
    expect(h.brk).toBe(base);
    expect(m.inspect().initialized).toBe(false);
    // a large request consolidates fastbins, then meets a corrupted unsorted chunk
    const fs = Array.from({ length: 9 }, () => m.malloc(100));
    const a = m.malloc(0x500);
    m.malloc(16);
    for (const f of fs) m.free(f);
    m.free(a);
    h.write(a - 16n + 0x510n, new Uint8Array([0x99, 0, 0, 0, 0, 0, 0, 0])); // next->prev_size ≠ size
    // malloc_consolidate merges the fastbin chunk with the free chunk after it: unlink_chunk sees the lie
    expect_abort(m, h, () => m.malloc(0x600), "corrupted size vs. prev_size", false);
    expect(m.inspect().chunks.filter((c) => c.bin?.startsWith("fastbin")).length).toBe(2);
  });
});

describe("plugging into a process", () => {
  it("fork: the child's allocator continues from the parent's state, independently", () => {
    const { h, m } = setup(64);
    const a = m.malloc(100);
    const b = m.malloc(300000);
    m.free(m.malloc(40));
    const ch = h.clone();
    const c = m.fork(ch);
    expect(c.inspect()).toEqual(m.inspect());
    // same next decisions …
    expect(c.malloc(40)).toBe(m.malloc(40));
    // … then they diverge without touching each other
    c.free(a);
    c.free(b);
    expect(c.inspect().mmapped).toEqual([]);
    expect(m.inspect().mmapped.length).toBe(1);
    expect(m.malloc_usable_size(a)).toBe(104);
    expect([m.check(), c.check()]).toEqual([[], []]);
    // save/restore round-trips through structuredClone
    const r = ptmalloc.restore(h.clone(), structuredClone(m.save()));
    expect(r.inspect()).toEqual(m.inspect());
  });
  it("trace names glibc functions and the system calls they make", () => {
    const { m, events } = setup(64);
    m.free(m.malloc(200000));
    const fns = [...new Set(events.map((e) => e.split(" ")[0]))];
    expect(fns.sort()).toEqual(["MMAP", "MORECORE", "__libc_free", "__libc_malloc", "_int_malloc", "munmap_chunk", "sysmalloc", "sysmalloc_mmap", "tcache_init"]);
    expect(events.every((e) => e.includes("(malloc/malloc.c)"))).toBe(true);
  });
});

describe("less travelled paths", () => {
  it("sbrk fails: sysmalloc falls back to 1 MiB mmapped heaps (non-contiguous, fenceposts)", () => {
    for (const bits of [64, 32] as const) {
      const h = new sparse_host({ bits, brk_limit: (bits === 64 ? 0x555555559000n : 0x5655a000n) + 0x1000n });
      const m = new ptmalloc(h);
      const ps: bigint[] = [];
      for (let i = 0; i < 30; i++) ps.push(m.malloc(60000)); // > 1 MiB in total: a second mapping
      expect(h.brk).toBe(h.brk); // the break never moved
      expect(h.maps.length).toBe(2);
      const v = m.inspect();
      expect(v.chunks.filter((c) => c.state === "fencepost").length).toBe(2);
      expect(m.check()).toEqual([]);
      for (const p of ps) m.free(p);
      expect(m.check()).toEqual([]);
      expect(ps.every((p) => p % 16n === 0n)).toBe(true);
    }
  });
  it("realloc of an mmapped chunk through a host mremap", () => {
    class remap_host extends sparse_host {
      remaps = 0;
      mremap(addr: bigint, old_length: bigint, new_length: bigint): bigint | null {
        this.remaps++;
        const n = this.mmap(new_length);
        if (n === null) return null;
        this.write(n, this.read(addr, Number(old_length < new_length ? old_length : new_length)));
        this.munmap(addr, old_length);
        return n;
      }
    }
    const h = new remap_host({ bits: 64 });
    const m = new ptmalloc(h);
    let p = m.malloc(300000);
    h.write(p, new Uint8Array([1, 2, 3, 4]));
    p = m.realloc(p, 500000);
    p = m.realloc(p, 10000);
    expect(h.remaps).toBe(2);
    expect(Array.from(h.read(p, 4))).toEqual([1, 2, 3, 4]);
    expect(p % 4096n).toBe(16n);
    expect(m.check()).toEqual([]);
    m.free(p);
    expect(h.maps).toEqual([]);
  });
  it("malloc_trim(0) consolidates and gives back the top down to one page", () => {
    const { h, m, base } = setup(64);
    const ps = Array.from({ length: 20 }, () => m.malloc(100));
    m.malloc(5000);
    for (const p of ps) m.free(p);
    expect(m.malloc_trim(0)).toBe(1);
    expect(m.inspect().chunks.some((c) => c.bin?.startsWith("fastbin"))).toBe(false);
    expect(h.brk - base).toBeLessThan(0x21000n);
    expect(m.check()).toEqual([]);
  });
  it("a use-after-free write into a tcache entry is caught when malloc follows it", () => {
    const { h, m } = setup(64);
    const a = m.malloc(24);
    const b = m.malloc(24);
    m.free(a);
    m.free(b);
    h.write(b, new Uint8Array([0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0, 0])); // e->next = garbage
    expect(m.malloc(24)).toBe(b);
    expect_abort(m, h, () => m.malloc(24), "malloc(): unaligned tcache chunk detected", false);
  });
  it("check() reports a corrupted heap", () => {
    const { h, m } = setup(64);
    const a = m.malloc(0x500);
    m.malloc(16);
    m.free(a);
    expect(m.check()).toEqual([]);
    h.write(a - 8n, new Uint8Array([0x01, 0x06, 0, 0, 0, 0, 0, 0])); // size 0x510 → 0x600
    expect(m.check().length).toBeGreaterThan(0);
  });
});

describe("inspect(): the strip of chunks and the bins, as a renderer needs them", () => {
  it("i386: allocated, tcache, fastbin, unsorted and top chunks in address order; bins in take order", () => {
    const { m, base } = setup(32);
    const a = Array.from({ length: 9 }, () => m.malloc(20)); // chunk 0x20 (32 on i386: (20+4+15)&~15)
    const big = m.malloc(0x600);
    m.malloc(8);
    for (const p of a) m.free(p);
    m.free(big);
    const v = m.inspect();
    expect(v.bits).toBe(32);
    const strip = v.chunks.map((c) => [Number(c.addr - base), c.size, c.state, c.bin]);
    expect(strip[0]).toEqual([8, 0x190, "allocated", null]); // tcache_perthread_struct after the 8-byte correction
    expect(strip.slice(1, 8).map((c) => c[3])).toEqual(Array(7).fill("tcache[1]"));
    expect(strip.slice(8, 10).map((c) => c[3])).toEqual(["fastbin[2]", "fastbin[2]"]);
    expect(strip[10]).toEqual([8 + 0x190 + 9 * 32, 0x610, "free", "unsorted"]);
    expect(strip.at(-1)![2]).toBe("top");
    expect(v.bins.map((b) => [b.name, b.chunks.length])).toEqual([["tcache[1]", 7], ["fastbin[2]", 2], ["unsorted", 1]]);
    expect(v.bins[0]!.chunks[0]).toBe(a[6]! - 8n); // LIFO: the last one freed into tcache is taken first
    expect(v.brk).toBe(v.top_end);
    expect(v.walk_errors).toEqual([]);
  });
});

describe("overhead(): internal fragmentation of the live allocations (model bookkeeping)", () => {
  it("x86-64: request2size on the heap (100 → 112, 0 → MINSIZE 32), the page-rounded mapping when mmapped", () => {
    const { m } = setup(64);
    expect(m.overhead()).toEqual({ requested: 0, chunkBytes: 0, allocations: 0 });
    const a = m.malloc(100); // 100 + SIZE_SZ 8 + MALLOC_ALIGN_MASK 15 = 123 → 112
    m.malloc(0); // MINSIZE
    const c = m.calloc(4, 25); // 100 bytes asked → 112
    const d = m.malloc(200000); // mmapped: ALIGN_UP(200016 + 8, 4096) = 200704
    expect(m.chunk_is_mmapped(d)).toBe(true);
    expect(m.overhead()).toEqual({ requested: 100 + 0 + 100 + 200000, chunkBytes: 112 + 32 + 112 + 200704, allocations: 4 });
    expect(m.inspect().overhead).toEqual(m.overhead());
    m.free(d);
    expect(m.overhead()).toEqual({ requested: 200, chunkBytes: 256, allocations: 3 });
    const a2 = m.realloc(a, 1000); // 1000 + 8 + 15 = 1023 → 1008, the old 112 forgotten
    expect(m.overhead()).toEqual({ requested: 1100, chunkBytes: 32 + 112 + 1008, allocations: 3 });
    expect(m.realloc(c, 0)).toBe(0n); // frees
    expect(m.overhead()).toEqual({ requested: 1000, chunkBytes: 32 + 1008, allocations: 2 });
    m.free(a2);
    expect(m.overhead()).toEqual({ requested: 0, chunkBytes: 32, allocations: 1 });
  });
  it("i386: 100 → 112, 12 → 16, an mmapped chunk is its mapping minus the 8-byte front correction", () => {
    const { m } = setup(32);
    m.malloc(100); // 100 + 4 + 15 = 119 → 112
    m.malloc(12); // 31 → 16 = MINSIZE
    m.malloc(300000); // mapping 303104, chunk 303096
    expect(m.overhead()).toEqual({ requested: 300112, chunkBytes: 112 + 16 + 303096, allocations: 3 });
  });
  it("a failed call changes nothing; a NULL realloc keeps the old block; save/restore and fork carry it", () => {
    const { h, m } = setup(64);
    const a = m.malloc(40);
    const b = m.malloc(40);
    m.free(b);
    expect(() => m.free(b)).toThrow(malloc_abort); // double free: rolled back
    expect(m.overhead()).toEqual({ requested: 40, chunkBytes: 48, allocations: 1 });
    expect(m.malloc(2 ** 46)).toBe(0n); // ENOMEM (no 64 TiB gap below mmap_base): nothing recorded
    expect(m.realloc(a, 2 ** 46)).toBe(0n); // a still allocated with its 40 bytes
    expect(m.overhead()).toEqual({ requested: 40, chunkBytes: 48, allocations: 1 });
    const child = m.fork(h.clone());
    child.free(a);
    expect(child.overhead()).toEqual({ requested: 0, chunkBytes: 0, allocations: 0 });
    expect(m.overhead()).toEqual({ requested: 40, chunkBytes: 48, allocations: 1 });
    const r = ptmalloc.restore(h.clone(), structuredClone(m.save()));
    expect(r.overhead()).toEqual(m.overhead());
  });
  it("many live blocks (the table grows and deletes by backward shift): sums stay exact", () => {
    const { m } = setup(64);
    const live = new Map<bigint, number>();
    let x = 12345;
    for (let i = 0; i < 3000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const keys = [...live.keys()];
      if (keys.length && x % 3 === 0) {
        const k = keys[x % keys.length]!;
        m.free(k);
        live.delete(k);
      } else {
        const n = x % 2000;
        live.set(m.malloc(n), n);
      }
    }
    const requested = [...live.values()].reduce((s, n) => s + n, 0);
    // a chunk taken whole from a bin (remainder < MINSIZE) is larger than request2size: read each one
    const chunkBytes = [...live.keys()].reduce((s, p) => s + m.malloc_usable_size(p) + 8, 0);
    expect(chunkBytes).toBeGreaterThanOrEqual([...live.values()].reduce((s, n) => s + request2size(n, 64), 0));
    expect(m.overhead()).toEqual({ requested, chunkBytes, allocations: live.size });
    expect(m.check()).toEqual([]);
  });
});
