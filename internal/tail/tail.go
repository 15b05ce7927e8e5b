// Package tail reads log lines from their sources: files followed by name
// through rotation (rename and copytruncate), truncation, restarts and
// crashes; the rotated copies of a file, gzip'd or not, read once when
// catching up; standard input; `journalctl -o json` output, resumed by
// journal cursor; and lists of files read once in batch.
//
// A [Reader] hands out lines with [Reader.Next], each with its position: a
// [Checkpoint] naming the file by device, inode and a fingerprint of its
// first bytes, the offset after the line, and the source's sequence number
// of the line. The consumer persists the checkpoint together with the
// state it derived from the lines, in one commit, and passes it to [Open]
// on restart: reading resumes on the line after it, so nothing is counted
// twice or skipped (see docs/logs.md for the guarantees and their limits).
//
// Parsing lines is the logparse package's job.
package tail

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Config configures a followed file.
type Config struct {
	// Name names the source in checkpoints and logs.
	Name string `yaml:"name"`
	// Path is the file followed by name; "-" reads standard input.
	Path string `yaml:"path"`
	// Rotated are glob patterns of the file's rotated copies; empty means
	// Path+".*" and Path+"-*". Only names that sort by age are used: a
	// number ("auth.log.1", "auth.log.2.gz", higher is older) or a date
	// of eight or more digits ("auth.log-20250302.gz").
	Rotated []string `yaml:"rotated"`
	// Start says where to begin without a checkpoint: "beginning" of the
	// live file, its "end" (new lines only), or the oldest "rotated" copy
	// (every line still on disk).
	Start string `yaml:"start"`
	// Poll is how often an idle file is checked for new lines and
	// rotation.
	Poll time.Duration `yaml:"poll"`
	// RotateWait is how long a file renamed away is still read for lines
	// its writer adds before reopening the new file (rsyslog writes to the
	// old file until logrotate's postrotate signal reaches it).
	RotateWait time.Duration `yaml:"rotate_wait"`
	// MaxLine is the longest line delivered, in bytes; longer lines are
	// cut to it, and counted.
	MaxLine int `yaml:"max_line"`
	// Fingerprint is how many leading bytes of a file identify it.
	Fingerprint int `yaml:"fingerprint"`
	// Logger receives rotation and truncation notices; nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

// Start positions.
const (
	StartBeginning = "beginning"
	StartEnd       = "end"
	StartRotated   = "rotated"
)

// DefaultConfig returns the defaults for following path.
func DefaultConfig() Config {
	return Config{
		Start:       StartBeginning,
		Poll:        250 * time.Millisecond,
		RotateWait:  time.Second,
		MaxLine:     64 << 10,
		Fingerprint: 1024,
	}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: must name a file (or - for standard input)"))
	}
	for i, g := range c.Rotated {
		if _, err := filepath.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("rotated[%d] %q: %w", i, g, err))
		}
	}
	switch c.Start {
	case StartBeginning, StartEnd, StartRotated:
	default:
		errs = append(errs, fmt.Errorf("start %q: must be beginning, end or rotated", c.Start))
	}
	if c.Poll < time.Millisecond {
		errs = append(errs, fmt.Errorf("poll %s: must be at least 1ms", c.Poll))
	}
	if c.RotateWait < 0 {
		errs = append(errs, fmt.Errorf("rotate_wait %s: must not be negative", c.RotateWait))
	}
	if c.MaxLine < 256 || c.MaxLine > 16<<20 {
		errs = append(errs, fmt.Errorf("max_line %d: must be 256 to 16777216", c.MaxLine))
	}
	if c.Fingerprint < 16 || c.Fingerprint > 64<<10 {
		errs = append(errs, fmt.Errorf("fingerprint %d: must be 16 to 65536", c.Fingerprint))
	}
	return errors.Join(errs...)
}

// A Fingerprint is a hash of a file's leading bytes.
type Fingerprint [16]byte

// MarshalText implements encoding.TextMarshaler (hex).
func (f Fingerprint) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(f[:])), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Fingerprint) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*f = Fingerprint{}
		return nil
	}
	if hex.DecodedLen(len(b)) != len(f) {
		return fmt.Errorf("fingerprint %q: want %d hex digits", b, 2*len(f))
	}
	_, err := hex.Decode(f[:], b)
	return err
}

