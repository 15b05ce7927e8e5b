package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/store"
)

// migrationFiles holds the schema, one numbered file per version:
// NNNN_name.sql, numbered from 1 without gaps. A released file is never
// edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// A migration is one schema version.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations in dir of fsys, in version order,
// and checks that they are numbered 1, 2, 3 ... without gaps.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name, and names are zero-padded
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %q: version %d, want %d (numbered without gaps)", name, v, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("read migrations: none in %s", dir)
	}
	return ms, nil
}

// schemaVersion returns the highest applied version, 0 for a new database.
// It only reads, so opening an up-to-date database never waits for a
// writer.
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// migrate brings the database db to the newest of ms, applying each
// pending migration in its own write transaction. A database newer than ms
// is refused with store.ErrSchemaTooNew. Processes opening the same file at
// once are safe: each migration re-reads the version under the write lock.
func migrate(ctx context.Context, db *sql.DB, ms []migration) error {
	latest := ms[len(ms)-1].version
	cur, err := schemaVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("read schema version: %w", mapErr(err))
	}
	if cur > latest {
		return fmt.Errorf("schema version %d, this program knows up to %d; use a newer proxywatch: %w", cur, latest, store.ErrSchemaTooNew)
	}
	for _, m := range ms[cur:] {
		if err := applyMigration(ctx, db, m, latest); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, latest int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate to %s: %w", m.name, mapErr(err))
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("migrate to %s: %w", m.name, mapErr(err))
	}
	cur, err := schemaVersion(ctx, tx)
	switch {
	case err != nil:
		return fmt.Errorf("migrate to %s: %w", m.name, mapErr(err))
	case cur > latest:
		return fmt.Errorf("schema version %d, this program knows up to %d; use a newer proxywatch: %w", cur, latest, store.ErrSchemaTooNew)
	case cur >= m.version:
		return nil // another process applied it meanwhile
	case cur != m.version-1:
		return fmt.Errorf("migrate to %s: database at version %d", m.name, cur)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate to %s: %w", m.name, mapErr(err))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migrate to %s: %w", m.name, mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate to %s: commit: %w", m.name, mapErr(err))
	}
	return nil
}
