#!/usr/bin/env bash
# Decode speed: IPFIX export decoded to flow records on one core, against
# github.com/netsampler/goflow2's decoder alone on the same datagrams
# (its templates and data sets, no conversion), in one run.
#
#   bench/flows/decode.sh
#   MAX=100000 COUNT=5 bench/flows/decode.sh
#
# The capture is the simulator's full-size 5socks IPFIX export (about 26 M
# records in 1.15 M datagrams, 1.6 GB), made once in BENCH_DIR; the first
# MAX datagrams are loaded into memory and decoded by each decoder, COUNT
# passes each, on one core (GOMAXPROCS=1). Prints the median rates,
# allocations and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_DIR=${BENCH_DIR:-/var/tmp/proxywatch-flows-bench}
MAX=${MAX:-300000}
COUNT=${COUNT:-5}
mkdir -p "$BENCH_DIR"
PCAP=$BENCH_DIR/full/ipfix.pcap
if [ ! -s "$PCAP" ]; then
  go build -o "$BENCH_DIR/proxywatch" ./cmd/proxywatch
  "$BENCH_DIR/proxywatch" simulate --scenario 5socks --size full --output ipfix --out "$BENCH_DIR/full" >/dev/null
fi
go test -c -o "$BENCH_DIR/netflow.test" ./internal/flow/netflow
OUT=$(PROXYWATCH_BENCH_IPFIX=$PCAP PROXYWATCH_BENCH_MAX=$MAX GOMAXPROCS=1 \
  "$BENCH_DIR/netflow.test" -test.run '^$' -test.bench '^BenchmarkDecode(Goflow2)?$' -test.benchtime 1x -test.count "$COUNT" -test.benchmem)
printf '%s\n' "$OUT" | grep '^Benchmark' >&2
median() { # median of column $2 for benchmark $1
  printf '%s\n' "$OUT" | awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
OURS=$(median BenchmarkDecode flows/s); THEIRS=$(median BenchmarkDecodeGoflow2 flows/s)
FLOWS=$(median BenchmarkDecode flows)
printf 'decode IPFIX, %s datagrams, %s flows, one core: proxywatch %.0f flows/s (%s allocs, %s B per pass), goflow2 decoder alone %.0f flows/s (%s allocs, %s B per pass); ratio %.2fx\n' \
  "$MAX" "$FLOWS" "$OURS" "$(median BenchmarkDecode allocs/op)" "$(median BenchmarkDecode B/op)" \
  "$THEIRS" "$(median BenchmarkDecodeGoflow2 allocs/op)" "$(median BenchmarkDecodeGoflow2 B/op)" \
  "$(awk -v a="$OURS" -v b="$THEIRS" 'BEGIN { print a / b }')"
