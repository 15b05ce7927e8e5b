package app

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// followInterval is how often the follower polls the store's change
// cursor: writes by any process reach the table within about this long
// plus the time to apply them.
const followInterval = 250 * time.Millisecond

// follower carries every change in the store to the verdict table: feeds
// replaced by the scheduler or by `proxywatch import` in another process,
// single indicators added or deleted, and feeds going stale or fresh.
type follower struct {
	st    store.Store
	table *verdict.Table
	log   *slog.Logger

	maxAge map[string]time.Duration // configured feeds' max_age

	mu     sync.Mutex
	cursor uint64
	stale  map[string]bool // feeds left out of the table as stale

	applied atomic.Uint64 // the cursor, for metrics
	loaded  atomic.Bool

	// decisions, when set, is the daemon's decision process, kept in step
	// with decisions other processes write (`proxywatch decisions
	// add|delete`): a deletion is forgotten at once, an addition it does
	// not know makes it re-read the store's decisions, at most every
	// decisionSyncEvery.
	decisions decisionFollower
	wake      chan struct{}
	syncDue   bool
	synced    time.Time
}

// decisionFollower is what the follower needs of decision.Manager.
type decisionFollower interface {
	Knows(p netip.Prefix) bool
	Forget(p netip.Prefix, kind proxywatch.Kind)
	Sync(ctx context.Context) error
}

// decisionSyncEvery bounds how often the decision process re-reads the
// store's decisions.
const decisionSyncEvery = 2 * time.Second

func newFollower(st store.Store, table *verdict.Table, fc feed.Config, log *slog.Logger) *follower {
	f := &follower{st: st, table: table, log: log, maxAge: map[string]time.Duration{}, stale: map[string]bool{},
		wake: make(chan struct{}, 1)}
	for _, fd := range fc.Feeds {
		f.maxAge[fd.Name] = fc.Resolve(fd).MaxAge
	}
	return f
}

func (f *follower) ready() error {
	if !f.loaded.Load() {
		return errors.New("not loaded yet")
	}
	return nil
}

// load fills the table with every stored feed. The cursor is read first,
// so a change committed during the load is applied again afterwards;
// applying a change twice is harmless.
func (f *follower) load(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq, err := f.st.Seq(ctx)
	if err != nil {
		return fmt.Errorf("load table: %w", err)
	}
	states, err := f.st.FeedStates(ctx)
	if err != nil {
		return fmt.Errorf("load table: %w", err)
	}
	for _, s := range states {
		if err := f.reloadFeed(ctx, s.Name); err != nil {
			return err
		}
	}
	f.cursor = seq
	f.applied.Store(seq)
	f.loaded.Store(true)
	return nil
}

// kick makes Run poll now rather than at its next tick: the daemon wrote
// to the store itself (a committed decision), so what it decided reaches
// the interfaces at once.
func (f *follower) kick() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run polls the change cursor until ctx is done, and when kicked.
func (f *follower) Run(ctx context.Context) error {
	t := time.NewTicker(followInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-f.wake:
		}
		if err := f.poll(ctx); err != nil && ctx.Err() == nil {
			// The store may be briefly busy with another process's
			// import; try again on the next tick.
			f.log.Warn("follow store changes", slog.Any("err", err))
		}
	}
}

// poll applies every change after the cursor.
func (f *follower) poll(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		changes, err := f.st.Changes(ctx, f.cursor, 1000)
		if errors.Is(err, store.ErrCursorExpired) {
			f.log.Warn("change cursor expired; reloading every feed")
			f.mu.Unlock()
			err := f.load(ctx)
			f.mu.Lock()
			return err
		}
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			f.refreshStale(ctx)
			f.syncDecisions(ctx)
			return nil
		}
		for _, c := range changes {
			if err := f.apply(ctx, c); err != nil {
				return err
			}
			f.cursor = c.Seq
			f.applied.Store(c.Seq)
		}
	}
}

