/**
 * The facade: `boot()` and the Machine a learner pokes. Validates every argument (zod), calls the
 * engine, and wraps the outcome in result objects that render. A call that fails throws an MmError and
 * leaves the machine exactly as it was: allocation checks before it changes anything, freeing checks the
 * block before touching it.
 */
import { x86, x86_64, x86_pae, toy, type arch_desc } from "../arch/arch";
import { MmError } from "../errors";
import { clone_machine } from "../kernel/snapshot";
import { swapon } from "../mm/swapfile";
import "../mm/vmscan";
import { validate_lru, validate_swap } from "../mm/swap_validate";
import type { MachineState } from "../kernel/machine";
import { fmtBytes, hex, parseSize } from "../lib/units";
import { validate_all } from "../mm/debug";
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, gfp_mode, gfp_string } from "../mm/gfp";
import { boot_machine } from "../mm/mm_init";
import { policy_node_and_mask, type mempolicy } from "../mm/mempolicy";
import { PG_buddy, PG_head } from "../mm/memmap";
import { migratetype_names } from "../mm/mmzone";
import { __alloc_pages, __free_pages, bad_page_report, free_pages_check, get_order, gfp_zone } from "../mm/page_alloc";
import { gfp_migratetype } from "../mm/gfp";
import { buddyinfo, extfrag_index, pagetypeinfo, unusable_index, vmstat, zoneinfo } from "../proc/vmstat";
import { meminfo } from "../proc/meminfo";
import { proc_swaps } from "../proc/swaps";
import { Renderable } from "../render/renderable";
import type { Block, View } from "../render/view";
import { CheckReport, Freed, PageBlock, ProcFile } from "./results";
import { Dmesg } from "./dmesg";
import { forget_pages, note_pages } from "./ledger";
import { GiB, MAX_RAM, MIN_RAM, bootSchema, gfpSchema, parseArg, sizeSchema, type BootConfig, type BootOptions } from "./schemas";
import { freelistsBlock, zoneBar, zonesTable } from "./views";
import { z } from "zod";

/** A saved machine: pass it to boot() to branch from this point. */
export class MachineSnapshot {
  /** @internal */
  constructor(
    readonly ms: MachineState,
    readonly config: BootOptions,
    readonly nextId: number,
  ) {}
}

/** A /proc file generator: later subsystems register theirs (a path pattern and a function). */
export type ProcGenerator = (m: Machine, match: RegExpMatchArray) => ProcFile;
const procfs: { pattern: RegExp; describe: string; gen: ProcGenerator }[] = [];
export function registerProcFile(pattern: RegExp, describe: string, gen: ProcGenerator): void {
  procfs.push({ pattern, describe, gen });
}

const orderSchema = z.number().int().min(0).max(10);

// ---- the hot path of allocPages/freePages: a notebook may call them a million times in a loop

/** parseArg(gfpSchema, gfp, "gfp"), answering the common cases without zod: nothing (GFP_KERNEL), a
 * number in range, or a string accepted before (bad input still goes through zod, for its message) */
const gfpParsed = new Map<string, number>();
function parseGfp(gfp: unknown): number {
  if (gfp === undefined) return GFP_KERNEL;
  if (typeof gfp === "number" && Number.isInteger(gfp) && gfp >= 0 && gfp < 1 << 24) return gfp;
  if (typeof gfp === "string") {
    const hit = gfpParsed.get(gfp);
    if (hit !== undefined) return hit;
    const g = parseArg(gfpSchema, gfp, "gfp");
    if (gfpParsed.size < 1000) gfpParsed.set(gfp, g);
    return g;
  }
  return parseArg(gfpSchema, gfp, "gfp");
}

/** gfp_string(), remembered: one shared string per mode instead of a new one per block */
const gfpStrings = new Map<number, string>();
function gfpString(g: number): string {
  let s = gfpStrings.get(g);
  if (s === undefined) {
    s = gfp_string(g);
    if (gfpStrings.size < 1000) gfpStrings.set(g, s);
  }
  return s;
}

