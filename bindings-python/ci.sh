#!/usr/bin/env bash
# The Python module's check: a fresh virtualenv, `pip install ./bindings-python` (the maturin
# build, profile `bindings`), then the pytest suite and the stub check.
# Usage: bindings-python/ci.sh   (PYTHON=python3 by default; CARGO_TARGET_DIR is respected)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
venv="$(mktemp -d "${TMPDIR:-/tmp}/modelyard-python.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
started=$SECONDS
"$venv/bin/python" -m pip install --quiet ./bindings-python
echo "pip install ./bindings-python: $((SECONDS - started)) s"
"$venv/bin/python" -m pip install --quiet pytest numpy pandas mypy
# Run from the tests directory so the installed package, not the source tree, is imported.
# pytest exits 5 when it collected no test: that is a failure here too.
(cd bindings-python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
# The stubs must match the module: every name, signature and class.
(cd bindings-python/tests && "$venv/bin/python" -m mypy.stubtest modelyard._native)
# The package's own Python, strictly typed.
"$venv/bin/python" -m mypy --strict bindings-python/python/modelyard
