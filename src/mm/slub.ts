/**
 * SLUB (mm/slub.c, Linux 6.12): kmem_cache, slabs carved out of buddy-allocator pages, per-node partial
 * lists, the kmalloc caches, kmalloc above KMALLOC_MAX_CACHE_SIZE straight from the page allocator,
 * kfree's dispatch on what a pointer is, and ksize.
 *
 * Model (simplifications, on purpose):
 * - calculate_order() uses the machine's CPU count (boot config `cpus`, ms.nr_cpus; default 2, so
 *   min_objects = 4*(fls(2)+1) = 12), but every allocation runs on CPU 0: only CPU 0's slab (c->slab)
 *   is modelled; per-CPU partial lists (CONFIG_SLUB_CPU_PARTIAL) are not:
 *   a slab that gets a free object back goes straight to its node's partial list (the
 *   !kmem_cache_has_cpu_partial() path of __slab_free()).
 * - no debug (no red zones, poisoning, tracking): s->size = ALIGN(ALIGN(object_size, sizeof(void *)), align),
 *   the free pointer sits inside the object; no constructors, no RCU freeing, no freelist randomization
 *   (objects leave a new slab in address order).
 * - full slabs are kept on a "full" list for rendering (the kernel tracks them only with SLAB_STORE_USER).
 * - every frame of a slab carries PG_slab and mem_map.priv = -(slab id); a large kmalloc's head carries
 *   priv = -(id) too (negative ids never collide with the facade's PageBlock ids).
 */
import type { MachineState } from "../kernel/machine";
import { fmtBytes, hex } from "../lib/units";
import { GFP_KERNEL, __GFP_COMP, __GFP_NOWARN } from "./gfp";
import { PG_head, PG_slab } from "./memmap";
import { __alloc_pages, __free_pages, get_order, type zone_attempt } from "./page_alloc";
import {
  KMALLOC_MAX_CACHE_SIZE,
  ZERO_OR_NULL_PTR,
  ZERO_SIZE_PTR,
  fls,
  is_lowmem_addr,
  kmalloc_cache_indices,
  kmalloc_cache_name,
  kmalloc_index,
  kmalloc_index_size,
  lowmem_page_address,
  virt_to_pfn,
} from "./slab_common";

const F = "mm/slub.c";
/** MAX_OBJS_PER_PAGE (mm/slub.c): objects are counted in 15 bits */
export const MAX_OBJS_PER_PAGE = 32767;
/** slub_max_order = PAGE_ALLOC_COSTLY_ORDER */
export const SLUB_MAX_ORDER = 3;
export const MIN_PARTIAL = 5;
export const MAX_PARTIAL = 10;
/** SLAB_RECLAIM_ACCOUNT: the cache's pages count as SReclaimable */
export const SLAB_RECLAIM_ACCOUNT = 0x00020000;
/** SLAB_HWCACHE_ALIGN: align objects on a cache line (64 bytes on x86) */
export const SLAB_HWCACHE_ALIGN = 0x00002000;
export const CACHE_LINE_SIZE = 64;

/** struct slab: one slab of a cache (2^order frames starting at pfn) */
export interface slab {
  id: number;
  cache: kmem_cache;
  pfn: number;
  order: number;
  node: number;
  objects: number;
  inuse: number;
  /** head of the freelist (object index), -1 when the slab is full */
  freelist: number;
  /** free pointer of each free object (next free index, -1 = end) */
  fp: Int32Array;
  /** 1 = allocated (what slub_debug's object tracking would know; used to catch double frees) */
  used: Uint8Array;
  /** serial of the allocation now holding each object (tells a stale handle from the object's new owner) */
  serial: Int32Array;
  /** which list holds it: the CPU slab (c->slab), a node's partial list, or full (off-list) */
  list: "cpu" | "partial" | "full";
}

/** per-node part of a cache (struct kmem_cache_node) */
export interface kmem_cache_node {
  partial: slab[];
  full: slab[];
  nr_slabs: number;
  total_objects: number;
}

/** struct kmem_cache (include/linux/slub_def.h), the parts SLUB's accounting and /proc/slabinfo read */
export interface kmem_cache {
  id: number;
  name: string;
  object_size: number;
  /** s->size: object plus alignment padding */
  size: number;
  align: number;
  flags: number;
  /** s->oo: order and objects per slab */
  order: number;
  objects: number;
  /** s->min: the fallback when an order-oo slab cannot be had */
  min_order: number;
  min_objects: number;
  min_partial: number;
  cpu_slab: slab | null;
  node: kmem_cache_node[];
  /** a kmalloc cache (index into kmalloc_caches) or -1 */
  kmalloc_index: number;
}

/** a kmalloc() above KMALLOC_MAX_CACHE_SIZE: a compound page of get_order(size) */
export interface large_kmalloc {
  id: number;
  serial: number;
  pfn: number;
  order: number;
  size: number;
}

