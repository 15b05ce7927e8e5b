package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

var _ store.DecisionStore = (*Store)(nil)

// defaultAlertsLimit is Alerts' limit when the caller gives none.
const defaultAlertsLimit = 100

// PutDecision implements store.DecisionStore.
func (s *Store) PutDecision(ctx context.Context, d proxywatch.Decision) error {
	nd, ind, data, err := prepDecision(d)
	if err != nil {
		return err
	}
	return s.write(ctx, fmt.Sprintf("put decision %q on %s", nd.ID, nd.Subject), func(tx *sql.Tx) error {
		return putDecisionTx(ctx, tx, nd, ind, data)
	})
}

// prepDecision normalizes d and returns it with its mirror and its JSON.
func prepDecision(d proxywatch.Decision) (proxywatch.Decision, proxywatch.Indicator, []byte, error) {
	nd, err := store.NormalizeDecision(d)
	if err != nil {
		return nd, proxywatch.Indicator{}, nil, fmt.Errorf("put decision: %w", err)
	}
	ind, err := store.Normalize(store.DecisionIndicator(nd))
	if err != nil {
		return nd, ind, nil, fmt.Errorf("put decision %q: %w", nd.ID, err)
	}
	data, err := json.Marshal(nd)
	if err != nil {
		return nd, ind, nil, fmt.Errorf("put decision %q: %w", nd.ID, err)
	}
	return nd, ind, data, nil
}

// putDecisionTx stores the normalized decision nd, its mirror ind and
// its JSON in tx.
func putDecisionTx(ctx context.Context, tx querier, nd proxywatch.Decision, ind proxywatch.Indicator, data []byte) error {
	skey := store.SubjectKey(nd.Subject)
	if _, err := tx.ExecContext(ctx, `INSERT INTO feeds (name) VALUES (?) ON CONFLICT DO NOTHING`, store.DecisionFeed); err != nil {
		return err
	}
	// The decisions this one replaces: its own ID, and its subject's.
	rows, err := tx.QueryContext(ctx, `DELETE FROM decisions WHERE id = ? OR skey = ? RETURNING skey, kind`, nd.ID, skey)
	if err != nil {
		return err
	}
	type oldKey struct {
		skey []byte
		kind string
	}
	var olds []oldKey
	for rows.Next() {
		var o oldKey
		if err := rows.Scan(&o.skey, &o.kind); err != nil {
			rows.Close()
			return err
		}
		olds = append(olds, o)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	// Each replaced mirror with another key is recorded as deleted, so
	// that a follower applies the replacement incrementally; one with the
	// same key is overwritten by the add below.
	removed := 0
	var gone []proxywatch.Indicator
	for _, o := range olds {
		old, err := scanIndicator(tx.QueryRowContext(ctx, `DELETE FROM indicators
			WHERE feed = ? AND skey = ? AND kind = ? AND port = 0 AND proto = '' RETURNING `+indicatorCols,
			store.DecisionFeed, o.skey, o.kind))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return err
		}
		removed++
		if string(o.skey) != string(skey) || o.kind != ind.Kind.String() {
			gone = append(gone, old)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (id, skey, subject, kind, created, expires, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, nd.ID, skey, nd.Subject.String(), ind.Kind.String(),
		nd.Created.UnixMicro(), nd.Expires.UnixMicro(), string(data)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, upsertIndicatorsSQL(1), appendIndicatorArgs(nil, &ind)...); err != nil {
		return err
	}
	if err := addCount(ctx, tx, 1-removed); err != nil {
		return err
	}
	for i := range gone {
		if err := recordChange(ctx, tx, store.ChangeDelete, store.DecisionFeed, &gone[i]); err != nil {
			return err
		}
	}
	return recordChange(ctx, tx, store.ChangeAdd, store.DecisionFeed, &ind)
}

// deleteMirror removes the indicator of feed DecisionFeed with the subject
// key skey and the kind named kind, returning how many rows went (0 or 1).
func deleteMirror(ctx context.Context, tx querier, skey []byte, kind string) (int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM indicators WHERE feed = ? AND skey = ? AND kind = ? AND port = 0 AND proto = ''`,
		store.DecisionFeed, skey, kind)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// addCount adjusts the indicator count of feed DecisionFeed.
func addCount(ctx context.Context, tx querier, delta int) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE feeds SET indicators = indicators + ? WHERE name = ?`, delta, store.DecisionFeed)
	return err
}

// DeleteDecision implements store.DecisionStore.
func (s *Store) DeleteDecision(ctx context.Context, id string) error {
	return s.write(ctx, fmt.Sprintf("delete decision %q", id), func(tx *sql.Tx) error {
		return deleteDecisionTx(ctx, tx, id)
	})
}

// deleteDecisionTx removes the decision id and its mirror in tx.
func deleteDecisionTx(ctx context.Context, tx querier, id string) error {
	var (
		skey []byte
		kind string
	)
	err := tx.QueryRowContext(ctx, `DELETE FROM decisions WHERE id = ? RETURNING skey, kind`, id).Scan(&skey, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return proxywatch.ErrNotFound
	}
	if err != nil {
		return err
	}
	ind, err := scanIndicator(tx.QueryRowContext(ctx, `DELETE FROM indicators
		WHERE feed = ? AND skey = ? AND kind = ? AND port = 0 AND proto = '' RETURNING `+indicatorCols,
		store.DecisionFeed, skey, kind))
	switch {
	case errors.Is(err, sql.ErrNoRows): // the mirror was removed by hand: reload the feed
		return recordChange(ctx, tx, store.ChangeFeed, store.DecisionFeed, nil)
	case err != nil:
		return err
	}
	if err := addCount(ctx, tx, -1); err != nil {
		return err
	}
	return recordChange(ctx, tx, store.ChangeDelete, store.DecisionFeed, &ind)
}

// Decisions implements store.DecisionStore.
func (s *Store) Decisions(ctx context.Context, t time.Time) ([]proxywatch.Decision, error) {
	op := "read decisions"
	if s.closed.Load() {
		return nil, s.readErr(op, nil)
	}
	q, args := `SELECT data FROM decisions`, []any(nil)
	if !t.IsZero() {
		q, args = q+` WHERE created <= ? AND expires > ?`, []any{t.UnixMicro(), t.UnixMicro()}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, s.readErr(op, err)
	}
	defer rows.Close()
	var out []proxywatch.Decision
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, s.readErr(op, err)
		}
		var d proxywatch.Decision
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return nil, fmt.Errorf("%s: stored decision: %w", op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(op, err)
	}
	return out, nil
}

