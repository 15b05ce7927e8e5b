#!/usr/bin/env bash
# A live tail of up to 10,000,000 sshd events from 1,000,000 distinct
# addresses, appended to the file `proxywatch serve` follows as fast as the
# daemon reads it; sustained events/s and RSS over time.
#
# The writer (bench/logins/tailgen gen) appends lines stamped with the
# current time (UTC) in chunks of 2,000, and pauses whenever more than
# 8 MiB are written but not yet read by the daemon (its file offset, from
# /proc/PID/fdinfo): the rate is the daemon's. The addresses come from
# 100.64.0.0/10, 50,000 attacking at once; six in ten send 2 events, three
# 12, one 52 (10 per address on average). Lines: 70% "Failed password for
# root", 15% "Failed password for invalid user admin", 10% "Invalid user
# admin", 5% "Connection closed by authenticating user root ... [preauth]";
# each is one event.
#
# Each second the writer samples the daemon: its committed position (the
# stored position's seq, read with sqlite3 from the daemon's store), its
# file offset, VmRSS and CPU time. Reported: events/s sustained (the slope
# of the committed position after warm-up), min/median/max RSS, and how much
# RSS grew from the first to the last third after warm-up.
#
# Modes (MODES, run one after the other, each with a fresh daemon, store and
# log; shipped defaults otherwise, authwatch.lateness 5s):
#   decide       100.64.0.0/10 taken out of the allowlist (the default
#                allowlist without it), so the detectors' decisions are
#                taken, stored and carried into the verdict table;
#   allowlisted  the shipped allowlist, which holds 100.64.0.0/10 (CGNAT):
#                the detectors count every event and raise alerts, the
#                decision process refuses every proposal.
# Each mode stops writing after its time limit (or at 10M events) and says
# what it actually ran.
#
#   bash bench/logins/livetail.sh                    # about 10 minutes
#   MODES=allowlisted ALLOWLISTED_TIME=10m bash bench/logins/livetail.sh
#
# Environment: MODES (default "decide allowlisted"), DECIDE_TIME (default
# 3m), ALLOWLISTED_TIME (default 6m), SOURCES (default 1000000), EVENTS (0:
# all, 10 per source), WARMUP (default 60s), LATENESS (authwatch.lateness,
# default the shipped 5s), WORK (default /tmp/pwlivetail), KEEP=1 (keep the
# logs, about 95 bytes a line), NETNS (default 1: run inside a private
# network namespace with only loopback).
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${WORK:-/tmp/pwlivetail}
peers_dir=${PEERS_DIR:-$root/../shared/peers}
modes=${MODES:-"decide allowlisted"}
sources=${SOURCES:-1000000}
events=${EVENTS:-0}
warmup=${WARMUP:-60s}
netns=${NETNS:-1}
[ -f "$peers_dir/_common.sh" ] || { echo "livetail: $peers_dir/_common.sh not found (set PEERS_DIR)" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
export PEERS_WORK="$work/peers"
# The peers' helpers: ensure_pkgs, log, die, track_pid/stop_pids.
# shellcheck source=/dev/null
source "$peers_dir/_common.sh"

if [ "${_LIVETAIL_INNER:-0}" != 1 ]; then
  ensure_pkgs sqlite3 iproute2 util-linux
  command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
  log "building proxywatch and tailgen into $work"
  go build -o "$work/proxywatch" ./cmd/proxywatch
  go build -o "$work/tailgen" ./bench/logins/tailgen
  if [ "$netns" = 1 ]; then
    trap - EXIT
    exec unshare -n env _LIVETAIL_INNER=1 bash -c 'ip link set lo up && exec bash "$0"' "$self"
  fi
  export _LIVETAIL_INNER=1
fi

pw=$work/proxywatch
tg=$work/tailgen

run_mode() {
  local mode=$1 limit d
  d=$work/$mode
  rm -rf "$d"; mkdir -p "$d"; : > "$d/auth.log"
  {
    echo "data_dir: $d/data"
    echo "telemetry: {listen: 127.0.0.1:19420}"
    case $mode in
      decide)
        limit=${DECIDE_TIME:-3m}
        # The shipped allowlist without 100.64.0.0/10.
        echo "allowlist: {defaults: false, prefixes: [0.0.0.0/8, 10.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, 255.255.255.255/32, '::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8']}" ;;
      allowlisted)
        limit=${ALLOWLISTED_TIME:-6m} ;;
      *) die "unknown mode $mode" ;;
    esac
    [ -z "${LATENESS:-}" ] || echo "authwatch: {lateness: $LATENESS}"
    echo "logs:"
    echo "  sources:"
    echo "    - {name: auth, path: $d/auth.log, format: sshd, start: end, sshd: {time_zone: UTC}}"
  } > "$d/config.yaml"
  "$pw" config check --config "$d/config.yaml" > /dev/null
  "$pw" serve --config "$d/config.yaml" > "$d/serve.log" 2>&1 &
  local pid=$!; track_pid $pid
  for _ in $(seq 100); do [ -s "$d/data/proxywatch.db" ] && break; sleep 0.1; done
  sleep 1
  log "$mode: writing for at most $limit (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$tg" gen -out "$d/auth.log" -pid "$pid" -db "$d/data/proxywatch.db" -sources "$sources" -events "$events" \
    -max-time "$limit" -warmup "$warmup" -samples "$d/samples.csv" > "$d/result.txt"
  local la; la=$(cut -d' ' -f1-3 /proc/loadavg)
  local counts
  counts=$(sqlite3 -readonly -cmd '.timeout 5000' "$d/data/proxywatch.db" \
    "select 'decisions=' || count(*) from decisions; select 'alerts=' || count(*) from alerts; select 'changes_' || op || '=' || count(*) from changes group by op;" | tr '\n' ' ')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo
  echo "== $mode (authwatch.lateness ${LATENESS:-5s}; load average at the end $la)"
  cat "$d/result.txt"
  echo "store: $counts"
  if grep -q 'level=ERROR\|panic' "$d/serve.log"; then
    echo "daemon errors:"; grep 'level=ERROR\|panic' "$d/serve.log" | head -5
  fi
  # RSS and rate every 30 s.
  awk -F, 'NR==1{next} {t=$1; if (t>=next_t) { r = (pt=="") ? 0 : ($5-pc)/(t-pt); printf "  t=%4.0fs committed=%9d rate=%7.0f/s RSS=%6.1f MiB cpu=%6.1fs\n", t, $5, r, $6/1024, $7; pt=t; pc=$5; next_t=t+30 } }' "$d/samples.csv"
  [ "${KEEP:-0}" = 1 ] || rm -f "$d/auth.log"
}

for m in $modes; do run_mode "$m"; done
