package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// indicatorCols are the columns an Indicator is read from, in scanIndicator's order.
const indicatorCols = `feed, subject, kind, port, proto, section, line, confidence, tags, comment,
	first_seen, last_seen, expires`

// upsertIndicatorSQL inserts an indicator or replaces the one with its key.
const upsertIndicatorSQL = `INSERT INTO indicators (feed, subject, kind, port, proto, family, net_first, net_last,
	section, line, confidence, tags, comment, first_seen, last_seen, expires)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (feed, subject, kind, port, proto) DO UPDATE SET section = excluded.section,
	line = excluded.line, confidence = excluded.confidence, tags = excluded.tags,
	comment = excluded.comment, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
	expires = excluded.expires`

// indicatorRow holds the arguments of upsertIndicatorSQL, reused from row
// to row.
type indicatorRow struct {
	a           [16]any
	first, last [16]byte
}

// args returns the arguments for ind, which must be normalized. The
// returned slice is valid until the next call.
func (r *indicatorRow) args(ind *proxywatch.Indicator) []any {
	a := &r.a
	a[0], a[1], a[2] = ind.Source.Feed, ind.Subject.String(), ind.Kind.String()
	a[3], a[4] = int64(ind.Port), ind.Proto
	a[5], a[6], a[7] = nil, nil, nil
	if ind.Subject.Type() == proxywatch.SubjectPrefix {
		var fam int
		fam, r.first, r.last = store.PrefixRange(ind.Subject.Prefix)
		a[5], a[6], a[7] = int64(fam), r.first[:], r.last[:]
	}
	a[8], a[9], a[10] = ind.Source.Section, int64(ind.Source.Line), int64(ind.Confidence)
	a[11] = nil
	if len(ind.Tags) > 0 {
		b, _ := json.Marshal(ind.Tags) // []string always marshals
		a[11] = string(b)
	}
	a[12] = ind.Comment
	a[13], a[14], a[15] = micros(ind.FirstSeen), micros(ind.LastSeen), micros(ind.Expires)
	return a[:]
}

// scanIndicator reads a row of indicatorCols.
func scanIndicator(sc scanner) (proxywatch.Indicator, error) {
	var (
		ind                  proxywatch.Indicator
		subject, kind        string
		port, line, conf     int64
		tags                 sql.NullString
		first, last, expires sql.NullInt64
	)
	err := sc.Scan(&ind.Source.Feed, &subject, &kind, &port, &ind.Proto, &ind.Source.Section, &line,
		&conf, &tags, &ind.Comment, &first, &last, &expires)
	if err != nil {
		return ind, err
	}
	if ind.Subject, err = proxywatch.ParseSubject(subject); err != nil {
		return ind, fmt.Errorf("stored indicator: %w", err)
	}
	if ind.Kind, err = proxywatch.ParseKind(kind); err != nil {
		return ind, fmt.Errorf("stored indicator %s: %w", subject, err)
	}
	if tags.Valid {
		if err := json.Unmarshal([]byte(tags.String), &ind.Tags); err != nil {
			return ind, fmt.Errorf("stored indicator %s: tags: %w", subject, err)
		}
	}
	ind.Port, ind.Source.Line, ind.Confidence = uint16(port), int(line), uint8(conf)
	ind.FirstSeen, ind.LastSeen, ind.Expires = fromMicros(first), fromMicros(last), fromMicros(expires)
	return ind, nil
}

