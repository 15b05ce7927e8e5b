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

// indicatorRowCols are the columns an indicator is written to, in
// appendIndicatorArgs's order.
const indicatorRowCols = 14

// upsertIndicatorsSQL returns the statement that inserts n indicators, or
// replaces those with the same key. Rows are applied in order, so of two
// with one key the later wins.
func upsertIndicatorsSQL(n int) string {
	row := "(?" + strings.Repeat(", ?", indicatorRowCols-1) + ")"
	return `INSERT INTO indicators (feed, skey, kind, port, proto, subject,
	section, line, confidence, tags, comment, first_seen, last_seen, expires)
VALUES ` + row + strings.Repeat(",\n"+row, n-1) + `
ON CONFLICT (skey, feed, kind, port, proto) DO UPDATE SET section = excluded.section,
	line = excluded.line, confidence = excluded.confidence, tags = excluded.tags,
	comment = excluded.comment, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
	expires = excluded.expires`
}

// keyWhere selects an indicator by its key, with the arguments keyArgs
// (and appendIndicatorArgs) put first.
const keyWhere = `feed = ? AND skey = ? AND kind = ? AND port = ? AND proto = ?`

// keyArgs returns the arguments of keyWhere for k.
func keyArgs(k proxywatch.Key) []any {
	return []any{store.Text(k.Feed), store.SubjectKey(k.Subject), k.Kind.String(), int64(k.Port), store.Text(k.Proto)}
}

// appendIndicatorArgs appends the indicatorRowCols arguments for ind,
// which must be normalized, to dst; the first five are keyWhere's.
func appendIndicatorArgs(dst []any, ind *proxywatch.Indicator) []any {
	var tags any
	if len(ind.Tags) > 0 {
		b, _ := json.Marshal(ind.Tags) // []string always marshals
		tags = string(b)
	}
	return append(dst,
		ind.Source.Feed, store.SubjectKey(ind.Subject), ind.Kind.String(), int64(ind.Port), ind.Proto,
		ind.Subject.String(), ind.Source.Section, int64(ind.Source.Line), int64(ind.Confidence), tags,
		ind.Comment, micros(ind.FirstSeen), micros(ind.LastSeen), micros(ind.Expires))
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
		args := appendIndicatorArgs(nil, &norm)
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM indicators WHERE `+keyWhere, args[:5]...).Scan(&exists)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, upsertIndicatorsSQL(1), args...); err != nil {
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
		ind, err := scanIndicator(tx.QueryRowContext(ctx,
			`DELETE FROM indicators WHERE `+keyWhere+` RETURNING `+indicatorCols, keyArgs(k)...))
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
		`SELECT `+indicatorCols+` FROM indicators WHERE skey = ?`, store.SubjectKey(subj))
}

// Covering implements store.Store.
func (s *Store) Covering(ctx context.Context, addr netip.Addr) ([]proxywatch.Indicator, error) {
	op := fmt.Sprintf("find prefixes covering %s", addr)
	keys, err := store.CoveringKeys(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	q := `SELECT ` + indicatorCols + ` FROM indicators WHERE skey IN (?` + strings.Repeat(`, ?`, len(keys)-1) + `)`
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
