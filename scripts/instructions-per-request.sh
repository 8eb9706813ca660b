#!/usr/bin/env bash
# Instructions per request of one wrk scenario, counted by callgrind: a stable A/B measure on a busy machine
# (issue 16; BENCHMARKS.md "Method"). The wrk benchmark runs the server under valgrind twice, for 2 s and
# 5 s; the difference of the two instruction counts over the difference of the requests answered cancels
# start-up and fixtures. Valgrind runs SHA-1/SHA-256 in software: signature-heavy paths look costlier than on
# hardware, equally before and after.
#
#   bash scripts/instructions-per-request.sh <localyun binary> "<row name or part of it>"
#   e.g. cp target/release/localyun /tmp/new && bash scripts/instructions-per-request.sh /tmp/new "Tencent ListTopic"
#
# Needs valgrind and wrk. Copy the binaries you compare out of target/ first: building the benchmark
# (done here unless BENCH names its executable) rebuilds target/release/localyun with other features.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 <localyun binary> \"<scenario>\"" >&2; exit 2; }
real=$(readlink -f "$1")
scenario=$2
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
bench=${BENCH:-$(cargo bench --bench localyun --no-run 2>&1 | grep -o 'target/release/deps/localyun-[0-9a-f]*' | tail -1)}
work=$(mktemp -d)

# The benchmark kills its servers with SIGKILL, which would lose callgrind's counts: the wrapper leaves
# valgrind running (orphaned) and this script stops it with SIGTERM (a graceful exit) after the run.
cat >"$work/wrap.sh" <<EOF
#!/usr/bin/env bash
valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="\$CG_DIR/cg.%p.out" "$real" "\$@" 2>>"\$CG_DIR/valgrind.log" &
echo \$! >>"\$CG_DIR/pids"
wait
EOF
chmod +x "$work/wrap.sh"

declare -A instructions requests
for secs in 2 5; do
    dir="$work/run$secs"
    mkdir -p "$dir"
    CG_DIR=$dir LOCALYUN_BENCH_BIN="$work/wrap.sh" LOCALYUN_BENCH_RUNS=1 LOCALYUN_BENCH_SECONDS=$secs \
        LOCALYUN_BENCH_ONLY="$scenario" "$bench" wrk >"$dir/bench.txt" 2>&1 || true
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
    while read -r pid; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done <"$dir/pids"
    rps=$(grep -m1 "^| [^|]*${scenario}" "$dir/bench.txt" | awk -F'|' '{print $3}' | tr -d ' ')
    [ -n "$rps" ] || { echo "no result for \"$scenario\" (see $dir/bench.txt)" >&2; exit 1; }
    # The scenario's server is the first one started that ran more than start-up (the benchmark starts a
    # server per scenario to find the named one).
    file=$(for f in "$dir"/cg.*.out; do
        echo "$(grep -m1 '^summary:' "$f" | awk '{print $2}') ${f##*/cg.}"
    done | awk '$1 > 150000000' | sort -k2n | head -1 | awk '{print $2}')
    instructions[$secs]=$(grep -m1 '^summary:' "$dir/cg.$file" | awk '{print $2}')
    requests[$secs]=$(python3 -c "print(round($rps * $secs))")
    echo "  $secs s: $rps req/s under valgrind, ${instructions[$secs]} instructions ($dir/cg.$file)" >&2
done
python3 -c "print(f'$scenario: {(${instructions[5]} - ${instructions[2]}) / (${requests[5]} - ${requests[2]}):.0f} instructions/request')"
echo "(callgrind files in $work: callgrind_annotate <file> shows where)" >&2