/** The slab layer's state on the machine (the kernel's slab_caches list, kmalloc_caches[], the slabs). */
export class slab_state {
  /** slab_caches, in creation order (the kernel list_add()s at the head: /proc/slabinfo shows newest first) */
  caches: kmem_cache[] = [];
  kmalloc_caches: (kmem_cache | undefined)[] = [];
  slabs = new Map<number, slab>();
  large = new Map<number, large_kmalloc>();
  nextId = 1;
  /** allocation serial numbers (slab objects and large kmallocs) */
  nextSerial = 1;
  nr_cpus = 1;

  /** deep copy for snapshots (clone_machine hook) */
  clone_for(_ms: MachineState): slab_state {
    const c = new slab_state();
    c.nextId = this.nextId;
    c.nextSerial = this.nextSerial;
    c.nr_cpus = this.nr_cpus;
    const slabMap = new Map<slab, slab>();
    const cacheMap = new Map<kmem_cache, kmem_cache>();
    for (const s of this.caches) {
      const ns: kmem_cache = { ...s, cpu_slab: null, node: [] };
      cacheMap.set(s, ns);
      c.caches.push(ns);
    }
    for (const [id, sl] of this.slabs) {
      const n: slab = { ...sl, cache: cacheMap.get(sl.cache)!, fp: sl.fp.slice(), used: sl.used.slice(), serial: sl.serial.slice() };
      slabMap.set(sl, n);
      c.slabs.set(id, n);
    }
    for (const s of this.caches) {
      const ns = cacheMap.get(s)!;
      ns.cpu_slab = s.cpu_slab ? slabMap.get(s.cpu_slab)! : null;
      ns.node = s.node.map((n) => ({ nr_slabs: n.nr_slabs, total_objects: n.total_objects, partial: n.partial.map((x) => slabMap.get(x)!), full: n.full.map((x) => slabMap.get(x)!) }));
    }
    c.kmalloc_caches = this.kmalloc_caches.map((k) => (k ? cacheMap.get(k) : undefined));
    for (const [pfn, l] of this.large) c.large.set(pfn, { ...l });
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** the slab layer (created on first use by slab_init) */
    slab?: slab_state;
  }
}

// ---------------------------------------------------------------- cache geometry

/** order_objects(): objects of `size` bytes in a slab of 2^order pages */
function order_objects(ms: MachineState, order: number, size: number): number {
  return Math.floor((ms.arch.PAGE_SIZE * 2 ** order) / size);
}

/** calc_slab_order() (mm/slub.c): the smallest order in [min_order, max_order] leaving ≤ slab_size/fract bytes over */
export function calc_slab_order(ms: MachineState, size: number, min_order: number, max_order: number, fract_leftover: number): number {
  let order: number;
  for (order = min_order; order <= max_order; order++) {
    const slab_size = ms.arch.PAGE_SIZE * 2 ** order;
    const rem = slab_size % size;
    if (rem <= Math.floor(slab_size / fract_leftover)) break;
  }
  return order;
}

/** calculate_order() (mm/slub.c 6.12): min_objects = 4*(fls(nr_cpus)+1), fractions 16, 8, 4, 2; -1 = -ENOSYS */
export function calculate_order(ms: MachineState, size: number, nr_cpus = 1): number {
  let min_objects = 4 * (fls(nr_cpus) + 1);
  const max_objects = Math.max(order_objects(ms, SLUB_MAX_ORDER, size), 1);
  min_objects = Math.min(min_objects, max_objects);
  const min_order = Math.max(0, get_order(BigInt(min_objects * size), ms.arch.PAGE_SHIFT));
  if (order_objects(ms, min_order, size) > MAX_OBJS_PER_PAGE) return get_order(BigInt(size * MAX_OBJS_PER_PAGE), ms.arch.PAGE_SHIFT) - 1;
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calc_slab_order(ms, size, min_order, SLUB_MAX_ORDER, fraction);
    if (order <= SLUB_MAX_ORDER) return order;
  }
  const order = get_order(BigInt(size), ms.arch.PAGE_SHIFT);
  return order <= ms.MAX_PAGE_ORDER ? order : -1;
}

/** calculate_alignment() (mm/slab_common.c): HWCACHE_ALIGN halves the line while the object fits twice; ≥ ARCH_SLAB_MINALIGN (8), pointer aligned */
export function calculate_alignment(ms: MachineState, flags: number, align: number, size: number): number {
  if (flags & SLAB_HWCACHE_ALIGN) {
    let ralign = CACHE_LINE_SIZE;
    while (size <= ralign / 2) ralign /= 2;
    align = Math.max(align, ralign);
  }
  align = Math.max(align, 8);
  const ptr = ms.arch.bits / 8;
  return Math.ceil(align / ptr) * ptr;
}

