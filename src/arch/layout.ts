/**
 * The kernel's virtual address space, region by region, as arch/x86 lays it out (Linux 6.12):
 * 32-bit from arch/x86/include/asm/pgtable_32_areas.h / highmem.h / fixmap.h (through x86_32_areas()),
 * x86-64 from Documentation/arch/x86/x86_64/mm.rst and page_64_types.h / pgtable_64_types.h (no KASLR:
 * CONFIG_RANDOMIZE_MEMORY and CONFIG_RANDOMIZE_BASE off, so bases are the documented defaults and
 * KERNEL_IMAGE_SIZE is 512 MiB, putting modules at 0xffffffffa0000000).
 *
 * Only data: the engine (vmalloc, highmem) and the facade (m.layout, m.whereis) read it.
 */
import type { MachineState } from "../kernel/machine";
import { VMALLOC_OFFSET, x86_32_areas } from "./pgtable_32_areas";

export interface kernel_region {
  /** short kernel-ish name: "lowmem", "vmalloc", "pkmap", "fixmap", "modules", "direct map"… */
  name: string;
  start: bigint;
  /** exclusive */
  end: bigint;
  /** what a learner reads */
  desc: string;
  kind: "user" | "direct" | "image" | "vmalloc" | "modules" | "pkmap" | "fixmap" | "hole" | "other";
}

/** x86_32: PMD size (4 MiB without PAE, 2 MiB with) */
function pmd_size(ms: MachineState): bigint {
  return ms.arch.name === "x86_pae" ? 2n << 20n : 4n << 20n;
}

/** VMALLOC_START / VMALLOC_END (exclusive) for this machine; undefined on the toy (no kernel layout) */
export function vmalloc_range(ms: MachineState): { start: bigint; end: bigint } | undefined {
  const a = ms.arch;
  if (a.name === "x86_64") {
    const start = a.la57 ? 0xffa0000000000000n : 0xffffc90000000000n;
    return { start, end: start + ((a.la57 ? 12800n : 32n) << 40n) };
  }
  if (!a.pc) return undefined;
  const ar = x86_32_areas(a);
  const high_memory = a.PAGE_OFFSET + BigInt(ms.max_low_pfn) * BigInt(a.PAGE_SIZE);
  return { start: high_memory + VMALLOC_OFFSET, end: ar.VMALLOC_END };
}

/** MODULES_VADDR / MODULES_END: the vmalloc area on 32-bit; __START_KERNEL_map + KERNEL_IMAGE_SIZE .. 0xffffffffff000000 on x86-64 */
export function modules_range(ms: MachineState): { start: bigint; end: bigint } | undefined {
  if (ms.arch.name === "x86_64") return { start: 0xffffffffa0000000n, end: 0xffffffffff000000n };
  return vmalloc_range(ms);
}

/** FIX_KMAP_BEGIN on i386 (fixmap.h enum fixed_addresses: FIX_HOLE, FIX_APIC_BASE, FIX_IO_APIC_BASE_0 ..
 * +MAX_IO_APICS(64)-1, then FIX_KMAP_BEGIN) — config-dependent; this is the X86_LOCAL_APIC + X86_IO_APIC case. */
export const FIX_KMAP_BEGIN = 66;
/** KM_MAX_IDX (include/asm-generic/kmap_size.h, no DEBUG_KMAP_LOCAL): kmap_local slots per CPU */
export const KM_MAX_IDX = 16;
/** FIXADDR_TOP on i386 (__FIXADDR_TOP = 0xfffff000, no reservetop=) */
export const FIXADDR_TOP_32 = 0xfffff000n;

/** __fix_to_virt(FIX_KMAP_BEGIN + idx) on i386 (CPU 0): FIXADDR_TOP - (x << PAGE_SHIFT) */
export function kmap_local_vaddr(ms: MachineState, idx: number): bigint {
  return FIXADDR_TOP_32 - (BigInt(FIX_KMAP_BEGIN + idx) << BigInt(ms.arch.PAGE_SHIFT));
}

/**
 * The kernel segment (and the user part below it) region by region, ascending. `vmallocReserve` is the
 * vmalloc= boot option (bytes) and `classicMaxmem` the pre-4.x formula; both only change the MAXMEM note.
 */
