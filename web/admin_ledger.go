package web

import (
	"context"
	"net/http"
	"sync"
)

// ledgerRunner runs one verification of the ledger at a time, outside the
// request: walking millions of events takes longer than a response may
// (about 150,000 events a second here).
type ledgerRunner struct {
	mu      sync.Mutex
	running bool
	wg      sync.WaitGroup // tests wait on it
}

// start runs f unless a run is under way; it reports whether it started.
func (l *ledgerRunner) start(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return false
	}
	l.running = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() {
			l.mu.Lock()
			l.running = false
			l.mu.Unlock()
		}()
		f()
	}()
	return true
}

// busy reports whether a verification is running.
func (l *ledgerRunner) busy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}

// handleLedgerVerify starts a verification of the events' hash chain, as
// the admin's act; its result is recorded like optin audit verify's and
// shown on the dashboard.
func (s *Server) handleLedgerVerify(w http.ResponseWriter, r *http.Request) {
	ctx := context.WithoutCancel(r.Context())
	started := s.ledger.start(func() {
		rep, err := s.svc.VerifyLedger(ctx)
		if err != nil {
			s.log.Error("ledger verification failed", "err", err)
			return
		}
		if !rep.OK() {
			s.log.Warn("ledger verification found a broken chain", "first_bad", rep.FirstBad, "verified", rep.Verified)
			return
		}
		s.log.Info("ledger verified", "verified", rep.Verified, "head_id", rep.HeadID)
	})
	if !started {
		http.Redirect(w, r, "/admin/?done=verifying#ledger", http.StatusSeeOther)
		return
	}
	if err := s.auditFirst(r, "ledger_verify", "ledger", nil); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/?done=verify_started#ledger", http.StatusSeeOther)
}
