package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/proxywatch/proxywatch"
)

// bulkRows is how many indicators one insert statement of a bulk import
// carries. One statement per row spends most of its time outside SQLite's
// b-tree code; 64 rows (896 parameters) per statement made ReplaceFeed of
// a million indicators about 1.5x faster (BenchmarkStore1M, 2026-11).
const bulkRows = 64

// A bulkInserter writes indicators in statements of bulkRows rows within
// one transaction, in the order they are added.
type bulkInserter struct {
	tx    *sql.Tx
	stmt  *sql.Stmt // bulkRows rows
	args  []any
	rows  int
	first string // the first subject of the pending rows, for errors
}

func newBulkInserter(ctx context.Context, tx *sql.Tx) (*bulkInserter, error) {
	stmt, err := tx.PrepareContext(ctx, upsertIndicatorsSQL(bulkRows))
	if err != nil {
		return nil, fmt.Errorf("prepare insert: %w", err)
	}
	return &bulkInserter{tx: tx, stmt: stmt, args: make([]any, 0, bulkRows*indicatorRowCols)}, nil
}

// add queues ind, which must be normalized, writing the queue when full.
func (b *bulkInserter) add(ind *proxywatch.Indicator) error {
	if b.rows == 0 {
		b.first = ind.Subject.String()
	}
	b.args = appendIndicatorArgs(b.args, ind)
	if b.rows++; b.rows < bulkRows {
		return nil
	}
	// Statements run without a cancellable context: the driver starts a
	// watcher goroutine for each statement that has one. The caller checks
	// its context between rows, and the transaction is rolled back when
	// the context ends.
	if _, err := b.stmt.ExecContext(context.Background(), b.args...); err != nil {
		return fmt.Errorf("insert %d indicators from %s: %w", b.rows, b.first, err)
	}
	b.args, b.rows = b.args[:0], 0
	return nil
}

// flush writes what is queued.
func (b *bulkInserter) flush() error {
	if b.rows == 0 {
		return nil
	}
	if _, err := b.tx.ExecContext(context.Background(), upsertIndicatorsSQL(b.rows), b.args...); err != nil {
		return fmt.Errorf("insert %d indicators from %s: %w", b.rows, b.first, err)
	}
	b.args, b.rows = b.args[:0], 0
	return nil
}

func (b *bulkInserter) close() { b.stmt.Close() }
