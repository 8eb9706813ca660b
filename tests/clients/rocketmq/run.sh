#!/usr/bin/env bash
# Real RocketMQ TCP clients against localyun's RocketMQ data plane: PyPI `rocketmq` (its wheel bundles the
# C++ client librocketmq), pinned in tests/clients/rocketmq/requirements.txt and installed into .venv.
# The tests start target/debug/localyun themselves (LOCALYUN_BIN overrides) with the RocketMQ listener on a
# free port. An install failure is fatal when CI=true, else the tests are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/../../.."

python3 -m venv .venv >/dev/null 2>&1 || python3 -m venv .venv
if ! .venv/bin/pip install --quiet --disable-pip-version-check -r tests/clients/rocketmq/requirements.txt; then
    echo "tests/clients/rocketmq: pip install failed"
    [ "${CI:-}" != true ] || exit 1
    exit 0
fi
# The file name does not start with test_, so the Kafka client run (pytest tests/clients) does not collect it.
LOCALYUN_BIN="${LOCALYUN_BIN:-$PWD/target/debug/localyun}" \
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/clients/rocketmq/rocketmq_clients.py "$@"
