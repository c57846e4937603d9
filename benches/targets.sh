#!/usr/bin/env bash
# The wall-clock targets of the invariants and service issues, measured
# and compared with their targets in one run:
#   - every invariant of the largest SHIN-NY bundle on one core < 1 ms
#     (`examples/largest.rs 50 alternate`: the median of 40 interleaved
#     pair differences, all checks minus structure only);
#   - `service/loadtest.sh` (SQLite, wrk on the same cores): 1,000
#     `$validate`/s and 300 stored/s, p99 under 100 ms.
#
#   bash benches/targets.sh                  # builds and measures `dist`
#   BIN_DIR=target/pgo/dist bash benches/targets.sh
#       # binaries built by `scripts/pgo-build.sh -p shinny-suite
#       # --example largest --features shinny-suite/mimalloc`
#
# A benchmark, not a test: .ci/run does not run it. Prints a verdict per
# target for this run only; on a shared virtual machine one run is one
# hour's reading, not a guarantee.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
if [ -z "${BIN_DIR:-}" ]; then
    cargo build -q --profile dist -p shinny-cli -p shinny-service --bins \
        -p shinny-suite --example largest --features shinny-suite/mimalloc
    BIN_DIR=target/dist
fi
dir="$(cd "$BIN_DIR" 2>/dev/null && pwd)" || { echo "targets: no folder $BIN_DIR (see the usage above)" >&2; exit 1; }
BIN_DIR="$dir"
for f in "$BIN_DIR/examples/largest" "$BIN_DIR/shinny-service"; do
    [ -x "$f" ] || { echo "targets: no $f (see the usage above)" >&2; exit 1; }
done
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "NOT met"; fi; }

echo "== $(date -u +%H:%M) UTC, $BIN_DIR, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
inv="$("$BIN_DIR/examples/largest" 50 alternate)"
echo "$inv"
med="$(echo "$inv" | sed -n 's/^invariants.*median \([0-9.]*\) ms.*/\1/p')"
[ -n "$med" ] || { echo "targets: no invariant figure in the output above" >&2; exit 1; }
echo "TARGET invariants < 1 ms: median $med ms: $(verdict "$med < 1")"

lt="$(SERVICE_BIN="$BIN_DIR/shinny-service" DURATION="${DURATION:-15}" bash service/loadtest.sh 2>&1)"
echo "$lt" | grep -E '^(RESULT|engine)'
field() { echo "$lt" | grep "^RESULT $1 " | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"; }
v_rps="$(field '/Bundle/\$validate' rps)"; v_p99="$(field '/Bundle/\$validate' p99_ms)"
s_rps="$(field '/Bundle' rps)"; s_p99="$(field '/Bundle' p99_ms)"
[ -n "$v_rps" ] && [ -n "$s_rps" ] || { echo "targets: the load test printed no RESULT lines:" >&2; echo "$lt" >&2; exit 1; }
echo "TARGET \$validate >= 1000/s, p99 < 100 ms: $v_rps/s, p99 $v_p99 ms: $(verdict "$v_rps >= 1000 && $v_p99 < 100")"
echo "TARGET stored >= 300/s, p99 < 100 ms: $s_rps/s, p99 $s_p99 ms: $(verdict "$s_rps >= 300 && $s_p99 < 100")"
