/**
 * The facade of virtual memory: `m.spawn(name)`, `m.process(pid)`, `m.ps()`, `m.translate(va)` (a
 * kernel-mode walk of the page tables a CPU has loaded: the last process's pgd there, whose kernel
 * half is the same in every process, or swapper_pg_dir before any), `m.frame(pfn)` (a frame's raw entries or bytes), and the
 * Process a learner pokes: mmap/munmap/mprotect/brk/read/write/touch/translate/exit, `p.maps`.
 * Results are fluent: a Mapping knows its process (`p.mmap("1MiB").write("hi").translate()`), and
 * anything with an `addr` is accepted where an address is expected.
 *
 * Validation happens here; a call that fails with EINVAL/ESRCH/EFAULT/ENOMEM changes nothing. A
 * SIGSEGV is different, as on Linux: the process dies (its memory returns to the allocator) and the
 * call throws MmError("SIGSEGV") saying why.
 */
import { MmError } from "../errors";
import type { MachineState } from "../kernel/machine";
import type { TraceEvent } from "../kernel/trace";
import { spawn_task, shmem_zero_inode } from "../kernel/exec";
import { do_exit } from "../kernel/exit";
import { find_task, task_table_of, type task_struct } from "../kernel/sched";
import { fmtBytes, hex, parseSize } from "../lib/units";
import { mmu_translate, type mmu_access, type mmu_mode, type mmu_res } from "../hw/mmu";
import { switch_mm, tlbs, type tlb_policy } from "../hw/tlb";
import { count_present, user_access, type access_kind, type user_access_result } from "../mm/memory";
import { PG_anon, PG_table, PG_zero, flag_names } from "../mm/memmap";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, VM_ACCOUNT, do_brk, do_mmap, do_mprotect, do_munmap, perms, range_mapped, vma_lookup, type mm_struct, type vm_area_struct } from "../mm/mmap";
import { frame_data } from "../mm/page_contents";
import { _PAGE_PRESENT, entry_flag_names, entry_pfn, entry_value, pgtable, pt_format_of, pt_user_tables, pt_walk_range, type pt_entry } from "../mm/pgtable";
import { maps_vmas, proc_pid_maps, proc_pid_smaps, proc_pid_statm, smap_gather_stats, vma_name } from "../proc/task_mmu";
import { Renderable } from "../render/renderable";
import type { Block, View } from "../render/view";
import { Machine, registerMeminfoSource, registerProcFile, registerValidator } from "./machine";
import { copy_process } from "../kernel/fork";
import { MADV_DOFORK, MADV_DONTFORK, MADV_KEEPONFORK, MADV_WIPEONFORK, do_madvise } from "../mm/mmap";
import { Fork, ProcessList, ProcessTree } from "./fork";
import { Allocation, HeapState, libc_calloc, libc_fork, libc_free, libc_free_quiet, libc_heap, libc_malloc, libc_malloc_quiet, libc_realloc, validate_malloc } from "./malloc";
import { ProcFile } from "./results";

// ---------------------------------------------------------------- argument parsing

function einval(arg: string, msg: string): MmError {
  return new MmError("EINVAL", `${arg}: ${msg}`, { arg });
}

/** anything with an address: a number, a bigint, "0x…", or a result with `addr` */
export type AddressLike = number | bigint | string | { addr: bigint };

/** an address on this arch (0 ≤ va < 2^bits); EFAULT names the argument otherwise */
export function parseAddr(ms: MachineState, v: unknown, arg = "addr"): bigint {
  let a: bigint | undefined;
  if (typeof v === "bigint") a = v;
  else if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw einval(arg, `a number address must be a whole number below 2^53 (x86-64 kernel addresses do not fit a JS number: pass a bigint like 0xffffffffff600000n), got ${v}`);
    a = BigInt(v);
  } else if (typeof v === "string" && /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(v)) a = BigInt(v.trim());
  else if (v && typeof v === "object" && typeof (v as { addr?: unknown }).addr === "bigint") a = (v as { addr: bigint }).addr;
  if (a === undefined) throw einval(arg, `must be an address (a number, a bigint, a "0x…" string, or a result with .addr), got ${typeof v === "string" ? JSON.stringify(v) : typeof v}`);
  const end = pt_format_of(ms.arch).va_end;
  if (a < 0n || a >= end) throw new MmError("EFAULT", `${arg}: ${hex(a)} is outside the ${ms.arch.bits === 64 ? 64 : pt_format_of(ms.arch).va_bits}-bit address space (0..${hex(end - 1n)})`, { arg });
  return a;
}

export function parseLen(ms: MachineState, v: unknown, arg = "len", max?: bigint): bigint {
  const b = parseSize(v);
  if (b === undefined) throw einval(arg, `must be a size: bytes as a whole number, or a string like "4KiB", "1MiB"; got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
  const lim = max ?? pt_format_of(ms.arch).task_size;
  if (b <= 0n || b > lim) throw einval(arg, `must be between 1 byte and ${fmtBytes(lim)}, got ${fmtBytes(b)}`);
  return b;
}

/** "rw", "r-x", "rwx", "---", "none", "PROT_READ|PROT_WRITE", or a number 0..7 */
export function parseProt(v: unknown, arg = "prot"): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 7) return v;
  if (typeof v === "string") {
    const s = v.trim();
    if (/^PROT_/i.test(s)) {
      let p = 0;
      for (const part of s.split("|").map((x) => x.trim().toUpperCase())) {
        if (part === "PROT_READ") p |= PROT_READ;
        else if (part === "PROT_WRITE") p |= PROT_WRITE;
        else if (part === "PROT_EXEC") p |= PROT_EXEC;
        else if (part !== "PROT_NONE") throw einval(arg, `unknown flag ${JSON.stringify(part)}; use PROT_READ, PROT_WRITE, PROT_EXEC, PROT_NONE`);
      }
      return p;
    }
    if (s === "none" || /^-{1,3}$/.test(s)) return 0;
    if (/^r?-?w?-?x?-?$/.test(s) || /^[rwx-]{1,3}$/.test(s)) {
      let p = 0;
      for (const c of s) {
        if (c === "r") p |= PROT_READ;
        else if (c === "w") p |= PROT_WRITE;
        else if (c === "x") p |= PROT_EXEC;
        else if (c !== "-") throw einval(arg, `unknown letter ${JSON.stringify(c)}`);
      }
      return p;
    }
  }
  throw einval(arg, `must be "r", "rw", "r-x", "rwx", "none" (or "---"), "PROT_READ|PROT_WRITE", or a number 0..7; got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
}

/** "private", "shared", "MAP_SHARED|MAP_FIXED", or a number */
export function parseMapFlags(v: unknown, arg = "flags"): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) {
    if ((v & (MAP_SHARED | MAP_PRIVATE)) === 0 || (v & (MAP_SHARED | MAP_PRIVATE)) === (MAP_SHARED | MAP_PRIVATE)) throw einval(arg, "exactly one of MAP_SHARED (0x01) and MAP_PRIVATE (0x02)");
    return v | MAP_ANONYMOUS;
  }
  if (typeof v === "string") {
    let f = 0;
    for (const part of v.split("|").map((x) => x.trim().toLowerCase())) {
      if (part === "private" || part === "map_private") f |= MAP_PRIVATE;
      else if (part === "shared" || part === "map_shared") f |= MAP_SHARED;
      else if (part === "fixed" || part === "map_fixed") f |= MAP_FIXED;
      else if (part === "fixed_noreplace" || part === "map_fixed_noreplace") f |= MAP_FIXED_NOREPLACE;
      else if (part === "anonymous" || part === "map_anonymous" || part === "anon") f |= MAP_ANONYMOUS;
      else if (part === "noreserve" || part === "map_noreserve") f |= MAP_NORESERVE;
      else throw einval(arg, `unknown flag ${JSON.stringify(part)}; use "private", "shared", "MAP_FIXED", "MAP_ANONYMOUS", "MAP_NORESERVE"`);
    }
    if (!(f & (MAP_SHARED | MAP_PRIVATE))) f |= MAP_PRIVATE;
    if ((f & (MAP_SHARED | MAP_PRIVATE)) === (MAP_SHARED | MAP_PRIVATE)) throw einval(arg, "MAP_SHARED and MAP_PRIVATE together");
    return f | MAP_ANONYMOUS;
  }
  throw einval(arg, `must be "private", "shared", "MAP_PRIVATE|MAP_FIXED"…, got ${String(v)}`);
}

function parseData(v: unknown, arg = "data"): Uint8Array {
  if (typeof v === "string") return new TextEncoder().encode(v);
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) return Uint8Array.from(v as number[]);
  throw einval(arg, "must be a string, a Uint8Array, or an array of byte values 0..255");
}

