#!/usr/bin/env bash
# Install everything the tests need from this repo's own files, then run the whole suite.
# Works on a fresh Debian machine with Python 3.11 (root, or a user with sudo for the apt step).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium drives the browser test (Playwright never downloads a browser here).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip uv
.venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -r requirements-dev.txt

# Style is checked, not hoped for (read-only: nothing here rewrites a tracked file).
.venv/bin/ruff check .
.venv/bin/ruff format --check .

# The test command never rewrites a tracked file (screenshots go to a temporary folder unless
# SPEND_UPDATE_SCREENSHOTS=1 asks for docs/ to be refreshed).
before="$(git status --porcelain 2>/dev/null || true)"
status=0
.venv/bin/python -m pytest "$@" || status=$?
after="$(git status --porcelain 2>/dev/null || true)"
if [ "$before" != "$after" ] && [ "${SPEND_UPDATE_SCREENSHOTS:-}" != "1" ]; then
  echo "error: the tests changed files in the work tree:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  status=1
fi
exit "$status"
