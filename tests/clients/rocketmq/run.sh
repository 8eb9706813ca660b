#!/usr/bin/env bash
# Real RocketMQ TCP clients against localyun's RocketMQ data plane: PyPI `rocketmq` (its wheel bundles the
# C++ client librocketmq), pinned in tests/clients/rocketmq/requirements.txt and installed into .venv, and
# npm `ali-ons` (Alibaba's Node.js ONS client), pinned by tests/clients/rocketmq/node/package-lock.json.
# The tests start target/debug/localyun themselves (LOCALYUN_BIN overrides) with the RocketMQ listener on a
# free port. An install failure is fatal when CI=true, else that client's tests are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export LOCALYUN_BIN="${LOCALYUN_BIN:-$PWD/target/debug/localyun}"

if command -v npm >/dev/null 2>&1 && (cd tests/clients/rocketmq/node && npm ci --no-audit --no-fund --silent); then
    # --test-force-exit: ali-ons keeps timers of a client whose start failed (the wrong-secret test) alive.
    node --test --test-force-exit tests/clients/rocketmq/node/ali_ons_test.js
else
    echo "tests/clients/rocketmq: npm ci failed (or no npm); ali-ons tests not run"
    [ "${CI:-}" != true ] || exit 1
fi

python3 -m venv .venv >/dev/null 2>&1 || python3 -m venv .venv
if .venv/bin/pip install --quiet --disable-pip-version-check -r tests/clients/rocketmq/requirements.txt; then
    # The file name does not start with test_, so the Kafka client run (pytest tests/clients) leaves it out.
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/clients/rocketmq/rocketmq_clients.py "$@"
else
    echo "tests/clients/rocketmq: pip install failed; PyPI rocketmq tests not run"
    [ "${CI:-}" != true ] || exit 1
fi
