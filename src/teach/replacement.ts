/**
 * Page-replacement policies for teaching (OSTEP ch. 22): a process with N frames and a reference
 * string; FIFO, LRU, OPT (Belady's MIN) and CLOCK (second chance). Not a kernel file: Linux reclaims
 * with active/inactive LRU lists (mm/vmscan.c); this mode isolates the policy question.
 */
export type ReplacementPolicy = "FIFO" | "LRU" | "OPT" | "CLOCK";

export interface replacement_step {
  ref: number;
  hit: boolean;
  /** the page evicted to make room, if any */
  evicted?: number;
  /** frame contents after the access (slot order) */
  frames: (number | undefined)[];
  /** CLOCK: the hand position and reference bits after the access */
  hand?: number;
  refbits?: boolean[];
}

export interface replacement_run {
  policy: ReplacementPolicy;
  nframes: number;
  refs: number[];
  steps: replacement_step[];
  hits: number;
  misses: number;
  hitRate: number;
}

/** Simulate one policy. Deterministic; ties in OPT go to the lowest frame slot. */
export function simulate_replacement(refs: number[], nframes: number, policy: ReplacementPolicy): replacement_run {
  const frames: (number | undefined)[] = new Array(nframes).fill(undefined);
  const lastUse = new Map<number, number>(); // LRU: page -> time of last access
  const loadedAt = new Map<number, number>(); // FIFO: page -> time loaded
  const refbit: boolean[] = new Array(nframes).fill(false);
  let hand = 0;
  const steps: replacement_step[] = [];
  let hits = 0;
  refs.forEach((ref, t) => {
    const slot = frames.indexOf(ref);
    let evicted: number | undefined;
    if (slot >= 0) {
      hits++;
      refbit[slot] = true;
    } else {
      let victim = frames.indexOf(undefined);
      if (victim < 0) {
        if (policy === "FIFO") victim = argmin(frames, (p) => loadedAt.get(p!)!);
        else if (policy === "LRU") victim = argmin(frames, (p) => lastUse.get(p!)!);
        else if (policy === "OPT") {
          // the page used furthest in the future (never again = infinitely far)
          victim = argmin(frames, (p) => {
            const next = refs.indexOf(p!, t + 1);
            return -(next < 0 ? Infinity : next);
          });
        } else {
          // CLOCK: skip (and clear) referenced frames until one with its bit clear
          while (refbit[hand]) {
            refbit[hand] = false;
            hand = (hand + 1) % nframes;
          }
          victim = hand;
          hand = (hand + 1) % nframes;
        }
        evicted = frames[victim];
      } else if (policy === "CLOCK") hand = (victim + 1) % nframes;
      frames[victim] = ref;
      refbit[victim] = true;
      loadedAt.set(ref, t);
    }
    lastUse.set(ref, t);
    const step: replacement_step = { ref, hit: slot >= 0, frames: [...frames] };
    if (evicted !== undefined) step.evicted = evicted;
    if (policy === "CLOCK") {
      step.hand = hand;
      step.refbits = [...refbit];
    }
    steps.push(step);
  });
  return { policy, nframes, refs: [...refs], steps, hits, misses: refs.length - hits, hitRate: refs.length ? hits / refs.length : 0 };
}

function argmin<T>(xs: T[], key: (x: T) => number): number {
  let best = 0;
  let bk = Infinity;
  xs.forEach((x, i) => {
    const k = key(x);
    if (k < bk) {
      bk = k;
      best = i;
    }
  });
  return best;
}
