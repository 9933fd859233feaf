/**
 * vmalloc (mm/vmalloc.c, Linux 6.12): vmap areas in [VMALLOC_START, VMALLOC_END) (or a caller's range,
 * such as the modules area), each followed by a one-page guard, placed lowest-address first fit
 * (find_vmap_lowest_match()), backed by order-0 frames allocated one at a time (GFP_KERNEL | __GFP_HIGHMEM,
 * so HighMem frames on 32-bit), vfree, and the /proc/vmallocinfo accounting.
 *
 * Simplifications: no lazy purge (a vfree'd range is free at once; the kernel keeps it as an
 * "unpurged vm_area" until a TLB flush batch); no huge vmalloc mappings. The area's pages[] array is
 * kmalloc'd (≤ PAGE_SIZE) or itself vmalloc'd (" vpages"), as __vmalloc_area_node() does. Each page is mapped in swapper_pg_dir through
 * mm/pgtable.ts map_kernel_page() (so every process sees it); the guard page never is.
 */
import type { MachineState } from "../kernel/machine";
import { fmtBytes, hex } from "../lib/units";
import { vmalloc_range } from "../arch/layout";
import { GFP_KERNEL, __GFP_HIGHMEM, __GFP_NOWARN } from "./gfp";
import { PG_head, PG_vmalloc } from "./memmap";
import { __alloc_pages, __free_pages, type zone_attempt } from "./page_alloc";
import { kernel_va_to_pfn, map_kernel_page, unmap_kernel_page } from "./pgtable";
import { kfree, kfree_check, kmalloc } from "./slub";

const F = "mm/vmalloc.c";
/** vm_struct flags (include/linux/vmalloc.h) */
export const VM_IOREMAP = 0x1;
export const VM_ALLOC = 0x2;
export const VM_MAP = 0x4;
export const VM_USERMAP = 0x8;
export const VM_NO_GUARD = 0x40;

/** struct vmap_area + its vm_struct */
export interface vmap_area {
  id: number;
  va_start: bigint;
  /** exclusive, including the guard page */
  va_end: bigint;
  flags: number;
  /** the backing frames, one per page, in virtual order */
  pages: number[];
  /** %pS of the caller, when known */
  caller?: string;
  /** who owns it: "vmalloc" or "module:<name>" */
  owner: string;
  /** bytes asked for */
  requested: bigint;
  /** where the struct page *pages[] array lives: a kmalloc object, or (above PAGE_SIZE) another vmap area */
  pages_array?: { kind: "kmalloc"; ptr: bigint } | { kind: "vmalloc"; id: number };
}

export class vmalloc_state {
  /** busy areas sorted by va_start (the vmap_area_root tree, in order) */
  areas: vmap_area[] = [];
  nextId = 1;
  /** vmalloc_nr_pages */
  nr_pages = 0;
  clone_for(_ms: MachineState): vmalloc_state {
    const c = new vmalloc_state();
    c.areas = this.areas.map((a) => ({ ...a, pages: [...a.pages], pages_array: a.pages_array && { ...a.pages_array } }));
    c.nextId = this.nextId;
    c.nr_pages = this.nr_pages;
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    vmalloc?: vmalloc_state;
  }
}

/** the vmap_area tree of the machine (vmap_area_root, mm/vmalloc.c), created on first use */
export function vmalloc_of(ms: MachineState): vmalloc_state {
  return (ms.vmalloc ??= new vmalloc_state());
}

/** get_vm_area_size(): the area without its guard page */
export function get_vm_area_size(ms: MachineState, va: vmap_area): bigint {
  return va.va_end - va.va_start - (va.flags & VM_NO_GUARD ? 0n : BigInt(ms.page_size));
}

/** find_vmap_lowest_match(): the lowest page-aligned start in [start, end) with `size` free bytes, or -1n */
export function find_vmap_lowest_match(ms: MachineState, size: bigint, start: bigint, end: bigint): bigint {
  let at = start;
  for (const a of vmalloc_of(ms).areas) {
    if (a.va_end <= at) continue;
    if (a.va_start >= end) break;
    if (a.va_start - at >= size) return at + size <= end ? at : -1n;
    at = a.va_end > at ? a.va_end : at;
  }
  return at + size <= end ? at : -1n;
}

