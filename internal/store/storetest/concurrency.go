package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// generation returns n indicators of feed "g" tagged with gen, all inside
// 198.51.100.0/22, with confidence gen.
func generation(gen, n int) []proxywatch.Indicator {
	inds := make([]proxywatch.Indicator, n)
	tag := fmt.Sprintf("gen-%d", gen)
	for i := range inds {
		a := netip.AddrFrom4([4]byte{198, 51, byte(100 + i/256%4), byte(i % 256)})
		inds[i] = proxywatch.Indicator{Subject: proxywatch.AddrSubject(a), Kind: proxywatch.KindOpenProxy,
			Source: proxywatch.Source{Feed: "g", Line: i + 1}, Confidence: uint8(gen), Tags: []string{tag},
			Port: uint16(1 + i/1024)}
	}
	return inds
}

// testConcurrentReaders replaces a feed again and again while readers
// stream it: every read must see one whole generation.
func testConcurrentReaders(t *testing.T, s store.Store) {
	const gens = 6
	size := func(gen int) int { return 300 + 200*(gen%2) }
	mustReplace(t, s, store.FeedState{Name: "g"}, generation(0, size(0)))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 3 {
		wg.Go(func() {
			for reads := 0; ctx.Err() == nil || reads == 0; reads++ {
				gen, n := -1, 0
				for ind, err := range s.Indicators(ctx, "g") {
					if err != nil {
						if ctx.Err() == nil {
							errs <- fmt.Errorf("reader %d: %w", r, err)
						}
						return
					}
					if gen == -1 {
						gen = int(ind.Confidence)
					}
					if int(ind.Confidence) != gen || len(ind.Tags) != 1 || ind.Tags[0] != fmt.Sprintf("gen-%d", gen) {
						errs <- fmt.Errorf("reader %d: generation %d mixed with %d (%v)", r, gen, ind.Confidence, ind.Tags)
						return
					}
					n++
				}
				if n != size(gen) {
					errs <- fmt.Errorf("reader %d: generation %d has %d indicators, want %d", r, gen, n, size(gen))
					return
				}
				got, err := s.Covering(ctx, netip.MustParseAddr("198.51.100.1"))
				if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					errs <- fmt.Errorf("reader %d: Covering: %w", r, err)
					return
				}
				if err == nil && len(got) != 1 {
					errs <- fmt.Errorf("reader %d: Covering(198.51.100.1) = %d indicators, want 1", r, len(got))
					return
				}
			}
		})
	}
	for gen := 1; gen <= gens; gen++ {
		if err := s.ReplaceFeed(t.Context(), store.FeedState{Name: "g"}, store.FromSlice(generation(gen, size(gen)))); err != nil {
			t.Errorf("ReplaceFeed(generation %d) error %v", gen, err)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantFeed(t, s, "g", stored(t, generation(gens, size(gens))))
}

// testLargeFeed checks a feed bigger than any batch an implementation
// might use.
func testLargeFeed(t *testing.T, s store.Store) {
	const n = 10000
	big := generationWide(n)
	mustReplace(t, s, store.FeedState{Name: "big"}, big)
	got := 0
	for ind, err := range s.Indicators(t.Context(), "big") {
		if err != nil {
			t.Fatalf("Indicators(big) error %v", err)
		}
		if ind.Source.Feed != "big" {
			t.Fatalf("Indicators(big) yielded feed %q", ind.Source.Feed)
		}
		got++
	}
	if got != n {
		t.Errorf("Indicators(big) = %d indicators, want %d", got, n)
	}
	wantCount(t, s, "big", n)
	for _, i := range []int{0, n / 2, n - 1} {
		a := big[i].Subject.Prefix.Addr()
		cov, err := s.Covering(t.Context(), a)
		if err != nil || len(cov) != 1 || cov[0].Source.Line != i+1 {
			t.Errorf("Covering(%s) = %v, %v, want line %d", a, cov, err, i+1)
		}
	}
}

// generationWide returns n single-address indicators of feed "big", a
// tenth of them IPv6.
func generationWide(n int) []proxywatch.Indicator {
	inds := make([]proxywatch.Indicator, n)
	for i := range inds {
		var a netip.Addr
		if i%10 == 9 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		} else {
			a = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		inds[i] = proxywatch.Indicator{Subject: proxywatch.AddrSubject(a), Kind: proxywatch.KindOpenProxy,
			Source: proxywatch.Source{Feed: "big", Line: i + 1}}
	}
	return inds
}

// testStreamBreak leaves a stream early; the store must still write and
// close.
func testStreamBreak(t *testing.T, s store.Store) {
	mustReplace(t, s, store.FeedState{Name: "a"}, sample("a"))
	for range 10 {
		for _, err := range s.Indicators(t.Context(), "") {
			if err != nil {
				t.Fatalf("Indicators() error %v", err)
			}
			break
		}
	}
	mustReplace(t, s, store.FeedState{Name: "a"}, sample("a")[:2])
	wantFeed(t, s, "a", stored(t, sample("a")[:2]))
	if err := s.Close(); err != nil {
		t.Errorf("Close() error %v", err)
	}
}

// testClosed checks that a closed store says it is unavailable.
func testClosed(t *testing.T, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() again error %v", err)
	}
	ctx := t.Context()
	ind := proxywatch.Indicator{Subject: addr("192.0.2.1"), Source: proxywatch.Source{Feed: "local"}}
	_, changesErr := s.Changes(ctx, 0, 0)
	_, seqErr := s.Seq(ctx)
	_, stateErr := s.FeedState(ctx, "a")
	_, coverErr := s.Covering(ctx, netip.MustParseAddr("192.0.2.1"))
	var streamErr error
	for _, err := range s.Indicators(ctx, "") {
		streamErr = err
	}
	for name, err := range map[string]error{
		"ReplaceFeed": s.ReplaceFeed(ctx, store.FeedState{Name: "a"}, store.FromSlice(nil)),
		"Add":         s.Add(ctx, ind),
		"Changes":     changesErr,
		"Seq":         seqErr,
		"FeedState":   stateErr,
		"Covering":    coverErr,
		"Indicators":  streamErr,
	} {
		if !errors.Is(err, proxywatch.ErrUnavailable) {
			t.Errorf("%s after Close: error = %v, want ErrUnavailable", name, err)
		}
	}
}
