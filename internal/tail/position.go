package tail

import (
	"io"
	"log/slog"
	"time"
)

// maxLooks is how many looks at the directory, a poll apart, find no
// trace of a file before the follower takes it for gone. A directory read
// while files are renamed in it may miss one (readdir makes no promise
// then), and concluding too early would read files twice or skip them.
const maxLooks = 5

// look counts a look that did not find what should be there; it reports
// whether to give up.
func (f *follower) look() bool {
	f.looks++
	return f.looks >= maxLooks
}

// copiedUnread catches a copytruncate of a live file the follower has not
// read a byte of yet (written and rotated between two looks): neither its
// size nor its leading bytes tell, but a copy newer than the previous file
// does. It is asked before the first read of a live file, and reports
// whether it moved to that copy.
func (f *follower) copiedUnread(r *Reader) bool {
	if f.cur.read != 0 || r.cp.Prev.IsZero() {
		return false
	}
	cands := f.candidates()
	p := locate(cands, r.cp.Prev, f.cfg.Fingerprint)
	if p < 0 {
		return false
	}
	i := after(cands, p, r.cp.Prev, f.cfg.Fingerprint)
	if i < 0 || cands[i].live {
		return false
	}
	o, err := openCandidate(cands[i])
	if err != nil {
		return false
	}
	r.stats.Truncations++
	r.log.Info("log file copied and truncated before it was read; reading the copy", slog.String("copy", o.path))
	f.install(r, o, 0, FileID{})
	return true
}

// truncated handles a live file that shrank or was rewritten: the lines
// not yet delivered are in a copy when copytruncate made one. It reports
// false to be asked again after a poll, while the copy is not found.
func (f *follower) truncated(r *Reader) bool {
	n := f.cur.delivered
	if n == 0 {
		n = f.cur.read // only a partial first line was read: look for it
	}
	id := f.id(n)
	cands := f.candidates()
	i := -1
	switch {
	case id.Len > 0:
		for j, c := range cands {
			if !c.live && c.holds(id, f.cfg.Fingerprint) {
				i = j
			}
		}
	case !r.cp.Prev.IsZero():
		// Nothing was read: the copy is the first file after the previous one.
		if p := locate(cands, r.cp.Prev, f.cfg.Fingerprint); p >= 0 {
			if i = after(cands, p, r.cp.Prev, f.cfg.Fingerprint); i >= 0 && cands[i].live {
				i = -1
			}
		}
	}
	if i >= 0 {
		if o, err := openCandidate(cands[i]); err == nil {
			r.stats.Truncations++
			r.log.Info("log file truncated; reading the rest from its copy", slog.String("path", f.cfg.Path), slog.String("copy", o.path))
			f.install(r, o, f.cur.delivered, FileID{})
			return true
		}
	}
	if !f.look() {
		return false
	}
	r.stats.Truncations++
	if f.cur.read > f.cur.delivered {
		r.stats.Lost++
	}
	r.log.Warn("log file truncated and no copy found; reading it from the start", slog.String("path", f.cfg.Path))
	o, err := openLive(f.cfg.Path)
	if err != nil {
		f.close()
		return true
	}
	f.install(r, o, 0, f.id(f.cur.delivered))
	return true
}

// nextFile opens the file after the current one. It returns nil when
// there is none yet, or while the current file is not found in the
// directory.
func (f *follower) nextFile(r *Reader) *opened {
	cands := f.candidates()
	id := f.id(f.cur.read)
	i := locate(cands, id, f.cfg.Fingerprint)
	if i < 0 {
		if !f.look() {
			return nil
		}
		// The current file is gone (deleted): the files still there that
		// are as new come next. Compression that does not keep the
		// modification time, as gzip does, may make this read some twice.
		r.stats.Lost++
		r.log.Warn("log file gone from its directory; going by modification times", slog.String("path", f.cur.path))
		var mtime time.Time
		if fi, err := f.f.Stat(); err == nil {
			mtime = fi.ModTime()
		}
		for j, c := range cands {
			if !c.mtime.Before(mtime) {
				i = j - 1
				break
			}
			i = j
		}
	}
	f.looks = 0
	j := after(cands, i, id, f.cfg.Fingerprint)
	if j < 0 {
		return nil
	}
	o, err := openCandidate(cands[j])
	if err != nil {
		return nil // it moved since the listing; look again after the poll
	}
	return o
}

// start positions the follower from the reader's checkpoint, or from
// cfg.Start without one. It reports false to be asked again after a poll,
// while the checkpoint's file is not found.
func (f *follower) start(r *Reader) bool {
	cp := r.cp
	if cp.File.IsZero() && cp.Prev.IsZero() {
		f.startFresh(r)
		return true
	}
	n := f.cfg.Fingerprint
	cands := f.candidates()
	open := func(c *candidate, offset int64) bool {
		o, err := openCandidate(c)
		if err != nil {
			return false
		}
		f.install(r, o, offset, FileID{})
		return true
	}
	if cp.File.Len > 0 {
		// The file by its content.
		if i := locate(cands, cp.File, n); i >= 0 && open(cands[i], cp.Offset) {
			return true
		}
	} else {
		// Nothing of it was read: the file after the previous one (a
		// copytruncate may have moved it), else the file by its inode.
		if !cp.Prev.IsZero() {
			if p := locate(cands, cp.Prev, n); p >= 0 {
				if i := after(cands, p, cp.Prev, n); i >= 0 {
					return open(cands[i], 0)
				}
				return true // nothing after it yet: wait for the live file
			}
		}
		if cp.File.Inode != 0 {
			if i := locate(cands, cp.File, n); i >= 0 && open(cands[i], 0) {
				return true
			}
		}
	}
	if !f.look() {
		return false
	}
	// The checkpoint's file is gone: every file on disk is newer.
	r.stats.Lost++
	r.log.Warn("checkpoint's log file not found; reading every file from the oldest", slog.String("path", f.cfg.Path))
	if len(cands) > 0 {
		open(cands[0], 0)
	}
	return true
}

// startFresh positions the follower without a checkpoint.
func (f *follower) startFresh(r *Reader) {
	switch f.cfg.Start {
	case StartRotated:
		if cands := f.candidates(); len(cands) > 0 {
			if o, err := openCandidate(cands[0]); err == nil {
				f.install(r, o, 0, FileID{})
			}
		}
	case StartEnd:
		o, err := openLive(f.cfg.Path)
		if err != nil {
			return
		}
		size, _ := o.f.Seek(0, io.SeekEnd)
		var last [1]byte
		if size > 0 {
			if _, err := o.f.ReadAt(last[:], size-1); err == nil && last[0] != '\n' {
				f.skip = true
			}
		}
		f.install(r, o, size, FileID{})
	default:
		f.openLive(r)
	}
}

// openLive opens the live file from its start, when it exists.
func (f *follower) openLive(r *Reader) bool {
	o, err := openLive(f.cfg.Path)
	if err != nil {
		return false
	}
	f.install(r, o, 0, FileID{})
	return true
}
