/**
 * `replacement(refs, { frames, policy })`: the teaching mode for page-replacement policies, as a result
 * that renders the frames after every access, hits and misses, and the hit rate.
 */
import { z } from "zod";
import { MmError } from "../errors";
import { Renderable } from "../render/renderable";
import type { CellLike, View } from "../render/view";
import { simulate_replacement, type ReplacementPolicy, type replacement_run } from "../teach/replacement";
import { parseArg } from "./schemas";

const POLICIES = ["FIFO", "LRU", "OPT", "CLOCK"] as const;

export class ReplacementRun extends Renderable {
  constructor(readonly run: replacement_run) {
    super();
  }
  get hits(): number {
    return this.run.hits;
  }
  get misses(): number {
    return this.run.misses;
  }
  get hitRate(): number {
    return this.run.hitRate;
  }
  view(): View {
    const r = this.run;
    const rows: CellLike[][] = r.steps.slice(0, 200).map((s, t) => [
      t + 1,
      s.ref,
      s.hit ? { text: "hit", tone: "ok" } : { text: "miss", tone: "error" },
      s.evicted ?? "",
      s.frames.map((f, i) => (f === undefined ? "·" : `${f}${s.refbits?.[i] ? "*" : ""}`)).join(" "),
    ]);
    return {
      title: `${r.policy} with ${r.nframes} frames: ${r.hits} hits, ${r.misses} misses (hit rate ${(100 * r.hitRate).toFixed(1)}%)`,
      summary: `${r.policy} ${r.nframes} frames: ${r.hits}/${r.refs.length} hits (${(100 * r.hitRate).toFixed(1)}%)`,
      blocks: [
        { kind: "table", columns: ["t", "ref", "result", "evicted", r.policy === "CLOCK" ? "frames (* = reference bit)" : "frames"], align: ["r", "r", "l", "r", "l"], rows, omitted: Math.max(0, r.steps.length - 200) },
        { kind: "kv", items: [{ label: "hits", value: String(r.hits) }, { label: "misses", value: String(r.misses), note: "the first touch of each page is a compulsory miss" }, { label: "hit rate", value: `${(100 * r.hitRate).toFixed(2)}%` }] },
      ],
    };
  }
  toJSON() {
    return this.run;
  }
}

/** Compare page-replacement policies on a reference string: `replacement([7,0,1,2,0,3], { frames: 3, policy: "LRU" })`. */
export function replacement(refs: number[] | string, opts: { frames: number; policy?: ReplacementPolicy }): ReplacementRun {
  const list = typeof refs === "string" ? refs.split(/[\s,]+/).filter(Boolean).map(Number) : refs;
  const r = parseArg(z.array(z.number().int().min(0)).min(1).max(100000), list, "refs");
  const frames = parseArg(z.number().int().min(1).max(4096), opts?.frames, "frames");
  const policy = parseArg(z.enum(POLICIES).default("LRU"), opts?.policy, "policy");
  if (!r.length) throw new MmError("EINVAL", "refs: give at least one page number");
  return new ReplacementRun(simulate_replacement(r, frames, policy));
}
