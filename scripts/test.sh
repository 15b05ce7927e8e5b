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
# The committed seed corpora (testdata/fuzz) already ran above, strictly, as part of go test. The
# smoke pass then explores for a few seconds per target: a new input it finds reveals an existing
# bug, not a regression of this change, so it is printed loudly and kept, and fails the run only
# with FUZZ_STRICT=1. Move a kept input to the package's testdata/fuzz-found/ and fix it.
found=0
if [ "$fuzztime" != "0" ]; then
	echo "== fuzz smoke pass ($fuzztime each)"
	for pkg in $(go list ./...); do
		for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			if out=$(go test -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
				echo "ok   $pkg $f"
			elif ! grep -q 'Failing input written' <<<"$out"; then
				# The engine's own deadline ("context deadline exceeded") on
				# a short -fuzztime is not a finding.
				echo "ok?  $pkg $f (no input failed: $(grep -m1 -E 'deadline|hung|terminated' <<<"$out" | tr -s ' '))"
			else
				found=$((found + 1))
				echo "NEW FUZZ FINDING in $pkg $f (kept under the package's testdata/fuzz/$f):"
				printf '%s\n' "$out" | tail -40
			fi
		done
	done
fi
if [ "$found" -gt 0 ]; then
	echo "== $found fuzz target(s) found new failing inputs; see above"
	[ "${FUZZ_STRICT:-0}" = "1" ] && exit 1
fi
echo "== all tests passed in $(( $(date +%s) - start ))s"
