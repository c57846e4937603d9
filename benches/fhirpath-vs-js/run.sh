#!/usr/bin/env bash
# Side by side: every invariant of the SHIN-NY Bundle profile's root on the
# largest SHIN-NY example bundle, compiled once, evaluated per iteration by
# shinny (examples/invariants_time.rs) and by the reference JS engine (npm
# `fhirpath`, invariants.js). Both read the expressions from the
# StructureDefinition at run time. Prints both times and the ratio.
#
# Needs `npm ci` in this folder first. Usage: run.sh [seconds per side]
# A benchmark, not a test: .ci/run does not run it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="$root/../shared"
secs="${1:-5}"

if [ ! -d "$here/node_modules/fhirpath" ]; then
  echo "run 'npm ci' in $here first" >&2
  exit 2
fi

echo "== reference JS engine (fhirpath $(node -p "require('$here/node_modules/fhirpath/package.json').version"), node $(node --version))"
js="$(node "$here/invariants.js" "$shared" "$secs")"
echo "$js"
skip_args=()
for k in $(echo "$js" | sed -n 's/^skipped //p'); do skip_args+=(--skip "$k"); done

echo "== shinny"
(cd "$root" && cargo build --release --quiet --example invariants_time)
rs="$("$root/target/release/examples/invariants_time" --seconds "$secs" "${skip_args[@]}")"
echo "$rs"

js_us="$(echo "$js" | sed -n 's/^us_per_iter //p')"
rs_us="$(echo "$rs" | sed -n 's/^us_per_iter //p')"
rs_shared="$(echo "$rs" | sed -n 's/^us_per_iter_shared //p')"
js_res="$(echo "$js" | grep '^expressions ')"
rs_res="$(echo "$rs" | grep '^expressions ')"
echo "== result"
if [ "$js_res" != "$rs_res" ]; then
  echo "WARNING: the engines' outcomes differ: js '$js_res', shinny '$rs_res'"
fi
awk -v j="$js_us" -v r="$rs_us" -v s="$rs_shared" 'BEGIN {
  printf "per iteration: fhirpath.js %.1f us; shinny %.1f us each expression alone (%.1fx faster), %.1f us with the shared cache validation uses (%.1fx faster)\n", j, r, j / r, s, j / s
}'
echo "(wall-clock on this machine: other load on it skews both sides)"
