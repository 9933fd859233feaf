#!/usr/bin/env bash
# Register the tslab (TypeScript) Jupyter kernel from this project's own node_modules.
#
#   bash scripts/register-kernel.sh          # idempotent: no-op if already registered to this checkout
#   bash scripts/register-kernel.sh --force  # reinstall anyway
#
# Runs `tslab install --user --python=<py> --binary=<abs path to node_modules/.bin/tslab>`, which writes
# the kernelspecs "tslab" (TypeScript) and "jslab" (JavaScript) to the per-user kernel dir
# ($JUPYTER_DATA_DIR/kernels, default ~/.local/share/jupyter/kernels). Any Jupyter on the machine finds
# them there, whichever Python it runs on.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TSLAB="$ROOT/node_modules/.bin/tslab"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

say() { printf '[register-kernel] %s\n' "$*"; }

if [[ ! -x "$TSLAB" ]]; then
  say "error: $TSLAB not found; run 'npm ci' (or 'npm install') in $ROOT first" >&2
  exit 1
fi

# tslab's install.py needs a Python that imports jupyter_client and IPython (Debian: python3-ipykernel).
# /usr/bin/python3 first: on machines with pyenv/conda, "python3" on PATH is often not the Jupyter one.
PYTHON=""
for py in ${PYTHON_FOR_JUPYTER:-} /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import jupyter_client, IPython' >/dev/null 2>&1; then
    PYTHON="$(command -v "$py")"
    break
  fi
done
if [[ -z "$PYTHON" ]]; then
  say "error: no Python with jupyter_client + IPython found." >&2
  say "  Debian/Ubuntu: sudo apt-get install jupyter-client python3-ipykernel" >&2
  say "  elsewhere:     python3 -m pip install jupyter_client ipykernel" >&2
  exit 1
fi

# Where the user kernelspec lives (honours JUPYTER_DATA_DIR like jupyter itself does).
DATA_DIR="$("$PYTHON" -c 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())')"
SPEC="$DATA_DIR/kernels/tslab/kernel.json"

if [[ $FORCE -eq 0 && -f "$SPEC" ]] &&
   "$PYTHON" - "$SPEC" "$TSLAB" <<'PY'
import json, sys
argv = json.load(open(sys.argv[1])).get("argv", [])
sys.exit(0 if argv[:1] == [sys.argv[2]] else 1)
PY
then
  say "tslab kernel already registered: $SPEC -> $TSLAB"
  exit 0
fi

say "registering tslab kernel: $TSLAB (python: $PYTHON)"
# Call the project's binary directly (what `npx tslab` resolves to) so npx can never fetch a different tslab.
"$TSLAB" install --user --python="$PYTHON" --binary="$TSLAB"
say "kernelspec written: $SPEC"
