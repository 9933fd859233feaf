/**
 * What the facade remembers about requests so that internal fragmentation can be accounted
 * (m.fragmentation(), src/api/frag.ts): the bytes asked for behind each live allocation.
 *
 * The kernel itself keeps the equivalent only in debug builds: SLUB with slub_debug=U stores each
 * kmalloc object's requested size (`orig_size`, mm/slub.c set_orig_size()) and prints the rounding
 * as "waste=<total>/<per object>" in /sys/kernel/debug/slab/<cache>/alloc_traces (slab_debugfs_show(),
 * waste = s->object_size - orig_size). alloc_pages() callers pass an order, so the page allocator never
 * knows a byte count; only the facade's size form (`m.allocPages("132KiB")`, rounded up by get_order())
 * does, and that is what this ledger records.
 *
 * It lives on the machine state (so m.snapshot() branches it, through the clone_for hook of
 * src/kernel/snapshot.ts) and is only ever read with a liveness check: an entry whose block or object
 * has since been freed (or freed by PFN / raw pointer) is ignored and pruned.
 */
import type { MachineState } from "../kernel/machine";

/** requested sizes of one slab's objects, with the allocation serial each was recorded for */
export interface slab_requests {
  /** bytes asked for (a kmalloc cache object is at most KMALLOC_MAX_CACHE_SIZE = 8 KiB) */
  req: Uint16Array;
  /** slab->serial[i] at the time (0: never recorded); an entry counts only while it still matches */
  ser: Int32Array;
}

export class frag_ledger {
  /** alloc_pages blocks requested by size: head PFN → the PageBlock id (mem_map.priv) and the bytes asked for */
  readonly pages = new Map<number, { id: number; requested: number }>();
  /** kmalloc objects, per slab id: no map operation per kmalloc or kfree beyond one lookup (hot path) */
  readonly kmalloc = new Map<number, slab_requests>();

  /** snapshot hook (src/kernel/snapshot.ts): slab ids and serials are cloned with the slab state */
  clone_for(_ms: MachineState): frag_ledger {
    const c = new frag_ledger();
    for (const [k, v] of this.pages) c.pages.set(k, { ...v });
    for (const [k, v] of this.kmalloc) c.kmalloc.set(k, { req: v.req.slice(), ser: v.ser.slice() });
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** requested sizes behind live allocations, see src/api/ledger.ts */
    frag_ledger?: frag_ledger;
  }
}

export function ledger_of(ms: MachineState): frag_ledger {
  return (ms.frag_ledger ??= new frag_ledger());
}

/** m.allocPages(size) handed out block `id` at `pfn` for `requested` bytes */
export function note_pages(ms: MachineState, pfn: number, id: number, requested: bigint): void {
  ledger_of(ms).pages.set(pfn, { id, requested: Number(requested) });
}

/** the block at `pfn` went back to the buddy allocator */
export function forget_pages(ms: MachineState, pfn: number): void {
  ms.frag_ledger?.pages.delete(pfn);
}

/** m.kmalloc(requested) returned object `index` of slab `sl` (allocation serial `serial`). A kfree needs
 * no bookkeeping: the entry stops counting once the object's serial changes or its slab is gone. */
export function note_kmalloc(ms: MachineState, sl: { id: number; objects: number }, index: number, serial: number, requested: number): void {
  const led = ms.frag_ledger ?? ledger_of(ms);
  let e = led.kmalloc.get(sl.id);
  if (e === undefined) {
    e = { req: new Uint16Array(sl.objects), ser: new Int32Array(sl.objects) };
    // slabs come and go: drop the entries of discarded slabs before the map outgrows the live ones
    const live = ms.slab?.slabs;
    if (live && led.kmalloc.size >= 64 && led.kmalloc.size > 2 * live.size) for (const id of led.kmalloc.keys()) if (!live.has(id)) led.kmalloc.delete(id);
    led.kmalloc.set(sl.id, e);
  }
  e.req[index] = requested;
  e.ser[index] = serial;
}