export interface vmalloc_result {
  area?: vmap_area;
  /** why it failed */
  error?: string;
  attempts?: zone_attempt[];
}

/**
 * __vmalloc_node_range(): size rounded up to pages, + 1 guard page; a VA range found lowest-first in
 * [start, end); then __vmalloc_area_node() takes order-0 frames one by one. On a frame shortage the
 * frames already taken go back (the kernel's vfree() on failure). The caller validated size > 0.
 */
export function __vmalloc_node_range(ms: MachineState, size: bigint, range: { start: bigint; end: bigint }, owner = "vmalloc", caller?: string, gfp: number = GFP_KERNEL): vmalloc_result {
  const st = vmalloc_of(ms);
  const tr = ms.trace;
  const P = BigInt(ms.page_size);
  const real = ((size + P - 1n) / P) * P;
  const nr = Number(real / P);
  if (nr > ms.totalram_pages) {
    const error = `vmalloc error: size ${real}, exceeds total pages (${ms.totalram_pages})`;
    ms.printk(`${ms.comm}: ${error}, mode:0x${gfp.toString(16)}`);
    return { error };
  }
  const total = real + P; // the guard page
  const va = find_vmap_lowest_match(ms, total, range.start, range.end);
  if (tr.on) tr.emit("alloc_vmap_area", F, va < 0n ? `no free range of ${fmtBytes(total)} in ${hex(range.start)}-${hex(range.end)}` : `size ${fmtBytes(real)} + 1 guard page = ${fmtBytes(total)}: lowest free fit at ${hex(va)}`, { size: Number(total) });
  if (va < 0n) {
    const error = `vmalloc error: size ${real}, vm_struct allocation failed (no ${fmtBytes(total)} hole in ${hex(range.start)}-${hex(range.end)})`;
    ms.printk(`${ms.comm}: ${error}`);
    return { error };
  }
  const id = st.nextId++;
  const pages: number[] = [];
  const attempts: zone_attempt[] = [];
  // insert the vmap area now (alloc_vmap_area()), so the nested pages[] allocation cannot take its range
  const area: vmap_area = { id, va_start: va, va_end: va + total, flags: VM_ALLOC, pages, caller, owner, requested: size };
  const at = st.areas.findIndex((a) => a.va_start > va);
  if (at < 0) st.areas.push(area);
  else st.areas.splice(at, 0, area);
  const undo = (why: string): vmalloc_result => {
    st.areas.splice(st.areas.indexOf(area), 1);
    free_pages_array(ms, area);
    const error = `vmalloc error: size ${real}, ${why}`;
    ms.printk(`${ms.comm}: ${error}`);
    return { error, attempts };
  };
  // __vmalloc_area_node(): the pages[] array first, kmalloc'd, or vmalloc'd when bigger than a page
  const array_size = nr * (ms.arch.bits / 8);
  if (array_size > ms.page_size) {
    if (tr.on) tr.emit("__vmalloc_area_node", F, `pages[] array: ${nr} pointers = ${array_size} B > PAGE_SIZE: vmalloc it too (" vpages")`);
    tr.depth++;
    const nested = __vmalloc_node_range(ms, BigInt(array_size), vmalloc_range(ms) ?? range, `pages:${id}`, caller, gfp);
    tr.depth--;
    if (!nested.area) return undo(`failed to allocate the pages[] array (${nested.error})`);
    area.pages_array = { kind: "vmalloc", id: nested.area.id };
  } else {
    if (tr.on) tr.emit("__vmalloc_area_node", F, `pages[] array: ${nr} pointer${nr > 1 ? "s" : ""} = ${array_size} B: kmalloc it`);
    tr.depth++;
    const k = kmalloc(ms, array_size, gfp);
    tr.depth--;
    if (!k.slab && !k.large) {
      attempts.push(...(k.attempts ?? []));
      return undo("failed to allocate the pages[] array");
    }
    area.pages_array = { kind: "kmalloc", ptr: k.ptr };
  }
  const g = gfp | (ms.arch.bits === 32 ? __GFP_HIGHMEM : 0);
  if (tr.on) tr.emit("__vmalloc_area_node", F, `${nr} order-0 frame${nr > 1 ? "s" : ""}, taken one by one with ${ms.arch.bits === 32 ? "GFP_KERNEL|__GFP_HIGHMEM (HighMem first when there is any)" : "GFP_KERNEL"}`);
  const quiet = tr.on && nr > 8;
  const was = tr.on;
  const release = () => {
    for (const p of pages) {
      ms.mem_map.flags[p]! &= ~PG_vmalloc;
      ms.mem_map.priv[p] = 0;
      __free_pages(ms, p, 0);
    }
  };
  if (quiet) tr.on = false;
  tr.depth++;
  for (let i = 0; i < nr; i++) {
    const r = __alloc_pages(ms, g | (i ? __GFP_NOWARN : 0), 0);
    if (r.pfn < 0) {
      attempts.push(...r.attempts);
      release();
      tr.depth--;
      tr.on = was;
      return undo(`failed to allocate pages (got ${i} of ${nr})`);
    }
    ms.mem_map.flags[r.pfn]! |= PG_vmalloc;
    ms.mem_map.priv[r.pfn] = -id;
    pages.push(r.pfn);
  }
  tr.depth--;
  tr.on = was;
  if (quiet) tr.emit("__vmalloc_area_node", F, `… ${nr} × __alloc_pages(order 0): PFNs ${pages.slice(0, 6).map((p) => hex(p)).join(", ")}${nr > 6 ? ", …" : ""}`);
  // vmap_pages_range(): one PTE per page in the kernel page table; the guard page stays unmapped
  if (tr.on) tr.emit("vmap_pages_range", F, `map ${hex(va)}-${hex(va + real)} to the ${nr} frames in swapper_pg_dir; ${hex(va + real)}-${hex(va + total)} stays unmapped (guard page)`);
  if (quiet) tr.on = false;
  tr.depth++;
  for (let i = 0; i < nr; i++) {
    const rc = map_kernel_page(ms, va + BigInt(i) * P, pages[i]!);
    if (rc !== 0) {
      for (let j = 0; j < i; j++) unmap_kernel_page(ms, va + BigInt(j) * P);
      release();
      tr.depth--;
      tr.on = was;
      return undo(`failed to map pages (${rc === -12 ? "no memory for a page table" : `error ${rc}`})`);
    }
  }
  tr.depth--;
  tr.on = was;
  st.nr_pages += nr;
  return { area };
}

