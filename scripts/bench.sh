#!/usr/bin/env bash
# localyun's benchmark in one command: `bash scripts/bench.sh` prints a Markdown table (also written to
# target/bench-results.md). wrk (the external load generator) drives localyun and a bare axum baseline at
# 64 connections on 2 threads with pre-signed, distinct requests; see BENCHMARKS.md ("Method").
#
#   bash scripts/bench.sh            # every scenario, 3 runs of 3 s each (medians), about 4 minutes
#   bash scripts/bench.sh --quick    # 1 run of 1 s each
#   LOCALYUN_BENCH_RUNS=5 LOCALYUN_BENCH_SECONDS=5 bash scripts/bench.sh
#   LOCALYUN_BENCH_ONLY=Huawei bash scripts/bench.sh   # only scenarios whose name contains the text
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)..." >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi

# The binary users run (`cargo build --release`/`cargo run --release`, the Docker image), copied aside: a
# `cargo bench` build of it differs in its symbol names (dev-dependency features change the crates' hashes),
# so build.rs's start-up ordering (link/startup-symbols.txt) would not apply and idle memory would be
# measured on a binary nobody runs.
if [ -z "${LOCALYUN_BENCH_BIN:-}" ]; then
  cargo build --release --locked --bin localyun
  mkdir -p target/bench-bin
  cp target/release/localyun target/bench-bin/localyun
  export LOCALYUN_BENCH_BIN=$PWD/target/bench-bin/localyun
fi
exec cargo bench --bench localyun -- wrk "$@"
