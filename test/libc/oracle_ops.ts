/**
 * One fixed sequence of malloc/free/calloc/realloc calls, runnable two ways: as C source for the
 * machine's glibc, and on mmlab's ptmalloc with a sparse_host. Both record, after every call, where the
 * returned pointer is (offset from the initial break if inside the heap, else "mmap" and ptr % 4096) and
 * how far the break has moved — the decisions a learner can observe.
 */
import { ptmalloc, type malloc_trace } from "../../src/libc/malloc";
import { sparse_host } from "../../src/libc/sparse_host";

export type op =
  | { k: "m"; id: number; n: number }
  | { k: "c"; id: number; n: number; s: number }
  | { k: "r"; id: number; n: number }
  | { k: "f"; id: number }
  | { k: "info" }
  | { k: "sbrk"; n: number };

export type record = [string, number | string];

/** deterministic LCG (no Math.random) */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

/** the fixed sequence: scripted cases, then a pseudo-random small/medium workload */
export function oracle_ops(): op[] {
  const ops: op[] = [];
  const m = (id: number, n: number) => ops.push({ k: "m", id, n });
  const f = (id: number) => ops.push({ k: "f", id });
  // first malloc: tcache_perthread_struct + 16 bytes, heap 0x21000
  m(0, 16);
  // tcache LIFO
  m(1, 24), m(2, 24), m(3, 100), f(1), f(2), m(4, 24), m(5, 24);
  // more than 7 frees of one size: tcache fills, the rest go to a fastbin; mallocs stash them back
  for (let i = 10; i < 20; i++) m(i, 40);
  for (let i = 10; i < 20; i++) f(i);
  for (let i = 10; i < 20; i++) m(i, 40);
  // coalescing in the unsorted bin, the last_remainder rule, large requests
  m(30, 0x500), m(31, 0x500), m(32, 0x500), m(33, 16);
  f(30), f(32), f(31);
  m(34, 0x100), m(35, 0x100), m(36, 0x800), m(37, 0x2000);
  // exact fits found in unsorted are stashed into tcache first, then one is returned from tcache
  for (let i = 60; i < 67; i++) m(i, 0x100);
  for (let i = 67; i < 73; i++) m(i, 0x100); // 68, 70, 72 keep 67, 69, 71 apart
  for (let i = 60; i < 67; i++) f(i);
  f(67), f(69), f(71);
  for (let i = 60; i < 67; i++) m(i, 0x100);
  m(73, 0x100);
  ops.push({ k: "info" });
  // around the mmap threshold (chunk size compared, bins/top first)
  m(40, 131048), m(41, 131048), m(42, 131049), m(39, 131048), f(42), f(40), f(41), f(39);
  // dynamic threshold: free of a 200000-byte mmapped chunk raises it; the next one comes from the heap
  m(43, 200000), f(43), m(44, 200000), f(44);
  ops.push({ k: "info" });
  // trimming
  m(45, 150000), m(46, 150000), m(47, 150000), f(45), f(46), f(47);
  // someone else moves the break: sysmalloc starts a new top past the gap, fenceposts the old one
  ops.push({ k: "sbrk", n: 4096 });
  m(38, 100000), f(38);
  ops.push({ k: "info" });
  // realloc: in place, into top, move, shrink; mmapped realloc (mremap)
  ops.push({ k: "r", id: 50, n: 100 }, { k: "r", id: 50, n: 200 }, { k: "r", id: 50, n: 5000 }, { k: "r", id: 50, n: 50 });
  m(51, 300000), ops.push({ k: "r", id: 51, n: 400000 }, { k: "r", id: 51, n: 100 }), f(51);
  // calloc
  ops.push({ k: "c", id: 52, n: 10, s: 10 }, { k: "c", id: 53, n: 1000, s: 100 }), f(52), f(53);
  ops.push({ k: "info" });
  // a reproducible mixed workload over 64 slots
  const rnd = lcg(20240125);
  const live = new Set<number>();
  for (let i = 0; i < 1500; i++) {
    const slot = 100 + (rnd() % 64);
    if (live.has(slot)) {
      const r = rnd() % 10;
      if (r < 7) {
        f(slot);
        live.delete(slot);
      } else ops.push({ k: "r", id: slot, n: 1 + (rnd() % 3000) });
    } else {
      const r = rnd() % 100;
      const n = r < 60 ? rnd() % 130 : r < 85 ? rnd() % 1100 : r < 97 ? 1100 + (rnd() % 8000) : 60000 + (rnd() % 200000);
      if (r % 13 === 0) ops.push({ k: "c", id: slot, n: 1 + (rnd() % 8), s: n + 1 });
      else m(slot, n);
      live.add(slot);
    }
  }
  ops.push({ k: "info" });
  for (const s of [...live].sort((a, b) => a - b)) f(s);
  ops.push({ k: "info" });
  return ops;
}

