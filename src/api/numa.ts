/**
 * NUMA at the facade: `m.numactl()` (numactl --hardware), `m.numastat()`, `m.zonelist(node)` (the
 * fallback order build_zonelists() logs at boot), `m.setMempolicy()`, and the per-node sysfs files
 * /sys/devices/system/node/nodeN/{meminfo,numastat,distance}.
 */
import { Machine, registerProcFile } from "./machine";
import { Process } from "./process";
import { ProcFile } from "./results";
import { node_distance, node_meminfo, node_numastat, numactl_hardware } from "../proc/node";
import { MmError } from "../errors";
import { mpol_new, type mpol_mode } from "../mm/mempolicy";
import { node_zonelist } from "../mm/page_alloc";
import { fmtBytes } from "../lib/units";
import type { Block, CellLike } from "../render/view";
import { parseArg } from "./schemas";
import { z } from "zod";

declare module "./machine" {
  interface Machine {
    /** `numactl --hardware`: nodes, their CPUs, sizes, free memory and the distance table */
    numactl(): ProcFile;
    /** set_mempolicy() for the learner's task: "default", "preferred" (one node), "bind" or "interleave" (nodes) */
    setMempolicy(mode: mpol_mode, nodes?: number[]): ProcFile;
    /** the NUMA counters per node, laid out like the `numastat` tool (numactl package) */
    numastat(): ProcFile;
    /**
     * A node's zonelist (pgdat->node_zonelists[ZONELIST_FALLBACK]): the zones an allocation that starts
     * on `node` tries, in order — the node's own zones highest first, then the other nodes' by distance.
     * `.text` is the line build_zonelists() prints at boot: "Fallback order for Node N: …".
     */
    zonelist(node?: number): ProcFile;
  }
}

declare module "./process" {
  interface Process {
    /**
     * set_mempolicy() for this process: where its page faults allocate. "default" (the node of its CPU),
     * "preferred" (one node first), "bind" (only these nodes), "interleave" (page by page over the nodes,
     * by the page's offset in its VMA). Inherited by fork.
     */
    setMempolicy(mode: mpol_mode, nodes?: number[]): ProcFile;
    /** the process's policy as numactl --show would name it */
    readonly mempolicy: string;
  }
}

function parsePolicy(m: Machine, mode: mpol_mode, nodes: number[]) {
  const md = parseArg(z.enum(["default", "preferred", "bind", "interleave"]), mode, "mode");
  const n = m.ms.nodes.length;
  const ns = parseArg(z.array(z.number().int().min(0).max(n - 1)), nodes, "nodes");
  if (md === "default" && ns.length) throw new MmError("EINVAL", "nodes: MPOL_DEFAULT takes no nodes", { arg: "nodes" });
  if (md === "preferred" && ns.length !== 1) throw new MmError("EINVAL", `nodes: MPOL_PREFERRED takes exactly one node (0..${n - 1})`, { arg: "nodes" });
  if ((md === "bind" || md === "interleave") && !ns.length) throw new MmError("EINVAL", `nodes: MPOL_${md.toUpperCase()} needs a non-empty set of nodes (0..${n - 1})`, { arg: "nodes" });
  return { md, ns };
}

Process.prototype.setMempolicy = function (this: Process, mode: mpol_mode, nodes: number[] = []) {
  const t = this.task();
  const { md, ns } = parsePolicy(this.machine, mode, nodes);
  t.mempolicy = md === "default" ? undefined : mpol_new(md, ns);
  return new ProcFile(`set_mempolicy (pid ${this.pid})`, `MPOL_${md.toUpperCase()}${ns.length ? ` nodes ${ns.join(",")}` : ""}\n`);
};

Object.defineProperty(Process.prototype, "mempolicy", {
  get(this: Process) {
    const p = this.task().mempolicy;
    return p ? `${p.mode === "bind" ? "bind" : p.mode === "interleave" ? "interleave" : "preferred"}:${p.nodes.join(",")}` : "default";
  },
});

Machine.prototype.setMempolicy = function (this: Machine, mode: mpol_mode, nodes: number[] = []) {
  const { md, ns } = parsePolicy(this, mode, nodes);
  this.mempolicy = md === "default" ? undefined : mpol_new(md, ns);
  return new ProcFile("set_mempolicy", `MPOL_${md.toUpperCase()}${ns.length ? ` nodes ${ns.join(",")}` : ""}\n`);
};

/** numastat with no arguments (numactl's numastat.c, the compatibility display): a 16-column label,
 * then one 16-wide right-aligned column per node, e.g. "numa_hit               378516017" */