const ALIGN = (x: number, a: number) => Math.ceil(x / a) * a;

/** set_min_partial(): min(MAX_PARTIAL, max(MIN_PARTIAL, ilog2(size)/2)) */
function set_min_partial(size: number): number {
  return Math.min(MAX_PARTIAL, Math.max(MIN_PARTIAL, Math.floor(Math.floor(Math.log2(size)) / 2)));
}

/** What creating a cache would give (calculate_sizes()), or why it cannot be created. */
export function kmem_cache_geometry(ms: MachineState, object_size: number, align: number, flags: number): { size: number; align: number; order: number; objects: number; min_order: number } | { error: string } {
  const a = calculate_alignment(ms, flags, align, object_size);
  const size = ALIGN(ALIGN(object_size, ms.arch.bits / 8), a);
  const order = calculate_order(ms, size, slab_of(ms).nr_cpus);
  if (order < 0) return { error: `object size ${size} needs a slab larger than MAX_PAGE_ORDER ${ms.MAX_PAGE_ORDER} (calculate_order() returns -ENOSYS)` };
  return { size, align: a, order, objects: order_objects(ms, order, size), min_order: get_order(BigInt(size), ms.arch.PAGE_SHIFT) };
}

/** __kmem_cache_create() + create_cache() (mm/slab_common.c, mm/slub.c): the caller has validated the arguments */
export function kmem_cache_create(ms: MachineState, name: string, object_size: number, align = 0, flags = 0, kmalloc_idx = -1): kmem_cache {
  const st = slab_of(ms);
  const g = kmem_cache_geometry(ms, object_size, align, flags);
  if ("error" in g) throw new Error(`kmem_cache_create(${name}): ${g.error}`);
  const s: kmem_cache = {
    id: st.nextId++,
    name,
    object_size,
    size: g.size,
    align: g.align,
    flags,
    order: g.order,
    objects: g.objects,
    min_order: g.min_order,
    min_objects: order_objects(ms, g.min_order, g.size),
    min_partial: set_min_partial(g.size),
    cpu_slab: null,
    node: ms.nodes.map(() => ({ partial: [], full: [], nr_slabs: 0, total_objects: 0 })),
    kmalloc_index: kmalloc_idx,
  };
  st.caches.push(s);
  if (ms.trace.on) ms.trace.emit("kmem_cache_create", "mm/slab_common.c", `${name}: object ${object_size} B, s->size ${s.size} B (align ${s.align}), order ${s.order} (${fmtBytes(ms.page_size * 2 ** s.order)} slab), ${s.objects} objects per slab`, { name, size: s.size, order: s.order, objects: s.objects });
  return s;
}

/** kmem_cache_init() + create_kmalloc_caches(): the slab layer and kmalloc-96, -192, -8 … -8k, made on first use */
export function slab_of(ms: MachineState): slab_state {
  if (ms.slab) return ms.slab;
  const st = new slab_state();
  st.nr_cpus = Math.max(1, ms.nr_cpus ?? 1);
  ms.slab = st;
  const was = ms.trace.on;
  ms.trace.on = false;
  for (const i of kmalloc_cache_indices(ms)) st.kmalloc_caches[i] = kmem_cache_create(ms, kmalloc_cache_name(i), kmalloc_index_size(i), 0, 0, i);
  ms.trace.on = was;
  return st;
}

/** kmem_cache_destroy() precondition: a cache with objects in use is kept ("Slab cache still has objects") */
export function kmem_cache_in_use(s: kmem_cache): number {
  let n = 0;
  if (s.cpu_slab) n += s.cpu_slab.inuse;
  for (const nd of s.node) for (const l of [nd.partial, nd.full]) for (const sl of l) n += sl.inuse;
  return n;
}

/** kmem_cache_destroy() → __kmem_cache_shutdown(): free every (empty) slab and drop the cache; the caller checked it is unused */
export function kmem_cache_destroy(ms: MachineState, s: kmem_cache): number {
  const st = slab_of(ms);
  let freed = 0;
  const all: slab[] = [];
  if (s.cpu_slab) all.push(s.cpu_slab);
  for (const nd of s.node) all.push(...nd.partial, ...nd.full);
  for (const sl of all) {
    discard_slab(ms, sl);
    freed++;
  }
  s.cpu_slab = null;
  for (const nd of s.node) {
    nd.partial = [];
    nd.full = [];
  }
  st.caches.splice(st.caches.indexOf(s), 1);
  if (ms.trace.on) ms.trace.emit("kmem_cache_destroy", "mm/slab_common.c", `${s.name}: ${freed} slab${freed === 1 ? "" : "s"} returned to the page allocator, cache removed from slab_caches`);
  return freed;
}

// ---------------------------------------------------------------- slabs

