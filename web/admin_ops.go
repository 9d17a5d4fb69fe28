package web

import (
	"context"
	"fmt"
	"sort"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// opsModel gathers the dashboard's operations section: the number's quality
// and limits, and the regret rate per entry point.
func (s *Server) opsModel(ctx context.Context, eps []consent.EntryPoint) (views.OpsModel, error) {
	rates, err := s.svc.RegretRates(ctx)
	if err != nil {
		return views.OpsModel{}, err
	}
	th := s.svc.RegretThreshold()
	m := views.OpsModel{RegretThreshold: percentLabel(th), Quality: qualityModel(s.svc.Quality(), s.svc.SendLimits())}
	for _, e := range eps {
		r, ok := rates[e.Code]
		if !ok {
			continue
		}
		m.Regret = append(m.Regret, regretModel(e, r, th))
	}
	// The worst first: that is what the table is for.
	sort.SliceStable(m.Regret, func(i, j int) bool { return rates[m.Regret[i].Code].Percent() > rates[m.Regret[j].Code].Percent() })
	return m, nil
}

// entryRegret is one entry point's regret rate for its page.
func (s *Server) entryRegret(ctx context.Context, e consent.EntryPoint) (views.RegretModel, string, error) {
	rates, err := s.svc.RegretRates(ctx)
	if err != nil {
		return views.RegretModel{}, "", err
	}
	th := s.svc.RegretThreshold()
	return regretModel(e, rates[e.Code], th), percentLabel(th), nil
}

func regretModel(e consent.EntryPoint, r consent.Regret, threshold float64) views.RegretModel {
	m := views.RegretModel{Code: e.Code, Name: e.Name, OptIns: r.OptIns, Regrets: r.Regrets, Percent: "–",
		Alarming: r.Alarming(threshold)}
	if r.OptIns > 0 {
		m.Percent = percentLabel(r.Percent())
	}
	return m
}

// percentLabel writes a percentage with one decimal below 10, none above.
func percentLabel(p float64) string {
	if p < 10 && p != float64(int(p)) {
		return fmt.Sprintf("%.1f %%", p)
	}
	return fmt.Sprintf("%.0f %%", p)
}

// tierLabels say what a messaging limit tier means.
var tierLabels = map[string]string{
	"TIER_50": "50 people a day", "TIER_250": "250 people a day", "TIER_1K": "1,000 people a day",
	"TIER_2K": "2,000 people a day", "TIER_10K": "10,000 people a day", "TIER_100K": "100,000 people a day",
	"TIER_UNLIMITED": "unlimited", "TIER_NOT_SET": "not set yet (nothing sent)",
}

// qualityModel maps the number's standing and the limits in force.
func qualityModel(q consent.Quality, l consent.SendLimits) views.QualityModel {
	m := views.QualityModel{Known: q.Known, Rating: q.Rating, Event: q.LastEvent, Tier: "not reported",
		DailyCap: "none", CapSource: "OPTIN_DAILY_CAP / Settings"}
	if q.Flagged {
		m.Rating = "FLAGGED"
	}
	if q.Tier != "" {
		m.Tier = q.Tier
		if label, ok := tierLabels[q.Tier]; ok {
			m.Tier = label + " (" + q.Tier + ")"
		}
	}
	if l.DailyCap > 0 {
		m.DailyCap = fmtThousands(l.DailyCap) + " templates a UTC day"
	}
	if l.CapFromTier {
		m.CapSource = "the messaging limit tier"
	}
	if !q.At.IsZero() {
		m.At = consoleTime(q.At)
	}
	m.Paused, m.Reason = l.HoldBusiness, l.HoldReason
	return m
}

// fmtThousands writes n with thousands separators.
func fmtThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
