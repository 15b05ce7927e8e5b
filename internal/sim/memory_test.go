package sim

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// peakHeap runs fn while sampling the heap and returns the largest value seen.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak
}

// TestMemoryFlat runs the same network for 6 hours and for 4 days: the
// output grows with the run, the memory must not.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("memory comparison: skipped in -short mode")
	}
	run := func(d string) (Summary, uint64) {
		sc, err := LoadScenario("smoke")
		if err != nil {
			t.Fatal(err)
		}
		if err := Override(&sc, []string{"duration=96h", "small.duration=" + d}); err != nil {
			t.Fatal(err)
		}
		var sum Summary
		peak := peakHeap(func() {
			sum, err = Run(t.Context(), sc, Options{OutDir: t.TempDir(), Outputs: []string{OutZeek, OutIPFIX, OutSSHD, OutTruth}})
		})
		if err != nil {
			t.Fatal(err)
		}
		return sum, peak
	}
	short, shortPeak := run("6h")
	long, longPeak := run("96h")
	t.Logf("6h: %d conns, peak heap %d KiB, peak queued %d; 96h: %d conns, peak heap %d KiB, peak queued %d",
		short.Conns, shortPeak>>10, short.PeakQueued, long.Conns, longPeak>>10, long.PeakQueued)
	if long.Conns < 10*short.Conns {
		t.Fatalf("the long run made %d conns, the short %d: not a fair comparison", long.Conns, short.Conns)
	}
	if longPeak > shortPeak*3/2+4<<20 {
		t.Errorf("peak heap grew from %d to %d KiB with %dx the output", shortPeak>>10, longPeak>>10, long.Conns/short.Conns)
	}
	if long.PeakQueued > 3*short.PeakQueued+100 {
		t.Errorf("reorder queues grew from %d to %d items", short.PeakQueued, long.PeakQueued)
	}
}
