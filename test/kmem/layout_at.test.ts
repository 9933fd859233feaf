import { describe, expect, it } from "vitest";
import { boot } from "../../src";

describe("m.layout.at(addr): where an address falls, on the picture", () => {
  it("marks the address and names its region", () => {
    const m = boot();
    const v = m.vmalloc("8KiB");
    const bar = m.layout.at(v.addr).view().blocks.find((b) => b.kind === "bar") as { marks: { at: bigint; label: string }[] };
    expect(bar.marks.at(-1)).toEqual({ at: v.addr, label: `▲ 0x${v.addr.toString(16)}: vmalloc` });
    const hi = m.layout.at(0xc0100000n).view().blocks.find((b) => b.kind === "bar") as { marks: { label: string }[] };
    expect(hi.marks.at(-1)!.label).toMatch(/^▲ 0xc0100000: /);
    expect(() => m.layout.at("nowhere")).toThrow(/^EINVAL: addr: /);
  });
});
