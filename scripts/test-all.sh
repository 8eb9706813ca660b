#!/usr/bin/env bash
# Runs the whole test suite (the README's test command; CI runs it through .ci/run):
#   formatting, the build (output shown, exactly the locked dependency versions), clippy with warnings as
#   errors, Rust unit and integration tests (including the replay of fuzz/corpus), then the vendor-SDK tests
#   in tests/sdk/ (installed into .venv from PyPI, pinned in tests/sdk/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check

# --locked: Cargo.lock is the truth; a manifest that disagrees with it fails here instead of silently
# resolving other versions. No fallback.
step "cargo build --locked --all-targets"
cargo build --locked --all-targets

step "cargo clippy --locked --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "cargo test --locked"
cargo test --locked

step "SDK tests (tests/sdk)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
LOCALYUN_BIN="$PWD/target/debug/localyun" .venv/bin/python -m pytest -q tests/sdk

step "Kafka client tests (tests/clients: kafka-python, confluent-kafka, kcat, kafkajs)"
bash tests/clients/run.sh
step "RocketMQ client tests (tests/clients/rocketmq: PyPI rocketmq, the C++ client)"; bash tests/clients/rocketmq/run.sh
