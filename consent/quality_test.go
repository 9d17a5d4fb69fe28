package consent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

func qualityUpdate(event, current, old string) consent.Inbound {
	return consent.Inbound{Account: []consent.AccountUpdate{{Field: consent.FieldQuality, Event: event,
		CurrentLimit: current, OldLimit: old, Raw: `{"event":"` + event + `"}`}}}
}

func openAlerts(t *testing.T, db *store.DB, kind string) []consent.OpenAlert {
	t.Helper()
	all, err := db.OpenAlerts(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []consent.OpenAlert
	for _, a := range all {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

// TestQualityTierCapsBusinessInitiated: the effective daily cap is the lower
// of the tier's limit and the configured cap; a DOWNGRADE lowers it and
// raises an alert.
func TestQualityTierCapsBusinessInitiated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cap        string
		updates    []consent.Inbound
		wantCap    int
		wantByTier bool
	}{
		{"no report, no cap", "0", nil, 0, false},
		{"tier with no configured cap", "0", []consent.Inbound{qualityUpdate("ONBOARDING", "TIER_1K", "")}, 1000, true},
		{"configured cap below the tier", "300", []consent.Inbound{qualityUpdate("UPGRADE", "TIER_1K", "TIER_250")}, 300, false},
		{"downgrade below the configured cap", "300", []consent.Inbound{qualityUpdate("UPGRADE", "TIER_1K", "TIER_250"),
			qualityUpdate("DOWNGRADE", "TIER_250", "TIER_1K")}, 250, true},
		{"unlimited caps nothing", "0", []consent.Inbound{qualityUpdate("THROUGHPUT_UPGRADE", "TIER_UNLIMITED", "")}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, svc, _, _, _ := setup(t)
			ctx := context.Background()
			if _, err := svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: tt.cap}, "admin:a@example.com"); err != nil {
				t.Fatal(err)
			}
			for _, in := range tt.updates {
				if err := svc.Handle(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			l := svc.SendLimits()
			if l.DailyCap != tt.wantCap || l.CapFromTier != tt.wantByTier || l.HoldBusiness {
				t.Errorf("limits = %+v, want cap %d (by tier %v), no hold", l, tt.wantCap, tt.wantByTier)
			}
		})
	}
}

