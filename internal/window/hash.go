package window

import (
	"math/bits"
	"net/netip"
)

// Hashes here are fixed (no per-process seed), so counts and sketches are
// the same from run to run and tests can assert them. An attacker who
// knows the function can aim for collisions; the structures that use
// hashes (HLL, Seen) then err towards counting less or remembering too
// much, never towards unbounded memory.

// mix is the 64-bit finalizer of MurmurHash3.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// HashAddr returns a 64-bit hash of a, IPv4-mapped addresses unmapped first.
func HashAddr(a netip.Addr) uint64 {
	b := AddrKey(a)
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	return mix(hi ^ mix(lo+0x9e3779b97f4a7c15))
}

// HashString returns a 64-bit hash of s (FNV-1a, then mixed).
func HashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// HashUint returns a 64-bit hash of v.
func HashUint(v uint64) uint64 { return mix(v + 0x9e3779b97f4a7c15) }

// AddrKey returns a as 16 bytes, IPv4 as an IPv4-mapped IPv6 address: a
// map key with no pointers, unlike netip.Addr.
func AddrKey(a netip.Addr) [16]byte { return a.Unmap().As16() }

// KeyAddr reverses AddrKey.
func KeyAddr(k [16]byte) netip.Addr { return netip.AddrFrom16(k).Unmap() }

// leadingZeros returns the number of leading zero bits of v, for HLL.
func leadingZeros(v uint64) int { return bits.LeadingZeros64(v) }
