package consent_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

var linkRE = regexp.MustCompile(`https://optin\.example/p/([A-Za-z0-9_-]+)`)

// tokenIn returns the preference token in a message text, or "".
func tokenIn(text string) string {
	m := linkRE.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

// formOptIn opts a number in through the web form, for the given categories.
func formOptIn(t *testing.T, e *moEnv, phone string, cats ...string) consent.Contact {
	t.Helper()
	out, err := e.svc.OptIn(context.Background(), consent.OptInRequest{Phone: phone, Categories: cats, Lang: "en",
		Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Contact
}

func states(t *testing.T, e *moEnv, contactID int64) map[string]consent.State {
	t.Helper()
	cs, err := e.db.Consents(context.Background(), contactID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]consent.State{}
	for _, c := range cs {
		out[c.Category] = c.State
	}
	return out
}

func TestPreferenceLinkResolvesToItsContactOnly(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	a := formOptIn(t, e, "+4915112345678", "offers")
	b := formOptIn(t, e, "+4915187654321", "offers")
	link, err := e.svc.PreferenceLink(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	token := tokenIn(link)
	if token == "" || link != "https://optin.example/p/"+token || len(token) != 43 {
		t.Fatalf("link = %q, want https://optin.example/p/ and a 43-character token", link)
	}
	got, err := e.svc.PreferenceContact(ctx, token)
	if err != nil || got.ID != a.ID {
		t.Errorf("PreferenceContact = %d, %v; want contact %d", got.ID, err, a.ID)
	}
	linkB, _ := e.svc.PreferenceLink(ctx, b.ID)
	if got, _ := e.svc.PreferenceContact(ctx, tokenIn(linkB)); got.ID != b.ID {
		t.Errorf("B's token gives contact %d, want %d", got.ID, b.ID)
	}

	flip := []byte(token)
	flip[len(flip)-1] ^= 1
	for name, forged := range map[string]string{
		"edited":     string(flip),
		"empty":      "",
		"short":      token[:42],
		"long":       token + "A",
		"bad chars":  strings.Repeat("%", 43),
		"path":       "../../" + token[6:],
		"hash given": strings.Repeat("ab", 32),
	} {
		if _, err := e.svc.PreferenceContact(ctx, forged); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("%s token: err = %v, want ErrNotFound", name, err)
		}
	}
}

func TestPreferenceLinksKeepTheLastFiveAndRotate(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	a := formOptIn(t, e, "+4915112345678", "offers")
	var tokens []string
	for range consent.PreferenceTokensKept + 1 {
		link, err := e.svc.PreferenceLink(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tokenIn(link))
	}
	if _, err := e.svc.PreferenceContact(ctx, tokens[0]); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("sixth link kept the first alive: err = %v", err)
	}
	for _, tok := range tokens[1:] {
		if _, err := e.svc.PreferenceContact(ctx, tok); err != nil {
			t.Errorf("recent link: %v", err)
		}
	}
	fresh, err := e.svc.RotateToken(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if _, err := e.svc.PreferenceContact(ctx, tok); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("link after rotation: err = %v, want ErrNotFound", err)
		}
	}
	if got, err := e.svc.PreferenceContact(ctx, fresh); err != nil || got.ID != a.ID {
		t.Errorf("rotated token = %d, %v", got.ID, err)
	}
	if _, err := e.svc.RotateToken(ctx, 9999); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("RotateToken(unknown) = %v, want ErrNotFound", err)
	}
}

func TestStopAndHelpRepliesCarryTheLink(t *testing.T) {
	for _, tt := range []struct{ name, text, key string }{
		{"help", "HELP", "mo.help"},
		{"stop category", "STOP offers", "mo.stop.category"},
		{"stop all", "STOP", "mo.stop.all"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newMO(t)
			optedIn(t, e, anna)
			e.write(anna, tt.text)
			got := e.sentTo(anna)
			if len(got) != 1 || !strings.HasPrefix(got[0].Text, tt.key) {
				t.Fatalf("sent %+v, want one %s", got, tt.key)
			}
			token := tokenIn(got[0].Text)
			// HELP ends with the topics (mo.help.topics) after the link.
			text, _, _ := strings.Cut(got[0].Text, "\n\nmo.help.topics|")
			if !strings.HasSuffix(text, "|https://optin.example/p/"+token) {
				t.Errorf("text = %q, want the link as the last argument", got[0].Text)
			}
			c, err := e.svc.PreferenceContact(context.Background(), token)
			if err != nil || c.Phone != "+"+anna {
				t.Errorf("link opens contact %q, %v; want %s", c.Phone, err, anna)
			}
		})
	}
}

