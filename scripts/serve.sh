#!/usr/bin/env bash
# Sets up (first run) and starts the server on the embedded default: SQLite + in-process worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/lipforge serve "$@"
