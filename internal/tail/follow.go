package tail

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// A follower reads a file by name, and its rotated copies.
//
// It always reads one file, cur, and knows where it stands in it. At the
// end of that file it decides, by polling, what comes next:
//   - the live file (still at cfg.Path) grew: read on;
//   - it shrank, or its leading bytes changed: it was truncated, maybe by
//     copytruncate, so the lines not yet read are in a copy, found by
//     fingerprint among the rotated files; read the copy from the same
//     offset, then the live file from its start;
//   - cfg.Path now names another file: cur was renamed away; read it until
//     it has been quiet for RotateWait, then move on;
//   - a file that is not live has been read to its end: find it among the
//     rotated copies and the live file, and open the next one.
type follower struct {
	cfg     Config
	lb      *lineBuf
	headBuf []byte // the current file's leading bytes
	scratch []byte // for checking them against the file
	timer   *time.Timer
	started bool

	f          *os.File
	zr         *gzip.Reader
	cur        current
	pending    *opened // the next file, opened, once the last partial line is out
	skip       bool    // drop the first line (Start "end" began mid-line)
	truncating bool    // the live file was truncated: looking for its copy
	looks      int     // failed looks for a file that should be there
}

// current is what the follower knows of the file it reads.
type current struct {
	path      string
	live      bool // at cfg.Path when last checked
	gz        bool
	dev, ino  uint64
	headLen   int   // valid bytes of headBuf
	read      int64 // bytes read (decompressed) from the file
	delivered int64 // offset after the last line delivered
	grewAt    time.Time
	rotatedAt time.Time // when seen renamed away; zero if never
	fp        Fingerprint
	fpLen     int64 // the length fp covers; -1 none yet
	broken    bool  // a damaged gzip file: read no further
}

func newFollower(c Config) *follower {
	return &follower{
		cfg:     c,
		lb:      newLineBuf(c.MaxLine),
		headBuf: make([]byte, c.Fingerprint),
		scratch: make([]byte, c.Fingerprint),
	}
}

// id returns the identity of the current file by its first min(n,
// Fingerprint) bytes.
func (f *follower) id(n int64) FileID {
	l := min(n, int64(f.cur.headLen))
	if l != f.cur.fpLen {
		f.cur.fp, f.cur.fpLen = fingerprint(f.headBuf[:l]), l
	}
	if l == 0 {
		return FileID{Path: f.cur.path, Dev: f.cur.dev, Inode: f.cur.ino}
	}
	return FileID{Path: f.cur.path, Dev: f.cur.dev, Inode: f.cur.ino, Len: l, Hash: f.cur.fp}
}

// read reads from the current file, keeping its leading bytes.
func (f *follower) read(p []byte) (int, error) {
	var n int
	var err error
	if f.zr != nil {
		n, err = f.zr.Read(p)
	} else {
		n, err = f.f.Read(p)
	}
	if n > 0 {
		if f.cur.read < int64(len(f.headBuf)) {
			k := copy(f.headBuf[f.cur.read:], p[:n])
			f.cur.headLen = max(f.cur.headLen, int(f.cur.read)+k)
		}
		f.cur.read += int64(n)
	}
	return n, err
}

func (f *follower) next(ctx context.Context, r *Reader) ([]byte, bool, error) {
	for {
		if !f.started {
			if !f.start(r) {
				if err := f.wait(ctx); err != nil {
					return nil, false, err
				}
				continue
			}
			f.started = true
		}
		if f.pending != nil {
			o := f.pending
			f.pending = nil
			f.install(r, o, 0, f.id(f.cur.read))
		}
		if f.f == nil {
			if !f.openLive(r) {
				if err := f.wait(ctx); err != nil {
					return nil, false, err
				}
			}
			continue
		}
		if f.truncating {
			if !f.truncated(r) {
				if err := f.wait(ctx); err != nil {
					return nil, false, err
				}
			}
			continue
		}
		if text, cut, ok := f.lb.line(); ok {
			if f.deliver(r) {
				return text, cut, nil
			}
			continue
		}
		if f.cur.live && f.cur.read == 0 && f.copiedUnread(r) {
			continue
		}
		var n int
		var err error = io.EOF
		if !f.cur.broken {
			n, err = f.lb.fill(f.read)
		}
		if n > 0 {
			f.cur.grewAt = time.Now()
			if f.cur.live && !f.verify() {
				f.beginTruncation()
			}
			continue
		}
		if err != nil && err != io.EOF {
			if f.zr == nil {
				return nil, false, fmt.Errorf("read %s: %w", f.cur.path, err)
			}
			// A damaged gzip file: what was read is all there is.
			r.log.Warn("damaged compressed file", slog.String("path", f.cur.path), slog.Any("err", err))
			r.stats.Lost++
			f.cur.broken = true
		}
		// At the end of the current file.
		if f.cur.live {
			if f.checkLive(r) {
				continue
			}
		} else if f.finished() {
			if o := f.nextFile(r); o != nil {
				if text, cut, ok := f.lb.rest(); ok { // the file's last line had no newline
					f.pending = o
					if f.deliver(r) {
						return text, cut, nil
					}
				} else {
					f.install(r, o, 0, f.id(f.cur.read))
				}
				continue
			}
		}
		if err := f.wait(ctx); err != nil {
			return nil, false, err
		}
	}
}

