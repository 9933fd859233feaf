/**
 * build_zonelists() with equidistant nodes (mm/page_alloc.c, 6.12 find_next_best_node): the tie-breaks
 * worked by hand for 4 nodes, every remote distance 20, 4 CPUs (one per node).
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/index";

describe("fallback order among equidistant nodes", () => {
  it("nodes below the local one cost 1, nodes with CPUs cost 1, and node_load spreads the first remote pick round-robin", () => {
    const m = boot({ arch: "x86_64", nodes: 4, ram: "1GiB", cpus: 4 });
    // node 0: 1 (load[1]=1), 2, 3; node 1: 2 (load[2]=1), 3, 0; node 2: 3 (load[3]=1), 0, 1;
    // node 3: 0 (22·1024+0 beats 1 and 2 at 22·1024+1; load[0]=1), 1, 2
    expect([0, 1, 2, 3].map((n) => m.zonelist(n).text)).toEqual([
      "Fallback order for Node 0: 0 1 2 3 \n",
      "Fallback order for Node 1: 1 2 3 0 \n",
      "Fallback order for Node 2: 2 3 0 1 \n",
      "Fallback order for Node 3: 3 0 1 2 \n",
    ]);
  });
  it("headless nodes (no CPUs) are preferred among equals", () => {
    // 2 CPUs on 4 nodes: nodes 0 and 1 have a CPU each, 2 and 3 none
    const m = boot({ arch: "x86_64", nodes: 4, ram: "1GiB", cpus: 2 });
    // node 0: 2 (20+0 → load[2]=1), 3 (20), 1 (21); node 1: 3 (20, load 0 → load[3]=1), 2 (20·1024+1), 0 (22)
    expect(m.zonelist(0).text).toBe("Fallback order for Node 0: 0 2 3 1 \n");
    expect(m.zonelist(1).text).toBe("Fallback order for Node 1: 1 3 2 0 \n");
  });
});