/** allocate_slab() → alloc_slab_page(): 2^s->order frames (falling back to s->min), PG_slab, freelist in address order */
function allocate_slab(ms: MachineState, s: kmem_cache, gfp: number, node: number): { slab?: slab; attempts: zone_attempt[]; order: number } {
  const st = slab_of(ms);
  let order = s.order;
  // the first try is opportunistic (__GFP_NOWARN | __GFP_NORETRY) when a smaller fallback exists
  let r = __alloc_pages(ms, gfp | __GFP_COMP | (s.min_order < s.order ? __GFP_NOWARN : 0), order, node);
  const attempts = [...r.attempts];
  if (r.pfn < 0 && s.min_order < s.order) {
    order = s.min_order;
    if (ms.trace.on) ms.trace.emit("allocate_slab", F, `${s.name}: no order-${s.order} block; fall back to s->min, order ${order}`);
    r = __alloc_pages(ms, gfp | __GFP_COMP, order, node);
    attempts.push(...r.attempts);
  }
  if (r.pfn < 0) return { attempts, order };
  const objects = order_objects(ms, order, s.size);
  const id = -st.nextId++;
  const sl: slab = { id, cache: s, pfn: r.pfn, order, node: r.zone!.node.node_id, objects, inuse: 0, freelist: 0, fp: new Int32Array(objects), used: new Uint8Array(objects), serial: new Int32Array(objects), list: "cpu" };
  for (let i = 0; i < objects; i++) sl.fp[i] = i + 1 < objects ? i + 1 : -1;
  const mm = ms.mem_map;
  for (let p = r.pfn; p < r.pfn + 2 ** order; p++) {
    mm.flags[p]! |= PG_slab;
    mm.priv[p] = id;
  }
  st.slabs.set(id, sl);
  const nd = s.node[sl.node]!;
  nd.nr_slabs++;
  nd.total_objects += objects;
  if (ms.trace.on) ms.trace.emit("allocate_slab", F, `${s.name}: new slab at PFN ${hex(r.pfn)} (order ${order}, ${fmtBytes(ms.page_size * 2 ** order)}): ${objects} objects of ${s.size} B, ${ms.page_size * 2 ** order - objects * s.size} B left over`, { pfn: r.pfn, order, objects });
  return { slab: sl, attempts, order };
}

/** discard_slab() → free_slab(): clear PG_slab and give the frames back to the buddy allocator */
function discard_slab(ms: MachineState, sl: slab): void {
  const st = slab_of(ms);
  const mm = ms.mem_map;
  for (let p = sl.pfn; p < sl.pfn + 2 ** sl.order; p++) {
    mm.flags[p]! &= ~PG_slab;
    mm.priv[p] = 0;
  }
  const nd = sl.cache.node[sl.node]!;
  nd.nr_slabs--;
  nd.total_objects -= sl.objects;
  st.slabs.delete(sl.id);
  if (ms.trace.on) ms.trace.emit("discard_slab", F, `${sl.cache.name}: empty slab at PFN ${hex(sl.pfn)} goes back to the page allocator`, { pfn: sl.pfn, order: sl.order });
  ms.trace.depth++;
  __free_pages(ms, sl.pfn, sl.order);
  ms.trace.depth--;
}

/** list_del() of a slab from a partial/full list (arrays stand in for list_head) */
function remove_from(list: slab[], sl: slab): void {
  const i = list.indexOf(sl);
  if (i >= 0) list.splice(i, 1);
}

/** deactivate_slab(): the CPU slab is given up; full → off-list (full), otherwise to the node's partial list */
function deactivate_slab(ms: MachineState, s: kmem_cache, sl: slab): void {
  const nd = s.node[sl.node]!;
  if (sl.inuse === sl.objects) {
    sl.list = "full";
    nd.full.push(sl);
  } else {
    sl.list = "partial";
    nd.partial.push(sl);
  }
  if (ms.trace.on) ms.trace.emit("deactivate_slab", F, `${s.name}: CPU slab at PFN ${hex(sl.pfn)} (${sl.inuse}/${sl.objects} in use) goes to the node's ${sl.list} list`);
}

export interface slab_alloc_result {
  ptr: bigint;
  slab?: slab;
  index: number;
  /** failure: the zones tried */
  attempts?: zone_attempt[];
}