func TestSavePreferences(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	a := formOptIn(t, e, "+4915112345678", "order_updates", "offers")
	ev := consent.Evidence{IP: "203.0.113.77", UserAgent: "test-agent", FormVersion: "prefs/1"}

	// Untick offers; tick recommendations, which Anna never subscribed to.
	changed, err := e.svc.SavePreferences(ctx, consent.PreferenceChange{ContactID: a.ID, Lang: "en",
		Categories: []string{"order_updates", "recommendations"}, Wording: "Keep me posted.", Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []string{"offers"}) {
		t.Errorf("changed = %v, want [offers]", changed)
	}
	want := map[string]consent.State{"order_updates": consent.OptedIn, "offers": consent.OptedOut}
	if got := states(t, e, a.ID); !mapsEqual(got, want) {
		t.Errorf("states = %v, want %v (recommendations not added)", got, want)
	}
	events, _ := e.db.Events(ctx, a.ID)
	last := events[len(events)-1]
	if last.Type != consent.EventOptOut || last.Category != "offers" || last.Evidence.Source != consent.SourcePreferenceCenter ||
		last.Evidence.IP != "203.0.113.0/24" || last.Evidence.UserAgent != "test-agent" || last.WordingHash != "" {
		t.Errorf("opt-out event = %+v", last)
	}

	// Tick offers again: an opt-in with the page's wording.
	e.clk.Add(time.Hour)
	changed, err = e.svc.SavePreferences(ctx, consent.PreferenceChange{ContactID: a.ID, Lang: "en",
		Categories: []string{"order_updates", "offers"}, Wording: "Keep me posted.", Evidence: ev})
	if err != nil || !slices.Equal(changed, []string{"offers"}) {
		t.Fatalf("changed = %v, %v; want [offers]", changed, err)
	}
	events, _ = e.db.Events(ctx, a.ID)
	last = events[len(events)-1]
	if last.Type != consent.EventOptIn || last.State != consent.OptedIn || last.Evidence.Source != consent.SourcePreferenceCenter {
		t.Errorf("opt-in event = %+v", last)
	}
	if w, err := e.db.Wording(ctx, last.WordingHash); err != nil || w.Text != "Keep me posted." || w.Kind != "consent" {
		t.Errorf("wording = %+v, %v", w, err)
	}

	// The same choice again changes nothing; an unknown category changes nothing either.
	before := len(events)
	if changed, err := e.svc.SavePreferences(ctx, consent.PreferenceChange{ContactID: a.ID, Lang: "en",
		Categories: []string{"order_updates", "offers"}, Wording: "Keep me posted.", Evidence: ev}); err != nil || len(changed) != 0 {
		t.Errorf("same choice: changed %v, err %v", changed, err)
	}
	_, err = e.svc.SavePreferences(ctx, consent.PreferenceChange{ContactID: a.ID, Lang: "en",
		Categories: []string{"no_such_thing"}, Wording: "Keep me posted.", Evidence: ev})
	var verr *consent.ValidationError
	if !errors.As(err, &verr) || verr.Fields["category"] != "category.unknown" {
		t.Errorf("unknown category: err = %v, want category.unknown", err)
	}
	if events, _ = e.db.Events(ctx, a.ID); len(events) != before {
		t.Errorf("%d events after no-op saves, want %d", len(events), before)
	}
	if got := states(t, e, a.ID); got["offers"] != consent.OptedIn || got["order_updates"] != consent.OptedIn {
		t.Errorf("states after rejected save = %v", got)
	}
}

func mapsEqual(a, b map[string]consent.State) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestOptOutAllCancelsQueued(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	a := formOptIn(t, e, "+4915112345678", "offers")
	// The welcome message is queued and not yet sent.
	changed, err := e.svc.OptOutAll(ctx, a.ID, "en", consent.Evidence{IP: "198.51.100.9"})
	if err != nil || !slices.Equal(changed, []string{"offers"}) {
		t.Fatalf("changed = %v, %v; want [offers]", changed, err)
	}
	if got := states(t, e, a.ID); len(got) != 1 || got["offers"] != consent.OptedOut {
		t.Errorf("states = %v, want only offers opted out", got)
	}
	e.d.SendDue(ctx)
	if got := e.sentTo("4915112345678"); len(got) != 0 {
		t.Errorf("sent %+v after opting out of everything, want nothing", got)
	}
}

func TestEraseByPerson(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	optedIn(t, e, anna)
	c, _ := e.db.ContactByPhone(ctx, "+"+anna)
	link, _ := e.svc.PreferenceLink(ctx, c.ID)
	if err := e.svc.EraseByPerson(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ContactByPhone(ctx, "+"+anna); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("contact after erasure: err = %v, want ErrNotFound", err)
	}
	if _, err := e.svc.PreferenceContact(ctx, tokenIn(link)); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("link after erasure: err = %v, want ErrNotFound", err)
	}
	ts, err := e.db.Tombstones(ctx, e.svc.PhoneHash("+"+anna))
	if err != nil || len(ts) != 1 || ts[0].Reason != "person" {
		t.Errorf("tombstones = %+v, %v; want one for the person", ts, err)
	}
	if err := e.svc.EraseByPerson(ctx, c.ID); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("second erasure: err = %v, want ErrNotFound", err)
	}
}

