// Package sqlitestore is the embedded implementation of [store.Store]: one
// SQLite file, through the pure-Go modernc.org/sqlite driver (no cgo).
//
// The file is in WAL mode, so one process may write while any number of
// others read: `proxywatch serve` and the CLI open the same file. Writes
// take the write lock at the start of their transaction (BEGIN IMMEDIATE)
// and wait up to Config.BusyTimeout for another process's write, then fail
// with proxywatch.ErrUnavailable. synchronous=NORMAL: a power loss may
// lose the last commits but never leaves a transaction in part.
//
// Within a process, writes go through one connection and reads through a
// small pool, so a reader streaming a feed never blocks a writer.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store in one SQLite file. It is safe for concurrent
// use. Open it with [Open] and release it with Close.
type Store struct {
	cfg Config
	w   *sql.DB // one connection, BEGIN IMMEDIATE: the process's writer
	r   *sql.DB // readers, query-only

	bulkCache string // PRAGMA cache_size for ReplaceFeed; tests lower it

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens the database cfg.Path, creating it and its directory if
// needed, and applies pending schema migrations, each in a transaction.
// A database written by a newer proxywatch is refused with an error
// wrapping store.ErrSchemaTooNew. Open starts no goroutines; opening an
// up-to-date database only reads.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store config: %w", err)
	}
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(cfg.Path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	busy := strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)
	common := cfg.Path + "?_pragma=busy_timeout(" + busy + ")&_pragma=foreign_keys(1)"
	// journal_size_limit truncates the WAL after a big import has been
	// checkpointed. temp_store keeps the statement journal of the bulk
	// inserts in memory.
	w, err := sql.Open("sqlite", common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=journal_size_limit(67108864)&_pragma=cache_size("+writerCacheSize+")&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{cfg: cfg, w: w, bulkCache: bulkCacheSize}
	if err := w.PingContext(ctx); err != nil { // sets WAL before any reader opens
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, mapErr(err))
	}
	if err := migrate(ctx, w, ms); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	r, err := sql.Open("sqlite", common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", cfg.Path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(2)
	r.SetConnMaxIdleTime(time.Minute)
	s.r = r
	return s, nil
}

// Close closes the database. Later calls to other methods return
// proxywatch.ErrUnavailable; Close may be called again and returns the
// first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// Page cache sizes of the writer, in KiB (negative, as PRAGMA cache_size
// takes them). An import of a million indicators touches about 150 MiB of
// index and table pages in random order; with less cache than that, pages
// are spilled to the WAL and read back, which made the import 1.6x slower
// at 32 MiB (BenchmarkStore1M, 2026-11). ReplaceFeed raises the cache for
// its transaction (and DeleteFeed, which deletes as many rows) and gives
// the memory back after.
const (
	writerCacheSize = "-16384"
	bulkCacheSize   = "-262144"
)

// growCache raises the writer's page cache for a bulk write in tx.
func (s *Store) growCache(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = `+s.bulkCache); err != nil {
		return fmt.Errorf("set cache size: %w", err)
	}
	return nil
}

// shrinkCache returns the writer's page cache to its normal size after a
// bulk import, and its memory to the allocator.
func (s *Store) shrinkCache() {
	if s.closed.Load() {
		return
	}
	// Best effort: a failure leaves a bigger cache, nothing worse.
	s.w.Exec(`PRAGMA cache_size = ` + writerCacheSize)
	s.w.Exec(`PRAGMA shrink_memory`)
}

var errClosed = &proxywatch.Error{Kind: proxywatch.ErrUnavailable, Message: "store closed"}

// write runs fn in a write transaction, committing if it returns nil. The
// write lock is taken at the start, so fn never meets SQLITE_BUSY midway.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", op, errClosed)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, mapErr(err))
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return fmt.Errorf("%s: %w", op, mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", op, mapErr(err))
	}
	return nil
}

// mapErr marks errors that mean "try again later" as ErrUnavailable.
func mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &proxywatch.Error{Kind: proxywatch.ErrUnavailable, Message: "store busy", Err: err}
		}
	}
	return err
}

// readErr returns the error for a read on a closed store, or mapErr(err).
func (s *Store) readErr(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", op, errClosed)
	}
	return fmt.Errorf("%s: %w", op, mapErr(err))
}

// micros returns t as Unix microseconds, or nil for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros reverses micros.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}
