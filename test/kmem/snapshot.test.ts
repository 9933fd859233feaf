/** Snapshots clone the slab, vmalloc, kmap and module state (clone_for): branches evolve independently. */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";

describe("snapshots", () => {
  it("a branch keeps the parent's kernel memory and then diverges", () => {
    const m = boot({ ram: "2GiB" });
    const k = m.kmalloc(64);
    const v = m.vmalloc(10000);
    m.kmap(m.ms.max_low_pfn + 7);
    m.insmod("demo", 5000);
    const snap = m.snapshot();
    const b = boot(snap);
    const texts = (x: typeof m) => [x.cat("/proc/slabinfo").text, x.cat("/proc/vmallocinfo").text, x.lsmod().text].join("");
    expect(texts(b)).toBe(texts(m));
    b.kfree(k.ptr);
    b.vfree(v.addr);
    b.rmmod("demo");
    b.kunmap(b.ms.max_low_pfn + 7);
    b.check();
    expect(texts(b)).not.toBe(texts(m));
    m.check();
    expect(m.ksize(k)).toBe(64);
    expect(m.whereis(v.addr).pfn).toBe(v.pfns[0]);
    expect(() => b.kfree(k)).toThrow(/another machine/);
  });
});

describe("the toy machine", () => {
  it("has no kernel segment: kmalloc, vmalloc and modules are refused", () => {
    const m = boot({ arch: "toy", ram: "256KiB" });
    expect(() => m.kmalloc(100)).toThrow(/toy/);
    expect(() => m.vmalloc(10)).toThrow(/toy/);
    expect(() => m.insmod("x", 10)).toThrow(/toy/);
    m.check();
  });
});