// A FileID identifies a file by content and, as a hint, by device and
// inode: Hash is the fingerprint of its first Len bytes. Content wins,
// since copytruncate keeps the inode and changes the content while
// rotation keeps the content (even through gzip) and changes the inode.
// The zero FileID names no file.
type FileID struct {
	Path  string      `json:"path,omitempty"` // where the file was; informational
	Dev   uint64      `json:"dev,omitempty"`
	Inode uint64      `json:"inode,omitempty"`
	Len   int64       `json:"len,omitempty"` // bytes fingerprinted: the file's first min(read, Config.Fingerprint)
	Hash  Fingerprint `json:"hash"`
}

// IsZero reports whether id names no file.
func (id FileID) IsZero() bool { return id.Dev == 0 && id.Inode == 0 && id.Len == 0 }

// A Checkpoint is a position in a source: after the line with sequence
// number Seq, at Offset bytes into File (decompressed bytes for gzip).
// Prev is the file read before File, which locates the next file when
// nothing of File has been read yet. Journal sources use Cursor instead of
// files. The zero Checkpoint is the start of a source.
//
// A consumer commits the Checkpoint of the last line it processed in the
// same transaction as the state it derived from the lines; on restart,
// Open resumes on the line after it.
type Checkpoint struct {
	Source string `json:"source"`
	File   FileID `json:"file"`
	Offset int64  `json:"offset"`
	Prev   FileID `json:"prev"`
	Seq    uint64 `json:"seq"`
	Cursor string `json:"cursor,omitempty"`
}

// A Line is one line of a source, without its terminator ("\n" or
// "\r\n").
type Line struct {
	// Text is valid until the next call to Next.
	Text []byte
	// Cut says the line was longer than the reader's maximum and Text holds
	// its first MaxLine bytes.
	Cut bool
	// Pos is the position after the line; Pos.Seq is the line's sequence
	// number in its source, counting from 1.
	Pos Checkpoint
}

// Stats counts what a reader did. The zero Stats is empty.
type Stats struct {
	Lines       uint64 // lines delivered
	Cut         uint64 // lines cut to MaxLine
	Files       uint64 // files opened: live, rotated, batch
	Rotations   uint64 // renames of the followed file seen
	Truncations uint64 // truncations of the followed file seen (copytruncate included)
	Lost        uint64 // times lines may have been missed: a checkpoint's file gone, a truncation without a copy
}

// A Reader reads the lines of one source. Next must not be called
// concurrently with itself or Close; Stats and Checkpoint may be called
// between calls to Next.
type Reader struct {
	src   source
	cp    Checkpoint
	stats Stats
	log   *slog.Logger
}

// A source delivers the lines of one kind of input, keeping r.cp's
// position fields (all but Seq) at the end of the line returned.
type source interface {
	next(ctx context.Context, r *Reader) (text []byte, cut bool, err error)
	close() error
}

// Next returns the next line. It blocks while a followed source has no
// new line, until ctx is done, and then returns ctx.Err(). It returns
// io.EOF at the end of a source that ends (batch files, standard input, a
// recorded journal); any other error is final.
func (r *Reader) Next(ctx context.Context) (Line, error) {
	text, cut, err := r.src.next(ctx, r)
	if err != nil {
		return Line{}, err
	}
	r.cp.Seq++
	r.stats.Lines++
	if cut {
		r.stats.Cut++
	}
	return Line{Text: text, Cut: cut, Pos: r.cp}, nil
}

// Checkpoint returns the position after the last line Next returned.
func (r *Reader) Checkpoint() Checkpoint { return r.cp }

// Stats returns the reader's counts.
func (r *Reader) Stats() Stats { return r.stats }

// Close releases the reader's files and stops its command, if any.
func (r *Reader) Close() error { return r.src.close() }

// Open returns a reader following the file c.Path (standard input for
// "-") from checkpoint cp (the zero Checkpoint: from c.Start). Open does
// no I/O: a file that does not exist yet is waited for by Next.
func Open(c Config, cp Checkpoint) (*Reader, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := newReader(c.Name, c.Logger, cp)
	if c.Path == "-" {
		r.src = newStream(os.Stdin, c.MaxLine, nil)
		return r, nil
	}
	if len(c.Rotated) == 0 {
		c.Rotated = []string{c.Path + ".*", c.Path + "-*"}
	}
	r.src = newFollower(c)
	return r, nil
}

func newReader(name string, log *slog.Logger, cp Checkpoint) *Reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cp.Source = name
	return &Reader{cp: cp, log: log}
}