/** slab_alloc_node() → ___slab_alloc(): CPU slab freelist, else a partial slab of the node, else a new slab */
export function slab_alloc(ms: MachineState, s: kmem_cache, gfp: number = GFP_KERNEL, node = 0): slab_alloc_result {
  let c = s.cpu_slab;
  const tr = ms.trace;
  if (!c || c.freelist < 0) {
    const nd = s.node[node] ?? s.node[0]!;
    const partial = nd.partial[0];
    if (partial) {
      if (tr.on) tr.emit("get_partial_node", F, `${s.name}: ${c ? "CPU slab is full" : "no CPU slab"}; take the partial slab at PFN ${hex(partial.pfn)} (${partial.inuse}/${partial.objects} in use) as the CPU slab`);
      nd.partial.shift();
      if (c) {
        s.cpu_slab = null;
        deactivate_slab(ms, s, c);
      }
      partial.list = "cpu";
      s.cpu_slab = partial;
      c = partial;
    } else {
      if (tr.on) tr.emit("___slab_alloc", F, `${s.name}: no free object in the CPU slab, no partial slab: allocate a new slab`);
      tr.depth++;
      const r = allocate_slab(ms, s, gfp, node);
      tr.depth--;
      if (!r.slab) return { ptr: 0n, index: -1, attempts: r.attempts };
      if (c) deactivate_slab(ms, s, c);
      s.cpu_slab = r.slab;
      c = r.slab;
    }
  }
  const idx = c.freelist;
  c.freelist = c.fp[idx]!;
  c.fp[idx] = -1;
  c.used[idx] = 1;
  c.serial[idx] = slab_of(ms).nextSerial++;
  c.inuse++;
  const ptr = lowmem_page_address(ms, c.pfn) + BigInt(idx * s.size);
  if (tr.on) tr.emit("slab_alloc_node", F, `${s.name}: object ${idx} of the slab at PFN ${hex(c.pfn)} → ${hex(ptr)} (${c.inuse}/${c.objects} in use)`, { ptr: hex(ptr), index: idx });
  return { ptr, slab: c, index: idx };
}

/** do_slab_free() / __slab_free(): push the object on its slab's freelist; full → partial; empty beyond min_partial → discard */
export function slab_free(ms: MachineState, sl: slab, idx: number): void {
  const s = sl.cache;
  const tr = ms.trace;
  const wasFull = sl.inuse === sl.objects;
  sl.fp[idx] = sl.freelist;
  sl.freelist = idx;
  sl.used[idx] = 0;
  sl.serial[idx] = 0;
  sl.inuse--;
  if (tr.on) tr.emit(sl.list === "cpu" ? "do_slab_free" : "__slab_free", F, `${s.name}: object ${idx} back on the freelist of the slab at PFN ${hex(sl.pfn)} (${sl.inuse}/${sl.objects} in use)`, { pfn: sl.pfn, index: idx });
  if (sl.list === "cpu") return;
  const nd = s.node[sl.node]!;
  // as __slab_free(): an empty slab goes when n->nr_partial (this slab included, if on the list) >= min_partial
  if (sl.inuse === 0 && nd.partial.length >= s.min_partial) {
    remove_from(sl.list === "partial" ? nd.partial : nd.full, sl);
    if (tr.on) tr.emit("__slab_free", F, `${s.name}: slab empty and node ${sl.node} has ${nd.partial.length + (wasFull ? 0 : 1)} ≥ min_partial ${s.min_partial} partial slabs: discard it`);
    tr.depth++;
    discard_slab(ms, sl);
    tr.depth--;
    return;
  }
  if (wasFull) {
    remove_from(nd.full, sl);
    sl.list = "partial";
    nd.partial.push(sl);
    if (tr.on) tr.emit("add_partial", F, `${s.name}: the slab was full: add it to the tail of node ${sl.node}'s partial list`);
  }
}

// ---------------------------------------------------------------- kmalloc / kfree / ksize

/** kmalloc_slab(): the kmalloc cache for 1 ≤ size ≤ KMALLOC_MAX_CACHE_SIZE */
export function kmalloc_slab(ms: MachineState, size: number): kmem_cache {
  return slab_of(ms).kmalloc_caches[kmalloc_index(size)]!;
}

export interface kmalloc_result {
  ptr: bigint;
  /** the kmalloc cache, or undefined for ZERO_SIZE_PTR and large kmalloc */
  cache?: kmem_cache;
  slab?: slab;
  index: number;
  /** large kmalloc: the compound page */
  large?: large_kmalloc;
  attempts?: zone_attempt[];
}

