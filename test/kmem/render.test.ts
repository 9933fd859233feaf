/** Every kernel-memory result renders as text and HTML, summary in one line, JSON without bigints. */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";
import type { Renderable } from "../../src/render/renderable";

describe("rendering", () => {
  it("text, HTML and JSON of each result", () => {
    const m = boot({ ram: "2GiB" });
    const c = m.kmemCacheCreate("demo_cache", 300);
    const results: Renderable[] = [
      m.kmalloc(100),
      m.kmalloc("128KiB"),
      m.kmalloc(0),
      c,
      c.alloc(),
      m.vmalloc(100 * 4096),
      m.kmap(m.ms.max_low_pfn + 1),
      m.kmapLocal(m.ms.max_low_pfn + 2),
      m.kmap(5),
      m.layout,
      m.whereis(0xc0001000n),
      m.insmod("demo", 20000),
      m.pkmap(),
      m.slabCache("kmalloc-128"),
    ];
    results.push(m.kfree((results[0] as unknown as { ptr: bigint }).ptr));
    for (const r of results) {
      const t = r.toString();
      expect(t.length).toBeGreaterThan(10);
      expect(r.view().summary).not.toMatch(/\n/);
      expect(r.toHTML()).toMatch(/^<|<div|<section/);
      expect(() => JSON.stringify(r.toJSON())).not.toThrow();
    }
    expect(results[0]!.toString()).toMatch(/■|●/);
    expect(results[5]!.toString()).toMatch(/guard page/);
    expect(m.layout.toString()).toMatch(/vmalloc gap/);
  });
});