/** trace.take() before a call, to drop stray events: nothing to drop (the usual case) allocates nothing */
function discardTrace(ms: MachineState): void {
  if (ms.trace.events.length || ms.trace.depth) ms.trace.take();
}

/** A Freed result's free lists and memory bar: Freed calls `this._views()`, so one function per
 * machine and node serves every result (no closure per free). */
function freedViews(m: Machine, node: number): (this: Freed) => Block[] {
  return function (this: Freed) {
    return m.zoneBlocks(this.zone, node, [this.order, this.merged.order], { pfn: this.merged.pfn, order: this.merged.order, label: `order-${this.merged.order} free block` });
  };
}

/** A PageBlock's free lists and memory bar: PageBlock calls `this._views()`, so one shared function
 * serves every block (no closure per block: a million live blocks cost a million fewer objects). */
function pageBlockViews(this: PageBlock): Block[] {
  return this.machine.zoneBlocks(this.zone, this.node, [this.order], { pfn: this.pfn, order: this.order, label: `order-${this.order} block` });
}

export class Machine extends Renderable {
  /** @internal the engine state */
  readonly ms: MachineState;
  readonly config: BootOptions;
  /** the current task's NUMA memory policy (set_mempolicy); undefined = MPOL_DEFAULT */
  mempolicy: mempolicy | undefined = undefined;
  /** @internal id of the next alloc_pages block handed to the user */
  private nextId: number;
  /** @internal the views function of Freed results, one per node (see freedViews) */
  private readonly freedViews: ((this: Freed) => Block[])[] = [];

  /** @internal use boot() */
  constructor(ms: MachineState, config: BootOptions, nextId = 1) {
    super();
    this.ms = ms;
    this.config = config;
    this.nextId = nextId;
  }

  // ------------------------------------------------------------------ facts

  get arch(): arch_desc {
    return this.ms.arch;
  }
  get pageSize(): number {
    return this.ms.arch.PAGE_SIZE;
  }
  /** record the kernel steps of each call (set false for bulk experiments: a million steps in seconds) */
  get tracing(): boolean {
    return this.ms.trace.on;
  }
  set tracing(on: boolean) {
    this.ms.trace.on = on;
  }
  /** run `fn` with tracing off, restore it after */
  quietly<T>(fn: (m: this) => T): T {
    const was = this.ms.trace.on;
    this.ms.trace.on = false;
    try {
      return fn(this);
    } finally {
      this.ms.trace.on = was;
    }
  }
  /** the vm.* sysctls in force (min_free_kbytes as computed at boot, watermark_scale_factor…) */
  get sysctl(): Readonly<{ min_free_kbytes: number; watermark_scale_factor: number; watermark_boost_factor: number; lowmem_reserve_ratio: Record<string, number> }> {
    return structuredClone(this.ms.sysctl);
  }
  /** an integer in [0, n) from the machine's seeded PRNG (same seed, same sequence): for workloads and quizzes */
  random(n: number): number {
    const k = parseArg(z.number().int().min(1).max(2 ** 32), n, "n");
    return this.ms.rng.below(k);
  }
  /** total free pages in every zone */
  get freePagesCount(): number {
    return this.ms.nodes.reduce((a, n) => a + n.node_zones.reduce((b, z) => b + z.nr_free_pages, 0), 0);
  }
  /** the nodes and their zones, as plain data */
  get nodes() {
    return this.ms.nodes.map((n) => ({
      node: n.node_id,
      start_pfn: n.node_start_pfn,
      spanned: n.node_spanned_pages,
      present: n.node_present_pages,
      zones: n.node_zones.filter((z) => z.spanned_pages).map((z) => this.zoneInfo(z.name, n.node_id)),
    }));
  }
  /** one zone's numbers */
  zoneInfo(name: string, node = 0) {
    const z = this.findZone(name, node);
    return {
      node: z.node.node_id,
      name: z.name,
      start_pfn: z.zone_start_pfn,
      end_pfn: z.zone_end_pfn,
      spanned: z.spanned_pages,
      present: z.present_pages,
      managed: z.managed_pages,
      free: z.nr_free_pages,
      watermarks: { min: z.min_wmark_pages(), low: z.low_wmark_pages(), high: z.high_wmark_pages(), promo: z.wmark_pages(3) },
      lowmem_reserve: [...z.lowmem_reserve],
      nr_free: [...z.nr_free],
    };
  }

