package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/store/storetest"
)

// openTest opens a new store in a temporary directory, closed at cleanup.
func openTest(t testing.TB) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "data", FileName)
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open(%s) error %v", cfg.Path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}
