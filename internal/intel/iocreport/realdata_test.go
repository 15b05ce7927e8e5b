package iocreport

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

const bllDir = "proxy-botnet-iocs/blacklotuslabs"

// realFiles is the expected outcome of every file Black Lotus Labs
// publishes (../shared/data/proxy-botnet-iocs/blacklotuslabs), read in
// place.
//
// How the numbers were derived, apart from this reader: accepted address
// indicators and "hash" exclusions equal, file by file, the IPv4 and hash
// (32/40/64/128 hex digits) occurrences that a Python regex finds in the
// refanged text, and TestNoAddressLost re-derives both here with its own
// regexes. The domain part of "accepted" was counted from the files:
// defanged names (grep "\[\.\]"), URL hosts, table cells ("Domain" column
// of Conti: 53 rows; Raptor Train: 107 Domain/TLS Cert Domain rows and 39
// encoded-snippet lines), Mylobot's 1,404 bare one-per-line names
// (grep -cE '^[a-z0-9.-]+\.[a-z]{2,}$'), and the rest by reading:
//   - Cuttlefish: kkthreas.com twice and pp.kkthreas.com from URLs; the bare
//     names api.googlemaps, conn.login, eureka.awssecretkey (keyword list)
//     are excluded as bare-name.
//   - DanaBot: 115 addresses; "Tier.Net" and "Amazon.com," in the hosting
//     lines under them are bare-name exclusions.
//   - Gamaredon: the C2 URL host, then 22 'Domain' and 22 'URL' entries of
//     the JSON dump; its 22 'Filename' values are file-name exclusions.
//   - Konni (3 files): the pronto-login / carnegieinsider names, the
//     webattach.mail.yandex.net URL host, the atwebpages and c1.biz C2s;
//     e-mail addresses are other-type, .bat/.dll/.ini names file-name.
//   - Pumpkin Eclipse: 89 addresses and 14 C2/hosting domains; the 11
//     "Domains to DDoS" are targets.
//   - Elevator, Hiatus, KV, Reverse RAT, Showboat, VersaMem, WSL: file names
//     (bpf.test, elevator.elf, *.sh.txt, Kv-all.sh, agenda.zip, *.hta,
//     *.lnk, *.dll, *.bat, ukpkmkk.bin, VersaTest.png, Stub.py) and two Java
//     class names in a YARA rule are the exclusions.
var realFiles = []struct {
	file     string
	accepted int
	excluded map[string]int
	refused  map[string]int
	kinds    map[string]int // checked when set
}{
	{file: "AVrecon_IOCs.txt", accepted: 27, excluded: map[string]int{"hash": 9}},
	{file: "Accellion_FTA_target_list.csv", accepted: 40, kinds: map[string]int{"c2": 40}},
	{file: "Brute_Force_Latest.txt", accepted: 205, kinds: map[string]int{"brute-force": 205}},
	{file: "Chaos_IoCs.txt", accepted: 51, excluded: map[string]int{"hash": 7}, kinds: map[string]int{"c2": 51}},
	{file: "Chrome_PyInstaller_IoCs.txt", accepted: 5, excluded: map[string]int{"hash": 6}},
	{file: "Conti_Ransomware_IoCs.csv", accepted: 106},
	{file: "Cuttlefish_IOCs.txt", accepted: 25, excluded: map[string]int{"bare-name": 3, "hash": 16},
		kinds: map[string]int{"c2": 11, "malware-host": 13, "unknown": 1}},
	{file: "DanaBot_IOCs_txt", accepted: 115, excluded: map[string]int{"bare-name": 2}, kinds: map[string]int{"c2": 115}},
	{file: "Elevator_IOCs.txt", accepted: 1, excluded: map[string]int{"file-name": 2, "hash": 4}, kinds: map[string]int{"c2": 1}},
	{file: "Emotet_Redux_IoCs.txt", accepted: 64, kinds: map[string]int{"c2": 64}},
	{file: "FrostArmada_IOCs.txt", accepted: 6},
	{file: "Gamaredon_IoCs.txt", accepted: 45, excluded: map[string]int{"file-name": 22, "hash": 44}},
	{file: "Hiatus_2_IOCs.txt", accepted: 7, excluded: map[string]int{"hash": 8}},
	{file: "Hiatus_IoCs.txt", accepted: 6, excluded: map[string]int{"file-name": 1, "hash": 18},
		kinds: map[string]int{"c2": 1, "collector": 1, "malware-host": 2, "unknown": 2}},
	{file: "JDY_6_2026_IOCs.txt", accepted: 5, excluded: map[string]int{"hash": 8}, kinds: map[string]int{"c2": 4, "malware-host": 1}},
	{file: "Jmagic_IOCs.txt", accepted: 1, excluded: map[string]int{"hash": 5}},
	{file: "KVbotnet_IOCs.txt", accepted: 25, excluded: map[string]int{"file-name": 1, "hash": 56},
		kinds: map[string]int{"c2": 20, "malware-host": 5}},
	{file: "KadNap_IOCs.txt", accepted: 11, excluded: map[string]int{"hash": 2}},
	{file: "Konni_HappyNewYear_IoCs.txt", accepted: 18, excluded: map[string]int{"file-name": 3, "hash": 22, "other-type": 2}},
	{file: "Konni_IoCs.txt", accepted: 3, excluded: map[string]int{"hash": 18, "other-type": 1}},
	{file: "Konni_June_2022_IoCs.txt", accepted: 13, excluded: map[string]int{"file-name": 3, "hash": 6}},
	{file: "LummaStealer_IOCs.txt", accepted: 219, kinds: map[string]int{"c2": 219}},
	{file: "Mirai_IoCs_Fate.txt", excluded: map[string]int{"hash": 7}},
	{file: "Moon_Faceless_IOCs.txt", accepted: 20, excluded: map[string]int{"hash": 12},
		kinds: map[string]int{"c2": 9, "malware-host": 3, "open-proxy": 7, "unknown": 1}},
	{file: "Mylobot_IoCs.txt", accepted: 1427, excluded: map[string]int{"hash": 4}, kinds: map[string]int{"c2": 1426, "malware-host": 1}},
	{file: "NSOCKS_IOCs.txt", accepted: 241, kinds: map[string]int{"backconnect-c2": 184, "c2": 57}},
	{file: "NetWire_IoCs.txt", accepted: 6, excluded: map[string]int{"hash": 9}},
	{file: "Nosov_SP_certiciatefiles.txt", excluded: map[string]int{"hash": 49}},
	{file: "Pumpkin_Eclipse_IOCs.txt", accepted: 103, excluded: map[string]int{"file-name": 1, "hash": 32, "target": 11}},
	{file: "Qakbot_retool_reinfect_recycle.txt", accepted: 4},
	{file: "Quartermaster_IOCs.txt"},
	{file: "Raptor_Train_IOCs.txt", accepted: 248, excluded: map[string]int{"hash": 3}},
	{file: "ReverseRat2.0_NightFury_IoCs.txt", accepted: 5, excluded: map[string]int{"file-name": 8, "hash": 10}},
	{file: "Reverserat_iocs.csv", accepted: 32, excluded: map[string]int{"hash": 38}},
	{file: "Secret_Blizzard_IoCs.txt", accepted: 38},
	{file: "Showboat_IOCs.txt", accepted: 12, excluded: map[string]int{"file-name": 1, "hash": 6}},
	{file: "Soundbite_IoCs.txt", accepted: 22},
	{file: "SystemBC_IOCs.txt", accepted: 178, kinds: map[string]int{"c2": 175, "malware-host": 1, "unknown": 2}},
	{file: "VersaMem_IOCs.txt", excluded: map[string]int{"bare-name": 2, "file-name": 1, "hash": 1}},
	{file: "WSL_IoCs_March2022.txt", accepted: 2, excluded: map[string]int{"file-name": 1, "hash": 22, "other-type": 1}},
	{file: "WSL_samples.txt", accepted: 3, excluded: map[string]int{"hash": 10}},
	{file: "ZuoRAT_IoCs.txt", accepted: 14, excluded: map[string]int{"hash": 29}},
	{file: "domains_assoc_ryuk.txt", accepted: 6},
	{file: "socks_IOCs.txt", accepted: 7, kinds: map[string]int{"c2": 5, "unknown": 2}},
}

