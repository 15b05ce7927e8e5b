package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// defaultChangesLimit is Changes' limit when the caller gives none.
const defaultChangesLimit = 1000

// recordChange appends a change to the log in tx. ind is nil for feed and
// state changes.
func recordChange(ctx context.Context, tx querier, op store.ChangeOp, feed string, ind *proxywatch.Indicator) error {
	var data any
	if ind != nil {
		b, err := json.Marshal(ind)
		if err != nil {
			return fmt.Errorf("record change: %w", err)
		}
		data = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO changes (op, feed, indicator, time) VALUES (?, ?, ?, ?)`,
		op.String(), feed, data, time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// seqSQL reads the newest seq ever assigned, pruned or not.
const seqSQL = `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`

// Seq implements store.Store.
func (s *Store) Seq(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, s.readErr("read change seq", nil)
	}
	var seq uint64
	if err := s.r.QueryRowContext(ctx, seqSQL).Scan(&seq); err != nil {
		return 0, s.readErr("read change seq", err)
	}
	return seq, nil
}

// Changes implements store.Store.
func (s *Store) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	op := fmt.Sprintf("read changes after %d", after)
	if s.closed.Load() {
		return nil, s.readErr(op, nil)
	}
	if limit <= 0 {
		limit = defaultChangesLimit
	}
	tx, err := s.r.BeginTx(ctx, nil) // one snapshot for the bounds and the rows
	if err != nil {
		return nil, s.readErr(op, err)
	}
	defer tx.Rollback()
	var seq, pruned uint64
	err = tx.QueryRowContext(ctx, seqSQL+`, coalesce((SELECT value FROM meta WHERE key = 'changes_pruned_through'), 0)`).Scan(&seq, &pruned)
	if err != nil {
		return nil, s.readErr(op, err)
	}
	if after < pruned {
		return nil, fmt.Errorf("%s: changes up to %d were pruned: %w", op, pruned, store.ErrCursorExpired)
	}
	if after > seq {
		return nil, fmt.Errorf("%s: the store's latest change is %d: %w", op, seq, store.ErrCursorExpired)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, op, feed, indicator, time FROM changes
		WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, s.readErr(op, err)
	}
	defer rows.Close()
	changes := []store.Change{}
	for rows.Next() {
		var (
			c      store.Change
			opName string
			ind    sql.NullString
			t      int64
		)
		if err := rows.Scan(&c.Seq, &opName, &c.Feed, &ind, &t); err != nil {
			return nil, s.readErr(op, err)
		}
		c.Time = time.UnixMicro(t).UTC()
		if c.Op, err = store.ParseChangeOp(opName); err != nil {
			return nil, fmt.Errorf("%s: seq %d: %w", op, c.Seq, err)
		}
		if ind.Valid {
			if err := json.Unmarshal([]byte(ind.String), &c.Indicator); err != nil {
				return nil, fmt.Errorf("%s: seq %d: %w", op, c.Seq, err)
			}
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(op, err)
	}
	return changes, nil
}

// PruneChanges implements store.Store.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.write(ctx, "prune changes", func(tx *sql.Tx) error {
		var err error
		n, err = pruneChanges(ctx, tx, before)
		return err
	})
	return n, err
}

// pruneChanges removes the changes before t, and all changes before them
// in sequence, so that what remains is a contiguous tail of the log even if
// writers' clocks disagree, and records the newest seq removed.
func pruneChanges(ctx context.Context, tx *sql.Tx, before time.Time) (int, error) {
	var upTo sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM changes WHERE time < ?`, before.UnixMicro()).Scan(&upTo); err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	if !upTo.Valid {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE seq <= ?`, upTo.Int64)
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('changes_pruned_through', ?1)
		ON CONFLICT (key) DO UPDATE SET value = max(value, ?1)`, upTo.Int64)
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return int(n), nil
}