/** kvfree(area->pages): the pages[] array goes back to kmalloc or vfree */
function free_pages_array(ms: MachineState, area: vmap_area): void {
  const a = area.pages_array;
  area.pages_array = undefined;
  if (!a) return;
  if (a.kind === "kmalloc") {
    const o = kfree_check(ms, a.ptr);
    if (o.kind !== "bad") kfree(ms, o);
    return;
  }
  const nested = vmalloc_of(ms).areas.find((x) => x.id === a.id);
  if (nested) vfree_area(ms, nested);
}

/** vmalloc(size): __vmalloc_node_range(size, 1, VMALLOC_START, VMALLOC_END, GFP_KERNEL, PAGE_KERNEL, …) */
export function vmalloc(ms: MachineState, size: bigint, caller?: string): vmalloc_result {
  const r = vmalloc_range(ms);
  if (!r) return { error: "this machine has no vmalloc area (the toy machine has no kernel segment)" };
  if (ms.trace.on) ms.trace.emit("vmalloc", F, `vmalloc(${size}): virtually contiguous, physically scattered`);
  return __vmalloc_node_range(ms, size, r, "vmalloc", caller);
}

/** find_vm_area(): the area containing addr (including its guard page), or undefined */
export function find_vmap_area(ms: MachineState, addr: bigint): vmap_area | undefined {
  for (const a of vmalloc_of(ms).areas) if (addr >= a.va_start && addr < a.va_end) return a;
  return undefined;
}

