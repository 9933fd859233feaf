#!/usr/bin/env bash
# `npm run notebooks`: build mmlab, register the tslab kernel, and open Jupyter on notebooks/.
# Extra arguments go to Jupyter, e.g. `npm run notebooks -- --no-browser --port 8899`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[notebooks] %s\n' "$*"; }

# Find a front end first, so a missing Jupyter is reported before a build.
APP=""
if command -v jupyter >/dev/null 2>&1; then
  if jupyter lab --version >/dev/null 2>&1; then
    APP=lab
  elif jupyter notebook --version >/dev/null 2>&1; then
    APP=notebook
  fi
fi
if [[ -z "$APP" ]]; then
  say "error: neither 'jupyter lab' nor 'jupyter notebook' is installed." >&2
  say "Install one, then run 'npm run notebooks' again:" >&2
  say "  Debian/Ubuntu:  sudo apt-get install jupyter-notebook" >&2
  say "  anywhere else:  python3 -m pip install --user notebook     (or: jupyterlab)" >&2
  exit 1
fi

cd "$ROOT"
say "npm run build"
npm run build --silent
bash "$ROOT/scripts/register-kernel.sh"

EXTRA=()
# Jupyter refuses to start as root without this flag (containers, VMs).
[[ "$(id -u)" == 0 ]] && EXTRA+=(--allow-root)
say "starting: jupyter $APP in notebooks/ (pick the \"TypeScript\" kernel; Ctrl+C twice to stop)"
cd "$ROOT/notebooks"
exec jupyter "$APP" "${EXTRA[@]}" "$@"
