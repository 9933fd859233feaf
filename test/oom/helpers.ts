/** Shared by the OOM tests. */
import { boot, type Machine, type Process } from "../../src";

/** a(20 MiB), b(30 MiB), c(nothing) on a 128 MiB x86-64 machine */
export function three(): { m: Machine; a: Process; b: Process; c: Process } {
  const m = boot({ arch: "x86_64", ram: "128MiB" });
  const a = m.spawn("a");
  const b = m.spawn("b");
  const c = m.spawn("c");
  m.quietly(() => {
    a.mmap("20MiB").touch();
    b.mmap("30MiB").touch();
  });
  return { m, a, b, c };
}