/** vfree() → remove_vm_area() + free each page; the caller found the area by its start address */
export function vfree_area(ms: MachineState, area: vmap_area): void {
  const st = vmalloc_of(ms);
  const tr = ms.trace;
  if (tr.on) tr.emit("vfree", F, `unmap ${hex(area.va_start)}-${hex(area.va_end)} and free its ${area.pages.length} frame${area.pages.length === 1 ? "" : "s"} one by one`);
  const quiet = tr.on && area.pages.length > 8;
  const was = tr.on;
  if (quiet) tr.on = false;
  tr.depth++;
  const P = BigInt(ms.page_size);
  // vunmap_range(): clear the PTEs (and flush the TLB), then free the frames
  for (let i = 0; i < area.pages.length; i++) unmap_kernel_page(ms, area.va_start + BigInt(i) * P);
  for (const p of area.pages) {
    ms.mem_map.flags[p]! &= ~PG_vmalloc;
    ms.mem_map.priv[p] = 0;
    __free_pages(ms, p, 0);
  }
  tr.depth--;
  tr.on = was;
  st.areas.splice(st.areas.indexOf(area), 1);
  st.nr_pages -= area.pages.length;
  tr.depth++;
  free_pages_array(ms, area);
  tr.depth--;
}

/** validate: areas sorted, disjoint, page-aligned, inside their range, each with a guard page, frames owned */
export function validate_vmalloc(ms: MachineState): string | undefined {
  const st = ms.vmalloc;
  if (!st) return undefined;
  const P = BigInt(ms.page_size);
  const mm = ms.mem_map;
  let prevEnd = -1n;
  let pages = 0;
  const owned = new Set<number>();
  for (const a of st.areas) {
    if (a.va_start % P || a.va_end % P) return `vmap area ${hex(a.va_start)}-${hex(a.va_end)} is not page aligned`;
    if (a.va_start < prevEnd) return `vmap areas overlap at ${hex(a.va_start)}`;
    prevEnd = a.va_end;
    const size = get_vm_area_size(ms, a);
    if (BigInt(a.pages.length) * P !== size) return `vmap area ${hex(a.va_start)}: ${a.pages.length} pages back ${fmtBytes(size)} (the guard page must stay unbacked)`;
    for (let i = 0; i < a.pages.length; i++) {
      const m = kernel_va_to_pfn(ms, a.va_start + BigInt(i) * P);
      if (m !== a.pages[i]) return `vmap area ${hex(a.va_start)}: page ${i} should map PFN ${hex(a.pages[i]!)} in swapper_pg_dir, maps ${m < 0 ? "nothing" : hex(m)}`;
    }
    if (!(a.flags & VM_NO_GUARD) && kernel_va_to_pfn(ms, a.va_end - P) !== -1) return `vmap area ${hex(a.va_start)}: its guard page ${hex(a.va_end - P)} is mapped`;
    for (const p of a.pages) {
      if (owned.has(p)) return `frame ${hex(p)} backs two vmalloc pages`;
      owned.add(p);
      if (!(mm.flags[p]! & PG_vmalloc) || !(mm.flags[p]! & PG_head) || mm.order[p] !== 0 || mm.priv[p] !== -a.id) return `frame ${hex(p)} of vmap area ${hex(a.va_start)} is not an allocated order-0 PG_vmalloc frame owned by it`;
    }
    pages += a.pages.length;
    const pa = a.pages_array;
    if (!pa) return `vmap area ${hex(a.va_start)} has no pages[] array`;
    if (pa.kind === "kmalloc" && kfree_check(ms, pa.ptr).kind === "bad") return `vmap area ${hex(a.va_start)}: its pages[] array at ${hex(pa.ptr)} is not a live kmalloc object`;
    if (pa.kind === "vmalloc" && !st.areas.some((x) => x.id === pa.id && x.owner === `pages:${a.id}`)) return `vmap area ${hex(a.va_start)}: its vmalloc'd pages[] array is gone`;
  }
  if (pages !== st.nr_pages) return `vmalloc_nr_pages is ${st.nr_pages}, areas hold ${pages}`;
  return undefined;
}
