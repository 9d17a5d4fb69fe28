package consent_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// The consent invariants, checked over random sequences of acts on a real
// SQLite file. Each sequence starts with the person signing up (the form or
// the MO flow), then draws acts of the person, the business's systems, an
// admin and WhatsApp itself. After every act the test compares the contact's
// consents before and after, the events and the outbox, with what the act
// was allowed to do:
//
//   - a category becomes opted_in only by an act of the person naming it
//     (form, terms accepted, preference center), a report by the API naming
//     it, a confirmation of a pending consent, or a resume giving back what a
//     provider stop took;
//   - resume restores exactly what provider stops took from opted_in;
//   - pending becomes opted_in only by a confirmation (a confirm event);
//   - every change is one event, and no change is no event;
//   - no reply is queued when nothing changed, except the answers that say
//     so and HELP;
//   - the current state is the fold of the events.

// propAct is one act of a sequence.
type propAct struct {
	kind  string
	cats  []string // the categories the act names
	state consent.State
}

func (a propAct) String() string {
	s := a.kind
	if len(a.cats) > 0 {
		s += "(" + strings.Join(a.cats, ",") + ")"
	}
	if a.state != "" {
		s += "=" + string(a.state)
	}
	return s
}

var propCategories = []string{"order_updates", "offers", "recommendations"}

// propMarketing are the marketing categories of the default catalog.
var propMarketing = []string{"offers", "recommendations"}

func randomCats(r *rand.Rand, min int) []string {
	var out []string
	for _, c := range propCategories {
		if r.IntN(2) == 0 {
			out = append(out, c)
		}
	}
	if len(out) < min {
		out = append(out, propCategories[r.IntN(len(propCategories))])
	}
	return out
}

func randomAct(r *rand.Rand) propAct {
	switch r.IntN(13) {
	case 0:
		return propAct{kind: "form", cats: randomCats(r, 1)}
	case 1:
		return propAct{kind: "stop"}
	case 2:
		return propAct{kind: "stop_category", cats: []string{propCategories[r.IntN(3)]}}
	case 3:
		return propAct{kind: "stop_promotions_button"}
	case 4:
		return propAct{kind: "confirm_button"}
	case 5:
		return propAct{kind: "preferences", cats: randomCats(r, 0)}
	case 6:
		return propAct{kind: "admin_opt_out", cats: []string{propCategories[r.IntN(3)]}}
	case 7:
		st := consent.OptedIn
		if r.IntN(2) == 0 {
			st = consent.OptedOut
		}
		return propAct{kind: "api_report", cats: []string{propCategories[r.IntN(3)]}, state: st}
	case 8, 9:
		return propAct{kind: "provider_stop"}
	case 10:
		return propAct{kind: "provider_131050"}
	case 11:
		return propAct{kind: "provider_resume"}
	}
	return propAct{kind: "start_and_accept", cats: propCategories}
}

// propRun is one sequence's world: a fresh store and service.
type propRun struct {
	e       *moEnv
	mode    consent.Mode
	phone   string
	waID    string
	contact int64
	// taken are the categories provider stops took from opted_in, and no
	// other act changed since.
	taken map[string]bool
}

func (p *propRun) consents(t *testing.T) map[string]consent.Consent {
	t.Helper()
	cs, err := p.e.db.Consents(context.Background(), p.contact)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]consent.Consent{}
	for _, c := range cs {
		out[c.Category] = c
	}
	return out
}