  // ------------------------------------------------------------------ the buddy allocator

  /**
   * alloc_pages(gfp, order): a number is an order (0..10); a size ("128KiB", 135168) is rounded up to
   * its order as get_order() does. `gfp` defaults to GFP_KERNEL.
   */
  allocPages(orderOrSize: number | bigint | string, gfp?: string | string[] | number, opts: { node?: number } = {}): PageBlock {
    const ms = this.ms;
    let order: number;
    let requested: bigint | undefined;
    if (typeof orderOrSize === "number") {
      if (!Number.isInteger(orderOrSize) || orderOrSize < 0 || orderOrSize > ms.MAX_PAGE_ORDER)
        throw new MmError("EINVAL", `order: must be a whole number from 0 to ${ms.MAX_PAGE_ORDER} (MAX_PAGE_ORDER), got ${orderOrSize}; pass a size as a string with a unit, e.g. "128KiB"`, { arg: "order" });
      order = orderOrSize;
    } else {
      const max = BigInt(ms.page_size) << BigInt(ms.MAX_PAGE_ORDER);
      requested = parseArg(sizeSchema(1n, max, "an order (0..10) or a size"), orderOrSize, "size");
      order = get_order(requested, ms.arch.PAGE_SHIFT);
    }
    // the toy's default is a movable request: every pageblock is MOVABLE there, so the allocation takes
    // the textbook path (__rmqueue_smallest) with no migratetype fallback
    const g = gfp === undefined && ms.arch.name === "toy" ? GFP_HIGHUSER_MOVABLE : parseGfp(gfp);
    if (gfp_zone(ms, g) < 0) throw new MmError("EINVAL", `gfp: ${gfp_string(g)} asks for two zone modifiers at once (GFP_ZONE_BAD: the kernel would BUG)`, { arg: "gfp" });
    if (opts.node !== undefined && (!Number.isInteger(opts.node) || opts.node < 0 || opts.node >= ms.nodes.length)) throw new MmError("EINVAL", `node: must be 0..${ms.nodes.length - 1}, got ${opts.node}`, { arg: "node" });
    // alloc_pages_mpol(): an explicit node (alloc_pages_node) or the current task's memory policy;
    // the learner's task runs on CPU 0, node 0
    const pol = this.mempolicy;
    const il_prev = pol?.il_prev ?? -1;
    const place = opts.node !== undefined ? { nid: opts.node } : policy_node_and_mask(pol, 0);
    const node = place.nid;
    discardTrace(ms);
    const r = __alloc_pages(ms, g, order, node, place.nodemask, 0);
    if (place.interleave && r.pfn >= 0 && r.zone!.node.node_id === node) r.zone!.numa.numa_interleave++;
    const trace = ms.trace.take();
    if (r.pfn < 0) {
      if (pol) pol.il_prev = il_prev; // a failed call changes nothing, the interleave cursor included
      // the last look at each zone (the slow path's, at the min watermark) explains the failure
      const last = new Map(r.attempts.map((a) => [`${a.node}/${a.zone}`, a]));
      const tried = last.size ? [...last.values()].map((a) => `Node ${a.node} ${a.zone} (${a.why ?? "no block"})`).join("; ") : "no zone allowed by the GFP flags is populated";
      throw new MmError("ENOMEM", `page allocation failure: order:${order} (${fmtBytes((2 ** order) * ms.page_size)}), mode:${gfp_mode(g)}: zones tried: ${tried}`, { order, gfp: g, attempts: r.attempts, trace });
    }
    const id = this.nextId++;
    ms.mem_map.priv[r.pfn] = id;
    // the bytes asked for, for m.fragmentation()'s buddy rounding (src/api/ledger.ts)
    if (requested !== undefined) note_pages(ms, r.pfn, id, requested);
    const z = r.zone!;
    return new PageBlock(this, r.pfn, order, z.name, z.node.node_id, gfpString(g), migratetype_names[ms.page_group_by_mobility_disabled ? 0 : gfp_migratetype(g)]!, requested, trace, id, pageBlockViews);
  }

