/** /proc/slabinfo (2.1), /proc/vmallocinfo, /proc/modules, lsmod and the meminfo counters, byte for byte. */
import { describe, expect, it } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/kmem";

const HEADER =
  "slabinfo - version: 2.1\n" +
  "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n";

describe("/proc/slabinfo", () => {
  it("header lines exactly as mm/slab_common.c prints them, newest cache first", () => {
    const m = boot({ ram: "512MiB" });
    const t = m.cat("/proc/slabinfo").text;
    expect(t.startsWith(HEADER)).toBe(true);
    const names = t.split("\n").slice(2, -1).map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(["kmalloc-8k", "kmalloc-4k", "kmalloc-2k", "kmalloc-1k", "kmalloc-512", "kmalloc-256", "kmalloc-128", "kmalloc-64", "kmalloc-32", "kmalloc-16", "kmalloc-8", "kmalloc-192", "kmalloc-96"]);
  });
  it("lines in \"%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\"", () => {
    const m = boot({ ram: "512MiB", trace: false });
    const objs = Array.from({ length: 40 }, () => m.kmalloc(200));
    const c = m.kmemCacheCreate("my_cache", 700);
    c.alloc();
    const lines = m.cat("/proc/slabinfo").lines;
    expect(lines[2]).toBe("my_cache              23     23    704   23    4 : tunables    0    0    0 : slabdata      1      1      0");
    // kmalloc-256: 40 objects in 3 slabs of 16; the CPU slab's free objects count as active
    expect(lines.find((l) => l.startsWith("kmalloc-256"))).toBe("kmalloc-256           48     48    256   16    1 : tunables    0    0    0 : slabdata      3      3      0");
    objs[0]!.free(); // a full slab gets a free object: it moves to the partial list and its free object is no longer "active"
    expect(lines.length).toBe(16);
    expect(m.cat("/proc/slabinfo").lines.find((l) => l.startsWith("kmalloc-256"))).toBe("kmalloc-256           47     48    256   16    1 : tunables    0    0    0 : slabdata      3      3      0");
  });
});

describe("/proc/vmallocinfo", () => {
  it("32-bit: \"0x%pK-0x%pK %7ld\" with the guard page in the size, pages=, vmalloc; lowest-address first fit", () => {
    const m = boot({ ram: "512MiB" });
    const a = m.vmalloc(1);
    const b = m.vmalloc(5000);
    const c = m.vmalloc("64KiB");
    expect(m.cat("/proc/vmallocinfo").text).toBe(
      "0xe0800000-0xe0802000    8192 pages=1 vmalloc\n" + "0xe0802000-0xe0805000   12288 pages=2 vmalloc\n" + "0xe0805000-0xe0816000   69632 pages=16 vmalloc\n",
    );
    b.free();
    const d = m.vmalloc(4096);
    expect(d.addr).toBe(0xe0802000n); // the lowest hole that fits
    const mod = m.insmod("snd_demo", 10000);
    expect(mod.addr).toBe(0xe0816000n); // 32-bit: modules are vmalloc areas
    expect(m.cat("/proc/vmallocinfo").text).toBe(
      "0xe0800000-0xe0802000    8192 pages=1 vmalloc\n" + "0xe0802000-0xe0804000    8192 pages=1 vmalloc\n" + "0xe0805000-0xe0816000   69632 pages=16 vmalloc\n" + "0xe0816000-0xe081a000   16384 pages=3 vmalloc\n",
    );
    expect(m.cat("/proc/meminfo").text).toMatch(/VmallocUsed:\s+84 kB/);
    void a;
    void c;
    m.check();
  });
  it("x86-64: 16 hex digits and the NUMA counts N<node>=", () => {
    const m = boot({ arch: "x86_64", ram: "4GiB", nodes: 2 });
    m.vmalloc(3 * 4096);
    m.insmod("xfs_demo", 5000);
    expect(m.cat("/proc/vmallocinfo").text).toMatch(/^0xffffc90000000000-0xffffc90000004000   16384 pages=3 vmalloc N\d=\d( N\d=\d)?\n0xffffffffa0000000-0xffffffffa0003000   12288 pages=2 vmalloc N\d=\d( N\d=\d)?\n$/);
  });
});

describe("the pages[] array of a vmalloc area (__vmalloc_area_node)", () => {
  it("is kmalloc'd up to PAGE_SIZE, vmalloc'd beyond it (\" vpages\"), and freed with the area", () => {
    const m = boot({ ram: "512MiB" });
    const small = m.vmalloc(3 * 4096);
    expect(m.cat("/proc/slabinfo").lines.find((l) => l.startsWith("kmalloc-16 "))).toMatch(/^kmalloc-16\s+256\s+256/);
    small.free();
    const big = m.vmalloc(1025 * 4096); // 1025 pointers of 4 bytes = 4100 B > PAGE_SIZE
    expect(m.cat("/proc/vmallocinfo").text).toBe("0xe0800000-0xe0c02000 4202496 pages=1025 vmalloc vpages\n" + "0xe0c02000-0xe0c05000   12288 pages=2 vmalloc\n");
    expect(() => m.vfree(0xe0c02000n)).toThrow(/pages\[\] array/);
    expect(m.whereis(0xe0c02000n).what).toMatch(/pages\[\] array of the vmalloc area at 0xe0800000/);
    m.check();
    big.free();
    expect(m.cat("/proc/vmallocinfo").text).toBe("");
    m.check();
  });
});

describe("modules", () => {
  it("lsmod and /proc/modules, newest first; rmmod frees the area", () => {
    const m = boot({ arch: "x86_64", ram: "4GiB" });
    m.insmod("ext4", 1_000_000);
    m.insmod("nf_tables", 300_000);
    expect(m.lsmod().text).toBe("Module                  Size  Used by\nnf_tables             300000  0\next4                 1000000  0\n");
    expect(m.cat("/proc/modules").text).toBe("nf_tables 300000 0 - Live 0xffffffffa00f6000\next4 1000000 0 - Live 0xffffffffa0000000\n");
    m.rmmod("ext4");
    expect(m.lsmod().lines).toEqual(["Module                  Size  Used by", "nf_tables             300000  0"]);
    expect(() => m.rmmod("ext4")).toThrow(/not currently loaded/);
    expect(() => m.insmod("nf_tables", 10)).toThrow(/File exists/);
    m.check();
  });
});

describe("meminfo counts kernel memory", () => {
  it("Slab = SReclaimable + SUnreclaim, large kmalloc in SUnreclaim, VmallocUsed in pages", () => {
    const m = boot({ ram: "512MiB" });
    m.kmalloc(100);
    m.kmalloc("128KiB");
    m.vmalloc("1MiB"); // its pages[] array (256 pointers = 1 KiB) is kmalloc'd: a kmalloc-1k slab of 16 KiB
    const t = m.cat("/proc/meminfo").text;
    expect(t).toMatch(/\nSlab:\s+148 kB\n/);
    expect(t).toMatch(/\nSUnreclaim:\s+148 kB\n/);
    expect(t).toMatch(/\nVmallocUsed:\s+1024 kB\n/);
  });
});
