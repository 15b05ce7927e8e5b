package tail

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// A candidate is a file that may hold the source's lines: a rotated copy
// or the live file.
type candidate struct {
	path     string
	live     bool
	gz       bool
	dev, ino uint64
	mtime    time.Time
	order    [2]int64 // sort key within its class
	class    int      // 0: dated names, 1: numbered names; the live file sorts last
	date     string

	head    []byte // leading bytes, decompressed; read on demand
	headErr error
	headOK  bool
}

// fingerprint hashes a file's leading bytes.
func fingerprint(b []byte) Fingerprint {
	sum := sha256.Sum256(b)
	var fp Fingerprint
	copy(fp[:], sum[:])
	return fp
}

// candidates lists the rotated copies of the followed file, oldest first,
// then the live file when it exists.
func (f *follower) candidates() []*candidate {
	// A directory read while files are renamed in it may miss one: read it
	// until two reads agree.
	names := f.glob()
	for range 5 {
		again := f.glob()
		if slices.Equal(names, again) {
			break
		}
		names = again
	}
	var out []*candidate
	for _, p := range names {
		c, ok := rotatedName(p)
		if !ok || !c.stat() {
			continue
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.class != b.class {
			return a.class < b.class
		}
		if a.class == 0 && a.date != b.date {
			return a.date < b.date
		}
		if a.order != b.order {
			return a.order[0] > b.order[0] // higher numbers are older
		}
		return a.mtime.Before(b.mtime)
	})
	live := &candidate{path: f.cfg.Path, live: true}
	if live.stat() {
		out = append(out, live)
	}
	return out
}

// glob returns the sorted names the rotated-copy patterns match, without
// the live file.
func (f *follower) glob() []string {
	var names []string
	for _, g := range f.cfg.Rotated {
		m, _ := filepath.Glob(g)
		names = append(names, m...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return slices.DeleteFunc(names, func(p string) bool { return p == f.cfg.Path })
}

// rotatedName reads the age of a rotated copy from its name: a trailing
// number (".1", ".2.gz": higher is older) or a date of eight or more
// digits ("-20250302", "-2025-03-02.gz"). Other names, and compressions
// other than gzip, are not rotated copies the reader can use.
func rotatedName(p string) (*candidate, bool) {
	name := filepath.Base(p)
	c := &candidate{path: p}
	if n, ok := strings.CutSuffix(name, ".gz"); ok {
		name, c.gz = n, true
	}
	i := len(name)
	for i > 0 && (isDigit(name[i-1]) || name[i-1] == '-' || name[i-1] == '_') {
		i--
	}
	tail := strings.TrimLeft(name[i:], "-_")
	start := len(name) - len(tail)
	if tail == "" || start == 0 || (name[start-1] != '.' && name[start-1] != '-' && name[start-1] != '_') {
		return nil, false
	}
	digits := strings.NewReplacer("-", "", "_", "").Replace(tail)
	switch {
	case len(digits) >= 8:
		c.class, c.date = 0, digits
	case digits == tail && len(digits) <= 6:
		c.class = 1
		for _, d := range digits {
			c.order[0] = c.order[0]*10 + int64(d-'0')
		}
	default:
		return nil, false
	}
	return c, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stat fills the candidate's identity; it reports false for a file that
// is gone or not a regular file.
func (c *candidate) stat() bool {
	fi, err := os.Stat(c.path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	c.dev, c.ino = fileKey(fi)
	c.mtime = fi.ModTime()
	if !c.gz && !c.live {
		c.gz = isGzip(c.path)
	}
	return true
}

// isGzip reports whether the file at p starts with the gzip magic.
func isGzip(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [2]byte
	n, _ := io.ReadFull(f, magic[:])
	return n == 2 && magic == [2]byte{0x1f, 0x8b}
}

// readHead returns up to n leading bytes of the file, decompressed.
func (c *candidate) readHead(n int) []byte {
	if c.headOK {
		return c.head
	}
	c.headOK = true
	fh, err := os.Open(c.path)
	if err != nil {
		c.headErr = err
		return nil
	}
	defer fh.Close()
	var r io.Reader = fh
	if c.gz {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			c.headErr = err
			return nil
		}
		r = zr
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(r, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		c.headErr = err
	}
	c.head = buf[:k]
	return c.head
}

// holds reports whether the candidate is the file id names: the same
// leading bytes, or, for an id with none read, the same inode.
func (c *candidate) holds(id FileID, n int) bool {
	if id.Len == 0 {
		return !c.gz && id.Inode != 0 && c.dev == id.Dev && c.ino == id.Inode
	}
	head := c.readHead(n)
	return int64(len(head)) >= id.Len && fingerprint(head[:id.Len]) == id.Hash
}

// locate returns the index of the candidate holding id: among those whose
// leading bytes match, the one with id's inode, else the newest. It
// returns -1 when none does. The inode is tried first, since reading a
// compressed candidate's leading bytes costs a decompression.
func locate(cands []*candidate, id FileID, n int) int {
	if id.Inode != 0 {
		for i, c := range cands {
			if !c.gz && c.dev == id.Dev && c.ino == id.Inode && c.holds(id, n) {
				return i
			}
		}
	}
	found := -1
	for i, c := range cands {
		if c.holds(id, n) {
			found = i
		}
	}
	return found
}

// after returns the index of the first candidate after i that is not a
// copy of id (a file being compressed exists twice for a moment), or -1.
func after(cands []*candidate, i int, id FileID, n int) int {
	for j := i + 1; j < len(cands); j++ {
		if cands[j].holds(id, n) {
			continue
		}
		return j
	}
	return -1
}

// sameHead reports whether b starts with the first len(head) bytes head.
func sameHead(b, head []byte) bool { return len(b) >= len(head) && bytes.Equal(b[:len(head)], head) }