  /**
   * __free_pages(): give back a block (a PageBlock, or a PFN with its order). Freeing a PFN that is not
   * an allocated block's first frame, or freeing twice, is the kernel's "BUG: Bad page state".
   */
  freePages(block: PageBlock | number, order?: number): Freed {
    const ms = this.ms;
    let pfn: number;
    if (block instanceof PageBlock) {
      if (block.machine !== this) throw new MmError("EINVAL", "block: belongs to another machine", { arg: "block" });
      pfn = block.pfn;
      order = block.order;
      const f = ms.mem_map.flags[pfn]!;
      if (ms.mem_map.priv[pfn] !== block._id || !(f & PG_head)) {
        const reason = f & PG_buddy ? "page is already free (PageBuddy): double free" : "this block was freed already; the PFN now belongs to another allocation (double free)";
        this.badPage(pfn, reason);
      }
    } else {
      pfn = parseArg(z.number().int().min(0).max(ms.max_pfn - 1), block, "pfn");
      if (order !== undefined) order = parseArg(orderSchema, order, "order");
    }
    const bad = free_pages_check(ms, pfn, order);
    if (bad) this.badPage(pfn, bad.reason);
    const o = order ?? ms.mem_map.order[pfn]!;
    discardTrace(ms);
    const zn = ms.page_zone(pfn);
    const zname = zn.name;
    const node = zn.node.node_id;
    __free_pages(ms, pfn, o);
    ms.mem_map.priv[pfn] = 0;
    forget_pages(ms, pfn);
    const trace = ms.trace.take();
    // the free block that now holds pfn: exactly one of the aligned heads at or below pfn is a PageBuddy
    // head of its own order (free blocks never overlap: validate_all), so the first found, from the
    // smallest order up, is it (and a free that merged nothing costs no look beyond pfn itself)
    let mpfn = pfn;
    let morder = o;
    for (let k = o; k <= ms.MAX_PAGE_ORDER; k++) {
      const head = pfn & ~((1 << k) - 1);
      if (ms.mem_map.flags[head]! & PG_buddy && ms.mem_map.order[head] === k) {
        mpfn = head;
        morder = k;
        break;
      }
    }
    const merged = { pfn: mpfn, order: morder };
    return new Freed(pfn, o, zname, merged, trace, (this.freedViews[node] ??= freedViews(this, node)));
  }

  /** free anything this machine handed out: dispatches on what it is given */
  free(x: unknown): Renderable {
    if (x instanceof PageBlock) return this.freePages(x);
    const f = (x as { free?: unknown } | null)?.free;
    if (x && typeof x === "object" && typeof f === "function" && (x as { machine?: unknown }).machine === this) return (f as () => Renderable).call(x);
    throw new MmError("EINVAL", `x: m.free() takes something this machine allocated (a PageBlock from m.allocPages…), got ${typeof x === "object" ? (x === null ? "null" : (x.constructor?.name ?? "an object")) : typeof x}`, { arg: "x" });
  }

  private badPage(pfn: number, reason: string): never {
    const report = bad_page_report(this.ms, pfn, reason);
    // the report goes to the kernel log as on Linux; the machine's frames are untouched
    for (const l of report.split("\n")) this.ms.printk(l);
    throw new MmError("EBUG", report, { pfn, reason });
  }

  // ------------------------------------------------------------------ /proc and checks

