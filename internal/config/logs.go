package config

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/proxywatch/proxywatch/internal/logparse"
	"github.com/proxywatch/proxywatch/internal/tail"
)

// Logs configures the login logs that serve follows and feeds to the
// login detectors (section authwatch) and the decision process (section
// decisions). With no sources, login watch is off.
type Logs struct {
	Sources []LogSource `yaml:"sources"`
	// Commit is how often the sources' positions are committed to the
	// store, in one transaction with the alerts and decisions derived
	// from the lines before them.
	Commit time.Duration `yaml:"commit"`
}

// A LogSource is one followed login log: a file followed by name through
// rotation, standard input ("-"), or the journal, and the format of its
// lines (logparse). Unset parser fields take the logparse defaults.
type LogSource struct {
	FileSource `yaml:",inline"`
	// Journal reads `journalctl -o json` (format sshd only); Path is then
	// empty.
	Journal *JournalSource `yaml:"journal"`

	// Format is sshd, access or json; the section of that name configures
	// the parser.
	Format string                 `yaml:"format"`
	SSHD   *logparse.SSHDConfig   `yaml:"sshd"`
	Access *logparse.AccessConfig `yaml:"access"`
	JSON   *logparse.JSONConfig   `yaml:"json"`
}

// A FileSource is a file serve follows by name through rotation (package
// tail). Unset fields take the tail defaults, except Start, which is
// "end" without a stored position: serve judges new lines only unless
// told otherwise.
type FileSource struct {
	// Name names the source in positions, events and alerts; it must be
	// unique and stable (a new name starts the source afresh).
	Name string `yaml:"name"`
	// Path is the file followed ("-" for standard input).
	Path        string        `yaml:"path"`
	Rotated     []string      `yaml:"rotated"`
	Start       string        `yaml:"start"`
	Poll        time.Duration `yaml:"poll"`
	RotateWait  time.Duration `yaml:"rotate_wait"`
	MaxLine     int           `yaml:"max_line"`
	Fingerprint int           `yaml:"fingerprint"`
}

// A JournalSource is where journal entries come from: a command (default:
// journalctl following sshd) or a recorded file.
type JournalSource struct {
	Command []string `yaml:"command"`
	File    string   `yaml:"file"`
}

// DefaultLogs returns no sources and a one-second commit.
func DefaultLogs() Logs { return Logs{Commit: time.Second} }

// Tail returns the source's tail configuration, defaults filled in.
func (s FileSource) Tail() tail.Config {
	c := tail.DefaultConfig()
	c.Name, c.Path, c.Rotated, c.Start = s.Name, s.Path, s.Rotated, tail.StartEnd
	if s.Start != "" {
		c.Start = s.Start
	}
	if s.Poll != 0 {
		c.Poll = s.Poll
	}
	if s.RotateWait != 0 {
		c.RotateWait = s.RotateWait
	}
	if s.MaxLine != 0 {
		c.MaxLine = s.MaxLine
	}
	if s.Fingerprint != 0 {
		c.Fingerprint = s.Fingerprint
	}
	return c
}

// JournalConfig returns the source's journal configuration, defaults
// filled in; ok is false for a file source.
func (s LogSource) JournalConfig() (c tail.JournalConfig, ok bool) {
	if s.Journal == nil {
		return c, false
	}
	c = tail.DefaultJournalConfig()
	c.Name = s.Name
	if len(s.Journal.Command) > 0 {
		c.Command = s.Journal.Command
	}
	c.File = s.Journal.File
	if s.MaxLine != 0 {
		c.MaxLine = s.MaxLine
	}
	return c, true
}

// Parser returns the source's parser configuration, defaults filled in.
func (s LogSource) Parser() logparse.Config {
	c := logparse.DefaultConfig()
	c.Format = s.Format
	if s.SSHD != nil {
		overlay(&c.SSHD, s.SSHD)
	}
	if s.Access != nil {
		overlay(&c.Access, s.Access)
	}
	if s.JSON != nil {
		overlay(&c.JSON, s.JSON)
	}
	return c
}

// overlay sets every field of *dst, a struct holding defaults, that is
// set (non-zero) in *src, recursing into nested structs: a source's
// parser section need only name what differs from the defaults.
func overlay[T any](dst, src *T) {
	overlayValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
}

func overlayValue(dst, src reflect.Value) {
	for i := range dst.NumField() {
		d, s := dst.Field(i), src.Field(i)
		switch {
		case !d.CanSet():
		case s.Kind() == reflect.Struct:
			overlayValue(d, s)
		case !s.IsZero():
			d.Set(s)
		}
	}
}

// sourceNames checks that sources' names are set and unique.
type sourceNames map[string]int

// check appends to errs the problem with list[i]'s name, if any.
func (n sourceNames) check(errs []error, list string, i int, name string) []error {
	at := fmt.Sprintf("%s[%d]", list, i)
	if name == "" {
		return append(errs, fmt.Errorf("%s.name: must be set", at))
	}
	if j, dup := n[name]; dup {
		return append(errs, fmt.Errorf("%s.name %q: also the name of %s[%d]", at, name, list, j))
	}
	n[name] = i
	return errs
}

// Validate reports every problem in c, naming the source by index.
func (c Logs) Validate() error {
	var errs []error
	if c.Commit < 10*time.Millisecond || c.Commit > time.Minute {
		errs = append(errs, fmt.Errorf("commit %s: must be between 10ms and 1m", c.Commit))
	}
	names := sourceNames{}
	for i, s := range c.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		errs = names.check(errs, "sources", i, s.Name)
		switch {
		case s.Journal != nil && s.Path != "":
			errs = append(errs, fmt.Errorf("%s: path and journal: set only one", at))
		case s.Journal != nil:
			if s.Format != logparse.FormatSSHD {
				errs = append(errs, fmt.Errorf("%s.format %q: a journal source is read as sshd", at, s.Format))
			}
			jc, _ := s.JournalConfig()
			errs = append(errs, prefixed(at+".journal", jc.Validate())...)
		default:
			errs = append(errs, prefixed(at, s.Tail().Validate())...)
		}
		errs = append(errs, prefixed(at, s.Parser().Validate())...)
	}
	return errors.Join(errs...)
}
