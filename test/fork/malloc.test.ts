/**
 * User malloc on a simulated process (glibc 2.39 ptmalloc over brk/mmap and the MMU): the first heap
 * is 0x21000 bytes on x86-64, the mmap threshold is compared on the chunk size, trimming moves brk
 * back, misuse aborts the process (SIGABRT), and a fork child inherits the heap copy-on-write.
 */
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";
import { Allocation, libc_of } from "../../src/api/malloc";
import { MmError } from "../../src/errors";
import { tlbs } from "../../src/hw/tlb";

test("the design card's sentence", () => {
  const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
  const p = m.spawn();
  const a = p.malloc(100);
  const c = p.fork();
  const before = [p.translate(a).pfn, c.translate(a).pfn];
  expect(before[0]).toBe(before[1]);
  const w = c.write(a, "x");
  expect(w.trace.some((e) => e.fn === "wp_page_copy")).toBe(true);
  const t = p.translate(a);
  expect(t.pfn).toBe(before[0]);
  expect(c.translate(a).pfn).not.toBe(t.pfn);
  const f = p.free(a);
  expect(f.heap!.chunks.some((ch) => ch.mem === a.addr && ch.state === "free")).toBe(true);
  m.check();
  // the child's allocator still has the chunk in use and can free it too
  c.free(a);
  m.check();
  expect(m.free(c.malloc(10)).toString()).toMatch(/free/);
});

describe("malloc between brk and mmap (x86-64)", () => {
  test("first malloc: sbrk(0x21000), a heap page faulted in, pointer 0x10 past the tcache struct", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
    const p = m.spawn();
    const brk0 = p.brkAddr;
    const a = p.malloc(100);
    expect(a).toBeInstanceOf(Allocation);
    expect(p.brkAddr - brk0).toBe(0x21000n);
    expect(a.addr).toBe(brk0 + 0x290n + 0x10n);
    expect(a.trace.some((e) => e.fn === "sbrk")).toBe(true);
    expect(a.trace.some((e) => e.fn === "handle_mm_fault")).toBe(true);
    expect(a.usable).toBe(104);
    expect(a.mmapped).toBe(false);
    // the chunk header is in the process's memory: size 0x71 (0x70 | PREV_INUSE)
    const hdr = p.read(a.chunk + 8n, 8).bytes;
    expect(hdr[0]).toBe(0x71);
    expect(a.toHTML()).toMatch(/svg/);
  });

  test("threshold on the chunk size: 131048 → heap, 131049 → its own mapping, 16 bytes in", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
    const p = m.spawn();
    const h = p.malloc(131048);
    expect(h.mmapped).toBe(false);
    const big = p.malloc(131049);
    expect(big.mmapped).toBe(true);
    expect(big.addr % 4096n).toBe(16n);
    expect(big.trace.some((e) => e.fn === "do_mmap")).toBe(true);
    expect(p.maps.text).toContain(big.addr.toString(16).slice(0, -3));
    big.free();
    expect(p.heap().heap!.mmap_threshold).toBe(135168); // dynamic threshold: the freed chunk's size
    m.check();
  });

  test("free coalesces into top and trims: brk moves back down", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
    const p = m.spawn();
    const brk0 = p.brkAddr;
    const small = p.malloc(10);
    const big = p.malloc(120000);
    const big2 = p.malloc(120000);
    const grown = p.brkAddr;
    expect(grown - brk0).toBeGreaterThan(0x21000n);
    big2.free();
    big.free();
    expect(p.brkAddr).toBeLessThan(grown);
    m.check();
    small.free();
    m.check();
  });

  test("double free and invalid pointer: glibc's message, the process gets SIGABRT, the REPL lives", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
    const p = m.spawn();
    const a = p.malloc(24);
    p.free(a);
    let err: unknown;
    try {
      p.free(a);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MmError);
    expect((err as MmError).code).toBe("SIGABRT");
    expect((err as MmError).message).toContain("free(): double free detected in tcache 2");
    expect(p.alive).toBe(false);
    m.check();
    const q = m.spawn();
    const b = q.malloc(10);
    expect(() => q.free(b.addr + 8n)).toThrow(/free\(\): invalid pointer/);
    // a wild pointer outside any mapping: glibc reads its header and gets SIGSEGV, as the real one does
    const r = m.spawn();
    r.malloc(1);
    expect(() => r.free(0x1230)).toThrow(/SIGSEGV/);
    m.check();
  });

  test("calloc zeroes, realloc moves and keeps bytes; an Allocation is an address", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
    const p = m.spawn();
    const c = p.calloc(4, 25);
    expect([...c.read(100).bytes].every((b) => b === 0)).toBe(true);
    c.write("hello");
    const blocker = p.malloc(10);
    const r = p.realloc(c, 4000) as Allocation;
    expect(r.addr).not.toBe(c.addr);
    expect(r.read(5).text).toBe("hello");
    expect(p.translate(r).ok).toBe(true);
    m.free(r);
    blocker.free();
    m.check();
  });
});

