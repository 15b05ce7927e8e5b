//go:build !race

package logparse

const raceEnabled = false
