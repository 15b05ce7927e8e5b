package zeek

import (
	"bytes"
	"encoding/json"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// jsonConn is a conn.log record as Zeek's JSON writer emits it.
type jsonConn struct {
	TS          json.RawMessage `json:"ts"`
	UID         string          `json:"uid"`
	OrigH       string          `json:"id.orig_h"`
	OrigP       json.Number     `json:"id.orig_p"`
	RespH       string          `json:"id.resp_h"`
	RespP       json.Number     `json:"id.resp_p"`
	ID          *jsonID         `json:"id"`
	Proto       string          `json:"proto"`
	Service     string          `json:"service"`
	Duration    json.Number     `json:"duration"`
	OrigBytes   json.Number     `json:"orig_bytes"`
	RespBytes   json.Number     `json:"resp_bytes"`
	State       string          `json:"conn_state"`
	OrigPkts    json.Number     `json:"orig_pkts"`
	OrigIPBytes json.Number     `json:"orig_ip_bytes"`
	RespPkts    json.Number     `json:"resp_pkts"`
	RespIPBytes json.Number     `json:"resp_ip_bytes"`
	Label       string          `json:"label"`
	Detail      string          `json:"detailed-label"`
	Detail2     string          `json:"detailedlabel"`
}

// jsonID is the nested form of the connection's endpoints.
type jsonID struct {
	OrigH string      `json:"orig_h"`
	OrigP json.Number `json:"orig_p"`
	RespH string      `json:"resp_h"`
	RespP json.Number `json:"resp_p"`
}

// parseJSON parses one JSON object line.
func (p *Parser) parseJSON(line []byte) (flow.Session, error) {
	var c jsonConn
	if err := json.Unmarshal(line, &c); err != nil {
		return flow.Session{}, p.fail(flow.ReasonSyntax, "%v", err)
	}
	if c.ID != nil {
		c.OrigH, c.OrigP, c.RespH, c.RespP = c.ID.OrigH, c.ID.OrigP, c.ID.RespH, c.ID.RespP
	}
	var v [numCols][]byte
	str := func(col int, s string) {
		if s != "" {
			v[col] = []byte(s)
		}
	}
	ts := bytes.Trim(c.TS, `"`)
	if len(ts) > 0 && string(ts) != "null" {
		v[colTS] = ts
	}
	str(colUID, c.UID)
	str(colOrigH, c.OrigH)
	str(colOrigP, string(c.OrigP))
	str(colRespH, c.RespH)
	str(colRespP, string(c.RespP))
	str(colProto, c.Proto)
	str(colService, c.Service)
	str(colDuration, string(c.Duration))
	str(colOrigBytes, string(c.OrigBytes))
	str(colRespBytes, string(c.RespBytes))
	str(colState, c.State)
	str(colOrigPkts, string(c.OrigPkts))
	str(colOrigIPBytes, string(c.OrigIPBytes))
	str(colRespPkts, string(c.RespPkts))
	str(colRespIPBytes, string(c.RespIPBytes))
	str(colLabel, c.Label)
	if c.Detail == "" {
		c.Detail = c.Detail2
	}
	if c.Detail != "-" {
		str(colDetail, c.Detail)
	}
	return p.session(&v)
}
