package netflow

import (
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// NetFlow v5 layout: a 24-byte header and 48-byte records.
const (
	v5Header = 24
	v5Record = 48
)

// decodeV5 decodes a NetFlow v5 packet. Its observation domain is the
// engine type and ID, as nfdump keys it; the sampling interval comes from
// the header's low 14 bits.
func (d *Decoder) decodeV5(dst []flow.Record, p []byte, exporter netip.Addr, t time.Time) ([]flow.Record, error) {
	if len(p) < v5Header {
		return dst, d.fail(flow.ReasonShort, "v5 packet of %d bytes", len(p))
	}
	count := int(be.Uint16(p[2:]))
	uptime := be.Uint32(p[4:])
	base := int64(be.Uint32(p[8:]))*1e9 + int64(be.Uint32(p[12:])%1e9)
	seq := be.Uint32(p[16:])
	dom := d.domainFor(exporter, 5, uint32(p[20])<<8|uint32(p[21]), t)
	if dom == nil {
		return dst, d.fail(flow.ReasonLimit, "more than %d exporter domains", d.opts.MaxDomains)
	}
	var err error
	n := count
	if v5Header+n*v5Record > len(p) {
		n = (len(p) - v5Header) / v5Record
		err = d.fail(flow.ReasonTruncated, "v5 packet of %d bytes announces %d records", len(p), count)
	}
	rate := dom.samplingRate(uint32(be.Uint16(p[22:])&0x3fff), 0, false)
	for i := range n {
		b := p[v5Header+i*v5Record:]
		dst = append(dst, flow.Record{
			Src:          netip.AddrFrom4([4]byte(b[0:4])),
			Dst:          netip.AddrFrom4([4]byte(b[4:8])),
			Packets:      uint64(be.Uint32(b[16:])),
			Bytes:        uint64(be.Uint32(b[20:])),
			Start:        time.Unix(0, base+int64(int32(be.Uint32(b[24:])-uptime))*1e6).UTC(),
			End:          time.Unix(0, base+int64(int32(be.Uint32(b[28:])-uptime))*1e6).UTC(),
			SrcPort:      be.Uint16(b[32:]),
			DstPort:      be.Uint16(b[34:]),
			TCPFlags:     b[37],
			Proto:        b[38],
			SamplingRate: rate,
			Exporter:     dom.exporter,
			Domain:       dom.id,
		})
	}
	d.c.packets[V5].Add(1)
	d.c.records[V5].Add(uint64(n))
	if err == nil {
		d.sequence(dom, V5, seq, uint32(count), uint32(count))
	} else {
		dom.seq.valid = false
	}
	return dst, err
}