func TestPersonData(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	optedIn(t, e, anna)
	e.write(anna, "STOP offers")
	c, _ := e.db.ContactByPhone(ctx, "+"+anna)
	d, err := e.svc.PersonData(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Contact.Phone != "+"+anna || len(d.Consents) != 3 {
		t.Errorf("contact %q with %d consents, want %s with 3", d.Contact.Phone, len(d.Consents), anna)
	}
	var types []consent.EventType
	for _, ev := range d.Events {
		types = append(types, ev.Type)
	}
	if !slices.Contains(types, consent.EventTermsAccepted) || !slices.Contains(types, consent.EventOptOut) {
		t.Errorf("event types = %v, want terms_accepted and opt_out", types)
	}
	if len(d.Wordings) != 1 || d.Wordings[0].Kind != "terms" || d.Wordings[0].Text == "" {
		t.Errorf("wordings = %+v, want the terms prompt once", d.Wordings)
	}
	if len(d.Sent) < 3 { // terms prompt, confirmation, STOP confirmation
		t.Errorf("%d messages sent, want at least 3", len(d.Sent))
	}
	if !slices.Equal(d.Received, []string{"START", consent.ButtonAcceptTerms, "STOP offers"}) {
		t.Errorf("received = %q", d.Received)
	}
}

// TestErasedContactIDIsNeverReused erases the newest contact and checks that
// the next one, through the form or by writing in, gets a new id: the erased
// person's blanked events keep their contact_id and must never become the
// newcomer's history.
func TestErasedContactIDIsNeverReused(t *testing.T) {
	for _, how := range []string{"form", "whatsapp"} {
		t.Run(how, func(t *testing.T) {
			e := newMO(t)
			ctx := context.Background()
			old := formOptIn(t, e, "+"+anna, "offers")
			if err := e.svc.EraseByPerson(ctx, old.ID); err != nil {
				t.Fatal(err)
			}
			var next consent.Contact
			switch how {
			case "form":
				next = formOptIn(t, e, "+4915187654321", "order_updates")
			case "whatsapp":
				e.write("4915187654321", "hello")
				var err error
				if next, err = e.db.ContactByPhone(ctx, "+4915187654321"); err != nil {
					t.Fatal(err)
				}
			}
			if next.ID == old.ID {
				t.Fatalf("the new contact got the erased contact's id %d", old.ID)
			}
			evs, err := e.db.Events(ctx, next.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.Type == consent.EventOptIn && ev.Category == "offers" {
					t.Errorf("the new contact's history holds the erased person's opt-in to offers")
				}
			}
		})
	}
}
