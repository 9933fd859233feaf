/**
 * NUMA memory policies (mm/mempolicy.c, Linux 6.12): which node an allocation starts from and which
 * nodes it may use. MPOL_DEFAULT allocates on the local node (the CPU's), falling back in distance order;
 * MPOL_PREFERRED starts at the preferred node with the same fallback; MPOL_BIND restricts to a nodemask
 * (the nearest allowed node first); MPOL_INTERLEAVE spreads allocations round-robin over a nodemask
 * (interleave_nodes()), each allocation falling back normally if its node is full.
 */
export type mpol_mode = "default" | "preferred" | "bind" | "interleave";

export interface mempolicy {
  mode: mpol_mode;
  /** MPOL_BIND / MPOL_INTERLEAVE: the allowed nodes; MPOL_PREFERRED: the one preferred node */
  nodes: number[];
  /** interleave: the node the last interleaved allocation used (current->il_prev) */
  il_prev: number;
}

export function mpol_new(mode: mpol_mode, nodes: number[] = []): mempolicy {
  return { mode, nodes: [...new Set(nodes)].sort((a, b) => a - b), il_prev: -1 };
}

/** interleave_nodes(): the next node in the mask after il_prev, wrapping around */
export function interleave_nodes(pol: mempolicy): number {
  const next = pol.nodes.find((n) => n > pol.il_prev) ?? pol.nodes[0]!;
  pol.il_prev = next;
  return next;
}

/**
 * policy_node() + policy_nodemask(): the node to start from and the nodemask (undefined = any node),
 * for an allocation by a task running on `local_nid` (numa_node_id()).
 * MPOL_BIND starts from the local node if it is allowed, else the first allowed node (the zonelist of
 * the local node, filtered by the mask, yields the nearest allowed node first).
 */
export function policy_node_and_mask(pol: mempolicy | undefined, local_nid: number): { nid: number; nodemask?: number[]; interleave?: boolean } {
  if (!pol || pol.mode === "default") return { nid: local_nid };
  switch (pol.mode) {
    case "preferred":
      return { nid: pol.nodes[0] ?? local_nid };
    case "bind":
      return { nid: local_nid, nodemask: pol.nodes };
    case "interleave":
      return { nid: interleave_nodes(pol), interleave: true };
  }
}

/**
 * cpu_to_node(): CPUs are spread over the nodes in equal runs, as `numactl --hardware` shows them
 * (node 0 has CPUs 0..k-1, node 1 the next k…); leftover CPUs belong to the last node.
 */
export function cpu_to_node(nr_cpus: number, nr_nodes: number, cpu: number): number {
  const per = Math.max(1, Math.floor(nr_cpus / nr_nodes));
  return Math.min(Math.floor(cpu / per), nr_nodes - 1);
}

/**
 * interleave_nid() (mm/mempolicy.c, 6.12): a fault in a VMA under MPOL_INTERLEAVE goes to the
 * (ilx mod n)-th node of the mask, ilx = vma->vm_pgoff + the page's offset in the VMA — so the same
 * address always lands on the same node, page after page round-robin.
 */
export function interleave_nid(pol: mempolicy, ilx: number): number {
  return pol.nodes[ilx % pol.nodes.length]!;
}