/** __do_kmalloc_node(): 0 → ZERO_SIZE_PTR; ≤ KMALLOC_MAX_CACHE_SIZE → kmalloc_slab(); else ___kmalloc_large_node(). The caller checked size ≤ KMALLOC_MAX_SIZE and the gfp. */
export function kmalloc(ms: MachineState, size: number, gfp: number = GFP_KERNEL, node = 0): kmalloc_result {
  const tr = ms.trace;
  if (size === 0) {
    if (tr.on) tr.emit("__do_kmalloc_node", F, "size 0: return ZERO_SIZE_PTR (0x10); dereferencing it faults, kfree() of it is a no-op");
    return { ptr: ZERO_SIZE_PTR, index: -1 };
  }
  if (size > KMALLOC_MAX_CACHE_SIZE(ms)) return kmalloc_large(ms, size, gfp, node);
  const s = kmalloc_slab(ms, size);
  if (tr.on) tr.emit("kmalloc_slab", "mm/slab_common.c", `size ${size} → ${size <= 192 ? `kmalloc_size_index[(${size}-1)/8 = ${(size - 1) >> 3}] = ${kmalloc_index(size)}` : `fls(${size}-1) = ${kmalloc_index(size)}`} → ${s.name}${s.size > size ? ` (${s.size - size} B lost to rounding)` : ""}`, { size, cache: s.name });
  tr.depth++;
  const r = slab_alloc(ms, s, gfp, node);
  tr.depth--;
  if (!r.slab) return { ptr: 0n, cache: s, index: -1, attempts: r.attempts };
  return { ptr: r.ptr, cache: s, slab: r.slab, index: r.index };
}

/** ___kmalloc_large_node(): get_order(size) pages with __GFP_COMP, accounted to NR_SLAB_UNRECLAIMABLE_B */
export function kmalloc_large(ms: MachineState, size: number, gfp: number, node = 0): kmalloc_result {
  const st = slab_of(ms);
  const order = get_order(BigInt(size), ms.arch.PAGE_SHIFT);
  if (ms.trace.on) ms.trace.emit("__kmalloc_large_node", F, `size ${size} > KMALLOC_MAX_CACHE_SIZE (${KMALLOC_MAX_CACHE_SIZE(ms)}): no cache; get_order(${size}) = ${order}: ${2 ** order} page${order ? "s" : ""} straight from the page allocator`, { size, order });
  ms.trace.depth++;
  const r = __alloc_pages(ms, gfp | __GFP_COMP, order, node);
  ms.trace.depth--;
  if (r.pfn < 0) return { ptr: 0n, index: -1, attempts: r.attempts };
  const id = -st.nextId++;
  ms.mem_map.priv[r.pfn] = id;
  const l: large_kmalloc = { id, serial: st.nextSerial++, pfn: r.pfn, order, size };
  st.large.set(r.pfn, l);
  return { ptr: lowmem_page_address(ms, r.pfn), index: -1, large: l };
}

/** What a pointer handed to kfree()/ksize() is (virt_to_folio() + folio_test_slab(), and the checks slub_debug adds). */
export type kobj =
  | { kind: "zero" }
  | { kind: "object"; slab: slab; index: number }
  | { kind: "large"; large: large_kmalloc }
  | { kind: "bad"; why: string; report: string };

/** classify a pointer for kfree(): never mutates */
export function kfree_check(ms: MachineState, ptr: bigint): kobj {
  if (ZERO_OR_NULL_PTR(ptr)) return { kind: "zero" };
  const st = slab_of(ms);
  const a = ms.arch;
  if (!is_lowmem_addr(ms, ptr)) {
    const why = ptr < a.PAGE_OFFSET ? `${hex(ptr)} is below PAGE_OFFSET (${hex(a.PAGE_OFFSET)}): a user-space address, never returned by kmalloc` : `${hex(ptr)} is not in the lowmem direct map (it ends at high_memory ${hex(a.PAGE_OFFSET + BigInt(ms.max_low_pfn) * BigInt(a.PAGE_SIZE))}); kmalloc pointers always are (a vmalloc address must go to vfree()/kvfree())`;
    return { kind: "bad", why, report: `kernel BUG at mm/slub.c: kfree(${hex(ptr)}): virt_to_folio() of a non-direct-map address\n${why}` };
  }
  const pfn = virt_to_pfn(ms, ptr);
  const mm = ms.mem_map;
  if (mm.flags[pfn]! & PG_slab) {
    const sl = st.slabs.get(mm.priv[pfn]!);
    if (!sl) return { kind: "bad", why: "slab page without a slab", report: "kernel BUG at mm/slub.c: slab page without a slab" };
    const s = sl.cache;
    const off = Number(ptr - lowmem_page_address(ms, sl.pfn));
    const idx = Math.floor(off / s.size);
    if (off % s.size !== 0 || idx >= sl.objects) {
      const why = `${hex(ptr)} points into the slab of ${s.name} at PFN ${hex(sl.pfn)} but not at the start of an object (objects are ${s.size} B apart${idx < sl.objects ? `; nearest object ${idx} starts at ${hex(lowmem_page_address(ms, sl.pfn) + BigInt(idx * s.size))}` : ", past the last object"})`;
      return { kind: "bad", why, report: `BUG ${s.name} (Not tainted): Invalid object pointer ${hex(ptr)}\n${why}` };
    }
    if (!sl.used[idx]) {
      const why = `object ${idx} of ${s.name} at ${hex(ptr)} is already free: double free`;
      return { kind: "bad", why, report: `BUG ${s.name} (Not tainted): Object already free\nINFO: Slab ${hex(sl.pfn)} objects=${sl.objects} used=${sl.inuse} fp=${sl.freelist < 0 ? "0x" + "0".repeat(a.bits / 4) : hex(lowmem_page_address(ms, sl.pfn) + BigInt(sl.freelist * s.size))}\n${why}` };
    }
    return { kind: "object", slab: sl, index: idx };
  }
  const l = st.large.get(pfn);
  if (l && ptr === lowmem_page_address(ms, pfn) && mm.flags[pfn]! & PG_head && mm.priv[pfn] === l.id) return { kind: "large", large: l };
  // a frame that is not a slab and not a large kmalloc: free_large_kmalloc() would WARN and corrupt the page
  let head = pfn;
  for (const [p, ll] of st.large) if (pfn > p && pfn < p + 2 ** ll.order) head = p;
  const why =
    head !== pfn
      ? `${hex(ptr)} is inside the large kmalloc at ${hex(lowmem_page_address(ms, head))} (order ${st.large.get(head)!.order}) but not its start`
      : `PFN ${hex(pfn)} is not a slab page and not a kmalloc'd compound page (${mm.flags[pfn]! & PG_head ? "allocated by someone else" : "not allocated by kmalloc"}): this pointer was never returned by kmalloc, or was freed already (double free)`;
  return { kind: "bad", why, report: `WARNING: CPU: 0 PID: 1 at mm/slub.c free_large_kmalloc\nInvalid free of ${hex(ptr)}: ${why}` };
}

