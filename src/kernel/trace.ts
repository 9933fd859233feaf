/**
 * What the kernel did: every engine function that matters appends a TraceEvent naming the kernel
 * function it mirrors and the file that owns it, so a learner can grep the real tree.
 * Tracing costs nothing when off (bulk/quiet mode): callers test `trace.on` before building text.
 */
export interface TraceEvent {
  /** kernel function, e.g. "expand" */
  fn: string;
  /** kernel file, e.g. "mm/page_alloc.c" */
  file: string;
  /** one line a learner reads */
  text: string;
  /** machine-readable detail */
  data?: Record<string, unknown>;
  /** nesting depth (a call made by the previous event's function is one deeper) */
  depth?: number;
}

export class trace_buffer {
  on = true;
  events: TraceEvent[] = [];
  depth = 0;

  emit(fn: string, file: string, text: string, data?: Record<string, unknown>): void {
    if (!this.on) return;
    const ev: TraceEvent = { fn, file, text, depth: this.depth };
    if (data) ev.data = data;
    this.events.push(ev);
  }

  /** Take the events recorded since the last take (one facade call's worth). */
  take(): TraceEvent[] {
    const e = this.events;
    this.events = [];
    this.depth = 0;
    return e;
  }
}
