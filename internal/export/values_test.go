package export

import (
	"errors"
	"testing"

	"github.com/proxywatch/proxywatch"
)

func TestValues(t *testing.T) {
	boom := errors.New("boom")
	seq := func(yield func(proxywatch.Indicator, error) bool) {
		for _, err := range []error{nil, nil, boom, nil} {
			if !yield(ind("192.0.2.1", 50, 0), err) {
				return
			}
		}
	}
	var err error
	n := 0
	for range Values(seq, &err) {
		n++
	}
	if n != 2 || !errors.Is(err, boom) {
		t.Errorf("Values() gave %d indicators and %v, want 2 and %v", n, err, boom)
	}
	err = nil
	for range Values(seq, &err) {
		break
	}
	if err != nil {
		t.Errorf("Values() stopped early = %v, want nil", err)
	}
}