function protString(p: number): string {
  return (p & PROT_READ ? "r" : "-") + (p & PROT_WRITE ? "w" : "-") + (p & PROT_EXEC ? "x" : "-");
}

function traceBlock(trace: TraceEvent[]): Block[] {
  return trace.length ? [{ kind: "heading", text: "What the kernel did", level: 2 }, { kind: "trace", events: trace.slice(0, 300), omitted: Math.max(0, trace.length - 300) }] : [];
}

// ---------------------------------------------------------------- results

/** one level of a Translation's walk */
export interface TranslationStep {
  level: string;
  table: number;
  index: number;
  entry: bigint;
  flags: string[];
  next?: number;
}

/** the MMU's answer for one address */
export class Translation extends Renderable {
  readonly va: bigint;
  readonly access: mmu_access;
  readonly mode: mmu_mode;
  readonly pfn?: number;
  readonly pageSize?: number;
  readonly tlb: "hit" | "miss";
  readonly cpu: number;
  readonly fault?: { kind: string; level?: string; reason: string; errorCode: number };
  /** the engine's answer: the walk kept raw, decoded into `steps` (and `pa` made a bigint) on first use */
  readonly #r: mmu_res;
  #steps: TranslationStep[] | undefined;
  constructor(
    readonly machine: Machine,
    r: mmu_res,
    readonly pid: number | undefined,
    readonly trace: TraceEvent[] = [],
  ) {
    super();
    this.#r = r;
    this.va = r.va;
    this.access = r.access;
    this.mode = r.mode;
    this.tlb = r.tlb;
    this.cpu = r.cpu;
    if (r.pfn !== undefined) {
      this.pfn = r.pfn;
      this.pageSize = r.page_shift! < 31 ? 1 << r.page_shift! : 2 ** r.page_shift!;
    }
    if (r.fault) this.fault = { kind: r.fault.kind, level: r.fault.level, reason: r.fault.reason, errorCode: r.fault.error_code };
  }
  /** the physical address (undefined on a fault) */
  get pa(): bigint | undefined {
    return this.#r.pa;
  }
  /** the walk, top first: level name, table PFN, index, raw entry, decoded flags */
  get steps(): TranslationStep[] {
    if (this.#steps) return this.#steps;
    const fmt = this.#r.fmt;
    return (this.#steps = this.#r.steps.map((s) => {
      const e: pt_entry = { lo: s.lo, hi: s.hi };
      return { level: s.name, table: s.table, index: s.idx, entry: entry_value(e), flags: entry_flag_names(fmt, e, s.level), next: s.lo & _PAGE_PRESENT ? entry_pfn(fmt, s.lo, s.hi) : undefined };
    }));
  }
  /** the address in `addr` form, so a Translation can be passed where an address is expected */
  get addr(): bigint {
    return this.va;
  }
  get ok(): boolean {
    return this.fault === undefined;
  }
  view(): View {
    const ms = this.machine.ms;
    const fmt = pt_format_of(ms.arch);
    const width = ms.arch.bits === 64 ? 64 : Math.max(fmt.va_bits, 8);
    const fields: { name: string; hi: number; lo: number; tone?: "accent" | "muted" | "user" | "kernel" }[] = [];
    const topBit = fmt.levels[0]!.shift + fmt.levels[0]!.bits - 1;
    if (width - 1 > topBit) fields.push({ name: fmt.canonical ? "sign" : "unused", hi: width - 1, lo: topBit + 1, tone: "muted" });
    const leafShift = this.pageSize ? Math.log2(this.pageSize) : fmt.page_shift;
    for (const l of fmt.levels) if (l.shift >= leafShift) fields.push({ name: l.name, hi: l.shift + l.bits - 1, lo: l.shift, tone: "accent" });
    fields.push({ name: "offset", hi: leafShift - 1, lo: 0 });
    const ent = fmt.esz * 2;
    const steps = this.steps.map((s, i) => ({
      level: s.level,
      table: i === 0 ? `CR3 → PFN ${hex(s.table)}` : `PFN ${hex(s.table)}`,
      index: s.index,
      entry: "0x" + s.entry.toString(16).padStart(ent, "0"),
      flags: s.flags,
      tone: this.fault && i === this.steps.length - 1 ? ("error" as const) : undefined,
      note: s.next !== undefined && i < this.steps.length - 1 ? `→ ${this.steps[i + 1]!.level} table at PFN ${hex(s.next)}` : undefined,
    }));
    const result = this.fault
      ? { text: `page fault (error code ${this.fault.errorCode}): ${this.fault.reason}`, tone: "error" as const }
      : { text: `PA ${hex(this.pa!)} (PFN ${hex(this.pfn!)}, offset ${hex(this.va & BigInt(this.pageSize! - 1))}, ${fmtBytes(this.pageSize!)} page)`, tone: "ok" as const };
    const blocks: Block[] = [
      { kind: "kv", items: [
        { label: "virtual", value: hex(this.va) },
        { label: "access", value: `${this.access}, ${this.mode} mode${this.pid !== undefined ? `, pid ${this.pid}` : ", kernel page table"}` },
        { label: "TLB", value: `${this.tlb} on CPU ${this.cpu}`, note: this.tlb === "hit" ? "no page walk needed (the ladder below is what the tables hold)" : `walked ${this.steps.length} level${this.steps.length === 1 ? "" : "s"}: ${this.steps.length} memory reads` },
        ...(this.pa !== undefined ? [{ label: "physical", value: hex(this.pa) }] : []),
        ...(this.pid !== undefined && this.machine.ms.procs?.tasks.get(this.pid)?.mm
          ? [{ label: "page tables", value: `${this.machine.ms.procs.tasks.get(this.pid)!.mm!.nr_pgtables} frames (${fmtBytes(this.machine.ms.procs.tasks.get(this.pid)!.mm!.nr_pgtables * ms.arch.PAGE_SIZE)}) hold this process's mappings`, note: `a ${fmt.L}-level walk; each table is ${fmt.nent[fmt.L - 1]} entries of ${fmt.esz} bytes` }]
          : []),
      ] },
      { kind: "bits", width, value: this.va, fields, title: "the address, as the MMU splits it" },
    ];
    if (this.steps.length) blocks.push({ kind: "walk", steps, result });
    else blocks.push({ kind: "text", text: result.text, tone: result.tone });
    blocks.push(...traceBlock(this.trace));
    return {
      title: `translate ${hex(this.va)}${this.pid !== undefined ? ` (pid ${this.pid})` : ""}`,
      summary: this.fault ? `Translation ${hex(this.va)} → fault: ${this.fault.reason}` : `Translation ${hex(this.va)} → ${hex(this.pa!)} (PFN ${hex(this.pfn!)}, TLB ${this.tlb})`,
      blocks,
    };
  }
  toJSON() {
    return {
      va: hex(this.va),
      access: this.access,
      mode: this.mode,
      pa: this.pa === undefined ? undefined : hex(this.pa),
      pfn: this.pfn,
      pageSize: this.pageSize,
      tlb: this.tlb,
      fault: this.fault,
      steps: this.steps.map((s) => ({ ...s, entry: "0x" + s.entry.toString(16) })),
    };
  }
}

/** how many fault records a touch() keeps (it counts them all) */
const FAULTS_KEPT = 64;

