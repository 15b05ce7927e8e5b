package tail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
)

// JournalConfig configures a journald source: `journalctl -o json`
// output, one JSON entry per line, from a running command or a recorded
// file.
type JournalConfig struct {
	// Name names the source in checkpoints and logs.
	Name string `yaml:"name"`
	// Command runs journalctl (or anything printing its JSON output); on
	// resume, --after-cursor=CURSOR is appended. Used when File is empty.
	Command []string `yaml:"command"`
	// File reads recorded `journalctl -o json` output instead.
	File string `yaml:"file"`
	// MaxLine is the longest entry delivered, in bytes; longer ones are cut.
	MaxLine int `yaml:"max_line"`
	// Logger receives notices; nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

// DefaultJournalConfig returns a configuration that follows sshd's
// entries in the system journal, from the oldest kept.
func DefaultJournalConfig() JournalConfig {
	return JournalConfig{
		Command: []string{"journalctl", "--output=json", "--follow", "--no-tail", "--all",
			"_COMM=sshd", "_COMM=sshd-session", "_COMM=sshd-auth"},
		MaxLine: 256 << 10,
	}
}

// Validate reports every problem in c.
func (c JournalConfig) Validate() error {
	var errs []error
	if c.File == "" && len(c.Command) == 0 {
		errs = append(errs, errors.New("command: a command or a file is needed"))
	}
	if c.File != "" && len(c.Command) > 0 {
		errs = append(errs, errors.New("file: give a command or a file, not both"))
	}
	if c.MaxLine < 256 || c.MaxLine > 16<<20 {
		errs = append(errs, fmt.Errorf("max_line %d: must be 256 to 16777216", c.MaxLine))
	}
	return errors.Join(errs...)
}

// OpenJournal returns a reader of journal entries from checkpoint cp: a
// command is run with --after-cursor=cp.Cursor; a recorded file is read
// from the entry after the one with that cursor (from its start, counting
// Lost, when no entry has it). Each line's Pos.Cursor is its entry's
// __CURSOR. The command starts with the first Next; Close stops it.
func OpenJournal(c JournalConfig, cp Checkpoint) (*Reader, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := newReader(c.Name, c.Logger, cp)
	r.cp.File, r.cp.Offset, r.cp.Prev = FileID{}, 0, FileID{}
	r.src = &journal{cfg: c, after: cp.Cursor}
	return r, nil
}

type journal struct {
	cfg      JournalConfig
	after    string // the cursor to resume after
	s        *stream
	skipping bool
	cmd      *exec.Cmd
	started  bool
}

var cursorKey = []byte(`"__CURSOR":`)

// entryCursor returns the __CURSOR of a journal entry, or nil.
func entryCursor(entry []byte) []byte {
	i := bytes.Index(entry, cursorKey)
	if i < 0 {
		return nil
	}
	rest := bytes.TrimLeft(entry[i+len(cursorKey):], " ")
	if len(rest) == 0 || rest[0] != '"' {
		return nil
	}
	rest = rest[1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil
	}
	return rest[:end]
}

func (j *journal) start(r *Reader) error {
	j.started = true
	if j.cfg.File != "" {
		if j.after != "" {
			found, err := fileHasCursor(j.cfg.File, j.after)
			if err != nil {
				return err
			}
			if found {
				j.skipping = true
			} else {
				r.stats.Lost++
				r.log.Warn("journal cursor not found in the file; reading it all", slog.String("file", j.cfg.File))
			}
		}
		fh, err := os.Open(j.cfg.File)
		if err != nil {
			return err
		}
		r.stats.Files++
		j.s = newStream(fh, j.cfg.MaxLine, fh.Close)
	} else {
		args := append([]string(nil), j.cfg.Command[1:]...)
		if j.after != "" {
			args = append(args, "--after-cursor="+j.after)
		}
		cmd := exec.Command(j.cfg.Command[0], args...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		cmd.Stderr = nil
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", j.cfg.Command[0], err)
		}
		j.cmd = cmd
		j.s = newStream(out, j.cfg.MaxLine, func() error {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil
		})
	}
	j.s.onLine = func(text []byte, r *Reader) bool {
		c := entryCursor(text)
		if j.skipping {
			if c != nil && string(c) == j.after {
				j.skipping = false
			}
			return false
		}
		r.cp.Offset = 0
		if c != nil {
			r.cp.Cursor = string(c)
		}
		return true
	}
	return nil
}

func (j *journal) next(ctx context.Context, r *Reader) ([]byte, bool, error) {
	if !j.started {
		if err := j.start(r); err != nil {
			return nil, false, err
		}
	}
	text, cut, err := j.s.next(ctx, r)
	if err == io.EOF && j.cmd != nil {
		werr := j.cmd.Wait()
		j.cmd = nil
		return nil, false, fmt.Errorf("%s exited: %v", j.cfg.Command[0], werr)
	}
	return text, cut, err
}

func (j *journal) close() error {
	if j.s != nil {
		return j.s.close()
	}
	return nil
}

// fileHasCursor reports whether a recorded journal holds an entry with
// the cursor.
func fileHasCursor(path, cursor string) (bool, error) {
	fh, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if c := entryCursor(line); c != nil && string(c) == cursor {
			return true, nil
		}
		switch {
		case err == bufio.ErrBufferFull:
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
		case err == io.EOF:
			return false, nil
		case err != nil:
			return false, err
		}
	}
}
