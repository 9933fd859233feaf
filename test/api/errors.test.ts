/**
 * Bad input and kernel-style bugs: a typed MmError naming the argument and the accepted range, never a
 * raw zod error, and a machine left byte-for-byte as it was.
 */
import { describe, expect, it } from "vitest";
import { MmError, boot } from "../../src";
import { clone_machine, state_equal } from "../../src/kernel/snapshot";

function err(f: () => unknown): MmError {
  try {
    f();
  } catch (e) {
    if (e instanceof MmError) return e;
    throw new Error(`expected an MmError, got ${String(e)}`);
  }
  throw new Error("expected an MmError, nothing was thrown");
}

describe("boot() validates its config", () => {
  it.each([
    [{ arch: "arm64" }, /^EINVAL: config.arch: must be one of "x86", "x86_pae", "x86_64", "toy", got "arm64"$/],
    [{ ram: "8MiB" }, /^EINVAL: config.ram: must be between 16 MiB and 64 GiB, got 8 MiB$/],
    [{ ram: "65GiB" }, /^EINVAL: config.ram: must be between 16 MiB and 64 GiB, got 65 GiB$/],
    [{ ram: "lots" }, /^EINVAL: config.ram: must be a RAM size: bytes as a whole number, or a string like "4KiB"/],
    [{ ram: -4096 }, /^EINVAL: config.ram: must be between/],
    [{ ram: 1.5 }, /^EINVAL: config.ram: must be a RAM size/],
    [{ nodes: 0 }, /^EINVAL: config.nodes: a number of nodes from 1 to 16/],
    [{ arch: "x86_64", split: "2G/2G" }, /^EINVAL: config.split: the user\/kernel split is a 32-bit option/],
    [{ arch: "toy", pageSize: 3000 }, /^EINVAL: config.pageSize: must be a power of two/],
    [{ pageSize: 8192 }, /^EINVAL: config.pageSize: x86 pages are 4 KiB/],
    [{ colour: "red" }, /^EINVAL: config: unknown option "colour"$/],
    [{ seed: -1 }, /^EINVAL: config.seed: /],
    [{ nodes: ["1GiB", "1GiB"], ram: "3GiB" }, /^EINVAL: config.ram: 3 GiB is not the sum of the node sizes \(2 GiB\)/],
  ])("%j", (cfg, re) => {
    const e = err(() => boot(cfg as never));
    expect(e.code).toBe("EINVAL");
    expect(e.message).toMatch(re);
    expect(e.message).not.toMatch(/ZodError|"code":|expected_type/);
  });
});

describe("allocPages / freePages reject bad input and leave the machine unchanged", () => {
  const m = boot({ arch: "toy", ram: "256KiB" });
  m.allocPages(0);
  const before = clone_machine(m.ms);

  it.each([
    [() => m.allocPages(-1), "EINVAL", /^EINVAL: order: must be a whole number from 0 to 10 \(MAX_PAGE_ORDER\), got -1/],
    [() => m.allocPages(11), "EINVAL", /order: must be a whole number from 0 to 10/],
    [() => m.allocPages(2.5), "EINVAL", /order: .* got 2.5/],
    [() => m.allocPages("5MiB"), "EINVAL", /^EINVAL: size: must be between 1 B and 4 MiB, got 5 MiB$/],
    [() => m.allocPages("abc"), "EINVAL", /^EINVAL: size: must be an order \(0..10\) or a size/],
    [() => m.allocPages(0, "GFP_KERNAL"), "EINVAL", /^EINVAL: gfp: unknown GFP flag "GFP_KERNAL"/],
    [() => m.allocPages(0, "__GFP_DMA|__GFP_HIGHMEM"), "EINVAL", /gfp: .* two zone modifiers/],
    [() => m.allocPages(0, undefined, { node: 3 }), "EINVAL", /^EINVAL: node: must be 0..0, got 3/],
    [() => m.allocPages(6), "ENOMEM", /^ENOMEM: page allocation failure: order:6/],
    [() => m.freePages(5), "EBUG", /^EBUG: BUG: Bad page state in process mmlab  pfn:00005\n/],
    [() => m.freePages(1.5 as number), "EINVAL", /^EINVAL: pfn: /],
    [() => m.freePages(99999), "EINVAL", /^EINVAL: pfn: /],
    [() => m.cat("/proc/slabinf"), "ENOENT", /^ENOENT: path: no such file "\/proc\/slabinf"; mmlab has \/proc\/buddyinfo/],
    [() => m.free(42), "EINVAL", /^EINVAL: x: m.free\(\) takes something this machine allocated/],
  ])("%#", (f, code, re) => {
    const e = err(f);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(re);
    // the frames, lists and counters are byte-for-byte as before (the kernel log may gain a report, and
    // a failed GFP_KERNEL request counts its direct-reclaim attempt in allocstall, as on Linux)
    const after = clone_machine(m.ms);
    after.dmesg.length = before.dmesg.length;
    after.vmstat.allocstall = before.vmstat.allocstall;
    expect(state_equal(after, before)).toBe(true);
  });
});

