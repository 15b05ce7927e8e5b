#!/usr/bin/env bash
# Decode plus detect: proxywatch's whole flow path (decoder, stitcher and
# flow detectors, wired over channels as the daemon wires them) against
# github.com/netsampler/goflow2's decoder alone on the same datagrams, on
# one core, in one run.
#
#   bench/flows/detect.sh
#   MAX=100000 COUNT=5 bench/flows/detect.sh
#   PROCS=2 bench/flows/detect.sh        # the stages on two cores
#
# The capture is the one bench/flows/decode.sh uses: the simulator's
# full-size 5socks IPFIX export, made once in BENCH_DIR; the inside
# prefixes come from its truth file. The first MAX datagrams are loaded
# into memory; each of COUNT rounds times goflow2's decoder alone, then
# proxywatch's decoder alone, decode plus stitch, and the full pipeline
# (bench/flows/pipeline). Prints every pass (wall-clock and CPU-time
# rates), the medians, what the detectors saw, the load average before and
# after, and the ratio of the pipeline's flows/s to goflow2's, taken within
# each round and reported as the median: by wall clock, and by CPU time,
# which other work on the machine disturbs less.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_DIR=${BENCH_DIR:-/var/tmp/proxywatch-flows-bench}
MAX=${MAX:-300000}
COUNT=${COUNT:-3}
PROCS=${PROCS:-1}
mkdir -p "$BENCH_DIR"
PCAP=$BENCH_DIR/full/ipfix.pcap
if [ ! -s "$PCAP" ]; then
  go build -o "$BENCH_DIR/proxywatch" ./cmd/proxywatch
  "$BENCH_DIR/proxywatch" simulate --scenario 5socks --size full --output ipfix --out "$BENCH_DIR/full" >/dev/null
fi
go build -o "$BENCH_DIR/pipeline" ./bench/flows/pipeline
echo "load before: $(uptime)"
GOMAXPROCS=$PROCS "$BENCH_DIR/pipeline" -pcap "$PCAP" -truth "$BENCH_DIR/full/truth.json" -max "$MAX" -count "$COUNT"
echo "load after: $(uptime)"
