/**
 * Loadable modules' memory (kernel/module/main.c, mm/execmem.c, Linux 6.12): a module's image goes into
 * a vmalloc area inside [MODULES_VADDR, MODULES_END) — the vmalloc area itself on 32-bit x86, the
 * 1520 MB module space above the kernel text on x86-64 — and is listed by lsmod (kmod's lsmod.c).
 *
 * Simplifications: one area per module (6.12 allocates one per module_memory type: text, data,
 * rodata, ro_after_init, init_*), no symbols, no dependencies (Used by is always 0), no randomized
 * module_load_offset.
 */
import type { MachineState } from "./machine";
import { modules_range } from "../arch/layout";
import { __vmalloc_node_range, vfree_area, type vmalloc_result, type vmap_area } from "../mm/vmalloc";

export interface module {
  name: string;
  size: number;
  /** the vmap area's id (looked up in ms.vmalloc, so snapshots clone independently) */
  area_id: number;
  refcnt: number;
}

export class module_state {
  /** the modules list (load_module() list_add_rcu()s at the head: lsmod shows newest first) */
  modules: module[] = [];
  clone_for(_ms: MachineState): module_state {
    const c = new module_state();
    c.modules = this.modules.map((m) => ({ ...m }));
    return c;
  }
}

declare module "./machine" {
  interface MachineState {
    modules?: module_state;
  }
}

/** the `modules` list (kernel/module/main.c), created on first use */
export function modules_of(ms: MachineState): module_state {
  return (ms.modules ??= new module_state());
}

/** load_module() → module_memory_alloc() → execmem_alloc(EXECMEM_MODULE_TEXT): __vmalloc_node_range() in the modules range. The caller checked the name is new. */
export function load_module(ms: MachineState, name: string, size: bigint): vmalloc_result & { mod?: module } {
  const range = modules_range(ms);
  if (!range) return { error: "this machine has no modules area" };
  if (ms.trace.on) ms.trace.emit("load_module", "kernel/module/main.c", `${name}: ${size} bytes of module image into the modules area ${range.start.toString(16)}-${range.end.toString(16)}`);
  const r = __vmalloc_node_range(ms, size, range, `module:${name}`);
  if (!r.area) return r;
  const mod: module = { name, size: Number(size), area_id: r.area.id, refcnt: 0 };
  modules_of(ms).modules.unshift(mod);
  ms.printk(`${name}: module loaded at 0x${r.area.va_start.toString(16)}`);
  return { ...r, mod };
}

/** the module's vmap area */
export function module_area(ms: MachineState, mod: module): vmap_area {
  return ms.vmalloc!.areas.find((a) => a.id === mod.area_id)!;
}

/** delete_module() → free_module() → module_memory_free() → execmem_free() → vfree() */
export function free_module(ms: MachineState, mod: module): void {
  const area = module_area(ms, mod);
  if (ms.trace.on) ms.trace.emit("free_module", "kernel/module/main.c", `${mod.name}: free its memory (vfree of ${area.pages.length} pages)`);
  vfree_area(ms, area);
  const st = modules_of(ms);
  st.modules.splice(st.modules.indexOf(mod), 1);
}

/** lsmod's output (kmod tools/lsmod.c): "Module                  Size  Used by", then "%-19s %8lu  %d" per module, newest first */
export function lsmod(ms: MachineState): string {
  let s = "Module                  Size  Used by\n";
  for (const m of modules_of(ms).modules) s += `${m.name.padEnd(19)} ${String(m.size).padStart(8)}  ${m.refcnt}\n`;
  return s;
}
