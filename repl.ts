/**
 * The mmlab REPL: `npm start` (or `node repl.js` after `npm run build && npm run build:repl`).
 *
 * A node:repl with a booted machine `m` and every export of mmlab in scope. Piped input works too:
 *   echo 'm.check()' | npm start -s
 * prints no prompts, and exits 0 at the end of input.
 *
 * Imports the built library (./dist), so starting it never recompiles src/.
 */
import * as domain from "node:domain";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import * as repl from "node:repl";
import * as util from "node:util";
import * as mmlab from "./dist";

const input = process.stdin;
const output = process.stdout;
const interactive = Boolean(input.isTTY && output.isTTY);
const colors = Boolean(output.isTTY && output.hasColors?.());
const HISTORY = process.env.MMLAB_REPL_HISTORY ?? path.join(os.homedir(), ".mmlab_repl_history");

/** ANSI styling through util.inspect.colors (util.styleText needs Node >= 20.12); plain when not a TTY. */
const style = (s: string, ...fmt: string[]): string =>
  colors
    ? fmt.reduce((acc, f) => {
        const c = util.inspect.colors[f];
        return c ? `\x1b[${c[0]}m${acc}\x1b[${c[1]}m` : acc;
      }, s)
    : s;

const TRY = [`m.allocPages("128KiB")`, `m.cat("/proc/buddyinfo")`, `m.allocPages(5).free()`];

// ---------------------------------------------------------------------------------------------
// Printing

/** How results are shown: util.inspect (results have [util.inspect.custom]); text with newlines
 *  (a /proc file, a rendered view) is printed as the text itself, not as a quoted JS string. */
function writer(value: unknown): string {
  if (typeof value === "string" && value.includes("\n")) return value.replace(/\n$/, "");
  return util.inspect(value, { colors, depth: 2, breakLength: output.columns || 100 });
}

interface MmErrorLike {
  name: "MmError";
  code?: string;
  message: string;
}

function isMmError(e: unknown): e is MmErrorLike {
  return typeof e === "object" && e !== null && (e as { name?: unknown }).name === "MmError";
}

/** One line, no stack: "MmError EINVAL: order: must be 0..10, got -1". */
function mmErrorLine(e: MmErrorLike): string {
  let msg = String(e.message).replace(/\s*\n\s*/g, " ").trim();
  if (e.code && !msg.startsWith(`${e.code}:`) && !msg.startsWith(`${e.code} `)) msg = `${e.code}: ${msg}`;
  const colon = msg.indexOf(":");
  const head = colon > 0 ? msg.slice(0, colon) : msg;
  return `${style("MmError " + head, "red", "bold")}${colon > 0 ? msg.slice(colon) : ""}`;
}

// ---------------------------------------------------------------------------------------------
// API listing (.api and .help)

function paramsOf(fn: Function): string {
  const src = Function.prototype.toString.call(fn);
  // `name(a, b = 1) {`, `async name(a) {`, `get name() {`: take the text between the first parens
  // when it is balanced and short; otherwise fall back to the arity.
  const open = src.indexOf("(");
  if (open >= 0) {
    let depth = 0;
    for (let i = open; i < src.length && i < open + 200; i++) {
      if (src[i] === "(") depth++;
      else if (src[i] === ")" && --depth === 0) return src.slice(open + 1, i).replace(/\s+/g, " ").trim();
    }
  }
  return Array.from({ length: fn.length }, (_, i) => `arg${i}`).join(", ");
}

/** Public methods and accessors along an object's prototype chain (stops at Object.prototype). */
function describeObject(obj: object): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p).sort()) {
      if (name === "constructor" || name.startsWith("_") || seen.has(name)) continue;
      seen.add(name);
      const d = Object.getOwnPropertyDescriptor(p, name)!;
      if (typeof d.value === "function") lines.push(`  .${name}(${paramsOf(d.value)})`);
      else if (d.get) lines.push(`  .${name}${d.set ? "" : "  (read-only)"}`);
    }
  }
  for (const name of Object.keys(obj).sort()) {
    if (name.startsWith("_") || seen.has(name)) continue;
    const v = (obj as Record<string, unknown>)[name];
    lines.push(typeof v === "function" ? `  .${name}(${paramsOf(v as Function)})` : `  .${name}`);
  }
  return lines;
}

function exportsListing(): string[] {
  return Object.keys(mmlab)
    .filter((k) => k !== "default" && k !== "__esModule")
    .sort()
    .map((k) => {
      const v = (mmlab as Record<string, unknown>)[k];
      if (typeof v === "function") {
        const isClass = /^class\b/.test(Function.prototype.toString.call(v));
        return isClass ? `  ${k}  (class)` : `  ${k}(${paramsOf(v as Function)})`;
      }
      return `  ${k}  (${typeof v})`;
    });
}

