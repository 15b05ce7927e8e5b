// Package store defines how proxywatch keeps its state on disk: the [Store]
// contract, the [FeedState] record kept beside each feed's indicators, and
// the change cursor ([Change]) through which a running daemon follows
// writes made by another process, such as `proxywatch import` while
// `proxywatch serve` runs.
//
// The package holds no implementation. sqlitestore (embedded) and pgstore
// (PostgreSQL) implement Store, and storetest is the conformance suite both
// pass. The helpers here ([Normalize], [SubjectKey], [CoveringKeys]) are
// shared by the implementations so that they store and answer alike.
//
// # Following changes
//
// A process that keeps an in-memory copy of the indicators (the verdict
// table) loads it and then follows the change cursor:
//
//  1. cur := Seq(ctx), then read every indicator with Indicators(ctx, "").
//  2. Every half second or so, Changes(ctx, cur, n): apply each change in
//     order and set cur to its Seq. [ChangeFeed]: reload that feed with
//     Indicators(ctx, name) (an empty feed means it was deleted).
//     [ChangeAdd]: insert or replace the indicator by its Key.
//     [ChangeDelete]: remove it by its Key. [ChangeState]: refresh the
//     feed's state if it is shown.
//  3. If Changes returns [ErrCursorExpired], go back to step 1.
//
// Changes committed between steps 1's Seq and the read are seen twice;
// applying a change is idempotent, so that is harmless.
package store

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Errors a Store returns besides the proxywatch sentinels (ErrNotFound,
// ErrInvalid, ErrUnavailable). Callers branch on them with errors.Is.
var (
	// ErrCursorExpired means a change cursor can no longer be followed:
	// changes after it were pruned, or it is ahead of the store (which was
	// then replaced or restored). The follower must reload everything.
	ErrCursorExpired = errors.New("change cursor expired")
	// ErrSchemaTooNew means the database was migrated by a newer
	// proxywatch than the running one; the store refuses to open it.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
)

// A Store keeps indicators grouped by feed, each feed's state, and a log
// of changes. Implementations are safe for concurrent use by several
// goroutines, and by several processes where the backend allows (one
// writer at a time, any number of readers; see the implementation).
//
// Conventions for every method:
//   - Times are kept to the microsecond, in UTC (PostgreSQL's precision);
//     zero times stay zero. Empty tag lists read back as nil. Text is kept
//     as valid UTF-8 (see [Normalize]).
//   - An invalid argument is reported as proxywatch.ErrInvalid, a missing
//     feed or indicator as proxywatch.ErrNotFound, and a store that is
//     busy beyond its timeout (another process holds the write lock) or
//     closed as proxywatch.ErrUnavailable. A write that fails changes
//     nothing and records no change.
//   - Every successful write (every method that writes, except
//     PruneChanges) records exactly one [Change], with a sequence number
//     greater than all before it, assigned in commit order.
//   - Reads never see a write in part: a feed is either wholly the old set
//     or wholly the new one.
//   - Results are in no particular order.
type Store interface {
	// ReplaceFeed replaces all indicators of the feed state.Name with inds
	// and its state record with state, in one transaction, and records a
	// ChangeFeed. state.Indicators is ignored: the store sets it to the
	// number of distinct indicators stored. Each indicator's Source.Feed
	// must be state.Name or empty (then taken as state.Name). When two
	// indicators have the same Key, the later one wins.
	//
	// If inds yields an error, if an indicator is invalid (ErrInvalid), or
	// if ctx ends, ReplaceFeed returns that error wrapped and the feed's
	// previous indicators and state remain whole; so they do if the
	// process dies midway. inds is consumed while the write lock is held
	// and must not call the store's write methods.
	ReplaceFeed(ctx context.Context, state FeedState, inds iter.Seq2[proxywatch.Indicator, error]) error

	// DeleteFeed removes the feed name, its indicators and its state, and
	// records a ChangeFeed. It returns ErrNotFound if there is no such feed.
	DeleteFeed(ctx context.Context, name string) error

	// UpdateFeedState writes state alone, e.g. after a failed fetch or a
	// held update, creating the feed (with no indicators) if it does not
	// exist, and records a ChangeState. The feed's indicators, and the
	// Indicators count, are left as they are.
	UpdateFeedState(ctx context.Context, state FeedState) error

	// FeedState returns the state of the feed name, or ErrNotFound.
	FeedState(ctx context.Context, name string) (FeedState, error)

	// FeedStates returns the state of every feed, ordered by name.
	FeedStates(ctx context.Context) ([]FeedState, error)

	// Add adds ind to the feed ind.Source.Feed, which must not be empty,
	// or replaces the indicator with the same Key, and records a
	// ChangeAdd carrying ind as stored. The feed's state record is created
	// (with only its name) if the feed does not exist.
	Add(ctx context.Context, ind proxywatch.Indicator) error

	// Delete removes the indicator with key k and records a ChangeDelete
	// carrying the removed indicator. It returns ErrNotFound if there is
	// none.
	Delete(ctx context.Context, k proxywatch.Key) error

	// Indicators streams the indicators of the feed name, or of every
	// feed if name is "". A feed that does not exist yields nothing. The
	// stream is one consistent snapshot; an error is yielded once, last.
	// Breaking out of the loop early releases the snapshot.
	Indicators(ctx context.Context, feed string) iter.Seq2[proxywatch.Indicator, error]

	// Subject returns the indicators, from every feed, whose subject is
	// exactly s. The lookup is indexed.
	Subject(ctx context.Context, s proxywatch.Subject) ([]proxywatch.Indicator, error)

	// Covering returns the prefix indicators, from every feed, whose
	// prefix contains addr, expired ones included (the store does not
	// judge). An IPv4-mapped address is taken as IPv4; IPv4 prefixes never
	// cover IPv6 addresses and the reverse. The lookup is indexed: at most
	// one probe per prefix length (33 for IPv4, 129 for IPv6).
	Covering(ctx context.Context, addr netip.Addr) ([]proxywatch.Indicator, error)

	// Seq returns the sequence number of the latest change, 0 if there
	// has been none.
	Seq(ctx context.Context) (uint64, error)

	// Changes returns up to limit changes with a sequence number greater
	// than after, in order; limit <= 0 means 1000. It returns an empty
	// slice when there is nothing new, and ErrCursorExpired when changes
	// after `after` were pruned or `after` is greater than Seq.
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)

	// PruneChanges removes the changes recorded before t (and any before
	// them in sequence), so that cursors older than the newest removed one
	// expire. It returns the number removed.
	PruneChanges(ctx context.Context, before time.Time) (int, error)

	// Close releases the store. Calls after Close report ErrUnavailable;
	// Close itself may be called more than once.
	Close() error
}