/** kfree(): dispatch on what the pointer is (slab object → slab_free(); large → free_large_kmalloc()); the caller checked it with kfree_check() */
export function kfree(ms: MachineState, o: kobj): void {
  const tr = ms.trace;
  if (o.kind === "zero") {
    if (tr.on) tr.emit("kfree", F, "ZERO_OR_NULL_PTR: nothing to free");
    return;
  }
  if (o.kind === "object") {
    if (tr.on) tr.emit("kfree", F, `virt_to_folio(): PFN ${hex(o.slab.pfn)} is a slab page of ${o.slab.cache.name}: slab_free()`);
    tr.depth++;
    slab_free(ms, o.slab, o.index);
    tr.depth--;
    return;
  }
  if (o.kind === "large") {
    const l = o.large;
    if (tr.on) tr.emit("kfree", F, `virt_to_folio(): PFN ${hex(l.pfn)} is not a slab: free_large_kmalloc(), order ${l.order}`);
    slab_of(ms).large.delete(l.pfn);
    ms.mem_map.priv[l.pfn] = 0;
    tr.depth++;
    __free_pages(ms, l.pfn, l.order);
    tr.depth--;
    return;
  }
  throw new Error(`kfree of a bad pointer: ${o.why}`);
}

/** __ksize(): s->size for a slab object (no debug), PAGE_SIZE << order for a large kmalloc, 0 for ZERO_SIZE_PTR */
export function ksize(ms: MachineState, o: kobj): number {
  if (o.kind === "object") return o.slab.cache.size;
  if (o.kind === "large") return ms.page_size * 2 ** o.large.order;
  return 0;
}

/** kmem_cache_free(): like kfree() of a slab object, but the object must belong to `s` (cache_from_obj()) */
export function kmem_cache_free_check(ms: MachineState, s: kmem_cache, ptr: bigint): kobj {
  const o = kfree_check(ms, ptr);
  if (o.kind === "object" && o.slab.cache !== s)
    return { kind: "bad", why: `${hex(ptr)} belongs to ${o.slab.cache.name}, not ${s.name}`, report: `cache_from_obj: Wrong slab cache. ${s.name} but object is from ${o.slab.cache.name}` };
  if (o.kind === "large" || o.kind === "zero") return { kind: "bad", why: `${hex(ptr)} is not an object of ${s.name}`, report: `kernel BUG at mm/slub.c: kmem_cache_free(${s.name}, ${hex(ptr)}): not a slab object` };
  return o;
}

// ---------------------------------------------------------------- accounting

/** the numbers get_slabinfo() reports for one cache */
export function cache_counts(s: kmem_cache): { active_objs: number; num_objs: number; num_slabs: number; pages: number } {
  let num_objs = 0;
  let num_slabs = 0;
  let nr_free = 0;
  let pages = 0;
  for (const nd of s.node) {
    num_objs += nd.total_objects;
    num_slabs += nd.nr_slabs;
    // count_partial(n, count_free): only the partial lists' free objects; the CPU slab's count as active
    for (const sl of nd.partial) nr_free += sl.objects - sl.inuse;
  }
  const all = [...(s.cpu_slab ? [s.cpu_slab] : []), ...s.node.flatMap((n) => [...n.partial, ...n.full])];
  for (const sl of all) pages += 2 ** sl.order;
  return { active_objs: num_objs - nr_free, num_objs, num_slabs, pages };
}