// talosText is the expected outcome of the plain-text twins of the Talos
// STIX bundles in ../shared/data/stix-misp, which are defanged reports
// too. The brute-force list has 3,930 address lines (4 repeated, so 3,926
// distinct, as in the bundle; TestTalosAddresses in package stix compares
// the two), then a list of user names in which "test.user" is a bare name,
// then passwords. The XorDDoS list has 171 addresses, 3 host:port names
// and 2 SHA-256 hashes.
var talosText = []struct {
	file     string
	accepted int
	excluded map[string]int
}{
	{file: "2024/04/large-scale-brute-force-activity-targeting-vpns-ssh-services-with-commonly-used-login-credentials.txt",
		accepted: 3930, excluded: map[string]int{"bare-name": 1}},
	{file: "2025/04/new_XorDDoS_controller_and_infrastructure.txt", accepted: 174, excluded: map[string]int{"hash": 2}},
}

const talosDir = "stix-misp/cisco-talos-iocs"

func TestTalosText(t *testing.T) {
	for _, tc := range talosText {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			inds, errs := inteltest.Drain(t, open(t, itest.Data(t, filepath.Join(talosDir, tc.file))))
			want := inteltest.Counts{Accepted: tc.accepted, Excluded: tc.excluded} // none refused
			if diff := cmp.Diff(want, inteltest.Count(inds, errs)); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRealData(t *testing.T) {
	dir := itest.Data(t, bllDir)
	listed := map[string]bool{}
	for _, tc := range realFiles {
		listed[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			inds, errs := inteltest.Drain(t, open(t, filepath.Join(dir, tc.file)))
			want := inteltest.Counts{Accepted: tc.accepted, Excluded: tc.excluded, Refused: tc.refused}
			if diff := cmp.Diff(want, inteltest.Count(inds, errs)); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			if tc.kinds != nil {
				kinds := map[string]int{}
				for _, ind := range inds {
					kinds[ind.Kind.String()]++
				}
				if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
					t.Errorf("kinds mismatch (-want +got):\n%s", diff)
				}
			}
			for _, ind := range inds {
				if ind.Source.Feed != tc.file || ind.Source.Line <= 0 {
					t.Errorf("indicator %v: source %v, want the file and a line", ind.Subject, ind.Source)
				}
			}
		})
	}
	// Every data file is in the table (README.md is not data).
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !listed[e.Name()] && e.Name() != "README.md" {
			t.Errorf("file %s has no expected counts", e.Name())
		}
	}
}

