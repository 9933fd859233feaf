import { describe, expect, it } from "vitest";
import { boot, MmError } from "../../src/index";
import type { MachineState } from "../../src/kernel/machine";
import { entry_pfn, entry_read, pt_format_of, pt_lookup } from "../../src/mm/pgtable";
import type { Process } from "../../src/api/process";

const ms = (m: ReturnType<typeof boot>) => (m as unknown as { ms: MachineState }).ms;
function nodesOf(m: ReturnType<typeof boot>, p: Process, base: bigint, pages: number): number[] {
  const s = ms(m);
  const fmt = pt_format_of(s.arch);
  const out: number[] = [];
  for (let i = 0; i < pages; i++) {
    const slot = pt_lookup(s, p.task().mm!.pgd, base + BigInt(i * 4096))!;
    const e = entry_read(s, fmt, slot.table, slot.idx, { lo: 0, hi: 0 });
    out.push(s.page_zone(entry_pfn(fmt, e.lo, e.hi)).node.node_id);
  }
  return out;
}

describe("a process's memory policy places its page faults (alloc_pages_mpol)", () => {
  const mk = () => boot({ arch: "x86_64", nodes: ["256MiB", "256MiB"], cpus: 2, trace: false });
  it("MPOL_DEFAULT: the node of the CPU the process runs on (CPU 1 is on node 1)", () => {
    const m = mk();
    const p = m.spawn();
    const a = p.mmap("32KiB");
    p.touch(a.addr, "32KiB");
    expect(nodesOf(m, p, a.addr, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    p.migrate(1);
    const b = p.mmap("32KiB");
    p.touch(b.addr, "32KiB");
    expect(nodesOf(m, p, b.addr, 8)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(p.mempolicy).toBe("default");
  });
  it("MPOL_INTERLEAVE: page by page by the page's offset (vm_pgoff + index); numa_interleave counts them", () => {
    const m = mk();
    const p = m.spawn();
    p.setMempolicy("interleave", [0, 1]);
    const a = p.mmap("32KiB");
    p.touch(a.addr, "32KiB");
    const first = Number(a.addr / 4096n) % 2; // interleave_nid(): ilx = vm_pgoff (= addr >> 12 for anonymous) + offset
    expect(nodesOf(m, p, a.addr, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => (first + i) % 2));
    const il = ms(m).nodes.map((n) => n.node_zones.reduce((x, z) => x + z.numa.numa_interleave, 0));
    expect(il[0]! + il[1]!).toBeGreaterThanOrEqual(8);
    expect(p.mempolicy).toBe("interleave:0,1");
    // inherited by fork
    const c = p.fork();
    expect(c.mempolicy).toBe("interleave:0,1");
  });
  it("MPOL_BIND and MPOL_PREFERRED", () => {
    const m = mk();
    const p = m.spawn();
    p.setMempolicy("bind", [1]);
    const a = p.mmap("32KiB");
    p.touch(a.addr, "32KiB");
    expect(nodesOf(m, p, a.addr, 8)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    p.setMempolicy("preferred", [1]);
    const b = p.mmap("16KiB");
    p.touch(b.addr, "16KiB");
    expect(nodesOf(m, p, b.addr, 4)).toEqual([1, 1, 1, 1]);
    // allocated on node 1 for a task on node 0's CPU: numa_hit on node 1 (the preferred node), numa_other there
    const z1 = ms(m).nodes[1]!.node_zones.reduce((x, z) => x + z.numa.numa_other, 0);
    expect(z1).toBeGreaterThanOrEqual(12);
    expect(() => p.setMempolicy("preferred", [0, 1])).toThrow(MmError);
    expect(() => p.setMempolicy("bind", [2])).toThrow(MmError);
    m.check();
  });
});
