/** Edge geometries and running out of memory. */
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";
import { MmError } from "../../src/errors";

describe("toy geometries", () => {
  for (const levels of [1, 2, 5]) {
    test(`${levels}-level toy: spawn, write, translate, exit`, () => {
      const m = boot({ arch: "toy", ram: "1MiB", pageSize: 4096, levels, vaBits: levels === 1 ? 20 : 32 } as never);
      const free0 = m.freePagesCount;
      const p = m.spawn("t");
      const a = p.mmap("16KiB");
      a.write("toy", 0x2000);
      const t = p.translate(a.addr + 0x2000n);
      expect(t.steps.length).toBe(levels);
      expect(p.read(a.addr + 0x2000n, 3).text).toBe("toy");
      m.check();
      p.exit();
      m.check();
      // the zero page stays reserved once the VM has used it
      expect(free0 - m.freePagesCount).toBeLessThanOrEqual(2);
    });
  }
});

describe("out of memory in a fault", () => {
  test("ENOMEM leaves a consistent machine and a live process", () => {
    const m = boot({ arch: "toy", ram: "128KiB", trace: false } as never);
    const p = m.spawn("t");
    const a = p.mmap("128KiB") // all of RAM: allowed (vm.overcommit_memory 0 refuses only more than RAM + swap), but it cannot all be resident;
    let err: unknown;
    try {
      a.touch();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MmError);
    expect((err as MmError).code).toBe("ENOMEM");
    expect(m.freePagesCount).toBe(0);
    expect(p.alive).toBe(true);
    m.check();
    a.munmap();
    m.check();
    p.exit();
    m.check();
  });
});

describe("free_pgtables", () => {
  test("unmapping an isolated mapping frees the tables only it used; a neighbour keeps a shared table", () => {
    const m = boot({ arch: "x86_64", ram: "256MiB" });
    const p = m.spawn("sh");
    const pt0 = p.pageTables;
    const free0 = m.freePagesCount;
    const far = p.mmap("4KiB", "rw", "private|fixed", 0x100000000000n);
    far.write("x");
    expect(p.pageTables - pt0).toBe(3); // pud, pmd, pte
    far.munmap();
    expect(p.pageTables).toBe(pt0);
    expect(m.freePagesCount).toBe(free0);
    const a = p.mmap("4KiB", "rw", "private|fixed", 0x200000000000n);
    const b = p.mmap("4KiB", "rw", "private|fixed", 0x200000002000n);
    a.write("a");
    b.write("b");
    a.munmap();
    expect(p.pageTables - pt0).toBe(3); // b still needs all three
    b.munmap();
    expect(p.pageTables).toBe(pt0);
    m.check();
  });
});

describe("toy geometries whose tables outgrow a page", () => {
  test("512-byte pages: the swapper pgd is a 32-frame block; m.check() counts every frame of it", () => {
    const m = boot({ arch: "toy", ram: "1MiB", pageSize: 512 } as never);
    const p = m.spawn("t");
    const a = p.mmap("4KiB");
    p.write(a.addr, "x");
    m.check();
    p.exit();
    m.check();
  });
});
