#!/usr/bin/env bash
# proxywatch's login detectors beside fail2ban, sshguard and CrowdSec on the
# same generated sshd log (../shared/gen/sshlog, default 1,000,000 lines), in
# the same run.
#
#   proxywatch logs scan --format sshd --json FILE      (shipped defaults)
#   fail2ban-regex --print-no-missed --print-no-ignored FILE sshd, and its
#     ban set with the stock jail (maxretry 5, findtime 10m) through
#     fail2ban's own FailManager                         (../shared/peers/fail2ban.sh)
#   sshg-parser < FILE (alone), sshg-parser | sshg-blocker -a 30 -p 120 -s 1800,
#     and the blocker replayed in log time               (../shared/peers/sshguard.sh)
#   crowdsec -dsn file://FILE -type syslog -no-api with ssh-bf and
#     ssh-slow-bf, beside its LAPI on 127.0.0.1          (../shared/peers/crowdsec.sh)
#
# The peers run through their own scripts in ../shared/peers, unchanged: they
# install their Debian packages, run on loopback only and stop what they
# start. Here, the packages are installed first and then every tool
# (proxywatch too) runs inside a private network namespace that has only a
# loopback interface, so nothing can leave the machine. sshg-parser alone
# and proxywatch also run REPEAT times in alternation (medians), because the
# headline ratio is between those two.
#
# For each tool it prints wall time, lines/s, peak RSS (GNU time -v), the
# addresses it bans or decides (counted against the generator's ground
# truth: attackers found, benign addresses flagged; the lists are written to
# WORK/addrs-*.txt), then the ratios of proxywatch's lines/s to each peer's,
# and checks that every address a peer bans is also decided by proxywatch.
# An address a peer bans that proxywatch did not decide is listed with its
# evidence from the log and proxywatch's brute-force rules (from `proxywatch
# config dump`): "at equal thresholds" when it meets one of those rules (a
# miss), else the peer's own threshold is lower and the line says how.
#
#   bash bench/logins/sidebyside.sh                       # about 10 minutes, 8 GiB for CrowdSec
#   LINES=100000 SKIP_CROWDSEC=1 bash bench/logins/sidebyside.sh
#
# Environment: LINES (default 1000000), SKIP_CROWDSEC=1, REPEAT (paired
# runs of sshg-parser and proxywatch, default 3), WORK (default
# /tmp/pwsidebyside; the log, the peers' files and the results), PEERS_DIR
# (default ../shared/peers from the module root), NETNS=0 (run without the
# private network namespace), ADDRS=1 (also print every address each tool
# finds), ANALYZE_ONLY=1 (no runs: report again on what WORK holds). Exit status 3 when an acceptance target is missed: proxywatch at
# least 3x sshg-parser's lines/s, peak RSS under 100 MB, every address a
# peer bans also decided.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
lines=${LINES:-1000000}
repeat=${REPEAT:-3}
work=${WORK:-/tmp/pwsidebyside}
peers_dir=${PEERS_DIR:-$root/../shared/peers}
netns=${NETNS:-1}
[ -f "$peers_dir/_common.sh" ] || { echo "sidebyside: $peers_dir/_common.sh not found (set PEERS_DIR)" >&2; exit 1; }
mkdir -p "$work/runs"
work=$(cd "$work" && pwd)

# The peers' helpers: ensure_pkgs, ensure_crowdsec_pkg, ensure_authlog (the
# log and its truth in $PEERS_WORK), timev_wall, timev_rss_mib, log, die.
export PEERS_WORK="$work/peers" AUTHLOG_LINES="$lines"
# shellcheck source=/dev/null
source "$peers_dir/_common.sh"

# The shipped defaults: no configuration file, no PROXYWATCH_* override.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^PROXYWATCH_' || true)

ensure_pkgs time python3 python3-yaml fail2ban sshguard gawk iproute2 util-linux
[ "${SKIP_CROWDSEC:-0}" = 1 ] || ensure_crowdsec_pkg
ensure_authlog
LOGF=$AUTHLOG
N=$(wc -l < "$LOGF")

