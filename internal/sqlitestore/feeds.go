package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

const feedCols = `name, format, source, last_fetch, last_good, etag, last_modified,
	accepted, refused, excluded, guard_refused, duplicates, holds, last_error, indicators`

// upsertFeedSQL writes a feed's state, leaving its indicator count alone.
// It is an upsert, never INSERT OR REPLACE, which would delete the row and
// cascade to the feed's indicators.
const upsertFeedSQL = `INSERT INTO feeds (name, format, source, last_fetch, last_good, etag, last_modified,
	accepted, refused, excluded, guard_refused, duplicates, holds, last_error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET format = excluded.format, source = excluded.source,
	last_fetch = excluded.last_fetch, last_good = excluded.last_good, etag = excluded.etag,
	last_modified = excluded.last_modified, accepted = excluded.accepted, refused = excluded.refused,
	excluded = excluded.excluded, guard_refused = excluded.guard_refused, duplicates = excluded.duplicates,
	holds = excluded.holds, last_error = excluded.last_error`

func upsertFeed(ctx context.Context, tx *sql.Tx, st *store.FeedState) error {
	_, err := tx.ExecContext(ctx, upsertFeedSQL, st.Name, st.Format, st.Source,
		micros(st.LastFetch), micros(st.LastGood), st.ETag, st.LastModified,
		st.Accepted, st.Refused, st.Excluded, st.GuardRefused, st.Duplicates, st.Holds, st.LastError)
	if err != nil {
		return fmt.Errorf("write feed state: %w", err)
	}
	return nil
}

// checkEvery is how many indicators ReplaceFeed reads between checks of
// its context.
const checkEvery = 1024

// ReplaceFeed implements store.Store.
func (s *Store) ReplaceFeed(ctx context.Context, state store.FeedState, inds iter.Seq2[proxywatch.Indicator, error]) error {
	st, err := store.NormalizeState(state)
	if err != nil {
		return fmt.Errorf("replace feed: %w", err)
	}
	defer s.shrinkCache()
	return s.write(ctx, fmt.Sprintf("replace feed %q", st.Name), func(tx *sql.Tx) error {
		if err := s.growCache(ctx, tx); err != nil {
			return err
		}
		if err := upsertFeed(ctx, tx, &st); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM indicators WHERE feed = ?`, st.Name); err != nil {
			return fmt.Errorf("delete old indicators: %w", err)
		}
		ins, err := newBulkInserter(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		n := 0
		for ind, err := range inds {
			if err != nil {
				return fmt.Errorf("read indicators: %w", err)
			}
			if n++; n%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			switch ind.Source.Feed {
			case "":
				ind.Source.Feed = st.Name
			case st.Name:
			default:
				return fmt.Errorf("indicator %s: feed %q in feed %q: %w", ind.Subject, ind.Source.Feed, st.Name, proxywatch.ErrInvalid)
			}
			norm, err := store.Normalize(ind)
			if err != nil {
				return err
			}
			if err := ins.add(&norm); err != nil {
				return err
			}
		}
		if err := ins.flush(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feeds SET indicators =
			(SELECT count(*) FROM indicators WHERE feed = ?1) WHERE name = ?1`, st.Name); err != nil {
			return fmt.Errorf("count indicators: %w", err)
		}
		if s.cfg.ChangeRetention > 0 {
			if _, err := pruneChanges(ctx, tx, time.Now().Add(-s.cfg.ChangeRetention)); err != nil {
				return err
			}
		}
		return recordChange(ctx, tx, store.ChangeFeed, st.Name, nil)
	})
}

// DeleteFeed implements store.Store.
func (s *Store) DeleteFeed(ctx context.Context, name string) error {
	defer s.shrinkCache()
	return s.write(ctx, fmt.Sprintf("delete feed %q", name), func(tx *sql.Tx) error {
		if err := s.growCache(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM feeds WHERE name = ?`, name) // cascades
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, proxywatch.ErrNotFound)
		}
		return recordChange(ctx, tx, store.ChangeFeed, name, nil)
	})
}

// UpdateFeedState implements store.Store.
func (s *Store) UpdateFeedState(ctx context.Context, state store.FeedState) error {
	st, err := store.NormalizeState(state)
	if err != nil {
		return fmt.Errorf("update feed state: %w", err)
	}
	return s.write(ctx, fmt.Sprintf("update feed state %q", st.Name), func(tx *sql.Tx) error {
		if err := upsertFeed(ctx, tx, &st); err != nil {
			return err
		}
		return recordChange(ctx, tx, store.ChangeState, st.Name, nil)
	})
}

// FeedState implements store.Store.
func (s *Store) FeedState(ctx context.Context, name string) (store.FeedState, error) {
	op := fmt.Sprintf("feed state %q", name)
	if s.closed.Load() {
		return store.FeedState{}, s.readErr(op, nil)
	}
	st, err := scanFeed(s.r.QueryRowContext(ctx, `SELECT `+feedCols+` FROM feeds WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.FeedState{}, fmt.Errorf("%s: %w", op, proxywatch.ErrNotFound)
	}
	if err != nil {
		return store.FeedState{}, s.readErr(op, err)
	}
	return st, nil
}

// FeedStates implements store.Store.
func (s *Store) FeedStates(ctx context.Context) ([]store.FeedState, error) {
	if s.closed.Load() {
		return nil, s.readErr("feed states", nil)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+feedCols+` FROM feeds ORDER BY name`)
	if err != nil {
		return nil, s.readErr("feed states", err)
	}
	defer rows.Close()
	var sts []store.FeedState
	for rows.Next() {
		st, err := scanFeed(rows)
		if err != nil {
			return nil, s.readErr("feed states", err)
		}
		sts = append(sts, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr("feed states", err)
	}
	return sts, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanFeed(sc scanner) (store.FeedState, error) {
	var st store.FeedState
	var fetch, good sql.NullInt64
	err := sc.Scan(&st.Name, &st.Format, &st.Source, &fetch, &good, &st.ETag, &st.LastModified,
		&st.Accepted, &st.Refused, &st.Excluded, &st.GuardRefused, &st.Duplicates, &st.Holds,
		&st.LastError, &st.Indicators)
	st.LastFetch, st.LastGood = fromMicros(fetch), fromMicros(good)
	return st, err
}
