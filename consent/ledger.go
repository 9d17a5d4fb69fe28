package consent

import "time"

// LedgerReport is the outcome of walking the events' hash chain from the
// first event to the last.
type LedgerReport struct {
	// Verified counts the events found intact before the first that was
	// not, or all of them.
	Verified int
	// FirstBad is the id of the first event that does not match (or that
	// is missing from its place in the chain); 0 when the chain is intact.
	FirstBad int64
	// Reason says, for an auditor, how FirstBad fails.
	Reason string
	// HeadID and HeadHash are the last event found intact and its hash. An
	// auditor who writes them down outside optin can later prove that no
	// event up to there was changed, even by someone able to recompute the
	// whole chain.
	HeadID   int64
	HeadHash string
}

// OK reports whether the chain is intact.
func (r LedgerReport) OK() bool { return r.FirstBad == 0 }

// LedgerCheck is one recorded verification of the ledger.
type LedgerCheck struct {
	At time.Time
	LedgerReport
}
