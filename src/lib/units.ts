/**
 * Sizes as a learner types them: a number of bytes, a bigint, or a string with a unit.
 * "4K", "4k", "4KiB", "4KB" all mean 4096 (the kernel's memparse() reads K/M/G/T/P/E as powers of
 * 1024, and so do we; "kB" in /proc is also 1024). Plain digits, or 0x-prefixed hex, are bytes.
 */
const UNITS: Record<string, bigint> = {
  "": 1n,
  b: 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
  e: 1n << 60n,
};

const SIZE_RE = /^\s*(0x[0-9a-f]+|\d+(?:\.\d+)?)\s*([kmgtpe]?)(?:i?b)?\s*$/i;

/** Parse a size; returns undefined when the text is not a size (the caller words the error). */
export function parseSize(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v) || !Number.isInteger(v)) return undefined;
    return BigInt(v);
  }
  if (typeof v !== "string") return undefined;
  const m = SIZE_RE.exec(v);
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  const num = m[1]!;
  if (num.startsWith("0x") || num.startsWith("0X")) return BigInt(num) * unit;
  if (num.includes(".")) {
    // "1.5G": exact only when the product is a whole number of bytes
    const [i, f] = num.split(".") as [string, string];
    const scale = 10n ** BigInt(f.length);
    const total = (BigInt(i) * scale + BigInt(f)) * unit;
    if (total % scale !== 0n) return undefined;
    return total / scale;
  }
  return BigInt(num) * unit;
}

/** 131072 -> "128 KiB"; exact units only when they divide, else the largest with one decimal. */
export function fmtBytes(n: number | bigint): string {
  let b = BigInt(n);
  const neg = b < 0n;
  if (neg) b = -b;
  const names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  let v = b;
  while (i < names.length - 1 && v >= 1024n && v % 1024n === 0n) {
    v /= 1024n;
    i++;
  }
  let s: string;
  if (v >= 1024n && i < names.length - 1) {
    // not exact: show one decimal of the next unit up
    let j = i;
    let f = Number(v);
    while (f >= 1024 && j < names.length - 1) {
      f /= 1024;
      j++;
    }
    s = `${f.toFixed(1)} ${names[j]}`;
  } else s = `${v} ${names[i]}`;
  return neg ? `-${s}` : s;
}

/** Lower-case hex with 0x, for PFNs and addresses (as the kernel's %#lx prints them). */
export function hex(n: number | bigint, pad = 0): string {
  return "0x" + n.toString(16).padStart(pad, "0");
}
