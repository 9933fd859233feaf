/**
 * m.fragmentation(): internal fragmentation per allocator (buddy rounding, slab rounding, malloc chunk
 * overhead) and external fragmentation per zone and order; m.recorder() / m.record(): the same over a
 * workload, as charts. Exact numbers, worked by hand.
 */
import { describe, expect, it } from "vitest";
import { HeapState, MmError, boot, chart } from "../../src";

function err(f: () => unknown): MmError {
  try {
    f();
  } catch (e) {
    if (e instanceof MmError) return e;
    throw new Error(`expected an MmError, got ${String(e)}`);
  }
  throw new Error("expected an MmError, nothing was thrown");
}

describe("buddy rounding: alloc_pages by size", () => {
  it("132 KiB → order 6 (256 KiB): 124 KiB wasted, until the block is freed", () => {
    const t = boot({ arch: "toy", ram: "256KiB" });
    const b = t.allocPages("132KiB");
    const f = t.fragmentation();
    expect(f.buddy).toEqual({
      blocks: [{ pfn: b.pfn, order: 6, node: 0, zone: "Normal", requested: 135168, bytes: 262144, wasted: 126976 }],
      requested: 135168,
      allocated: 262144,
      wasted: 126976,
    });
    expect(f.buddy.wasted).toBe(124 * 1024);
    b.free();
    expect(t.fragmentation().buddy).toEqual({ blocks: [], requested: 0, allocated: 0, wasted: 0 });
  });

  it("an order asks for whole pages (no rounding); sizes add up; a block freed by PFN drops out", () => {
    const m = boot({ trace: false });
    m.allocPages(3);
    const a = m.allocPages("5KiB"); // order 1: 8 KiB, 3 KiB wasted
    const c = m.allocPages("4KiB"); // order 0: exact
    const d = m.allocPages("65KiB"); // order 5: 128 KiB, 63 KiB wasted
    const f = m.fragmentation();
    expect(f.buddy.blocks.map((x) => [x.order, x.requested, x.wasted]).sort((x, y) => x[0]! - y[0]!)).toEqual([
      [0, 4096, 0],
      [1, 5120, 3072],
      [5, 66560, 64512],
    ]);
    expect(f.buddy.wasted).toBe(3072 + 64512);
    m.freePages(d.pfn, 5);
    expect(m.fragmentation().buddy.blocks.map((x) => x.pfn).sort()).toEqual([a.pfn, c.pfn].sort());
  });
});

describe("slab rounding: kmalloc size classes", () => {
  it("kmalloc(100) → kmalloc-128: 28 bytes; 8 → 0; 30 → kmalloc-32: 2; 200 → kmalloc-256: 56; 20 KiB → order-3 pages: 12 KiB", () => {
    const m = boot({ trace: false });
    const k = m.kmalloc(100);
    expect(k.cache).toBe("kmalloc-128");
    m.kmalloc(8);
    m.kmalloc(30);
    m.kmalloc(200);
    m.kmalloc(100);
    m.kmalloc("20KiB");
    const s = m.fragmentation().slab;
    expect(s.caches).toEqual([
      { cache: "kmalloc-8", objects: 1, requested: 8, allocated: 8, wasted: 0 },
      { cache: "kmalloc-32", objects: 1, requested: 30, allocated: 32, wasted: 2 },
      { cache: "kmalloc-128", objects: 2, requested: 200, allocated: 256, wasted: 56 },
      { cache: "kmalloc-256", objects: 1, requested: 200, allocated: 256, wasted: 56 },
      { cache: "order-3 pages", objects: 1, requested: 20480, allocated: 32768, wasted: 12288 },
    ]);
    expect(s.wasted).toBe(2 + 56 + 56 + 12288);
    expect(s.unknown).toBe(0);
    // kfree (by result or by raw pointer) takes the object out
    k.free();
    const two = m.kmalloc(30);
    m.kfree(two.ptr);
    expect(m.fragmentation().slab.caches.find((c) => c.cache === "kmalloc-128")).toEqual({ cache: "kmalloc-128", objects: 1, requested: 100, allocated: 128, wasted: 28 });
    expect(m.fragmentation().slab.caches.find((c) => c.cache === "kmalloc-32")!.objects).toBe(1);
  });

  it("the kernel's own kmalloc objects (vmalloc's pages[] array) are counted apart, not guessed", () => {
    const m = boot({ trace: false });
    m.kmalloc(100);
    const v = m.vmalloc("64KiB"); // 16 pages: a 16-pointer pages[] array from kmalloc
    expect(m.fragmentation().slab.unknown).toBe(1);
    v.free();
    expect(m.fragmentation().slab.unknown).toBe(0);
  });

  it("a snapshot branches the record of requested sizes", () => {
    const m = boot({ trace: false });
    const k = m.kmalloc(100);
    const b = m.allocPages("132KiB");
    const snap = m.snapshot();
    k.free();
    b.free();
    const n = boot(snap);
    expect(m.fragmentation().internal).toBe(0);
    expect(n.fragmentation().internal).toBe(28 + 126976);
  });
});

