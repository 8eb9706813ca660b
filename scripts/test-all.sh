#!/usr/bin/env bash
# Runs the whole test suite: Rust unit and integration tests, then the vendor-SDK tests in tests/sdk/
# (installed into .venv from PyPI, pinned in tests/sdk/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked 2>/dev/null || cargo build
cargo test

python3 -m venv .venv >/dev/null 2>&1 || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
LOCALYUN_BIN="$PWD/target/debug/localyun" .venv/bin/python -m pytest -q tests/sdk
