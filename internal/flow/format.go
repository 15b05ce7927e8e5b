package flow

import (
	"bytes"
	"encoding/binary"
)

// The flow file formats DetectFormat tells apart.
const (
	FormatPcap      = "pcap"       // classic pcap or pcapng of export datagrams (package pcapread, then netflow)
	FormatZeek      = "zeek"       // Zeek conn.log, TSV with #fields or JSON lines (package zeek)
	FormatNfdumpCSV = "nfdump-csv" // `nfdump -o csv` output (package nfcsv)
	FormatNfcapd    = "nfcapd"     // nfcapd's binary file: convert with `nfdump -r FILE -o csv`
)

// DetectFormat guesses the format of a flow file from its first bytes (a
// few hundred are enough; 4 KiB is plenty). It returns "" when it cannot
// tell. It looks only at magic numbers and header lines, so a match is a
// guess for the chosen reader to confirm.
func DetectFormat(head []byte) string {
	if len(head) >= 4 {
		switch binary.LittleEndian.Uint32(head) {
		case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
			return FormatPcap
		}
		if binary.LittleEndian.Uint16(head) == 0xa50c || binary.BigEndian.Uint16(head) == 0xa50c {
			return FormatNfcapd
		}
	}
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	switch {
	case bytes.HasPrefix(line, []byte("#separator")), bytes.HasPrefix(line, []byte("#fields")):
		return FormatZeek
	case bytes.HasPrefix(line, []byte("{")) && bytes.Contains(line, []byte(`"id.orig_h"`)):
		return FormatZeek
	case bytes.HasPrefix(line, []byte("ts,te,td,sa,da,")):
		return FormatNfdumpCSV
	case bytes.HasPrefix(line, []byte("ts|uid|id.orig_h|")), bytes.HasPrefix(line, []byte("ts\tuid\tid.orig_h\t")):
		return FormatZeek // a conn.log converted to CSV with a header row (IoT-23's Kaggle form)
	}
	return ""
}
