//go:build race

package authwatch

const raceEnabled = true
