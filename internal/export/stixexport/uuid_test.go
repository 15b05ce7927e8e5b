package stixexport

import "testing"

// urlNamespace is RFC 9562's name space for URLs.
var urlNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

func TestUUID5(t *testing.T) {
	dns := urlNamespace
	dns[3] = 0x10 // 6ba7b810-...: the DNS name space
	tests := []struct {
		name string
		ns   [16]byte
		in   string
		want string
	}{
		// Values from Python's uuid.uuid5.
		{name: "dns", ns: dns, in: "www.example.com", want: "2ed6657d-e927-568b-95e1-2665a8aea6a2"},
		{name: "url", ns: urlNamespace, in: "www.example.com", want: "b63cdfa4-3df9-568e-97ae-006c5b8fd652"},
		{name: "namespace", ns: urlNamespace, in: "https://github.com/proxywatch/proxywatch/stix", want: "22dffc5a-61f2-5744-9a24-08b249b38d2c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := uuid5(tc.ns, tc.in); got != tc.want {
				t.Errorf("uuid5(%x, %q) = %s, want %s", tc.ns, tc.in, got, tc.want)
			}
		})
	}
	if got, want := uuid5(urlNamespace, "https://github.com/proxywatch/proxywatch/stix"), "22dffc5a-61f2-5744-9a24-08b249b38d2c"; got != want {
		t.Errorf("namespace constant does not match its derivation")
	}
	var got [16]byte
	for i := range 16 {
		got[i] = namespace[i]
	}
	if got != [16]byte{0x22, 0xdf, 0xfc, 0x5a, 0x61, 0xf2, 0x57, 0x44, 0x9a, 0x24, 0x08, 0xb2, 0x49, 0xb3, 0x8d, 0x2c} {
		t.Errorf("namespace = %x, want the UUIDv5 22dffc5a-61f2-5744-9a24-08b249b38d2c", got)
	}
}
