#!/bin/sh
# Feed 10 million synthetic sessions from 1 million inside hosts through
# the flow detectors with the shipped limits; print the heap above the
# starting point after each million sessions (runtime.MemStats, after a
# GC) and the detection rate on one goroutine. Then the per-session cost
# of the detectors alone (BenchmarkProcess).
set -eu
cd "$(dirname "$0")/../.."
FLOWWATCH_MEM_SESSIONS="${SESSIONS:-10000000}" \
	go test ./internal/flowwatch -run '^TestMemoryFlat$' -count=1 -timeout 1h -v | grep '^memory:'
go test ./internal/flowwatch -run '^$' -bench '^BenchmarkProcess$' -benchtime 2000000x -count 3 | grep '^Benchmark'