// deliver records that the line just taken from the buffer is handed
// out. It reports false for a line that is dropped instead.
func (f *follower) deliver(r *Reader) bool {
	f.cur.delivered = f.lb.pos
	r.cp.File = f.id(f.lb.pos)
	r.cp.Offset = f.lb.pos
	if f.skip {
		f.skip = false
		return false
	}
	return true
}

func (f *follower) wait(ctx context.Context) error {
	if f.timer == nil {
		f.timer = time.NewTimer(f.cfg.Poll)
	} else {
		f.timer.Reset(f.cfg.Poll)
	}
	select {
	case <-ctx.Done():
		f.timer.Stop()
		return ctx.Err()
	case <-f.timer.C:
		return nil
	}
}

// verify reports whether the live file still starts with the bytes read
// from it; when it does not, it was truncated and written again.
func (f *follower) verify() bool {
	n := f.cur.headLen
	if n == 0 || f.zr != nil {
		return true
	}
	k, _ := f.f.ReadAt(f.scratch[:n], 0)
	return sameHead(f.scratch[:k], f.headBuf[:n])
}

// beginTruncation stops reading a live file found truncated, dropping
// what was read but not delivered (it may come from the new content at
// the old offset), until truncated has found where its lines went.
func (f *follower) beginTruncation() {
	f.truncating = true
	f.lb.reset(f.cur.delivered)
}

// checkLive looks at the live file at its end. It reports whether
// anything changed.
func (f *follower) checkLive(r *Reader) bool {
	if fi, err := f.f.Stat(); err == nil && fi.Size() < f.cur.read || !f.verify() {
		f.beginTruncation()
		return true
	}
	fi, err := os.Stat(f.cfg.Path)
	if err == nil {
		if dev, ino := fileKey(fi); dev == f.cur.dev && ino == f.cur.ino {
			return false
		}
	}
	// Renamed away or removed: read what its writer still adds, then move on.
	f.cur.live = false
	f.cur.rotatedAt = time.Now()
	r.stats.Rotations++
	r.log.Info("log file rotated", slog.String("path", f.cfg.Path))
	return true
}

// finished reports whether a file that is no longer live has been read
// to its end: compressed, or quiet for RotateWait since it was renamed
// away or last written.
func (f *follower) finished() bool {
	if f.zr != nil {
		return true
	}
	last := f.cur.grewAt
	if f.cur.rotatedAt.After(last) {
		last = f.cur.rotatedAt
	}
	if fi, err := f.f.Stat(); err == nil && fi.ModTime().After(last) {
		last = fi.ModTime()
	}
	return time.Since(last) >= f.cfg.RotateWait
}

// install makes o the current file, positioned at offset; prev, when not
// zero, becomes the checkpoint's previous file.
func (f *follower) install(r *Reader, o *opened, offset int64, prev FileID) {
	f.close()
	f.truncating, f.looks = false, 0
	f.f, f.zr = o.f, o.zr
	f.cur = current{path: o.path, live: o.live, gz: o.zr != nil, dev: o.dev, ino: o.ino, fpLen: -1}
	r.stats.Files++
	if f.zr == nil {
		// The leading bytes, for the fingerprint; then the position.
		k, _ := f.f.ReadAt(f.headBuf, 0)
		f.cur.headLen = k
		if _, err := f.f.Seek(offset, io.SeekStart); err != nil {
			offset = 0
		}
		f.cur.read = offset
	} else {
		// Decompress up to the offset, keeping the leading bytes.
		if _, err := io.CopyN(io.Discard, readerFunc(f.read), offset); err != nil && !errors.Is(err, io.EOF) {
			r.log.Warn("damaged compressed file", slog.String("path", o.path), slog.Any("err", err))
		}
		offset = f.cur.read
	}
	f.cur.delivered = offset
	f.lb.reset(offset)
	if !prev.IsZero() {
		r.cp.Prev = prev
	}
	r.cp.File, r.cp.Offset = f.id(offset), offset
}

func (f *follower) close() error {
	var err error
	if f.f != nil {
		err = f.f.Close()
		f.f, f.zr = nil, nil
	}
	return err
}

type readerFunc func([]byte) (int, error)

func (rf readerFunc) Read(p []byte) (int, error) { return rf(p) }

// An opened file, checked to be the candidate it was opened as.
type opened struct {
	f        *os.File
	zr       *gzip.Reader
	path     string
	live     bool
	dev, ino uint64
}

func openLive(path string) (*opened, error) {
	return openCandidate(&candidate{path: path, live: true})
}

// openCandidate opens c and checks it is still the file that was listed.
func openCandidate(c *candidate) (*opened, error) {
	fh, err := os.Open(c.path)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("open %s: not a regular file", c.path)
	}
	o := &opened{f: fh, path: c.path, live: c.live}
	o.dev, o.ino = fileKey(fi)
	if c.ino != 0 && (o.dev != c.dev || o.ino != c.ino) {
		fh.Close()
		return nil, fmt.Errorf("open %s: replaced since listed", c.path)
	}
	if c.gz {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("open %s: %w", c.path, err)
		}
		o.zr = zr
	}
	return o, nil
}
