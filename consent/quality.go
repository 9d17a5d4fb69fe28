package consent

import (
	"context"
	"fmt"
	"time"
)

// WhatsApp rates every business number by how people react to its messages
// (blocks, reports) and limits how many people it may start conversations
// with per 24 hours (its messaging limit tier). It tells the business in two
// webhook fields: phone_number_quality_update (the tier went up or down; the
// number was FLAGGED, its quality dropping, or UNFLAGGED) and account_update
// (restrictions, bans, violations). The seed asks businesses to monitor the
// rating and to warm new numbers up; optin keeps every update, derives the
// number's standing from them (Quality.Apply, a pure fold), lets the tier cap
// business-initiated sends (the effective daily cap is the lower of the
// tier's limit and OPTIN_DAILY_CAP) and holds them while the number is
// flagged, restricted for business-initiated messaging, or banned.

// The webhook fields of AccountUpdate.
const (
	FieldQuality = "phone_number_quality_update"
	FieldAccount = "account_update"
)

// Handle acts on both fields (Inbound.Account), so a call that brings only
// them is processed, not kept as ignored.
func init() {
	OtherFieldsHandled[FieldQuality] = true
	OtherFieldsHandled[FieldAccount] = true
}

// AccountUpdate is one phone_number_quality_update or account_update.
type AccountUpdate struct {
	Field string // FieldQuality or FieldAccount
	// Event is what happened: DOWNGRADE, UPGRADE, FLAGGED, UNFLAGGED,
	// ONBOARDING, THROUGHPUT_UPGRADE (quality); ACCOUNT_RESTRICTION,
	// ACCOUNT_VIOLATION, DISABLED_UPDATE, ACCOUNT_UPDATE… (account).
	Event string
	// CurrentLimit and OldLimit are messaging limit tiers (TIER_250…).
	CurrentLimit, OldLimit string
	// QualityRating is GREEN, YELLOW or RED when the provider says so.
	QualityRating string
	Restrictions  []Restriction
	// BanState is ban_info.waba_ban_state: DISABLE, SCHEDULE_FOR_DISABLE, REINSTATE.
	BanState string
	// Raw is the change's value as received, kept as the record.
	Raw string
	At  time.Time
}

// Restriction is one restriction_info entry of an account_update.
type Restriction struct {
	Type       string // RESTRICTED_BIZ_INITIATED_MESSAGING, …
	Expiration time.Time
}

// defaultRestriction is how long a restriction without a readable
// expiration is taken to last: the seed's "switched to Restricted for 24h".
const defaultRestriction = 24 * time.Hour

// RestrictedBusinessInitiated is the restriction that stops templates.
const RestrictedBusinessInitiated = "RESTRICTED_BIZ_INITIATED_MESSAGING"

// tierLimits are the messaging limit tiers: business-initiated
// conversations per 24 hours. TIER_UNLIMITED and TIER_NOT_SET cap nothing.
var tierLimits = map[string]int{
	"TIER_50": 50, "TIER_250": 250, "TIER_1K": 1_000, "TIER_2K": 2_000,
	"TIER_10K": 10_000, "TIER_100K": 100_000,
}

// Quality is the number's standing as the updates so far tell it.
type Quality struct {
	Known   bool   // at least one update arrived
	Rating  string // GREEN, YELLOW, RED; FLAGGED while flagged; UNKNOWN when never said
	Flagged bool
	Tier    string // TIER_…, "" when never reported
	// RestrictedUntil is when a restriction of business-initiated
	// messaging ends; zero when there is none.
	RestrictedUntil time.Time
	Banned          bool
	LastEvent       string
	At              time.Time
}

// TierLimit is the tier's daily limit; 0 when it caps nothing.
func (q Quality) TierLimit() int { return tierLimits[q.Tier] }

// Apply folds one update into the standing.
func (q Quality) Apply(u AccountUpdate) Quality {
	q.Known, q.LastEvent, q.At = true, u.Event, u.At
	if q.Rating == "" {
		q.Rating = "UNKNOWN"
	}
	if u.QualityRating != "" {
		q.Rating = u.QualityRating
	}
	if u.CurrentLimit != "" {
		q.Tier = u.CurrentLimit
	}
	switch u.Field {
	case FieldQuality:
		switch u.Event {
		case "FLAGGED":
			q.Flagged = true
		case "UNFLAGGED", "UPGRADE", "DOWNGRADE":
			// A flag ends either way: the rating recovered, or WhatsApp
			// lowered the tier instead.
			q.Flagged = false
		}
	case FieldAccount:
		for _, r := range u.Restrictions {
			exp := r.Expiration
			if exp.IsZero() {
				// Unreadable or missing: the seed says "Restricted for 24h".
				exp = u.At.Add(defaultRestriction)
			}
			if r.Type == RestrictedBusinessInitiated && exp.After(q.RestrictedUntil) {
				q.RestrictedUntil = exp
			}
		}
		switch u.BanState {
		case "DISABLE":
			q.Banned = true
		case "REINSTATE":
			q.Banned = false
		}
	}
	return q
}

