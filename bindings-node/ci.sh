#!/usr/bin/env bash
# The Node addon's check: `npm ci` (its `prepare` script builds the addon with napi), the
# generated index.js / index.d.ts must be the committed ones, `tsc --noEmit` over the typed
# example, the node --test suite, and the quickstart run as a user runs it.
# Usage: bindings-node/ci.sh   (CARGO_TARGET_DIR is respected)
set -euo pipefail
cd "$(dirname "$0")"
# Users' installs build the `bindings` profile (build.mjs). Here the addon is built in cargo's
# `dev` profile, for the host triple named as bindings-python/ci.sh builds the Python module:
# the two share every dependency in the shared target dir.
export MODELYARD_BUILD_PROFILE="${MODELYARD_BUILD_PROFILE:-dev}"
started=$SECONDS
npm ci --no-audit --no-fund
echo "npm ci (with the addon's build): $((SECONDS - started)) s"
# napi writes the loader and the types on every build: a change to the Rust API that was not
# committed with its regenerated index.d.ts fails here.
if ! git diff --exit-code -- index.js index.d.ts; then
  echo "error: index.js / index.d.ts are stale: run \`npm install\` in bindings-node and commit them" >&2
  exit 1
fi
npx tsc -p tsconfig.json
node --test tests/
examples="$(mktemp -d "${TMPDIR:-/tmp}/modelyard-node-examples.XXXXXX")"
trap 'rm -rf "$examples"' EXIT
node ../examples/node/quickstart.mjs "$examples/quickstart" >"$examples/quickstart.log"
grep -q "test accuracy" "$examples/quickstart.log" || { cat "$examples/quickstart.log"; exit 1; }
echo "examples/node: quickstart ran"
# The original platform's Express routes on the addon, over real HTTP (its own package, which
# links this one: its install runs our `prepare` again, a no-op rebuild).
(cd ../examples/node/express && npm ci --no-audit --no-fund && node --test test/)
