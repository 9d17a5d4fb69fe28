package consent

import (
	"fmt"
	"slices"
	"time"
)

// This file holds the consent rules: which act changes which category, and
// to what. Decide is the only place that makes that choice; every path that
// changes consent (the form, WhatsApp replies and keywords, the preference
// center, the admin console, the API and imports, WhatsApp's own signals)
// builds an Act, calls Decide on the states the store read inside its write
// transaction, and hands the transitions back to the store to record. The
// store decides nothing: it appends one event per transition and sets the
// state the transition names.

// ActKind names an act that may change consents.
type ActKind string

// Acts. The person's own acts name the categories they choose; the others
// either take consent away or give back exactly what was taken.
const (
	// ActOptIn: the person chose categories (web form, terms accepted in
	// WhatsApp). Each named category not opted in becomes Target (OptedIn,
	// or Pending in double mode). A pending category opted in by an act in
	// WhatsApp is confirmed: the person answered from the number itself.
	ActOptIn ActKind = "opt_in"
	// ActConfirm: the person confirmed (double opt-in). Every pending
	// category becomes opted in; nothing else changes.
	ActConfirm ActKind = "confirm"
	// ActOptOut: the person (STOP, a button, the preference center) or an
	// admin withdrew the named categories, or all when none is named. Only
	// what is opted in or pending changes.
	ActOptOut ActKind = "opt_out"
	// ActPreferences: the person saved the preference center with the named
	// categories ticked. Unticked ones that are opted in or pending are
	// opted out; ticked ones that were opted out are opted in again. A
	// category never subscribed stays as it is: new consent goes through
	// the opt-in flows.
	ActPreferences ActKind = "preferences"
	// ActReport: another system reported the state of one named category,
	// with when it happened (API, CSV import).
	ActReport ActKind = "report"
	// ActProviderStop: WhatsApp reported that the person stopped marketing
	// messages (user_preferences stop, error 131050). The named (marketing)
	// categories that are opted in become opted out, source provider.
	ActProviderStop ActKind = "provider_stop"
	// ActProviderResume: the person resumed marketing in WhatsApp. What a
	// provider stop took away, and nothing else changed since, is opted in
	// again: exactly the categories opted out by the provider.
	ActProviderResume ActKind = "provider_resume"
)

// Act is one act on one contact's consents.
type Act struct {
	Kind ActKind
	// Categories are the slugs the act names (for ActOptOut, none names
	// every category).
	Categories []string
	// Target is the state an ActOptIn or ActReport leads to.
	Target State
	// OccurredAt is when a reported act happened (ActReport), for the
	// staleness rule.
	OccurredAt time.Time
	// InWhatsApp is set for acts made from the person's own number, which
	// confirm a pending consent they name.
	InWhatsApp bool
}

// Transition is one category's change of state, and the event recording it.
type Transition struct {
	Category string
	From     State // "" when there was no consent
	To       State
	Type     EventType
}

// Decide returns what act changes, given the contact's current consents.
// No transition is returned for a category whose state would stay the same:
// no change, no event. It never touches a category the act does not reach.
// ErrStale: a report older than the category's last change.
func Decide(current []Consent, act Act) ([]Transition, error) {
	cur := make(map[string]Consent, len(current))
	for _, c := range current {
		cur[c.Category] = c
	}
	names := func(slug string) bool { return slices.Contains(act.Categories, slug) }
	var out []Transition
	add := func(slug string, to State, typ EventType) {
		if from := cur[slug].State; from != to {
			out = append(out, Transition{Category: slug, From: from, To: to, Type: typ})
		}
	}
	switch act.Kind {
	case ActOptIn:
		if act.Target != OptedIn && act.Target != Pending {
			return nil, fmt.Errorf("consent: opt-in to %q", act.Target)
		}
		for _, slug := range dedupe(act.Categories) {
			switch from := cur[slug].State; {
			case from == OptedIn:
			case from == Pending && act.Target == Pending:
			case from == Pending && act.InWhatsApp:
				add(slug, OptedIn, EventConfirm)
			case from == Pending:
				// A second form submission in single mode does not confirm
				// what double mode left pending: only the number can.
			default:
				add(slug, act.Target, EventOptIn)
			}
		}
	case ActConfirm:
		for _, c := range current {
			if c.State == Pending {
				add(c.Category, OptedIn, EventConfirm)
			}
		}
	case ActOptOut:
		for _, c := range current {
			if (len(act.Categories) == 0 || names(c.Category)) && (c.State == OptedIn || c.State == Pending) {
				add(c.Category, OptedOut, EventOptOut)
			}
		}
	case ActPreferences:
		for _, c := range current {
			ticked := names(c.Category)
			switch {
			case !ticked && (c.State == OptedIn || c.State == Pending):
				add(c.Category, OptedOut, EventOptOut)
			case ticked && c.State == OptedOut:
				add(c.Category, OptedIn, EventOptIn)
			}
		}
	case ActReport:
		if len(act.Categories) != 1 || (act.Target != OptedIn && act.Target != OptedOut) {
			return nil, fmt.Errorf("consent: report of %v to %q", act.Categories, act.Target)
		}
		slug := act.Categories[0]
		c, ok := cur[slug]
		if ok && c.State == act.Target {
			return nil, nil
		}
		if ok && c.Since.After(act.OccurredAt) {
			return nil, ErrStale
		}
		if ok && c.State == Pending && act.Target == OptedIn {
			return nil, ErrPending
		}
		typ := EventOptIn
		if act.Target == OptedOut {
			typ = EventOptOut
		}
		add(slug, act.Target, typ)
	case ActProviderStop:
		for _, c := range current {
			if names(c.Category) && c.State == OptedIn {
				add(c.Category, OptedOut, EventOptOut)
			}
		}
	case ActProviderResume:
		for _, c := range current {
			if c.State == OptedOut && c.Source == SourceProvider {
				add(c.Category, OptedIn, EventOptIn)
			}
		}
	default:
		return nil, fmt.Errorf("consent: unknown act %q", act.Kind)
	}
	return out, nil
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Changed lists the categories of ts.
func Changed(ts []Transition) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Category)
	}
	return out
}