function apiText(target: string, obj: unknown): string {
  const name = (obj as object)?.constructor?.name ?? typeof obj;
  return [
    style(`${target}: ${name}`, "bold"),
    ...(typeof obj === "object" && obj !== null ? describeObject(obj) : [`  (${typeof obj})`]),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Start

let m: unknown;
try {
  m = mmlab.boot();
} catch (e) {
  console.error("mmlab: boot() failed:", e);
  process.exit(1);
}

let version = "";
try {
  version = " " + (JSON.parse(fs.readFileSync(path.join(__dirname, "package.json"), "utf8")) as { version: string }).version;
} catch {
  /* no package.json next to repl.js: no version in the banner */
}

let summary: string;
try {
  summary = util.inspect(m, { depth: -1, colors });
} catch {
  summary = String(m);
}

output.write(
  [
    `${style(`mmlab${version}`, "bold")}: Linux memory management, simulated. ${summary}`,
    `  m = boot() is ready; every mmlab export is in scope (${exportsListing().length} names). Try:`,
    ...TRY.map((t) => `    ${style(t, "cyan")}`),
    `  .api lists Machine's methods (.api NAME for any variable), .help for everything, .exit to leave.`,
    "",
  ].join("\n"),
);

// MmError from a command: one line, no stack. The REPL routes every error of an evaluation (sync throw
// or rejected top-level await) through its domain's "error" event, so that is the one place to catch
// them; any other error goes on to node:repl's own handler (message and stack, as usual).
const replDomain = domain.create();
let server: repl.REPLServer | undefined;
const domainEmit = replDomain.emit.bind(replDomain);
replDomain.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
  const err = args[0];
  if (event === "error" && server && isMmError(err)) {
    server.output.write(mmErrorLine(err) + "\n");
    (server as unknown as { lastError: unknown }).lastError = err; // `_error`, as node:repl does
    server.clearBufferedCommand();
    server.displayPrompt();
    return true;
  }
  return domainEmit(event, ...args);
}) as typeof replDomain.emit;

server = repl.start({
  prompt: interactive ? style("mm> ", "green") : "",
  input,
  output,
  terminal: interactive,
  useColors: colors,
  useGlobal: true, // same realm as the library: instanceof, Symbol.for and zod see ordinary objects
  ignoreUndefined: true,
  writer,
  // `domain` is accepted by REPLServer (used as its error domain) but missing from @types/node.
  ...({ domain: replDomain } as object),
});

// Piped input: no prompts at all. node:repl prints "... " for a multi-line command even when the prompt
// is "", so bypass its displayPrompt and show the (empty) readline prompt, which also resumes input.
if (!interactive) {
  server.displayPrompt = function (this: repl.REPLServer, preserveCursor?: boolean) {
    readline.Interface.prototype.setPrompt.call(this, "");
    readline.Interface.prototype.prompt.call(this, preserveCursor);
  };
}

// Everything mmlab exports, the module itself, and the machine.
const ctx = server.context as Record<string, unknown>;
const shadowed: string[] = [];
for (const [k, v] of Object.entries(mmlab)) {
  if (k === "default" || k === "__esModule") continue;
  if (k in globalThis && (globalThis as Record<string, unknown>)[k] !== v) {
    shadowed.push(k);
    continue;
  }
  ctx[k] = v;
}
ctx.mmlab = mmlab;
ctx.m = m;
if (shadowed.length) output.write(`(not put in scope, they would hide globals: ${shadowed.join(", ")}; use mmlab.NAME)\n`);

server.defineCommand("api", {
  help: "List the machine's methods (.api NAME lists the methods of the variable NAME)",
  action(arg: string) {
    const name = arg.trim() || "m";
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      this.output.write("usage: .api [NAME]   (a variable name; no expressions, to avoid side effects)\n");
    } else if (!(name in ctx)) {
      this.output.write(`.api: no variable named ${name}\n`);
    } else {
      this.output.write(apiText(name, ctx[name]) + "\n");
    }
    this.displayPrompt();
  },
});

const builtinHelp = server.commands.help;
server.defineCommand("help", {
  help: "Print this help: the mmlab API and the REPL's commands",
  action(arg: string) {
    this.output.write(
      [
        style("mmlab exports (all in scope):", "bold"),
        ...exportsListing(),
        "",
        apiText("m", m),
        "",
        "Try: " + TRY.join("   "),
        "Sizes are bytes or strings with a unit (\"4K\", \"128KiB\", \"2G\"). Results print themselves; a failed",
        "call throws an MmError (one line here: code and message) and leaves the machine as it was.",
        "",
        style("REPL commands:", "bold"),
        "",
      ].join("\n"),
    );
    if (builtinHelp) builtinHelp.action.call(this, arg); // lists every .command, then shows the prompt
    else this.displayPrompt();
  },
});

if (interactive && HISTORY) {
  server.setupHistory(HISTORY, (err) => {
    if (err) output.write(`(history disabled: ${err.message})\n`);
  });
}

server.on("exit", () => {
  if (interactive) output.write("\n");
  process.exitCode = 0;
});
