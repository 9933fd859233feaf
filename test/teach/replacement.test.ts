/** The policies on the reference strings every OS course works by hand (OSTEP ch. 22; Silberschatz 10.4). */
import { describe, expect, it } from "vitest";
import { replacement } from "../../src/api/replacement";

const SIL = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];

describe("page replacement policies", () => {
  it("Silberschatz's string with 3 frames: FIFO 15 faults, LRU 12, OPT 9", () => {
    expect(replacement(SIL, { frames: 3, policy: "FIFO" }).misses).toBe(15);
    expect(replacement(SIL, { frames: 3, policy: "LRU" }).misses).toBe(12);
    expect(replacement(SIL, { frames: 3, policy: "OPT" }).misses).toBe(9);
  });

  it("Belady's anomaly: FIFO on 1,2,3,4,1,2,5,1,2,3,4,5 misses 9 times with 3 frames and 10 with 4", () => {
    const s = "1 2 3 4 1 2 5 1 2 3 4 5";
    expect(replacement(s, { frames: 3, policy: "FIFO" }).misses).toBe(9);
    expect(replacement(s, { frames: 4, policy: "FIFO" }).misses).toBe(10);
    // LRU is a stack algorithm: more frames never hurt
    expect(replacement(s, { frames: 3, policy: "LRU" }).misses).toBe(10);
    expect(replacement(s, { frames: 4, policy: "LRU" }).misses).toBe(8);
  });

  it("OSTEP's example (0,1,2,0,1,3,0,3,1,2,1, cache of 3): OPT 6 hits, FIFO 4, LRU 6; the frames step by step", () => {
    const refs = [0, 1, 2, 0, 1, 3, 0, 3, 1, 2, 1];
    expect(replacement(refs, { frames: 3, policy: "OPT" }).hits).toBe(6);
    expect(replacement(refs, { frames: 3, policy: "FIFO" }).hits).toBe(4);
    const lru = replacement(refs, { frames: 3, policy: "LRU" });
    expect(lru.hits).toBe(6);
    expect(lru.run.steps.map((s) => s.evicted)).toEqual([undefined, undefined, undefined, undefined, undefined, 2, undefined, undefined, undefined, 0, undefined]);
  });

  it("CLOCK gives referenced pages a second chance", () => {
    const r = replacement([1, 2, 3, 1, 4, 5], { frames: 3, policy: "CLOCK" });
    // 4 arrives: every bit set, the hand clears 1, 2, 3 and comes back to evict 1 (second chance spent)
    expect(r.run.steps[4]!.evicted).toBe(1);
    expect(r.run.steps[5]!.evicted).toBe(2);
    expect(r.misses).toBe(5);
    expect(String(r)).toContain("CLOCK with 3 frames: 1 hits, 5 misses");
  });

  it("bad input is an EINVAL naming the argument", () => {
    expect(() => replacement([1, -2], { frames: 3 })).toThrow(/^EINVAL: refs.1: /);
    expect(() => replacement([1], { frames: 0 })).toThrow(/^EINVAL: frames: /);
    expect(() => replacement([1], { frames: 3, policy: "MRU" as never })).toThrow(/^EINVAL: policy: must be one of "FIFO", "LRU", "OPT", "CLOCK"/);
  });
});
