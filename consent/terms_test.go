package consent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/i18n"
)

// pick delivers the choice of a list row, as WhatsApp reports it: a reply
// with the row's id and title.
func (e *moEnv) pick(from, rowID, title string) {
	e.t.Helper()
	e.seq++
	e.handle(consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.ROW." + strings.Repeat("z", e.seq), From: from,
		Type: consent.InButtonReply, ButtonID: rowID, Text: title, Timestamp: e.clk.Now()}}})
}

// shopPrompt creates the entry point SHOP offering order updates and offers,
// writes in through it from anna and returns the terms prompt she got.
func shopPrompt(t *testing.T, e *moEnv) *consent.Interactive {
	t.Helper()
	if _, err := e.svc.CreateEntryPoint(context.Background(), "SHOP", "Shop window", []string{"order_updates", "offers"}); err != nil {
		t.Fatal(err)
	}
	e.write(anna, e.svc.StartText("SHOP"))
	got := e.sentTo(anna)
	if len(got) != 1 || got[0].Kind != consent.KindInteractive {
		t.Fatalf("sent %+v, want the terms prompt", got)
	}
	return got[0].Interactive
}

// lastWording returns the events of anna's contact and the wording of the
// terms_accepted one.
func lastWording(t *testing.T, e *moEnv) ([]consent.Event, consent.Wording) {
	t.Helper()
	ctx := context.Background()
	c, err := e.db.ContactByPhone(ctx, "+"+anna)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := e.db.Events(ctx, c.ID)
	if len(events) == 0 || events[0].Type != consent.EventTermsAccepted || events[0].WordingHash == "" {
		t.Fatalf("events = %+v, want terms_accepted with a wording first", events)
	}
	w, err := e.db.Wording(ctx, events[0].WordingHash)
	if err != nil {
		t.Fatal(err)
	}
	return events, w
}

func TestMOTermsPromptNamesCategories(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	in := shopPrompt(t, e)
	ids := []string{}
	for _, b := range in.Buttons {
		ids = append(ids, b.ID)
	}
	if strings.Join(ids, " ") != "optin_terms_accept optin_terms_choose optin_terms_decline" {
		t.Errorf("buttons = %v, want Accept all, Choose, Decline", ids)
	}
	// The fake translator joins a key and its arguments with "|" and turns
	// new lines within an argument into spaces.
	want := "mo.terms.prompt|Acme|• Order updates • mo.terms.promotional|Offers|https://optin.example/terms?lang=en"
	if in.Body != want {
		t.Errorf("body = %q, want %q", in.Body, want)
	}
	if strings.Contains(in.Body, "Recommendations") {
		t.Errorf("the prompt names a category the entry point does not offer")
	}
}

