/** The NUMA facade's views: m.zonelist() (build_zonelists()'s fallback order), m.numastat()'s layout. */
import { describe, expect, it } from "vitest";
import { MmError, boot } from "../../src";

// no two distances in a row within 2 of each other: the kernel's find_next_best_node() adds up to 2
// (a node below us, a node with CPUs) before comparing, and mmlab breaks exact ties by node id only
const three = () => boot({ arch: "x86_64", nodes: ["1GiB", "1GiB", "1GiB"], distance: [[10, 21, 31], [21, 10, 16], [31, 16, 10]], cpus: 3, trace: false });

describe("m.zonelist(node)", () => {
  it("is build_zonelists()'s boot line, and the zones in the order the allocator tries them", () => {
    const m = three();
    expect(m.zonelist(0).text).toBe("Fallback order for Node 0: 0 1 2 \n");
    expect(m.zonelist(1).text).toBe("Fallback order for Node 1: 1 2 0 \n");
    expect(m.zonelist(2).text).toBe("Fallback order for Node 2: 2 1 0 \n");
    const t = m.zonelist(2).toString();
    expect(t).toBe("Fallback order for Node 2: 2 1 0 \n");
    const rows = m.zonelist(2).toText().split("\n").filter((l) => /^\d  /.test(l)).map((l) => l.split(/ +/).slice(0, 4).join(" "));
    expect(rows).toEqual(["0 2 DMA32 10", "1 1 DMA32 16", "2 0 DMA32 31", "3 0 DMA 31"]);
  });

  it("the allocator follows it: MPOL_PREFERRED node 2, node 2 full → node 1 (21), not node 0 (31)", () => {
    const m = boot({ arch: "x86_64", nodes: ["64MiB", "64MiB", "64MiB"], distance: [[10, 21, 31], [21, 10, 21], [31, 21, 10]], trace: false });
    m.setMempolicy("preferred", [2]);
    while (m.allocPages(0).node === 2);
    expect(m.zonelist(2).text).toBe("Fallback order for Node 2: 2 1 0 \n");
    expect(m.allocPages(0).node).toBe(1);
  });

  it("UMA is the one-node case", () => {
    const m = boot();
    expect(m.zonelist().text).toBe("Fallback order for Node 0: 0 \n");
    expect(m.numactl().text).toMatch(/^available: 1 nodes \(0\)\nnode 0 cpus: 0 1\nnode 0 size: \d+ MB\nnode 0 free: \d+ MB\nnode distances:\nnode   0 \n  0:  10 \n$/);
    expect(() => m.zonelist(1)).toThrow(MmError);
    expect(() => m.zonelist(1)).toThrow(/^EINVAL: node: /);
  });
});

describe("m.numastat()", () => {
  it("numastat's layout: a 16-wide label, one 16-wide column per node", () => {
    const m = boot({ arch: "x86_64", nodes: ["512MiB", "512MiB"], trace: false });
    m.allocPages(0);
    m.allocPages(0, "GFP_KERNEL", { node: 1 });
    m.setMempolicy("interleave", [0, 1]);
    m.allocPages(0);
    m.allocPages(0);
    expect(m.numastat().text).toBe(
      [
        "                           node0           node1",
        "numa_hit                       2               2",
        "numa_miss                      0               0",
        "numa_foreign                   0               0",
        "interleave_hit                 1               1",
        "local_node                     2               0",
        "other_node                     0               2",
        "",
      ].join("\n"),
    );
  });

  it("numactl renders the per-node counters as a table", () => {
    const m = boot({ arch: "x86_64", nodes: ["512MiB", "512MiB"], trace: false });
    m.allocPages(0, "GFP_KERNEL", { node: 1 });
    const t = m.numactl().toText();
    expect(t).toMatch(/\nnode +size +free +numa_hit +numa_miss +numa_foreign +interleave_hit +local_node +other_node +distances\n/);
    // node 1: 504 MiB managed (512 MiB less its mem_map), one page taken: a numa_hit, not local (CPU 0 is on node 0)
    expect(t.split("\n").at(-1)).toBe("   1  504 MiB  504.0 MiB         1          0             0               0           0           1  20 10");
  });
});

describe("per-node meminfo on a NUMA machine", () => {
  it("slab pages are counted on the node their frames are on, and add up to /proc/meminfo's", () => {
    const m = boot({ arch: "x86_64", nodes: ["512MiB", "512MiB"], trace: false });
    // slabs and large kmallocs are allocated on the CPU's node, node 0
    m.kmalloc(100);
    m.kmemCacheCreate("rc", 100, { flags: ["SLAB_RECLAIM_ACCOUNT"] });
    m.kmemCacheAlloc("rc");
    m.kmalloc("64KiB"); // order 4: 64 KiB of SUnreclaim
    const kB = (path: string, key: string) => Number(new RegExp(`${key}: +(\\d+) kB`).exec(m.cat(path).text)![1]);
    const node = (i: number, key: string) => kB(`/sys/devices/system/node/node${i}/meminfo`, key);
    for (const key of ["Slab", "SReclaimable", "SUnreclaim", "KReclaimable"]) {
      expect(node(0, key), key).toBe(kB("/proc/meminfo", key));
      expect(node(1, key), key).toBe(0);
    }
    expect(node(0, "SReclaimable")).toBe(4); // one order-0 slab of "rc"
    expect(node(0, "SUnreclaim")).toBeGreaterThanOrEqual(64 + 4);
  });
});
