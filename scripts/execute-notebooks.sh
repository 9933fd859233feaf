#!/usr/bin/env bash
# Execute notebooks through the real tslab kernel, headless, so committed notebooks carry outputs.
#
#   bash scripts/execute-notebooks.sh                    # every notebooks/*.ipynb, in place
#   bash scripts/execute-notebooks.sh notebooks/07-*.ipynb
#   bash scripts/execute-notebooks.sh --output-dir DIR nb.ipynb   # write executed copies to DIR instead
#
# Options: --output-dir DIR (do not touch the originals), --no-build (dist/ is already fresh),
#          --no-register (do not (re)register the tslab kernel; test/notebooks.test.ts uses both).
# Stops at the first cell that fails (nbconvert exits non-zero and prints the cell and its error).
# The kernel runs in the notebook's own directory, so `import ... from "../dist"` works either way.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="" BUILD=1 REGISTER=1
NOTEBOOKS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --output-dir) OUT_DIR="$2"; shift 2 ;;
    --output-dir=*) OUT_DIR="${1#*=}"; shift ;;
    --no-build) BUILD=0; shift ;;
    --no-register) REGISTER=0; shift ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "execute-notebooks: unknown option $1" >&2; exit 2 ;;
    *) NOTEBOOKS+=("$(realpath "$1")"); shift ;;
  esac
done

say() { printf '[execute-notebooks] %s\n' "$*"; }

if ! command -v jupyter >/dev/null 2>&1 || ! jupyter nbconvert --version >/dev/null 2>&1; then
  say "error: jupyter nbconvert not found." >&2
  say "  Debian/Ubuntu: sudo apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel" >&2
  say "  elsewhere:     python3 -m pip install nbconvert nbclient ipykernel" >&2
  exit 1
fi

cd "$ROOT"
if [[ ${#NOTEBOOKS[@]} -eq 0 ]]; then
  shopt -s nullglob
  for nb in notebooks/*.ipynb; do NOTEBOOKS+=("$ROOT/$nb"); done
  shopt -u nullglob
  if [[ ${#NOTEBOOKS[@]} -eq 0 ]]; then say "no notebooks/*.ipynb to execute"; exit 0; fi
fi

if [[ $BUILD -eq 1 ]]; then say "npm run build"; npm run build --silent; fi
if [[ $REGISTER -eq 1 ]]; then bash "$ROOT/scripts/register-kernel.sh"; fi

# tslab never publishes `execute_input` on IOPub, and nbconvert's ExecutePreprocessor takes the execution
# count only from IOPub, so every cell would keep "execution_count": null. This hook (nbclient's
# on_cell_executed, set from a config file, which is plain Python) copies the count from tslab's
# execute_reply instead. tslab also reports a failing cell only as stderr text (no "error" output, an
# empty ename/evalue in the reply), so nbconvert's message would say just "<Error>:"; the hook prints
# the failing cell's own output, where the real error is, before nbconvert stops.
CONFIG="$(mktemp --suffix=.py)"
trap 'rm -f "$CONFIG"' EXIT
cat > "$CONFIG" <<'PY'
import sys

def _after_cell(cell, cell_index, execute_reply):
    content = (execute_reply or {}).get("content", {})
    n = content.get("execution_count")
    if cell.get("execution_count") is None and isinstance(n, int):
        cell["execution_count"] = n
    if content.get("status") == "error":
        parts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                parts.append(o.get("text", ""))
            elif o.get("output_type") == "error":
                parts.append("%s: %s\n%s" % (o.get("ename"), o.get("evalue"), "\n".join(o.get("traceback", []))))
        sys.stderr.write("\n=== cell %d (1-based) failed; its output:\n%s\n=== end of cell %d output\n"
                         % (cell_index + 1, "".join(parts).rstrip(), cell_index + 1))

c.ExecutePreprocessor.on_cell_executed = _after_cell
PY

ARGS=(--to notebook --execute --config="$CONFIG"
      --ExecutePreprocessor.kernel_name=tslab --ExecutePreprocessor.timeout=120)
if [[ -n "$OUT_DIR" ]]; then
  mkdir -p "$OUT_DIR"
  ARGS+=(--output-dir="$OUT_DIR")
else
  ARGS+=(--inplace)
fi

for nb in "${NOTEBOOKS[@]}"; do
  [[ -f "$nb" ]] || { say "error: no such notebook: $nb" >&2; exit 1; }
  say "executing ${nb#"$ROOT"/}"
  # One notebook per nbconvert call: a failure names its notebook and stops here.
  jupyter nbconvert "${ARGS[@]}" "$nb"
done
say "done: ${#NOTEBOOKS[@]} notebook(s)"
