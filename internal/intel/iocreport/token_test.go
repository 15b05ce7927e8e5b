package iocreport

import (
	"fmt"
	"strings"
	"testing"
)

// describe renders a token for comparison: class, subjects, port, label.
func describe(t tok) string {
	names := []string{"text", "addr", "domain", "weak", "url", "hash", "email", "file-name", "bare-name", "bad-address", "bad-port"}
	s := names[t.class]
	var subs []string
	for _, x := range t.subjects() {
		subs = append(subs, x.String())
	}
	if t.class != cText && len(subs) > 0 && subs[0] != "" {
		s += " " + strings.Join(subs, ",")
	}
	if t.port != 0 {
		s += fmt.Sprintf(" port=%d", t.port)
	}
	if t.label != "" {
		s += " label=" + t.label
	}
	return s
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"192.0.2[.]1", []string{"addr 192.0.2.1/32"}},
		{"192.0.2[.1", []string{"addr 192.0.2.1/32"}},
		{"192[.]0[.]2[.]1", []string{"addr 192.0.2.1/32"}},
		{"192.0.2(.)1:8080", []string{"addr 192.0.2.1/32 port=8080"}},
		{"192.0.2.0/24", []string{"addr 192.0.2.0/24"}},
		{"192.0.2.1-192.0.2.2", []string{"addr 192.0.2.1/32,192.0.2.2/32"}},
		{"[2001:db8::1]:443", []string{"addr 2001:db8::1/128 port=443"}},
		{"2001:db8::1", []string{"addr 2001:db8::1/128"}},
		{"192.0.2.256", []string{"bad-address"}},
		{"192.0.2.1:0", []string{"bad-port"}},
		{"192.0.2.1:99999", []string{"bad-port"}},
		{"hxxp://192.0.2[.]1:8080/x.sh", []string{"url 192.0.2.1/32 port=8080"}},
		{"hxxps://C2.Example[.]com/gate?a=b,c", []string{"url c2.example.com"}},
		{"https[:]//cdn.example[.]org", []string{"url cdn.example.org"}},
		{"http://user@192.0.2.1/", []string{"url 192.0.2.1/32"}},
		{"http://[2001:db8::1]:8443/", []string{"url 2001:db8::1/128 port=8443"}},
		{"http://", []string{"text"}},
		{"http://%s/path", []string{"text"}},
		{"http://999.1.1.1/", []string{"bad-address"}},
		{"C2:hxxp://c2.example[.]net", []string{"url c2.example.net label=C2"}},
		{"192.0.2[.]1/path/x", []string{"url 192.0.2.1/32"}},
		{"192.0.2[.]1:8081/kGZQ", []string{"url 192.0.2.1/32 port=8081"}},
		{"c2.example[.]net/index.php?id=1", []string{"url c2.example.net"}},
		{"example[.]com", []string{"domain example.com"}},
		{"example[.]com:443", []string{"domain example.com port=443"}},
		{"example[.]zip", []string{"domain example.zip"}},
		{"example.com", []string{"weak example.com"}},
		{"example.de", []string{"weak example.de"}},
		{"libc.so", []string{"file-name libc.so"}},
		{"payload.EXE", []string{"file-name payload.exe"}},
		{"bpf.test", []string{"file-name bpf.test"}},
		{"api.googlemaps", []string{"bare-name api.googlemaps"}},
		{"x.bin/y", []string{"text"}},
		{"ops@example[.]com", []string{"email"}},
		{"MD5:0123456789abcdef0123456789abcdef", []string{"hash label=MD5"}},
		{"0123456789ABCDEF0123456789abcdef01234567", []string{"hash"}},
		{"'192.0.2[.]1',", []string{"addr 192.0.2.1/32"}},
		{"['192[.]0[.]2[.]1',", []string{"addr 192.0.2.1/32"}},
		{"“192.0.2.1”", []string{"addr 192.0.2.1/32"}},
		{"192.0.2.1\\", []string{"addr 192.0.2.1/32"}},
		{"example.com,192.0.2.9", []string{"weak example.com", "addr 192.0.2.9/32"}},
		{"banner_hashes=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", []string{"text", "hash label=sha256"}},
		{"Host: 192.0.2.1\\r\\nConnection:", []string{"text", "addr 192.0.2.1/32", "text"}},
		{`C:\Users\x\MVC\rar.in`, []string{"text label=C"}},
		{"/tmp/.x.so", []string{"text"}},
		{"1.2.3", []string{"text"}},
		{"X.509", []string{"text"}},
		{"z.o.o.", []string{"text"}},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range tokenize(tc.in) {
			got = append(got, describe(tk))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
