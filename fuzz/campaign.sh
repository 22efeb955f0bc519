#!/usr/bin/env bash
# Fuzzing campaigns: every target (or the ones named) for DURATION seconds each, JOBS at
# a time, under AddressSanitizer, with -rss_limit_mb=256 -timeout=2 (issue 8, item 7).
#
#   fuzz/campaign.sh 1200                  # 20 minutes per target, two at a time
#   fuzz/campaign.sh 60 zip_reader boxes   # a one-minute smoke run of two targets
#   JOBS=1 SANITIZER=none fuzz/campaign.sh 300
#   BUILD=0 fuzz/campaign.sh 150 boxes     # run what is already built
#   BUILD=0 SUMMARY_ONLY=1 OUT=campaigns/<stamp> fuzz/campaign.sh 150 boxes   # re-summarise
#
# A target that crashes is restarted with the time it has left, so that it still gets
# its full DURATION; every crash, OOM and timeout is counted and its input kept under
# fuzz/artifacts/<target>/. Inputs under fuzz/seeds/<target>/ and fuzz/regressions/<target>/
# are run first (read-only); what libFuzzer finds grows fuzz/corpus/<target>/.
# The summary table (markdown) goes to stdout and to fuzz/campaigns/<stamp>/summary.md.
# Exit status: 0 when no target crashed, 1 when any did, 2 when the build failed.
#
# Stable Rust: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass -Zsanitizer=address to the stable
# compiler (the ASan runtime ships with stable). SANITIZER=none builds without it
# (faster, but libFuzzer then cannot see a single large allocation: -rss_limit_mb only
# samples RSS once a second, while ASan's malloc hook refuses any one allocation over it).
set -euo pipefail
cd "$(dirname "$0")"

DURATION=${1:-1200}
shift || true
ALL=(zip_reader header_decoding mbox_split boxes auth_results message)
TARGETS=("${@:-${ALL[@]}}")
JOBS=${JOBS:-2}
SANITIZER=${SANITIZER:-address}
RSS_MB=${RSS_MB:-256}
TIMEOUT=${TIMEOUT:-2}
EXTRA=${EXTRA:-}   # more libFuzzer flags, e.g. EXTRA="-max_len=65536"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-campaigns/$STAMP}
# ASan keeps 256 MB of freed memory in quarantine by default, which counts against
# -rss_limit_mb=256; a smaller quarantine keeps the limit about the program's memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
mkdir -p "$OUT"

build_start=$(date +%s)
build() {
    echo "building ${*:-all targets} (sanitizer $SANITIZER)" >&2
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz build -s "$SANITIZER" "$@" >>"$OUT/build.log" 2>&1; then
        tail -30 "$OUT/build.log" >&2
        echo "build failed; log in fuzz/$OUT/build.log" >&2
        exit 2
    fi
}
if [[ ${BUILD:-1} != 0 ]]; then
    # All targets in one cargo run, so the library is compiled once.
    if [[ ${#TARGETS[@]} == "${#ALL[@]}" ]]; then build; else for t in "${TARGETS[@]}"; do build "$t"; done; fi
fi
echo "built in $(( $(date +%s) - build_start )) s" >&2
# cargo-fuzz keeps the ASan build in target/<triple>/release; -s none goes to the same
# place, so the last build wins.
BIN=target/$TRIPLE/release

# One target for DURATION seconds; restarts after a crash with the time left.
run_one() {
    local t=$1 log="$OUT/$1.log" start now left round=0
    mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t" "regressions/$t"
    : >"$log"
    start=$(date +%s)
    left=$DURATION
    while (( left > 0 )); do
        round=$((round + 1))
        echo "=== round $round: $left s left" >>"$log"
        # shellcheck disable=SC2086
        "$BIN/$t" "corpus/$t" "seeds/$t" "regressions/$t" \
            -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
            -max_total_time="$left" -print_final_stats=1 \
            -artifact_prefix="artifacts/$t/" $EXTRA >>"$log" 2>&1 || true
        now=$(date +%s)
        left=$(( DURATION - (now - start) ))
        section=$(sed -n "/^=== round $round:/,\$p" "$log")
        # No crash: the time is up (or libFuzzer stopped by itself). A crash before
        # "INITED" is an input in seeds/ or regressions/: it would crash every round.
        grep -q "Test unit written to" <<<"$section" || break
        grep -q "INITED" <<<"$section" || { echo "=== a seed or regression input crashes; not restarting" >>"$log"; break; }
    done
    echo $(( $(date +%s) - start )) >"$OUT/$t.seconds"
}

# Summary row for one target, from its log.
summarise() {
    local t=$1 log="$OUT/$1.log" execs cov ft crashes secs kinds
    # Executions: the sum over rounds of each round's last "#N" (or the final stats).
    execs=$(awk '
        /^=== round/ { total += last; last = 0 }
        /^stat::number_of_executed_units:/ { last = $2 }
        /^#[0-9]+\t/ { n = substr($1, 2) + 0; if (n > last) last = n }
        END { print total + last }' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
    crashes=$(grep -c "Test unit written to" "$log" || true)
    secs=$(cat "$OUT/$t.seconds" 2>/dev/null || echo 0)
    kinds=$(grep -oE "ERROR: (libFuzzer: [a-z][a-z -]*[a-z]|AddressSanitizer: [a-z-]+)|panicked at [^:]+:[0-9]+" "$log" | sed 's/ERROR: //; s#/root/.cargo/registry/src/[^/]*/##; s#'"$(cd .. && pwd)"'/##' | sort | uniq -c | awk '{c=$1; $1=""; printf "%s%s×%d", sep, substr($0,2), c; sep="; "}' || true)
    printf '| %s | %s | %s s | cov %s, ft %s | %s |\n' "$t" "${execs:-0}" "$secs" "${cov:-?}" "${ft:-?}" \
        "$( ((crashes == 0)) && echo "no crash" || echo "$crashes crash(es): $kinds (fuzz/artifacts/$t/)")"
}

for t in "${TARGETS[@]}"; do
    [[ ${SUMMARY_ONLY:-0} == 1 ]] && break
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
    echo "fuzzing $t for $DURATION s" >&2
    run_one "$t" &
done
wait

rm -rf /dev/shm/baosong-fuzz-* 2>/dev/null || true

{
    echo "Fuzzing campaign $STAMP: ${DURATION} s per target, $JOBS at a time, sanitizer $SANITIZER, -rss_limit_mb=$RSS_MB -timeout=$TIMEOUT $EXTRA"
    echo "(commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- ../src 2>/dev/null || echo ', with uncommitted changes in src/'))"
    echo
    echo "| target | executions | time | coverage | result |"
    echo "|---|---|---|---|---|"
    for t in "${TARGETS[@]}"; do summarise "$t"; done
} | tee "$OUT/summary.md"

logs=()
for t in "${TARGETS[@]}"; do logs+=("$OUT/$t.log"); done
if grep -q "Test unit written to" "${logs[@]}"; then exit 1; fi