var (
	ipv4Pattern = regexp.MustCompile(`^\d{1,3}(\.\d{1,3}){3}$`)
	hashPattern = regexp.MustCompile(`(?i)^[0-9a-f]{32,128}$`)
	// A defanged name: labels joined by "[.]" (or the broken "[."), ending
	// in letters.
	defangedName = regexp.MustCompile(`(?i)[a-z0-9_-]+(?:(?:\[\.\]?|\.)[a-z0-9_-]+)*\[\.\]?[a-z]{2,}`)
)

// TestNoAddressLost checks, with regexes of its own, that every IPv4
// address a reader of a Black Lotus Labs file would see (after undoing
// the defanging) comes out as an indicator or a target exclusion, as many
// times as it is written; that every hash is counted; and that every
// defanged name comes out as a domain, or as the host of a URL, or as a
// target or an e-mail exclusion.
func TestNoAddressLost(t *testing.T) {
	dir := itest.Data(t, bllDir)
	for _, tc := range realFiles {
		t.Run(tc.file, func(t *testing.T) { checkNoLoss(t, filepath.Join(dir, tc.file)) })
	}
	for _, tc := range talosText {
		t.Run(tc.file, func(t *testing.T) { checkNoLoss(t, itest.Data(t, filepath.Join(talosDir, tc.file))) })
	}
}

