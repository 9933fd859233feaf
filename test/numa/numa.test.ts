/** NUMA: zonelists by distance, memory policies, zone_statistics() counters, per-node sysfs files. */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { boot } from "../../src";

const host = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : undefined);

describe("NUMA allocation and counters", () => {
  it("local allocation is a numa_hit; a page from another node is a miss there and foreign at home", () => {
    const m = boot({ arch: "x86_64", nodes: ["512MiB", "512MiB"], trace: false });
    const a = m.allocPages(0);
    expect(a.node).toBe(0);
    const b = m.allocPages(0, "GFP_KERNEL", { node: 1 });
    expect(b.node).toBe(1);
    expect(m.cat("/sys/devices/system/node/node0/numastat").text).toBe("numa_hit 1\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\nlocal_node 1\nother_node 0\n");
    // node 1's page was a hit (it was the preferred node) but not local to the CPU on node 0
    expect(m.cat("/sys/devices/system/node/node1/numastat").text).toBe("numa_hit 1\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\nlocal_node 0\nother_node 1\n");
  });

  it("MPOL_PREFERRED falls back in distance order when its node is full; MPOL_BIND does not", () => {
    const m = boot({ arch: "x86_64", nodes: ["64MiB", "64MiB", "64MiB"], distance: [[10, 20, 30], [20, 10, 40], [30, 40, 10]], trace: false });
    m.setMempolicy("preferred", [2]);
    let n = 0;
    while (m.allocPages(0).node === 2) n++;
    expect(n).toBeGreaterThan(10000);
    // node 2's zonelist: node 2, then node 0 (distance 30), then node 1 (40)
    expect(m.allocPages(0).node).toBe(0);
    const ns = m.cat("/sys/devices/system/node/node0/numastat").text;
    expect(ns).toMatch(/^numa_hit 0\nnuma_miss 2\n/);
    expect(m.cat("/sys/devices/system/node/node2/numastat").text).toMatch(/numa_foreign 2\n/);
    // MPOL_BIND: node 2 only; below its low watermark the slow path may still go down to min, then ENOMEM
    m.setMempolicy("bind", [2]);
    const nodes = new Set<number>();
    let err: Error | undefined;
    for (let i = 0; i < 100000 && !err; i++) {
      try {
        nodes.add(m.allocPages(0).node);
      } catch (e) {
        err = e as Error;
      }
    }
    expect([...nodes]).toEqual([2]);
    expect(err?.message).toMatch(/^ENOMEM: .*zones tried: Node 2 DMA32 \(free \d+ ≤ min watermark \d+\)$/);
    m.check();
  });

  it("MPOL_INTERLEAVE round-robins over its nodes and counts interleave hits", () => {
    const m = boot({ arch: "x86_64", nodes: 2, ram: "1GiB", trace: false });
    m.setMempolicy("interleave", [0, 1]);
    expect(Array.from({ length: 6 }, () => m.allocPages(0).node)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(m.cat("/sys/devices/system/node/node1/numastat").text).toContain("interleave_hit 3\n");
    expect(() => m.setMempolicy("preferred", [0, 1])).toThrow(/^EINVAL: nodes: MPOL_PREFERRED takes exactly one node/);
    expect(() => m.setMempolicy("bind", [5])).toThrow(/^EINVAL: nodes.0: /);
  });

  it("numactl --hardware and the distance files", () => {
    const m = boot({ arch: "x86_64", nodes: ["1GiB", "1GiB"], cpus: 4 });
    const t = m.numactl().text;
    expect(t).toMatch(/^available: 2 nodes \(0-1\)\nnode 0 cpus: 0 1\nnode 0 size: \d+ MB\nnode 0 free: \d+ MB\nnode 1 cpus: 2 3\n/);
    expect(t.endsWith("node distances:\nnode   0   1 \n  0:  10  20 \n  1:  20  10 \n")).toBe(true);
    expect(m.cat("/sys/devices/system/node/node1/distance").text).toBe("20 10\n");
    expect(() => m.cat("/sys/devices/system/node/node7/meminfo")).toThrow(/^ENOENT: path: no node7/);
  });

  it("nodeN/meminfo has this machine's labels and columns", () => {
    const m = boot({ arch: "x86_64", ram: "4GiB" });
    const ours = m.cat("/sys/devices/system/node/node0/meminfo").text;
    expect(ours.split("\n")[0]).toMatch(/^Node 0 MemTotal: +\d+ kB$/);
    const real = host("/sys/devices/system/node/node0/meminfo");
    if (!real) return;
    const o = new Map(ours.trimEnd().split("\n").map((l) => [l.split(":")[0], l]));
    let compared = 0;
    for (const l of real.trimEnd().split("\n")) {
      const k = l.split(":")[0]!;
      const mine = o.get(k);
      if (!mine || /\d{9,}/.test(l)) continue;
      expect(mine.length, k).toBe(l.length);
      compared++;
    }
    expect(compared).toBeGreaterThan(25);
  });
});
