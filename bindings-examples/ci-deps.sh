#!/usr/bin/env bash
# Installs what run-all.sh needs on a fresh Debian machine that already has
# the Rust toolchain: a C/C++ compiler, valgrind, Go, Node and npm, Python 3
# (apt packages, only those whose command is missing, so a machine with
# Node from elsewhere keeps it), and the Node example's koffi from its
# committed package-lock.json (npm). Downloads nothing else.
set -euo pipefail
cd "$(dirname "$0")"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi

need=()
have() { command -v "$1" >/dev/null 2>&1; }
{ have cc && have c++; } || need+=(build-essential)
have valgrind || need+=(valgrind)
have go || need+=(golang-go)
have node || need+=(nodejs)
have npm || need+=(npm)
have python3 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "apt: installing ${need[*]}"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# koffi ships prebuilt binaries in its npm package; its install script
# (which only picks one) is not needed, so scripts stay off.
(cd node && npm ci --ignore-scripts --no-audit --no-fund)
