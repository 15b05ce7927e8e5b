#!/usr/bin/env bash
# Benchmarks the verdict table (internal/verdict) against bare bart and a
# naive baseline measured in the same run, and prints the ratios the
# acceptance criteria use beside the absolute figures:
#
#   - build from 1,000,000 indicators: time and bytes per indicator, against
#     bart.Table[uint32] (and bart.Fast[uint32]) holding the same prefixes;
#   - lookup ns/op and allocs/op over 100,000 listed and 100,000 unlisted
#     probes per family, one goroutine and parallel, against bare bart and a
#     naive map of /32s plus a linear scan of the CIDRs (goals: within 1.3x
#     of bart, 0 allocs, at least 10x faster than naive);
#   - the same lookups measured paired (alternating chunks), which is
#     steadier on a shared machine;
#   - 10,000 single changes applied while 2 goroutines look up.
#
# Each figure is the median of COUNT runs.
#
#   bash bench/verdict/run.sh [COUNT]   (default 3; about 4 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go test -c -o "$work/verdict.test" ./internal/verdict
run() { "$work/verdict.test" -test.run '^$' -test.count "$count" "$@" | tee -a "$work/out.txt" | grep -E '^Benchmark' >&2 || true; }

echo "== build (count $count)" >&2
run -test.bench '^BenchmarkBuild$' -test.benchtime 2x
echo "== lookup (count $count)" >&2
run -test.bench '^BenchmarkLookup$' -test.benchtime 0.5s
echo "== paired lookup (count $count)" >&2
run -test.bench '^BenchmarkLookupPaired$' -test.benchtime 150x
echo "== incremental (count $count)" >&2
run -test.bench '^BenchmarkIncremental$' -test.benchtime 1x

python3 - "$work/out.txt" <<'EOF'
import re, statistics, sys
from collections import defaultdict

runs = defaultdict(lambda: defaultdict(list))  # name -> unit -> values
for line in open(sys.argv[1]):
    if not line.startswith("Benchmark"):
        continue
    f = line.split()
    name = re.sub(r"-\d+$", "", f[0])
    for v, unit in zip(f[2::2], f[3::2]):
        runs[name][unit].append(float(v))

def med(name, unit):
    v = runs.get(name, {}).get(unit)
    return statistics.median(v) if v else float("nan")

print("# verdict table benchmarks (medians over the runs)\n")
print("## build from 1,000,000 indicators")
b = {i: (med(f"BenchmarkBuild/impl={i}", "ns/op") / 1e9, med(f"BenchmarkBuild/impl={i}", "B/indicator")) for i in ("verdict", "bart", "bartfast")}
for i, (s, by) in b.items():
    print(f"  {i:9s} {s:6.2f} s  {by:6.1f} B/indicator")
print(f"  ratio verdict/bart: time {b['verdict'][0]/b['bart'][0]:.2f}x, memory {b['verdict'][1]/b['bart'][1]:.2f}x"
      f"   (verdict/bartfast: time {b['verdict'][0]/b['bartfast'][0]:.2f}x, memory {b['verdict'][1]/b['bartfast'][1]:.2f}x)")

print("\n## lookup, separate runs (ns/op, allocs/op; sensitive to the machine's other load)")
for fam in ("v4", "v6"):
    for mode in ("serial", "parallel"):
        n = lambda i: med(f"BenchmarkLookup/family={fam}/impl={i}/mode={mode}", "ns/op")
        a = lambda i: med(f"BenchmarkLookup/family={fam}/impl={i}/mode={mode}", "allocs/op")
        v, s, bt, bf, nv = n("verdict"), n("verdict+summary"), n("bart"), n("bartfast"), n("naive")
        print(f"  {fam} {mode:8s} verdict {v:7.1f} ({a('verdict'):.0f} allocs)  +summary {s:7.1f}  bart {bt:7.1f}  bartfast {bf:7.1f}  naive {nv:10.0f}"
              f"  | verdict/bart {v/bt:.2f}x  verdict/bartfast {v/bf:.2f}x  naive/verdict {nv/v:.0f}x")

print("\n## lookup, paired (alternating chunks, each on its own table; the acceptance figures)")
for fam in ("v4", "v6"):
    p = f"BenchmarkLookupPaired/family={fam}"
    print(f"  {fam} verdict {med(p, 'verdict-ns/lookup'):6.1f}  +summary {med(p, 'verdict+summary-ns/lookup'):6.1f}"
          f"  bart {med(p, 'bart-ns/lookup'):6.1f}  bartfast {med(p, 'bartfast-ns/lookup'):6.1f}"
          f"  | verdict/bart {med(p, 'verdict/bart'):.2f}x  verdict/bartfast {med(p, 'verdict/bartfast'):.2f}x"
          f"  verdict+summary/bart {med(p, 'verdict+summary/bart'):.2f}x")

print("\n## 10,000 single changes while 2 goroutines look up (IPv4 probes)")
i = "BenchmarkIncremental"
print(f"  time until visible: p50 {med(i, 'visible-p50-µs'):.1f} µs, p99 {med(i, 'visible-p99-µs'):.1f} µs, max {med(i, 'visible-max-µs')/1000:.1f} ms")
print(f"  lookups/s before {med(i, 'lookups/s-before')/1e6:.2f}M, during {med(i, 'lookups/s-during')/1e6:.2f}M"
      f"  | slowdown during {med(i, 'slowdown-during-x'):.2f}x, after with all {med(i, 'pending'):.0f} changes pending {med(i, 'slowdown-pending-x'):.2f}x")
EOF
