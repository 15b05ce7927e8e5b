package inteltest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// recorder is a testing.TB whose Fatal and Fatalf record the message and
// end the goroutine, as the real ones do.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatal(args ...any) {
	r.failure = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs fn with a recorder in a goroutine of its own and returns
// the message it failed with, or "".
func failure(t *testing.T, fn func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r.failure
}

func indicator(s string) proxywatch.Indicator {
	return proxywatch.Indicator{Subject: proxywatch.PrefixSubject(netip.MustParsePrefix(s))}
}

func mixed() *Script {
	return &Script{Items: []any{
		indicator("192.0.2.0/24"),
		intel.NewParseError("f", 2, intel.ReasonBadAddress, "300.1.1.1", nil),
		intel.NewExclusion("f", 3, intel.ReasonHash, "d41d8cd98f00b204e9800998ecf8427e"),
		indicator("198.51.100.1/32"),
		intel.NewParseError("f", 5, intel.ReasonBadAddress, "x", nil),
	}}
}

func TestDrain(t *testing.T) {
	inds, errs := Drain(t, mixed())
	var got []string
	for _, ind := range inds {
		got = append(got, ind.Subject.String())
	}
	if want := []string{"192.0.2.0/24", "198.51.100.1/32"}; !cmp.Equal(got, want) {
		t.Errorf("Drain() indicators = %v, want %v", got, want)
	}
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	if want := []int{2, 3, 5}; !cmp.Equal(lines, want) {
		t.Errorf("Drain() error lines = %v, want %v", lines, want)
	}
	if First(errs) != errs[0] || First(nil) != nil {
		t.Errorf("First() = %v, First(nil) = %v, want the line-2 error and nil", First(errs), First(nil))
	}
	want := Counts{Accepted: 2, Excluded: map[string]int{intel.ReasonHash: 1}, Refused: map[string]int{intel.ReasonBadAddress: 2}}
	if diff := cmp.Diff(want, Count(inds, errs)); diff != "" {
		t.Errorf("Count() mismatch (-want +got):\n%s", diff)
	}
	if got := Count(inds, nil); got.Excluded != nil || got.Refused != nil {
		t.Errorf("Count(no errors) = %+v, want nil maps", got)
	}
}

func TestResults(t *testing.T) {
	var got []string
	for _, r := range Results(t, mixed()) {
		if r.Err == nil {
			got = append(got, r.Indicator.Subject.String())
			continue
		}
		got = append(got, fmt.Sprintf("%d %s", r.Err.Line, r.Outcome()))
	}
	want := []string{"192.0.2.0/24", "2 refused:bad-address", "3 excluded:hash", "198.51.100.1/32", "5 refused:bad-address"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Results() mismatch (-want +got):\n%s", diff)
	}
}

func TestFinalErrorFails(t *testing.T) {
	disk := errors.New("disk on fire")
	tests := []struct {
		name string
		read func(tb testing.TB, rd intel.Reader)
	}{
		{"Drain", func(tb testing.TB, rd intel.Reader) { Drain(tb, rd) }},
		{"Results", func(tb testing.TB, rd intel.Reader) { Results(tb, rd) }},
		{"ReadCount", func(tb testing.TB, rd intel.Reader) { ReadCount(tb, rd) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := &Script{Items: []any{indicator("192.0.2.1/32"), disk}}
			if msg := failure(t, func(tb testing.TB) { tt.read(tb, rd) }); msg == "" {
				t.Errorf("%s() of a reader ending in %v did not fail", tt.name, disk)
			}
		})
	}
}

func TestReadCount(t *testing.T) {
	rd := &Script{Items: []any{indicator("192.0.2.1/32"), indicator("192.0.2.2/32")}}
	if n := ReadCount(t, rd); n != 2 {
		t.Errorf("ReadCount() = %d, want 2", n)
	}
	if msg := failure(t, func(tb testing.TB) { ReadCount(tb, mixed()) }); msg == "" {
		t.Error("ReadCount() of a reader giving parse errors did not fail")
	}
}

