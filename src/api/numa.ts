/**
 * NUMA at the facade: `m.numactl()` (numactl --hardware), and the per-node sysfs files
 * /sys/devices/system/node/nodeN/{meminfo,numastat,distance}.
 */
import { Machine, registerProcFile } from "./machine";
import { ProcFile } from "./results";
import { node_distance, node_meminfo, node_numastat, numactl_hardware } from "../proc/node";
import { MmError } from "../errors";
import { mpol_new, type mpol_mode } from "../mm/mempolicy";
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
  }
}

Machine.prototype.setMempolicy = function (this: Machine, mode: mpol_mode, nodes: number[] = []) {
  const md = parseArg(z.enum(["default", "preferred", "bind", "interleave"]), mode, "mode");
  const n = this.ms.nodes.length;
  const ns = parseArg(z.array(z.number().int().min(0).max(n - 1)), nodes, "nodes");
  if (md === "default" && ns.length) throw new MmError("EINVAL", "nodes: MPOL_DEFAULT takes no nodes", { arg: "nodes" });
  if (md === "preferred" && ns.length !== 1) throw new MmError("EINVAL", `nodes: MPOL_PREFERRED takes exactly one node (0..${n - 1})`, { arg: "nodes" });
  if ((md === "bind" || md === "interleave") && !ns.length) throw new MmError("EINVAL", `nodes: MPOL_${md.toUpperCase()} needs a non-empty set of nodes (0..${n - 1})`, { arg: "nodes" });
  this.mempolicy = md === "default" ? undefined : mpol_new(md, ns);
  return new ProcFile("set_mempolicy", `MPOL_${md.toUpperCase()}${ns.length ? ` nodes ${ns.join(",")}` : ""}\n`);
};

Machine.prototype.numastat = function (this: Machine) {
  const cols = this.ms.nodes.map((nd) => node_numastat(this.ms, nd.node_id).trim().split("\n").map((l) => l.split(" ")));
  const names = cols[0]!.map((r) => r[0]!);
  let out = "".padEnd(28) + this.ms.nodes.map((nd) => `node${nd.node_id}`.padStart(16)).join("") + "\n";
  names.forEach((name, i) => {
    out += name.padEnd(28) + cols.map((c) => c[i]![1]!.padStart(16)).join("") + "\n";
  });
  return new ProcFile("numastat", out);
};

Machine.prototype.numactl = function (this: Machine) {
  return new ProcFile("numactl --hardware", numactl_hardware(this.ms));
};

function nodeOf(m: Machine, id: string): number {
  const nid = Number(id);
  if (!(nid >= 0 && nid < m.ms.nodes.length)) throw new MmError("ENOENT", `path: no node${id}; this machine has node0${m.ms.nodes.length > 1 ? `..node${m.ms.nodes.length - 1}` : ""}`, { arg: "path" });
  return nid;
}

registerProcFile(/^\/sys\/devices\/system\/node\/node(\d+)\/meminfo$/, "/sys/devices/system/node/nodeN/meminfo", (m, mm) => new ProcFile(mm[0]!, node_meminfo(m.ms, nodeOf(m, mm[1]!), m.ms.nodes.length === 1 ? m.meminfoExtra() : {})));
registerProcFile(/^\/sys\/devices\/system\/node\/node(\d+)\/numastat$/, "/sys/devices/system/node/nodeN/numastat", (m, mm) => new ProcFile(mm[0]!, node_numastat(m.ms, nodeOf(m, mm[1]!))));
registerProcFile(/^\/sys\/devices\/system\/node\/node(\d+)\/distance$/, "/sys/devices/system/node/nodeN/distance", (m, mm) => new ProcFile(mm[0]!, node_distance(m.ms, nodeOf(m, mm[1]!))));
