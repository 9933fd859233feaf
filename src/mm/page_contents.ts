/**
 * What the frames hold: a sparse store of page contents, one buffer per frame that was ever written
 * (page-table entries, user data). A frame with no buffer reads as zeros, as a freshly zeroed page
 * does (clear_page()). Not a kernel structure: the kernel reads RAM; we keep only the pages that are
 * not all zeros. Words are read little-endian, as on x86.
 */
import type { MachineState } from "../kernel/machine";

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("mmlab needs a little-endian host (page-table entries are stored as x86 stores them)");

export interface frame_buf {
  u8: Uint8Array;
  u32: Uint32Array;
}

export class page_contents {
  readonly frames = new Map<number, frame_buf>();
  constructor(readonly page_size: number) {}
  /** snapshot hook (src/kernel/snapshot.ts) */
  clone_for(_ms: MachineState): page_contents {
    const c = new page_contents(this.page_size);
    for (const [pfn, b] of this.frames) {
      const u8 = b.u8.slice();
      c.frames.set(pfn, { u8, u32: new Uint32Array(u8.buffer) });
    }
    return c;
  }
}

declare module "../kernel/machine" {
  interface MachineState {
    /** frame contents (sparse), see src/mm/page_contents.ts */
    pages?: page_contents;
  }
}

export function contents(ms: MachineState): page_contents {
  return (ms.pages ??= new page_contents(ms.arch.PAGE_SIZE));
}

/** the frame's buffer; created (zero-filled) when `create` */
export function frame_data(ms: MachineState, pfn: number, create: true): frame_buf;
export function frame_data(ms: MachineState, pfn: number, create?: boolean): frame_buf | undefined;
export function frame_data(ms: MachineState, pfn: number, create = false): frame_buf | undefined {
  const c = contents(ms);
  let b = c.frames.get(pfn);
  if (!b && create) {
    const u8 = new Uint8Array(c.page_size);
    b = { u8, u32: new Uint32Array(u8.buffer) };
    c.frames.set(pfn, b);
  }
  return b;
}

/** clear_page() / clear_highpage() over 2^order frames: they read as zeros again */
export function clear_frames(ms: MachineState, pfn: number, order = 0): void {
  const c = contents(ms);
  for (let i = 0; i < 1 << order; i++) c.frames.delete(pfn + i);
}

/** copy_highpage(): dst gets src's bytes */
export function copy_frame(ms: MachineState, dst: number, src: number): void {
  const s = frame_data(ms, src);
  if (!s) return clear_frames(ms, dst);
  frame_data(ms, dst, true).u8.set(s.u8);
}

/** read len bytes at offset of a frame */
export function read_frame(ms: MachineState, pfn: number, off: number, len: number): Uint8Array {
  const b = frame_data(ms, pfn);
  return b ? b.u8.slice(off, off + len) : new Uint8Array(len);
}

/** write bytes at offset of a frame */
export function write_frame(ms: MachineState, pfn: number, off: number, bytes: Uint8Array): void {
  const b = frame_data(ms, pfn);
  if (!b) {
    // zeros into a frame that reads as zeros: nothing to store (keeps 1 GiB of touched pages sparse)
    let zero = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) {
      zero = false;
      break;
    }
    if (zero) return;
  }
  (b ?? frame_data(ms, pfn, true)).u8.set(bytes, off);
}
