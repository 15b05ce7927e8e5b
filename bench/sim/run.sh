#!/usr/bin/env bash
# Simulator speed: generate a scenario's outputs, then write the same bytes
# to the same files with no simulation at all, and print the ratio.
#
#   bench/sim/run.sh                    # 5socks, full size: about 13 M sessions, 10 GB
#   SCENARIO=smoke SIZE=small bench/sim/run.sh
#   BENCH_DIR=/var/tmp/x bench/sim/run.sh
#
# Needs twice the output size free in BENCH_DIR (the generated files stay
# while the plain copy is written). Prints one result line; the files are
# removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCENARIO=${SCENARIO:-5socks}
SIZE=${SIZE:-full}
BENCH_DIR=${BENCH_DIR:-/var/tmp/proxywatch-sim-bench}
mkdir -p "$BENCH_DIR"
trap 'rm -rf "$BENCH_DIR/sim" "$BENCH_DIR/plain"' EXIT
go test -c -o "$BENCH_DIR/sim.test" ./internal/sim/ >/dev/null
OUT=$(PROXYWATCH_SIM_BENCH_SCENARIO=$SCENARIO PROXYWATCH_SIM_BENCH_SIZE=$SIZE PROXYWATCH_SIM_BENCH_DIR=$BENCH_DIR \
  /usr/bin/time -f 'maxrss_kib=%M' "$BENCH_DIR/sim.test" -test.run '^$' -test.bench BenchmarkGenerate -test.benchtime 1x 2>&1)
LINE=$(printf '%s\n' "$OUT" | grep '^BenchmarkGenerate')
RSS=$(printf '%s\n' "$OUT" | sed -n 's/^maxrss_kib=//p')
metric() { printf '%s\n' "$LINE" | awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($i == u) print $(i-1)}'; }
printf 'sim %s/%s: %s sessions, %s flow records, %s MB in %.1f s = %s sessions/s, %s MB/s; plain write of the same bytes %s MB/s; ratio sim/write %s; peak RSS %d MiB\n' \
  "$SCENARIO" "$SIZE" "$(metric conns)" "$(metric flow-records)" "$(metric MB)" \
  "$(awk -v c="$(metric conns)" -v r="$(metric conns/s)" 'BEGIN{print c/r}')" "$(metric conns/s)" "$(metric sim-MB/s)" \
  "$(metric write-MB/s)" "$(metric sim/write)" "$((RSS / 1024))"
