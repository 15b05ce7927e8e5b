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

var _ store.PositionStore = (*Store)(nil)

// Commit implements store.PositionStore.
func (s *Store) Commit(ctx context.Context, b store.Batch) error {
	type prepared struct {
		d    proxywatch.Decision
		ind  proxywatch.Indicator
		a    proxywatch.Alert
		data []byte
		del  string
		kind int // 0 put, 1 delete, 2 alert
	}
	ps := make([]prepared, 0, len(b.Writes))
	for i, w := range b.Writes {
		var p prepared
		var err error
		switch {
		case w.Put != nil:
			p.d, p.ind, p.data, err = prepDecision(*w.Put)
		case w.Delete != "":
			p.del, p.kind = w.Delete, 1
		case w.Alert != nil:
			p.kind = 2
			if p.a, err = store.NormalizeAlert(*w.Alert); err == nil {
				p.data, err = json.Marshal(p.a)
			}
		default:
			err = fmt.Errorf("empty write: %w", proxywatch.ErrInvalid)
		}
		if err != nil {
			return fmt.Errorf("commit: write %d: %w", i, err)
		}
		ps = append(ps, p)
	}
	now := time.Now().UnixMicro()
	op := fmt.Sprintf("commit %d writes and %d positions", len(b.Writes), len(b.Positions))
	return s.write(ctx, op, func(sqltx *sql.Tx) error {
		tx := newStmtCache(sqltx)
		defer tx.close()
		for _, p := range ps {
			var err error
			switch p.kind {
			case 0:
				err = putDecisionTx(ctx, tx, p.d, p.ind, p.data)
			case 1:
				if err = deleteDecisionTx(ctx, tx, p.del); errors.Is(err, proxywatch.ErrNotFound) {
					err = nil
				}
			case 2:
				err = putAlertTx(ctx, tx, p.a, p.data)
			}
			if err != nil {
				return err
			}
		}
		for src, pos := range b.Positions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO positions (source, pos, updated) VALUES (?, ?, ?)
				ON CONFLICT (source) DO UPDATE SET pos = excluded.pos, updated = excluded.updated`, src, pos, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Positions implements store.PositionStore.
func (s *Store) Positions(ctx context.Context) (map[string][]byte, error) {
	op := "read positions"
	if s.closed.Load() {
		return nil, s.readErr(op, nil)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT source, pos FROM positions`)
	if err != nil {
		return nil, s.readErr(op, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var src string
		var pos []byte
		if err := rows.Scan(&src, &pos); err != nil {
			return nil, s.readErr(op, err)
		}
		out[src] = pos
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(op, err)
	}
	return out, nil
}
