//go:build !race

package authwatch

const raceEnabled = false