// PruneDecisions implements store.DecisionStore.
func (s *Store) PruneDecisions(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.write(ctx, "prune decisions", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM decisions WHERE expires <= ? RETURNING skey, kind`, t.UnixMicro())
		if err != nil {
			return err
		}
		type key struct {
			skey []byte
			kind string
		}
		var keys []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.skey, &k.kind); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		n = len(keys)
		if n == 0 {
			return nil
		}
		removed := 0
		for _, k := range keys {
			m, err := deleteMirror(ctx, tx, k.skey, k.kind)
			if err != nil {
				return err
			}
			removed += m
		}
		if err := addCount(ctx, tx, -removed); err != nil {
			return err
		}
		return recordChange(ctx, tx, store.ChangeFeed, store.DecisionFeed, nil)
	})
	return n, err
}

// PutAlert implements store.DecisionStore.
func (s *Store) PutAlert(ctx context.Context, a proxywatch.Alert) error {
	na, err := store.NormalizeAlert(a)
	if err != nil {
		return fmt.Errorf("put alert: %w", err)
	}
	data, err := json.Marshal(na)
	if err != nil {
		return fmt.Errorf("put alert %q: %w", na.ID, err)
	}
	return s.write(ctx, fmt.Sprintf("put alert %q", na.ID), func(tx *sql.Tx) error {
		return putAlertTx(ctx, tx, na, data)
	})
}

// putAlertTx stores the normalized alert na and its JSON in tx.
func putAlertTx(ctx context.Context, tx querier, na proxywatch.Alert, data []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, time, detector, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET time = excluded.time, detector = excluded.detector, data = excluded.data`,
		na.ID, na.Time.UnixMicro(), na.Detector, string(data))
	return err
}

// Alerts implements store.DecisionStore.
func (s *Store) Alerts(ctx context.Context, since time.Time, limit int) ([]proxywatch.Alert, error) {
	op := "read alerts"
	if s.closed.Load() {
		return nil, s.readErr(op, nil)
	}
	if limit <= 0 {
		limit = defaultAlertsLimit
	}
	from := int64(-1 << 62)
	if !since.IsZero() {
		from = since.UnixMicro()
	}
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM alerts WHERE time >= ? ORDER BY time DESC, id LIMIT ?`, from, limit)
	if err != nil {
		return nil, s.readErr(op, err)
	}
	defer rows.Close()
	var out []proxywatch.Alert
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, s.readErr(op, err)
		}
		var a proxywatch.Alert
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return nil, fmt.Errorf("%s: stored alert: %w", op, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(op, err)
	}
	return out, nil
}

// PruneAlerts implements store.DecisionStore.
func (s *Store) PruneAlerts(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := s.write(ctx, "prune alerts", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE time < ?`, t.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