/** what a read or write did: the bytes, the faults taken, the trace */
export class Access extends Renderable {
  constructor(
    readonly process: Process,
    readonly addr: bigint,
    readonly kind: "read" | "write",
    readonly bytes: Uint8Array,
    /** the faults taken, in order — for a long touch() only the first FAULTS_KEPT (faultCount has them all) */
    readonly faults: { va: bigint; fn: string; why: string }[],
    readonly trace: TraceEvent[],
    private readonly _byFn?: Map<string, number>,
  ) {
    super();
  }
  get len(): number {
    return this.bytes.length;
  }
  /** every fault taken (a long touch() keeps the records of the first ones only) */
  get faultCount(): number {
    if (!this._byFn) return this.faults.length;
    let n = 0;
    for (const c of this._byFn.values()) n += c;
    return n;
  }
  /** the faults taken, counted by the kernel function that handled them */
  get faultsByFn(): Record<string, number> {
    if (this._byFn) return Object.fromEntries(this._byFn);
    const out: Record<string, number> = {};
    for (const f of this.faults) out[f.fn] = (out[f.fn] ?? 0) + 1;
    return out;
  }
  /** the bytes as UTF-8 text, up to the first NUL */
  get text(): string {
    const z = this.bytes.indexOf(0);
    return new TextDecoder().decode(z >= 0 ? this.bytes.subarray(0, z) : this.bytes);
  }
  /** translate the first byte */
  translate(opts: { access?: mmu_access; mode?: mmu_mode } = {}): Translation {
    return this.process.translate(this.addr, opts);
  }
  read(len?: number | string): Access {
    return this.process.read(this.addr, len ?? this.len);
  }
  write(data: string | Uint8Array | number[]): Access {
    return this.process.write(this.addr, data);
  }
  view(): View {
    const dump: string[] = [];
    for (let i = 0; i < Math.min(this.bytes.length, 256); i += 16) {
      const row = [...this.bytes.subarray(i, i + 16)];
      dump.push(`${hex(this.addr + BigInt(i))}  ${row.map((b) => b.toString(16).padStart(2, "0")).join(" ").padEnd(47)}  ${row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("")}`);
    }
    if (this.bytes.length > 256) dump.push(`… ${this.bytes.length - 256} more bytes`);
    return {
      title: `${this.kind} ${this.len} byte${this.len === 1 ? "" : "s"} at ${hex(this.addr)} (pid ${this.process.pid})`,
      summary: `${this.kind === "read" ? "Read" : "Wrote"} ${this.len || ""}${this.len ? " B" : "pages"} at ${hex(this.addr)}, ${this.faultCount} fault${this.faultCount === 1 ? "" : "s"}${this.faultCount ? ` (${Object.keys(this.faultsByFn).join(", ")})` : ""}`,
      blocks: [
        { kind: "kv", items: [{ label: "faults", value: this.faultCount ? this.faults.slice(0, 8).map((f) => `${hex(f.va)}: ${f.fn} (${f.why})`).join("; ") + (this.faultCount > 8 ? `; … ${this.faultCount - 8} more` : "") : "none: every page was mapped already" }] },
        { kind: "pre", text: dump.join("\n") + "\n" },
        ...traceBlock(this.trace),
      ],
    };
  }
  toJSON() {
    return { pid: this.process.pid, addr: hex(this.addr), kind: this.kind, len: this.len, text: this.text, faults: this.faultCount, faultsByFn: this.faultsByFn, trace: this.trace };
  }
}

/** a mapping made by p.mmap(): knows its process */
export class Mapping extends Renderable {
  constructor(
    readonly process: Process,
    readonly addr: bigint,
    readonly len: bigint,
    readonly prot: string,
    readonly shared: boolean,
    readonly trace: TraceEvent[],
  ) {
    super();
  }
  get end(): bigint {
    return this.addr + this.len;
  }
  /** write at addr + offset */
  write(data: string | Uint8Array | number[], offset: number | bigint = 0): Access {
    return this.process.write(this.addr + BigInt(offset), data);
  }
  read(len: number | string = 16, offset: number | bigint = 0): Access {
    return this.process.read(this.addr + BigInt(offset), len);
  }
  translate(opts: { access?: mmu_access; mode?: mmu_mode; offset?: number | bigint } = {}): Translation {
    return this.process.translate(this.addr + BigInt(opts.offset ?? 0), opts);
  }
  /** write one byte to every page (demand-faulting them all) */
  touch(access: "read" | "write" = "write"): Access {
    return this.process.touch(this.addr, this.len, access);
  }
  munmap(): VmResult {
    return this.process.munmap(this.addr, this.len);
  }
  mprotect(prot: string | number): VmResult {
    return this.process.mprotect(this.addr, this.len, prot);
  }
  view(): View {
    return {
      title: `mmap: ${fmtBytes(this.len)} at ${hex(this.addr)} (pid ${this.process.pid})`,
      summary: `Mapping ${hex(this.addr)}-${hex(this.end)} ${this.prot}${this.shared ? "s" : "p"} (${fmtBytes(this.len)}) pid ${this.process.pid}`,
      blocks: [
        { kind: "kv", items: [
          { label: "range", value: `${hex(this.addr)}–${hex(this.end - 1n)}` },
          { label: "size", value: fmtBytes(this.len), note: "no frame is used until a page is touched (demand paging)" },
          { label: "prot", value: this.prot },
          { label: "kind", value: this.shared ? "shared anonymous (a shmem object)" : "private anonymous" },
        ] },
        ...traceBlock(this.trace),
      ],
    };
  }
  toJSON() {
    return { pid: this.process.pid, addr: hex(this.addr), len: Number(this.len), prot: this.prot, shared: this.shared, trace: this.trace };
  }
}

/** a plain outcome (munmap, mprotect, brk, exit) with its trace */
export class VmResult extends Renderable {
  constructor(
    readonly what: string,
    readonly trace: TraceEvent[],
    readonly value?: bigint,
  ) {
    super();
  }
  get addr(): bigint | undefined {
    return this.value;
  }
  view(): View {
    return { title: this.what, summary: this.what, blocks: traceBlock(this.trace) };
  }
  toJSON() {
    return { what: this.what, value: this.value === undefined ? undefined : hex(this.value), trace: this.trace };
  }
}

/** the whole virtual address space of a process: /proc/PID/maps plus a picture to scale */
export class AddressSpace extends Renderable {
  constructor(
    readonly process: Process,
    readonly text: string,
    private readonly _view: () => Block[],
  ) {
    super();
  }
  override toString(): string {
    return this.text;
  }
  get lines(): string[] {
    return this.text.replace(/\n$/, "").split("\n");
  }
  view(): View {
    // the [vsyscall] line of x86-64 is the gate area (get_gate_vma()), not one of the mm's VMAs
    const gate = this.lines.filter((l) => l.startsWith("ffffffffff600000-") && l.endsWith(" [vsyscall]")).length;
    const n = this.lines.filter((l) => l !== "").length - gate;
    const count = `${n} VMA${n === 1 ? "" : "s"}${gate ? " + the [vsyscall] gate area" : ""}`;
    return { title: `/proc/${this.process.pid}/maps`, summary: `/proc/${this.process.pid}/maps (${count})`, blocks: [{ kind: "pre", text: this.text }, ...this._view()] };
  }
  toJSON() {
    return { pid: this.process.pid, text: this.text };
  }
}