  /** read a /proc file: `.text` is the kernel's exact text */
  cat(path: string): ProcFile {
    const p = parseArg(z.string(), path, "path").trim();
    for (const e of procfs) {
      const mm = p.match(e.pattern);
      if (mm) return e.gen(this, mm);
    }
    throw new MmError("ENOENT", `path: no such file ${JSON.stringify(p)}; mmlab has ${procfs.map((e) => e.describe).join(", ")}`, { arg: "path" });
  }

  /** the kernel log, as `dmesg --notime` prints it (src/api/dmesg.ts): `.lines`, `.text`, `.grep()`, `.tail()`, `.since()` */
  dmesg(): Dmesg {
    return new Dmesg(this.ms.dmesg.slice());
  }

  /** run every validate_* check; throws MmError EBUG naming the first broken invariant */
  check(): CheckReport {
    const r = validate_all(this.ms);
    if (r.error) throw new MmError("EBUG", `invariant violated: ${r.error}`, { invariant: r.error });
    for (const v of validators) {
      const e = v.check(this.ms);
      if (e) throw new MmError("EBUG", `invariant violated (${v.name}): ${e}`, { invariant: e });
    }
    return new CheckReport(r.report!, this.pageSize);
  }

  /** branch: boot(m.snapshot()) continues from here, independently */
  snapshot(): MachineSnapshot {
    return new MachineSnapshot(clone_machine(this.ms), this.config, this.nextId);
  }

  // ------------------------------------------------------------------ rendering

  /** @internal */
  findZone(name: string, node = 0) {
    const n = this.ms.nodes[node];
    const zz = n?.node_zones.find((z) => z.name.toLowerCase() === String(name).toLowerCase());
    if (!zz) throw new MmError("EINVAL", `zone: no zone ${JSON.stringify(name)} on node ${node}; zones: ${this.ms.nodes.flatMap((x) => x.node_zones.filter((y) => y.spanned_pages).map((y) => `${y.name} (node ${x.node_id})`)).join(", ")}`, { arg: "zone" });
    return zz;
  }

  /** @internal free lists + memory bar of one zone */
  zoneBlocks(name: string, node: number, highlight: number[], mark?: { pfn: number; order: number; label: string }): Block[] {
    const zz = this.findZone(name, node);
    return [freelistsBlock(this.ms, zz, highlight), zoneBar(this.ms, zz, mark)];
  }

  /** the free lists and memory bar of a zone, as a result */
  zone(name = "Normal", node = 0): ProcFile {
    const zz = this.findZone(name, node);
    return new ProcFile(`Node ${node}, zone ${zz.name}`, buddyinfo(this.ms).split("\n").filter((l) => l.startsWith(`Node ${node}, zone ${zz.name.padStart(8)}`)).join("\n") + "\n", () => this.zoneBlocks(zz.name, node, []));
  }

  view(): View {
    const ms = this.ms;
    const ram = ms.nodes.reduce((a, n) => a + n.node_present_pages, 0) * ms.page_size;
    const free = this.freePagesCount;
    const blocks: Block[] = [
      {
        kind: "kv",
        items: [
          { label: "arch", value: ms.arch.title },
          { label: "RAM", value: `${fmtBytes(ram)} present, max_pfn ${hex(ms.max_pfn)}`, note: ms.max_low_pfn < ms.max_pfn ? `lowmem ends at PFN ${hex(ms.max_low_pfn)} (${fmtBytes(ms.max_low_pfn * ms.page_size)}); above is HighMem` : undefined },
          { label: "nodes", value: `${ms.nodes.length} (${ms.nodes.length > 1 ? "NUMA" : "UMA"})` },
          { label: "MemTotal", value: `${fmtBytes(ms.totalram_pages * ms.page_size)} (${ms.totalram_pages} pages managed by the buddy allocator)` },
          { label: "free", value: `${fmtBytes(free * ms.page_size)} (${free} pages)` },
          { label: "min_free_kbytes", value: `${ms.sysctl.min_free_kbytes}` },
          { label: "seed", value: String(ms.seed) },
        ],
      },
      zonesTable(ms),
    ];
    const populated = ms.nodes.flatMap((n) => n.node_zones.filter((zz) => zz.populated));
    for (const zz of populated.slice(0, 8)) blocks.push(zoneBar(ms, zz));
    blocks.push({ kind: "pre", title: "/proc/buddyinfo", text: buddyinfo(ms) });
    return {
      title: `mmlab machine: ${ms.arch.title}, ${fmtBytes(ram)}`,
      summary: `Machine ${ms.arch.name}${ms.arch.split ? ` ${ms.arch.split}` : ""} ${fmtBytes(ram)}, ${ms.nodes.length} node${ms.nodes.length > 1 ? "s" : ""}, ${populated.map((zz) => zz.name).join("/")}, ${fmtBytes(free * ms.page_size)} free`,
      blocks,
    };
  }
  toJSON() {
    return { arch: this.ms.arch.name, config: { ...this.config, ram: String(this.config.ram ?? "") }, nodes: this.nodes };
  }
}

