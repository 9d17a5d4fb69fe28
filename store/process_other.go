//go:build !unix

package store

// processRuns cannot tell here: every process counts as running, and its
// leases end when they expire.
func processRuns(int) bool { return true }
