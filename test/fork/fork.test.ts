/**
 * fork and copy-on-write (kernel/fork.c dup_mmap, mm/memory.c copy_page_range and do_wp_page, 6.12):
 * shared frames after fork, wp_page_copy for the first writer, wp_page_reuse for the second, shared
 * mappings stay shared, MADV_DONTFORK / MADV_WIPEONFORK, exit drops references.
 */
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";
import { MmError } from "../../src/errors";

const text = (b: { data?: Uint8Array; text?: string }) => b.text;

describe.each(["x86", "x86_pae", "x86_64"] as const)("fork on %s", (arch) => {
  const mk = () => boot({ arch, ram: "128MiB" } as never);

  test("parent and child map the same frame until one writes; the writer copies, the other reuses", () => {
    const m = mk();
    const p = m.spawn("p");
    const a = p.mmap("16KiB");
    p.write(a, "parent data");
    const before = m.freePagesCount;
    const c = p.fork();
    m.check();
    const f = c.forked!;
    expect(f.shared).toBeGreaterThanOrEqual(2); // the mapping's page and the stack's
    expect(f.wrprotected).toBe(f.shared);
    expect(f.pageTables).toBe(c.pageTables);
    expect(before - m.freePagesCount).toBe(c.pageTables); // fork cost: page tables only, no data
    const pp = p.translate(a).pfn!;
    expect(c.translate(a).pfn).toBe(pp);
    expect(m.ms.mem_map.refcount[pp]).toBe(2);
    expect(m.ms.mem_map.mapcount[pp]).toBe(2);
    // the child writes: wp_page_copy, a new frame; the parent keeps the old bytes
    const w = c.write(a, "child");
    expect(w.trace.some((e) => e.fn === "wp_page_copy")).toBe(true);
    const cp = c.translate(a).pfn!;
    expect(cp).not.toBe(pp);
    expect(p.translate(a).pfn).toBe(pp);
    expect(text(p.read(a, 11))).toBe("parent data");
    expect(text(c.read(a, 11))).toBe("childt data");
    expect(m.ms.mem_map.refcount[pp]).toBe(1);
    // the parent writes: refcount 1 → wp_page_reuse, no copy
    const free = m.freePagesCount;
    const w2 = p.write(a, "P");
    expect(w2.trace.some((e) => e.fn === "wp_page_reuse")).toBe(true);
    expect(w2.trace.some((e) => e.fn === "wp_page_copy")).toBe(false);
    expect(p.translate(a).pfn).toBe(pp);
    expect(m.freePagesCount).toBe(free);
    m.check();
  });

  test("the parent writing first copies; the child then reuses", () => {
    const m = mk();
    const p = m.spawn();
    const a = p.mmap("4KiB");
    p.write(a, "abc");
    const c = p.fork();
    const pp = p.translate(a).pfn!;
    expect(p.write(a, "X").trace.some((e) => e.fn === "wp_page_copy")).toBe(true);
    expect(p.translate(a).pfn).not.toBe(pp);
    expect(c.write(a, "Y").trace.some((e) => e.fn === "wp_page_reuse")).toBe(true);
    expect(c.translate(a).pfn).toBe(pp);
    expect(text(p.read(a, 3))).toBe("Xbc");
    expect(text(c.read(a, 3))).toBe("Ybc");
    m.check();
  });

  test("shared mappings stay shared: no copy, the child sees the parent's writes", () => {
    const m = mk();
    const p = m.spawn();
    const s = p.mmap("8KiB", "rw", "shared");
    p.write(s, "one");
    const c = p.fork();
    const f = c.forked!;
    expect(f.vmas.find((v) => v.start === s.addr)!.action).toBe("skipped");
    const w = c.write(s, "two");
    expect(w.trace.some((e) => e.fn === "wp_page_copy")).toBe(false);
    expect(c.translate(s).pfn).toBe(p.translate(s).pfn);
    expect(text(p.read(s, 3))).toBe("two");
    m.check();
  });

  test("untouched private memory is not copied; read-only private stays read-only (SIGSEGV on write)", () => {
    const m = mk();
    const p = m.spawn();
    const u = p.mmap("8KiB");
    const r = p.mmap("4KiB");
    p.write(r, "ro");
    p.mprotect(r, "4KiB", "r");
    const c = p.fork();
    expect(c.forked!.vmas.find((v) => v.start <= u.addr && v.end > u.addr)!.shared).toBe(0);
    expect(text(c.read(r, 2))).toBe("ro");
    expect(() => c.write(r, "x")).toThrow(MmError);
    expect(c.alive).toBe(false);
    expect(text(p.read(r, 2))).toBe("ro");
    m.check();
  });

  test("exit drops references; the last one frees the frames; nothing leaks", () => {
    const m = mk();
    m.spawn("warmup").exit(); // the first spawn makes the zero page and the kernel's page tables
    const free0 = m.freePagesCount;
    const p = m.spawn();
    const a = p.mmap("64KiB");
    p.touch(a, "64KiB");
    const c = p.fork();
    const g = c.fork();
    const pfn = p.translate(a).pfn!;
    expect(m.ms.mem_map.refcount[pfn]).toBe(3);
    c.exit();
    m.check();
    expect(m.ms.mem_map.refcount[pfn]).toBe(2);
    p.exit();
    m.check();
    expect(m.ms.mem_map.refcount[pfn]).toBe(1);
    expect([...g.read(a, 1).bytes]).toEqual([0]);
    g.exit();
    m.check();
    expect(m.freePagesCount).toBe(free0);
  });

  test("MADV_DONTFORK: not in the child; MADV_WIPEONFORK: the child reads zeros", () => {
    const m = mk();
    const p = m.spawn();
    const d = p.mmap("8KiB");
    const w = p.mmap("8KiB");
    const k = p.mmap("8KiB");
    for (const x of [d, w, k]) p.write(x, "secret");
    p.madvise(d, "8KiB", "dontfork");
    p.madvise(w, "8KiB", "wipeonfork");
    expect(() => p.madvise(p.mmap("4KiB", "rw", "shared"), "4KiB", "wipeonfork")).toThrow(/private anonymous/);
    const c = p.fork();
    const f = c.forked!;
    expect(f.vmas.find((v) => v.start === d.addr)!.action).toBe("dontcopy");
    expect(f.vmas.find((v) => v.start === w.addr)!.action).toBe("wipeonfork");
    expect(() => c.read(d, 1)).toThrow(/SIGSEGV/);
    const c2 = p.fork();
    expect([...c2.read(w, 6).bytes]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(text(c2.read(k, 6))).toBe("secret");
    expect(text(p.read(w, 6))).toBe("secret");
    p.madvise(d, "8KiB", "dofork");
    const c3 = p.fork();
    expect(text(c3.read(d, 6))).toBe("secret");
    m.check();
  });

  test("pstree shows the tree with RSS per process", () => {
    const m = mk();
    const p = m.spawn("init");
    const c = p.fork();
    c.fork();
    const t = m.pstree();
    expect(t.rows.map((r) => r.depth)).toEqual([0, 1, 2]);
    expect(t.rows[1]!.ppid).toBe(p.pid);
    expect(t.toString()).toMatch(/RSS/);
    expect(t.toHTML()).toMatch(/<svg|<div|<table/);
  });
});

test("fork ENOMEM leaves the machine unchanged", async () => {
  const { state_equal, clone_machine } = await import("../../src/kernel/snapshot");
  const m = boot({ arch: "x86_64", ram: "64MiB", trace: false } as never);
  const p = m.spawn();
  // MAP_NORESERVE: a sparse 256 MiB on a 64 MiB machine is not charged (the overcommit check would refuse it)
  const a = p.mmap("256MiB", "rw", "private|noreserve");
  // touch pages far apart so the child needs many page tables, then exhaust memory
  for (let i = 0; i < 128; i++) p.write(a.addr + BigInt(i) * 2097152n, "x");
  const blocks = [];
  try {
    for (;;) blocks.push(m.allocPages(0));
  } catch {
    /* full */
  }
  while (blocks.length && m.freePagesCount < 60) blocks.pop()!.free();
  const { fork_tables_needed } = await import("../../src/kernel/fork");
  expect(fork_tables_needed(m.ms, p.task().mm!)).toBeGreaterThan(60);
  const before = clone_machine(m.ms);
  expect(() => p.fork()).toThrow(MmError);
  expect(state_equal(before, m.ms)).toBe(true);
  m.check();
  p.write(a, "still writable");
});

test("m.ps() is an array of processes that renders as the tree", () => {
  const m = boot({ arch: "x86_64", ram: "128MiB" } as never);
  expect(m.ps()).toEqual([]);
  const p = m.spawn("init");
  const c = p.fork();
  const ps = m.ps();
  expect(ps.length).toBe(2);
  expect(ps.map((x) => x.pid)).toEqual([p.pid, c.pid]);
  expect(Array.isArray(ps.map((x) => x.pid))).toBe(true);
  expect(ps.toString()).toMatch(/1001 init/);
  expect(ps.toHTML()).toMatch(/RSS/);
});

test("mprotect back to rw does not make a page shared by fork writable (PageAnonExclusive clear)", () => {
  const m = boot({ arch: "x86_64", ram: "128MiB" } as never);
  const p = m.spawn();
  const a = p.mmap("4KiB");
  p.write(a, "x");
  const c = p.fork();
  p.mprotect(a, "4KiB", "r");
  p.mprotect(a, "4KiB", "rw");
  const w = p.write(a, "y");
  expect(w.trace.some((e) => e.fn === "wp_page_copy")).toBe(true);
  expect(c.read(a, 1).text).toBe("x");
  m.check();
});

test("fork on the toy geometry (tables larger than a page): copy-on-write all the same", () => {
  const m = boot({ arch: "toy", ram: "2MiB", pageSize: 1024, levels: 3, vaBits: 24 } as never);
  const p = m.spawn("t");
  const a = p.mmap("8KiB");
  p.touch(a, "8KiB");
  p.write(a, "toy");
  const c = p.fork();
  m.check();
  expect(c.translate(a).pfn).toBe(p.translate(a).pfn);
  c.write(a, "kid");
  expect(c.translate(a).pfn).not.toBe(p.translate(a).pfn);
  expect(p.read(a, 3).text).toBe("toy");
  c.exit();
  p.exit();
  m.check();
  expect(() => m.spawn().malloc(10)).toThrow(/toy/);
});