// Reply is a message queued by an act, with its purpose ("terms_prompt",
// "stop_confirmation", …).
type Reply struct {
	Purpose string
	Message Message
}

// Plan is everything one act does to one contact, decided by the domain and
// recorded by the store in one transaction: the consent transitions with
// their evidence, and what goes with them.
type Plan struct {
	At time.Time // when the act happened (the events' occurred_at)
	// RecordedAt is when optin learnt of it, when later than At (a report
	// from another system); zero means At.
	RecordedAt time.Time
	Lang       string
	Evidence   Evidence
	Wording    *Wording // stored, and referenced by the events, when set
	// ContactEvent is a contact-level event recorded before the category
	// events (terms_accepted), when set.
	ContactEvent EventType
	Activate     bool   // pending_terms → active
	Language     string // the contact's language from now on, when set
	Transitions  []Transition
	// CancelQueued cancels the contact's queued messages (a full STOP).
	CancelQueued bool
	Replies      []Reply
	// Welcome is set when a reply is the welcome message: the contact's
	// last welcome time moves to At.
	Welcome bool
	// Fallback is set when a reply is the fallback: the contact's last
	// fallback time moves to At.
	Fallback bool
	// Forward is a body for the business's own system, when set.
	Forward []byte
	// CountEntry counts an entry point's "conversations" or "accepted".
	CountEntry string
	// NewNumber moves the contact to the number it changed to.
	NewNumber *NumberChange
	// Erase erases the contact, leaving the tombstone.
	Erase *Tombstone
	// Farewell is the one message sent after an erasure, to the number that
	// no longer has a contact ("we deleted your number and your message").
	Farewell *Message
}

// NumberChange is a person's move to a new WhatsApp number.
type NumberChange struct {
	Phone string // E.164
	WaID  string
}

// Empty reports whether the plan records nothing.
func (p Plan) Empty() bool {
	return p.ContactEvent == "" && !p.Activate && len(p.Transitions) == 0 && !p.CancelQueued &&
		p.Language == "" && len(p.Replies) == 0 && p.Forward == nil && p.CountEntry == "" && p.NewNumber == nil && p.Erase == nil
}

// Snapshot is a contact as the store read it inside the transaction that
// will record the plan decided on it.
type Snapshot struct {
	Contact  Contact
	Consents []Consent
	// Created: the contact did not exist before this transaction.
	Created bool
	// LastWelcomeAt and LastFallbackAt are when the welcome and the
	// fallback reply were last queued for the contact.
	LastWelcomeAt  time.Time
	LastFallbackAt time.Time
	// CardSent: the business's contact card was queued for the contact
	// before (card.go).
	CardSent bool
	// EntryCategories are the categories the contact's entry point offers
	// (the default entry point's when its own is unknown); EntryKnown is
	// false when neither exists.
	EntryCategories []string
}

// Decider decides a plan on a snapshot. It runs inside the store's write
// transaction: it must not call the store.
type Decider func(Snapshot) (Plan, error)