// repeatOnce returns its items, then last once, then io.EOF.
type repeatOnce struct {
	Script
	last  error
	ended bool
}

func (r *repeatOnce) Read() (proxywatch.Indicator, error) {
	if len(r.Items) > 0 {
		return r.Script.Read()
	}
	if !r.ended {
		r.ended = true
		return proxywatch.Indicator{}, r.last
	}
	return proxywatch.Indicator{}, io.EOF
}

func TestCheckReads(t *testing.T) {
	many := &Script{}
	for range 10 {
		many.Items = append(many.Items, indicator("192.0.2.1/32"))
	}
	tests := []struct {
		name     string
		rd       intel.Reader
		limit    int
		wantFail bool
		wantSeen int
	}{
		{name: "ends", rd: mixed(), limit: 5, wantSeen: 2},
		{name: "over the limit", rd: many, limit: 5, wantFail: true, wantSeen: 6}, // reads 0 to limit pass
		{name: "no line", rd: &Script{Items: []any{intel.NewParseError("f", 0, intel.ReasonSyntax, "", nil)}}, limit: 5, wantFail: true},
		{name: "no reason", rd: &Script{Items: []any{intel.NewParseError("f", 1, "", "", nil)}}, limit: 5, wantFail: true},
		{name: "final error repeated", rd: &Script{Final: errors.New("broken")}, limit: 5},
		{name: "final error not repeated", rd: &repeatOnce{last: errors.New("broken")}, limit: 5, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := 0
			msg := failure(t, func(tb testing.TB) {
				CheckReads(tb, tt.rd, tt.limit, func(proxywatch.Indicator) { seen++ })
			})
			if (msg != "") != tt.wantFail || seen != tt.wantSeen {
				t.Errorf("CheckReads() failure %q, %d indicators checked, want failure %v and %d", msg, seen, tt.wantFail, tt.wantSeen)
			}
		})
	}
}

func TestFiles(t *testing.T) {
	var got []string
	for _, b := range Seeds(t, "*.txt") {
		got = append(got, string(b))
	}
	if want := []string{"192.0.2.1\n", "198.51.100.0/24\n"}; !cmp.Equal(got, want) {
		t.Errorf("Seeds(*.txt) = %q, want %q", got, want)
	}
	b, err := io.ReadAll(Input(t, "a.txt", "unused"))
	if err != nil || string(b) != "192.0.2.1\n" {
		t.Errorf("Input(a.txt) reads %q, %v, want the file", b, err)
	}
	b, _ = io.ReadAll(Input(t, "", "text"))
	if string(b) != "text" {
		t.Errorf("Input(\"\", text) reads %q, want %q", b, "text")
	}
	if msg := failure(t, func(tb testing.TB) { Open(tb, "testdata/absent") }); msg == "" {
		t.Error("Open(absent file) did not fail")
	}
}

func TestOpenReader(t *testing.T) {
	var got intel.Options
	var text []byte
	newReader := func(r io.Reader, opts intel.Options) (*Script, error) {
		got = opts
		text, _ = io.ReadAll(r)
		return &Script{}, nil
	}
	OpenReader(t, newReader, "testdata/a.txt", map[string]string{"k": "v"})
	want := intel.Options{Name: "a.txt", Params: map[string]string{"k": "v"}}
	if diff := cmp.Diff(want, got); diff != "" || string(text) != "192.0.2.1\n" {
		t.Errorf("OpenReader(testdata/a.txt) gave options (-want +got):\n%s\nand text %q", diff, text)
	}
	refuse := func(io.Reader, intel.Options) (intel.Reader, error) { return nil, errors.New("bad params") }
	if msg := failure(t, func(tb testing.TB) { OpenReader(tb, refuse, "testdata/a.txt", nil) }); msg == "" {
		t.Error("OpenReader() with a failing NewReader did not fail")
	}
}
