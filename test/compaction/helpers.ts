/** Shared by the compaction tests. */
import { boot } from "../../src";
import { PG_swapcache } from "../../src/mm/swap";

const P = 4096;

/**
 * A 32 MiB x86-64 machine (2 MiB kernel image, no THP, 32 MiB swap) where one process wrote 7500 pages
 * and read every third back after reclaim swapped them: returns the machine, the process, its mapping
 * and the first frame that is in the swap cache and mapped once.
 */
export function swapCacheMachine() {
  const m = boot({ arch: "x86_64", ram: "32MiB", kernelImage: "2MiB", thp: false, swap: "32MiB" });
  const p = m.spawn("a");
  const n = 7500;
  const ma = p.mmap(n * P);
  m.quietly(() => {
    for (let i = 0; i < n; i++) ma.write("a" + i, i * P);
    for (let i = 0; i < n; i += 3) p.read(ma.addr + BigInt(i * P), 8);
  });
  const l = m.ms.lru!;
  let src = -1;
  for (let pfn = 0; pfn < m.ms.max_pfn && src < 0; pfn++) if (l.flags2[pfn]! & PG_swapcache && m.ms.mem_map.mapcount[pfn] === 1) src = pfn;
  return { m, p, ma, n, l, src };
}
