/**
 * The MMU's translation against an independent brute-force walk of the raw frames (bytes read with
 * DataView, indices computed with bigint shifts), for random mappings on every paging format.
 */
import { describe, expect, test } from "vitest";
import { boot, type Machine } from "../../src/api/machine";
import "../../src/api/process";
import type { Process } from "../../src/api/process";

type Expect = { fault: true; level: number } | { fault: false; pa: bigint; permFault: string | undefined };

function brute(m: Machine, pgd: number, va: bigint, access: "read" | "write" | "exec", user: boolean): Expect {
  const a = m.ms.arch;
  const esz = a.pte_size;
  const P = a.PAGE_SIZE;
  const pae = a.name === "x86_pae";
  const hasNx = esz === 8 && a.name !== "toy";
  const addrMask = esz === 8 ? ((1n << BigInt(a.pa_bits)) - 1n) & ~0xfffn : 0xfffff000n;
  let table = pgd;
  let us = true;
  let rw = true;
  let nx = false;
  for (let i = 0; i < a.levels.length; i++) {
    const l = a.levels[i]!;
    const idx = Number((va >> BigInt(l.shift)) & ((1n << BigInt(l.bits)) - 1n));
    const off = idx * esz;
    const frame = table + Math.floor(off / P);
    const o = off % P;
    const buf = m.ms.pages?.frames.get(frame)?.u8;
    let entry = 0n;
    if (buf) {
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      entry = esz === 8 ? dv.getBigUint64(o, true) : BigInt(dv.getUint32(o, true));
    }
    if (!(entry & 1n)) return { fault: true, level: i };
    if (!(pae && i === 0)) {
      us &&= (entry & 4n) !== 0n;
      rw &&= (entry & 2n) !== 0n;
      if (hasNx) nx ||= (entry >> 63n) === 1n;
    }
    const next = (entry & addrMask) >> 12n;
    const leaf = i === a.levels.length - 1 || (l.huge && (entry & 0x80n) !== 0n && !(pae && i === 0));
    if (leaf) {
      const shift = i === a.levels.length - 1 ? a.PAGE_SHIFT : l.shift;
      const pa = next * BigInt(P) + (va & ((1n << BigInt(shift)) - 1n));
      const permFault = user && !us ? "us" : access === "write" && !rw ? "rw" : access === "exec" && nx ? "nx" : undefined;
      return { fault: false, pa, permFault };
    }
    table = Number(next);
  }
  throw new Error("unreachable");
}

/** a small deterministic PRNG for the test's own choices */
function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

const configs = [
  { arch: "x86", ram: "256MiB" },
  { arch: "x86", ram: "256MiB", split: "2G/2G" },
  { arch: "x86_pae", ram: "256MiB" },
  { arch: "x86_pae", ram: "6GiB" },
  { arch: "x86_64", ram: "6GiB" },
  { arch: "x86_64", ram: "256MiB" },
  { arch: "x86_64", ram: "256MiB", la57: true },
  { arch: "toy", ram: "1MiB" },
  { arch: "toy", ram: "256KiB", pageSize: 256, levels: 3, vaBits: 20 },
  { arch: "toy", ram: "1MiB", pageSize: 1024, levels: 4, vaBits: 32 },
] as const;

