#!/usr/bin/env bash
# DNSBL side by side: proxywatch's DNSBL server and rbldnsd, loaded with the
# same 1,000,000-entry list (../shared/gen/rbl/genrbl.py: 950k /32s and 50k
# CIDRs), each pinned to the same one core (proxywatch with GOMAXPROCS=1),
# dnsperf pinned to the other. Per run and server:
#   - queries/s at saturation: dnsperf -c 8 -q 500 for DURATION seconds;
#   - p50/p99 latency at a fixed rate: dnsperf -Q QPS_FIXED -v, percentiles
#     over every answered query.
# RUNS alternating runs (odd runs start with rbldnsd, even ones with
# proxywatch); the medians and their ratios are printed at the end, with
# proxywatch's table bytes per entry and both processes' RSS.
#
#   bash bench/dnsbl/dnsbl.sh          (about 5 minutes with the defaults)
#
# Environment: ENTRIES (1000000), RUNS (5), DURATION (10), QPS_FIXED (40000),
# DATASET (rbldnsd's dataset type: ip4set or ip4trie; ip4set), WORK
# (/var/tmp/pwbench/dnsbl), GEN (../shared/gen/rbl/genrbl.py), PORT_RBL
# (15353), PORT_PW (15354), SERVER_CPU (0), CLIENT_CPU (1).
# Needs rbldnsd, dnsperf, dig (bind9-dnsutils), taskset (util-linux),
# python3 and go. Everything listens on 127.0.0.1; processes are stopped by
# their PID. rbldnsd refuses to run as root, so as root it runs as rbldns.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENTRIES=${ENTRIES:-1000000}
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
QPS_FIXED=${QPS_FIXED:-40000}
DATASET=${DATASET:-ip4set}
WORK=${WORK:-/var/tmp/pwbench/dnsbl}
GEN=${GEN:-../shared/gen/rbl/genrbl.py}
PORT_RBL=${PORT_RBL:-15353}
PORT_PW=${PORT_PW:-15354}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in rbldnsd dnsperf dig taskset python3 go; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install rbldnsd dnsperf bind9-dnsutils util-linux python3)"
done
for port in "$PORT_RBL" "$PORT_PW"; do
	[ -z "$(ss -Hltun "sport = :$port" 2>/dev/null)" ] || die "port $port busy; set PORT_RBL / PORT_PW"
done
mkdir -p "$WORK"
chmod 755 "$WORK"
ZONE=$WORK/zone-$ENTRIES.ip4
QUERIES=$WORK/queries-$ENTRIES.txt
if [ ! -s "$ZONE" ] || [ ! -s "$QUERIES" ]; then
	log "generating the $ENTRIES-entry zone and 200k queries"
	python3 "$GEN" --entries "$ENTRIES" --out "$ZONE" --queries "$QUERIES"
fi
chmod 644 "$ZONE"
log "building the proxywatch DNSBL server"
CGO_ENABLED=0 go build -o "$WORK/pw-dnsbl" ./bench/dnsbl/server

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

USER_FLAG=()
[ "$(id -u)" = 0 ] && USER_FLAG=(-u rbldns)
RESULTS=$WORK/results.txt
: >"$RESULTS"

start_rbldnsd() {
	taskset -c "$SERVER_CPU" rbldnsd -n "${USER_FLAG[@]}" -b "127.0.0.1/$PORT_RBL" -w "$WORK" -t 300 -c 0 \
		"bl.test:$DATASET:$(basename "$ZONE")" >"$WORK/rbldnsd.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 600); do
		grep -q ' started ' "$WORK/rbldnsd.log" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/rbldnsd.log" >&2
	die "rbldnsd did not start"
}

start_proxywatch() {
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$WORK/pw-dnsbl" -zone "$ZONE" -name bl.test. \
		-listen "127.0.0.1:$PORT_PW" >"$WORK/pw.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 1200); do
		grep -q '^ready' "$WORK/pw.log" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/pw.log" >&2
	die "the proxywatch DNSBL server did not start"
}