// ------------------------------------------------------------------ /proc files of this layer

registerProcFile(/^\/proc\/buddyinfo$/, "/proc/buddyinfo", (m) => new ProcFile("/proc/buddyinfo", buddyinfo(m.ms)));
registerProcFile(/^\/proc\/pagetypeinfo$/, "/proc/pagetypeinfo", (m) => new ProcFile("/proc/pagetypeinfo", pagetypeinfo(m.ms)));
registerProcFile(/^\/proc\/zoneinfo$/, "/proc/zoneinfo", (m) => new ProcFile("/proc/zoneinfo", zoneinfo(m.ms, m.ms.nr_cpus)));
registerProcFile(/^\/sys\/kernel\/debug\/extfrag\/unusable_index$/, "/sys/kernel/debug/extfrag/unusable_index", (m) => new ProcFile("/sys/kernel/debug/extfrag/unusable_index", unusable_index(m.ms)));
registerProcFile(/^\/sys\/kernel\/debug\/extfrag\/extfrag_index$/, "/sys/kernel/debug/extfrag/extfrag_index", (m) => new ProcFile("/sys/kernel/debug/extfrag/extfrag_index", extfrag_index(m.ms)));
registerProcFile(/^\/proc\/meminfo$/, "/proc/meminfo", (m) => new ProcFile("/proc/meminfo", meminfo(m.ms, m.meminfoExtra())));
registerProcFile(/^\/proc\/vmstat$/, "/proc/vmstat", (m) => new ProcFile("/proc/vmstat", vmstat(m.ms)));
registerProcFile(/^\/proc\/swaps$/, "/proc/swaps", (m) => new ProcFile("/proc/swaps", proc_swaps(m.ms)));

/** Counters (in pages unless the key ends in _kb) that subsystems add to /proc/meminfo, e.g.
 * page_tables, slab_unreclaimable, vmalloc_used, anon_pages, active_anon. */
const meminfoSources: ((ms: MachineState) => Record<string, number>)[] = [];
export function registerMeminfoSource(f: (ms: MachineState) => Record<string, number>): void {
  meminfoSources.push(f);
}
/** Invariant checks that subsystems add to m.check(): return a sentence describing the first violation. */
const validators: { name: string; check: (ms: MachineState) => string | undefined }[] = [];
export function registerValidator(name: string, check: (ms: MachineState) => string | undefined): void {
  validators.push({ name, check });
}
declare module "./machine" {
  interface Machine {
    /** @internal counters later subsystems add to /proc/meminfo */
    meminfoExtra(): Record<string, number>;
  }
}
registerValidator("lru", validate_lru);
registerValidator("swap", validate_swap);

Machine.prototype.meminfoExtra = function (this: Machine) {
  const out: Record<string, number> = {};
  for (const f of meminfoSources) for (const [k, v] of Object.entries(f(this.ms))) out[k] = (out[k] ?? 0) + v;
  return out;
};

