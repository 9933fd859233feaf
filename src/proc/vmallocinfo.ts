/**
 * /proc/vmallocinfo (mm/vmalloc.c vmalloc_info_show(), Linux 6.12), as root with kptr_restrict=1 so %pK
 * prints the raw address: "0x%pK-0x%pK %7ld" (start, end, size including the guard page), then
 * " %pS" caller when known, " pages=%d", the type words (" ioremap", " vmalloc", " vmap", " user"), and
 * with CONFIG_NUMA (x86-64, or several nodes) " N<node>=<pages>" per node. No lazily freed
 * "unpurged vm_area" lines: mmlab frees vmap areas at once.
 */
import type { MachineState } from "../kernel/machine";
import { VM_ALLOC, VM_IOREMAP, VM_MAP, VM_USERMAP, vmalloc_of } from "../mm/vmalloc";

/** vmalloc_info_show() for each busy area, in address order */
export function vmallocinfo(ms: MachineState): string {
  const st = vmalloc_of(ms);
  const w = ms.arch.bits / 4;
  const numa = ms.arch.name === "x86_64" || ms.nodes.length > 1;
  let s = "";
  for (const a of st.areas) {
    s += `0x${a.va_start.toString(16).padStart(w, "0")}-0x${a.va_end.toString(16).padStart(w, "0")} ${String(a.va_end - a.va_start).padStart(7)}`;
    if (a.caller) s += ` ${a.caller}`;
    if (a.pages.length) s += ` pages=${a.pages.length}`;
    if (a.flags & VM_IOREMAP) s += " ioremap";
    if (a.flags & VM_ALLOC) s += " vmalloc";
    if (a.flags & VM_MAP) s += " vmap";
    if (a.flags & VM_USERMAP) s += " user";
    if (a.pages_array?.kind === "vmalloc") s += " vpages";
    if (numa) {
      const per = new Array(ms.nodes.length).fill(0) as number[];
      for (const p of a.pages) per[ms.page_zone(p).node.node_id]!++;
      for (const [n, c] of per.entries()) if (c) s += ` N${n}=${c}`;
    }
    s += "\n";
  }
  return s;
}

