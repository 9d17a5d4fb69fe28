//go:build race

package consent_test

// raceEnabled: the race detector slows SQLite-heavy tests about tenfold, so
// the property tests play fewer sequences under it (the sequences are the
// same, only fewer).
const raceEnabled = true
