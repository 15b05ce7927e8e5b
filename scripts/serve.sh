#!/usr/bin/env bash
# Builds proxywatch and runs `proxywatch serve` on the built-in defaults (or
# $PROXYWATCH_CONFIG): embedded store in ./proxywatch-data, loopback only, no
# remote feeds. Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
mkdir -p bin
CGO_ENABLED=0 go build -o bin/proxywatch ./cmd/proxywatch
exec bin/proxywatch serve "$@"
