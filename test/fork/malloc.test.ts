/**
 * User malloc on a simulated process (glibc 2.39 ptmalloc over brk/mmap and the MMU): the first heap
 * is 0x21000 bytes on x86-64, the mmap threshold is compared on the chunk size, trimming moves brk
 * back, misuse aborts the process (SIGABRT), and a fork child inherits the heap copy-on-write.
 */
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";
import { Allocation } from "../../src/api/malloc";
import { MmError } from "../../src/errors";

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
