#!/usr/bin/env bash
# Runs the dashboard's browser end-to-end test against a built modelyard-server.
# Usage: MODELYARD_SERVER_BIN=target/release/modelyard-server examples/server/e2e/run.sh
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${MODELYARD_SERVER_BIN:-}" && -z "${MODELYARD_E2E_URL:-}" ]]; then
  echo "e2e: set MODELYARD_SERVER_BIN to the modelyard-server binary (cargo build -p modelyard-server)" >&2
  exit 2
fi

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium_path" ]]; then
  echo "e2e: installing Debian's chromium"
  if [[ "$(id -u)" == 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

if ! command -v node >/dev/null; then
  echo "e2e: node is required (apt-get install -y nodejs npm)" >&2
  exit 2
fi

if [[ ! -d node_modules/playwright-core || ! -d node_modules/axe-core ]]; then
  echo "e2e: installing node dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The SSE reader first: quick, and a broken reader would only show as a stuck chart below.
node --test sse-parser.test.mjs
exec node e2e.mjs
