// Package truth defines the answer keys that `proxywatch eval` scores
// detection output against: the simulator's ground-truth file, and the
// simpler labelled-address and labelled-flow lines that converters of
// third-party labelled captures produce.
//
// The package holds types and their JSON encoding only. The simulator
// (package sim) writes a [File]; the scorer (package eval) reads all three
// forms. docs/simulator.md describes the formats for people.
package truth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Schema is the version of the truth file format. A change that removes or
// renames a field increments it.
const Schema = 1

// A File is the simulator's ground truth for one run: what every special
// host was, where (its addresses over time) and when.
//
// A host that plays several roles (a bot that also relays) has one Host
// entry per role, all with the same ID. Hosts not listed are ordinary
// background: an address a detector flags that no Host of that role covers
// at that time is a false positive.
type File struct {
	Schema    int            `json:"schema"`
	Scenario  string         `json:"scenario"`
	Size      string         `json:"size"`
	Seed      uint64         `json:"seed"`
	Start     time.Time      `json:"start"`
	End       time.Time      `json:"end"`
	Inside    []netip.Prefix `json:"inside"`             // the prefixes to configure as inside
	Services  []Service      `json:"services,omitempty"` // the login services under attack
	Export    *Export        `json:"export,omitempty"`   // how the flow exporter was set up
	Campaigns []Campaign     `json:"campaigns,omitempty"`
	Hosts     []Host         `json:"hosts"`
}

// A Service is a login service the scenario's logs come from.
type Service struct {
	Name     string     `json:"name"`     // "ssh" or "web"
	Addr     netip.Addr `json:"addr"`     // the server's address, as flows show it
	Port     uint16     `json:"port"`     // 22, 443
	Hostname string     `json:"hostname"` // the host name in its logs
}

// Export describes the simulated flow exporter, so a reader can tell
// sampled counts and split sessions apart from the truth.
type Export struct {
	Exporter      netip.Addr `json:"exporter"`
	SourceID      uint32     `json:"source_id"`
	Sampling      int        `json:"sampling"` // 1 in N packets
	ActiveTimeout Duration   `json:"active_timeout"`
	IdleTimeout   Duration   `json:"idle_timeout"`
	ClockSkew     Duration   `json:"clock_skew"` // exporter clock minus true time
}

// A Campaign summarises one distributed login attack. Its participants
// are the Hosts with role campaign and this Campaign's ID.
type Campaign struct {
	ID           string    `json:"id"`
	Service      string    `json:"service"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Participants int       `json:"participants"` // distinct source addresses
	Attempts     int       `json:"attempts"`
	Accounts     int       `json:"accounts"` // distinct user names tried
	Successes    int       `json:"successes"`
}

// A Host is one entity in one role.
type Host struct {
	ID        string          `json:"id"`
	Role      proxywatch.Role `json:"role"`
	Inside    bool            `json:"inside"`
	Class     string          `json:"class,omitempty"`     // device class: router, iot, pc, server, ...
	Resembles proxywatch.Role `json:"resembles,omitempty"` // for benign look-alikes: the role they resemble
	Campaign  string          `json:"campaign,omitempty"`  // for campaign participants
	Peers     []netip.Addr    `json:"peers,omitempty"`     // C2s a bot used, or backconnect servers
	Ports     []uint16        `json:"ports,omitempty"`     // listening or contacted ports that matter
	Spans     []Span          `json:"spans"`
}

// A Span says that the host used an address in its role from Start to End
// (the first and last evidence on the wire or in the logs), with the number
// of events (sessions, datagrams, login attempts) seen in that time.
type Span struct {
	Addr   netip.Addr `json:"addr"`
	Start  time.Time  `json:"start"`
	End    time.Time  `json:"end"`
	Events int64      `json:"events"`
}

// Duration is a time.Duration written in JSON as a Go duration string.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Write writes f as indented JSON.
func (f *File) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("encode truth: %w", err)
	}
	return nil
}

// ReadFile decodes a truth file. It refuses unknown fields and a schema
// newer than this package knows.
func ReadFile(r io.Reader) (*File, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode truth: %w", err)
	}
	if f.Schema < 1 || f.Schema > Schema {
		return nil, fmt.Errorf("truth schema %d: %w", f.Schema, proxywatch.ErrInvalid)
	}
	return &f, nil
}

// An AddrLabel is one line of a labelled-address file: an address that
// plays a role, optionally only from Start to End. It is the minimal truth
// eval accepts.
type AddrLabel struct {
	Addr  netip.Addr      `json:"addr"`
	Role  proxywatch.Role `json:"role"`
	Start time.Time       `json:"start,omitzero"`
	End   time.Time       `json:"end,omitzero"`
}

// The flow labels.
const (
	LabelBenign    = "benign"
	LabelMalicious = "malicious"
)

// A FlowLabel is one line of a labelled-flow file: one connection with its
// label, and, for malicious flows, the roles its endpoints play. UID, when
// set, is the connection's Zeek uid.
type FlowLabel struct {
	TS      time.Time       `json:"ts"`
	UID     string          `json:"uid,omitempty"`
	Src     netip.Addr      `json:"src"`
	SrcPort uint16          `json:"src_port,omitempty"`
	Dst     netip.Addr      `json:"dst"`
	DstPort uint16          `json:"dst_port,omitempty"`
	Proto   string          `json:"proto,omitempty"` // "tcp", "udp", "icmp"
	Label   string          `json:"label"`           // LabelBenign or LabelMalicious
	SrcRole proxywatch.Role `json:"src_role,omitempty"`
	DstRole proxywatch.Role `json:"dst_role,omitempty"`
	Detail  string          `json:"detail,omitempty"` // free text, e.g. "C&C-HeartBeat"
}
