#!/usr/bin/env bash
# One-step set-up on a fresh clone: a virtual environment in .venv with neurosafe installed.
#   bash scripts/setup.sh        # the package and its command line
#   bash scripts/setup.sh dev    # plus test tools and the peer libraries tests compare against
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip
# torch first, pinned to a CPU-friendly range (an open spec would pull a multi-GB CUDA build)
"${PIP[@]}" "torch>=2.4,<2.14"
if [ "${1:-}" = "dev" ]; then
  "${PIP[@]}" -e ".[dev]"
  # peers whose declared dependencies are broken or heavy: installed without them (see README)
  if [ -s scripts/nodeps.txt ]; then "${PIP[@]}" --no-deps -r scripts/nodeps.txt; fi
  # the report test renders HTML in a real headless browser: Debian's chromium (needs root or sudo)
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
else
  "${PIP[@]}" -e .
fi
