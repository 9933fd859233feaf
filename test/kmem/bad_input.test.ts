/** Bad input gets a kernel-style error and leaves the machine exactly as it was. */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";
import { state_equal, clone_machine } from "../../src/kernel/snapshot";

type M = ReturnType<typeof boot>;
function kmemState(m: M): string {
  return JSON.stringify([m.cat("/proc/slabinfo").text, m.cat("/proc/vmallocinfo").text, m.lsmod().text, [...(m.ms.kmap?.pkmap_count ?? [])], m.ms.kmap?.local, m.ms.kmap?.last_pkmap_nr]);
}
function unchanged(m: M, f: () => unknown, re: RegExp) {
  const before = clone_machine(m.ms);
  const k = kmemState(m);
  expect(f).toThrow(re);
  expect(state_equal(before, m.ms)).toBe(true);
  expect(kmemState(m)).toBe(k);
  m.check();
}

describe("bad input leaves the machine unchanged", () => {
  const m = boot({ ram: "2GiB" });
  const live = m.kmalloc(64);
  const v = m.vmalloc(10000);
  const k = m.kmap(m.ms.max_low_pfn + 3);
  const gone = m.kmalloc(64);
  gone.free();
  const big = m.kmalloc("64KiB");
  const bigStale = { ptr: big.ptr };
  big.free();

  it("oversized kmalloc (> KMALLOC_MAX_SIZE = 4 MiB); exactly 4 MiB is an order-10 block", () => {
    unchanged(m, () => m.kmalloc((4 << 20) + 1), /KMALLOC_MAX_SIZE/);
    const x = m.kmalloc("4MiB");
    expect(x.order).toBe(10);
    x.free();
  });
  it("oversized kmalloc: 8 MiB", () => unchanged(m, () => m.kmalloc("8MiB"), /KMALLOC_MAX_SIZE.*vmalloc/));
  it("kmalloc of a negative or non-size", () => unchanged(m, () => m.kmalloc(-1), /EINVAL/));
  it("kmalloc with __GFP_HIGHMEM", () => unchanged(m, () => m.kmalloc(64, "GFP_KERNEL|__GFP_HIGHMEM"), /GFP_SLAB_BUG_MASK/));
  it("kfree of a pointer never returned: inside an object", () => unchanged(m, () => m.kfree(live.ptr + 8n), /Invalid object pointer/));
  it("kfree of a pointer never returned: a free page", () => unchanged(m, () => m.kfree(0xc8000000n), /Invalid free|never returned/));
  it("kfree of a user address", () => unchanged(m, () => m.kfree(0x08048000), /user-space/));
  it("kfree of a vmalloc address", () => unchanged(m, () => m.kfree(v.addr), /vfree/));
  it("double kfree of a slab object (handle and raw pointer)", () => {
    unchanged(m, () => gone.free(), /double free/);
  });
  it("double kfree of a large kmalloc", () => unchanged(m, () => m.kfree(bigStale.ptr), /Invalid free/));
  it("vfree of a non-vmalloc address", () => unchanged(m, () => m.vfree(live.ptr), /nonexistent vm area.*kfree/));
  it("vfree of an address inside an area, and of an unaligned one", () => {
    unchanged(m, () => m.vfree(v.addr + 4096n), /nonexistent vm area/);
    unchanged(m, () => m.vfree(v.addr + 1n), /bad address/);
  });
  it("kmap of a PFN that does not exist", () => {
    unchanged(m, () => m.kmap(m.ms.max_pfn + 5), /does not exist/);
    unchanged(m, () => m.kmap(-1), /does not exist/);
    unchanged(m, () => m.kmap(1.5), /whole number/);
  });
  it("kunmap of a page not kmapped", () => unchanged(m, () => m.kunmap(m.ms.max_low_pfn + 100), /not kmapped/));
  it("kmem_cache_create with a bad name or size", () => {
    unchanged(m, () => m.kmemCacheCreate("has space", 10), /name/);
    unchanged(m, () => m.kmemCacheCreate("kmalloc-64", 10), /exists/);
    unchanged(m, () => m.kmemCacheCreate("x", 0), /size/);
  });
  it("vmalloc of 0 bytes, rmmod of nothing, destroying a kmalloc cache", () => {
    unchanged(m, () => m.vmalloc(0), /size/);
    unchanged(m, () => m.vmalloc("120MiB"), /ENOMEM|size/);
    unchanged(m, () => m.rmmod("nope"), /not currently loaded/);
    unchanged(m, () => m.kmemCacheDestroy("kmalloc-64"), /kmalloc cache/);
  });
  it("the live allocations are still fine afterwards", () => {
    expect(m.ksize(live)).toBe(64);
    m.kunmap(k);
    v.free();
    live.free();
    m.check();
  });
});