// FeedState is what the store keeps about a feed besides its indicators:
// where it comes from, how the last fetch went, and the counts of the last
// copy read. Times are zero when the event has not happened. The counts
// and Holds are never negative.
type FeedState struct {
	Name         string    `json:"name"`             // configured feed name, "local", or an imported file's name
	Format       string    `json:"format,omitempty"` // reader format, e.g. "plainlist"
	Source       string    `json:"source,omitempty"` // URL or file path
	LastFetch    time.Time `json:"last_fetch,omitzero"`
	LastGood     time.Time `json:"last_good,omitzero"` // when the stored indicators were last accepted
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"` // the Last-Modified header, verbatim
	Accepted     int       `json:"accepted"`
	Refused      int       `json:"refused"`
	Excluded     int       `json:"excluded"`
	GuardRefused int       `json:"guard_refused"` // refused one by one by the poisoning guard
	Duplicates   int       `json:"duplicates"`
	Holds        int       `json:"holds"`                // consecutive updates held back by the guard
	LastError    string    `json:"last_error,omitempty"` // why the last fetch failed or was held; "" if it was good
	// Indicators is the number of indicators stored for the feed. The
	// store maintains it; writes ignore it.
	Indicators int `json:"indicators"`
}

// ChangeOp says what a change did.
type ChangeOp uint8

// The change operations. Later versions may add more; followers skip ops
// they do not know.
const (
	ChangeFeed   ChangeOp = iota + 1 // a feed's indicators were replaced, or the feed deleted: reload it
	ChangeState                      // a feed's state record alone was updated
	ChangeAdd                        // an indicator was added or replaced
	ChangeDelete                     // an indicator was deleted
)

var opNames = [...]string{ChangeFeed: "feed", ChangeState: "state", ChangeAdd: "add", ChangeDelete: "delete"}

// String returns the op's name, as stored: "feed", "state", "add" or
// "delete".
func (op ChangeOp) String() string {
	if int(op) < len(opNames) && opNames[op] != "" {
		return opNames[op]
	}
	return "unknown"
}

// ParseChangeOp returns the op named s, or 0 and ErrInvalid.
func ParseChangeOp(s string) (ChangeOp, error) {
	for i, n := range opNames {
		if n != "" && n == s {
			return ChangeOp(i), nil
		}
	}
	return 0, invalidf("change op %q: unknown", s)
}

// A Change is one write recorded in the store's change log.
type Change struct {
	Seq  uint64    `json:"seq"`
	Op   ChangeOp  `json:"op"`
	Feed string    `json:"feed"`
	Time time.Time `json:"time"` // when the writer committed it, by its clock
	// Indicator is the indicator added (ChangeAdd) or deleted
	// (ChangeDelete), as stored; zero for other ops.
	Indicator proxywatch.Indicator `json:"indicator,omitzero"`
}

// FromSlice returns an iterator over inds for ReplaceFeed.
func FromSlice(inds []proxywatch.Indicator) iter.Seq2[proxywatch.Indicator, error] {
	return func(yield func(proxywatch.Indicator, error) bool) {
		for _, ind := range inds {
			if !yield(ind, nil) {
				return
			}
		}
	}
}
