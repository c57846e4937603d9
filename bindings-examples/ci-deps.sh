#!/usr/bin/env bash
# Installs what run-all.sh needs on a fresh Debian machine that already has
# the Rust toolchain: a C/C++ compiler, valgrind, Go, Node and npm, Python 3
# (apt), and the Node example's koffi from its committed package-lock.json
# (npm). Downloads nothing else.
set -euo pipefail
cd "$(dirname "$0")"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    build-essential valgrind golang-go nodejs npm python3
# koffi ships prebuilt binaries in its package; its install script (which
# only picks one) is not needed, so scripts stay off.
(cd node && npm ci --ignore-scripts --no-audit --no-fund)