describe("MMU translate = brute-force walk of the raw frames", () => {
  for (const cfg of configs) {
    test(JSON.stringify(cfg), () => {
      const m = boot({ ...(cfg as object), trace: false } as never);
      const r = rng(7);
      const procs: Process[] = [m.spawn("a"), m.spawn("b")];
      const P = BigInt(m.pageSize);
      const maps: { p: Process; addr: bigint; len: bigint }[] = [];
      for (let i = 0; i < 12; i++) {
        const p = procs[i % 2]!;
        const pages = BigInt(1 + r(40));
        const prot = ["rw", "r", "rwx", "r-x", "none"][r(5)]!;
        const mp = p.mmap(pages * P, "rw", r(4) === 0 ? "shared" : "private");
        for (let k = 0; k < 6; k++) p.touch(mp.addr + BigInt(r(Number(pages))) * P, 1, r(2) ? "write" : "read");
        if (prot !== "rw") p.mprotect(mp.addr, mp.len, prot);
        maps.push({ p, addr: mp.addr, len: mp.len });
      }
      m.check();
      let compared = 0;
      const kernelStart = m.arch.name === "toy" ? undefined : m.arch.PAGE_OFFSET;
      for (let i = 0; i < 400; i++) {
        const mp = maps[r(maps.length)]!;
        let va: bigint;
        const pick = r(10);
        if (pick < 7) va = mp.addr + BigInt(r(Number(mp.len)));
        else if (pick < 9 || kernelStart === undefined) va = mp.addr - P * BigInt(1 + r(64));
        else va = kernelStart + BigInt(r(1 << 20)) * P + BigInt(r(Number(P)));
        if (va < 0n || va >= (m.arch.bits === 64 ? 1n << 64n : m.arch.name === "toy" ? 1n << BigInt(m.arch.va_bits) : 1n << 32n)) continue;
        const access = (["read", "write", "exec"] as const)[r(3)]!;
        const mode = r(4) === 0 ? "kernel" : "user";
        const want = brute(m, mp.p.task().mm!.pgd, va, access, mode === "user");
        const got = mp.p.translate(va, { access, mode });
        if (want.fault) {
          expect(got.fault?.kind, `${va.toString(16)}`).toBe("not-present");
          expect(got.fault?.level).toBe(m.arch.levels[want.level]!.name);
        } else if (want.permFault) {
          expect(got.fault?.kind, `${va.toString(16)} ${access} ${mode}`).toBe("protection");
        } else {
          expect(got.fault, `${va.toString(16)} ${access} ${mode}`).toBeUndefined();
          expect(got.pa).toBe(want.pa);
          compared++;
        }
        // a second translation (TLB hit or walk) gives the same answer
        const again = mp.p.translate(va, { access, mode });
        expect(again.pa).toBe(got.pa);
      }
      expect(compared).toBeGreaterThan(20);
      m.check();
    });
  }
});

describe("64-bit addresses never pass through a JS number", () => {
  test("0xffffffffff600000 ([vsyscall]) is walked with exact indices, 4-level", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB" });
    const p = m.spawn("sh");
    const t = p.translate(0xffffffffff600000n, { access: "exec" });
    expect(t.va).toBe(0xffffffffff600000n);
    expect(t.steps.map((s) => [s.level, s.index])).toEqual([["pgd", 511], ["pud", 511], ["pmd", 507], ["pte", 0]]);
    // vsyscall=xonly: the page is not mapped; executing it faults (the kernel emulates the call)
    expect(t.fault?.kind).toBe("not-present");
    expect(t.fault?.level).toBe("pte");
    expect(p.maps.lines.at(-1)).toBe("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
  });
  test("5-level: the same address walks pgd 511, p4d 511, pud 511, pmd 507, pte 0", () => {
    const m = boot({ arch: "x86_64", ram: "512MiB", la57: true });
    const t = m.translate(0xffffffffff600000n);
    expect(t.steps.map((s) => [s.level, s.index])).toEqual([["pgd", 511], ["p4d", 511], ["pud", 511], ["pmd", 507], ["pte", 0]]);
  });
  test("the direct map: PAGE_OFFSET + x translates to x (1 GiB and 2 MiB pages)", () => {
    const m = boot({ arch: "x86_64", ram: "1536MiB" });
    for (const off of [0n, 0x1000n, 0x12345678n, (1n << 30n) + 0x1234n, 0x5ffff000n]) {
      const t = m.translate(0xffff888000000000n + off);
      expect(t.pa).toBe(off);
    }
    expect(m.translate(0xffff888000000000n + (1n << 30n)).pageSize).toBe(2 << 20);
    expect(m.translate(0xffff888000000000n).pageSize).toBe(1 << 30);
    // non-canonical
    expect(m.translate(0x0000900000000000n).fault?.kind).toBe("non-canonical");
  });
  test("32-bit: lowmem direct map in 4 MiB pages; user mode may not touch it", () => {
    const m = boot({ arch: "x86", ram: "512MiB" });
    const t = m.translate(0xc0400000n + 0x123n);
    expect(t.pa).toBe(0x400123n);
    expect(t.pageSize).toBe(4 << 20);
    const p = m.spawn("sh");
    const u = p.translate(0xc0000000n);
    expect(u.fault?.kind).toBe("protection");
    expect(u.fault?.reason).toMatch(/supervisor/);
    expect(() => p.read(0xc0000000n, 4)).toThrow(/SIGSEGV/);
    expect(p.alive).toBe(false);
  });
});
