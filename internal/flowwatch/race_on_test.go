//go:build race

package flowwatch

const raceEnabled = true
