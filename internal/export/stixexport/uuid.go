package stixexport

import (
	"crypto/sha1"
	"encoding/hex"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// namespace is the UUIDv5 namespace of proxywatch's STIX ids: the UUIDv5
// of "https://github.com/proxywatch/proxywatch/stix" in the URL
// namespace (RFC 9562), as TestNamespace recomputes.
var namespace = [16]byte{0x22, 0xdf, 0xfc, 0x5a, 0x61, 0xf2, 0x57, 0x44, 0x9a, 0x24, 0x08, 0xb2, 0x49, 0xb3, 0x8d, 0x2c}

// ID returns the STIX id of the indicator object for prefix p and kind k:
// "indicator--" and the UUIDv5 of "KIND PREFIX" in proxywatch's
// namespace. It depends on nothing else, so re-exports keep it.
func ID(p netip.Prefix, k proxywatch.Kind) string {
	return "indicator--" + uuid5(namespace, k.String()+" "+p.Masked().String())
}

// uuid5 returns the RFC 9562 version 5 UUID of name in namespace ns.
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
