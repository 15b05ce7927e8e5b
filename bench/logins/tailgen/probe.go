package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// dnsProbe asks a DNSBL for ADDR reversed under zone, type A, over UDP.
// Listed is a NOERROR answer carrying an A record in 127.0.0.0/8; not
// listed is NXDOMAIN. Anything else is an error.
type dnsProbe struct {
	server string
	zone   string
}

func newDNSProbe(server, zone string) *dnsProbe {
	if !strings.HasSuffix(zone, ".") {
		zone += "."
	}
	return &dnsProbe{server: server, zone: zone}
}

func (p *dnsProbe) name() string { return "dnsbl" }

func (p *dnsProbe) blocked(_ context.Context, addr netip.Addr) (bool, error) {
	a := addr.As4()
	qname := fmt.Sprintf("%d.%d.%d.%d.%s", a[3], a[2], a[1], a[0], p.zone)
	id := uint16(rand.Uint32())
	q := dnsQuery(id, qname)
	c, err := net.Dial("udp", p.server)
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(250 * time.Millisecond))
	if _, err := c.Write(q); err != nil {
		return false, err
	}
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return false, err
		}
		if n < 12 || binary.BigEndian.Uint16(buf) != id {
			continue
		}
		return dnsListed(buf[:n])
	}
}

// dnsQuery builds a standard query for qname, type A, class IN.
func dnsQuery(id uint16, qname string) []byte {
	b := make([]byte, 12, 12+len(qname)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], 0x0100) // RD
	binary.BigEndian.PutUint16(b[4:], 1)      // QDCOUNT
	for label := range strings.SplitSeq(strings.TrimSuffix(qname, "."), ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0, 0, 1, 0, 1)
	return b
}

// dnsListed reads a response: true for an A record in 127/8, false for
// NXDOMAIN.
func dnsListed(m []byte) (bool, error) {
	flags := binary.BigEndian.Uint16(m[2:])
	if flags&0x0200 != 0 {
		return false, errors.New("truncated answer (rate limited?)")
	}
	switch rcode := flags & 0xf; rcode {
	case 3:
		return false, nil
	case 0:
	default:
		return false, fmt.Errorf("rcode %d", rcode)
	}
	qd, an := binary.BigEndian.Uint16(m[4:]), binary.BigEndian.Uint16(m[6:])
	off := 12
	var ok bool
	for range qd {
		if off, ok = skipName(m, off); !ok || off+4 > len(m) {
			return false, errors.New("malformed question")
		}
		off += 4
	}
	for range an {
		if off, ok = skipName(m, off); !ok || off+10 > len(m) {
			return false, errors.New("malformed answer")
		}
		typ := binary.BigEndian.Uint16(m[off:])
		rdlen := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10
		if off+rdlen > len(m) {
			return false, errors.New("malformed answer")
		}
		if typ == 1 && rdlen == 4 && m[off] == 127 {
			return true, nil
		}
		off += rdlen
	}
	return false, fmt.Errorf("NOERROR without a 127/8 A record (%d answers)", an)
}

// skipName returns the offset after the domain name at off.
func skipName(m []byte, off int) (int, bool) {
	for off < len(m) {
		l := int(m[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(m)
		default:
			off += 1 + l
		}
	}
	return 0, false
}

// faProbe asks a forward-auth endpoint; 403 is blocked, 2xx allowed.
type faProbe struct {
	url    string
	client *http.Client
}

func newFAProbe(url string) *faProbe {
	return &faProbe{url: url, client: &http.Client{Timeout: time.Second}}
}

func (p *faProbe) name() string { return "forwardauth" }

func (p *faProbe) blocked(ctx context.Context, addr netip.Addr) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("X-Forwarded-For", addr.String())
	resp, err := p.client.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return true, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	default:
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
}