func (p *propRun) events(t *testing.T) []consent.Event {
	t.Helper()
	evs, err := p.e.db.Events(context.Background(), p.contact)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (p *propRun) outbox(t *testing.T) []consent.OutboxMessage {
	t.Helper()
	ms, err := p.e.db.Messages(context.Background(), p.contact)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// do performs a on the real service, as the web handlers, the inbox worker
// and the dispatcher would.
func (p *propRun) do(t *testing.T, a propAct) {
	t.Helper()
	ctx := context.Background()
	e := p.e
	var err error
	switch a.kind {
	case "form":
		var out consent.OptInOutcome
		out, err = e.svc.OptIn(ctx, consent.OptInRequest{Phone: p.phone, Categories: a.cats, Lang: "en",
			Wording: "I agree", Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "192.0.2.1"}})
		if err == nil && p.contact == 0 {
			p.contact = out.Contact.ID
		}
	case "stop":
		e.write(p.waID, "STOP")
	case "stop_category":
		e.write(p.waID, "STOP "+a.cats[0])
	case "stop_promotions_button":
		e.tap(p.waID, consent.PayloadStopMarketing)
	case "confirm_button":
		e.tap(p.waID, consent.PayloadConfirm)
	case "preferences":
		_, err = e.svc.SavePreferences(ctx, consent.PreferenceChange{ContactID: p.contact, Lang: "en", Categories: a.cats,
			Wording: "Your choices", Evidence: consent.Evidence{IP: "192.0.2.1"}})
	case "admin_opt_out":
		_, err = e.svc.AdminOptOut(ctx, p.contact, a.cats[0], consent.AdminAct{Email: "admin@example.com"})
	case "api_report":
		_, err = e.svc.RecordConsent(ctx, consent.ConsentRecord{Phone: p.phone, Category: a.cats[0], State: a.state,
			Actor: "api:crm"})
	case "provider_stop", "provider_resume":
		e.handle(consent.Inbound{Preferences: []consent.PreferenceUpdate{{WaID: p.waID, Category: "marketing_messages",
			Value: strings.TrimPrefix(a.kind, "provider_"), Timestamp: e.clk.Now()}}})
	case "provider_131050":
		err = e.svc.MarketingStopped(ctx, p.contact, 131050)
	case "start_and_accept":
		e.write(p.waID, "hello")
		if p.contact == 0 {
			c, err := e.db.ContactByPhone(ctx, p.phone)
			if err != nil {
				t.Fatal(err)
			}
			p.contact = c.ID
		}
		e.tap(p.waID, consent.ButtonAcceptTerms)
	default:
		t.Fatalf("unknown act %s", a.kind)
	}
	if err != nil && !errors.Is(err, consent.ErrStale) && !errors.Is(err, consent.ErrPending) {
		t.Fatalf("%s: %v", a, err)
	}
}

// check compares the world before and after a and returns what broke.
func (p *propRun) check(t *testing.T, a propAct, before, after map[string]consent.Consent,
	newEvents []consent.Event, newReplies []consent.OutboxMessage) []string {
	var broken []string
	bad := func(format string, args ...any) { broken = append(broken, fmt.Sprintf(format, args...)) }
	changed := map[string]bool{}
	for _, c := range propCategories {
		if before[c].State != after[c].State {
			changed[c] = true
		}
	}
	named := slices.Contains[[]string]
	for c := range changed {
		from, to := before[c].State, after[c].State
		if to == consent.OptedIn {
			ok := false
			switch a.kind {
			case "form", "preferences", "start_and_accept":
				ok = named(a.cats, c) && from != consent.Pending
			case "api_report":
				ok = named(a.cats, c) && a.state == consent.OptedIn
			case "confirm_button":
				ok = from == consent.Pending
			case "provider_resume":
				ok = p.taken[c]
			}
			if from == consent.Pending && a.kind == "start_and_accept" {
				ok = true // answering the prompt in WhatsApp confirms the number (a confirm event, checked below)
			}
			if !ok {
				bad("opted_in without consent: %s %s → %s by %s", c, orNone(from), to, a)
			}
			if from == consent.Pending && !hasEvent(newEvents, c, consent.EventConfirm) {
				bad("pending → opted_in without a confirm event: %s by %s", c, a)
			}
		}
		if to == "" {
			bad("consent row vanished: %s by %s", c, a)
		}
	}
	if a.kind == "provider_resume" {
		for c := range p.taken {
			if after[c].State != consent.OptedIn {
				bad("resume did not restore %s (now %s)", c, orNone(after[c].State))
			}
		}
	}
	perCategory := 0
	for _, ev := range newEvents {
		if ev.Category == "" {
			continue
		}
		perCategory++
		if !changed[ev.Category] {
			bad("event %s for %s which did not change (%s) by %s", ev.Type, ev.Category, orNone(after[ev.Category].State), a)
		} else if ev.State != after[ev.Category].State {
			bad("event %s for %s says %s, state is %s", ev.Type, ev.Category, ev.State, after[ev.Category].State)
		}
	}
	if perCategory != len(changed) {
		bad("%d category events for %d changes by %s", perCategory, len(changed), a)
	}
	if len(changed) == 0 && len(newEvents) == 0 {
		for _, m := range newReplies {
			// Answers that change nothing are allowed: HELP, "nothing to
			// stop", the terms prompt (a question) and the fallback (the
			// answer to an ordinary message nobody else reads).
			if !slices.Contains([]string{"help", "nothing_changed", "terms_prompt", "fallback"}, m.Purpose) {
				bad("reply %q queued though nothing changed, by %s", m.Purpose, a)
			}
		}
	}
	// The current state is the fold of the events.
	fold := map[string]consent.State{}
	for _, ev := range p.events(t) {
		if ev.Category != "" && ev.State != "" {
			fold[ev.Category] = ev.State
		}
	}
	for _, c := range propCategories {
		if fold[c] != after[c].State {
			bad("state of %s is %s, its events say %s", c, orNone(after[c].State), orNone(fold[c]))
		}
	}

	// Track what provider stops took, for resume.
	for c := range changed {
		if (a.kind == "provider_stop" || a.kind == "provider_131050") && before[c].State == consent.OptedIn && after[c].State == consent.OptedOut {
			p.taken[c] = true
		} else {
			delete(p.taken, c)
		}
	}
	if a.kind == "provider_resume" {
		clear(p.taken)
	}
	return broken
}

func orNone(s consent.State) string {
	if s == "" {
		return "none"
	}
	return string(s)
}

func hasEvent(evs []consent.Event, category string, typ consent.EventType) bool {
	for _, ev := range evs {
		if ev.Category == category && ev.Type == typ {
			return true
		}
	}
	return false
}

// runSequence plays acts on a fresh world and returns the first broken
// invariants with the act index, or nil.
func runSequence(t *testing.T, e *moEnv, mode consent.Mode, n int, acts []propAct) (int, []string) {
	t.Helper()
	waID := fmt.Sprintf("491511%07d", n)
	p := &propRun{e: e, mode: mode, phone: "+" + waID, waID: waID, taken: map[string]bool{}}
	for i, a := range acts {
		var before map[string]consent.Consent
		var evBefore, outBefore int
		if p.contact != 0 {
			before = p.consents(t)
			evBefore = len(p.events(t))
			outBefore = len(p.outbox(t))
		}
		p.do(t, a)
		after := p.consents(t)
		evs := p.events(t)
		out := p.outbox(t)
		if a.kind == "start_and_accept" && before == nil {
			continue // the sign-up itself: nothing to compare with
		}
		if broken := p.check(t, a, before, after, evs[evBefore:], out[outBefore:]); len(broken) > 0 {
			return i, broken
		}
		e.clk.Add(time.Minute)
	}
	return -1, nil
}

// TestConsentInvariants plays seeded random sequences of acts. A failure
// prints the sequence, shortened to the act that broke an invariant, so it
// can be replayed as a table test.
func TestConsentInvariants(t *testing.T) {
	t.Parallel()
	sequences, length := 120, 12
	if testing.Short() {
		sequences = 30
	}
	for _, mode := range []consent.Mode{consent.Single, consent.Double} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(20261203, uint64(mode[0])))
			e := newMOMode(t, mode)
			for n := range sequences {
				acts := []propAct{{kind: "form", cats: randomCats(r, 1)}}
				if r.IntN(3) == 0 {
					acts[0] = propAct{kind: "start_and_accept", cats: propCategories}
				}
				for range length {
					acts = append(acts, randomAct(r))
				}
				if i, broken := runSequence(t, e, mode, n, acts); broken != nil {
					t.Fatalf("sequence %d (%s mode) broke after %v:\n  %s", n, mode, acts[:i+1], strings.Join(broken, "\n  "))
				}
			}
		})
	}
}