describe("malloc chunk overhead", () => {
  it("is p.heap().overhead of each live process, when this build has it", () => {
    const m = boot({ trace: false });
    const p = m.spawn("sh");
    p.malloc(100);
    p.malloc(1);
    const h = p.heap() as unknown as { overhead?: { requested: number; chunkBytes: number; allocations: number } };
    const f = m.fragmentation().malloc;
    if ("overhead" in h && h.overhead) {
      const o = h.overhead;
      expect(f.available).toBe(true);
      expect(f.processes).toEqual([{ pid: p.pid, name: "sh", allocations: o.allocations, requested: o.requested, chunkBytes: o.chunkBytes, overhead: o.chunkBytes - o.requested }]);
      expect(f.overhead).toBe(o.chunkBytes - o.requested);
    } else {
      expect(f).toEqual({ available: false, processes: [], requested: 0, chunkBytes: 0, overhead: 0, note: "p.heap().overhead is not available in this build: malloc's chunk overhead is not counted" });
      expect(m.fragmentation().toString()).toContain("malloc: p.heap().overhead is not available in this build");
    }
  });

  it("sums the getter's numbers over live processes, skipping processes that never malloc'd", () => {
    // a stand-in getter with fixed numbers per PID (whatever the real one computes, the report must
    // add up exactly what it returns)
    const proto = HeapState.prototype as unknown as object;
    const had = Object.getOwnPropertyDescriptor(proto, "overhead");
    const fake: Record<number, { requested: number; chunkBytes: number; allocations: number }> = {};
    Object.defineProperty(proto, "overhead", { configurable: true, get(this: HeapState) { return fake[this.process.pid]; } });
    try {
      const m = boot({ trace: false });
      const p = m.spawn("sh");
      const q = m.spawn("cat");
      m.spawn("idle");
      fake[p.pid] = { requested: 101, chunkBytes: 128, allocations: 2 };
      fake[q.pid] = { requested: 1000, chunkBytes: 1024, allocations: 1 };
      const f = m.fragmentation();
      expect(f.malloc).toEqual({
        available: true,
        processes: [
          { pid: p.pid, name: "sh", allocations: 2, requested: 101, chunkBytes: 128, overhead: 27 },
          { pid: q.pid, name: "cat", allocations: 1, requested: 1000, chunkBytes: 1024, overhead: 24 },
        ],
        requested: 1101,
        chunkBytes: 1152,
        overhead: 51,
      });
      expect(f.internal).toBe(51);
      expect(f.toString()).toMatch(/\nmalloc \(chunk headers, alignment\) +3 +1\.1 KiB +1\.1 KiB +51 B +4\.4%\n/);
    } finally {
      if (had) Object.defineProperty(proto, "overhead", had);
      else delete (proto as { overhead?: unknown }).overhead;
    }
  });
});

