/**
 * The only source of randomness in mmlab: a seeded PRNG (xoshiro128**), after the kernel's
 * lib/random32.c prandom in spirit. Same seed, same sequence, on every machine. Never Math.random.
 */
export class prandom_state {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // splitmix32 to spread the seed over the state
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    if (n <= 0) return 0;
    return Math.floor((this.u32() / 0x100000000) * n);
  }

  /** The state, to snapshot and restore. */
  get state(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }
  set state(s: [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = s;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
