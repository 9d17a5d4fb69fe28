//go:build race

package store

// raceEnabled: the race detector slows SQLite about tenfold; the ledger's
// tamper test builds a smaller chain under it (still several pages of the
// verifier's walk).
const raceEnabled = true
