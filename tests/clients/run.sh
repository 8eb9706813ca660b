#!/usr/bin/env bash
# Real Kafka clients against localyun's data plane: kafka-python and confluent-kafka (PyPI, pinned in
# tests/clients/requirements.txt, installed into .venv), kcat (Debian package; installed with apt-get when
# missing and possible) and kafkajs (npm, pinned by tests/clients/node/package-lock.json). The tests start
# target/debug/localyun themselves (LOCALYUN_BIN overrides) with the Kafka listener on a free port.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v kcat >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq kcat >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq kcat >/dev/null 2>&1; }) \
        || { echo "tests/clients: kcat could not be installed"; [ "${CI:-}" != true ] || exit 1; }
fi
if command -v npm >/dev/null 2>&1; then
    (cd tests/clients/node && npm ci --no-audit --no-fund --silent) || { echo "tests/clients: npm ci failed"; [ "${CI:-}" != true ] || exit 1; }
fi

python3 -m venv .venv >/dev/null 2>&1 || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
LOCALYUN_BIN="${LOCALYUN_BIN:-$PWD/target/debug/localyun}" .venv/bin/python -m pytest -q -p no:cacheprovider tests/clients