func (f *follower) apply(ctx context.Context, c store.Change) error {
	if c.Feed == store.DecisionFeed && f.decisions != nil {
		switch {
		case c.Op == store.ChangeDelete:
			f.decisions.Forget(c.Indicator.Subject.Prefix, c.Indicator.Kind)
		case c.Op != store.ChangeAdd || !f.decisions.Knows(c.Indicator.Subject.Prefix):
			f.syncDue = true
		}
	}
	switch c.Op {
	case store.ChangeFeed:
		return f.reloadFeed(ctx, c.Feed)
	case store.ChangeState:
		return f.restate(ctx, c.Feed)
	case store.ChangeAdd:
		if !f.stale[c.Feed] {
			f.table.Put(c.Indicator)
		}
	case store.ChangeDelete:
		f.table.Delete(c.Indicator.Key())
	}
	return nil
}

// syncDecisions re-reads the store's decisions into the decision process
// when another process changed them, at most every decisionSyncEvery.
func (f *follower) syncDecisions(ctx context.Context) {
	if !f.syncDue || time.Since(f.synced) < decisionSyncEvery {
		return
	}
	f.syncDue, f.synced = false, time.Now()
	if err := f.decisions.Sync(ctx); err != nil {
		f.syncDue = true
		f.log.Warn("sync decisions", slog.Any("err", err))
	}
}

// reloadFeed loads feed name from the store into the table, or removes it
// when it was deleted or has gone stale.
func (f *follower) reloadFeed(ctx context.Context, name string) error {
	st, err := f.st.FeedState(ctx, name)
	if errors.Is(err, proxywatch.ErrNotFound) {
		f.table.RemoveFeed(name)
		delete(f.stale, name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reload feed %q: %w", name, err)
	}
	if isStale(st, f.maxAge[name], time.Now()) {
		if !f.stale[name] {
			f.log.Warn("feed is stale; its indicators no longer match", slog.String("feed", name), slog.Time("last_good", st.LastGood))
		}
		f.stale[name] = true
		f.table.RemoveFeed(name)
		return nil
	}
	delete(f.stale, name)
	var iterErr error
	f.table.ReplaceFeedSeq(name, values(f.st.Indicators(ctx, name), &iterErr))
	if iterErr != nil {
		return fmt.Errorf("reload feed %q: %w", name, iterErr)
	}
	return nil
}

// restate handles a feed's state record changing alone (not modified,
// held, failed): only a change of staleness touches the table.
func (f *follower) restate(ctx context.Context, name string) error {
	st, err := f.st.FeedState(ctx, name)
	if err != nil {
		return f.reloadFeed(ctx, name)
	}
	if isStale(st, f.maxAge[name], time.Now()) != f.stale[name] {
		return f.reloadFeed(ctx, name)
	}
	return nil
}

// refreshStale removes feeds that went stale since their last change; a
// feed becoming fresh again always comes with a change.
func (f *follower) refreshStale(ctx context.Context) {
	now := time.Now()
	for name, maxAge := range f.maxAge {
		if maxAge <= 0 || f.stale[name] {
			continue
		}
		st, err := f.st.FeedState(ctx, name)
		if err != nil {
			continue
		}
		if isStale(st, maxAge, now) {
			_ = f.reloadFeed(ctx, name)
		}
	}
}

// staleSet returns a copy of the feeds left out of the table as stale.
func (f *follower) staleSet() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]bool, len(f.stale))
	for k, v := range f.stale {
		m[k] = v
	}
	return m
}

// values adapts a fallible sequence, stopping at the first error, which it
// stores in *errp.
func values(seq iter.Seq2[proxywatch.Indicator, error], errp *error) iter.Seq[proxywatch.Indicator] {
	return func(yield func(proxywatch.Indicator) bool) {
		for ind, err := range seq {
			if err != nil {
				*errp = err
				return
			}
			if !yield(ind) {
				return
			}
		}
	}
}