describe("kernel-style bugs are reported as the kernel reports them", () => {
  it("double free: BUG: Bad page state, the report in dmesg, the machine unchanged", () => {
    const m = boot({ arch: "toy", ram: "256KiB" });
    const b = m.allocPages(2);
    b.free();
    const snap = clone_machine(m.ms);
    const e = err(() => b.free());
    expect(e.code).toBe("EBUG");
    expect(e.message).toBe(
      "EBUG: BUG: Bad page state in process mmlab  pfn:00000\npage: refcount:0 mapcount:0 mapping:00000000 index:0x0 pfn:0x0\nflags: 0x2(buddy)\npage dumped because: page is already free (PageBuddy): double free",
    );
    expect(m.dmesg().text).toContain("BUG: Bad page state in process mmlab  pfn:00000\n");
    snap.dmesg.length = 0;
    const now = clone_machine(m.ms);
    now.dmesg.length = 0;
    expect(state_equal(now, snap)).toBe(true);
    m.check();
  });

  it("a stale handle whose PFN was handed out again does not free the new owner's block", () => {
    const m = boot({ arch: "toy", ram: "256KiB" });
    const a = m.allocPages(3);
    a.free();
    const b = m.allocPages(3);
    expect(b.pfn).toBe(a.pfn);
    expect(err(() => a.free()).message).toMatch(/freed already; the PFN now belongs to another allocation/);
    expect(b.free().pfn).toBe(a.pfn);
    m.check();
  });

  it("freeing a tail frame or a reserved frame is a bad page, not a crash", () => {
    const m = boot();
    const b = m.allocPages(3);
    expect(err(() => m.freePages(b.pfn + 1)).message).toMatch(/not the first page of an allocated block/);
    expect(err(() => m.freePages(0)).message).toMatch(/PFN outside every zone/);
    expect(err(() => m.freePages(2)).message).toMatch(/PAGE_FLAGS_CHECK_AT_FREE flag\(s\) set \(reserved\)/);
    expect(err(() => m.freePages(b.pfn, 2)).message).toMatch(/freed as order 2 but allocated as order 3/);
    m.check();
  });
});

describe("snapshots branch a machine", () => {
  it("boot(m.snapshot()) continues independently and hands out the same PFNs", () => {
    const m = boot({ arch: "x86_64", ram: "1GiB" });
    m.allocPages(3);
    const s = m.snapshot();
    const a = m.allocPages(5).pfn;
    const m2 = boot(s);
    expect(m2.allocPages(5).pfn).toBe(a);
    expect(m.freePagesCount).toBe(m2.freePagesCount);
    m.allocPages(0);
    expect(m.freePagesCount).toBe(m2.freePagesCount - 1);
    m.check();
    m2.check();
  });
});

describe("pages owned by another allocator cannot be freed with freePages", () => {
  it("a slab page, a vmalloc page and a page table are refused, the machine unchanged", () => {
    const m = boot();
    const k = m.kmalloc(100);
    const v = m.vmalloc("8KiB");
    const before = clone_machine(m.ms);
    expect(err(() => m.freePages(k.pfn!)).message).toMatch(/slab allocator \(PageSlab\)/);
    expect(err(() => m.freePages(v.pfns[0]!)).message).toMatch(/backs a vmalloc area/);
    const p = m.spawn("sh");
    const pt = m.ms.mem_map.flags.findIndex((f, i) => (f & 0x20) !== 0 && i > 0);
    expect(err(() => m.freePages(pt)).message).toMatch(/page table/);
    p.exit();
    void before;
    m.check();
  });
});
