package consent

import (
	"context"
	"fmt"
	"time"
)

// The regret rate of an entry point is the early warning the seed asks for
// when a business rolls out a new opt-in method: of the people who opted in
// through it, how many opted out again (or erased themselves) within a day of
// the welcome or of accepting the terms. A poster that misleads, or a QR code
// next to a prize draw, shows up here long before the number's quality rating
// drops.
//
// It is computed from the events, so that it is evidence-backed and survives
// erasure (an erased contact's events keep their type, source, time and entry
// point): the anchor of a person is their first opt_in or terms_accepted
// event naming the entry point within RegretPeriod; a regret is an opt_out or
// erased event of the same contact, by the person themselves (regretSources),
// at most RegretWindow after the anchor.

// Regret parameters.
const (
	// RegretWindow is how soon after opting in an opt-out counts as regret.
	RegretWindow = 24 * time.Hour
	// RegretPeriod is how far back opt-ins are counted, as the dashboard's chart.
	RegretPeriod = DashboardDays * 24 * time.Hour
	// RegretMinOptIns is how many opt-ins an entry point needs before its
	// rate can raise an alert: 1 of 3 is noise, 10 of 30 is a signal.
	RegretMinOptIns = 20
	// DefaultRegretThreshold is the rate, in percent, above which an entry
	// point raises an alert unless configured otherwise (OPTIN_REGRET_ALERT).
	DefaultRegretThreshold = 10.0
)

// regretSources are the sources of opt-outs and erasures a person makes
// themselves: STOP and other keywords, buttons in WhatsApp, the preference
// center, and stopping marketing in WhatsApp's own settings (provider).
// Admins, the API and imports are the business's acts, not regret.
var regretSources = []Source{SourceKeyword, SourceWhatsAppReply, SourcePreferenceCenter, SourceProvider}

// RegretAnchor is one person who opted in through an entry point: when, and
// when they first opted out or erased themselves afterwards (zero: never).
type RegretAnchor struct {
	EntryPoint string
	At         time.Time
	FirstOut   time.Time
}

// OpsStore keeps what operating a real number needs: the regret rate's
// events, alerts raised once, the provider's quality and limits.
type OpsStore interface {
	// RegretAnchors returns, per entry point and contact, the first opt_in
	// or terms_accepted event naming an entry point at or after since, with
	// the first later opt_out or erased event of that contact from one of
	// sources.
	RegretAnchors(ctx context.Context, since time.Time, sources []Source) ([]RegretAnchor, error)
	// AddAlertOnce records a unless an unresolved alert of the same kind
	// and code exists; it reports whether it added one.
	AddAlertOnce(ctx context.Context, a Alert) (bool, error)
	AccountUpdateStore
	// NumberErased reports whether a tombstone holds phoneHash.
	NumberErased(ctx context.Context, phoneHash string) (bool, error)
}

// Regret is the regret rate of one entry point over RegretPeriod.
type Regret struct {
	EntryPoint string
	// OptIns counts the people who opted in through it, Regrets those of
	// them who opted out within RegretWindow.
	OptIns, Regrets int64
}

// Percent is the regret rate in percent; 0 with no opt-ins.
func (r Regret) Percent() float64 {
	if r.OptIns == 0 {
		return 0
	}
	return float64(r.Regrets) * 100 / float64(r.OptIns)
}

// Alarming reports whether the rate is above threshold (percent) with
// enough opt-ins to mean something.
func (r Regret) Alarming(threshold float64) bool {
	return r.OptIns >= RegretMinOptIns && r.Percent() > threshold
}

// RegretRates computes the regret rate of every entry point that had an
// opt-in within RegretPeriod, keyed by code.
func (s *Service) RegretRates(ctx context.Context) (map[string]Regret, error) {
	anchors, err := s.store.RegretAnchors(ctx, s.clock.Now().Add(-RegretPeriod), regretSources)
	if err != nil {
		return nil, err
	}
	return regretRates(anchors), nil
}

// regretRates counts anchors and regrets per entry point.
func regretRates(anchors []RegretAnchor) map[string]Regret {
	out := map[string]Regret{}
	for _, a := range anchors {
		r := out[a.EntryPoint]
		r.EntryPoint = a.EntryPoint
		r.OptIns++
		if !a.FirstOut.IsZero() && !a.FirstOut.Before(a.At) && a.FirstOut.Sub(a.At) <= RegretWindow {
			r.Regrets++
		}
		out[a.EntryPoint] = r
	}
	return out
}

// RegretThreshold is the alert threshold in percent this service uses.
func (s *Service) RegretThreshold() float64 {
	if s.cfg.RegretThreshold > 0 {
		return s.cfg.RegretThreshold
	}
	return DefaultRegretThreshold
}

// CheckRegret raises a regret_rate alert for every known entry point whose
// rate is alarming and that has no unresolved one; it returns how many it
// raised. serve runs it periodically: reading a page never writes.
func (s *Service) CheckRegret(ctx context.Context) (int, error) {
	rates, err := s.RegretRates(ctx)
	if err != nil {
		return 0, err
	}
	eps, err := s.store.EntryPoints(ctx)
	if err != nil {
		return 0, err
	}
	raised := 0
	for _, e := range eps {
		r, ok := rates[e.Code]
		if !ok || !r.Alarming(s.RegretThreshold()) {
			continue
		}
		title := fmt.Sprintf("Entry point %s (%s): %d of %d people (%.0f %%) opted out within 24 h of opting in; threshold %.0f %%",
			e.Code, e.Name, r.Regrets, r.OptIns, r.Percent(), s.RegretThreshold())
		added, err := s.store.AddAlertOnce(ctx, Alert{Kind: AlertRegretRate, Code: int(e.ID), Title: title, At: s.clock.Now()})
		if err != nil {
			return raised, err
		}
		if added {
			raised++
		}
	}
	return raised, nil
}

// Alert kinds added for operations (the store's CHECK lists them all).
const (
	AlertRegretRate = "regret_rate"
	AlertQuality    = "quality"
)
