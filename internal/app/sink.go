package app

import (
	"context"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/store"
)

// storeSink writes the feed scheduler's accepted updates and state changes
// to the store. The follower then carries them to the verdict table, the
// same path a CLI import takes.
type storeSink struct{ st store.Store }

func (s storeSink) ReplaceFeed(ctx context.Context, fs feed.State, inds []proxywatch.Indicator) error {
	return s.st.ReplaceFeed(ctx, feedState(fs), store.FromSlice(inds))
}

func (s storeSink) FeedState(ctx context.Context, fs feed.State) error {
	return s.st.UpdateFeedState(ctx, feedState(fs))
}

// feedState converts the scheduler's view of a feed to the stored record.
// LastGood is when the source last delivered or confirmed the copy, which
// is what max_age is measured from.
func feedState(fs feed.State) store.FeedState {
	st := store.FeedState{
		Name:         fs.Name,
		Format:       fs.Format,
		Source:       fs.Source,
		LastFetch:    fs.Attempted,
		LastGood:     fs.Checked,
		Accepted:     fs.Report.Accepted,
		Refused:      fs.Report.Read.RefusedTotal(),
		Excluded:     fs.Report.Read.ExcludedTotal(),
		GuardRefused: fs.Report.GuardRefusedTotal(),
		Duplicates:   fs.Report.Duplicates,
		Holds:        fs.Holds,
		LastError:    fs.LastError,
		Indicators:   fs.Indicators,
	}
	if st.LastError == "" && fs.HoldReason != "" {
		st.LastError = "held: " + fs.HoldReason
	}
	return st
}
