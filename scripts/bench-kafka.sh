#!/usr/bin/env bash
# Kafka data-plane benchmark (issue 11; figures in BENCHMARKS.md, "Kafka data plane"): single-producer
# produce and single-consumer fetch rates with confluent-kafka, 100-byte records, acks=1 and acks=all,
# localyun in memory and with --data-dir, against tansu (in-memory storage) and the loopback limit in the
# same run; localyun's start-up time and idle RSS.
#
#   scripts/bench-kafka.sh [RECORDS]      (default 300000)
#
# tansu: TANSU_BIN=/path/to/tansu, else `tansu` on PATH, else it is built once with
# `cargo install tansu --locked --features dynostore` (its in-memory storage engine, `memory://`, needs that
# feature) into ${XDG_CACHE_HOME:-~/.cache}/localyun-bench (a long build: about 400 crates; ~25 minutes on a
# busy 2-core machine). BENCH_NO_TANSU=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked
python3 -m venv .venv >/dev/null 2>&1 || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt

TANSU_BIN="${TANSU_BIN:-$(command -v tansu || true)}"
if [ -z "$TANSU_BIN" ] && [ "${BENCH_NO_TANSU:-0}" != 1 ]; then
    root="${XDG_CACHE_HOME:-$HOME/.cache}/localyun-bench"
    if [ ! -x "$root/bin/tansu" ]; then
        cargo install tansu --locked --features dynostore --root "$root"
    fi
    TANSU_BIN="$root/bin/tansu"
fi
[ "${BENCH_NO_TANSU:-0}" = 1 ] && TANSU_BIN=""

LOCALYUN_BIN="$PWD/target/release/localyun" TANSU_BIN="$TANSU_BIN" \
    .venv/bin/python tests/clients/bench.py "${1:-300000}"