// ------------------------------------------------------------------ boot

function archFor(o: BootOptions, pageSize: number): arch_desc {
  switch (o.arch) {
    case "x86":
      return x86(o.split);
    case "x86_pae":
      return x86_pae(o.split);
    case "x86_64":
      return x86_64(o.la57);
    case "toy":
      return toy(pageSize, o.levels, o.vaBits ?? 32);
  }
}

/**
 * Boot a machine. Every field has a default: `boot()` is 32-bit x86, 3G/1G split, 2 GiB RAM, one node.
 * `boot({ arch: "x86_64", ram: "16GiB", nodes: 2, seed: 7 })`; `boot({ arch: "toy", ram: "256KiB" })`
 * is a bare 64-frame teaching machine; `boot(snapshot)` branches from a saved machine.
 */
export function boot(config: BootConfig | MachineSnapshot = {}): Machine {
  if (config instanceof MachineSnapshot) return new Machine(clone_machine(config.ms), config.config, config.nextId);
  const o = parseArg(bootSchema, config ?? {}, "config");
  if (o.arch !== "x86" && o.arch !== "x86_pae" && (config as BootConfig).split !== undefined) throw new MmError("EINVAL", `config.split: the user/kernel split is a 32-bit option (arch "x86" or "x86_pae"), not for ${o.arch}`, { arg: "config.split" });
  if (o.arch !== "x86_64" && o.la57) throw new MmError("EINVAL", `config.la57: 5-level paging is an x86_64 option`, { arg: "config.la57" });
  const isToy = o.arch === "toy";
  let pageSize = 4096;
  if (o.pageSize !== undefined) {
    if (!isToy) throw new MmError("EINVAL", `config.pageSize: x86 pages are 4 KiB; another page size is a toy-machine option ({ arch: "toy", pageSize })`, { arg: "config.pageSize" });
    const ps = parseArg(sizeSchema(256n, 65536n, "a page size"), o.pageSize, "config.pageSize");
    if ((ps & (ps - 1n)) !== 0n) throw new MmError("EINVAL", `config.pageSize: must be a power of two between 256 B and 64 KiB, got ${ps}`, { arg: "config.pageSize" });
    pageSize = Number(ps);
  }
  const PAGE = BigInt(pageSize);
  const minRam = isToy ? PAGE : MIN_RAM;
  const defaultRam = isToy ? 64n * PAGE : 2n * GiB;
  // node sizes
  let nodeRam: bigint[];
  const ramGiven = o.ram !== undefined ? parseArg(sizeSchema(minRam, MAX_RAM, "a RAM size"), o.ram, "config.ram") : undefined;
  if (Array.isArray(o.nodes)) {
    if (o.nodes.length < 1 || o.nodes.length > 16) throw new MmError("EINVAL", `config.nodes: 1 to 16 nodes, got ${o.nodes.length}`, { arg: "config.nodes" });
    nodeRam = o.nodes.map((v, i) => parseArg(sizeSchema(isToy ? PAGE : 4n << 20n, MAX_RAM, "a node size"), v, `config.nodes[${i}]`));
    const sum = nodeRam.reduce((a, b) => a + b, 0n);
    if (ramGiven !== undefined && ramGiven !== sum) throw new MmError("EINVAL", `config.ram: ${fmtBytes(ramGiven)} is not the sum of the node sizes (${fmtBytes(sum)}); give one or the other`, { arg: "config.ram" });
    if (sum < minRam || sum > MAX_RAM) throw new MmError("EINVAL", `config.nodes: total RAM must be between ${fmtBytes(minRam)} and ${fmtBytes(MAX_RAM)}, got ${fmtBytes(sum)}`, { arg: "config.nodes" });
  } else {
    const n = o.nodes ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new MmError("EINVAL", `config.nodes: a number of nodes from 1 to 16, or a list of node sizes, got ${n}`, { arg: "config.nodes" });
    const ram = ramGiven ?? defaultRam;
    const per = (ram / BigInt(n) / PAGE) * PAGE;
    if (per < (isToy ? PAGE : 4n << 20n)) throw new MmError("EINVAL", `config.nodes: ${fmtBytes(ram)} split ${n} ways leaves nodes too small`, { arg: "config.nodes" });
    nodeRam = Array.from({ length: n }, (_, i) => (i === n - 1 ? ram - per * BigInt(n - 1) : per));
  }
  for (const [i, r] of nodeRam.entries()) if (r % PAGE) throw new MmError("EINVAL", `config.${Array.isArray(o.nodes) ? `nodes[${i}]` : "ram"}: must be a whole number of ${pageSize}-byte pages, got ${r} bytes`, { arg: "config.ram" });
  const totalRam = nodeRam.reduce((a, b) => a + b, 0n);
  if (o.distance && (o.distance.length !== nodeRam.length || o.distance.some((r, i) => r.length !== nodeRam.length || r[i] !== 10)))
    throw new MmError("EINVAL", `config.distance: a ${nodeRam.length}×${nodeRam.length} matrix with 10 on the diagonal (LOCAL_DISTANCE)`, { arg: "config.distance" });
  const movablecore = o.movablecore !== undefined ? parseArg(sizeSchema(0n, totalRam, "a size"), o.movablecore, "config.movablecore") : 0n;
  if (movablecore && isToy) throw new MmError("EINVAL", "config.movablecore: the toy machine has one zone; ZONE_MOVABLE needs a PC arch", { arg: "config.movablecore" });
  let vmalloc: bigint | undefined;
  if (o.vmalloc !== undefined) {
    if (o.arch !== "x86" && o.arch !== "x86_pae") throw new MmError("EINVAL", `config.vmalloc: the vmalloc= boot option sizes the 32-bit vmalloc area; x86-64's is fixed (32 TiB)`, { arg: "config.vmalloc" });
    vmalloc = parseArg(sizeSchema(16n << 20n, 768n << 20n, "a vmalloc area size"), o.vmalloc, "config.vmalloc");
  }
  const imgDefault = isToy ? 0n : o.arch === "x86_64" ? 34n << 20n : 10n << 20n;
  const kernelImage = o.kernelImage !== undefined ? parseArg(sizeSchema(0n, 512n << 20n, "a size"), o.kernelImage, "config.kernelImage") : imgDefault;
  if (!isToy && totalRam < kernelImage + (8n << 20n)) throw new MmError("EINVAL", `config.ram: ${fmtBytes(totalRam)} cannot hold a ${fmtBytes(kernelImage)} kernel image and boot`, { arg: "config.ram" });
  const arch = archFor(o, pageSize);
  const ms = boot_machine({
    arch,
    nodeRam,
    seed: o.seed,
    movablecore,
    vmalloc,
    classicMaxmem: o.classicMaxmem,
    kernelImage,
    minFreeKbytes: o.minFreeKbytes,
    watermarkScaleFactor: o.watermarkScaleFactor,
    distance: o.distance,
    cpus: o.cpus,
    thp: o.thp ?? o.arch === "x86_64",
  });
  if (o.swap !== undefined) {
    // the 2-level swap PTE holds a 23-bit offset: 32 GiB of 4 KiB slots; a toy machine keeps to its scale
    const maxSwap = isToy ? 4096n * PAGE : 32n << 30n;
    const sw = parseArg(sizeSchema(2n * PAGE, maxSwap, "a swap size"), o.swap, "config.swap");
    if (sw % PAGE) throw new MmError("EINVAL", `config.swap: must be a whole number of ${pageSize}-byte pages, got ${sw} bytes`, { arg: "config.swap" });
    swapon(ms, Number(sw));
  }
  ms.trace.on = o.trace;
  const m = new Machine(ms, { ...o, ram: String(totalRam) });
  void parseSize;
  void GFP_KERNEL;
  return m;
}
