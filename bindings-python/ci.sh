#!/usr/bin/env bash
# The Python module's check: a fresh virtualenv, `pip install ./bindings-python` (the maturin
# build), then the pytest suite and the stub check.
# Usage: bindings-python/ci.sh   (PYTHON=python3 by default; CARGO_TARGET_DIR is respected)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
venv="$(mktemp -d "${TMPDIR:-/tmp}/modelyard-python.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Users' installs build the `bindings` profile (pyproject.toml). Here the module is built in
# cargo's `dev` profile instead (dependencies at opt-level 2): CI does not optimise the whole
# stack a third time.
export MATURIN_PEP517_ARGS="${MATURIN_PEP517_ARGS:---profile dev}"
# The host triple, named: napi's CLI always passes `--target`, which puts artifacts in a directory
# of their own, so the Python module is built the same way and the two bindings (same features)
# share every dependency instead of each compiling the stack.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
started=$SECONDS
"$venv/bin/python" -m pip install --quiet ./bindings-python
echo "pip install ./bindings-python: $((SECONDS - started)) s"
"$venv/bin/python" -m pip install --quiet pytest numpy pandas tqdm mypy
# Run from the tests directory so the installed package, not the source tree, is imported.
# pytest exits 5 when it collected no test: that is a failure here too.
(cd bindings-python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
# The stubs must match the module: every name, signature and class.
# mypy's caches go to the virtualenv, not into the checkout.
export MYPY_CACHE_DIR="$venv/mypy-cache"
(cd bindings-python/tests && "$venv/bin/python" -m mypy.stubtest modelyard._native)
# The package's own Python and the examples, strictly typed.
"$venv/bin/python" -m mypy --strict bindings-python/python/modelyard examples/python
# The examples run as a user runs them.
examples="$(mktemp -d "${TMPDIR:-/tmp}/modelyard-examples.XXXXXX")"
trap 'rm -rf "$venv" "$examples"' EXIT
"$venv/bin/python" examples/python/quickstart.py "$examples/quickstart" >"$examples/quickstart.log"
grep -q "test accuracy" "$examples/quickstart.log" || { cat "$examples/quickstart.log"; exit 1; }
"$venv/bin/python" examples/python/aio_train.py "$examples/aio" >"$examples/aio.log"
grep -q "completed" "$examples/aio.log" || { cat "$examples/aio.log"; exit 1; }
echo "examples/python: quickstart and aio_train ran"
