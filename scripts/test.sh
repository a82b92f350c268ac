#!/usr/bin/env bash
# Installs what the tests need (venv, test extras, espeak-ng, Node packages) and runs pytest.
# PostgreSQL tests run when LIPFORGE_TEST_PG_URL is set or a server answers on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v espeak-ng >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
  else
    echo "espeak-ng is missing: sudo apt-get install espeak-ng" >&2; exit 1
  fi
fi
if ! command -v ip >/dev/null && [ "$(id -u)" = 0 ]; then
  # tests/storage runs workers in network namespaces (`ip netns`) as separate hosts
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
if ! fc-list :lang=zh 2>/dev/null | grep -q . && [ "$(id -u)" = 0 ]; then
  # tests/web renders the zh-CN pages in chromium: a Chinese font
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi
for tool in nginx:nginx openssl:openssl systemd-analyze:systemd; do
  if ! command -v "${tool%%:*}" >/dev/null && [ "$(id -u)" = 0 ]; then
    # tests/deploy: nginx (TLS) in front of two API processes; systemd-analyze verify on the units
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null
  fi
done
scripts/setup.sh test
if [ -f tests/js/package-lock.json ]; then
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi
if [ -z "${LIPFORGE_TEST_PG_URL:-}" ] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; then
  export LIPFORGE_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
fi
exec .venv/bin/python -m pytest "$@"
