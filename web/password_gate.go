package web

import (
	"net/http"
	"strconv"
	"time"
)

// passwordChecksAtOnce bounds the argon2id checks running at once: each
// holds 19 MiB while it runs, so a burst of sign-ins must queue at the
// door rather than in memory.
const passwordChecksAtOnce = 4

// passwordGate is one password check allowed to run: the failed attempt it
// may turn out to be is already counted against the account and the IP,
// and it holds a place among the running checks.
type passwordGate struct {
	s            *Server
	ip, account  string
	at           time.Time
	retryAfter   time.Duration
	tooManyTries bool // refused by the per-account or per-IP limit
}

// openPasswordGate reserves, before any password is checked, one failed
// attempt for the IP and one for the account, and a place among the
// running checks. Reserving first is what holds the limits under
// concurrency: a check-then-count lets every request of a burst through the
// check. On false nothing runs and g says how long to wait; an attempt
// turned away because too many checks run still counts, so that a burst
// spends the account's tries instead of waiting for a free place.
func (s *Server) openPasswordGate(ip, account string) (g passwordGate, ok bool) {
	now := s.cfg.Clock.Now()
	g = passwordGate{s: s, ip: ip, account: account, at: now}
	if ok, wait := s.signInByIP.reserve(ip, now); !ok {
		g.retryAfter, g.tooManyTries = wait, true
		return g, false
	}
	if ok, wait := s.signInByUser.reserve(account, now); !ok {
		s.signInByIP.refund(ip, now)
		g.retryAfter, g.tooManyTries = wait, true
		return g, false
	}
	select {
	case s.passwordChecks <- struct{}{}:
		return g, true
	default:
		g.retryAfter = time.Second
		return g, false
	}
}

// close frees the gate's place; right gives back the reserved attempts (a
// right password is not a failure).
func (g passwordGate) close(right bool) {
	<-g.s.passwordChecks
	if right {
		g.s.signInByIP.refund(g.ip, g.at)
		g.s.signInByUser.refund(g.account, g.at)
	}
}

// setRetryAfter writes the Retry-After header of a refused gate, in whole
// seconds rounded up.
func (g passwordGate) setRetryAfter(w http.ResponseWriter) {
	secs := int((g.retryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}