test("32-bit x86: 8-byte headers, 16-byte alignment", () => {
  const m = boot({ arch: "x86", ram: "128MiB" } as never);
  const p = m.spawn();
  const a = p.malloc(100);
  expect(a.addr % 16n).toBe(0n);
  expect(a.chunk).toBe(a.addr - 8n);
  const c = p.fork();
  c.write(a, "kid");
  expect(p.read(a, 3).text).not.toBe("kid");
  p.free(a);
  c.free(a);
  m.check();
});

test("m.snapshot() branches the processes' heaps too", () => {
  const m = boot({ arch: "x86_64", ram: "128MiB" } as never);
  const p = m.spawn();
  const a = p.malloc(100);
  p.malloc(50);
  const m2 = boot(m.snapshot() as never);
  const p2 = m2.process(p.pid);
  p2.free(a.addr);
  const b = p2.malloc(100);
  expect(b.addr).toBe(a.addr); // from the tcache of the clone's allocator
  m2.check();
  expect(p.malloc(100).addr).not.toBe(a.addr); // the original still has a in use
  m.check();
});

describe("p.heap().overhead: internal fragmentation of the live allocations", () => {
  test("x86-64: malloc(100) → chunk 112, malloc(0) → 32, an mmapped 200000 → its 200704-byte mapping", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
    const p = m.spawn();
    expect(p.heap().overhead).toEqual({ requested: 0, chunkBytes: 0, allocations: 0 });
    const a = p.malloc(100); // request2size: (100 + 8 + 15) & ~15 = 112
    const b = p.malloc(24); // 32
    const c = p.calloc(4, 25); // 100 bytes → 112
    const d = p.malloc(200000); // mmapped: ALIGN_UP(200016 + 8, 4096)
    p.malloc(0); // MINSIZE 32
    expect(d.mmapped).toBe(true);
    expect(p.heap().overhead).toEqual({ requested: 200224, chunkBytes: 112 + 32 + 112 + 200704 + 32, allocations: 5 });
    const f = p.free(b); // the HeapState of free() has it too
    expect(f.overhead).toEqual({ requested: 200200, chunkBytes: 200960, allocations: 4 });
    const a2 = p.realloc(a, 200) as Allocation; // moved (b, in tcache, is in the way): 208 replaces 112
    expect(a2.addr).not.toBe(a.addr);
    expect(p.heap().overhead).toEqual({ requested: 200300, chunkBytes: 201056, allocations: 4 });
    p.realloc(c, 0); // frees
    expect(p.heap().overhead).toEqual({ requested: 200200, chunkBytes: 200944, allocations: 3 });
    const k = p.fork(); // the child's allocations are the parent's
    expect(k.heap().overhead).toEqual(p.heap().overhead);
    k.free(d);
    expect(k.heap().overhead).toEqual({ requested: 200, chunkBytes: 240, allocations: 2 });
    expect(p.heap().overhead).toEqual({ requested: 200200, chunkBytes: 200944, allocations: 3 });
    const m2 = boot(m.snapshot() as never); // a snapshot branches it too
    expect(m2.process(p.pid).heap().overhead).toEqual({ requested: 200200, chunkBytes: 200944, allocations: 3 });
    m.check();
  });
  test("i386: 100 → 112, 24 → 32, an mmapped chunk is its mapping minus the 8-byte front correction", () => {
    const m = boot({ arch: "x86", ram: "128MiB" } as never);
    const p = m.spawn();
    p.malloc(100); // (100 + 4 + 15) & ~15
    p.malloc(24); // (24 + 4 + 15) & ~15
    p.malloc(200000); // mapping 200704, chunk at mapping + 8
    expect(p.heap().overhead).toEqual({ requested: 200124, chunkBytes: 112 + 32 + 200696, allocations: 3 });
  });
});