/** m.frame(pfn): what a frame holds */
export class FrameDump extends Renderable {
  constructor(
    readonly pfn: number,
    readonly flags: string[],
    readonly entries: { index: number; entry: bigint; flags: string[]; pfn: number }[] | undefined,
    readonly bytes: Uint8Array,
  ) {
    super();
  }
  view(): View {
    const blocks: Block[] = [{ kind: "kv", items: [{ label: "pfn", value: hex(this.pfn) }, { label: "flags", value: this.flags.join(", ") || "none" }] }];
    if (this.entries)
      blocks.push({ kind: "table", columns: ["index", "entry", "flags", "→ PFN"], align: ["r", "l", "l", "r"], rows: this.entries.slice(0, 64).map((e) => [e.index, "0x" + e.entry.toString(16), e.flags.join(" "), hex(e.pfn)]), omitted: Math.max(0, this.entries.length - 64), caption: `${this.entries.length} non-zero entries` });
    else {
      const nz = this.bytes.findIndex((b) => b !== 0);
      blocks.push({ kind: "text", text: nz < 0 ? "all zeros" : `first non-zero byte at offset ${nz}` });
      if (nz >= 0) {
        const s = nz & ~15;
        const lines: string[] = [];
        for (let i = s; i < Math.min(this.bytes.length, s + 128); i += 16) lines.push(`${i.toString(16).padStart(4, "0")}  ${[...this.bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
        blocks.push({ kind: "pre", text: lines.join("\n") + "\n" });
      }
    }
    return { title: `frame ${hex(this.pfn)}`, summary: `Frame ${hex(this.pfn)} (${this.flags.join(",") || "no flags"})${this.entries ? `: page table, ${this.entries.length} entries in use` : ""}`, blocks };
  }
  toJSON() {
    return { pfn: this.pfn, flags: this.flags, entries: this.entries?.map((e) => ({ ...e, entry: "0x" + e.entry.toString(16) })), bytes: this.entries ? undefined : [...this.bytes] };
  }
}

/** m.tlb(cpu): the entries of one CPU's TLB */
export class TlbView extends Renderable {
  constructor(
    readonly cpu: number,
    readonly size: number,
    readonly policy: string,
    readonly hits: number,
    readonly misses: number,
    readonly flushes: number,
    readonly entries: { va: bigint; pa: bigint; pageSize: number; rw: boolean; user: boolean; nx: boolean; dirty: boolean; global: boolean }[],
  ) {
    super();
  }
  view(): View {
    return {
      title: `TLB of CPU ${this.cpu}`,
      summary: `TLB cpu${this.cpu}: ${this.entries.length}/${this.size} entries (${this.policy}), ${this.hits} hits, ${this.misses} misses, ${this.flushes} flushes`,
      blocks: [
        { kind: "kv", items: [{ label: "entries", value: `${this.entries.length} of ${this.size} (${this.policy})` }, { label: "hits / misses", value: `${this.hits} / ${this.misses}` }, { label: "flushes", value: String(this.flushes) }] },
        { kind: "table", columns: ["virtual page", "physical", "size", "flags"], align: ["l", "l", "r", "l"], rows: this.entries.slice(0, 128).map((e) => [hex(e.va), hex(e.pa), fmtBytes(e.pageSize), [e.user ? "U" : "S", e.rw ? "RW" : "RO", e.nx ? "NX" : "X", e.dirty ? "D" : "", e.global ? "G" : ""].filter(Boolean).join(" ")]), omitted: Math.max(0, this.entries.length - 128) },
      ],
    };
  }
  toJSON() {
    return { cpu: this.cpu, size: this.size, policy: this.policy, hits: this.hits, misses: this.misses, flushes: this.flushes, entries: this.entries.map((e) => ({ ...e, va: hex(e.va), pa: hex(e.pa) })) };
  }
}

// ---------------------------------------------------------------- Process

export class Process extends Renderable {
  /** @internal */
  constructor(
    readonly machine: Machine,
    readonly pid: number,
    private readonly _task: task_struct,
  ) {
    super();
  }
  get name(): string {
    return this._task.comm;
  }
  get alive(): boolean {
    return this.machine.ms.procs?.tasks.get(this.pid) === this._task;
  }
  get state(): string {
    return this._task.state;
  }
  /** task->min_flt */
  get minflt(): number {
    return this._task.min_flt;
  }
  /** @internal the live task, or ESRCH */
  task(): task_struct {
    if (!this.alive) {
      const t = this._task;
      throw new MmError("ESRCH", `pid ${this.pid}: no such process (${t.state === "killed" ? `killed by ${t.signal}${t.death ? `: ${t.death}` : ""}` : t.state === "exited" ? "it exited" : "it belongs to another machine snapshot"})`, { arg: "pid" });
    }
    return this._task;
  }
  private mm(): mm_struct {
    return this.task().mm!;
  }
  private begin(): void {
    this.machine.ms.trace.take();
  }
  private end(): TraceEvent[] {
    return this.machine.ms.trace.take();
  }
  /** resident pages (MM_ANONPAGES + MM_FILEPAGES + MM_SHMEMPAGES) */
  get rss(): { anon: number; file: number; shmem: number; total: number } {
    const r = this.mm().rss;
    return { ...r, total: r.anon + r.file + r.shmem };
  }
  /** page-table frames this process holds (pgd included) */
  get pageTables(): number {
    return this.mm().nr_pgtables;
  }
  /** the VMAs as plain data */
  get vmas(): { start: bigint; end: bigint; perms: string; name?: string; rss: number }[] {
    const ms = this.machine.ms;
    const mm = this.mm();
    return mm.vmas.map((v) => ({ start: v.vm_start, end: v.vm_end, perms: perms(v.vm_flags), name: vma_name(mm, v), rss: count_present(ms, mm, v.vm_start, v.vm_end) }));
  }
  /** mm->brk */
  get brkAddr(): bigint {
    return this.mm().brk;
  }

  /**
   * mmap(NULL, len, prot, MAP_ANONYMOUS | flags, -1, 0): `prot` "rw" (default), "r", "r-x", "none"…;
   * `flags` "private" (default), "shared", "private|fixed" (then `addr` is required).
   */
  mmap(len: number | bigint | string, prot: string | number = "rw", flags: string | number = "private", addr?: AddressLike): Mapping {
    const ms = this.machine.ms;
    const mm = this.mm();
    const l = parseLen(ms, len, "len", mm.task_size);
    const p = parseProt(prot);
    const f = parseMapFlags(flags);
    let a: bigint | undefined;
    const P = BigInt(ms.arch.PAGE_SIZE);
    if (addr !== undefined) {
      a = parseAddr(ms, addr, "addr");
      if (f & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (a % P) throw einval("addr", `MAP_FIXED needs a page-aligned address (a multiple of ${P}), got ${hex(a)}`);
        const alen = ((l + P - 1n) / P) * P;
        if (a < 65536n && ms.arch.name !== "toy") throw new MmError("EPERM", `addr: ${hex(a)} is below vm.mmap_min_addr (0x10000)`, { arg: "addr" });
        if (a + alen > mm.task_size) throw new MmError("ENOMEM", `addr: ${hex(a)}+${fmtBytes(alen)} runs past the end of user space (${hex(mm.task_size)})`, { arg: "addr" });
      }
    } else if (f & (MAP_FIXED | MAP_FIXED_NOREPLACE)) throw einval("addr", "MAP_FIXED needs an address");
    this.begin();
    const got = do_mmap(ms, mm, { addr: a, len: l, prot: p, flags: f }, () => shmem_zero_inode(ms));
    const trace = this.end();
    const alen = ((l + P - 1n) / P) * P;
    return new Mapping(this, got, alen, protString(p), (f & MAP_SHARED) !== 0, trace);
  }

  /** munmap(addr, len): `addr` may be a Mapping (then len defaults to its length) */
  munmap(addr: AddressLike | Mapping, len?: number | bigint | string): VmResult {
    const ms = this.machine.ms;
    const mm = this.mm();
    const a = parseAddr(ms, addr, "addr");
    const P = BigInt(ms.arch.PAGE_SIZE);
    if (a % P) throw einval("addr", `must be page-aligned (a multiple of ${P}), got ${hex(a)}`);
    const l = len !== undefined ? parseLen(ms, len, "len", mm.task_size) : addr instanceof Mapping ? addr.len : (() => { throw einval("len", "required (or pass the Mapping itself)"); })();
    if (a + l > mm.task_size) throw einval("len", `${hex(a)}+${fmtBytes(l)} goes past the end of user space (${hex(mm.task_size)})`);
    this.begin();
    do_munmap(ms, mm, a, l);
    return new VmResult(`munmap ${hex(a)}+${fmtBytes(l)} (pid ${this.pid})`, this.end(), a);
  }

  /** mprotect(addr, len, prot) */
  mprotect(addr: AddressLike, len: number | bigint | string, prot: string | number): VmResult {
    const ms = this.machine.ms;
    const mm = this.mm();
    const a = parseAddr(ms, addr, "addr");
    const P = BigInt(ms.arch.PAGE_SIZE);
    if (a % P) throw einval("addr", `must be page-aligned (a multiple of ${P}), got ${hex(a)}`);
    const l = parseLen(ms, len, "len", mm.task_size);
    const p = parseProt(prot);
    const end = a + ((l + P - 1n) / P) * P;
    if (!range_mapped(mm, a, end)) throw new MmError("ENOMEM", `addr: ${hex(a)}-${hex(end)} is not mapped throughout (mprotect fails with ENOMEM)`, { arg: "addr" });
    this.begin();
    do_mprotect(ms, mm, a, l, p);
    return new VmResult(`mprotect ${hex(a)}-${hex(end)} ${protString(p)} (pid ${this.pid})`, this.end(), a);
  }

  /** brk(addr): move the program break; no argument reads it. Returns the new break (the old one if refused). */
  brk(addr?: AddressLike): VmResult {
    const ms = this.machine.ms;
    const mm = this.mm();
    if (addr === undefined) return new VmResult(`brk = ${hex(mm.brk)}`, [], mm.brk);
    const a = parseAddr(ms, addr, "addr");
    this.begin();
    const r = do_brk(ms, mm, a);
    return new VmResult(r === a ? `brk ${hex(a)} (pid ${this.pid})` : `brk ${hex(a)} refused: the break stays at ${hex(r)}`, this.end(), r);
  }

  /** sbrk(increment): grow (or shrink) the break; returns the old break, as libc's sbrk does */
  sbrk(increment: number | bigint | string): VmResult {
    const mm = this.mm();
    const inc = typeof increment === "string" ? parseSize(increment) : BigInt(increment);
    if (inc === undefined) throw einval("increment", `must be a size, got ${JSON.stringify(increment)}`);
    const old = mm.brk;
    const r = this.brk(old + inc);
    if (r.value !== old + inc) throw new MmError("ENOMEM", `increment: the break cannot move to ${hex(old + inc)} (it would run into another mapping or below the heap's start)`, { arg: "increment", trace: r.trace });
    return new VmResult(`sbrk(${inc}): old break ${hex(old)}, new ${hex(old + inc)}`, r.trace, old);
  }

  private access(va: bigint, kind: access_kind, lenOrData: number | Uint8Array): user_access_result {
    const ms = this.machine.ms;
    const task = this.task();
    const r = user_access(ms, task, va, kind, lenOrData);
    if (!r.ok) {
      const trace = ms.trace.take();
      if (r.code === "SIGSEGV") {
        const why = `segfault at ${r.at!.toString(16)} error ${r.error_code ?? 0}: ${r.why}`;
        do_exit(ms, task, "SIGSEGV", why);
        throw new MmError("SIGSEGV", `pid ${this.pid} (${task.comm}) killed: ${r.why} (address ${hex(r.at!)}). Its memory went back to the allocator.`, { pid: this.pid, addr: r.at, trace });
      }
      throw new MmError("ENOMEM", `out of memory handling a page fault at ${hex(r.at!)}: nothing could be reclaimed and the OOM killer (src/mm/oom_kill.ts) freed nothing for this fault (see m.dmesg(), m.oomKills())`, { trace });
    }
    return r;
  }

  /** read len bytes at va, through the MMU (faults as the process would take them) */
  read(va: AddressLike, len: number | string = 16): Access {
    const ms = this.machine.ms;
    this.task();
    const a = parseAddr(ms, va, "va");
    const l = Number(parseLen(ms, len, "len", 1n << 24n));
    this.begin();
    const r = this.access(a, "read", l);
    return new Access(this, a, "read", r.data!, r.faults, this.end());
  }

  /** write bytes (a string is UTF-8) at va, through the MMU */
  write(va: AddressLike, data: string | Uint8Array | number[]): Access {
    const ms = this.machine.ms;
    this.task();
    const a = parseAddr(ms, va, "va");
    const d = parseData(data);
    if (d.length === 0) throw einval("data", "nothing to write");
    if (d.length > 1 << 24) throw einval("data", "at most 16 MiB per write");
    this.begin();
    const r = this.access(a, "write", d);
    return new Access(this, a, "write", d, r.faults, this.end());
  }

  /** touch every page of [va, va+len): one byte read or written per page */
  touch(va: AddressLike, len: number | bigint | string, access: "read" | "write" = "write"): Access {
    const ms = this.machine.ms;
    const mm = this.mm();
    const a = parseAddr(ms, va, "va");
    const l = parseLen(ms, len, "len", mm.task_size);
    if (access !== "read" && access !== "write") throw einval("access", `"read" or "write", got ${String(access)}`);
    const P = BigInt(ms.arch.PAGE_SIZE);
    const faults: { va: bigint; fn: string; why: string }[] = [];
    const byFn = new Map<string, number>();
    this.begin();
    const one = new Uint8Array(1);
    // trace the first 16 pages; a 1 GiB touch would otherwise log millions of steps
    const was = ms.trace.on;
    let n = 0;
    try {
      for (let p = (a / P) * P; p < a + l; p += P) {
        if (++n === 17) ms.trace.on = false;
        const at = p < a ? a : p;
        const r = this.access(at, access, access === "write" ? one : 1);
        // every fault is counted; the records of the first FAULTS_KEPT only are kept (holding 262,144 of them
        // for a 1 GiB touch made the garbage collector a quarter of the run)
        for (const f of r.faults) {
          byFn.set(f.fn, (byFn.get(f.fn) ?? 0) + 1);
          if (faults.length < FAULTS_KEPT) faults.push(f);
        }
      }
    } finally {
      ms.trace.on = was;
    }
    let total = 0;
    for (const c of byFn.values()) total += c;
    if (was && n > 16) ms.trace.emit("handle_mm_fault", "mm/memory.c", `… ${n - 16} more pages touched the same way (trace elided; ${total} faults in all)`);
    return new Access(this, a, access === "write" ? "write" : "read", new Uint8Array(0), faults, this.end(), byFn);
  }

  /**
   * The MMU's translation of va on this process's CPU: TLB first, then the walk (A/D bits set as
   * hardware does). Never throws for an unmapped address: the fault is the answer. No fault is handled.
   */
  translate(va: AddressLike, opts?: { access?: mmu_access; mode?: mmu_mode }): Translation {
    const ms = this.machine.ms;
    const task = this.task();
    const a = parseAddr(ms, va, "va");
    const access = opts?.access ?? "read";
    const mode = opts?.mode ?? "user";
    if (access !== "read" && access !== "write" && access !== "exec") throw einval("opts.access", `"read", "write" or "exec", got ${String(access)}`);
    if (mode !== "user" && mode !== "kernel") throw einval("opts.mode", `"user" or "kernel", got ${String(mode)}`);
    // this.begin(), without making a new empty event list when there is nothing to drop
    if (ms.trace.events.length !== 0 || ms.trace.depth !== 0) ms.trace.take();
    switch_mm(ms, task.cpu, task.mm!.id);
    // a TLB hit does no walk; show what the tables hold anyway (a debugger's walk: no A/D, no fill),
    // read now (the tables may change later) as raw numbers, decoded only if `steps` is asked for
    const r = mmu_translate(ms, task.cpu, task.mm!.id, task.mm!.pgd, a, access, mode, true, true);
    return new Translation(this.machine, r, this.pid, this.end());
  }

  /** the CPU this process runs on */
  get cpu(): number {
    return this._task.cpu;
  }
  /** move the process to another CPU (its next access loads its page tables there) */
  migrate(cpu: number): this {
    const task = this.task();
    const n = tlbs(this.machine.ms).cpus.length;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= n) throw einval("cpu", `a CPU number from 0 to ${n - 1}, got ${String(cpu)}`);
    task.cpu = cpu;
    return this;
  }

  /** exit(): every frame and page table goes back to the allocator */
  exit(): VmResult {
    const ms = this.machine.ms;
    const task = this.task();
    this.begin();
    do_exit(ms, task);
    return new VmResult(`pid ${this.pid} (${task.comm}) exited`, this.end());
  }

  // ------------------------------------------------------------ fork (kernel/fork.c)

  /**
   * fork(): the child process, its memory shared copy-on-write (copy_process → dup_mmap →
   * copy_page_range). `child.forked` is the Fork result: what is shared, what was write-protected,
   * the page-table frames it cost. The child's libc (malloc state) is the parent's.
   */
  fork(): Process {
    const ms = this.machine.ms;
    const task = this.task();
    this.begin();
    const rep = copy_process(ms, task);
    libc_fork(ms, task, rep.child);
    const child = processFor(this.machine, rep.child);
    child._forked = new Fork(this, child, rep, this.end());
    return child;
  }
  /**
   * clone(CLONE_VM | CLONE_THREAD): a thread, a new task sharing this process's mm (VMAs, page tables,
   * and so the same TLB context: switching between two threads of one mm on a CPU flushes nothing).
   * `exit()` on a thread leaves the mm to the others (mmput); the last one tears it down.
   */
  thread(opts: { cpu?: number } = {}): Process {
    const ms = this.machine.ms;
    const task = this.task();
    const cpu = opts.cpu ?? task.cpu;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= Math.max(1, ms.nr_cpus ?? 1)) throw einval("opts.cpu", `a CPU number from 0 to ${Math.max(1, ms.nr_cpus ?? 1) - 1}, got ${cpu}`);
    const table = task_table_of(ms);
    const pid = ++table.last_pid;
    const t: task_struct = { pid, comm: task.comm, mm: task.mm, state: "running", min_flt: 0, maj_flt: 0, cpu, tgid: task.tgid ?? task.pid };
    // CLONE_THREAD shares signal_struct, so signal->oom_score_adj is the group's
    if (task.oom_score_adj !== undefined) t.oom_score_adj = task.oom_score_adj;
    task.mm!.mm_users++;
    table.tasks.set(pid, t);
    if (ms.trace.on) ms.trace.emit("copy_process", "kernel/fork.c", `clone(CLONE_VM|CLONE_THREAD): pid ${pid} shares mm of pid ${task.pid} (mm_users ${task.mm!.mm_users}); no page tables copied`);
    ms.trace.take();
    return processFor(this.machine, t);
  }
  /** the thread group leader's pid (this pid for a single-threaded process) */
  get tgid(): number {
    return this.task().tgid ?? this.pid;
  }
  /** @internal the Fork that made this process */
  _forked?: Fork;
  /** the Fork result that created this process (undefined for spawned ones) */
  get forked(): Fork | undefined {
    return this._forked;
  }

  /** madvise(addr, len, advice) for the fork advices: "dontfork", "dofork", "wipeonfork", "keeponfork" */
  madvise(addr: AddressLike, len: number | bigint | string, advice: "dontfork" | "dofork" | "wipeonfork" | "keeponfork"): VmResult {
    const ms = this.machine.ms;
    const mm = this.mm();
    const a = parseAddr(ms, addr, "addr");
    const P = BigInt(ms.arch.PAGE_SIZE);
    if (a % P) throw einval("addr", `must be page-aligned (a multiple of ${P}), got ${hex(a)}`);
    const l = parseLen(ms, len, "len", mm.task_size);
    const adv = ({ dontfork: MADV_DONTFORK, dofork: MADV_DOFORK, wipeonfork: MADV_WIPEONFORK, keeponfork: MADV_KEEPONFORK } as Record<string, number>)[String(advice).toLowerCase().replace(/^madv_/, "")];
    if (adv === undefined) throw einval("advice", `"dontfork", "dofork", "wipeonfork" or "keeponfork", got ${JSON.stringify(advice)}`);
    this.begin();
    do_madvise(ms, mm, a, l, adv);
    return new VmResult(`madvise ${hex(a)}+${fmtBytes(l)} MADV_${String(advice).toUpperCase()} (pid ${this.pid})`, this.end(), a);
  }

  // ------------------------------------------------------------ malloc (glibc 2.39 ptmalloc)

  /** the live task for a libc call: ESRCH if gone, EINVAL from a thread (main arena only) */
  private libcTask(): task_struct {
    const task = this.task();
    if (task.tgid !== undefined) throw einval("this", `malloc from a thread: mmlab models glibc's main arena only (threads would get arenas of their own); call it on the thread group leader, pid ${task.tgid}`);
    return task;
  }
  private parseReq(v: unknown, arg: string): number {
    const bits64 = this.machine.ms.arch.bits === 64;
    // the common case (a whole number of bytes) without bigints
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v < (bits64 ? 2 ** 47 : 2 ** 32)) return v;
    const b = parseSize(v);
    const max = bits64 ? 1n << 47n : 1n << 32n;
    if (b === undefined || b < 0n || b >= max) throw einval(arg, `a size in bytes (0 .. ${fmtBytes(max - 1n)}), a number or a string like "100", "128KiB"; got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
    return Number(b);
  }
  /** a pointer argument of free/realloc: NULL, an Allocation of this machine (valid by construction), or any address */
  private parsePtr(ptr: AddressLike | null): bigint {
    if (ptr instanceof Allocation && ptr.process.machine === this.machine) return ptr.addr;
    return ptr === null || ptr === 0 || ptr === 0n ? 0n : parseAddr(this.machine.ms, ptr, "ptr");
  }
  /** malloc(size): glibc 2.39's malloc in this process (brk heap below the mmap threshold, a mapping above) */
  malloc(size: number | bigint | string): Allocation {
    const n = this.parseReq(size, "size");
    return libc_malloc(this, this.libcTask(), n);
  }
  /** calloc(n, size): zeroed memory */
  calloc(n: number | bigint | string, size: number | bigint | string): Allocation {
    const a = this.parseReq(n, "n");
    const b = this.parseReq(size, "size");
    return libc_calloc(this, this.libcTask(), a, b);
  }
  /** realloc(ptr, size): `ptr` an Allocation or an address (0 = malloc) */
  realloc(ptr: AddressLike | null, size: number | bigint | string): Allocation | HeapState {
    const a = this.parsePtr(ptr);
    const n = this.parseReq(size, "size");
    return libc_realloc(this, this.libcTask(), a, n);
  }
  /** free(ptr): glibc's free; misuse (double free, invalid pointer) aborts the process (SIGABRT) */
  free(ptr: AddressLike | null): HeapState {
    const a = this.parsePtr(ptr);
    return libc_free(this, this.libcTask(), a);
  }
  /**
   * malloc(size) for bulk experiments (a loop of a million calls): the same allocator call with the
   * same validation and failures as malloc(), returning just the pointer as C does — 0n for NULL
   * (errno ENOMEM) — and keeping no trace. p.heap() shows the result.
   */
  mallocQuiet(size: number | bigint | string): bigint {
    const n = this.parseReq(size, "size");
    return libc_malloc_quiet(this, this.libcTask(), n);
  }
  /** free(ptr) for bulk experiments: as free(), without a result object */
  freeQuiet(ptr: AddressLike | null): void {
    const a = this.parsePtr(ptr);
    libc_free_quiet(this, this.libcTask(), a);
  }
  /** the heap now: chunks, bins, brk, mmapped chunks, and `overhead` (internal fragmentation) */
  heap(): HeapState {
    return libc_heap(this, this.task());
  }

  /** /proc/PID/maps, with a picture of the address space */
  get maps(): AddressSpace {
    const ms = this.machine.ms;
    const task = this.task();
    const mm = task.mm!;
    const text = proc_pid_maps(ms, task);
    return new AddressSpace(this, text, () => addressSpaceBlocks(ms, mm));
  }
  /** /proc/PID/smaps */
  get smaps(): ProcFile {
    const ms = this.machine.ms;
    return new ProcFile(`/proc/${this.pid}/smaps`, proc_pid_smaps(ms, this.task()));
  }

  view(): View {
    if (!this.alive) return { title: `pid ${this.pid} (${this._task.comm})`, summary: `Process ${this.pid} ${this._task.comm}: ${this._task.state}${this._task.signal ? ` (${this._task.signal})` : ""}`, blocks: [{ kind: "text", text: this._task.death ?? this._task.state }] };
    const ms = this.machine.ms;
    const mm = this.mm();
    const P = ms.arch.PAGE_SIZE;
    return {
      title: `pid ${this.pid} (${this.name})`,
      summary: `Process ${this.pid} ${this.name}: ${mm.vmas.length} VMAs, VSZ ${fmtBytes(mm.total_vm)}, RSS ${fmtBytes(mm.rss_pages * P)}, page tables ${fmtBytes(mm.nr_pgtables * P)}`,
      blocks: [
        { kind: "kv", items: [
          { label: "VSZ", value: fmtBytes(mm.total_vm) },
          { label: "RSS", value: `${fmtBytes(mm.rss_pages * P)} (anon ${mm.rss.anon}, file ${mm.rss.file}, shmem ${mm.rss.shmem} pages)` },
          { label: "page tables", value: `${mm.nr_pgtables} frame${mm.nr_pgtables === 1 ? "" : "s"} (${fmtBytes(mm.nr_pgtables * P)}), pgd at PFN ${hex(mm.pgd)}`, note: "the pgd included; /proc/meminfo PageTables leaves the pgd out (6.12 x86)" },
          { label: "minflt", value: String(this._task.min_flt) },
          { label: "CPU", value: String(this._task.cpu) },
        ] },
        { kind: "pre", text: proc_pid_maps(ms, this._task) },
        ...addressSpaceBlocks(ms, mm),
      ],
    };
  }
  toJSON() {
    return { pid: this.pid, name: this.name, state: this._task.state, maps: this.alive ? proc_pid_maps(this.machine.ms, this._task) : undefined };
  }
}

/** the picture of an address space: user VMAs and the kernel half, to scale, with a table */
function addressSpaceBlocks(ms: MachineState, mm: mm_struct): Block[] {
  const fmt = pt_format_of(ms.arch);
  const segs: { start: bigint; len: bigint; tone: "user" | "kernel" | "pagetable" | "muted"; label?: string }[] = [];
  for (const v of maps_vmas(ms, mm)) if (v.vm_start < mm.task_size) segs.push({ start: v.vm_start, len: v.vm_end - v.vm_start, tone: "user", label: vma_name(mm, v) ?? perms(v.vm_flags) });
  const marks: { at: bigint; label: string }[] = [{ at: mm.task_size, label: "TASK_SIZE" }];
  if (ms.arch.name !== "toy") {
    const ks = ms.arch.PAGE_OFFSET;
    segs.push({ start: ks, len: fmt.va_end - ks, tone: "kernel", label: "kernel (shared by every process)" });
    marks.push({ at: ks, label: "PAGE_OFFSET" });
  }
  // the layout top-down, holes included (user VMAs, the gaps between them, the kernel's part)
  const rows: (string | { text: string; tone: "user" | "kernel" | "muted" })[][] = [];
  const hole = (a: bigint, b: bigint, what = "unmapped") => {
    if (b > a) rows.push([{ text: `${hex(a)}-${hex(b)}`, tone: "muted" }, "", fmtBytes(b - a), "", { text: what, tone: "muted" }]);
  };
  const all = maps_vmas(ms, mm);
  let at = 0n;
  for (const v of all) {
    if (v.vm_start >= mm.task_size) break;
    hole(at, v.vm_start);
    const st = smap_gather_stats(ms, mm, v);
    rows.push([{ text: `${hex(v.vm_start)}-${hex(v.vm_end)}`, tone: "user" }, perms(v.vm_flags), fmtBytes(v.vm_end - v.vm_start), fmtBytes(st.resident), vma_name(mm, v) ?? "(anonymous)"]);
    at = v.vm_end;
  }
  hole(at, mm.task_size);
  if (ms.arch.name !== "toy") {
    if (fmt.canonical) {
      const top = 1n << BigInt(fmt.va_bits - 1);
      hole(mm.task_size, top, "guard page at the top of user space");
      hole(top, fmt.va_end - top, "non-canonical hole: no address here exists");
      hole(fmt.va_end - top, ms.arch.PAGE_OFFSET, "kernel: guard hole, LDT remap");
    } else hole(mm.task_size, ms.arch.PAGE_OFFSET);
    rows.push([{ text: `${hex(ms.arch.PAGE_OFFSET)}-${hex(fmt.va_end)}`, tone: "kernel" }, "", fmtBytes(fmt.va_end - ms.arch.PAGE_OFFSET), "", { text: "kernel space: no VMAs; the same page tables in every process", tone: "kernel" }]);
  }
  return [
    { kind: "bar", title: "virtual address space (to scale)", base: 0n, total: fmt.va_end, unit: "byte", segments: segs, marks, format: "hex", legend: [{ tone: "user", label: "VMA" }, { tone: "kernel", label: "kernel space" }] },
    { kind: "table", columns: ["range", "perms", "size", "rss", "what"], align: ["l", "l", "r", "r", "l"], rows: rows.slice(0, 200), omitted: Math.max(0, rows.length - 200), caption: "top to bottom of the address space is bottom to top of this table; holes are unmapped" },
  ];
}

// ---------------------------------------------------------------- Machine additions

declare module "./machine" {
  interface Machine {
    /** fork+exec of /usr/bin/<name>: a new process with the arch's layout */
    spawn(name?: string, opts?: { cpu?: number }): Process;
    /** the process with this PID (ESRCH if none) */
    process(pid: number): Process;
    /** the live processes (an array of Process that renders as the process tree, RSS per process) */
    ps(): ProcessList;
    /** the live processes as a tree (parent → children), RSS and page tables per process */
    pstree(): ProcessTree;
    /** a kernel-mode translation on a CPU (no process of its own): through the page tables loaded in
     * its CR3, i.e. the pgd of the last process that ran there (kernel entries are the same in every
     * pgd, so kernel addresses translate as through swapper_pg_dir; user addresses are that
     * process's), or swapper_pg_dir when no process has run on it */
    translate(va: AddressLike, opts?: { access?: mmu_access; cpu?: number }): Translation;
    /** what a frame holds: page-table entries, or bytes */
    frame(pfn: number): FrameDump;
    /** ASLR (randomize_va_space): false by default; affects processes spawned after */
    aslr: boolean;
    /** TLB geometry: entries per CPU and replacement policy */
    setTlb(opts: { size?: number; policy?: tlb_policy }): { size: number; policy: tlb_policy };
    /** per-CPU TLB counters */
    tlbStats(): { cpu: number; entries: number; hits: number; misses: number; flushes: number }[];
    /** one CPU's TLB, entry by entry */
    tlb(cpu?: number): TlbView;
  }
}

const procs = new WeakMap<task_struct, Process>();
function processFor(m: Machine, t: task_struct): Process {
  let p = procs.get(t);
  if (!p || p.machine !== m) {
    p = new Process(m, t.pid, t);
    procs.set(t, p);
  }
  return p;
}

Machine.prototype.spawn = function (this: Machine, name = "sh", opts: { cpu?: number } = {}) {
  if (typeof name !== "string" || !/^[A-Za-z0-9._+-]{1,64}$/.test(name)) throw einval("name", `a program name of letters, digits, ".", "_", "+", "-" (1..64 characters), got ${JSON.stringify(name)}`);
  const ms = this.ms;
  const cpu = opts.cpu ?? 0;
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= Math.max(1, ms.nr_cpus ?? 1)) throw einval("opts.cpu", `a CPU number from 0 to ${Math.max(1, ms.nr_cpus ?? 1) - 1}, got ${cpu}`);
  ms.trace.take();
  const t = spawn_task(ms, name, cpu);
  ms.trace.take();
  return processFor(this, t);
};

Machine.prototype.process = function (this: Machine, pid: number) {
  if (!Number.isInteger(pid)) throw einval("pid", `a whole number, got ${String(pid)}`);
  const t = find_task(this.ms, pid);
  if (!t) throw new MmError("ESRCH", `pid: no process ${pid}; live: ${[...(this.ms.procs?.tasks.keys() ?? [])].join(", ") || "none (m.spawn() makes one)"}`, { arg: "pid" });
  return processFor(this, t);
};

Machine.prototype.ps = function (this: Machine) {
  return ProcessList.of_machine(this.ms, [...(this.ms.procs?.tasks.values() ?? [])].map((t) => processFor(this, t)));
};

Machine.prototype.pstree = function (this: Machine) {
  return new ProcessTree(this.ms);
};

Machine.prototype.translate = function (this: Machine, va: AddressLike, opts: { access?: mmu_access; cpu?: number } = {}) {
  const ms = this.ms;
  const a = parseAddr(ms, va, "va");
  const access = opts.access ?? "read";
  if (!["read", "write", "exec"].includes(access)) throw einval("opts.access", `"read", "write" or "exec", got ${String(access)}`);
  const cpu = opts.cpu ?? 0;
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= Math.max(1, ms.nr_cpus ?? 1)) throw einval("opts.cpu", `a CPU number from 0 to ${Math.max(1, ms.nr_cpus ?? 1) - 1}`);
  ms.trace.take();
  const st = pgtable(ms);
  const t = tlbs(ms).cpus[cpu]!;
  const cr3 = t.loaded_mm >= 0 ? (cr3Of(ms, t.loaded_mm) ?? st.swapper_pgd) : st.swapper_pgd;
  const r = mmu_translate(ms, cpu, t.loaded_mm, cr3, a, access, "kernel", true, true);
  return new Translation(this, r, undefined, ms.trace.take());
};

function cr3Of(ms: MachineState, mmId: number): number | undefined {
  for (const t of ms.procs?.tasks.values() ?? []) if (t.mm && t.mm.id === mmId) return t.mm.pgd;
  return undefined;
}

Machine.prototype.frame = function (this: Machine, pfn: number) {
  const ms = this.ms;
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= ms.max_pfn) throw einval("pfn", `a frame number from 0 to ${hex(ms.max_pfn - 1)}, got ${String(pfn)}`);
  const f = ms.mem_map.flags[pfn]!;
  const fmt = pt_format_of(ms.arch);
  const d = frame_data(ms, pfn);
  const bytes = d ? d.u8.slice() : new Uint8Array(ms.arch.PAGE_SIZE);
  let entries: { index: number; entry: bigint; flags: string[]; pfn: number }[] | undefined;
  if (f & PG_table) {
    entries = [];
    const e: pt_entry = { lo: 0, hi: 0 };
    const per = ms.arch.PAGE_SIZE / fmt.esz;
    for (let i = 0; i < per; i++) {
      // entries of this frame (a multi-frame toy table shows its own slice)
      const b = frame_data(ms, pfn);
      if (!b) break;
      e.lo = b.u32[(i * fmt.esz) >> 2]!;
      e.hi = fmt.esz === 8 ? b.u32[((i * fmt.esz) >> 2) + 1]! : 0;
      if (e.lo || e.hi) entries.push({ index: i, entry: entry_value(e), flags: entry_flag_names(fmt, e, 0), pfn: entry_pfn(fmt, e.lo, e.hi) });
    }
  }
  return new FrameDump(pfn, flag_names(f), entries, bytes);
};

Object.defineProperty(Machine.prototype, "aslr", {
  get(this: Machine) {
    return task_table_of(this.ms).randomize_va_space === 2;
  },
  set(this: Machine, on: boolean) {
    if (typeof on !== "boolean") throw einval("aslr", "true or false");
    task_table_of(this.ms).randomize_va_space = on ? 2 : 0;
  },
  configurable: true,
});

Machine.prototype.setTlb = function (this: Machine, opts: { size?: number; policy?: tlb_policy }) {
  const st = tlbs(this.ms);
  if (opts.size !== undefined && (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > 65536)) throw einval("opts.size", `entries per CPU, 1..65536, got ${String(opts.size)}`);
  if (opts.policy !== undefined && !["lru", "fifo", "random"].includes(opts.policy)) throw einval("opts.policy", `"lru", "fifo" or "random", got ${String(opts.policy)}`);
  if (opts.size !== undefined) {
    st.size = opts.size;
    for (const t of st.cpus) while (t.entries.size > st.size) t.entries.delete(t.entries.keys().next().value as number);
  }
  if (opts.policy !== undefined) st.policy = opts.policy;
  return { size: st.size, policy: st.policy };
};

Machine.prototype.tlb = function (this: Machine, cpu = 0) {
  const st = tlbs(this.ms);
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= st.cpus.length) throw einval("cpu", `a CPU number from 0 to ${st.cpus.length - 1}, got ${String(cpu)}`);
  const t = st.cpus[cpu]!;
  const P = this.ms.arch.PAGE_SIZE;
  const entries = [...t.entries.values()]
    .map((e) => ({ va: BigInt(e.vpn) << BigInt(e.shift), pa: BigInt(e.pfn) * BigInt(P), pageSize: 2 ** e.shift, rw: e.rw, user: e.user, nx: e.nx, dirty: e.dirty, global: e.global }));
  return new TlbView(cpu, st.size, st.policy, t.hits, t.misses, t.flushes, entries);
};

Machine.prototype.tlbStats = function (this: Machine) {
  return tlbs(this.ms).cpus.map((t, cpu) => ({ cpu, entries: t.entries.size, hits: t.hits, misses: t.misses, flushes: t.flushes }));
};

// ---------------------------------------------------------------- /proc, meminfo, invariants

registerProcFile(/^\/proc\/(\d+)\/maps$/, "/proc/PID/maps", (m, mt) => {
  const p = m.process(Number(mt[1]));
  return new ProcFile(`/proc/${p.pid}/maps`, proc_pid_maps(m.ms, p.task()));
});
registerProcFile(/^\/proc\/(\d+)\/smaps$/, "/proc/PID/smaps", (m, mt) => {
  const p = m.process(Number(mt[1]));
  return new ProcFile(`/proc/${p.pid}/smaps`, proc_pid_smaps(m.ms, p.task()));
});

registerProcFile(/^\/proc\/(\d+)\/statm$/, "/proc/PID/statm", (m, mt) => {
  const p = m.process(Number(mt[1]));
  return new ProcFile(`/proc/${p.pid}/statm`, proc_pid_statm(m.ms, p.task()));
});

registerMeminfoSource((ms): Record<string, number> => {
  if (!ms.pgt && !ms.procs) return {};
  let anon = 0;
  let committed = 0;
  const P = BigInt(ms.arch.PAGE_SIZE);
  const seen = new Set<unknown>();
  for (const t of ms.procs?.tasks.values() ?? []) {
    if (!t.mm || seen.has(t.mm)) continue; // threads share one mm
    seen.add(t.mm);
    anon += t.mm.rss.anon;
    for (const v of t.mm.vmas) if (v.vm_flags & VM_ACCOUNT) committed += Number((v.vm_end - v.vm_start) / P);
  }
  let file = 0;
  let shmem = 0;
  let mapped = 0;
  for (const f of ms.procs?.inodes.values() ?? []) {
    for (const pfn of f.pages.values()) {
      if (f.kind === "shmem") shmem++;
      else file++;
      if (ms.mem_map.mapcount[pfn]! > 0) mapped++;
    }
    if (f.kind === "shmem") committed += f.pages.size;
  }
  return { page_tables: ms.pgt?.nr_pagetable ?? 0, anon_pages: anon, inactive_anon: anon + shmem, inactive_file: file, cached: file + shmem, shmem, mapped, committed_as: committed };
});

/** the VM's invariants (VMAs sorted and disjoint, RSS = present PTEs, refcount/mapcount = mappings,
 * every page-table frame accounted) */
export function validate_vm(ms: MachineState): string | undefined {
  if (!ms.pgt && !ms.procs) return undefined;
  const fmt = pt_format_of(ms.arch);
  const P = BigInt(ms.arch.PAGE_SIZE);
  const maps = new Map<number, number>();
  let tables = 0;
  let pgds = 0;
  const seen = new Set<unknown>();
  for (const t of ms.procs?.tasks.values() ?? []) {
    const mm = t.mm;
    if (!mm || seen.has(mm)) continue; // threads share one mm: check it once
    seen.add(mm);
    let users = 0;
    for (const u of ms.procs!.tasks.values()) if (u.mm === mm) users++;
    if (users !== mm.mm_users) return `pid ${t.pid}: mm_users is ${mm.mm_users} but ${users} tasks use the mm`;
    let prev: vm_area_struct | undefined;
    for (const v of mm.vmas) {
      if (v.vm_start >= v.vm_end) return `pid ${t.pid}: empty VMA at ${hex(v.vm_start)}`;
      if (v.vm_start % P || v.vm_end % P) return `pid ${t.pid}: VMA ${hex(v.vm_start)}-${hex(v.vm_end)} not page-aligned`;
      if (prev && prev.vm_end > v.vm_start) return `pid ${t.pid}: VMAs ${hex(prev.vm_start)}-${hex(prev.vm_end)} and ${hex(v.vm_start)}-${hex(v.vm_end)} overlap or are out of order`;
      if (v.vm_end > mm.task_size) return `pid ${t.pid}: VMA ${hex(v.vm_start)}-${hex(v.vm_end)} goes past TASK_SIZE`;
      prev = v;
    }
    // page tables reachable from the pgd = mm's count, each marked PG_table
    const pts = pt_user_tables(ms, mm.pgd);
    let n = 0;
    for (const x of pts) {
      n += 1 << fmt.order[x.level]!;
      if (!(ms.mem_map.flags[x.pfn]! & PG_table)) return `pid ${t.pid}: page table at PFN ${hex(x.pfn)} is not marked PG_table`;
    }
    if (n !== mm.nr_pgtables) return `pid ${t.pid}: ${n} page-table frames reachable from the pgd, but the mm counts ${mm.nr_pgtables}`;
    tables += n;
    pgds += 1 << fmt.order[0]!;
    // RSS = present normal PTEs; no PTE outside a VMA
    let present = 0;
    let outside = "";
    pt_walk_range(ms, mm.pgd, 0n, mm.task_size, (_tb, _i, va, en) => {
      const lo = en.lo;
      if (!(lo & 0x101)) return;
      if (!vma_lookup(mm, va) && !outside) outside = hex(va);
      if (lo & 0x200) return;
      present++;
      const pfn = entry_pfn(fmt, lo, en.hi);
      maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
    });
    if (outside) return `pid ${t.pid}: a PTE maps ${outside}, which is in no VMA`;
    if (present !== mm.rss_pages) return `pid ${t.pid}: RSS counters say ${mm.rss_pages} pages but ${present} PTEs are present`;
  }
  const st = ms.pgt;
  if (st) {
    if (st.nr_pagetable !== tables - pgds + st.kernel_tables) return `NR_PAGETABLE is ${st.nr_pagetable} but processes hold ${tables - pgds} page-table frames below their pgds and the kernel ${st.kernel_tables}`;
    let flagged = 0;
    for (let p = 0; p < ms.max_pfn; p++) if (ms.mem_map.flags[p]! & PG_table) flagged++;
    // boot tables are single frames, except the swapper pgd of a toy geometry whose top table outgrows a page
    const boot = st.boot_tables.reduce((a, b) => a + (b === st.swapper_pgd ? 1 << fmt.order[0]! : 1), 0);
    if (flagged !== tables + st.kernel_tables + boot) return `${flagged} frames are marked PG_table, but ${tables} process + ${st.kernel_tables} kernel + ${boot} boot page-table frames are accounted`;
  }
  // refcount / mapcount = mappings (+1 for the page cache)
  const cache = new Set<number>();
  for (const f of ms.procs?.inodes.values() ?? []) for (const pfn of f.pages.values()) cache.add(pfn);
  // the swap cache holds a reference too
  for (const pfn of ms.swapcache?.pages.values() ?? []) cache.add(pfn);
  for (const [pfn, n] of maps) {
    const mc = ms.mem_map.mapcount[pfn]!;
    const rc = ms.mem_map.refcount[pfn]!;
    const want = n + (cache.has(pfn) ? 1 : 0);
    if (mc !== n) return `PFN ${hex(pfn)}: mapcount ${mc} but ${n} PTEs map it`;
    if (rc !== want) return `PFN ${hex(pfn)}: refcount ${rc} but ${n} mapping${n === 1 ? "" : "s"}${cache.has(pfn) ? " + the page cache" : ""}`;
  }
  for (let p = 0; p < ms.max_pfn; p++) {
    const f = ms.mem_map.flags[p]!;
    if (f & PG_anon && !maps.has(p) && !cache.has(p)) return `anonymous page PFN ${hex(p)} is mapped by no PTE and not in the swap cache (leaked)`;
    if (f & PG_zero && p !== ms.procs?.zero_pfn) return `PFN ${hex(p)} claims to be the zero page`;
  }
  for (const p of cache) if (ms.mem_map.refcount[p]! < 1) return `page-cache page PFN ${hex(p)} has no reference`;
  return undefined;
}
registerValidator("vm", validate_vm);
registerValidator("malloc", validate_malloc);

