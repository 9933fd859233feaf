/** Shared by the swap tests: the engine state behind a Machine, a PTE by address, a pressed machine. */
import { boot, type Machine, type Process } from "../../src/index";
import type { MachineState } from "../../src/kernel/machine";
import { entry_read, pt_format_of, pt_lookup } from "../../src/mm/pgtable";

export const MiB = 1 << 20;
export const ms = (m: Machine) => (m as unknown as { ms: MachineState }).ms;

/** the PTE that maps va in p's page tables (the tables must exist) */
export function pte(m: Machine, p: Process, va: bigint) {
  const s = ms(m);
  const slot = pt_lookup(s, p.task().mm!.pgd, va)!;
  return entry_read(s, pt_format_of(s.arch), slot.table, slot.idx, { lo: 0, hi: 0 });
}

/** a 128 MiB machine with 64 MiB of swap (MemTotal ~90 MiB on x86-64: a 34 MiB kernel image), one
 * process that wrote a marker into the first pages and every 64th of n pages, and touched the rest */
export function pressured(n: number, opts: { swap?: string; arch?: "x86_64" | "x86" | "x86_pae" } = {}) {
  const m = boot({ arch: opts.arch ?? "x86_64", ram: "128MiB", swap: opts.swap ?? "64MiB", trace: false });
  const p = m.spawn();
  const map = p.mmap(n * 4096);
  for (let i = 0; i < n; i++) {
    if (i < 4 || i % 64 === 0) p.write(map.addr + BigInt(i * 4096 + 8), `page ${i}`);
    else if (i % 64 === 4) p.touch(map.addr + BigInt(i * 4096), Math.min(60, n - i) * 4096);
  }
  return { m, p, base: map.addr };
}
