package netflow_test

// Hand-built export packets covering each version and the decoder's paths:
// seeds for FuzzDecode and fixtures for the unit tests. Addresses are from
// the documentation ranges.

var (
	v4a = [4]byte{192, 0, 2, 10}
	v4b = [4]byte{198, 51, 100, 20}
	v6a = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	v6b = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

// v9Template is a v9 template like softflowd's: IPv4 addresses, sysuptime
// times, 4-byte counters.
var v9Template = tmpl(300, tf{8, 4, 0}, tf{12, 4, 0}, tf{22, 4, 0}, tf{21, 4, 0}, tf{1, 4, 0}, tf{2, 4, 0},
	tf{7, 2, 0}, tf{11, 2, 0}, tf{4, 1, 0}, tf{6, 1, 0})

func v9Record(first, last, bytes, pkts uint32, sp, dp uint16, proto, flags uint8) []byte {
	return cat(v4a[:], v4b[:], u32(first), u32(last), u32(bytes), u32(pkts), u16(sp), u16(dp), []byte{proto, flags})
}

// ipfixTemplate has IPv6 addresses, millisecond times, 8-byte counters, a
// variable-length field and an enterprise field.
var ipfixTemplate = tmpl(400, tf{27, 16, 0}, tf{28, 16, 0}, tf{152, 8, 0}, tf{153, 8, 0}, tf{1, 8, 0}, tf{2, 8, 0},
	tf{7, 2, 0}, tf{11, 2, 0}, tf{4, 1, 0}, tf{82, 0xffff, 0}, tf{100, 4, 9999}, tf{302, 4, 0})

func ipfixRecord(startMs, endMs, bytes, pkts uint64, name string, selector uint32) []byte {
	return cat(v6a[:], v6b[:], u64(startMs), u64(endMs), u64(bytes), u64(pkts), u16(443), u16(51000), []byte{6},
		[]byte{byte(len(name))}, []byte(name), u32(7), u32(selector))
}

// ipfixSampling is an options template and record: selector 5 samples 1 in 100.
var (
	ipfixOptsTemplate = ipfixOptsTmpl(401, 1, tf{302, 4, 0}, tf{305, 4, 0}, tf{306, 4, 0})
	ipfixOptsRecord   = cat(u32(5), u32(1), u32(99))
)

func builtSeeds() [][][]byte {
	return [][][]byte{
		{v5(60_000, 1_772_445_600, 0, 0, 0, v5rec{v4a, v4b, 3, 180, 50_000, 59_000, 40000, 443, 0x1b, 6})},
		{v9(120_000, 1_772_445_600, 1, 7, set(0, v9Template), set(300, cat(v9Record(110_000, 119_500, 1500, 3, 52000, 80, 6, 0x1b), v9Record(100_000, 100_000, 76, 1, 123, 123, 17, 0))))},
		{ipfix(1_772_445_600, 0, 3, set(2, ipfixTemplate), set(3, ipfixOptsTemplate), set(401, ipfixOptsRecord),
			set(400, cat(ipfixRecord(1_772_445_599_000, 1_772_445_599_900, 9000, 9, "eth0", 5), ipfixRecord(1_772_445_599_100, 1_772_445_599_200, 60, 1, "", 6))))},
	}
}