describe("bulk mode: p.mallocQuiet / p.freeQuiet", () => {
  test("the same allocator calls as p.malloc / p.free: same pointers, same heap, same failures", () => {
    const m1 = boot({ arch: "x86_64", ram: "256MiB", trace: false } as never);
    const m2 = boot({ arch: "x86_64", ram: "256MiB", trace: false } as never);
    const p1 = m1.spawn();
    const p2 = m2.spawn();
    const live1: Allocation[] = [];
    const live2: bigint[] = [];
    let x = 7;
    for (let i = 0; i < 400; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if (live1.length && x % 3 === 0) {
        const j = x % live1.length;
        p1.free(live1.splice(j, 1)[0]!);
        p2.freeQuiet(live2.splice(j, 1)[0]!);
      } else {
        const n = x % 5 === 0 ? 140000 : x % 700;
        live1.push(p1.malloc(n));
        live2.push(p2.mallocQuiet(n));
      }
      expect(live2.at(-1) ?? 0n).toBe(live1.at(-1)?.addr ?? 0n);
    }
    expect(live2).toEqual(live1.map((a) => a.addr));
    expect(p2.heap().overhead).toEqual(p1.heap().overhead);
    expect(JSON.stringify(p2.heap().toJSON().chunks)).toBe(JSON.stringify(p1.heap().toJSON().chunks));
    expect(p2.brkAddr).toBe(p1.brkAddr);
    m1.check();
    m2.check();
    // the same validation and the same signals
    expect(() => p2.mallocQuiet(-1)).toThrow(/size: a size in bytes/);
    expect(p2.mallocQuiet(2 ** 47 - 1)).toBe(0n); // NULL, errno ENOMEM: no exception, as in C
    const a = p2.mallocQuiet(24);
    p2.freeQuiet(a);
    expect(() => p2.freeQuiet(a)).toThrow(/double free detected in tcache 2/);
    expect(p2.alive).toBe(false);
    m2.check();
  });
  test("quiet calls keep no trace and build no result; p.heap() still renders the heap", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" } as never); // tracing on
    const p = m.spawn();
    const a = p.mallocQuiet(100);
    expect(m.ms.trace.events).toEqual([]);
    expect(p.heap().heap!.chunks.some((c) => c.mem === a && c.state === "allocated")).toBe(true);
    p.freeQuiet(a);
    expect(p.heap().toString()).toMatch(/tcache\[5\]/);
  });
});

describe("the TLB bookkeeping of libc's own loads and stores", () => {
  // process_host batches the hits of one libc call (enter … leave); with batching off every access
  // updates the TLB itself: both must leave the TLB identical (hits, clock, each entry's stamp)
  function run(policy: "lru" | "fifo", batched: boolean) {
    const m = boot({ arch: "x86_64", ram: "256MiB", trace: false } as never);
    m.setTlb({ size: 8, policy });
    const p = m.spawn();
    p.malloc(1);
    if (!batched) {
      const h = libc_of(m.ms, p.task())!.host;
      h.enter = () => {};
      h.leave = () => {};
    }
    const live: Allocation[] = [];
    let x = 99;
    for (let i = 0; i < 600; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if (live.length > 20 || (live.length && x % 2)) live.splice(x % live.length, 1)[0]!.free();
      else live.push(p.malloc(x % 3000));
      if (i % 97 === 0) p.touch(p.mmap("64KiB"), "64KiB"); // other TLB traffic in between
    }
    const t = tlbs(m.ms).cpus[0]!;
    return { hits: t.hits, misses: t.misses, clock: t.clock, flushes: t.flushes, entries: [...t.entries].map(([k, e]) => [k, e.pfn, e.stamp, e.dirty]) };
  }
  for (const policy of ["lru", "fifo"] as const)
    test(`${policy}: batched per call = one update per access`, () => {
      const a = run(policy, true);
      expect(a.hits).toBeGreaterThan(3000);
      expect(a).toEqual(run(policy, false));
    });
});
