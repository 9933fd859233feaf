/**
 * vmalloc areas, pkmap slots and kmap_local slots are PTEs in swapper_pg_dir (mm/pgtable.ts
 * map_kernel_page): the MMU finds them from the kernel's page table and from every process's, the
 * guard page faults, and vfree/kunmap take the PTEs away.
 */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";
import "../../src/api/process";

describe("kernel mappings", () => {
  for (const cfg of [{ ram: "2GiB" }, { arch: "x86_pae" as const, ram: "2GiB" }, { arch: "x86_64" as const, ram: "1GiB" }]) {
    it(`${"arch" in cfg ? cfg.arch : "x86"}: a vmalloc page translates to its frame in every process; the guard page faults`, () => {
      const m = boot(cfg);
      const sh = m.spawn("sh");
      const v = m.vmalloc(3 * 4096);
      expect(m.translate(v.addr + 4096n + 5n).pfn).toBe(v.pfns[1]);
      expect(sh.translate(v.addr + 8192n, { mode: "kernel" }).pfn).toBe(v.pfns[2]);
      expect(m.translate(v.end).fault).toBeDefined();
      const late = m.spawn("late"); // forked after the kernel entry exists: it has it too
      expect(late.translate(v.addr, { mode: "kernel" }).pfn).toBe(v.pfns[0]);
      v.free();
      expect(m.translate(v.addr).fault).toBeDefined();
      m.check();
    });
  }
  it("x86: a pkmap slot is a PTE while kmapped, until the flush after kunmap; kmap_local too", () => {
    const m = boot({ ram: "2GiB" });
    const hp = m.ms.max_low_pfn + 42;
    const k = m.kmap(hp);
    expect(m.translate(k.vaddr).pfn).toBe(hp);
    k.free();
    expect(m.translate(k.vaddr).pfn).toBe(hp); // count 1: still mapped (lazy flush)
    const l = m.kmapLocal(hp + 1);
    expect(m.translate(l.vaddr).pfn).toBe(hp + 1);
    l.free();
    expect(m.translate(l.vaddr).fault).toBeDefined();
    m.check();
  });
});

describe("m.whereis for user addresses", () => {
  it("looks the address up in the VMAs of the process given", () => {
    const m = boot({ ram: "1GiB" });
    const sh = m.spawn("sh");
    const map = sh.mmap("64KiB");
    const w = m.whereis(map.addr + 100n, { pid: sh.pid });
    expect(w.region).toBe("user");
    expect(w.what).toMatch(/VMA .* rw-p \(anonymous\)/);
    expect(m.whereis(0x1000, { pid: sh.pid }).what).toMatch(/no VMA/);
    expect(m.whereis(map.addr).what).toMatch(/pass \{ pid \}/);
    expect(() => m.whereis(0x1000, { pid: 999 })).toThrow(/ESRCH/);
  });
});
