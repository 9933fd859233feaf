/**
 * kmalloc on SLUB: size → cache for every boundary size (kernel-facts §4, mm/slab_common.c
 * kmalloc_size_index[] and fls()), slab geometry from calculate_order(), large kmalloc, ZERO_SIZE_PTR,
 * kfree dispatch, ksize, kmem_cache_*.
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import { kmallocCacheFor } from "../../src/api/kmem";
import "../../src/api/kmem";
import { calculate_order, slab_of } from "../../src/mm/slub";

const EXPECT: [number, string][] = [
  [1, "kmalloc-8"], [8, "kmalloc-8"], [9, "kmalloc-16"], [16, "kmalloc-16"], [17, "kmalloc-32"], [24, "kmalloc-32"], [32, "kmalloc-32"],
  [33, "kmalloc-64"], [64, "kmalloc-64"], [65, "kmalloc-96"], [72, "kmalloc-96"], [96, "kmalloc-96"], [97, "kmalloc-128"], [100, "kmalloc-128"],
  [128, "kmalloc-128"], [129, "kmalloc-192"], [130, "kmalloc-192"], [192, "kmalloc-192"], [193, "kmalloc-256"], [200, "kmalloc-256"],
  [256, "kmalloc-256"], [257, "kmalloc-512"], [512, "kmalloc-512"], [513, "kmalloc-1k"], [1024, "kmalloc-1k"], [1025, "kmalloc-2k"],
  [2048, "kmalloc-2k"], [2049, "kmalloc-4k"], [3000, "kmalloc-4k"], [4096, "kmalloc-4k"], [4097, "kmalloc-8k"], [8192, "kmalloc-8k"],
];

describe("kmalloc size → cache (kmalloc_slab)", () => {
  const m = boot({ ram: "512MiB", trace: false });
  it.each(EXPECT)("kmalloc(%i) → %s", (size, cache) => {
    expect(kmallocCacheFor(m, size)).toBe(cache);
    const k = m.kmalloc(size);
    expect(k.cache).toBe(cache);
    expect(k.ksize).toBe(Number(cache.slice(8).replace("k", "")) * (cache.endsWith("k") ? 1024 : 1));
    expect(k.wasted).toBe(k.ksize - size);
    expect(m.ksize(k.ptr)).toBe(k.ksize);
    k.free();
  });
  it("every size 1..192 follows the size_index table, every size 193..8192 the next power of two", () => {
    for (let s = 1; s <= 8192; s++) {
      const c = kmallocCacheFor(m, s);
      const size = Number(c.slice(8).replace("k", "")) * (c.endsWith("k") ? 1024 : 1);
      expect(size).toBeGreaterThanOrEqual(s);
      if (s > 192) expect(size).toBe(2 ** Math.ceil(Math.log2(s)));
      else expect([8, 16, 32, 64, 96, 128, 192]).toContain(size);
    }
  });
  it("kmalloc(8193) and up go to the page allocator; kmalloc(\"128KiB\") is an order-5 block", () => {
    expect(kmallocCacheFor(m, 8193)).toBe("pages");
    const a = m.kmalloc(8193);
    expect(a.cache).toBeUndefined();
    expect(a.order).toBe(2);
    const k = m.kmalloc("128KiB");
    expect(k.order).toBe(5);
    expect(k.ksize).toBe(131072);
    expect(k.ptr).toBe(0xc0000000n + BigInt(k.pfn!) * 4096n);
    expect(m.ms.mem_map.order[k.pfn!]).toBe(5);
    m.check();
    k.free();
    a.free();
    m.check();
  });
  it("kmalloc(0) = ZERO_SIZE_PTR (0x10); kfree of it and of NULL does nothing", () => {
    const z = m.kmalloc(0);
    expect(z.ptr).toBe(0x10n);
    expect(m.ksize(z)).toBe(0);
    const before = m.freePagesCount;
    m.kfree(z);
    m.kfree(0x10n);
    m.kfree(0);
    expect(m.freePagesCount).toBe(before);
  });
});

describe("slab geometry (calculate_order, mm/slub.c 6.12)", () => {
  const geometry = (cpus: number) => Object.fromEntries(slab_of(boot({ ram: "512MiB", trace: false, cpus }).ms).caches.map((c) => [c.name, [c.order, c.objects]]));
  it("with 2 CPUs, the default machine (min_objects 12)", () => {
    expect(geometry(2)).toEqual({
      "kmalloc-96": [0, 42], "kmalloc-192": [0, 21], "kmalloc-8": [0, 512], "kmalloc-16": [0, 256], "kmalloc-32": [0, 128], "kmalloc-64": [0, 64],
      "kmalloc-128": [0, 32], "kmalloc-256": [0, 16], "kmalloc-512": [1, 16], "kmalloc-1k": [2, 16], "kmalloc-2k": [3, 16], "kmalloc-4k": [3, 8], "kmalloc-8k": [3, 4],
    });
  });
  it("with 8 CPUs (min_objects 20): kernel-facts §4's table", () => {
    const g = geometry(8);
    expect([g["kmalloc-8"], g["kmalloc-96"], g["kmalloc-192"], g["kmalloc-256"], g["kmalloc-512"], g["kmalloc-1k"], g["kmalloc-2k"], g["kmalloc-4k"], g["kmalloc-8k"]]).toEqual([
      [0, 512], [0, 42], [0, 21], [1, 32], [2, 32], [3, 32], [3, 16], [3, 8], [3, 4],
    ]);
  });
  const m = boot({ ram: "512MiB", trace: false, cpus: 1 });
  it("with one CPU (min_objects 8)", () => {
    const got = Object.fromEntries(slab_of(m.ms).caches.map((c) => [c.name, [c.order, c.objects]]));
    expect(got).toEqual({
      "kmalloc-96": [0, 42], "kmalloc-192": [0, 21], "kmalloc-8": [0, 512], "kmalloc-16": [0, 256], "kmalloc-32": [0, 128], "kmalloc-64": [0, 64],
      "kmalloc-128": [0, 32], "kmalloc-256": [0, 16], "kmalloc-512": [0, 8], "kmalloc-1k": [1, 8], "kmalloc-2k": [2, 8], "kmalloc-4k": [3, 8], "kmalloc-8k": [3, 4],
    });
  });
  it("calculate_order() directly, 8 CPUs", () => {
    const t = (size: number) => calculate_order(m.ms, size, 8);
    expect([8, 96, 192, 256, 512, 1024, 2048, 4096, 8192].map(t)).toEqual([0, 0, 0, 1, 2, 3, 3, 3, 3]);
  });
});

describe("slabs come from the buddy allocator", () => {
  it("a full slab takes the next one; kfree of every object empties them; beyond min_partial empty slabs go back", () => {
    const m = boot({ ram: "512MiB", trace: false });
    const free0 = m.freePagesCount;
    const objs = Array.from({ length: 8 * 64 }, () => m.kmalloc(64));
    const pfns = new Set(objs.map((o) => o.pfn));
    expect(pfns.size).toBe(8);
    for (const p of pfns) expect(m.ms.mem_map.flags[p!]! & 16).toBeTruthy();
    expect(m.freePagesCount).toBe(free0 - 8);
    expect(m.slabCache("kmalloc-64").counts).toMatchObject({ num_objs: 512, active_objs: 512, num_slabs: 8 });
    m.check();
    for (const o of objs) o.free();
    m.check();
    // __slab_free() discards an empty slab when n->nr_partial (it included) >= min_partial (5): the CPU slab
    // stays, 4 empty slabs stay on the partial list, the other 3 went back to the page allocator
    expect(m.slabCache("kmalloc-64").counts.num_slabs).toBe(5);
    expect(m.freePagesCount).toBe(free0 - 5);
  });
  it("objects leave a new slab in address order and come back LIFO", () => {
    const m = boot({ ram: "512MiB", trace: false });
    const a = m.kmalloc(32);
    const b = m.kmalloc(32);
    expect(b.ptr - a.ptr).toBe(32n);
    a.free();
    expect(m.kmalloc(32).ptr).toBe(a.ptr);
  });
  it("kmem_cache_create / alloc / free / destroy", () => {
    const m = boot({ ram: "512MiB", trace: false });
    const free0 = m.freePagesCount;
    const c = m.kmemCacheCreate("task_struct_demo", 1800, { flags: ["SLAB_HWCACHE_ALIGN"] });
    expect(c.size).toBe(1856);
    // 8 objects need order 2 but leave 1536 B > 16 KiB/16 over; order 3 leaves 1216 B ≤ 32 KiB/16
    expect(c.order).toBe(3);
    expect(c.objectsPerSlab).toBe(17);
    const o = c.alloc();
    expect(o.cache).toBe("task_struct_demo");
    expect(() => m.kmemCacheDestroy(c)).toThrow(/still has objects/);
    expect(() => m.kmemCacheFree("kmalloc-64", o)).toThrow(/Wrong slab cache/);
    c.free(o);
    const d = m.kmemCacheCreate("reclaimable_demo", 100, { flags: ["SLAB_RECLAIM_ACCOUNT"] });
    const r = d.alloc();
    expect(m.cat("/proc/meminfo").text).toMatch(/SReclaimable:\s+4 kB/);
    m.free(r);
    m.free(d);
    m.free(c);
    expect(m.freePagesCount).toBe(free0);
    expect(() => m.slabCache("task_struct_demo")).toThrow(/no slab cache/);
    m.check();
  });
});
