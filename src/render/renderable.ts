/**
 * The base of every result object: one `view()`, shown three ways: plain text (`toString`), ANSI
 * text in the REPL (`util.inspect`), HTML in a notebook (`toHTML`, and automatically when the
 * result is a tslab cell's value).
 *
 * How the notebook case works (design.md §4): tslab prints a cell's value with console.log(value),
 * which reaches our [util.inspect.custom] hook. From there `__tslab__.require("tslab").display.html`
 * emits a real display_data output, and we return the one-line summary for the stdout text.
 * Node calls the hook with depth = options.depth - nesting level, so the outermost value is the one
 * whose `depth === options.depth`; a counter also stops a Renderable inspected while another one is
 * being rendered from displaying HTML of its own.
 */
import { inspect, type InspectOptionsStylized } from "node:util";
import type { View } from "./view";
import { renderText } from "./text";
import { renderHTML } from "./html";

interface TslabDisplay {
  html(s: string): void;
}

/**
 * The live tslab display object, or undefined outside a tslab kernel. Must go through
 * `__tslab__.require`: our own node_modules' tslab is a different instance ("Not ready").
 * May throw; callers fall back to text.
 */
function tslabDisplay(): TslabDisplay | undefined {
  const t = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  if (!t || typeof t.require !== "function") return undefined;
  const mod = t.require("tslab") as { display?: Partial<TslabDisplay> } | undefined;
  const d = mod?.display;
  return d && typeof d.html === "function" ? (d as TslabDisplay) : undefined;
}

/** Terminal width for REPL output: the TTY's, clamped; 100 when not a terminal. */
function termWidth(): number {
  const c = process.stdout.isTTY ? process.stdout.columns : undefined;
  return c ? Math.max(60, Math.min(160, c)) : 100;
}

/** > 0 while some Renderable's inspect hook is running (nested results never display HTML). */
let active = 0;

export abstract class Renderable {
  /** What to show; built from a snapshot, so rendering never touches the live engine. */
  abstract view(): View;
  abstract toJSON(): unknown;

  /** Plain text, no escape codes. */
  toString(): string {
    return renderText(this.view(), { color: false });
  }

  toText(color = false): string {
    return renderText(this.view(), { color, width: termWidth() });
  }

  toHTML(): string {
    return renderHTML(this.view());
  }

  [inspect.custom](depth: number, options: InspectOptionsStylized, _inspect?: typeof inspect): string {
    // Deeper than the caller asked for: node would print [Object]; we print our one line.
    if (typeof depth === "number" && depth < 0) return this.view().summary;
    active++;
    try {
      const view = this.view();
      // null/Infinity depth cannot tell the outermost value from a nested one: stay with text.
      const topLevel = active === 1 && typeof depth === "number" && Number.isFinite(depth) && depth === options.depth;
      if (topLevel) {
        try {
          const d = tslabDisplay();
          if (d) {
            d.html(renderHTML(view));
            return view.summary;
          }
        } catch {
          // tslab not ready, or HTML failed: the text below is still a faithful rendering
        }
      }
      return renderText(view, { color: !!options.colors, stylize: options.stylize, width: termWidth() });
    } finally {
      active--;
    }
  }
}

/** Show a result as HTML in tslab (even when it is not a cell's value), as text anywhere else. */
export function display(x: Renderable): void {
  try {
    const d = tslabDisplay();
    if (d) {
      d.html(x.toHTML());
      return;
    }
  } catch {
    // fall through to text
  }
  console.log(x.toText(!!process.stdout.isTTY));
}