/** C source that runs `ops` on the real glibc and prints the records as JSON */
export function oracle_c_source(ops: op[]): string {
  const body: string[] = [];
  for (const o of ops) {
    switch (o.k) {
      case "m":
        body.push(`p[${o.id}] = malloc(${o.n}); rec_ptr("m${o.id}", p[${o.id}]);`);
        break;
      case "c":
        body.push(`p[${o.id}] = calloc(${o.n}, ${o.s}); rec_ptr("c${o.id}", p[${o.id}]);`);
        break;
      case "r":
        body.push(`p[${o.id}] = realloc(p[${o.id}], ${o.n}); rec_ptr("r${o.id}", p[${o.id}]);`);
        break;
      case "f":
        body.push(`free(p[${o.id}]); p[${o.id}] = 0; rec_brk("f${o.id}");`);
        break;
      case "info":
        body.push(`rec_info();`);
        break;
      case "sbrk":
        body.push(`sbrk(${o.n}); rec_brk("sbrk");`);
        break;
    }
  }
  return `#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <malloc.h>
#define MAXREC 20000
static char *base;
static void *volatile p[200];
static const char *key[MAXREC];
static long val[MAXREC];
static int kind[MAXREC]; /* 0 number, 1 "mmap:%ld" */
static int n;
static void put(const char *k, long v, int kd) { if (n < MAXREC) { key[n] = k; val[n] = v; kind[n] = kd; n++; } }
static void rec_brk(const char *k) { put(k, (long)((char *)sbrk(0) - base), 0); }
static void rec_ptr(const char *k, void *q) {
  char *c = (char *)q;
  if (!q) put(k, 0, 2);
  else if (c >= base && c < (char *)sbrk(0)) put(k, (long)(c - base), 0);
  else put(k, (long)((uintptr_t)c % 4096), 1);
  rec_brk("brk");
}
static void rec_info(void) {
  struct mallinfo2 mi = mallinfo2();
  put("arena", (long)mi.arena, 0); put("ordblks", (long)mi.ordblks, 0); put("smblks", (long)mi.smblks, 0);
  put("hblks", (long)mi.hblks, 0); put("hblkhd", (long)mi.hblkhd, 0); put("uordblks", (long)mi.uordblks, 0);
  put("fordblks", (long)mi.fordblks, 0); put("fsmblks", (long)mi.fsmblks, 0); put("keepcost", (long)mi.keepcost, 0);
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  base = sbrk(0);
  long base_mod = (long)((uintptr_t)base % 4096);
${body.map((s) => "  " + s).join("\n")}
  printf("{\\"base_mod\\":%ld,\\"records\\":[", base_mod);
  for (int i = 0; i < n; i++) {
    if (kind[i] == 1) printf("%s[\\"%s\\",\\"mmap:%ld\\"]", i ? "," : "", key[i], val[i]);
    else if (kind[i] == 2) printf("%s[\\"%s\\",\\"NULL\\"]", i ? "," : "", key[i]);
    else printf("%s[\\"%s\\",%ld]", i ? "," : "", key[i], val[i]);
  }
  printf("]}\\n");
  malloc_stats();
  return 0;
}
`;
}

/** the same sequence on mmlab's ptmalloc (64-bit sparse host whose break starts at the same page offset) */
export function oracle_model(ops: op[], base_mod = 0, bits: 32 | 64 = 64, trace?: malloc_trace): { records: record[]; m: ptmalloc; h: sparse_host; problems: string[] } {
  const h = new sparse_host({ bits, heap_start: (bits === 64 ? 0x555555559000n : 0x5655a000n) + BigInt(base_mod) });
  const m = new ptmalloc(h, { trace });
  const base = h.brk;
  const p = new Map<number, bigint>();
  const records: record[] = [];
  const problems: string[] = [];
  const rec_brk = (k: string) => records.push([k, Number(h.brk - base)]);
  const rec_ptr = (k: string, q: bigint) => {
    if (q === 0n) records.push([k, "NULL"]);
    else if (q >= base && q < h.brk) records.push([k, Number(q - base)]);
    else records.push([k, `mmap:${Number(q % 4096n)}`]);
    rec_brk("brk");
  };
  for (const o of ops) {
    switch (o.k) {
      case "m":
        p.set(o.id, m.malloc(o.n));
        rec_ptr(`m${o.id}`, p.get(o.id)!);
        break;
      case "c":
        p.set(o.id, m.calloc(o.n, o.s));
        rec_ptr(`c${o.id}`, p.get(o.id)!);
        break;
      case "r":
        p.set(o.id, m.realloc(p.get(o.id) ?? 0n, o.n));
        rec_ptr(`r${o.id}`, p.get(o.id)!);
        break;
      case "f":
        m.free(p.get(o.id) ?? 0n);
        p.set(o.id, 0n);
        rec_brk(`f${o.id}`);
        break;
      case "sbrk":
        h.sbrk(BigInt(o.n));
        rec_brk("sbrk");
        break;
      case "info": {
        const mi = m.mallinfo2();
        records.push(["arena", mi.arena], ["ordblks", mi.ordblks], ["smblks", mi.smblks], ["hblks", mi.hblks], ["hblkhd", mi.hblkhd]);
        records.push(["uordblks", mi.uordblks], ["fordblks", mi.fordblks], ["fsmblks", mi.fsmblks], ["keepcost", mi.keepcost]);
        break;
      }
    }
    const c = m.check();
    if (c.length && problems.length < 5) problems.push(`after ${JSON.stringify(o)}: ${c.join("; ")}`);
  }
  return { records, m, h, problems };
}
