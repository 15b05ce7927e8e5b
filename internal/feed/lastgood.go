package feed

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// meta describes the kept copy of a feed, stored beside its body as
// <dir>/feeds/<name>.json.
type meta struct {
	Source       string    `json:"source"` // URL or path the copy came from
	Format       string    `json:"format"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	ModTime      time.Time `json:"mod_time,omitzero"`   // local files
	FileSize     int64     `json:"file_size,omitempty"` // local files
	SHA256       string    `json:"sha256"`
	Bytes        int64     `json:"bytes"`
	Fetched      time.Time `json:"fetched"` // when the copy was received and accepted
	Checked      time.Time `json:"checked"` // when the source last confirmed it
	Holds        int       `json:"holds,omitempty"`
	HoldReason   string    `json:"hold_reason,omitempty"`
}

func (m *meta) validators() validators {
	return validators{etag: m.ETag, lastModified: m.LastModified, modTime: m.ModTime, size: m.FileSize}
}

// lastGood keeps the last accepted copy of each feed on disk. A zero
// lastGood (no directory) keeps nothing.
type lastGood struct {
	dir string // <data>/feeds, or ""
}

func (l lastGood) bodyPath(name string) string { return filepath.Join(l.dir, name+".body") }
func (l lastGood) metaPath(name string) string { return filepath.Join(l.dir, name+".json") }

// readMeta returns the metadata of name's kept copy; fs.ErrNotExist when
// there is none.
func (l lastGood) readMeta(name string) (meta, error) {
	var m meta
	if l.dir == "" {
		return m, fs.ErrNotExist
	}
	b, err := os.ReadFile(l.metaPath(name))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read %s: %w", l.metaPath(name), err)
	}
	return m, nil
}

// read returns name's kept copy. The body must match the metadata's hash:
// a crash between writing the body and the metadata leaves a pair that is
// refused rather than trusted.
func (l lastGood) read(name string) (meta, []byte, error) {
	m, err := l.readMeta(name)
	if err != nil {
		return m, nil, err
	}
	body, err := os.ReadFile(l.bodyPath(name))
	if err != nil {
		return m, nil, err
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != m.SHA256 {
		return m, nil, fmt.Errorf("read %s: body does not match its metadata", l.bodyPath(name))
	}
	return m, body, nil
}

// write stores body and m for name, each atomically; the body first.
func (l lastGood) write(name string, m meta, body []byte) error {
	if l.dir == "" {
		return nil
	}
	if err := writeFile(l.bodyPath(name), body); err != nil {
		return err
	}
	return l.writeMeta(name, m)
}

// writeMeta stores m for name atomically.
func (l lastGood) writeMeta(name string, m meta) error {
	if l.dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(l.metaPath(name), append(b, '\n'))
}

// writeFile replaces path with data atomically: a temporary file in the
// same directory, synced, then renamed over path.
func writeFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// isNotExist reports whether err says there is no kept copy.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
