#!/usr/bin/env bash
# A/B timing on this noisy 2-core VM: runs build A and build B of the same
# example at the same time, one per core (swapping cores every round), so
# that both see the same minutes of the machine. Sequential runs drift by
# up to 40% within minutes here; the per-round ratio B/A does not.
#
#   benches/paired.sh ROUNDS BIN_A BIN_B [ARGS...]
#   benches/paired.sh 8 /work/wt-base/target/release/examples/largest \
#       target/release/examples/largest 200 all
#
# Each binary must print its time as the first "<number> ms" or
# "<number> us" of its output (as `examples/largest.rs` does). Prints each
# round's A, B and B/A, then the median ratio. The two runs share the
# last-level cache and memory bandwidth, so absolute figures read a little
# higher than alone; the ratio is what this is for.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,16p' "$0"; exit 2; }
command -v taskset >/dev/null || { echo "paired: needs taskset (util-linux)" >&2; exit 1; }
ROUNDS="$1"; A="$2"; B="$3"; shift 3
OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
first_time() { grep -oE '[0-9]+(\.[0-9]+)? (ms|us)' "$1" | head -n 1 | cut -d' ' -f1; }
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then ca=0; cb=1; else ca=1; cb=0; fi
    taskset -c "$ca" "$A" "$@" > "$OUT/a" &
    pa=$!
    taskset -c "$cb" "$B" "$@" > "$OUT/b"
    wait "$pa"
    echo "$(first_time "$OUT/a") $(first_time "$OUT/b")"
done | awk '
    { r = $2 / $1; ratios[NR] = r; printf "A %s  B %s  B/A %.3f\n", $1, $2, r }
    END {
        n = NR
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (ratios[j] < ratios[i]) { t = ratios[i]; ratios[i] = ratios[j]; ratios[j] = t }
        m = (n % 2) ? ratios[(n + 1) / 2] : (ratios[n / 2] + ratios[n / 2 + 1]) / 2
        printf "median B/A %.3f (min %.3f, max %.3f, %d rounds)\n", m, ratios[1], ratios[n], n
    }'
