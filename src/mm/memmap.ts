/**
 * mem_map: one `struct page` per physical frame, as a struct of typed arrays indexed by PFN
 * (include/linux/mm_types.h, struct page). A 64 GiB machine has 16 M frames, so no object per page:
 * 25 bytes per frame in all (see `BYTES_PER_FRAME`).
 *
 * Differences from the kernel, on purpose:
 * - `mapcount` holds the number of mappings directly (the kernel stores `_mapcount` = mapcount - 1,
 *   starting at -1; `page_mapcount()` adds the 1 back). Renderers print the kernel's view.
 * - An allocated high-order block marks its tail frames PG_tail (the kernel does this only for
 *   compound pages, __GFP_COMP) so that a free of the wrong PFN is caught, as crash's `kmem -p` would show.
 */

/** page flags (a subset of include/linux/page-flags.h, plus page_type "buddy"/"table"/"slab") */
export const PG_reserved = 1 << 0;
/** page_type PGTY_buddy: head of a free block in the buddy allocator (PageBuddy) */
export const PG_buddy = 1 << 1;
/** head of an allocated block (PageHead for compound pages) */
export const PG_head = 1 << 2;
/** a tail frame of an allocated block */
export const PG_tail = 1 << 3;
/** page_type PGTY_slab: a slab page (PageSlab) */
export const PG_slab = 1 << 4;
/** page_type PGTY_table: a page-table page (PageTable) */
export const PG_table = 1 << 5;
/** anonymous user page (PageAnon: mapping & PAGE_MAPPING_ANON) */
export const PG_anon = 1 << 6;
/** on an LRU list (PageLRU) */
export const PG_lru = 1 << 7;
export const PG_active = 1 << 8;
export const PG_unevictable = 1 << 9;
export const PG_mlocked = 1 << 10;
export const PG_dirty = 1 << 11;
export const PG_swapbacked = 1 << 12;
/** backs a vmalloc area (page_type / VM_ALLOC owner) */
export const PG_vmalloc = 1 << 13;
/** the shared zero page */
export const PG_zero = 1 << 14;
/** kernel image, mem_map and other memblock reservations made at boot */
export const PG_kernel = 1 << 15;

export const PAGE_FLAG_NAMES: [number, string][] = [
  [PG_reserved, "reserved"],
  [PG_buddy, "buddy"],
  [PG_head, "head"],
  [PG_tail, "tail"],
  [PG_slab, "slab"],
  [PG_table, "table"],
  [PG_anon, "anon"],
  [PG_lru, "lru"],
  [PG_active, "active"],
  [PG_unevictable, "unevictable"],
  [PG_mlocked, "mlocked"],
  [PG_dirty, "dirty"],
  [PG_swapbacked, "swapbacked"],
  [PG_vmalloc, "vmalloc"],
  [PG_zero, "zero"],
  [PG_kernel, "kernel"],
];

export function flag_names(f: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of PAGE_FLAG_NAMES) if (f & bit) out.push(name);
  return out;
}

export const BYTES_PER_FRAME = 2 + 4 + 4 + 1 + 1 + 4 + 4 + 4 + 1;

// The fields are `declare`d and set only in the constructor: a class field compiled as `x;` first holds
// undefined, after which V8 re-checks its type on every read — in every file that reads mem_map.
export class mem_map {
  declare readonly nr: number;
  /** page->flags (our PG_* bits) */
  declare readonly flags: Uint16Array;
  /** page->_refcount */
  declare readonly refcount: Int32Array;
  /** number of page-table mappings (kernel: _mapcount + 1) */
  declare readonly mapcount: Int32Array;
  /** buddy order (page_private of a PageBuddy head) or the order of an allocated block's head */
  declare readonly order: Uint8Array;
  /** 1 + node*8 + zone index (0 = a hole): the zone bits of page->flags (page_zonenum, page_to_nid) */
  declare readonly zoneid: Uint8Array;
  /** page->buddy_list / page->lru links: next and prev PFN, -1 for none */
  declare readonly next: Int32Array;
  declare readonly prev: Int32Array;
  /** page->private / owner detail: swap entry, slab cache id, vmalloc area id… (0 = none) */
  declare readonly priv: Int32Array;
  /** page->index-like small tag used by later subsystems (migratetype at allocation, etc.) */
  declare readonly tag: Uint8Array;

  constructor(nr: number) {
    this.nr = nr;
    this.flags = new Uint16Array(nr);
    this.refcount = new Int32Array(nr);
    this.mapcount = new Int32Array(nr);
    this.order = new Uint8Array(nr);
    this.zoneid = new Uint8Array(nr);
    this.next = new Int32Array(nr);
    this.prev = new Int32Array(nr);
    this.priv = new Int32Array(nr);
    this.tag = new Uint8Array(nr);
  }

  /** A deep copy (snapshots). */
  clone(): mem_map {
    const c = new mem_map(this.nr);
    c.flags.set(this.flags);
    c.refcount.set(this.refcount);
    c.mapcount.set(this.mapcount);
    c.order.set(this.order);
    c.zoneid.set(this.zoneid);
    c.next.set(this.next);
    c.prev.set(this.prev);
    c.priv.set(this.priv);
    c.tag.set(this.tag);
    return c;
  }

  /** byte-for-byte equality, for tests of "a failed call changes nothing" */
  equals(o: mem_map): boolean {
    if (o.nr !== this.nr) return false;
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    };
    return (
      same(this.flags, o.flags) &&
      same(this.refcount, o.refcount) &&
      same(this.mapcount, o.mapcount) &&
      same(this.order, o.order) &&
      same(this.zoneid, o.zoneid) &&
      same(this.next, o.next) &&
      same(this.prev, o.prev) &&
      same(this.priv, o.priv) &&
      same(this.tag, o.tag)
    );
  }
}