// TestQualityDowngradeLowersSends sends welcomes to 55 people after a
// downgrade to TIER_50: 50 go out today, the rest wait, and an alert says why.
func TestQualityDowngradeLowersSends(t *testing.T) {
	t.Parallel()
	db, svc, d, s, _ := setup(t)
	ctx := context.Background()
	d.Limits = svc.SendLimits
	if err := svc.Handle(ctx, qualityUpdate("DOWNGRADE", "TIER_50", "TIER_250")); err != nil {
		t.Fatal(err)
	}
	for i := range 55 {
		optIn(t, svc, fmt.Sprintf("+49151100%05d", i+1))
	}
	for range 3 {
		if _, err := d.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := templates(s.sent); got != 50 {
		t.Errorf("templates sent = %d, want 50 (TIER_50)", got)
	}
	if a := openAlerts(t, db, consent.AlertQuality); len(a) != 1 || a[0].Code != 4 {
		t.Errorf("quality alerts = %+v, want the downgrade", a)
	}
}

// TestQualityFlaggedPausesBusinessInitiated: while FLAGGED, welcomes wait
// (no attempt counted) and an alert is raised; replies to people who wrote
// in still go out; UNFLAGGED releases the welcomes.
func TestQualityFlaggedPausesBusinessInitiated(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	ctx := context.Background()
	e.d.Limits = e.svc.SendLimits
	e.handle(qualityUpdate("FLAGGED", "", ""))
	e.handle(qualityUpdate("FLAGGED", "", "")) // twice: one alert
	out := optIn(t, e.svc, "+4915110000001")
	if _, err := e.d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := templates(e.s.sent); got != 0 {
		t.Fatalf("templates sent while flagged = %d, want 0", got)
	}
	if m := lastMessage(t, e.db, out.Contact.ID); m.Status != consent.StatusQueued || m.Attempts != 0 {
		t.Errorf("welcome = %s after %d attempts, want queued with none", m.Status, m.Attempts)
	}
	if a := openAlerts(t, e.db, consent.AlertQuality); len(a) != 1 || a[0].Code != 1 {
		t.Errorf("quality alerts = %+v, want one for the flag", a)
	}
	if l := e.svc.SendLimits(); !l.HoldBusiness || l.HoldReason == "" {
		t.Errorf("limits = %+v, want business-initiated held", l)
	}

	e.write(anna, "hello")
	if got := e.sentTo(anna); len(got) != 1 || got[0].Kind != consent.KindInteractive {
		t.Errorf("reply while flagged = %+v, want the terms prompt", got)
	}

	e.handle(qualityUpdate("UNFLAGGED", "", ""))
	e.clk.Add(consent.HoldRetry)
	e.d.SendDue(ctx)
	if got := templates(e.s.sent); got != 1 {
		t.Errorf("templates sent after UNFLAGGED = %d, want 1", got)
	}
}

// TestQualityRestrictionUntilExpiry: an account_update restricting
// business-initiated messaging holds welcomes until it expires, and the
// standing survives a restart.
func TestQualityRestrictionUntilExpiry(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	ctx := context.Background()
	e.d.Limits = e.svc.SendLimits
	until := e.clk.Now().Add(24 * time.Hour)
	e.handle(consent.Inbound{Account: []consent.AccountUpdate{{Field: consent.FieldAccount, Event: "ACCOUNT_RESTRICTION",
		Restrictions: []consent.Restriction{{Type: consent.RestrictedBusinessInitiated, Expiration: until},
			{Type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION", Expiration: until.Add(48 * time.Hour)}}}}})
	optIn(t, e.svc, "+4915110000001")
	e.d.SendDue(ctx)
	if got := templates(e.s.sent); got != 0 {
		t.Fatalf("templates sent while restricted = %d, want 0", got)
	}
	if a := openAlerts(t, e.db, consent.AlertQuality); len(a) != 1 || a[0].Code != 2 {
		t.Errorf("quality alerts = %+v, want one for the restriction", a)
	}

	// A restart reads the standing back from the stored updates.
	restarted := consent.NewService(e.db, e.clk, func(l, k string, a ...any) string { return k }, consent.Config{})
	if err := restarted.LoadQuality(ctx); err != nil {
		t.Fatal(err)
	}
	if q := restarted.Quality(); !q.RestrictedUntil.Equal(until) || !q.Known || q.LastEvent != "ACCOUNT_RESTRICTION" {
		t.Errorf("standing after restart = %+v, want restricted until %s", q, until)
	}

	e.clk.Add(24*time.Hour + consent.HoldRetry)
	e.d.SendDue(ctx)
	if got := templates(e.s.sent); got != 1 {
		t.Errorf("templates sent after the restriction = %d, want 1", got)
	}
}

func TestQualityApply(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var q consent.Quality
	steps := []struct {
		u           consent.AccountUpdate
		wantRating  string
		wantTier    string
		wantFlagged bool
		wantHold    bool
	}{
		{consent.AccountUpdate{Field: consent.FieldQuality, Event: "ONBOARDING", CurrentLimit: "TIER_250"}, "UNKNOWN", "TIER_250", false, false},
		{consent.AccountUpdate{Field: consent.FieldQuality, Event: "UPGRADE", CurrentLimit: "TIER_1K", QualityRating: "GREEN"}, "GREEN", "TIER_1K", false, false},
		{consent.AccountUpdate{Field: consent.FieldQuality, Event: "FLAGGED", QualityRating: "RED"}, "RED", "TIER_1K", true, true},
		{consent.AccountUpdate{Field: consent.FieldQuality, Event: "DOWNGRADE", CurrentLimit: "TIER_250"}, "RED", "TIER_250", false, false},
		{consent.AccountUpdate{Field: consent.FieldAccount, Event: "DISABLED_UPDATE", BanState: "DISABLE"}, "RED", "TIER_250", false, true},
		{consent.AccountUpdate{Field: consent.FieldAccount, Event: "DISABLED_UPDATE", BanState: "REINSTATE"}, "RED", "TIER_250", false, false},
	}
	for i, st := range steps {
		q = q.Apply(st.u)
		hold, _ := q.Hold(at)
		if q.Rating != st.wantRating || q.Tier != st.wantTier || q.Flagged != st.wantFlagged || hold != st.wantHold {
			t.Errorf("after step %d (%s): %+v hold %v, want rating %s tier %s flagged %v hold %v",
				i, st.u.Event, q, hold, st.wantRating, st.wantTier, st.wantFlagged, st.wantHold)
		}
	}
}
