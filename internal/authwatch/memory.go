package authwatch

import (
	"math"
	"net/netip"
	"unsafe"

	"github.com/proxywatch/proxywatch"
)

// Per-entry costs beyond the values themselves, in bytes: a Go map entry
// (key, value, tophash, load factor), the LRU's links, and the strings an
// entry refers to (user names, source names). Checked by
// BenchmarkMemoryMillionSources.
const (
	mapOverhead  = 48
	lruLinks     = 8
	stringBytes  = 32
	hllBytes     = 1024 + 1024 + 256 + 64 // spreadCounter
	campaignHLLs = hllBytes + 1024
)

// MemoryEstimate returns the most memory, in bytes, the Watch's state can
// take under c: every per-address, per-account, per-service and
// per-campaign structure full. A million distinct addresses cost no more
// than this; BenchmarkMemoryMillionSources measures it.
func (c Config) MemoryEstimate() int64 {
	var ip ipState
	var u userState
	var p pending
	var ev proxywatch.Event
	var m member
	var n int64
	n += int64(c.MaxSources) * int64(unsafe.Sizeof(ip)+16+lruLinks+mapOverhead+4)
	n += int64(c.MaxUsers) * int64(unsafe.Sizeof(u)+unsafe.Sizeof(userKey{})+lruLinks+mapOverhead+4+2*stringBytes)
	n += seenBytes(c.KnownSources, 0.001)
	n += int64(c.MaxBuffered) * int64(unsafe.Sizeof(ev)+8+2*stringBytes) * 2 // the heap's slice may double
	n += int64(c.Campaign.MaxPending) * int64(unsafe.Sizeof(p)+stringBytes)
	buckets := int64(c.Campaign.History/c.Campaign.Bucket) + 1
	perService := 2*4*buckets +
		int64(c.Campaign.MaxCandidates)*int64(unsafe.Sizeof(p)+stringBytes) +
		recentEvents*int64(unsafe.Sizeof(ev)+2*stringBytes) +
		int64(c.Campaign.MaxMembers)*int64(16+unsafe.Sizeof(m)+lruLinks+mapOverhead+4) +
		int64(c.Campaign.MaxPrefixes)*int64(unsafe.Sizeof(netip.Prefix{})+8+mapOverhead) +
		int64(c.Campaign.MaxASNs)*(4+8+mapOverhead) +
		int64(c.Subjects)*int64(unsafe.Sizeof(netip.Prefix{})) + campaignHLLs
	n += int64(c.MaxServices) * perService
	return n
}

// seenBytes is what window.NewSeen(capacity, fp, ...) allocates.
func seenBytes(capacity int, fp float64) int64 {
	capacity = max(capacity, 16)
	bitsPerKey := -math.Log(fp) / (math.Ln2 * math.Ln2)
	return 2 * int64(math.Ceil(float64(capacity)*bitsPerKey/64)) * 8
}