# measure NAME PORT RUN: sanity checks, then the two dnsperf passes.
measure() {
	local name=$1 port=$2 run=$3
	local first q ans nx
	first=$(awk '/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/{print; exit}' "$ZONE")
	q=$(echo "$first" | awk -F. '{print $4"."$3"."$2"."$1".bl.test"}')
	ans=$(dig +short +time=2 +tries=2 @127.0.0.1 -p "$port" "$q" A)
	nx=$(dig +time=2 +tries=2 @127.0.0.1 -p "$port" 1.2.0.192.bl.test A | sed -nE 's/.*status: ([A-Z]+).*/\1/p')
	case "$ans" in 127.0.0.*) ;; *) die "$name: $q A = '$ans', want 127.0.0.x" ;; esac
	[ "$nx" = NXDOMAIN ] || die "$name: 192.0.2.1 = '$nx', want NXDOMAIN"
	local rss hwm sat fixed
	rss=$(awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$SERVER_PID/status")
	sat=$WORK/dnsperf-$name-$run.txt
	fixed=$WORK/dnsperf-$name-$run-Q$QPS_FIXED.txt
	taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$DURATION" -c 8 -q 500 >"$sat" 2>&1
	taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$DURATION" -c 8 -q 500 \
		-Q "$QPS_FIXED" -v >"$fixed" 2>&1
	hwm=$(awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$SERVER_PID/status")
	local qps lost lostq p50 p99
	qps=$(awk '/Queries per second:/{print $4}' "$sat")
	lost=$(awk '/Queries lost:/{print $3}' "$sat")
	lostq=$(awk '/Queries lost:/{print $3}' "$fixed")
	read -r p50 p99 < <(awk '$1==">" && NF==5 {print $5*1000}' "$fixed" | sort -g |
		awk '{v[NR]=$1} END {if (NR==0) {print "nan nan"; exit} i50=int(NR*0.50); i99=int(NR*0.99); if (i50<1) i50=1; if (i99<1) i99=1; print v[i50], v[i99]}')
	echo "$name $run $qps $p50 $p99 $rss $hwm $lost $lostq" >>"$RESULTS"
	log "$name run $run: $qps qps (lost $lost) | at $QPS_FIXED qps: p50 ${p50}ms p99 ${p99}ms (lost $lostq) | RSS ${rss} MiB, peak ${hwm} MiB"
	rm -f "$fixed"
}

stop_server() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

run_rbldnsd() { start_rbldnsd; measure rbldnsd "$PORT_RBL" "$1"; stop_server; }
run_proxywatch() {
	start_proxywatch
	sed -n 's/^ready //p' "$WORK/pw.log" >>"$WORK/pw-ready.txt"
	measure proxywatch "$PORT_PW" "$1"
	stop_server
}

: >"$WORK/pw-ready.txt"
for run in $(seq "$RUNS"); do
	if [ $((run % 2)) = 1 ]; then
		run_rbldnsd "$run"
		run_proxywatch "$run"
	else
		run_proxywatch "$run"
		run_rbldnsd "$run"
	fi
done

RBL_VERSION=$(dpkg-query -W -f='${Version}' rbldnsd 2>/dev/null || echo unknown)
python3 - "$RESULTS" "$WORK/pw-ready.txt" "$ENTRIES" "$DATASET" "$RBL_VERSION" "$QPS_FIXED" <<'PY'
import statistics, sys
results, ready, entries, dataset, version, qfixed = sys.argv[1:]
rows = {}
for line in open(results):
    name, run, qps, p50, p99, rss, hwm, lost, lostq = line.split()
    rows.setdefault(name, []).append((float(qps), float(p50), float(p99), float(rss), float(hwm), int(lost), int(lostq)))
def med(name, i):
    return statistics.median(r[i] for r in rows[name])
bpe = statistics.median(float(dict(kv.split('=') for kv in l.split())['bytes_per_entry']) for l in open(ready))
load = statistics.median(float(dict(kv.split('=') for kv in l.split())['load_seconds']) for l in open(ready))
n = len(rows['proxywatch'])
print(f"DNSBL, {entries} entries, {n} alternating runs, medians (rbldnsd {version}, {dataset}; proxywatch GOMAXPROCS=1; same core):")
print(f"{'':12} {'qps':>10} {'p50 ms':>8} {'p99 ms':>8} {'RSS MiB':>8} {'peak MiB':>9} {'lost sat':>9} {'lost fix':>9}")
for name in ('rbldnsd', 'proxywatch'):
    print(f"{name:12} {med(name,0):10.0f} {med(name,1):8.3f} {med(name,2):8.3f} {med(name,3):8.1f} {med(name,4):9.1f} {med(name,5):9.0f} {med(name,6):9.0f}")
print(f"proxywatch table: {bpe:.1f} bytes per entry, loaded in {load:.1f}s")
r = lambda i: med('proxywatch', i) / med('rbldnsd', i)
print(f"ratios proxywatch/rbldnsd: qps {r(0):.2f}x (goal >= 1) | p50 at {qfixed} qps {r(1):.2f}x | p99 at {qfixed} qps {r(2):.2f}x (goal <= 1) | RSS {r(3):.2f}x")
PY
