/** Every VM result renders (text and HTML) on every arch without touching the engine. */
import { expect, test } from "vitest";
import { boot } from "../../src/api/machine";
import "../../src/api/process";

test.each([["x86"], ["x86_pae"], ["x86_64"], ["toy"]] as const)("%s: maps, process, translation, access, frame render", (arch) => {
  const m = boot({ arch, ...(arch === "toy" ? { ram: "1MiB" } : { ram: "256MiB" }) } as never);
  const p = m.spawn("sh");
  const a = p.mmap("64KiB");
  const w = a.write("hello");
  const t = w.translate();
  for (const r of [p.maps, p, a, w, t, m.frame(t.steps[0]!.table), p.translate(0x0n), p.smaps, m.cat(`/proc/${p.pid}/maps`)]) {
    const txt = r.toString();
    expect(txt.length).toBeGreaterThan(10);
    expect(r.toHTML()).toMatch(/</);
    expect(JSON.stringify(r.toJSON())).toBeTruthy();
  }
  expect(p.maps.toString()).toBe(m.cat(`/proc/${p.pid}/maps`).text);
  m.check();
});
