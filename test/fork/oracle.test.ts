/**
 * Oracle: a small C program run on this machine's glibc and the same calls on a simulated x86-64
 * process (p.malloc over brk/mmap and the MMU) make the same decisions: heap or mmap for sizes around
 * the threshold, how far the break moved, each pointer's offset from the heap start (heap) or within
 * its page (mmap), the break after free trims it, and the dynamic threshold. Skipped, loudly, without
 * a C compiler or with a glibc outside 2.26–2.41 (see test/libc/glibc-oracle.test.ts for why).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";

const cc = ["cc", "gcc", "clang"].find((c) => spawnSync(c, ["--version"]).status === 0);
const ver = /(\d+)\.(\d+)/.exec(spawnSync("ldd", ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0] ?? "");
const comparable = !!ver && Number(ver[1]) === 2 && Number(ver[2]) >= 26 && Number(ver[2]) <= 41;
if (!cc || !comparable) console.warn("\n*** fork/oracle: no C compiler or a glibc unlike 2.39 — the process-level malloc oracle is SKIPPED ***\n");

/** ops: [kind, arg]: m = malloc(size) (recorded), f = free(the i-th pointer) */
const OPS: ["m" | "f", number][] = [
  ["m", 100], ["m", 131000], ["m", 131048], ["m", 131049], ["m", 200000], ["m", 24], ["f", 3],
  ["m", 131049], ["m", 140000], ["f", 4], ["m", 5000], ["m", 70000], ["m", 70000], ["f", 10], ["f", 9], ["m", 40],
];

const C_SRC = `#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
int main(void) {
  static void *p[64]; int n = 0;
  static unsigned long out[64][3];
  char *base = sbrk(0);
  static const char kinds[] = "${OPS.map((o) => o[0]).join("")}";
  static const long args[] = { ${OPS.map((o) => o[1]).join(", ")} };
  int k = 0;
  for (int i = 0; i < (int)sizeof(args) / (int)sizeof(args[0]); i++) {
    if (kinds[i] == 'm') {
      p[n] = malloc(args[i]);
      char *brk = sbrk(0);
      uintptr_t a = (uintptr_t)p[n];
      int heap = (char *)p[n] >= base && (char *)p[n] < brk;
      out[k][0] = heap; out[k][1] = heap ? (unsigned long)(a - (uintptr_t)base) : (unsigned long)(a % 4096); out[k][2] = (unsigned long)(brk - base); k++;
      n++;
    } else {
      free(p[args[i]]);
      out[k][0] = 2; out[k][1] = 0; out[k][2] = (unsigned long)((char *)sbrk(0) - base); k++;
    }
  }
  /* stdio's buffer is malloc'ed at the first printf: only after every recorded call */
  printf("[");
  for (int i = 0; i < k; i++) printf("%s[%lu,%lu,%lu]", i ? "," : "", out[i][0], out[i][1], out[i][2]);
  printf("]\\n");
  return 0;
}
`;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test.runIf(!!cc && comparable)("p.malloc on a simulated x86-64 process decides as this machine's glibc", () => {
  const dir = mkdtempSync(join(tmpdir(), "mmlab-fork-oracle-"));
  dirs.push(dir);
  writeFileSync(join(dir, "o.c"), C_SRC);
  const b = spawnSync(cc!, ["-O0", "-o", join(dir, "o"), join(dir, "o.c")], { encoding: "utf8" });
  expect(b.status, b.stderr).toBe(0);
  const r = spawnSync(join(dir, "o"), [], { encoding: "utf8", env: {} });
  expect(r.status).toBe(0);
  const real = JSON.parse(r.stdout) as number[][];
  const m = boot({ arch: "x86_64", ram: "256MiB" } as never);
  const p = m.spawn("oracle");
  const base = p.brkAddr;
  const ptrs: bigint[] = [];
  const sim: number[][] = [];
  for (const [k, arg] of OPS) {
    if (k === "m") {
      const a = p.malloc(arg);
      ptrs.push(a.addr);
      const heap = a.addr >= base && a.addr < p.brkAddr;
      sim.push([heap ? 1 : 0, Number(heap ? a.addr - base : a.addr % 4096n), Number(p.brkAddr - base)]);
    } else {
      p.free(ptrs[arg]!);
      sim.push([2, 0, Number(p.brkAddr - base)]);
    }
  }
  expect(sim).toEqual(real);
  m.check();
});