describe("external fragmentation: mm/vmstat.c's indices", () => {
  // 64 frames, every other one allocated: 32 free order-0 blocks, no two of them buddies
  function checkerboard() {
    const t = boot({ arch: "toy", ram: "256KiB" });
    const blocks = Array.from({ length: 64 }, () => t.allocPages(0));
    for (const b of blocks) if (b.pfn % 2 === 0) b.free();
    return t;
  }

  it("a checkerboard: order 0 always works, order 1 never; extfrag(1) = 1000 − (1000 + 32·1000/2)/32 = 469", () => {
    const t = checkerboard();
    const [z] = t.fragmentation().external;
    expect(z!.free_pages).toBe(32);
    expect(z!.nr_free).toEqual([32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(z!.unusable).toEqual([0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
    // order k: 1000 − ⌊(1000 + ⌊32000/2^k⌋)/32⌋
    expect(z!.extfrag).toEqual([-1000, 469, 719, 844, 907, 938, 954, 961, 965, 967, 968]);
    expect(t.cat("/sys/kernel/debug/extfrag/extfrag_index").text).toBe("Node 0, zone   Normal -1.000  0.469  0.719  0.844  0.907  0.938  0.954  0.961  0.965  0.967  0.968 \n");
    const text = t.fragmentation({ order: 1 }).toString();
    expect(text).toContain("Node 0 Normal          32  -1.000  0.469  0.719  0.844  0.907  0.938  0.954  0.961  0.965  0.967  0.968");
    expect(text.split("\n")[1]).toBe("FragmentationReport internal 0 B wasted (buddy 0 B, slab 0 B, malloc 0 B); order-1 unusable index 1.000 in Node 0 Normal");
  });

  it("every populated zone, in node order; the report renders HTML with the debugfs text", () => {
    const m = boot({ arch: "x86_64", nodes: 2, ram: "2GiB", trace: false });
    const f = m.fragmentation();
    expect(f.external.map((x) => `${x.node} ${x.zone}`)).toEqual(["0 DMA", "0 DMA32", "1 DMA32"]);
    const html = f.toHTML();
    expect(html).toContain("/sys/kernel/debug/extfrag/unusable_index");
    expect(html).not.toMatch(/<script|<style|class=/);
    expect(f.toJSON().external[0]!.nr_free).toEqual(m.zoneInfo("DMA", 0).nr_free);
  });

  it("rejects a bad order", () => {
    const m = boot();
    expect(err(() => m.fragmentation({ order: 11 })).message).toMatch(/^EINVAL: opts.order: /);
    expect(err(() => m.fragmentation({ orders: 1 } as never)).message).toBe('EINVAL: opts: unknown option "orders"');
  });
});

describe("recording a workload", () => {
  it("samples free blocks per order and the order-3 indices, step by step (worked by hand)", () => {
    const t = boot({ arch: "toy", ram: "256KiB" });
    const rec = t.record(4, (_i, m) => m.allocPages(0));
    expect(rec.zone).toBe("Normal");
    expect(rec.order).toBe(3);
    expect(rec.samples.map((s) => s.step)).toEqual([0, 1, 2, 3, 4]);
    expect(rec.samples.map((s) => s.nr_free.slice(0, 7))).toEqual([
      [0, 0, 0, 0, 0, 0, 1],
      [1, 1, 1, 1, 1, 1, 0], // 64 split down: 32 + 16 + 8 + 4 + 2 + 1 free
      [0, 1, 1, 1, 1, 1, 0],
      [1, 0, 1, 1, 1, 1, 0],
      [0, 0, 1, 1, 1, 1, 0],
    ]);
    expect(rec.samples.map((s) => s.free_pages)).toEqual([64, 63, 62, 61, 60]);
    // unusable(3) = (free − 8·blocks of ≥ 8 pages)·1000/free: 7/63, 6/62, 5/61, 4/60
    expect(rec.samples.map((s) => s.unusable)).toEqual([0, 111, 96, 81, 66]);
    expect(rec.samples.map((s) => s.extfrag)).toEqual([-1000, -1000, -1000, -1000, -1000]);
    const c = rec.chart("orders");
    expect(c.toJSON()).toEqual({
      title: "free blocks per order — Node 0, zone Normal",
      xLabel: "step",
      yLabel: "free blocks",
      x: [0, 1, 2, 3, 4],
      series: [
        { name: "order 0", values: [0, 1, 0, 1, 0] },
        { name: "order 1", values: [0, 1, 1, 0, 0] },
        { name: "order 2", values: [0, 1, 1, 1, 1] },
        { name: "order 3", values: [0, 1, 1, 1, 1] },
        { name: "order 4", values: [0, 1, 1, 1, 1] },
        { name: "order 5", values: [0, 1, 1, 1, 1] },
        { name: "order 6", values: [1, 0, 0, 0, 0] },
      ],
    });
    expect(rec.chart("index").series.map((s) => s.values)).toEqual([
      [0, 0.111, 0.096, 0.081, 0.066],
      [-1, -1, -1, -1, -1],
    ]);
    expect(rec.chart("orders", { orders: [0, 6] }).series.map((s) => s.name)).toEqual(["order 0", "order 6"]);
  });

  it("every N steps, plus the end; the same workload gives the same samples (seeded)", () => {
    const run = () => {
      const m = boot({ arch: "x86_64", ram: "64MiB", seed: 7 });
      const live: { free(): unknown }[] = [];
      return m.record(
        1000,
        (_i, mm) => {
          if (live.length && mm.random(3) === 0) live.splice(mm.random(live.length), 1)[0]!.free();
          else live.push(mm.allocPages(mm.random(3)));
        },
        { every: 300 },
      );
    };
    const a = run();
    expect(a.samples.map((s) => s.step)).toEqual([0, 300, 600, 900, 1000]);
    expect(a.zone).toBe("DMA32");
    expect(JSON.stringify(run().toJSON())).toBe(JSON.stringify(a.toJSON()));
    expect(a.machine.tracing).toBe(true); // record() ran quietly and restored tracing
  });

  it("a manual recorder: sample() and step(); a second sample at one step replaces the first", () => {
    const t = boot({ arch: "toy", ram: "256KiB" });
    const rec = t.recorder({ order: 1, every: 2 });
    rec.sample("start");
    t.allocPages(0);
    rec.step();
    t.allocPages(0);
    rec.step(); // step 2: sampled
    rec.sample("after two"); // same step: replaces
    expect(rec.samples.map((s) => [s.step, s.label, s.unusable])).toEqual([
      [0, "start", 0],
      [2, "after two", 0],
    ]);
    // 62 free pages: order-1 blocks 1+1+1+1+1 of 2..32 pages → all usable for order 1
    expect(rec.samples[1]!.nr_free.slice(0, 7)).toEqual([0, 1, 1, 1, 1, 1, 0]);
  });

  it("renders as text and as SVG charts", () => {
    const t = boot({ arch: "toy", ram: "256KiB" });
    const rec = t.record(4, (_i, m) => m.allocPages(0));
    const text = rec.toString();
    expect(text.split("\n")[1]).toBe("FragRecorder 5 samples over 4 steps, Node 0 Normal: free 64 → 60 pages, order-3 unusable 0.000 → 0.066");
    expect(text).toContain("free blocks per order — Node 0, zone Normal");
    expect(text).toContain("↑ free blocks");
    const html = rec.toHTML();
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect((html.match(/<polyline /g) ?? []).length).toBe(7 + 2);
  });

  it("rejects bad input", () => {
    const t = boot({ arch: "toy", ram: "256KiB" });
    expect(err(() => t.record(-1, () => 0)).message).toMatch(/^EINVAL: steps: /);
    expect(err(() => t.record(2, 5 as never)).message).toBe("EINVAL: fn: a function (i, m) => { one step of the workload }, got number");
    expect(err(() => t.recorder({ zone: "HighMem" })).message).toMatch(/^EINVAL: zone: no zone "HighMem" on node 0/);
    expect(err(() => t.recorder({ every: 0 })).message).toMatch(/^EINVAL: opts.every: /);
    expect(err(() => t.recorder().chart("pie" as never)).message).toBe('EINVAL: kind: must be one of "orders", "index", "free", got "pie"');
    expect(err(() => t.recorder().chart("orders", { orders: [11] })).message).toMatch(/^EINVAL: opts.orders.0: /);
  });
});

describe("chart(): any numbers as a chart", () => {
  it("series by name, x values, labels; data back from toJSON()", () => {
    const c = chart({ title: "hit rate", series: { LRU: [0, 0.5, 0.6], FIFO: [0, 0.4, 0.5] }, x: [1, 2, 3], xLabel: "frames", yLabel: "hit rate" });
    expect(c.toJSON()).toEqual({ title: "hit rate", xLabel: "frames", yLabel: "hit rate", x: [1, 2, 3], series: [{ name: "LRU", values: [0, 0.5, 0.6] }, { name: "FIFO", values: [0, 0.4, 0.5] }] });
    expect(c.toString().split("\n").slice(0, 4)).toEqual(["hit rate", "Chart hit rate: 2 series × 3 samples", "", "      ↑ hit rate"]);
    expect(chart({ series: { a: [3, 1] } }).toJSON().x).toEqual([0, 1]);
    expect(err(() => chart({ series: { a: [1, 2] }, x: [0] })).message).toBe("EINVAL: opts.x: one x value per sample (2), got 1");
    expect(err(() => chart({ series: { a: [1, Number.NaN] } })).message).toMatch(/^EINVAL: opts.series.a.1: /);
  });
});
