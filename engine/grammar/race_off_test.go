//go:build !race

package grammar

const raceOn = false
