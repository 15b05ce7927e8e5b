#!/usr/bin/env bash
# Latency from a brute forcer's log lines to a denial, proxywatch serve
# against fail2ban-server, in the same run.
#
# Each trial appends six "Failed password for root from ADDR" lines (time
# stamped now, UTC) to the followed file in one write, a fresh address each
# trial (198.18.0.0/15), then polls every POLL_MS until the address is
# blocked:
#   proxywatch: the DNSBL answers ADDR.bl.test A with 127.0.0.x (UDP, its
#     own listener) and forward-auth answers 403 to a request carrying
#     "X-Forwarded-For: ADDR" (the probe connects from 127.0.0.1, a trusted
#     proxy); each interface is timed separately;
#   fail2ban 1.0.2: the stock sshd filter and jail (maxretry 5, findtime
#     10m) with the `dummy` action, whose ban writes "+ADDR" to a file (no
#     firewall is touched), run as ../shared/peers/fail2ban.sh runs its live
#     server, with backend polling (that script's choice) and pyinotify.
# The default brute-force rule of both is 5 failures in 10 minutes, so the
# fifth line decides. proxywatch runs with authwatch.lateness 5s (the
# default: the ordering delay for merging several sources) and 0s, and with
# the tail's poll at its default 250ms and at 50ms. Each configuration gets a
# fresh daemon, data directory and log. A trial pauses a random 0.2-0.7 s
# before the next, so appends fall at every phase of the pollers.
#
# Prints, per configuration and interface, the median, p90 and max in ms,
# then each proxywatch median over each fail2ban median (below 1: proxywatch
# is faster). Everything runs inside a private network namespace whose only
# interface is loopback (NETNS=0 turns that off).
#
#   bash bench/logins/latency.sh                  # about 5 minutes
#   TRIALS=40 CONFIGS="pw:0s:50ms f2b:pyinotify" bash bench/logins/latency.sh
#
# Environment: TRIALS (per configuration, default 20), POLL_MS (probe
# interval, default 5), CONFIGS (default "pw:5s:250ms pw:0s:250ms
# pw:0s:50ms f2b:polling f2b:pyinotify"; pw:LATENESS:TAIL_POLL or
# f2b:BACKEND), WORK (default /tmp/pwlatency), PEERS_DIR (default
# ../shared/peers from the module root), NETNS (default 1).
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${WORK:-/tmp/pwlatency}
peers_dir=${PEERS_DIR:-$root/../shared/peers}
trials=${TRIALS:-20}
poll_ms=${POLL_MS:-5}
configs=${CONFIGS:-"pw:5s:250ms pw:0s:250ms pw:0s:50ms f2b:polling f2b:pyinotify"}
netns=${NETNS:-1}
[ -f "$peers_dir/_common.sh" ] || { echo "latency: $peers_dir/_common.sh not found (set PEERS_DIR)" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
export PEERS_WORK="$work/peers"
# The peers' helpers: ensure_pkgs, log, die, track_pid/stop_pids (stops
# what was started, by PID, on exit), wait_tcp, wait_udp, rss_mib.
# shellcheck source=/dev/null
source "$peers_dir/_common.sh"

if [ "${_LATENCY_INNER:-0}" != 1 ]; then
  ensure_pkgs fail2ban python3-pyinotify iproute2 util-linux
  command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin
  log "building proxywatch and tailgen into $work"
  go build -o "$work/proxywatch" ./cmd/proxywatch
  go build -o "$work/tailgen" ./bench/logins/tailgen
  rm -f "$work/results.txt"
  if [ "$netns" = 1 ]; then
    trap - EXIT
    exec unshare -n env _LATENCY_INNER=1 bash -c 'ip link set lo up && exec bash "$0"' "$self"
  fi
  export _LATENCY_INNER=1
fi

pw=$work/proxywatch
tg=$work/tailgen
res=$work/results.txt
first=1 # the fresh addresses' index in 198.18.0.0/15; moves on with every configuration

log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run_pw LATENESS TAIL_POLL: one proxywatch serve with the DNSBL and
# forward-auth on, following an empty log from its end.
run_pw() {
  local lateness=$1 tpoll=$2 label="pw-lateness${1}-poll${2}"
  local d=$work/$label
  rm -rf "$d"; mkdir -p "$d"; : > "$d/auth.log"
  cat > "$d/config.yaml" <<EOF
data_dir: $d/data
telemetry: {listen: 127.0.0.1:19410}
logs:
  commit: 1s
  sources:
    - {name: auth, path: $d/auth.log, format: sshd, start: end, poll: $tpoll, sshd: {time_zone: UTC}}
dnsbl:
  enabled: true
  listen: 127.0.0.1:18053
  zones: [{name: bl.test.}]
  rate_limit: {rate: 0}      # the probe asks $((1000 / poll_ms)) times a second from 127.0.0.1
forwardauth: {enabled: true, listen: 127.0.0.1:19412}
authwatch: {lateness: $lateness}
EOF
  "$pw" config check --config "$d/config.yaml" >/dev/null
  "$pw" serve --config "$d/config.yaml" > "$d/serve.log" 2>&1 &
  local pid=$!; track_pid $pid
  wait_udp 18053 20 && wait_tcp 19412 20 || { cat "$d/serve.log" >&2; die "$label: proxywatch did not start"; }
  log "$label: $trials trials"
  "$tg" latency -label "$label" -log "$d/auth.log" -first "$first" -trials "$trials" -poll "${poll_ms}ms" \
    -dns 127.0.0.1:18053 -zone bl.test. -fa http://127.0.0.1:19412/ -csv "$d/trials.csv" | tee -a "$res"
  echo "RSS label=$label mib=$(rss_mib $pid)" >> "$res"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if grep -q 'level=ERROR' "$d/serve.log"; then
    log "$label: the daemon logged errors:"; grep 'level=ERROR' "$d/serve.log" | head -5 >&2
  fi
  first=$((first + trials))
}

# run_f2b BACKEND: fail2ban-server in the foreground as
# ../shared/peers/fail2ban.sh runs it (own conf dir and socket, in-memory
# database, dummy action), with the given file backend.
run_f2b() {
  local backend=$1 label="f2b-$1"
  local d=$work/$label
  rm -rf "$d"; mkdir -p "$d"; : > "$d/auth.log"
  cp -a /etc/fail2ban "$d/conf"; rm -f "$d/conf/jail.d/"*
  printf '[Definition]\ndbfile = :memory:\n' > "$d/conf/fail2ban.local"
  printf '[DEFAULT]\nbackend = %s\nignoreip = 127.0.0.1/8 ::1\n[sshd]\nenabled = true\nbackend = %s\nlogpath = %s\nlogtimezone = UTC\naction = dummy[target="%s"]\n' \
    "$backend" "$backend" "$d/auth.log" "$d/bans.txt" > "$d/conf/jail.local"
  fail2ban-server -f -x -c "$d/conf" -s "$d/f2b.sock" -p "$d/f2b.pid" --logtarget "$d/server.log" > "$d/server.out" 2>&1 &
  local pid=$!; track_pid $pid
  local ok=0
  for _ in $(seq 150); do
    fail2ban-client -s "$d/f2b.sock" status sshd > /dev/null 2>&1 && { ok=1; break; }
    sleep 0.1
  done
  [ $ok = 1 ] || { tail -20 "$d/server.log" >&2; die "$label: fail2ban-server did not start"; }
  sleep 1 # let the jail's filter thread settle on the file
  log "$label: $trials trials ($(grep -o "Jail 'sshd' uses [a-zA-Z]*" "$d/server.log" | head -1))"
  "$tg" latency -label "$label" -log "$d/auth.log" -first "$first" -trials "$trials" -poll "${poll_ms}ms" \
    -banfile "$d/bans.txt" -csv "$d/trials.csv" | tee -a "$res"
  echo "RSS label=$label mib=$(rss_mib $pid)" >> "$res"
  fail2ban-client -s "$d/f2b.sock" stop > /dev/null 2>&1 || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  first=$((first + trials))
}

for c in $configs; do
  IFS=: read -r tool a b <<< "$c"
  case $tool in
    pw) run_pw "$a" "$b" ;;
    f2b) run_f2b "$a" ;;
    *) die "unknown configuration $c" ;;
  esac