// checkNoLoss reads the file at path with regexes and with the reader and
// compares what they find.
func checkNoLoss(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := intel.Refang(strings.ReplaceAll(string(raw), `\r\n`, " "))
	wantIPs := ipv4s(text)
	wantHashes := 0
	for _, w := range strings.FieldsFunc(text, notAlnum) {
		switch len(w) {
		case 32, 40, 64, 128:
			if hashPattern.MatchString(w) {
				wantHashes++
			}
		}
	}
	wantNames := map[string]bool{}
	for _, m := range defangedName.FindAllString(string(raw), -1) {
		if strings.Contains(m, "[") {
			wantNames[strings.ToLower(intel.Refang(m))] = true
		}
	}

	inds, errs := inteltest.Drain(t, open(t, path))
	gotIPs := map[string]int{}
	gotNames := map[string]bool{}
	for _, ind := range inds {
		switch ind.Subject.Type() {
		case proxywatch.SubjectPrefix:
			if a := ind.Subject.Prefix.Addr(); a.Is4() && ind.Subject.Prefix.IsSingleIP() {
				gotIPs[a.String()]++
			}
		case proxywatch.SubjectDomain:
			gotNames[ind.Subject.Domain] = true
		}
	}
	hashes := 0
	for _, e := range errs {
		switch e.Reason {
		case intel.ReasonHash:
			hashes++
		case ReasonTarget, intel.ReasonOtherType:
			for ip, n := range ipv4s(intel.Refang(e.Text)) {
				gotIPs[ip] += n
			}
			for _, m := range defangedName.FindAllString(e.Text, -1) {
				gotNames[strings.ToLower(intel.Refang(m))] = true
			}
		}
	}
	if diff := cmp.Diff(wantIPs, gotIPs); diff != "" {
		t.Errorf("IPv4 occurrences: regex scan vs reader (-want +got):\n%s", diff)
	}
	if hashes != wantHashes {
		t.Errorf("hash exclusions = %d, want %d (regex scan)", hashes, wantHashes)
	}
	for name := range wantNames {
		if !gotNames[name] {
			t.Errorf("defanged name %s is neither an indicator nor excluded", name)
		}
	}
}

// ipv4s counts the dotted quads in text: runs of digits and dots.
func ipv4s(text string) map[string]int {
	out := map[string]int{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }) {
		if ipv4Pattern.MatchString(w) {
			out[w]++
		}
	}
	return out
}

func notAlnum(r rune) bool {
	return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

// TestSocksC2 is the reader's part of the acceptance check: every
// address of socks_IOCs.txt's C2 section comes out as a C2 naming the
// file and its section.
func TestSocksC2(t *testing.T) {
	inds, errs := inteltest.Drain(t, open(t, itest.Data(t, filepath.Join(bllDir, "socks_IOCs.txt"))))
	if len(errs) != 0 {
		t.Errorf("errors %v, want none", errs)
	}
	want := map[string]bool{"176.53.20.42/32": true, "176.53.20.43/32": true, "176.53.20.44/32": true, "176.53.20.45/32": true, "176.53.20.46/32": true}
	for _, ind := range inds {
		if !want[ind.Subject.String()] {
			continue
		}
		delete(want, ind.Subject.String())
		wantSrc := proxywatch.Source{Feed: "socks_IOCs.txt", Section: "C2s used by the 5socks/anyproxy networks", Line: ind.Source.Line}
		if ind.Kind != proxywatch.KindC2 || ind.Source != wantSrc {
			t.Errorf("%v: kind %v, source %+v, want c2 from %+v", ind.Subject, ind.Kind, ind.Source, wantSrc)
		}
	}
	if len(want) > 0 {
		t.Errorf("C2 addresses missing: %v", want)
	}
}