// TestMOChooseOnlyOrderUpdates: the person taps Choose and picks Order
// updates: only that is opted in, and the wording is the prompt, the list
// and the row they picked.
func TestMOChooseOnlyOrderUpdates(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	prompt := shopPrompt(t, e)
	e.tap(anna, consent.ButtonChooseTerms)
	got := e.sentTo(anna)
	if len(got) != 1 || got[0].Interactive == nil || got[0].Interactive.List == nil {
		t.Fatalf("Choose sent %+v, want a list message", got)
	}
	list := got[0].Interactive
	rows := list.List.Sections[0].Rows
	if len(rows) != 2 || rows[0] != (consent.ListRow{ID: "optin_terms_only:order_updates", Title: "Order updates",
		Description: "Confirmations, shipping and delivery news about your orders."}) ||
		rows[1] != (consent.ListRow{ID: "optin_terms_only:offers", Title: "Offers", Description: "mo.terms.row.promotional"}) {
		t.Fatalf("rows = %+v", rows)
	}
	if r := e.check("+"+anna, "order_updates"); r.Reason != consent.ReasonNoConsent {
		t.Errorf("after Choose, before picking: %+v, want no_consent", r)
	}

	e.pick(anna, rows[0].ID, rows[0].Title)
	if r := e.check("+"+anna, "order_updates"); !r.Allowed || r.Reason != consent.ReasonOptedIn {
		t.Errorf("order_updates: %+v, want opted_in", r)
	}
	if r := e.check("+"+anna, "offers"); r.Allowed || r.Reason != consent.ReasonNoConsent {
		t.Errorf("offers: %+v, want no_consent", r)
	}
	got = e.sentTo(anna)
	if len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.terms.chosen|Order updates|Acme|https://optin.example/p/") {
		t.Errorf("after the pick sent %+v, want the confirmation with the preference link", got)
	}

	events, w := lastWording(t, e)
	want := prompt.Body + "\n" + prompt.Footer + "\n[mo.terms.accept] [mo.terms.choose] [mo.terms.decline]" +
		"\n→ mo.terms.choose\n\n" +
		list.Body + "\n[mo.terms.choose.button]" +
		"\n• Order updates — Confirmations, shipping and delivery news about your orders." +
		"\n• Offers — mo.terms.row.promotional" +
		"\n→ Order updates"
	if w.Text != want || w.Kind != "terms" {
		t.Errorf("wording = %q\nwant        %q", w.Text, want)
	}
	if len(events) != 2 || events[1].Category != "order_updates" || events[1].Evidence.Detail["choice"] != "order_updates" ||
		events[1].Evidence.Detail["button"] != "optin_terms_only:order_updates" || events[1].WordingHash != w.Hash {
		t.Errorf("events = %+v, want one opt-in to order_updates recording the choice", events)
	}
	ep, _ := e.svc.EntryPoint(context.Background(), "SHOP")
	if ep.Accepted != 1 {
		t.Errorf("accepted = %d, want 1", ep.Accepted)
	}

	// Offers is left to restore: Choose now lists only it.
	e.tap(anna, consent.ButtonChooseTerms)
	got = e.sentTo(anna)
	if len(got) != 1 || got[0].Interactive == nil || got[0].Interactive.List == nil ||
		len(got[0].Interactive.List.Sections[0].Rows) != 1 || got[0].Interactive.List.Sections[0].Rows[0].ID != "optin_terms_only:offers" {
		t.Errorf("Choose after the pick sent %+v, want a list of offers only", got)
	}
	// A pick of what she already has is not offered: nothing happens.
	e.pick(anna, rows[0].ID, rows[0].Title)
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("picking order updates again sent %+v, want nothing", got)
	}
}

func TestMOAcceptAllWording(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	prompt := shopPrompt(t, e)
	e.tap(anna, consent.ButtonAcceptTerms)
	for _, cat := range []string{"order_updates", "offers"} {
		if r := e.check("+"+anna, cat); r.Reason != consent.ReasonOptedIn {
			t.Errorf("%s: %+v, want opted_in", cat, r)
		}
	}
	events, w := lastWording(t, e)
	want := prompt.Body + "\n" + prompt.Footer + "\n[mo.terms.accept] [mo.terms.choose] [mo.terms.decline]\n→ mo.terms.accept"
	if w.Text != want {
		t.Errorf("wording = %q, want %q", w.Text, want)
	}
	if len(events) != 3 || events[1].Evidence.Detail["choice"] != "all" {
		t.Errorf("events = %+v, want two opt-ins with choice all", events)
	}
	// Nothing is left to restore: Choose answers nothing.
	e.sentTo(anna)
	e.tap(anna, consent.ButtonChooseTerms)
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("Choose with nothing to restore sent %+v", got)
	}
}

// TestMOForgedRowRecordsNothing: a row id naming a category the entry
// point does not offer, or none at all, records and answers nothing.
func TestMOForgedRowRecordsNothing(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	shopPrompt(t, e)
	for _, id := range []string{"optin_terms_only:recommendations", "optin_terms_only:", "optin_terms_only:nope", "optin_terms_only:offers,order_updates"} {
		e.pick(anna, id, "Recommendations")
	}
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("forged rows sent %+v", got)
	}
	c, err := e.db.ContactByPhone(context.Background(), "+"+anna)
	if err != nil || c.Status != consent.PendingTerms {
		t.Fatalf("contact = %+v, %v; want still pending_terms", c, err)
	}
	if events, _ := e.db.Events(context.Background(), c.ID); len(events) != 0 {
		t.Errorf("events = %+v, want none", events)
	}
	for _, cat := range []string{"recommendations", "offers", "order_updates"} {
		if r := e.check("+"+anna, cat); r.Reason != consent.ReasonNoConsent {
			t.Errorf("%s: %+v, want no_consent", cat, r)
		}
	}
}