done

log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The table and the ratios.
/usr/bin/python3 - "$res" "$trials" "$poll_ms" <<'PY'
import re, sys
rows, rss = [], {}
for l in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=(\S+)', l))
    if l.startswith('RESULT'):
        rows.append(kv)
    elif l.startswith('RSS'):
        rss[kv['label']] = kv['mib']
print()
print('Latency from appending 6 failures (one write) to a denial; %s trials each, probes every %s ms' % (sys.argv[2], sys.argv[3]))
print('%-28s %-12s %4s %9s %9s %9s %6s %8s' % ('configuration', 'answer', 'n', 'p50 ms', 'p90 ms', 'max ms', 'fail', 'RSS MiB'))
for r in rows:
    print('%-28s %-12s %4s %9s %9s %9s %6s %8s' % (r['label'], r['probe'], r['n'], r['p50_ms'], r['p90_ms'], r['max_ms'], r['failed'], rss.get(r['label'], '-')))
pw = [r for r in rows if r['label'].startswith('pw-')]
f2b = [r for r in rows if r['label'].startswith('f2b-')]
if pw and f2b:
    print()
    print('Ratio of medians, proxywatch / fail2ban (below 1: proxywatch denies sooner)')
    print('%-28s %-12s' % ('', '') + ''.join(' %16s' % f['label'] for f in f2b))
    for p in pw:
        cells = []
        for f in f2b:
            fv = float(f['p50_ms'])
            cells.append(' %16s' % ('%.2fx' % (float(p['p50_ms']) / fv) if fv > 0 else '-'))
        print('%-28s %-12s' % (p['label'], p['probe']) + ''.join(cells))
PY