/** NR_SLAB_RECLAIMABLE_B / NR_SLAB_UNRECLAIMABLE_B in pages (large kmalloc counts as unreclaimable) */
export function slab_pages(ms: MachineState): { reclaimable: number; unreclaimable: number } {
  const st = ms.slab;
  if (!st) return { reclaimable: 0, unreclaimable: 0 };
  let rec = 0;
  let unrec = 0;
  for (const sl of st.slabs.values()) {
    if (sl.cache.flags & SLAB_RECLAIM_ACCOUNT) rec += 2 ** sl.order;
    else unrec += 2 ** sl.order;
  }
  for (const l of st.large.values()) unrec += 2 ** l.order;
  return { reclaimable: rec, unreclaimable: unrec };
}

/** validate_slab_cache()-like: every slab's counters, freelist, list membership and frames agree */
export function validate_slab(ms: MachineState): string | undefined {
  const st = ms.slab;
  if (!st) return undefined;
  const mm = ms.mem_map;
  const seen = new Set<number>();
  for (const s of st.caches) {
    const lists: [slab[], string][] = [[s.cpu_slab ? [s.cpu_slab] : [], "cpu"]];
    for (const nd of s.node) lists.push([nd.partial, "partial"], [nd.full, "full"]);
    const perNode = s.node.map(() => ({ slabs: 0, objs: 0 }));
    for (const [l, name] of lists)
      for (const sl of l) {
        if (seen.has(sl.id)) return `${s.name}: slab at PFN ${hex(sl.pfn)} is on two lists`;
        seen.add(sl.id);
        if (sl.cache !== s) return `${s.name}: slab at PFN ${hex(sl.pfn)} belongs to ${sl.cache.name}`;
        if (sl.list !== name) return `${s.name}: slab at PFN ${hex(sl.pfn)} says it is on the ${sl.list} list but is on ${name}`;
        if (st.slabs.get(sl.id) !== sl) return `${s.name}: slab at PFN ${hex(sl.pfn)} is not registered`;
        let free = 0;
        for (let i = sl.freelist, n = 0; i !== -1; i = sl.fp[i]!, n++) {
          if (n > sl.objects || i < 0 || i >= sl.objects) return `${s.name}: freelist of the slab at PFN ${hex(sl.pfn)} is corrupt`;
          if (sl.used[i]) return `${s.name}: object ${i} of the slab at PFN ${hex(sl.pfn)} is on the freelist but in use`;
          free++;
        }
        let used = 0;
        for (let i = 0; i < sl.objects; i++) used += sl.used[i]!;
        if (used !== sl.inuse || free + used !== sl.objects) return `${s.name}: slab at PFN ${hex(sl.pfn)}: inuse ${sl.inuse}, ${used} objects marked used, ${free} on the freelist, ${sl.objects} objects`;
        if (name === "full" && sl.inuse !== sl.objects) return `${s.name}: slab at PFN ${hex(sl.pfn)} is on the full list with ${sl.objects - sl.inuse} free objects`;
        if (name === "partial" && sl.inuse === sl.objects) return `${s.name}: full slab at PFN ${hex(sl.pfn)} is on the partial list`;
        const f = mm.flags[sl.pfn]!;
        if (!(f & PG_head) || mm.order[sl.pfn] !== sl.order) return `${s.name}: slab at PFN ${hex(sl.pfn)} is not an allocated order-${sl.order} block (frame flags ${hex(f)}): a frame both in a slab and free`;
        for (let p = sl.pfn; p < sl.pfn + 2 ** sl.order; p++) if (!(mm.flags[p]! & PG_slab) || mm.priv[p] !== sl.id) return `${s.name}: frame ${hex(p)} of the slab at PFN ${hex(sl.pfn)} lacks PG_slab or its owner`;
        perNode[sl.node]!.slabs++;
        perNode[sl.node]!.objs += sl.objects;
      }
    for (const [i, nd] of s.node.entries()) if (nd.nr_slabs !== perNode[i]!.slabs || nd.total_objects !== perNode[i]!.objs) return `${s.name}: node ${i} counts ${nd.nr_slabs} slabs / ${nd.total_objects} objects, lists hold ${perNode[i]!.slabs} / ${perNode[i]!.objs}`;
  }
  if (seen.size !== st.slabs.size) return `${st.slabs.size - seen.size} slab(s) are registered but on no cache list (leaked)`;
  for (const l of st.large.values()) if (!(mm.flags[l.pfn]! & PG_head) || mm.order[l.pfn] !== l.order || mm.priv[l.pfn] !== l.id) return `large kmalloc at PFN ${hex(l.pfn)} is not an allocated order-${l.order} block`;
  return undefined;
}

