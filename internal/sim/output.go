package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/proxywatch/proxywatch/internal/sim/authlog"
	"github.com/proxywatch/proxywatch/internal/sim/zeeklog"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// The outputs Run can write, by name, with their file names.
const (
	OutZeek        = "zeek"                 // conn.log: Zeek TSV
	OutZeekJSON    = "zeek-json"            // conn.json: Zeek JSON lines
	OutNetflowV9   = "netflow-v9"           // netflow-v9.pcap
	OutIPFIX       = "ipfix"                // ipfix.pcap
	OutSSHD        = "sshd"                 // auth.log: sshd syslog
	OutWebJSON     = "web-json"             // web-login.jsonl: web login events
	OutNginx       = "nginx"                // access.log: nginx combined
	OutMMDBASN     = "mmdb-asn"             // sim-asn.mmdb: ASNs, GeoLite2-ASN layout
	OutMMDBCountry = "mmdb-country"         // sim-country.mmdb: countries, GeoLite2-Country layout
	OutMMDBConn    = "mmdb-connection-type" // sim-connection-type.mmdb: GeoIP2-Connection-Type layout
	OutFlowLabels  = "flow-labels"          // flows.labels.jsonl: one label per connection (off by default)
	OutTruth       = "truth"                // truth.json: always written when files are
)

// OutputFiles maps each output name to its file name in the output directory.
var OutputFiles = map[string]string{
	OutZeek: "conn.log", OutZeekJSON: "conn.json", OutNetflowV9: "netflow-v9.pcap", OutIPFIX: "ipfix.pcap",
	OutSSHD: "auth.log", OutWebJSON: "web-login.jsonl", OutNginx: "access.log",
	OutMMDBASN: "sim-asn.mmdb", OutMMDBCountry: "sim-country.mmdb", OutMMDBConn: "sim-connection-type.mmdb",
	OutFlowLabels: "flows.labels.jsonl", OutTruth: "truth.json",
}

// DefaultOutputs lists the outputs written when Options.Outputs is nil.
var DefaultOutputs = []string{OutZeek, OutZeekJSON, OutNetflowV9, OutIPFIX, OutSSHD, OutWebJSON, OutNginx,
	OutMMDBASN, OutMMDBCountry, OutMMDBConn, OutTruth}

// sinks holds the open writers of one run.
type sinks struct {
	files   []*os.File
	names   []string
	zTSV    *zeeklog.Writer
	zJSON   *zeeklog.Writer
	ssh     *authlog.Syslog
	web     *authlog.JSONLines
	access  *authlog.Access
	labels  *labelWriter
	flushes []func() error
}

func (s *sinks) zeek() bool { return s.zTSV != nil || s.zJSON != nil }

func (s *sinks) create(dir, name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(dir, OutputFiles[name]))
	if err != nil {
		return nil, err
	}
	s.files = append(s.files, f)
	s.names = append(s.names, OutputFiles[name])
	return f, nil
}

func (s *sinks) writeZeek(c *zeeklog.Conn) error {
	if s.zTSV != nil {
		if err := s.zTSV.Write(c); err != nil {
			return fmt.Errorf("write %s: %w", OutputFiles[OutZeek], err)
		}
	}
	if s.zJSON != nil {
		if err := s.zJSON.Write(c); err != nil {
			return fmt.Errorf("write %s: %w", OutputFiles[OutZeekJSON], err)
		}
	}
	return nil
}

func (s *sinks) writeLog(it *logItem) error {
	var err error
	switch it.kind {
	case logSSH:
		err = s.ssh.Write(it.t, it.prog, it.pid, it.msg)
	case logWeb:
		err = s.web.Write(&it.web)
	case logAccess:
		err = s.access.Write(&it.acc)
	}
	if err != nil {
		return fmt.Errorf("write login log: %w", err)
	}
	return nil
}

// close flushes and closes every file, reporting the first error.
func (s *sinks) close(end time.Time) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if s.zTSV != nil {
		keep(s.zTSV.Close(end))
	}
	if s.zJSON != nil {
		keep(s.zJSON.Close(end))
	}
	for _, f := range s.flushes {
		keep(f())
	}
	for _, f := range s.files {
		keep(f.Close())
	}
	return first
}

// labelWriter writes the per-connection labels.
type labelWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

func newLabelWriter(w io.Writer) *labelWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	return &labelWriter{w: bw, enc: json.NewEncoder(bw)}
}

var labelDetail = map[label]string{
	lBeacon: "C&C-HeartBeat", lCollector: "C&C-Collector", lRelayIn: "Proxy-Relay-In",
	lRelayOut: "Proxy-Relay-Out", lTunnel: "Backconnect", lAttack: "Login-Attack-Relay", lLookalike: "Lookalike",
}

func (l *labelWriter) write(c *conn) error {
	fl := truth.FlowLabel{TS: time.UnixMicro(c.TS).UTC(), UID: c.UID.String(), Src: c.Orig, SrcPort: c.OrigPort,
		Dst: c.Resp, DstPort: c.RespPort, Proto: zeeklog.ProtoName(c.Proto), Label: truth.LabelBenign,
		SrcRole: c.srcRole, DstRole: c.dstRole, Detail: labelDetail[c.label]}
	switch c.label {
	case lBenign, lLogin, lLookalike:
		fl.SrcRole, fl.DstRole = "", ""
	default:
		fl.Label = truth.LabelMalicious
	}
	return l.enc.Encode(&fl)
}
