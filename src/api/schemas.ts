/**
 * Input validation at the facade (zod 4). The engine trusts its callers; everything a learner types
 * is checked here, and zod's own errors never reach the user raw: `parseArg` turns them into an
 * MmError EINVAL naming the argument and the accepted range.
 */
import { z } from "zod";
import { MmError } from "../errors";
import { GFP_INPUT_NAMES, GFP_KERNEL, gfp_by_name } from "../mm/gfp";
import { fmtBytes, parseSize } from "../lib/units";

/** Turn a zod failure into an MmError EINVAL that names the argument. */
export function parseArg<T>(schema: z.ZodType<T>, value: unknown, arg: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? `${arg}.${issue.path.join(".")}` : arg;
  const got = describe(issue.path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), value));
  let msg = issue.message;
  if (issue.code === "unrecognized_keys") msg = `unknown option ${(issue as { keys: string[] }).keys.map((k) => JSON.stringify(k)).join(", ")}`;
  else if (issue.code === "invalid_value" && "values" in issue) msg = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, got ${got}`;
  else if (issue.code === "invalid_type") msg = `must be ${issue.expected}, got ${got}`;
  return fail(path, msg);
}

function fail(arg: string, msg: string): never {
  throw new MmError("EINVAL", `${arg}: ${msg}`, { arg });
}

export function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === undefined) return "nothing";
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "an array" : "an object";
  return String(v);
}

/** A size in bytes (number, bigint or "128KiB"), within [min, max] bytes. */
export function sizeSchema(min: bigint, max: bigint, what = "a size") {
  return z.unknown().transform((v, ctx) => {
    const b = parseSize(v);
    if (b === undefined) {
      ctx.addIssue({ code: "custom", message: `must be ${what}: bytes as a whole number, or a string like "4KiB", "128KiB", "2GiB"; got ${describe(v)}` });
      return z.NEVER;
    }
    if (b < min || b > max) {
      ctx.addIssue({ code: "custom", message: `must be between ${fmtBytes(min)} and ${fmtBytes(max)}, got ${fmtBytes(b)}` });
      return z.NEVER;
    }
    return b;
  });
}

/** GFP flags: "GFP_KERNEL", "GFP_KERNEL|__GFP_DMA", ["GFP_USER", "__GFP_ZERO"], or a number. */
export const gfpSchema = z.unknown().transform((v, ctx) => {
  if (v === undefined) return GFP_KERNEL;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 1 << 24) return v;
  const parts = typeof v === "string" ? v.split("|") : Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
  if (!parts) {
    ctx.addIssue({ code: "custom", message: `must be GFP flag names such as "GFP_KERNEL" or "GFP_KERNEL|__GFP_DMA", got ${describe(v)}` });
    return z.NEVER;
  }
  let gfp = 0;
  for (const p of parts) {
    const f = gfp_by_name(p);
    if (f === undefined) {
      const close = GFP_INPUT_NAMES.filter((n) => n.includes(p.trim().toUpperCase().replace(/^_*GFP_/, ""))).slice(0, 4);
      ctx.addIssue({ code: "custom", message: `unknown GFP flag ${JSON.stringify(p.trim())}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}; known: GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_USER, GFP_HIGHUSER, GFP_HIGHUSER_MOVABLE, GFP_DMA, GFP_DMA32 and the __GFP_* bits` });
      return z.NEVER;
    }
    gfp |= f;
  }
  return gfp;
});

export const ARCHES = ["x86", "x86_pae", "x86_64", "toy"] as const;
export const SPLITS = ["3G/1G", "2G/2G", "1G/3G"] as const;

const MiB = 1n << 20n;
const GiB = 1n << 30n;
export const MAX_RAM = 64n * GiB;
export const MIN_RAM = 16n * MiB;

export const bootSchema = z
  .object({
    arch: z.enum(ARCHES).default("x86"),
    /** 32-bit user/kernel split (CONFIG_VMSPLIT_*) */
    split: z.enum(SPLITS).default("3G/1G"),
    /** x86-64: 5-level paging (LA57) */
    la57: z.boolean().default(false),
    /** RAM size; default 2 GiB (the toy: 64 pages) */
    ram: z.unknown().optional(),
    /** number of NUMA nodes (equal shares of RAM), or each node's size */
    nodes: z.union([z.number(), z.array(z.unknown())]).optional(),
    /** numa_distance matrix (10 = local) */
    distance: z.array(z.array(z.number().int().min(10).max(255))).optional(),
    /** movablecore=: memory for ZONE_MOVABLE */
    movablecore: z.unknown().optional(),
    /** vmalloc= (32-bit): size of the vmalloc area, moves the lowmem limit */
    vmalloc: z.unknown().optional(),
    /** the pre-4.x lowmem formula: exactly 896 MiB on 3G/1G */
    classicMaxmem: z.boolean().default(false),
    /** kernel image size (_text.._end) */
    kernelImage: z.unknown().optional(),
    /** vm.min_free_kbytes; default computed as the kernel does */
    minFreeKbytes: z.number().int().min(0).max(1 << 30).optional(),
    /** vm.watermark_scale_factor (1..3000, default 10) */
    watermarkScaleFactor: z.number().int().min(1).max(3000).default(10),
    /** toy page size (a power of two, 256 B .. 64 KiB) */
    pageSize: z.unknown().optional(),
    /** toy page-table levels and VA bits */
    levels: z.number().int().min(1).max(5).default(2),
    vaBits: z.number().int().min(12).max(64).optional(),
    /** online CPUs (per-CPU counters, SLUB's objects per slab, TLBs) */
    cpus: z.number().int().min(1).max(64).default(2),
    /** transparent hugepages (x86-64 default on, as distribution kernels: khugepaged raises min_free_kbytes) */
    thp: z.boolean().optional(),
    /** a swap area (swapon /swapfile at boot), e.g. "1GiB"; none by default */
    swap: z.unknown().optional(),
    /** the seed of every random choice */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    /** record the kernel steps of every call (off for bulk work) */
    trace: z.boolean().default(true),
  })
  .strict();

export type BootConfig = z.input<typeof bootSchema>;
export type BootOptions = z.output<typeof bootSchema>;

export { MiB, GiB };