// Add implements store.Store.
func (s *Store) Add(ctx context.Context, ind proxywatch.Indicator) error {
	norm, err := store.Normalize(ind)
	if err == nil && norm.Source.Feed == "" {
		err = fmt.Errorf("empty feed: %w", proxywatch.ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("add indicator %s: %w", ind.Subject, err)
	}
	return s.write(ctx, fmt.Sprintf("add indicator %s to %q", norm.Subject, norm.Source.Feed), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO feeds (name) VALUES (?) ON CONFLICT DO NOTHING`, norm.Source.Feed); err != nil {
			return err
		}
		var row indicatorRow
		args := row.args(&norm)
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM indicators
			WHERE feed = ? AND subject = ? AND kind = ? AND port = ? AND proto = ?`, args[:5]...).Scan(&exists)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, upsertIndicatorSQL, args...); err != nil {
			return err
		}
		if exists == 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE feeds SET indicators = indicators + 1 WHERE name = ?`, norm.Source.Feed); err != nil {
				return err
			}
		}
		return recordChange(ctx, tx, store.ChangeAdd, norm.Source.Feed, &norm)
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, k proxywatch.Key) error {
	op := fmt.Sprintf("delete indicator %s from %q", k.Subject, k.Feed)
	if k.Subject.Type() == proxywatch.SubjectNone {
		return fmt.Errorf("%s: empty subject: %w", op, proxywatch.ErrInvalid)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		ind, err := scanIndicator(tx.QueryRowContext(ctx, `DELETE FROM indicators
			WHERE feed = ? AND subject = ? AND kind = ? AND port = ? AND proto = ? RETURNING `+indicatorCols,
			store.Text(k.Feed), k.Subject.String(), k.Kind.String(), int64(k.Port), store.Text(k.Proto)))
		if errors.Is(err, sql.ErrNoRows) {
			return proxywatch.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feeds SET indicators = indicators - 1 WHERE name = ?`, ind.Source.Feed); err != nil {
			return err
		}
		return recordChange(ctx, tx, store.ChangeDelete, ind.Source.Feed, &ind)
	})
}

// Indicators implements store.Store.
func (s *Store) Indicators(ctx context.Context, feed string) iter.Seq2[proxywatch.Indicator, error] {
	q, args := `SELECT `+indicatorCols+` FROM indicators`, []any(nil)
	if feed != "" {
		q, args = q+` WHERE feed = ?`, []any{feed}
	}
	return func(yield func(proxywatch.Indicator, error) bool) {
		op := fmt.Sprintf("read indicators of %q", feed)
		if s.closed.Load() {
			yield(proxywatch.Indicator{}, s.readErr(op, nil))
			return
		}
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			yield(proxywatch.Indicator{}, s.readErr(op, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			ind, err := scanIndicator(rows)
			if err != nil {
				yield(proxywatch.Indicator{}, s.readErr(op, err))
				return
			}
			if !yield(ind, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(proxywatch.Indicator{}, s.readErr(op, err))
		}
	}
}

// Subject implements store.Store.
func (s *Store) Subject(ctx context.Context, subj proxywatch.Subject) ([]proxywatch.Indicator, error) {
	if subj.Type() == proxywatch.SubjectNone {
		return nil, fmt.Errorf("find subject: empty: %w", proxywatch.ErrInvalid)
	}
	return s.query(ctx, fmt.Sprintf("find subject %s", subj),
		`SELECT `+indicatorCols+` FROM indicators WHERE subject = ?`, subj.String())
}

// Covering implements store.Store.
func (s *Store) Covering(ctx context.Context, addr netip.Addr) ([]proxywatch.Indicator, error) {
	op := fmt.Sprintf("find prefixes covering %s", addr)
	fam, a16, starts, err := store.CoveringStarts(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	args := make([]any, 0, len(starts)+2)
	args = append(args, int64(fam))
	for _, st := range starts {
		args = append(args, st[:])
	}
	args = append(args, a16[:])
	q := `SELECT ` + indicatorCols + ` FROM indicators WHERE family = ? AND net_first IN (?` +
		strings.Repeat(`, ?`, len(starts)-1) + `) AND net_last >= ?`
	return s.query(ctx, op, q, args...)
}

// query runs q and collects the indicators it returns.
func (s *Store) query(ctx context.Context, op, q string, args ...any) ([]proxywatch.Indicator, error) {
	if s.closed.Load() {
		return nil, s.readErr(op, nil)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.readErr(op, err)
	}
	defer rows.Close()
	var inds []proxywatch.Indicator
	for rows.Next() {
		ind, err := scanIndicator(rows)
		if err != nil {
			return nil, s.readErr(op, err)
		}
		inds = append(inds, ind)
	}
	if err := rows.Err(); err != nil {
		return nil, s.readErr(op, err)
	}
	return inds, nil
}
