#!/usr/bin/env bash
# Profile-guided build of the binaries to deploy, `shinny` and
# `shinny-service`, and optionally of more targets in the same build (the
# arguments, added to its `cargo build`):
#
#   scripts/pgo-build.sh
#   scripts/pgo-build.sh -p shinny-suite --example largest --features shinny-suite/mimalloc
#
# More targets must be built in the same `cargo build` as the binaries:
# a profile is matched to functions by their symbol names, and the
# engine's symbols differ between builds that select other packages or
# features.
#
# 1. builds them instrumented (`-Cprofile-generate`, the `dist` profile);
# 2. trains them: `shinny validate` on the SHIN-NY *test* IG's example
#    bundles (canonicals `http://test.shinny.org/...`, validated against the
#    test context), the official R4 examples and a slice of the Synthea
#    corpus; then the service, which gets the test IG's bundles posted to
#    `$validate` and `/Bundle` and is stopped with SIGTERM (a graceful
#    shutdown writes its profile);
# 3. merges the profiles with the toolchain's `llvm-profdata` (rustup's
#    `llvm-tools` component, installed when missing);
# 4. builds again with `-Cprofile-use`: binaries in `target/pgo/dist/`.
#
# The production IG's examples (what `service/loadtest.sh` and
# `examples/largest.rs` time) are not among the training inputs; the test
# IG's are the same documents under other canonical URLs, which is what a
# deployment would train on. Set TRAIN_SHINNY=0 to train on the R4
# examples and Synthea alone.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PACKAGES="${FHIR_PACKAGE_CACHE:-$ROOT/../shared/fhir-packages}"
CORPUS="${CORPUS:-$ROOT/../shared/corpus}"
TRAIN_SHINNY="${TRAIN_SHINNY:-1}"
WORK="$ROOT/target/pgo-work"
GEN_DIR="$ROOT/target/pgo-gen"
OUT_DIR="$ROOT/target/pgo"
PORT="${PORT:-18282}"

# The LLVM of rustc itself: a profile is only read by the LLVM that wrote
# it, so Debian's llvm-profdata (another version) will not do.
SYSROOT="$(rustc --print sysroot)"
HOST="$(rustc -vV | sed -n 's/^host: //p')"
PROFDATA="$SYSROOT/lib/rustlib/$HOST/bin/llvm-profdata"
if [ ! -x "$PROFDATA" ]; then
    echo "pgo: installing rustup's llvm-tools component" >&2
    rustup component add llvm-tools >&2