# isolated CMD...: run CMD in a network namespace whose only interface is
# loopback (NETNS=1, the default), or as is.
isolated() {
  if [ "$netns" = 1 ]; then
    unshare -n bash -c 'ip link set lo up && exec "$@"' isolated "$@"
  else
    "$@"
  fi
}

load() { uptime | sed 's/.*load average: /load /'; }
if [ "${ANALYZE_ONLY:-0}" != 1 ]; then
rm -f "$work"/runs/* "$work"/*.result "$work"/addrs-*.txt "$work"/missed-*.txt
{
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "tree:    $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')"
  echo "go:      $(go version | awk '{print $3}')"
  echo "log:     $LOGF ($N lines)"
  echo "start:   $(uptime)"
} | tee "$work/context.txt" >&2

log "building proxywatch"
go build -o "$work/proxywatch" ./cmd/proxywatch
"$work/proxywatch" config dump > "$work/config.yaml"

# Paired runs: sshg-parser alone, then proxywatch, REPEAT times.
for i in $(seq "$repeat"); do
  log "run $i/$repeat: sshg-parser alone"
  isolated /usr/bin/time -v -o "$work/runs/sshg-parser-$i.time" \
    /usr/libexec/sshguard/sshg-parser < "$LOGF" > "$work/runs/sshg-attacks.txt"
  log "run $i/$repeat: proxywatch logs scan --format sshd --json"
  rm -rf "$work/pwdata"
  isolated /usr/bin/time -v -o "$work/runs/proxywatch-$i.time" \
    "$work/proxywatch" logs scan --data "$work/pwdata" --format sshd --json "$LOGF" \
    > "$work/proxywatch.jsonl" 2> "$work/proxywatch.err"
  echo "$i $(load)" >> "$work/runs/load.txt"
done
rm -rf "$work/pwdata"

peers="fail2ban sshguard"
[ "${SKIP_CROWDSEC:-0}" = 1 ] || peers="$peers crowdsec"
for p in $peers; do
  log "peer $p: $peers_dir/$p.sh"
  rm -f "$work/$p.result"
  isolated bash "$peers_dir/$p.sh" "$LOGF" > "$work/$p.result" 2> "$work/$p.log" ||
    { tail -5 "$work/$p.log" >&2; log "peer $p failed: see $work/$p.log"; }
  echo "$p $(load)" >> "$work/runs/load.txt"
done
echo "end:     $(uptime)" | tee -a "$work/context.txt" >&2
fi
cat "$work/context.txt"

rc=0
/usr/bin/python3 - "$work" "$PEERS_WORK" "$LOGF" "$AUTHTRUTH" "$N" "${ADDRS:-0}" <<'PY' || rc=$?
import bisect, collections, csv, datetime, ipaddress, json, os, re, statistics, sys
import yaml

work, pwork, logf, truthf, nlines, show = sys.argv[1:7]
nlines, show = int(nlines), show == '1'

def timev(path):
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) from a
    GNU time -v report, or None."""
    try:
        txt = open(path).read()
    except FileNotFoundError:
        return None
    m = re.search(r'Elapsed \(wall clock\) time.*: (\S+)', txt)
    s = 0.0
    for part in m.group(1).split(':'):
        s = s * 60 + float(part)
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', txt).group(1)) / 1024
    cpu = sum(float(x) for x in re.findall(r'(?:User|System) time \(seconds\): ([\d.]+)', txt))
    return s, rss, cpu

def addrs(path):
    try:
        return {l.strip() for l in open(path) if l.strip()}
    except FileNotFoundError:
        return None

truth = {r['ip']: r for r in csv.DictReader(open(truthf))}
classes = ['fast', 'enum', 'slow', 'spray', 'benign']
attackers = {a for a, r in truth.items() if r['class'] != 'benign'}
benign = {a for a, r in truth.items() if r['class'] == 'benign'}

# proxywatch: decisions (any action) cover addresses or prefixes.
decided_nets, alerted, actions = [], set(), collections.Counter()
for l in open(os.path.join(work, 'proxywatch.jsonl')):
    r = json.loads(l)
    if r['type'] == 'decision':
        d = r['decision']
        decided_nets.append(ipaddress.ip_network(d['subject'], strict=False))
        actions[(d['action'], d['origin'])] += 1
    elif r['type'] == 'alert':
        for s in r['alert']['subjects']:
            n = ipaddress.ip_network(s, strict=False)
            if n.num_addresses == 1:
                alerted.add(str(n.network_address))
hosts = {str(n.network_address) for n in decided_nets if n.num_addresses == 1}
wide = [n for n in decided_nets if n.num_addresses > 1]
def pw_decided(a):
    return a in hosts or any(ipaddress.ip_address(a) in n for n in wide)
known = set(truth)
pw_set = {a for a in known if pw_decided(a)}

# The tools' measurements.
rows = []  # (name, wall, rss, lines/s, banned set or None, note)
def med(runs):
    runs = [r for r in runs if r]
    if not runs:
        return None
    return (statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs),
            [r[0] for r in runs])
repeat = len([f for f in os.listdir(os.path.join(work, 'runs')) if re.match(r'proxywatch-\d+\.time$', f)])
pw = med([timev(os.path.join(work, 'runs', 'proxywatch-%d.time' % i)) for i in range(1, repeat + 1)])
sp = med([timev(os.path.join(work, 'runs', 'sshg-parser-%d.time' % i)) for i in range(1, repeat + 1)])
res = {}
for p in ['fail2ban', 'sshguard', 'crowdsec']:
    try:
        res[p] = open(os.path.join(work, p + '.result')).read().strip()
    except FileNotFoundError:
        res[p] = ''
f2b = timev(os.path.join(pwork, 'fail2ban', 'regex.time')) if res['fail2ban'] else None
f2bo = timev(os.path.join(pwork, 'fail2ban', 'out.time')) if res['fail2ban'] else None
sgp = timev(os.path.join(pwork, 'sshguard', 'parser.time')) if res['sshguard'] else None
sgb = timev(os.path.join(pwork, 'sshguard', 'pipe.time')) if res['sshguard'] else None
cs = timev(os.path.join(pwork, 'crowdsec', 'agent.time')) if res['crowdsec'] else None
lapi = re.search(r'LAPI peakRSS ([\d.]+)MiB', res['crowdsec'])
bans = {
    'fail2ban': addrs(os.path.join(pwork, 'fail2ban', 'banned.txt')) if res['fail2ban'] else None,
    'sshguard': addrs(os.path.join(pwork, 'sshguard', 'banned-logtime.txt')) if res['sshguard'] else None,
    'sshguard-replay': addrs(os.path.join(pwork, 'sshguard', 'banned-replay.txt')) if res['sshguard'] else None,
    'crowdsec': addrs(os.path.join(pwork, 'crowdsec', 'banned.txt')) if res['crowdsec'] else None,
}

def lps(wall):
    return nlines / wall if wall else 0

def fmt_found(s):
    if s is None:
        return '%9s %10s %9s   %s' % ('-', '-', '-', '')
    by = collections.Counter(truth[a]['class'] for a in s if a in truth)
    return '%9d %10s %9s   %s' % (len(s), '%d/%d' % (len(s & attackers), len(attackers)),
                                 '%d/%d' % (len(s & benign), len(benign)),
                                 ' '.join('%s=%d' % (c, by.get(c, 0)) for c in classes))

print()
print('%d-line sshd log (%s); attackers in the ground truth: %s' % (
    nlines, os.path.basename(logf),
    ', '.join('%s %d' % (c, sum(1 for r in truth.values() if r['class'] == c)) for c in classes)))
print()
hdr = '%-42s %8s %10s %8s %9s %9s %10s %9s   %s' % ('tool', 'wall s', 'lines/s', 'CPU s', 'RSS MiB', 'banned',
                                                'attackers', 'benign', 'by class')
print(hdr)
print('-' * len(hdr))
def row(name, t, found, wall=None):
    if t is None:
        print('%-42s %8s %10s %8s %9s %s' % (name, '-', '-', '-', '-', fmt_found(found)))
        return
    w = wall if wall is not None else t[0]
    print('%-42s %8.2f %10s %8.2f %9.1f %s' % (name, w, '{:,.0f}'.format(lps(w)), t[2], t[1], fmt_found(found)))
row('proxywatch logs scan (median of %d)' % repeat, pw, pw_set)
row('sshg-parser alone (median of %d)' % repeat, sp, None)
row('sshg-parser alone (sshguard.sh)', sgp, None)
row('sshg-parser | sshg-blocker, log time', sgb, bans['sshguard'])
row('  same, wall-clock replay (upper bound)', None, bans['sshguard-replay'])
row('fail2ban-regex sshd (stats run)', f2b, bans['fail2ban'])
row('  fail2ban-regex -o "<time> <ip>"', f2bo, None)
row('crowdsec -dsn file:// -no-api (agent)', cs, bans['crowdsec'])
if lapi:
    print('%-42s %8s %10s %8s %9s' % ('  crowdsec LAPI beside it', '', '', '', lapi.group(1)))
print()
print('proxywatch runs (wall s): %s; sshg-parser alone: %s' % (
    ' '.join('%.2f' % x for x in pw[3]) if pw else '-', ' '.join('%.2f' % x for x in sp[3]) if sp else '-'))
print('proxywatch decisions: %s; alerted but not decided: %d' % (
    ', '.join('%s %s %d' % (k[0], k[1], v) for k, v in sorted(actions.items())),
    len({a for a in alerted if a in known} - pw_set)))
try:
    print('proxywatch summary: ' + ' | '.join(l.strip() for l in open(os.path.join(work, 'proxywatch.err')) if l.strip()))
except FileNotFoundError:
    pass

# Address lists.
lists = {'proxywatch': pw_set}
lists.update({k: v for k, v in bans.items() if v is not None})
for k, v in lists.items():
    with open(os.path.join(work, 'addrs-%s.txt' % k), 'w') as f:
        f.write(''.join(a + '\n' for a in sorted(v, key=ipaddress.ip_address)))
print('address lists: %s/addrs-{%s}.txt' % (work, ','.join(lists)))
if show:
    for k, v in lists.items():
        print('%s (%d): %s' % (k, len(v), ' '.join(sorted(v, key=ipaddress.ip_address))))

# Ratios.
print()
pl = lps(pw[0]) if pw else 0
ratios = []
for name, t in [('sshguard parser alone (paired runs)', sp), ('sshguard parser alone (sshguard.sh run)', sgp),
                ('sshguard parser|blocker', sgb), ('fail2ban-regex', f2b), ('CrowdSec agent', cs)]:
    if t and pl:
        ratios.append((name, pl / lps(t[0])))
        print('proxywatch / %-40s %6.2fx lines/s   (%.2fx per CPU second)' % (name, pl / lps(t[0]), t[2] / pw[2]))
    else:
        print('proxywatch / %-40s %6s' % (name, '-'))

# Addresses a peer bans that proxywatch did not decide.
cfg = yaml.safe_load(open(os.path.join(work, 'config.yaml')))
bf = cfg['authwatch']['brute_force']
def secs(d):
    return sum(float(v) * {'h': 3600, 'm': 60, 's': 1}[u] for v, u in re.findall(r'([\d.]+)([hms])', d))
tiers = [(int(t['attempts']), secs(t['window'])) for t in bf['tiers']]
inv_n, inv_w = int(bf['invalid_users']), secs(bf['invalid_window'])
rule = '; '.join(['%d guesses in %s' % (a, t['window']) for a, t in zip([x[0] for x in tiers], bf['tiers'])] +
                 ['%d unknown user names in %s' % (inv_n, bf['invalid_window'])])
print()
print("proxywatch's brute-force rules (config dump): %s" % rule)

missed = {p: (v - pw_set) for p, v in bans.items() if v is not None}
need = set().union(*missed.values()) if missed else set()
ev = collections.defaultdict(list)     # addr -> [(t, kind, user, line index)]
idx_of = collections.defaultdict(list)
year = datetime.date.today().year
ipre = re.compile(r'(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})')
failre = re.compile(r'Failed (\S+) for (invalid user )?(\S*) from (\S+) port')
invre = re.compile(r'Invalid user (\S*) from (\S+) port')
accre = re.compile(r'Accepted \S+ for \S+ from (\S+) port')
csre = re.compile(r'(Invalid user|authentication failure|Failed password|(Disconnected from|Connection closed by) (invalid|authenticating) user)')
times = {}
if need:
    for i, l in enumerate(open(logf, errors='replace')):
        hit = [a for a in ipre.findall(l) if a in need]
        if not hit:
            continue
        a = hit[0]
        t = datetime.datetime.strptime('%d %s' % (year, l[:15]), '%Y %b %d %H:%M:%S').replace(
            tzinfo=datetime.timezone.utc).timestamp()
        times[i] = t
        m = failre.search(l)
        if m:
            ev[a].append((t, 'guess', m.group(3), i))
        m = invre.search(l)
        if m:
            ev[a].append((t, 'invalid', m.group(1), i))
        if accre.search(l):
            ev[a].append((t, 'success', '', i))
        if csre.search(l):
            ev[a].append((t, 'cs-event', '', i))

def maxin(ts, w):
    ts = sorted(ts)
    return max((bisect.bisect_right(ts, t + w) - j for j, t in enumerate(ts)), default=0)

def evidence(a):
    """Whether a meets one of proxywatch's brute-force rules, and the counts
    that say so (a tuple, to group addresses alike)."""
    e = ev[a]
    g = [t for t, k, _, _ in e if k == 'guess']
    inv = sorted((t, u) for t, k, u, _ in e if k == 'invalid')
    names = 0
    for t, _ in inv:
        names = max(names, len({u for t2, u in inv if t <= t2 <= t + inv_w}))
    succ = any(k == 'success' for _, k, _, _ in e)
    counts = tuple(maxin(g, w) for _, w in tiers)
    meets = any(c >= n for c, (n, _) in zip(counts, tiers)) or (names >= inv_n and not succ)
    return meets, (truth.get(a, {}).get('class', '?'), len(g), counts, names, succ)

def rng(xs):
    lo, hi = min(xs), max(xs)
    return '%d' % lo if lo == hi else '%d-%d' % (lo, hi)

def describe(ks):
    """The counts of a group of addresses, as ranges."""
    return '%s guess(es) (max %s), %s unknown user name(s)%s' % (
        rng([k[1] for k in ks]),
        ', '.join('%s in %s' % (rng([k[2][j] for k in ks]), t['window']) for j, t in enumerate(bf['tiers'])),
        rng([k[3] for k in ks]), ', some logged in successfully' if any(k[4] for k in ks) else '')

f2b_fail = collections.defaultdict(list)
if missed.get('fail2ban'):
    for l in open(os.path.join(pwork, 'fail2ban', 'failures.txt')):
        p = l.split()
        if len(p) == 2 and p[1] in missed['fail2ban']:
            f2b_fail[p[1]].append(float(p[0]))
sg_points = collections.defaultdict(list)
if missed.get('sshguard') or missed.get('sshguard-replay'):
    want = missed.get('sshguard', set()) | missed.get('sshguard-replay', set())
    k = 0
    for l in open(os.path.join(pwork, 'sshguard', 'attacks-sentinel.txt')):
        p = l.split()
        if p[1] == '192.0.2.1':
            k += 1
            continue
        if p[1] in want and k in times:
            sg_points[p[1]].append((times[k], int(p[3])))

def peer_score(p, a):
    """The peer's own measure of a, as numbers."""
    if p == 'fail2ban':
        return (maxin(f2b_fail[a], 600),)
    if p.startswith('sshguard'):
        pts = sorted(sg_points[a])
        best = 0
        for j, (t, _) in enumerate(pts):
            best = max(best, sum(d for t2, d in pts[j:] if t2 <= t + 1800))
        return best, sum(d for _, d in pts)
    c = [t for t, k, _, _ in ev[a] if k == 'cs-event']
    return len(c), maxin(c, 10), maxin(c, 60)

def peer_view(p, scores):
    col = lambda j: rng([x[j] for x in scores])
    if p == 'fail2ban':
        return 'fail2ban counted %s failures in 10m (maxretry 5; "Invalid user" and ' \
               '"Failed password for invalid user" count as two)' % col(0)
    if p == 'sshguard':
        return 'sshguard scored %s points within 30m (threshold 30; one invalid-user attempt scores 30)' % col(0)
    if p == 'sshguard-replay':
        return 'sshguard scored %s points within 30m, %s over the day, which its wall-clock replay puts ' \
               'in one 30m window (threshold 30)' % (col(0), col(1))
    return 'CrowdSec saw %s ssh_failed-auth lines, at most %s in 10s and %s in 60s (ssh-bf: 5, leak 10s; ' \
           'ssh-slow-bf: 10, leak 60s)' % (col(0), col(1), col(2))

print()
equal_miss = 0
for p in ['fail2ban', 'sshguard', 'crowdsec', 'sshguard-replay']:
    if p not in missed:
        print('%-16s not run' % p)
        continue
    m = missed[p]
    print('%-16s bans %d; proxywatch decided %d of them; not decided: %d%s' % (
        p, len(bans[p]), len(bans[p] & pw_set), len(m), ' (each in %s/missed-%s.txt)' % (work, p) if m else ''))
    groups = collections.defaultdict(list)
    with open(os.path.join(work, 'missed-%s.txt' % p), 'w') as f:
        for a in sorted(m, key=ipaddress.ip_address):
            meets, k = evidence(a)
            sc = peer_score(p, a)
            f.write('%s %s: %s; %s; %s\n' % (a, k[0], describe([k]), peer_view(p, [sc]),
                                             'MISS at equal thresholds' if meets else 'peer threshold lower'))
            groups[(meets, k[0])].append((a, k, sc))
    for (meets, cls), g in sorted(groups.items(), key=lambda x: (not x[0][0], -len(x[1]))):
        if meets and p != 'sshguard-replay':
            equal_miss += len(g)
        print('  %5d %-6s %s; %s.' % (len(g), cls, describe([x[1] for x in g]), peer_view(p, [x[2] for x in g])))
        print('               %s: %s%s' % (
            'MISS at equal thresholds' if meets else "below proxywatch's rules, the peer's threshold is lower",
            ' '.join(x[0] for x in g[:len(g) if meets else 4]), ' ...' if not meets and len(g) > 4 else ''))

print()
goals = []
r0 = ratios[0][1] if ratios else 0
goals.append(('parse+detect >= 3x sshg-parser alone (paired)', r0 >= 3, '%.2fx' % r0))
goals.append(('proxywatch peak RSS < 100 MB', bool(pw) and pw[1] * 1048576 < 100e6,
              '%.0f MB (%.1f MiB)' % (pw[1] * 1048576 / 1e6, pw[1]) if pw else '-'))
goals.append(('every address a peer bans (log time) also decided at matching thresholds', equal_miss == 0,
              '%d missed at equal thresholds; not decided, peer threshold lower: %s' % (
                  equal_miss, ', '.join('%s %d' % (p, len(m)) for p, m in missed.items() if p != 'sshguard-replay'))))
for name, ok, val in goals:
    print('%-4s %s: %s' % ('ok' if ok else 'FAIL', name, val))
sys.exit(0 if all(ok for _, ok, _ in goals) else 3)
PY
exit "$rc"
