#!/usr/bin/env bash
# Runs every test: installs the programs the integration tests need, then
# vet, staticcheck, the whole suite with the race detector (integration
# tests mandatory), and a short pass of every fuzz target.
#
#   bash scripts/test.sh           # everything (what CI runs)
#   FUZZTIME=0 bash scripts/test.sh  # skip the fuzz pass
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="$PATH:/usr/local/go/bin"
export PROXYWATCH_TEST_REQUIRE="${PROXYWATCH_TEST_REQUIRE:-all}"
fuzztime="${FUZZTIME:-2s}"

start=$(date +%s)
echo "== go vet"
go vet ./...
echo "== staticcheck"
go tool staticcheck ./...
echo "== dependency list"
go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./cmd/proxywatch | diff -u deps.txt - \
	|| { echo "deps.txt is out of date: regenerate it (see docs/ARCHITECTURE.md) and review the change" >&2; exit 1; }
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
if [ "$fuzztime" != "0" ]; then
	echo "== fuzz smoke pass ($fuzztime each)"
	for pkg in $(go list ./...); do
		for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			go test -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg" >/dev/null \
				|| { echo "fuzz $pkg $f failed" >&2; go test -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg"; exit 1; }
			echo "ok   $pkg $f"
		done
	done
fi
echo "== all tests passed in $(( $(date +%s) - start ))s"