fi
[ -x "$PROFDATA" ] || { echo "pgo: no llvm-profdata at $PROFDATA" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK/build" "$WORK/train"

echo "== pgo: instrumented build" >&2
# Build scripts are instrumented too; their profiles go to build/ and are
# not merged (training runs write to train/, see LLVM_PROFILE_FILE).
BUILD_ARGS=(--profile dist -p shinny-cli -p shinny-service --bins "$@")
RUSTFLAGS="-Cprofile-generate=$WORK/build" CARGO_TARGET_DIR="$GEN_DIR" cargo build "${BUILD_ARGS[@]}"

SHINNY="$GEN_DIR/dist/shinny"
TEST_EXAMPLES="$PACKAGES/us.ny.hrsn#1.9.4-test/package/example"
SYNTHEA="$(find "$CORPUS/synthea-r4" -name '*.json' | sort | sed -n '1,20p')"
# Validation findings are expected (exit code 1); only a failure is not.
shinny() {
    local code=0
    "$SHINNY" "$@" >/dev/null 2>&1 || code=$?
    if [ "$code" -gt 1 ]; then
        echo "pgo: shinny $* exited with $code" >&2
        exit 1
    fi
}

# A deployment compiles its contexts once and then validates for days, so
# the profile should be validation's: contexts are compiled, and the
# service's rules artifact written, with their profiles thrown away (a
# profile weighted by compiling 3,000 package files would mark validation
# code as cold).
echo "== pgo: compiling the training contexts (not profiled)" >&2
export SHINNY_CACHE_DIR="$WORK/cache"
export LLVM_PROFILE_FILE="$WORK/discard/%p-%m.profraw"
shinny validate --package-dir "$PACKAGES" --ig 'us.ny.hrsn#1.9.4-test' "$TEST_EXAMPLES"
shinny validate --package-dir "$PACKAGES" --ig 'hl7.fhir.r4.core#4.0.1' "$CORPUS/r4-examples"
shinny compile --package-dir "$PACKAGES" --ig 'us.ny.hrsn#1.9.4-test' -o "$WORK/test.rules"

echo "== pgo: training the CLI" >&2
export LLVM_PROFILE_FILE="$WORK/train/%p-%m.profraw"
if [ "$TRAIN_SHINNY" = 1 ]; then
    # Several passes, so that validation outweighs loading the context.
    shinny validate --jobs 1 --package-dir "$PACKAGES" --ig 'us.ny.hrsn#1.9.4-test' \
        "$TEST_EXAMPLES" "$TEST_EXAMPLES" "$TEST_EXAMPLES" "$TEST_EXAMPLES" "$TEST_EXAMPLES"
fi
shinny validate --jobs 1 --package-dir "$PACKAGES" --ig 'hl7.fhir.r4.core#4.0.1' "$CORPUS/r4-examples"
# shellcheck disable=SC2086
shinny validate --jobs 1 --package-dir "$PACKAGES" --ig 'hl7.fhir.r4.core#4.0.1' $SYNTHEA

if [ "$TRAIN_SHINNY" = 1 ]; then
    echo "== pgo: training the service" >&2
    KEY="pgo-training-key"
    KEY_SHA="$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)"
    cat > "$WORK/config.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
mode = "gateway"

[storage]
backend = "sqlite"
sqlite_path = "$WORK/train.db"

[[validation.contexts]]
name = "1.9.4-test"
rules = "$WORK/test.rules"

[[tenants]]
id = "pgo"
name = "PGO training"
api_key_sha256 = ["$KEY_SHA"]
TOML
    RUST_LOG=warn "$GEN_DIR/dist/shinny-service" --config "$WORK/config.toml" 2>"$WORK/service.log" &
    PID=$!
    trap 'kill "$PID" 2>/dev/null || true' EXIT
    for _ in $(seq 1 240); do
        curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/service.log" >&2; exit 1; }
        sleep 0.5
    done
    ok=0
    failed=0
    for _ in $(seq 1 5); do
        for f in "$TEST_EXAMPLES"/Bundle-*.json; do
            for path in '/Bundle/$validate' '/Bundle'; do
                status="$(curl -s -o /dev/null -w '%{http_code}' -X POST \
                    -H "X-TechBD-Tenant-ID: pgo" -H "X-API-Key: $KEY" \
                    -H "Content-Type: application/fhir+json" --data-binary @"$f" \
                    "http://127.0.0.1:$PORT$path")"
                case "$status" in 2??) ok=$((ok + 1)) ;; *) failed=$((failed + 1)) ;; esac
            done
        done
    done
    kill -TERM "$PID"
    wait "$PID" || { echo "pgo: the service did not stop cleanly" >&2; cat "$WORK/service.log" >&2; exit 1; }
    trap - EXIT
    echo "pgo: service training: $ok requests answered 2xx, $failed otherwise" >&2
    [ "$ok" -gt 0 ] && [ "$failed" -eq 0 ] || { cat "$WORK/service.log" >&2; exit 1; }
fi

echo "== pgo: merging $(ls "$WORK/train" | wc -l) profiles" >&2
"$PROFDATA" merge -o "$WORK/merged.profdata" "$WORK/train"
# Cargo compares RUSTFLAGS as text, not the file it names: a profile under
# a name of its own content makes a new profile rebuild everything.
PROFILE_USE="$ROOT/target/pgo-$(sha256sum "$WORK/merged.profdata" | cut -c1-16).profdata"
rm -f "$ROOT"/target/pgo-*.profdata
cp "$WORK/merged.profdata" "$PROFILE_USE"

echo "== pgo: optimized build" >&2
RUSTFLAGS="-Cprofile-use=$PROFILE_USE" CARGO_TARGET_DIR="$OUT_DIR" cargo build "${BUILD_ARGS[@]}"
echo "pgo: binaries in $OUT_DIR/dist/" >&2
