package iocreport

import "strings"

// A dotted name written without defanging ("example.com", not
// "example[.]com") is taken as a domain only when its last label is a
// country code (any two letters) or one of these generic top-level
// domains, and is not a file extension below. Black Lotus Labs and most
// vendors defang every network indicator, so bare names are mostly file
// names ("libc.so", "x.exe"), library paths and code ("api.googlemaps",
// "org.apache.catalina.startup.Bootstrap"); defanged names skip both
// checks.
var genericTLDs = setOf(`
	com net org info biz name pro mobi asia tel travel jobs cat coop aero
	museum int edu gov mil top xyz site online club vip shop store app dev
	page live run bet digital life icu buzz cyou cfd sbs monster rest fun
	space website tech host press link click work world today xin win bid
	loan men date download racing review stream trade party science
	cricket accountant faith gdn kim ltd group email cloud company
	services solutions support network systems center agency zone guru
	ninja rocks social media news blog art design one best moe bond autos
	quest beauty hair lol pics cam uno ink red blue pink black green gold
	plus team city land wang ren global tokyo london berlin nyc lat mom
	bar casa fit love game games chat wiki help tips tools trading finance
	money bank cash pay market shopping deals sale express direct studio
	technology software computer hosting server domains`)

// fileExtensions are last labels that mark a file name, not a domain,
// even where a top-level domain of the same name exists (.zip, .mov, .sh,
// .py, .so): a bare "Kv-all.sh" or "libc.so" in a report is a file. The
// reserved names of RFC 2606 and RFC 6761 (test, example, invalid, local,
// localhost) are here too: they never name an Internet host.
var fileExtensions = setOf(`
	exe dll sys drv ocx cpl scr msi msc lnk hta inf reg chm wsf vbs vbe js
	jse ps1 psm1 bat cmd sh bash zsh py pyc pyw pl rb php asp aspx jsp lua
	jar war class dex apk ipa dmg iso img bin elf so ko lib obj out pdb
	zip rar 7z gz tgz bz2 xz tar cab arj lzh doc docx docm dot dotm xls
	xlsx xlsm ppt pptx pptm rtf pdf txt log ini cfg conf config json xml
	yml yaml csv tsv dat db sqlite tmp bak old html htm css svg png jpg
	jpeg gif bmp ico mp3 mp4 mov avi wav
	test example invalid local localhost`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// tldOf returns the last label of a dotted name, lower-cased.
func tldOf(name string) string {
	return strings.ToLower(name[strings.LastIndexByte(name, '.')+1:])
}

// letters reports whether s is at least two ASCII letters.
func letters(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
