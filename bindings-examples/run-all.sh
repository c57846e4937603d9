#!/usr/bin/env bash
# Builds libshinny (release) and the SHIN-NY rules artifact once, then runs
# every binding example against SHIN-NY example bundles, the C example
# under valgrind and the 8-thread C test. Installs nothing: run ci-deps.sh
# first on a fresh machine. Exits non-zero on the first failure.
#
# Environment: SHINNY_PACKAGES (default ../shared/fhir-packages beside the
# repository), CC, CXX.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
packages="${SHINNY_PACKAGES:-$root/../shared/fhir-packages}"
examples="$packages/us.ny.hrsn#1.9.4/package/example"
valid="$examples/Bundle-AHCHRSNQuestionnaireResponseExample.json"
lib="$root/target/release"
out="$root/target/bindings-examples"
rules="$root/target/shinny.rules"
CC="${CC:-cc}"
CXX="${CXX:-c++}"
mkdir -p "$out"
cd "$root"

echo "== build libshinny and the CLI (release)"
cargo build --release -p shinny-ffi -p shinny-cli
echo "== rules artifact"
"$lib/shinny" compile --package-dir "$packages" -o "$rules"
python3 "$here/make-fixtures.py" "$valid" "$out/fixtures"

# logged LOG CMD...: runs CMD with its output in LOG, shown on failure.
logged() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "FAILED: $*" >&2; return 1; }
}

# cases NAME CMD...: the valid bundle passes, each broken bundle reports its
# message id, and asking for an id that is not there fails (so the check
# itself can fail).
cases() {
    local name=$1
    shift
    echo "-- $name: valid bundle has no error"
    logged "$out/$name-valid.log" "$@" "$rules" "$valid"
    echo "-- $name: Bundle.type removed -> CARDINALITY_MIN"
    logged "$out/$name-missing.log" "$@" "$rules" "$out/fixtures/missing-type.json" CARDINALITY_MIN
    echo "-- $name: unknown property -> ELEMENT_UNKNOWN"
    logged "$out/$name-unknown.log" "$@" "$rules" "$out/fixtures/unknown-element.json" ELEMENT_UNKNOWN
    echo "-- $name: a wrong expectation is detected"
    if "$@" "$rules" "$valid" CARDINALITY_MIN >/dev/null 2>&1; then
        echo "FAILED: $name accepted a message id that is not reported" >&2
        return 1
    fi
}

echo "== C"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -I ffi/include bindings-examples/c/validate.c \
    "$lib/libshinny.a" -lpthread -ldl -lm -o "$out/c-validate"
cases c "$out/c-validate"

echo "== C: the header's safety contract (NULL, invalid UTF-8, errors, policy, ownership)"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -I ffi/include bindings-examples/c/contract.c \
    "$lib/libshinny.a" -lpthread -ldl -lm -o "$out/c-contract"
"$out/c-contract" "$rules" "$out/fixtures/missing-type.json"

echo "== C under valgrind"
# "possibly lost" is not counted: the engine's process-wide caches (the
# FHIRPath regex cache, a hash table that valgrind sees only through
# interior pointers) live until exit by design. Definite and indirect
# leaks, and every invalid access, fail the run.
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1)
"${vg[@]}" "$out/c-validate" "$rules" "$valid" >/dev/null
"${vg[@]}" "$out/c-validate" "$rules" "$out/fixtures/missing-type.json" CARDINALITY_MIN >/dev/null
"${vg[@]}" "$out/c-contract" "$rules" "$out/fixtures/missing-type.json" >/dev/null
echo "valgrind: no leaks, no invalid accesses"

echo "== C, 8 threads on one context"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -pthread -I ffi/include bindings-examples/c/threads.c \
    "$lib/libshinny.a" -lpthread -ldl -lm -o "$out/c-threads"
"$out/c-threads" "$rules" "$examples"/Bundle-*.json "$out"/fixtures/*.json

echo "== C++"
"$CXX" -std=c++17 -O2 -Wall -Wextra -Werror -I ffi/include bindings-examples/cpp/validate.cpp \
    -L "$lib" -lshinny -Wl,-rpath,"$lib" -o "$out/cpp-validate"
cases cpp "$out/cpp-validate"

echo "== Python (ctypes)"
cases python env SHINNY_LIB="$lib/libshinny.so" python3 bindings-examples/python/validate.py

echo "== Node (koffi)"
cases node env SHINNY_LIB="$lib/libshinny.so" node bindings-examples/node/validate.js

echo "== Go (cgo)"
(cd bindings-examples/go && go build -buildvcs=false -o "$out/go-validate" .)
cases go "$out/go-validate"

echo "== all binding examples passed"
