#!/usr/bin/env bash
# Measures `proxywatch import` end to end: ipsum.txt alone, then every file
# of the shared blocklists folder, each into a fresh store. The baseline in
# the same run is the same import with --dry-run (detect, read, guard, no
# store), so the ratio shows what the store transaction costs; `wc -l` on
# the same files shows the raw read speed of this machine.
#
#   bash bench/import.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
bin=$(mktemp -d)/proxywatch
CGO_ENABLED=0 go build -o "$bin" ./cmd/proxywatch
work=$(mktemp -d)
trap 'rm -rf "$work" "$(dirname "$bin")"' EXIT

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

run() {
	local name=$1; shift
	local files=("$@")
	local lines; lines=$(cat "${files[@]}" | wc -l)
	local raw; raw=$(secs wc -l "${files[@]}")
	local dry; dry=$(secs "$bin" import --data "$work/dry" --dry-run "${files[@]}")
	rm -rf "$work/full"
	local full; full=$(secs "$bin" import --data "$work/full" "${files[@]}")
	rm -rf "$work/rss"
	local kb; kb=$(rss "$bin" import --data "$work/rss" "${files[@]}")
	local n; n=$("$bin" feeds list --data "$work/full" --json | python3 -c 'import sys,json; print(sum(json.loads(l)["indicators"] for l in sys.stdin))')
	printf '%-10s %7d lines %7d indicators | import %6.2fs (%8.0f ind/s, peak RSS %d MB) | dry-run %6.2fs | ratio import/dry-run %.2fx | wc -l %.3fs\n' \
		"$name" "$lines" "$n" "$full" "$(echo "$n / $full" | bc -l)" $((kb / 1024)) "$dry" "$(echo "$full / $dry" | bc -l)" "$raw"
}

command -v bc >/dev/null || { echo "bench/import.sh needs bc (apt-get install bc)" >&2; exit 1; }
run ipsum "$data/blocklists/ipsum/ipsum.txt"
mapfile -t all < <(find "$data/blocklists" -type f ! -iname 'readme*' ! -iname 'license*' ! -name Last-Checked-At | sort)
run blocklists "${all[@]}"