// TestMOOneCategoryNoChoice: an entry point offering one category has
// nothing to choose: Accept and Decline only, and Choose answers nothing.
func TestMOOneCategoryNoChoice(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	if _, err := e.svc.CreateEntryPoint(context.Background(), "ONE", "One", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	e.write(anna, e.svc.StartText("ONE"))
	got := e.sentTo(anna)
	if len(got) != 1 || len(got[0].Interactive.Buttons) != 2 || got[0].Interactive.Buttons[1].ID != consent.ButtonDeclineTerms {
		t.Fatalf("prompt = %+v, want Accept and Decline", got)
	}
	e.tap(anna, consent.ButtonChooseTerms)
	e.pick(anna, "optin_terms_only:offers", "Offers")
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("sent %+v, want nothing", got)
	}
}

func TestMOHelpListsTopics(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	shopPrompt(t, e)
	e.tap(anna, consent.ButtonAcceptTerms)
	e.sentTo(anna)
	e.write(anna, "HELP")
	got := e.sentTo(anna)
	if len(got) != 1 || !strings.HasSuffix(got[0].Text, "\n\nmo.help.topics|• STOP Order updates • STOP Offers") {
		t.Errorf("HELP sent %+v, want the topics with their STOP words", got)
	}
	// In German, with the German names, which the keyword matcher knows.
	e.write(anna, "HILFE")
	got = e.sentTo(anna)
	if len(got) != 1 || !strings.Contains(got[0].Text, "• STOP Angebote") {
		t.Errorf("HILFE sent %+v, want the German topics", got)
	}
	// An admin's help text gets the topics as well.
	if _, err := e.svc.SaveSettings(context.Background(), map[string]string{"help_text.en": "Ask us: {contact} {link}"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	e.write(anna, "help")
	got = e.sentTo(anna)
	if len(got) != 1 || !strings.HasPrefix(got[0].Text, "Ask us: ") || !strings.HasSuffix(got[0].Text, "• STOP Order updates • STOP Offers") {
		t.Errorf("HELP with an admin text sent %+v, want it with the topics", got)
	}
	// Each line is understood as what it says.
	aliases := map[string][]string{"order_updates": {"Order updates"}, "offers": {"Offers", "Angebote"}}
	for line, slug := range map[string]string{"STOP Order updates": "order_updates", "STOP Offers": "offers", "STOP Angebote": "offers"} {
		if k := consent.MatchKeyword(line, aliases); k.Kind != consent.KeywordStop || k.Category != slug {
			t.Errorf("%q = %+v, want a stop of %s", line, k, slug)
		}
	}
}

// TestTermsMessagesFitManyCategories: with ten categories of the longest
// names, the prompt, the list and HELP still fit WhatsApp's limits in
// every language, and the prompt still offers the choice.
func TestTermsMessagesFitManyCategories(t *testing.T) {
	t.Parallel()
	names := make([]string, consent.MaxListRows)
	for i := range names {
		names[i] = strings.Repeat(string(rune('A'+i)), consent.MaxCategoryName)
	}
	business := strings.Repeat("Ä", consent.MaxBusinessNameRunes)
	for _, lang := range i18n.Languages {
		svc := consent.NewService(nil, fixedClock{}, i18n.T, consent.Config{BusinessName: business, WelcomeTemplate: "optin_welcome",
			WelcomeLanguage: "en", BaseURL: "https://consent." + strings.Repeat("long-subdomain-", 4) + "example.com"})
		msgs := svc.BuiltinMessages(lang, names, "https://x.example/p/"+strings.Repeat("T", 43))
		for _, name := range []string{"terms prompt", "terms choice", "help"} {
			m := msgs[name]
			m.To = "4915112345678"
			if err := m.Validate(); err != nil {
				t.Errorf("%s %s: %v", lang, name, err)
			}
		}
		if p := msgs["terms prompt"].Interactive; len(p.Buttons) != 3 {
			t.Errorf("%s: prompt buttons = %+v, want three", lang, p.Buttons)
		}
		if rows := msgs["terms choice"].Interactive.List.Sections[0].Rows; len(rows) != consent.MaxListRows {
			t.Errorf("%s: %d rows, want %d", lang, len(rows), consent.MaxListRows)
		}
	}
}