// Hold reports whether business-initiated sends must wait at now, and why.
func (q Quality) Hold(now time.Time) (bool, string) {
	switch {
	case q.Banned:
		return true, "WhatsApp disabled the business account"
	case now.Before(q.RestrictedUntil):
		return true, "WhatsApp restricted business-initiated messaging until " + q.RestrictedUntil.UTC().Format("2006-01-02 15:04 UTC")
	case q.Flagged:
		return true, "WhatsApp flagged the number: its quality rating is dropping"
	}
	return false, ""
}

// AccountUpdateStore keeps the updates.
type AccountUpdateStore interface {
	// AddAccountUpdate records one update.
	AddAccountUpdate(ctx context.Context, u AccountUpdate, at time.Time) error
	// AccountUpdates returns every update, oldest first.
	AccountUpdates(ctx context.Context) ([]AccountUpdate, error)
}

// LoadQuality reads the standing from the stored updates; serve calls it at
// start.
func (s *Service) LoadQuality(ctx context.Context) error {
	us, err := s.store.AccountUpdates(ctx)
	if err != nil {
		return err
	}
	var q Quality
	for _, u := range us {
		q = q.Apply(u)
	}
	s.quality.Store(&q)
	return nil
}

// Quality returns the number's standing.
func (s *Service) Quality() Quality {
	if q := s.quality.Load(); q != nil {
		return *q
	}
	return Quality{}
}

// applyAccountUpdates records updates, moves the standing and raises the
// alerts an admin must see.
func (s *Service) applyAccountUpdates(ctx context.Context, us []AccountUpdate) error {
	for _, u := range us {
		now := s.clock.Now()
		if u.At.IsZero() {
			u.At = now
		}
		if err := s.store.AddAccountUpdate(ctx, u, now); err != nil {
			return err
		}
		before := s.Quality()
		q := before.Apply(u)
		s.quality.Store(&q)
		if a, ok := qualityAlert(before, q, u, now); ok {
			if _, err := s.store.AddAlertOnce(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Codes of quality alerts (one open alert per code).
const (
	qualityAlertFlagged    = 1
	qualityAlertRestricted = 2
	qualityAlertBanned     = 3
	qualityAlertDowngrade  = 4
)

// qualityAlert is the alert an update calls for, if any.
func qualityAlert(before, after Quality, u AccountUpdate, now time.Time) (Alert, bool) {
	a := Alert{Kind: AlertQuality, At: now}
	switch {
	case after.Banned && !before.Banned:
		a.Code, a.Title = qualityAlertBanned, "WhatsApp disabled the business account: business-initiated sends are paused"
	case after.RestrictedUntil.After(before.RestrictedUntil) && now.Before(after.RestrictedUntil):
		a.Code, a.Title = qualityAlertRestricted, "WhatsApp restricted business-initiated messaging until "+
			after.RestrictedUntil.UTC().Format("2006-01-02 15:04 UTC")+": templates wait until then"
	case after.Flagged && !before.Flagged:
		a.Code, a.Title = qualityAlertFlagged, "WhatsApp flagged the number (quality dropping): business-initiated sends are paused until it is unflagged or the limit changes; check the regret rate of new entry points"
	case u.Event == "DOWNGRADE":
		a.Code, a.Title = qualityAlertDowngrade, fmt.Sprintf("WhatsApp lowered the messaging limit from %s to %s: the daily cap follows", orNone(u.OldLimit), orNone(u.CurrentLimit))
	default:
		return Alert{}, false
	}
	return a, true
}

func orNone(s string) string {
	if s == "" {
		return "(not reported)"
	}
	return s
}

// withQuality narrows send limits by the number's standing: the tier caps
// business-initiated sends below OPTIN_DAILY_CAP, and a flag, restriction or
// ban holds them.
func (s *Service) withQuality(l SendLimits) SendLimits {
	q := s.Quality()
	if t := q.TierLimit(); t > 0 && (l.DailyCap == 0 || t < l.DailyCap) {
		l.DailyCap, l.CapFromTier = t, true
	}
	l.HoldBusiness, l.HoldReason = q.Hold(s.clock.Now())
	return l
}
