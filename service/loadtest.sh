#!/usr/bin/env bash
# Load test: starts a release shinny-service on 127.0.0.1 with SQLite in a
# temporary folder, then drives `POST /Bundle/$validate` and `POST /Bundle`
# with the SHIN-NY example bundles using Debian's wrk, printing requests/s
# and p50/p99 latency for each. Bounded: DURATION seconds per endpoint.
#
#   bash service/loadtest.sh            # DURATION=20 CONNECTIONS=16 PORT=18181 PROFILE=dist
#   STORAGE=postgres PG_URL="$(bash service/ci-postgres.sh | tail -n 1)" bash service/loadtest.sh
#   SERVICE_BIN=target/pgo/dist/shinny-service bash service/loadtest.sh   # a prebuilt binary
#                                       # (scripts/pgo-build.sh builds that one)
#
# Targets on a 2-core machine: 1,000 $validate/s and 300 stored
# submissions/s, p99 under 100 ms. wrk shares the cores with the service,
# so figures are conservative; other load on the machine makes them noisy.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${DURATION:-20}"
CONNECTIONS="${CONNECTIONS:-16}"
PORT="${PORT:-18181}"
PACKAGES="${FHIR_PACKAGE_CACHE:-$ROOT/../shared/fhir-packages}"
BUNDLE_DIR="${BUNDLE_DIR:-$PACKAGES/us.ny.hrsn#1.9.4/package/example}"

command -v wrk >/dev/null || { echo "loadtest: installing wrk" >&2; apt-get install -y -qq wrk >&2; }
# The shipped build (`dist`: one codegen unit, whole-program LTO; a few
# minutes the first time); PROFILE=release for a quicker build.
PROFILE="${PROFILE:-dist}"
if [ -n "${SERVICE_BIN:-}" ]; then
    BIN="$SERVICE_BIN"
else
    cargo build --profile "$PROFILE" -q -p shinny-service --manifest-path "$ROOT/Cargo.toml"
    BIN="$ROOT/target/$PROFILE/shinny-service"
fi
[ -x "$BIN" ] || { echo "loadtest: no service binary at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
KEY="load-test-key-$RANDOM$RANDOM"
KEY_SHA="$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)"
PG_LINE=""
if [ -n "${PG_URL:-}" ]; then PG_LINE="postgres_url = \"$PG_URL\""; fi
cat > "$WORK/config.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
mode = "gateway"
max_queued = 256

[storage]
backend = "${STORAGE:-sqlite}"
sqlite_path = "$WORK/shinny.db"
$PG_LINE

[validation]
package_dirs = ["$PACKAGES"]

[[validation.contexts]]
name = "1.9.4"
ig = "us.ny.hrsn#1.9.4"
extra_packages = ["local.shinny.vsac-subset#0.0.1"]

[[tenants]]
id = "load"
name = "Load Test QE"
api_key_sha256 = ["$KEY_SHA"]
TOML

RUST_LOG="${RUST_LOG:-warn}" "$BIN" --config "$WORK/config.toml" \
    2> "$WORK/service.log" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/service.log" >&2; exit 1; }
    sleep 0.5
done

run() {
    local path="$1"
    # Warm-up, then the measured run.
    BUNDLE_DIR="$BUNDLE_DIR" TARGET_PATH="$path" API_KEY="$KEY" \
        wrk -t1 -c4 -d2s -s "$ROOT/service/loadtest.lua" "http://127.0.0.1:$PORT" >/dev/null
    BUNDLE_DIR="$BUNDLE_DIR" TARGET_PATH="$path" API_KEY="$KEY" \
        wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/service/loadtest.lua" \
        "http://127.0.0.1:$PORT" | grep '^RESULT'
    # Mean time inside the engine (parse + validate) per request so far:
    # what the rest of each request's CPU is spent on can be read off it.
    curl -fs "http://127.0.0.1:$PORT/metrics" | awk '
        /^shinny_validation_duration_seconds_sum/ {s=$2}
        /^shinny_validation_duration_seconds_count/ {c=$2}
        END { if (c > 0) printf "engine: %.2f ms per validation (mean of %d, warm-ups included)\n", s*1000/c, c }'
}

echo "storage: ${STORAGE:-sqlite}"
echo "bundles: $(ls "$BUNDLE_DIR"/Bundle-*.json | wc -l) from $BUNDLE_DIR; ${DURATION}s each, $CONNECTIONS connections"
run '/Bundle/$validate'
run '/Bundle'
stored="$(curl -fs "http://127.0.0.1:$PORT/metrics" | awk '/^shinny_interactions_stored_total/ {print $2}')"
echo "stored interactions: $stored"
if [ -f "$WORK/shinny.db" ]; then
    echo "database: $(du -h "$WORK/shinny.db" | cut -f1) (+WAL $(du -h "$WORK/shinny.db-wal" 2>/dev/null | cut -f1))"
fi
