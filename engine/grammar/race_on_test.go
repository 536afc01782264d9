//go:build race

package grammar

// raceOn: the race detector slows these tests about tenfold; the long
// random walks shrink under it (the concurrency tests keep their size).
const raceOn = true
