// Every notebooks/*.ipynb, executed headless through the real tslab kernel (jupyter nbconvert), into a
// temporary directory (the committed notebooks are not touched). Notebooks import "../dist", which
// `npm test`'s pretest builds.
//
// Jupyter or the tslab kernel missing: these tests FAIL when MMLAB_REQUIRE_NOTEBOOKS=1 or CI=true (as in
// .ci/run), and are skipped with a loud warning otherwise. To run them locally:
//   sudo apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel
//   bash scripts/register-kernel.sh
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");
const NB_DIR = join(ROOT, "notebooks");
const EXECUTE = join(ROOT, "scripts", "execute-notebooks.sh");
const REQUIRED = process.env.MMLAB_REQUIRE_NOTEBOOKS === "1" || process.env.CI === "true";
const PER_NOTEBOOK_MS = 300_000; // nbconvert allows 120 s per cell; a notebook normally takes ~5-30 s

const HOW_TO_ENABLE = [
  "  sudo apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel",
  "  bash scripts/register-kernel.sh",
].join("\n");

const notebooks = existsSync(NB_DIR)
  ? readdirSync(NB_DIR).filter((f) => f.endsWith(".ipynb")).sort()
  : [];

/** Is `jupyter nbconvert` there, with a "tslab" kernelspec whose binary exists? */
function probe(): { ok: true } | { ok: false; reason: string } {
  const nbc = spawnSync("jupyter", ["nbconvert", "--version"], { encoding: "utf8" });
  if (nbc.error || nbc.status !== 0) {
    return { ok: false, reason: `\`jupyter nbconvert\` is not available (${nbc.error?.message ?? nbc.stderr.trim()})` };
  }
  const ks = spawnSync("jupyter", ["kernelspec", "list", "--json"], { encoding: "utf8" });
  if (ks.error || ks.status !== 0) {
    return { ok: false, reason: `\`jupyter kernelspec list\` failed: ${ks.error?.message ?? ks.stderr.trim()}` };
  }
  let specs: Record<string, { resource_dir: string; spec: { argv: string[] } }>;
  try {
    specs = (JSON.parse(ks.stdout) as { kernelspecs: typeof specs }).kernelspecs;
  } catch {
    return { ok: false, reason: `cannot parse \`jupyter kernelspec list --json\`: ${ks.stdout.slice(0, 200)}` };
  }
  const tslab = specs.tslab;
  if (!tslab) return { ok: false, reason: "no Jupyter kernel named \"tslab\" (run scripts/register-kernel.sh)" };
  const bin = tslab.spec.argv[0];
  if (bin && bin.includes("/") && !existsSync(bin)) {
    return { ok: false, reason: `the tslab kernelspec in ${tslab.resource_dir} runs ${bin}, which does not exist (run scripts/register-kernel.sh)` };
  }
  return { ok: true };
}

const available = probe();
if (!available.ok && !REQUIRED) {
  const bar = "!".repeat(100);
  console.warn(
    [
      bar,
      `!!! NOTEBOOK EXECUTION SKIPPED: ${available.reason}.`,
      `!!! ${notebooks.length} notebook(s) in notebooks/ were NOT run through the tslab kernel. To run them:`,
      HOW_TO_ENABLE,
      "!!! (CI=true or MMLAB_REQUIRE_NOTEBOOKS=1 makes this a failure instead of a skip.)",
      bar,
    ].join("\n"),
  );
}

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}

const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : (s ?? ""));

function execute(nb: string, outDir: string): Promise<{ code: number; log: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      [EXECUTE, "--no-build", "--no-register", "--output-dir", outDir, join(NB_DIR, nb)],
      { cwd: ROOT, timeout: PER_NOTEBOOK_MS - 10_000, maxBuffer: 64 << 20, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        const killed = err && (err as { killed?: boolean }).killed ? "\n(killed: took too long)" : "";
        resolve({ code, log: `${stdout}${stderr}${killed}` });
      },
    );
  });
}

/** The part of nbconvert's log that says what went wrong: the failing cell's own output (printed by
 *  execute-notebooks.sh's hook; tslab reports errors only as stderr text) and nbconvert's verdict. */
function explain(log: string): string {
  const lines = log.split("\n");
  const start = lines.findIndex((l) => l.startsWith("=== cell "));
  const end = lines.findIndex((l, i) => i > start && l.startsWith("=== end"));
  const dump = start >= 0 ? lines.slice(start, end >= 0 ? end + 1 : start + 60) : [];
  const verdict = lines.findIndex((l) => l.includes("CellExecutionError:"));
  const tail = verdict >= 0 ? lines.slice(verdict, verdict + 12) : lines.slice(-25);
  return [...dump, ...tail].join("\n");
}

describe.skipIf(!available.ok && !REQUIRED).sequential("notebooks execute through the tslab kernel", () => {
  it("jupyter nbconvert and the tslab kernel are available", () => {
    if (!available.ok) throw new Error(`${available.reason}. Notebook execution is required here (CI=true or MMLAB_REQUIRE_NOTEBOOKS=1). Fix:\n${HOW_TO_ENABLE}`);
  });

  for (const nb of notebooks) {
    it(nb, { timeout: PER_NOTEBOOK_MS }, async () => {
      if (!available.ok) throw new Error(`cannot execute ${nb}: ${available.reason}`);
      const out = mkdtempSync(join(tmpdir(), "mmlab-nb-"));
      try {
        const run = await execute(nb, out);
        expect(run.code, `nbconvert failed on notebooks/${nb}:\n${explain(run.log)}`).toBe(0);

        const executed = JSON.parse(readFileSync(join(out, basename(nb)), "utf8")) as { cells: Cell[] };
        const code = executed.cells.filter((c) => c.cell_type === "code" && text(c.source).trim() !== "");
        const notRun = code.map((c, i) => ({ i, c })).filter(({ c }) => typeof c.execution_count !== "number");
        expect(notRun.map(({ i, c }) => `code cell ${i + 1}: ${text(c.source).split("\n")[0]}`), "cells without execution_count").toEqual([]);

        const errors = code.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === "error"));
        expect(errors.map((o) => `${o.ename}: ${o.evalue}`), "error outputs").toEqual([]);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
