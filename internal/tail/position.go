package tail

import (
	"io"
	"log/slog"
	"time"
)

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
// not yet delivered are in a copy when copytruncate made one.
func (f *follower) truncated(r *Reader) {
	r.stats.Truncations++
	n := f.cur.delivered
	if n == 0 {
		n = f.cur.read // only a partial first line was read: look for it
	}
	id := f.id(n)
	cands := f.candidates()
	var i int
	if id.Len > 0 {
		i = -1
		for j, c := range cands {
			if !c.live && c.holds(id, f.cfg.Fingerprint) {
				i = j
			}
		}
	} else if !r.cp.Prev.IsZero() {
		// Nothing was read: the copy is the first file after the previous one.
		if p := locate(cands, r.cp.Prev, f.cfg.Fingerprint); p >= 0 {
			if i = after(cands, p, r.cp.Prev, f.cfg.Fingerprint); i >= 0 && cands[i].live {
				i = -1
			}
		} else {
			i = -1
		}
	} else {
		i = -1
	}
	if i >= 0 {
		if o, err := openCandidate(cands[i]); err == nil {
			r.log.Info("log file truncated; reading the rest from its copy", slog.String("path", f.cfg.Path), slog.String("copy", o.path))
			f.install(r, o, f.cur.delivered, FileID{})
			return
		}
	}
	if f.cur.read > f.cur.delivered {
		r.stats.Lost++
	}
	r.log.Warn("log file truncated and no copy found; reading it from the start", slog.String("path", f.cfg.Path))
	o, err := openLive(f.cfg.Path)
	if err != nil {
		f.close()
		return
	}
	f.install(r, o, 0, f.id(f.cur.delivered))
}

// nextFile opens the file after the current one, or returns nil when
// there is none yet.
func (f *follower) nextFile(r *Reader) *opened {
	cands := f.candidates()
	id := f.id(f.cur.read)
	i := locate(cands, id, f.cfg.Fingerprint)
	if i < 0 {
		// The current file is gone from the list (deleted): every file
		// still there that is newer comes next.
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
// cfg.Start without one.
func (f *follower) start(r *Reader) {
	cp := r.cp
	n := f.cfg.Fingerprint
	if !cp.File.IsZero() || !cp.Prev.IsZero() {
		cands := f.candidates()
		// The file by its content; or, when nothing of it was read, the
		// file after the previous one (a copytruncate may have moved it);
		// or the file by its inode.
		if cp.File.Len > 0 {
			if i := locate(cands, cp.File, n); i >= 0 {
				if o, err := openCandidate(cands[i]); err == nil {
					f.install(r, o, cp.Offset, FileID{})
					return
				}
			}
		}
		if !cp.Prev.IsZero() {
			if p := locate(cands, cp.Prev, n); p >= 0 {
				if i := after(cands, p, cp.Prev, n); i >= 0 {
					if o, err := openCandidate(cands[i]); err == nil {
						f.install(r, o, 0, FileID{})
						return
					}
				}
				return // nothing after it yet: wait for the live file
			}
		}
		if cp.File.Len == 0 && cp.File.Inode != 0 {
			if i := locate(cands, cp.File, n); i >= 0 {
				if o, err := openCandidate(cands[i]); err == nil {
					f.install(r, o, 0, FileID{})
					return
				}
			}
		}
		// The checkpoint's file is gone: every file on disk is newer.
		r.stats.Lost++
		r.log.Warn("checkpoint's log file not found; reading every file from the oldest", slog.String("path", f.cfg.Path))
		if len(cands) > 0 {
			if o, err := openCandidate(cands[0]); err == nil {
				f.install(r, o, 0, FileID{})
			}
		}
		return
	}
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
