package store

import (
	"context"
	"slices"
	"time"

	"github.com/optin/optin/consent"
)

// The fixtures below put contacts and consents in place for tests and
// tools that work below the service (the store's own tests, seeds). They
// record through the same step as the service (record), and the opt-in
// decides through consent.Decide; a ChangeFixture sets the states it names,
// as a test needs them. The service is the way to change consent for real.

// OptInFixture is an opt-in to record as the web form would.
type OptInFixture struct {
	Phone      string
	Lang       string
	Categories []string
	Target     consent.State // OptedIn or Pending
	Wording    consent.Wording
	Evidence   consent.Evidence
	At         time.Time
	// Welcome is queued when something changed and no welcome was queued
	// within WelcomeCooldown.
	Welcome         *consent.Message
	WelcomeCooldown time.Duration
}

// FixtureOptIn records f.
func (s *DB) FixtureOptIn(ctx context.Context, f OptInFixture) (consent.OptInOutcome, error) {
	snap, p, err := s.ApplyToNumber(ctx, f.Phone, f.Lang, f.At, func(snap consent.Snapshot) (consent.Plan, error) {
		t, err := consent.Decide(snap.Consents, consent.Act{Kind: consent.ActOptIn, Categories: f.Categories, Target: f.Target})
		if err != nil || len(t) == 0 {
			return consent.Plan{}, err
		}
		w := f.Wording
		p := consent.Plan{At: f.At, Lang: f.Lang, Language: f.Lang, Evidence: f.Evidence, Wording: &w, Transitions: t, Activate: true}
		if f.Welcome != nil && (snap.LastWelcomeAt.IsZero() || f.At.Sub(snap.LastWelcomeAt) >= f.WelcomeCooldown) {
			p.Replies, p.Welcome = []consent.Reply{{Purpose: "welcome", Message: *f.Welcome}}, true
		}
		return p, nil
	})
	if err != nil {
		return consent.OptInOutcome{}, err
	}
	return consent.OptInOutcome{Contact: snap.Contact, Changed: consent.Changed(p.Transitions), WelcomeQueued: p.Welcome}, nil
}

// ChangeFixture sets consents of a contact with one event per category
// whose state differs from its target.
type ChangeFixture struct {
	ContactID    int64
	At           time.Time
	Lang         string
	Evidence     consent.Evidence
	Wording      *consent.Wording
	ContactEvent consent.EventType
	Activate     bool
	Type         consent.EventType // of the category events
	Set          map[string]consent.State
	CancelQueued bool
}

// FixtureChange records f and returns the categories that changed.
func (s *DB) FixtureChange(ctx context.Context, f ChangeFixture) ([]string, error) {
	p, err := s.Apply(ctx, f.ContactID, func(snap consent.Snapshot) (consent.Plan, error) {
		var t []consent.Transition
		slugs := make([]string, 0, len(f.Set))
		for slug := range f.Set {
			slugs = append(slugs, slug)
		}
		slices.Sort(slugs)
		for _, slug := range slugs {
			from := consent.State("")
			for _, c := range snap.Consents {
				if c.Category == slug {
					from = c.State
				}
			}
			if from != f.Set[slug] {
				t = append(t, consent.Transition{Category: slug, From: from, To: f.Set[slug], Type: f.Type})
			}
		}
		return consent.Plan{At: f.At, Lang: f.Lang, Evidence: f.Evidence, Wording: f.Wording, ContactEvent: f.ContactEvent,
			Activate: f.Activate, Transitions: t, CancelQueued: f.CancelQueued}, nil
	})
	return consent.Changed(p.Transitions), err
}

// FixtureInbound stores a message from a number as a webhook would, with
// nothing decided about it, and returns its contact and whether it is new.
func (s *DB) FixtureInbound(ctx context.Context, r consent.InboundRecord) (consent.Contact, bool, error) {
	var snap consent.Snapshot
	_, _, err := s.HandleInbound(ctx, r, func(sn consent.Snapshot) (consent.Plan, error) {
		snap = sn
		return consent.Plan{}, nil
	})
	return snap.Contact, snap.Created, err
}

// FixtureNumberChange moves a contact to a new number, as WhatsApp's
// user_changed_number does.
func (s *DB) FixtureNumberChange(ctx context.Context, contactID int64, phone, waID string, ev consent.Evidence, at time.Time) error {
	_, err := s.Apply(ctx, contactID, func(consent.Snapshot) (consent.Plan, error) {
		return consent.Plan{At: at, Evidence: ev, NewNumber: &consent.NumberChange{Phone: phone, WaID: waID}}, nil
	})
	return err
}
