package sqlitestore

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/proxywatch/proxywatch/internal/store"
)

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatalf("loadMigrations(embedded) error %v", err)
	}
	for i, m := range ms {
		if m.version != i+1 || m.sql == "" {
			t.Errorf("embedded migration %d = version %d (%s), %d bytes; want version %d, not empty", i, m.version, m.name, len(m.sql), i+1)
		}
	}
	file := &fstest.MapFile{Data: []byte("CREATE TABLE t (x INTEGER);")}
	tests := []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"ordered", []string{"m/0001_a.sql", "m/0002_b.sql", "m/README"}, ""},
		{"gap", []string{"m/0001_a.sql", "m/0003_c.sql"}, "want 2"},
		{"starts at 2", []string{"m/0002_b.sql"}, "want 1"},
		{"unnumbered", []string{"m/init.sql"}, "NNNN_name.sql"},
		{"zero", []string{"m/0000_z.sql"}, "NNNN_name.sql"},
		{"none", []string{"m/README"}, "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys[f] = file
			}
			_, err := loadMigrations(fsys, "m")
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("loadMigrations(%v) error = %v, want one containing %q", tc.files, err, tc.wantErr)
			}
		})
	}
}

// rawDB opens path with the writer's settings, outside Store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatalf("sql.Open(%s) error %v", path, err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateUpgrade(t *testing.T) {
	ms := func(n int) []migration {
		all := []migration{
			{1, "0001_a.sql", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"},
			{2, "0002_b.sql", "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 7; CREATE TABLE b (z TEXT);"},
		}
		return all[:n]
	}
	db := rawDB(t, filepath.Join(t.TempDir(), "m.db"))
	ctx := t.Context()
	if err := migrate(ctx, db, ms(1)); err != nil {
		t.Fatalf("migrate(v1) error %v", err)
	}
	if err := migrate(ctx, db, ms(1)); err != nil {
		t.Fatalf("migrate(v1) again error %v", err)
	}
	if err := migrate(ctx, db, ms(2)); err != nil {
		t.Fatalf("migrate(v1..v2) error %v", err)
	}
	var x, y, n int
	if err := db.QueryRowContext(ctx, `SELECT x, y, (SELECT count(*) FROM schema_migrations) FROM a`).Scan(&x, &y, &n); err != nil {
		t.Fatalf("read migrated table: %v", err)
	}
	if x != 1 || y != 7 || n != 2 {
		t.Errorf("after migrating to v2: x, y, versions = %d, %d, %d, want 1, 7, 2", x, y, n)
	}
	// A failing migration is rolled back whole and leaves the version.
	bad := append(ms(2), migration{3, "0003_c.sql", "CREATE TABLE c (x INTEGER); INSERT INTO nowhere VALUES (1);"})
	if err := migrate(ctx, db, bad); err == nil || !strings.Contains(err.Error(), "0003_c.sql") {
		t.Errorf("migrate(bad v3) error = %v, want one naming 0003_c.sql", err)
	}
	if v, err := schemaVersion(ctx, db); err != nil || v != 2 {
		t.Errorf("schemaVersion after a failed migration = %d, %v, want 2, nil", v, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'c'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table c after a failed migration: count %d, %v, want 0", n, err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	s := openTest(t)
	path := s.cfg.Path
	known := strconv.Itoa(len(mustMigrations(t)))
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error %v", err)
	}
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatalf("insert future version: %v", err)
	}
	db.Close()
	cfg := DefaultConfig()
	cfg.Path = path
	s2, err := Open(t.Context(), cfg)
	if err == nil {
		s2.Close()
	}
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "999") || !strings.Contains(err.Error(), "up to "+known) {
		t.Errorf("Open(database at version 999) error = %v, want ErrSchemaTooNew naming 999 and %s", err, known)
	}
}

func mustMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatalf("loadMigrations error %v", err)
	}
	return ms
}
