/**
 * /proc/swaps as mm/swapfile.c swap_show() prints it (Linux 6.12): the header
 * "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority" always (SEQ_START_TOKEN), then one line per
 * swap area in use: seq_file_path() of the file (space, tab, newline and backslash escaped as \ooo),
 * padded with "%*s" to 40 columns (at least one space), "file\t" or "partition", then
 * "\t%lu\t%s%lu\t%s%d" — Size and Used in kB, each followed by a second tab when it is below 10000000,
 * and the priority.
 */
import type { MachineState } from "../kernel/machine";
import type { swap_info_struct } from "../mm/swapfile";

/** seq_file_path(m, file, " \t\n\\"): mangle_path() writes those characters as a backslash and 3 octal digits */
function mangle_path(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
}

/** swap_show() for one area */
export function swap_show(ms: MachineState, si: swap_info_struct): string {
  const k = ms.page_size / 1024;
  const bytes = si.pages * k;
  const inuse = si.inuse_pages * k;
  const name = mangle_path(si.filename);
  const len = name.length;
  const pad = " ".repeat(len < 40 ? 40 - len : 1);
  return `${name}${pad}${si.kind === "partition" ? "partition" : "file\t"}\t${bytes}\t${bytes < 10000000 ? "\t" : ""}${inuse}\t${inuse < 10000000 ? "\t" : ""}${si.prio}\n`;
}

/** /proc/swaps */
export function proc_swaps(ms: MachineState): string {
  let out = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  if (ms.swap) out += swap_show(ms, ms.swap);
  return out;
}
