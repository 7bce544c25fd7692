#!/usr/bin/env bash
# The ml crate's Python interop check: trains two small models (all layer kinds; a class and a
# number target), writes their artifacts with Modelyard's predictions, and has numpy rebuild the
# forward pass from weights.safetensors + model.json alone (ml/tests/python/test_interop.py).
# Usage: ml/ci.sh   (PYTHON=python3 by default; CARGO_TARGET_DIR is respected)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip install --quiet numpy safetensors pytest
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
MODELYARD_INTEROP_DIR="$out" cargo test --quiet -p modelyard-ml --test interop
MODELYARD_INTEROP_DIR="$out" "$PYTHON" -m pytest -q ml/tests/python/test_interop.py