export function kernel_layout(ms: MachineState, opts: { vmallocReserve?: bigint; classicMaxmem?: boolean } = {}): kernel_region[] {
  const a = ms.arch;
  const P = BigInt(a.PAGE_SIZE);
  const R = (name: string, start: bigint, end: bigint, kind: kernel_region["kind"], desc: string): kernel_region => ({ name, start, end, kind, desc });
  const high_memory = a.PAGE_OFFSET + BigInt(ms.max_low_pfn) * P;
  const img = ms.reserved.find((r) => r.name.startsWith("kernel image"));
  if (a.name === "x86_64") {
    const la57 = !!a.la57;
    const T = 1n << 40n;
    const out: kernel_region[] = [];
    if (la57) {
      out.push(R("user", 0n, 0x0100000000000000n, "user", "user space (per mm), 64 PB; TASK_SIZE_MAX = (1 << 56) - PAGE_SIZE, mmap stays below 47 bits without a hint"));
      out.push(R("non-canonical", 0x0100000000000000n, 0xff00000000000000n, "hole", "non-canonical addresses: any access faults (#GP)"));
      out.push(R("guard hole", 0xff00000000000000n, 0xff10000000000000n, "hole", "guard hole, reserved for a hypervisor"));
      out.push(R("LDT remap", 0xff10000000000000n, 0xff11000000000000n, "other", "LDT remap for PTI"));
      out.push(R("direct map", 0xff11000000000000n, 0xff91000000000000n, "direct", `direct mapping of all physical memory (page_offset_base), 32 PB; RAM ends at ${"0x" + high_memory.toString(16)}`));
      out.push(R("hole", 0xff91000000000000n, 0xffa0000000000000n, "hole", "unused hole"));
      out.push(R("vmalloc", 0xffa0000000000000n, 0xffa0000000000000n + 12800n * T, "vmalloc", "vmalloc/ioremap space (vmalloc_base), 12.5 PB"));
      out.push(R("hole", 0xffa0000000000000n + 12800n * T, 0xffd4000000000000n, "hole", "unused hole"));
      out.push(R("vmemmap", 0xffd4000000000000n, 0xffd6000000000000n, "other", "virtual memory map: the struct page array (vmemmap_base), 0.5 PB"));
      out.push(R("hole", 0xffd6000000000000n, 0xffdf000000000000n, "hole", "unused hole"));
      out.push(R("KASAN shadow", 0xffdf000000000000n, 0xfffffc0000000000n, "other", "KASAN shadow memory (only with CONFIG_KASAN)"));
    } else {
      out.push(R("user", 0n, 0x0000800000000000n, "user", "user space (per mm), 128 TB; TASK_SIZE_MAX = 0x00007ffffffff000"));
      out.push(R("non-canonical", 0x0000800000000000n, 0xffff800000000000n, "hole", "non-canonical addresses (bits 63..47 not all equal): any access faults (#GP)"));
      out.push(R("guard hole", 0xffff800000000000n, 0xffff880000000000n, "hole", "guard hole, reserved for a hypervisor, 8 TB"));
      out.push(R("LDT remap", 0xffff880000000000n, 0xffff888000000000n, "other", "LDT remap for PTI, 0.5 TB"));
      out.push(R("direct map", 0xffff888000000000n, 0xffffc88000000000n, "direct", `direct mapping of all physical memory (page_offset_base), 64 TB; RAM ends at ${"0x" + high_memory.toString(16)}`));
      out.push(R("hole", 0xffffc88000000000n, 0xffffc90000000000n, "hole", "unused hole, 0.5 TB"));
      out.push(R("vmalloc", 0xffffc90000000000n, 0xffffe90000000000n, "vmalloc", "vmalloc/ioremap space (vmalloc_base), 32 TB"));
      out.push(R("hole", 0xffffe90000000000n, 0xffffea0000000000n, "hole", "unused hole, 1 TB"));
      out.push(R("vmemmap", 0xffffea0000000000n, 0xffffeb0000000000n, "other", "virtual memory map: the struct page array (vmemmap_base), 1 TB"));
      out.push(R("hole", 0xffffeb0000000000n, 0xffffec0000000000n, "hole", "unused hole, 1 TB"));
      out.push(R("KASAN shadow", 0xffffec0000000000n, 0xfffffc0000000000n, "other", "KASAN shadow memory (only with CONFIG_KASAN), 16 TB"));
    }
    out.push(R("hole", 0xfffffc0000000000n, 0xfffffe0000000000n, "hole", "unused hole (vaddr_end for KASLR), 2 TB"));
    out.push(R("cpu_entry_area", 0xfffffe0000000000n, 0xfffffe8000000000n, "other", "cpu_entry_area mapping, 0.5 TB"));
    out.push(R("hole", 0xfffffe8000000000n, 0xffffff0000000000n, "hole", "unused hole"));
    out.push(R("%esp fixup", 0xffffff0000000000n, 0xffffff8000000000n, "other", "%esp fixup stacks, 0.5 TB"));
    out.push(R("hole", 0xffffff8000000000n, 0xffffffef00000000n, "hole", "unused hole"));
    out.push(R("EFI", 0xffffffef00000000n, 0xffffffff00000000n, "other", "EFI region mapping space, 64 GB"));
    out.push(R("hole", 0xffffffff00000000n, 0xffffffff80000000n, "hole", "unused hole, 2 GB"));
    const imgEnd = img ? 0xffffffff80000000n + BigInt(img.base + img.size) * P : 0xffffffff80000000n;
    out.push(R("kernel text", 0xffffffff80000000n, 0xffffffffa0000000n, "image", `kernel text mapping, mapped to physical address 0 (__START_KERNEL_map), 512 MB${img ? `; the image occupies ${"0x" + (0xffffffff80000000n + BigInt(img.base) * P).toString(16)}-${"0x" + imgEnd.toString(16)}` : ""}`));
    out.push(R("modules", 0xffffffffa0000000n, 0xffffffffff000000n, "modules", "module mapping space (MODULES_VADDR..MODULES_END), 1520 MB"));
    out.push(R("hole", 0xffffffffff000000n, 0xffffffffff580000n, "hole", "unused"));
    out.push(R("fixmap", 0xffffffffff580000n, 0xffffffffff600000n, "fixmap", "kernel-internal fixmap range: variable size and offset (FIXADDR_START ≈ -10.5 MB here, ~0.5 MB)"));
    out.push(R("vsyscall", 0xffffffffff600000n, 0xffffffffff601000n, "other", "legacy vsyscall ABI page"));
    out.push(R("hole", 0xffffffffff601000n, 0x10000000000000000n, "hole", "unused hole up to the top of the address space"));
    return out;
  }
  if (!a.pc) return [R("flat", 0n, BigInt(ms.max_pfn) * P, "direct", "the toy machine: virtual = physical, no kernel segment")];
  const ar = x86_32_areas(a, opts.vmallocReserve, opts.classicMaxmem);
  const vm = vmalloc_range(ms)!;
  const PMD = pmd_size(ms);
  const pkmapEnd = ar.PKMAP_BASE + BigInt(ar.LAST_PKMAP) * P;
  const maxmemEnd = a.PAGE_OFFSET + ar.MAXMEM;
  const out: kernel_region[] = [R("user", 0n, a.PAGE_OFFSET, "user", `user space 0..TASK_SIZE (= PAGE_OFFSET, ${a.split} split), per process`)];
  if (img) {
    const s = a.PAGE_OFFSET + BigInt(img.base) * P;
    const e = a.PAGE_OFFSET + BigInt(img.base + img.size) * P;
    if (s > a.PAGE_OFFSET) out.push(R("lowmem", a.PAGE_OFFSET, s, "direct", "lowmem direct map: virtual = physical + PAGE_OFFSET (the first 1 MiB: BIOS, real mode)"));
    out.push(R("kernel image", s, e, "image", "the kernel image (_text.._end), part of the direct map"));
    out.push(R("lowmem", e, high_memory, "direct", `lowmem direct map up to high_memory (max_low_pfn ${"0x" + ms.max_low_pfn.toString(16)}); limit MAXMEM = ${"0x" + maxmemEnd.toString(16)}${ms.max_low_pfn < ms.max_pfn ? ": RAM above it is HighMem" : ": all RAM fits"}`));
  } else out.push(R("lowmem", a.PAGE_OFFSET, high_memory, "direct", "lowmem direct map up to high_memory"));
  out.push(R("vmalloc gap", high_memory, vm.start, "hole", "VMALLOC_OFFSET: an 8 MiB hole that catches stray accesses past the direct map"));
  out.push(R("vmalloc", vm.start, vm.end, "vmalloc", "vmalloc area VMALLOC_START..VMALLOC_END (modules too: MODULES_VADDR = VMALLOC_START)"));
  out.push(R("hole", vm.end, ar.PKMAP_BASE, "hole", "2 guard pages (VMALLOC_END = PKMAP_BASE - 2*PAGE_SIZE)"));
  out.push(R("pkmap", ar.PKMAP_BASE, pkmapEnd, "pkmap", `persistent kmap area: LAST_PKMAP = ${ar.LAST_PKMAP} slots for kmap() of HighMem pages`));
  if (pkmapEnd < ar.LDT_BASE_ADDR) out.push(R("hole", pkmapEnd, ar.LDT_BASE_ADDR, "hole", "unused (PMD alignment)"));
  out.push(R("LDT", ar.LDT_BASE_ADDR, ar.LDT_BASE_ADDR + PMD, "other", "LDT remap for PTI (LDT_BASE_ADDR)"));
  if (ar.LDT_BASE_ADDR + PMD < ar.CPU_ENTRY_AREA_BASE) out.push(R("hole", ar.LDT_BASE_ADDR + PMD, ar.CPU_ENTRY_AREA_BASE, "hole", "unused (PMD alignment)"));
  out.push(R("cpu_entry_area", ar.CPU_ENTRY_AREA_BASE, 0xffc00000n, "other", "cpu_entry_area (GDT, TSS, entry stacks per CPU)"));
  out.push(R("fixmap", 0xffc00000n, FIXADDR_TOP_32, "fixmap", `fixmap: compile-time fixed addresses, counted down from FIXADDR_TOP; kmap_local_page() slots at FIX_KMAP_BEGIN (${KM_MAX_IDX} per CPU). FIXADDR_START depends on the config: shown from the end of cpu_entry_area`));
  out.push(R("top page", FIXADDR_TOP_32, 1n << 32n, "hole", "the last page is never mapped"));
  return out.filter((r) => r.end > r.start);
}
