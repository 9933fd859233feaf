// The REPL driven through a pipe, as `echo 'm.check()' | npm start -s` does: the compiled repl.js
// (built by `npm test`'s pretest: `npm run build && npm run build:repl`) with stdin piped.
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");
const REPL_JS = join(ROOT, "repl.js");

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run repl.js with `input` on stdin (then end of input), no TTY, colours off. */
function runRepl(input: string, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, MMLAB_REPL_HISTORY: "" };
    const child = spawn(process.execPath, [REPL_JS], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`repl.js did not exit within ${timeoutMs} ms at end of input.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const stackLines = (s: string) => s.split("\n").filter((l) => /^\s+at /.test(l));

describe("REPL through a pipe", () => {
  beforeAll(() => {
    const missing = [REPL_JS, join(ROOT, "dist", "index.js")].filter((f) => !existsSync(f));
    if (missing.length) {
      throw new Error(`missing ${missing.join(", ")}: run \`npm test\` (its pretest builds them) or \`npm run build && npm run build:repl\``);
    }
    if (statSync(REPL_JS).mtimeMs < statSync(join(ROOT, "repl.ts")).mtimeMs) {
      throw new Error("repl.js is older than repl.ts: run `npm run build:repl` (npm test does it)");
    }
  });

  it("prints the banner, answers m.check(), and exits 0 at end of input", async () => {
    const r = await runRepl("m.check()\n");
    expect(r.stderr).toBe("");
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    // Banner: the name, and the three commands it suggests.
    expect(r.stdout).toMatch(/^mmlab\b/);
    expect(r.stdout).toContain('m.allocPages("128KiB")');
    expect(r.stdout).toContain('m.cat("/proc/buddyinfo")');
    expect(r.stdout).toContain("m.allocPages(5).free()");
    expect(r.stdout).toMatch(/verified/i);
    // Piped: no prompts, no escape codes.
    expect(r.stdout).not.toMatch(/^(>|mm>|\.\.\.) /m);
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("shows an MmError as one line, code first, with no stack trace", async () => {
    const r = await runRepl("m.allocPages(-1)\n");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("MmError"));
    expect(lines, r.stdout).toHaveLength(1);
    expect(lines[0]).toMatch(/^MmError EINVAL: \S/);
    expect(stackLines(r.stdout + r.stderr), r.stdout + r.stderr).toEqual([]);
    expect(r.stdout).not.toContain("Uncaught");
  });

  it("keeps going after an MmError and keeps the machine usable", async () => {
    const r = await runRepl(['m.allocPages(-1)', 'm.cat("/proc/buddyinfo")', "m.check()", ""].join("\n"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^MmError EINVAL/m);
    expect(r.stdout).toMatch(/Node 0, zone/); // /proc/buddyinfo's text, printed as text
    expect(r.stdout).toMatch(/verified/i);
  });

  it("reports other errors as node:repl does and still exits 0", async () => {
    const r = await runRepl("null.x\nm.check()\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/TypeError/);
    expect(r.stdout).toMatch(/verified/i);
  });

  it("has every export of mmlab in scope, and multi-line input needs no prompt", async () => {
    const r = await runRepl("[typeof boot, typeof MmError, typeof m.allocPages].join()\nlet o = {\n  a: 1,\n}\no.a + 1\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("'function,function,function'");
    expect(r.stdout).toMatch(/^2$/m);
    expect(r.stdout).not.toMatch(/^\.\.\./m);
  });
});
