#!/usr/bin/env bash
# Writes link/startup-symbols.txt: the functions of the release binary that run from start-up until the
# server is idle, which build.rs hands to the linker (LLD's --symbol-ordering-file) so they sit together at
# the start of the code. The kernel maps code 64 KiB at a time around every page touched, so grouping the
# ~1.3 MiB that start-up runs keeps the rest of the 17 MiB of code out of an idle process (issue 16).
#
# Run it after changes that move much start-up code (or a new Rust version: symbol names change); a stale
# file costs memory, never correctness. Needs valgrind (callgrind lists every function executed).
#   bash scripts/startup-symbols.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

cargo build --release --locked --bin localyun
bin=$PWD/target/release/localyun
work=$(mktemp -d)
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One run under callgrind: start with the given arguments, wait until healthy, optionally send one request,
# stay idle a second, then stop with SIGINT (a graceful shutdown).
run() {
    local name=$1; shift
    local http; http=$(port)
    LOCALYUN_KAFKA_PORT_OFFSET=21000 LOCALYUN_ROCKETMQ_PORT_OFFSET=21000 \
        valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$work/$name.%p.cg" "$bin" --port "$http" --tls-port "$(port)" \
        --tls-dir "$work/tls" "$@" >"$work/$name.out" 2>&1 &
    local pid=$!
    for _ in $(seq 1 240); do
        curl -sf "http://127.0.0.1:$http/_localyun/health" >/dev/null && break
        sleep 0.5
    done
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
}

run memory
run memory-again                      # the TLS certificate exists now: the usual start
run durable --data-dir "$work/data"   # a first start with a data folder...
run durable-again --data-dir "$work/data"  # ...and a restart that loads it
run fixtures --fixtures fixtures/example.yaml   # a user's fixture file (YAML) applied at start
run fixtures-durable --fixtures fixtures/example.yaml --data-dir "$work/data2"

nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$work/code.txt"
grep -hE '^c?fn=' "$work"/*.cg | sed -E 's/^c?fn=//' | sort -u >"$work/run.txt"
mkdir -p link
comm -12 "$work/code.txt" "$work/run.txt" >link/startup-symbols.txt
echo "link/startup-symbols.txt: $(wc -l <link/startup-symbols.txt) functions"