Machine.prototype.numastat = function (this: Machine) {
  const cols = this.ms.nodes.map((nd) => node_numastat(this.ms, nd.node_id).trim().split("\n").map((l) => l.split(" ")));
  const names = cols[0]!.map((r) => r[0]!);
  let out = "".padEnd(16) + this.ms.nodes.map((nd) => `node${nd.node_id}`.padStart(16)).join("") + "\n";
  names.forEach((name, i) => {
    out += name.padEnd(16) + cols.map((c) => c[i]![1]!.padStart(16)).join("") + "\n";
  });
  return new ProcFile("numastat", out);
};

/** per node: size, free, and the zone_statistics() counters, as a table for the rendered views */
function nodesTable(m: Machine): Block {
  const ms = m.ms;
  const sum = (nid: number, f: (z: (typeof ms.nodes)[number]["node_zones"][number]) => number) => ms.nodes[nid]!.node_zones.reduce((a, z) => a + f(z), 0);
  const rows: CellLike[][] = ms.nodes.map((n) => {
    const id = n.node_id;
    const managed = sum(id, (z) => z.managed_pages);
    const free = sum(id, (z) => z.nr_free_pages);
    const miss = sum(id, (z) => z.numa.numa_miss);
    return [
      id,
      fmtBytes(managed * ms.page_size),
      { text: fmtBytes(free * ms.page_size), tone: free < managed / 10 ? "warn" : "free" },
      sum(id, (z) => z.numa.numa_hit),
      { text: String(miss), tone: miss ? "warn" : undefined },
      sum(id, (z) => z.numa.numa_foreign),
      sum(id, (z) => z.numa.numa_interleave),
      sum(id, (z) => z.numa.numa_local),
      sum(id, (z) => z.numa.numa_other),
      ms.nodes.map((o) => ms.distance[id]![o.node_id]).join(" "),
    ];
  });
  return {
    kind: "table",
    caption: "Nodes: memory and the zone_statistics() counters (pages)",
    columns: ["node", "size", "free", "numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node", "distances"],
    align: ["r", "r", "r", "r", "r", "r", "r", "r", "r", "l"],
    rows,
  };
}

Machine.prototype.numactl = function (this: Machine) {
  return new ProcFile("numactl --hardware", numactl_hardware(this.ms), () => [nodesTable(this)]);
};

Machine.prototype.zonelist = function (this: Machine, node = 0) {
  const ms = this.ms;
  const nid = parseArg(z.number().int().min(0).max(ms.nodes.length - 1), node, "node");
  const zl = node_zonelist(ms, nid);
  const order = [...new Set(zl.map((zz) => zz.node.node_id))];
  // build_zonelists() (mm/page_alloc.c, Linux 6.12): pr_info("Fallback order for Node %d: ", local_node); pr_cont("%d ", node) per node
  const text = `Fallback order for Node ${nid}: ${order.map((n) => `${n} `).join("")}\n`;
  const views = (): Block[] => [
    {
      kind: "table",
      caption: `Node ${nid}'s zonelist (ZONELIST_FALLBACK): tried top to bottom; a GFP mask skips zones above gfp_zone()`,
      columns: ["#", "node", "zone", "distance", "free pages", "low wmark", "managed"],
      align: ["r", "r", "l", "r", "r", "r", "r"],
      rows: zl.map((zz, i) => [i, zz.node.node_id, zz.name, ms.distance[nid]![zz.node.node_id]!, { text: String(zz.nr_free_pages), tone: zz.nr_free_pages <= zz.low_wmark_pages() ? "warn" : "free" }, zz.low_wmark_pages(), zz.managed_pages]),
    },
  ];
  return new ProcFile(`zonelist of node ${nid}`, text, views);
};

function nodeOf(m: Machine, id: string): number {
  const nid = Number(id);
  if (!(nid >= 0 && nid < m.ms.nodes.length)) throw new MmError("ENOENT", `path: no node${id}; this machine has node0${m.ms.nodes.length > 1 ? `..node${m.ms.nodes.length - 1}` : ""}`, { arg: "path" });
  return nid;
}

registerProcFile(/^\/sys\/devices\/system\/node\/node(\d+)\/meminfo$/, "/sys/devices/system/node/nodeN/meminfo", (m, mm) => new ProcFile(mm[0]!, node_meminfo(m.ms, nodeOf(m, mm[1]!), m.ms.nodes.length === 1 ? m.meminfoExtra() : {})));
registerProcFile(/^\/sys\/devices\/system\/node\/node(\d+)\/numastat$/, "/sys/devices/system/node/nodeN/numastat", (m, mm) => new ProcFile(mm[0]!, node_numastat(m.ms, nodeOf(m, mm[1]!))));
registerProcFile(/^\/sys\/devices\/system\/node\/node(\d+)\/distance$/, "/sys/devices/system/node/nodeN/distance", (m, mm) => new ProcFile(mm[0]!, node_distance(m.ms, nodeOf(m, mm[1]!))));
