/** kmap/kunmap on LAST_PKMAP slots with pkmap_count semantics (mm/highmem.c), kmap_local_page, page_address. */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";

describe("kmap", () => {
  it("lowmem frames need no slot; HighMem frames have no address until kmapped", () => {
    const m = boot({ ram: "2GiB" });
    expect(m.pageAddress(0x100)).toBe(0xc0100000n);
    expect(m.kmap(0x100).kind).toBe("lowmem");
    const hp = m.ms.max_low_pfn;
    expect(() => m.pageAddress(hp)).toThrow(/HighMem.*no|NULL/);
    const k = m.kmap(hp);
    // map_new_virtual() starts scanning after last_pkmap_nr = 0: the first slot handed out is 1
    expect(k.slot).toBe(1);
    expect(k.vaddr).toBe(0xff001000n);
    expect(m.pageAddress(hp)).toBe(0xff001000n);
    const again = m.kmap(hp);
    expect(again.slot).toBe(1);
    expect(m.ms.kmap!.pkmap_count[1]).toBe(3);
    m.kunmap(again);
    m.kunmap(k);
    // count 1: free, but still mapped until the next wrap flushes it
    expect(m.ms.kmap!.pkmap_count[1]).toBe(1);
    expect(m.pageAddress(hp)).toBe(0xff001000n);
    expect(() => m.kunmap(k)).toThrow(/already/);
    expect(() => m.kunmap(hp)).toThrow(/not kmapped/);
    m.check();
  });
  it("all 1024 slots busy → kmap would sleep (EBUSY, nothing changes); a kunmap and a wrap-around flush free one", () => {
    const m = boot({ ram: "2GiB", trace: false });
    const base = m.ms.max_low_pfn;
    const maps = Array.from({ length: 1024 }, (_, i) => m.kmap(base + i));
    expect(new Set(maps.map((x) => x.slot)).size).toBe(1024);
    expect(maps[1023]!.slot).toBe(0); // slot 0 comes last, after the wrap
    expect(() => m.kmap(base + 2000)).toThrow(/EBUSY.*sleep/);
    m.kunmap(maps[10]!);
    const k = m.kmap(base + 2000);
    expect(k.slot).toBe(maps[10]!.slot);
    expect(m.ms.kmap!.flushes).toBeGreaterThanOrEqual(1);
    m.check();
  });
  it("PAE has 512 slots; x86-64 has no HighMem", () => {
    const p = boot({ arch: "x86_pae", ram: "2GiB" });
    expect(p.pkmap().items[1]!.value).toBe("512");
    expect(p.kmap(p.ms.max_low_pfn).vaddr).toBe(0xff401000n);
    const m = boot({ arch: "x86_64", ram: "4GiB" });
    expect(m.kmap(0x100).vaddr).toBe(0xffff888000100000n);
    expect(() => m.pkmap()).toThrow(/32-bit/);
  });
});

describe("kmap_local_page", () => {
  it("a per-CPU stack of fixmap slots, undone in reverse order", () => {
    const m = boot({ ram: "2GiB" });
    const hp = m.ms.max_low_pfn + 1;
    const a = m.kmapLocal(hp);
    const b = m.kmapLocal(hp + 1);
    expect(a.slot).toBe(0);
    expect(b.slot).toBe(1);
    expect(a.vaddr - b.vaddr).toBe(4096n); // fixmap slots count down from FIXADDR_TOP
    expect(m.whereis(b.vaddr).pfn).toBe(hp + 1);
    expect(() => m.kunmapLocal(a)).toThrow(/reverse order/);
    m.kunmapLocal(b);
    m.free(a);
    expect(m.kmapLocal(0x100).kind).toBe("lowmem");
    const many = Array.from({ length: 16 }, (_, i) => m.kmapLocal(hp + i));
    expect(() => m.kmapLocal(hp + 20)).toThrow(/KM_MAX_IDX/);
    for (const x of many.reverse()) x.free();
    m.check();
  });
});
