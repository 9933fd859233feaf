/**
 * /proc/PID/maps and smaps, byte for byte: the layouts of a fresh process, [heap], shared anonymous
 * memory, VMA splits and merges, and the column arithmetic checked against this machine's own
 * /proc/self/maps (every line re-printed by our show_map_vma must be identical).
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";
import { mm_struct, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, type vm_area_struct } from "../../src/mm/mmap";
import { show_map_vma } from "../../src/proc/task_mmu";

describe("layout of a new process", () => {
  test("32-bit x86, 3G/1G, ASLR off", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    expect(m.cat(`/proc/${p.pid}/maps`).text).toBe(
      [
        "08048000-0804a000 r-xp 00000000 08:01 1218205    /usr/bin/sh",
        "0804a000-0804b000 rw-p 00001000 08:01 1218205    /usr/bin/sh",
        "0804b000-0804c000 rw-p 00000000 00:00 0 ",
        "b7ffb000-b7fff000 r--p 00000000 00:00 0          [vvar]",
        "b7fff000-b8000000 r-xp 00000000 00:00 0          [vdso]",
        "bffdf000-c0000000 rw-p 00000000 00:00 0          [stack]",
        "",
      ].join("\n"),
    );
  });
  test("32-bit x86, 2G/2G: user space ends at 0x80000000", () => {
    const m = boot({ arch: "x86", ram: "256MiB", split: "2G/2G" });
    const p = m.spawn("sh");
    expect(p.maps.lines.at(-1)).toBe("7ffdf000-80000000 rw-p 00000000 00:00 0          [stack]");
    expect(p.maps.lines.at(-2)).toBe("77fff000-78000000 r-xp 00000000 00:00 0          [vdso]");
  });
  test("x86-64, ASLR off: PIE at 0x555555554000, stack under 0x7ffffffff000, [vsyscall] last", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const p = m.spawn("cat");
    expect(p.maps.text).toBe(
      [
        "555555554000-555555555000 r--p 00000000 08:01 469402                     /usr/bin/cat",
        "555555555000-555555556000 r-xp 00001000 08:01 469402                     /usr/bin/cat",
        "555555556000-555555557000 r--p 00002000 08:01 469402                     /usr/bin/cat",
        "555555557000-555555558000 rw-p 00003000 08:01 469402                     /usr/bin/cat",
        "555555558000-555555559000 rw-p 00000000 00:00 0 ",
        "7ffff7ff9000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar]",
        "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]",
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]",
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
        "",
      ].join("\n"),
    );
  });
  test("brk grows the bss VMA into [heap]; mmap goes top-down under the vDSO", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const p = m.spawn("cat");
    const brk0 = p.brk().value!;
    expect(p.brk(brk0 + 0x21000n).value).toBe(brk0 + 0x21000n);
    const a = p.mmap("64KiB");
    const s = p.mmap("8KiB", "rw", "shared");
    const lines = p.maps.lines;
    expect(lines).toContain("555555558000-55555557a000 rw-p 00000000 00:00 0                          [heap]");
    expect(a.addr).toBe(0x7ffff7fe9000n);
    expect(lines).toContain("7ffff7fe9000-7ffff7ff9000 rw-p 00000000 00:00 0 ");
    expect(s.addr).toBe(0x7ffff7fe7000n);
    expect(lines.find((l) => l.startsWith("7ffff7fe7000"))).toMatch(/^7ffff7fe7000-7ffff7fe9000 rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)$/);
    expect(lines.find((l) => l.startsWith("7ffff7fe7000"))!.indexOf("/dev/zero")).toBe(73);
  });
  test("mprotect splits a VMA in three and merges it back", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    const a = p.mmap("12KiB");
    p.touch(a.addr, a.len);
    const before = p.maps.text;
    p.mprotect(a.addr + 0x1000n, "4KiB", "r");
    const mid = p.maps.lines.filter((l) => l.startsWith(a.addr.toString(16)) || l.startsWith((a.addr + 0x1000n).toString(16)) || l.startsWith((a.addr + 0x2000n).toString(16)));
    expect(mid).toEqual([`${a.addr.toString(16)}-${(a.addr + 0x1000n).toString(16)} rw-p 00000000 00:00 0 `, `${(a.addr + 0x1000n).toString(16)}-${(a.addr + 0x2000n).toString(16)} r--p 00000000 00:00 0 `, `${(a.addr + 0x2000n).toString(16)}-${(a.addr + 0x3000n).toString(16)} rw-p 00000000 00:00 0 `]);
    expect(p.translate(a.addr + 0x1000n, { access: "write" }).fault?.reason).toMatch(/read-only/);
    p.mprotect(a.addr + 0x1000n, "4KiB", "rw");
    expect(p.maps.text).toBe(before);
    // private anonymous pages mapped once become writable again at once (can_change_pte_writable)
    expect(p.translate(a.addr + 0x1000n, { access: "write" }).fault).toBeUndefined();
    m.check();
  });
});

describe("smaps", () => {
  test("fields, widths and accounting of a touched anonymous mapping", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const p = m.spawn("cat");
    const a = p.mmap("64KiB");
    p.touch(a.addr, "16KiB", "write");
    p.touch(a.addr + 0x8000n, "8KiB", "read"); // zero page: not in Rss
    const text = p.smaps.text;
    const block = text.split(/\n(?=[0-9a-f]+-)/).find((b) => b.startsWith("7ffff7fe9000"))!;
    expect(block).toBe(
      [
        "7ffff7fe9000-7ffff7ff9000 rw-p 00000000 00:00 0 ",
        "Size:                 64 kB",
        "KernelPageSize:        4 kB",
        "MMUPageSize:           4 kB",
        "Rss:                  16 kB",
        "Pss:                  16 kB",
        "Pss_Dirty:            16 kB",
        "Shared_Clean:          0 kB",
        "Shared_Dirty:          0 kB",
        "Private_Clean:         0 kB",
        "Private_Dirty:        16 kB",
        "Referenced:           16 kB",
        "Anonymous:            16 kB",
        "KSM:                   0 kB",
        "LazyFree:              0 kB",
        "AnonHugePages:         0 kB",
        "ShmemPmdMapped:        0 kB",
        "FilePmdMapped:         0 kB",
        "Shared_Hugetlb:        0 kB",
        "Private_Hugetlb:       0 kB",
        "Swap:                  0 kB",
        "SwapPss:               0 kB",
        "Locked:                0 kB",
        "THPeligible:           0",
        "VmFlags: rd wr mr mw me ac ",
      ].join("\n"),
    );
    expect(text).toMatch(/\[stack\]\n(?:.*\n){23}VmFlags: rd wr mr mw me gd ac \n/);
    expect(text.endsWith("VmFlags: ex \n")).toBe(true);
  });
});

describe("column arithmetic = this machine's /proc/self/maps", () => {
  test("every line of /proc/self/maps, re-printed by show_map_vma, is identical", () => {
    let real: string;
    try {
      real = readFileSync("/proc/self/maps", "utf8");
    } catch {
      return; // not Linux
    }
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const re = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) (?: *(.*))?$/;
    let n = 0;
    for (const line of real.replace(/\n$/, "").split("\n")) {
      const mt = re.exec(line);
      expect(mt, line).not.toBeNull();
      const [, s, e, perms, off, dev, ino, name] = mt!;
      const mm = new mm_struct(1);
      const v: vm_area_struct = {
        vm_start: BigInt("0x" + s),
        vm_end: BigInt("0x" + e),
        vm_flags: (perms![0] === "r" ? VM_READ : 0) | (perms![1] === "w" ? VM_WRITE : 0) | (perms![2] === "x" ? VM_EXEC : 0) | (perms![3] === "s" ? VM_MAYSHARE : 0),
        vm_pgoff: Number(BigInt("0x" + off) / 4096n),
      };
      if (dev !== "00:00" || ino !== "0") v.vm_file = { ino: Number(ino), dev: dev!, path: name ?? "", kind: "file", pages: new Map(), nr_vmas: 1 };
      else if (name === "[heap]") {
        mm.start_brk = v.vm_start;
        mm.brk = v.vm_end;
      } else if (name === "[stack]") mm.start_stack = v.vm_end - 16n;
      else if (name) v.special = name;
      expect(show_map_vma(m.ms, mm, v)).toBe(line + "\n");
      n++;
    }
    expect(n).toBeGreaterThan(5);
  });
  test("the 32-bit example of Documentation/filesystems/proc.rst", () => {
    const m = boot({ arch: "x86", ram: "64MiB" });
    const v: vm_area_struct = { vm_start: 0x08048000n, vm_end: 0x08049000n, vm_flags: VM_READ | VM_EXEC, vm_pgoff: 0, vm_file: { ino: 8312, dev: "03:00", path: "/opt/test", kind: "file", pages: new Map(), nr_vmas: 1 } };
    expect(show_map_vma(m.ms, new mm_struct(1), v)).toBe("08048000-08049000 r-xp 00000000 03:00 8312       /opt/test\n");
  });
});

describe("/proc/PID/statm", () => {
  test("size resident shared text lib data dt, in pages", () => {
    const m = boot({ arch: "x86", ram: "256MiB" });
    const p = m.spawn("sh");
    // VMAs: text 2, data 1, bss 1, vvar 4, vdso 1, stack 33 pages; the stack's top page is resident
    expect(m.cat(`/proc/${p.pid}/statm`).text).toBe("42 1 0 2 0 35 0\n");
    p.mmap("1MiB").touch();
    p.read(0x08048000n, 4); // a text page from the page cache: resident and shared
    expect(m.cat(`/proc/${p.pid}/statm`).text).toBe("298 258 1 2 0 291 0\n");
  });
});

describe("THP-aligned placement of large anonymous mappings (6.12 __get_unmapped_area)", () => {
  test("a multiple of 2 MiB is placed 2 MiB-aligned on x86-64 and PAE, not on 2-level x86", () => {
    for (const [arch, aligned] of [["x86_64", true], ["x86_pae", true], ["x86", false]] as const) {
      const m = boot({ arch, ram: "256MiB" });
      const p = m.spawn("sh");
      p.mmap("4KiB");
      const big = p.mmap("4MiB");
      expect(big.addr % (2n << 20n) === 0n).toBe(aligned);
      const odd = p.mmap("3MiB");
      if (arch !== "x86") expect(odd.addr % (2n << 20n)).not.toBe(0n);
      m.check();
    }
  });
});
