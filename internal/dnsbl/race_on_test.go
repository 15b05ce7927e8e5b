//go:build race

package dnsbl

const raceEnabled = true
