#!/usr/bin/env bash
# Measures the HTTP verdict API (GET /v1/ip/{addr}) and the forward-auth
# endpoint under wrk on loopback with keep-alive, beside a baseline in the
# same run: a bare net/http server answering 204 with the same settings. The
# ratio to the baseline is what proxywatch adds to net/http; the absolute
# figures depend on the machine.
#
# The server runs on one core (taskset, GOMAXPROCS=1) with a table of
# ENTRIES random /32 open proxies plus a hundredth as many /24 C2 ranges;
# wrk runs on another. Each case is measured RUNS times, alternating, and
# the medians are printed.
#
#   bash bench/http/run.sh            (ENTRIES=1000000 RUNS=3 DURATION=5s CONNS=32)
set -euo pipefail
cd "$(dirname "$0")/../.."
entries=${ENTRIES:-1000000}
runs=${RUNS:-3}
duration=${DURATION:-5s}
conns=${CONNS:-32}
for tool in wrk taskset; do
	command -v "$tool" >/dev/null || { echo "bench/http/run.sh needs $tool (apt-get install wrk util-linux)" >&2; exit 1; }
done
cores=$(nproc)
srv_cpu=0
gen_cpu=$((cores > 1 ? 1 : 0))

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/server" ./bench/http/server

GOMAXPROCS=1 taskset -c "$srv_cpu" "$work/server" -entries "$entries" >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 600); do
	grep -q '^ready' "$work/out" && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/out" >&2; exit 1; }
	sleep 0.1
done
ready=$(grep '^ready' "$work/out") || { echo "server did not start" >&2; exit 1; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$ready"; }
base=$(field base) api=$(field api) fa=$(field fa) listed=$(field listed) unlisted=$(field unlisted)
echo "# $ready"
echo "# server on cpu $srv_cpu (GOMAXPROCS=1), wrk -t1 -c$conns -d$duration on cpu $gen_cpu, $runs runs, medians"

# measure NAME URL [HEADER]: appends "rps p99_us" to $work/NAME.
measure() {
	local name=$1 url=$2 hdr=${3:-}
	local args=(-t1 "-c$conns" "-d$duration" --latency)
	[ -n "$hdr" ] && args+=(-H "$hdr")
	taskset -c "$gen_cpu" wrk "${args[@]}" "$url" >"$work/wrk.txt"
	awk '
		/Requests\/sec/ { rps = $2 }
		$1 == "99%" {
			v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
			f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : 1
			p99 = v * f
		}
		/Non-2xx/ { non2xx = $NF }
		END { printf "%.0f %.0f\n", rps, p99 }
	' "$work/wrk.txt" >>"$work/$name"
}

cases=(baseline api-listed api-unlisted fa-listed fa-unlisted)
for _ in $(seq "$runs"); do
	measure baseline "http://$base/"
	measure api-listed "http://$api/v1/ip/$listed"
	measure api-unlisted "http://$api/v1/ip/$unlisted"
	measure fa-listed "http://$fa/" "X-Forwarded-For: $listed"
	measure fa-unlisted "http://$fa/" "X-Forwarded-For: $unlisted"
done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base_rps=$(cut -d' ' -f1 "$work/baseline" | median)
printf '%-14s %10s %10s %14s\n' case "req/s" "p99 (us)" "req/s ratio"
for c in "${cases[@]}"; do
	rps=$(cut -d' ' -f1 "$work/$c" | median)
	p99=$(cut -d' ' -f2 "$work/$c" | median)
	printf '%-14s %10d %10d %14.2f\n' "$c" "$rps" "$p99" "$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { print a / b }')"
done
