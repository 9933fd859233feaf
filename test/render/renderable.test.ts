import { inspect } from "node:util";
import { afterEach, describe, expect, test } from "vitest";
import { Renderable, display } from "../../src/render/renderable";
import type { View } from "../../src/render/view";
import { blocks } from "./fixtures";

class Alloc extends Renderable {
  constructor(readonly pfn: number) {
    super();
  }
  view(): View {
    return { title: `page at PFN ${this.pfn}`, summary: `Alloc pfn=${this.pfn}`, blocks: [blocks.kv] };
  }
  toJSON(): unknown {
    return { pfn: this.pfn };
  }
}

type G = { __tslab__?: unknown };
const g = globalThis as G;

/** A stand-in for the tslab kernel: records every display.html call. */
function fakeTslab(): string[] {
  const calls: string[] = [];
  g.__tslab__ = {
    require: (id: string) => {
      if (id !== "tslab") throw new Error(`unexpected require(${id})`);
      return { display: { html: (s: string) => calls.push(s) } };
    },
  };
  return calls;
}

afterEach(() => {
  delete g.__tslab__;
});

describe("Renderable outside tslab", () => {
  const a = new Alloc(0x1000);

  test("toString is plain text; toJSON is data", () => {
    expect(String(a)).toMatch(/^page at PFN 4096\nAlloc pfn=4096\n\npfn +0x1000/);
    expect(String(a)).not.toMatch(/\x1b/);
    expect(JSON.stringify(a)).toBe('{"pfn":4096}');
  });

  test("top-level inspect is the full text, coloured when asked", () => {
    expect(inspect(a)).toBe(a.toString());
    expect(inspect(a, { colors: true })).toMatch(/\x1b\[/);
  });

  test("depth < 0 (nested deeper than the caller's depth) is the summary", () => {
    expect(inspect({ x: { y: { z: a } } })).toContain("z: Alloc pfn=4096");
    expect(inspect(a, { depth: -1 })).toBe("Alloc pfn=4096");
  });

  test("nested within depth is the full text", () => {
    expect(inspect({ a })).toContain("page at PFN 4096");
  });
});

describe("Renderable inside tslab", () => {
  test("a cell value (console.log(x) → inspect at top level) displays HTML once and prints the summary", () => {
    const calls = fakeTslab();
    const a = new Alloc(7);
    expect(inspect(a)).toBe("Alloc pfn=7");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^<div style=/);
    expect(calls[0]).toContain("page at PFN 7");
  });

  test("with a custom depth the outermost value still counts as top level", () => {
    const calls = fakeTslab();
    expect(inspect(new Alloc(1), { depth: 5 })).toBe("Alloc pfn=1");
    expect(calls).toHaveLength(1);
  });

  test("nested values never display HTML", () => {
    const calls = fakeTslab();
    const out = inspect({ first: new Alloc(1), list: [new Alloc(2), { deep: new Alloc(3) }] });
    expect(calls).toHaveLength(0);
    expect(out).toContain("page at PFN 1");
    expect(out).toContain("Alloc pfn=3"); // beyond depth: the summary
  });

  test("a result whose view inspects another result displays only itself", () => {
    const calls = fakeTslab();
    class Outer extends Alloc {
      override view(): View {
        const inner = inspect(new Alloc(99)); // another top-level inspect, while we are rendering
        return { title: "outer", summary: "Outer", blocks: [{ kind: "pre", text: inner }] };
      }
    }
    expect(inspect(new Outer(0))).toBe("Outer");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain("page at PFN 99"); // the inner one rendered as text inside
  });

  test("depth: null cannot tell top level from nested, so it stays with text", () => {
    const calls = fakeTslab();
    expect(inspect(new Alloc(1), { depth: null })).toContain("page at PFN 1");
    expect(calls).toHaveLength(0);
  });

  test("if tslab is not ready (require or display throws), falls back to text", () => {
    g.__tslab__ = {
      require: () => ({
        display: {
          html: () => {
            throw new Error("Not ready");
          },
        },
      }),
    };
    expect(inspect(new Alloc(5))).toContain("page at PFN 5");
    g.__tslab__ = { require: () => { throw new Error("Cannot find module 'tslab'"); } };
    expect(inspect(new Alloc(5))).toContain("page at PFN 5");
  });

  test("display() forces HTML in tslab", () => {
    const calls = fakeTslab();
    display(new Alloc(8));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain("page at PFN 8");
  });
});
