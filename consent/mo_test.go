package consent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/store/storetest"
)

type moEnv struct {
	t    *testing.T
	db   *store.DB
	path string
	svc  *consent.Service
	d    *consent.Dispatcher
	s    *script
	clk  *clock
	seq  int
}

func newMO(t *testing.T) *moEnv {
	t.Helper()
	return newMOMode(t, consent.Single)
}

// newMOMode is newMO with the opt-in mode given.
func newMOMode(t *testing.T, mode consent.Mode, mutate ...func(*consent.Config)) *moEnv {
	t.Helper()
	path := storetest.DSN(t)
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := func(lang, key string, args ...any) string {
		parts := []string{key}
		for _, a := range args {
			parts = append(parts, strings.TrimSpace(strings.ReplaceAll(toString(a), "\n", " ")))
		}
		return strings.Join(parts, "|")
	}
	cfg := consent.Config{BusinessName: "Acme", DefaultRegion: "DE",
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en", BusinessNumber: "+4930123456",
		EntryKey: []byte("entry-key"), TombstoneKey: []byte("salt"), BaseURL: "https://optin.example", TermsTTL: 24 * time.Hour,
		Mode: mode}
	for _, m := range mutate {
		m(&cfg)
	}
	svc := consent.NewService(db, clk, tr, cfg)
	s := &script{}
	d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1000, BaseDelay: time.Second,
		OnMarketingStopped: svc.MarketingStopped, Personalize: svc.FillPreferenceLink}
	return &moEnv{t: t, db: db, path: path, svc: svc, d: d, s: s, clk: clk}
}

func toString(a any) string {
	if s, ok := a.(string); ok {
		return s
	}
	return ""
}

// write delivers a text from a number, as a webhook would, and sends what
// optin answered.
func (e *moEnv) write(from, text string) string {
	e.t.Helper()
	e.seq++
	id := "wamid.IN." + strings.Repeat("x", e.seq)
	e.handle(consent.Inbound{Messages: []consent.InboundMessage{{ID: id, From: from, Type: consent.InText, Text: text, Timestamp: e.clk.Now()}}})
	return id
}

func (e *moEnv) tap(from, button string) {
	e.t.Helper()
	e.seq++
	e.handle(consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.BTN." + strings.Repeat("y", e.seq), From: from,
		Type: consent.InButtonReply, ButtonID: button, Text: button, Timestamp: e.clk.Now()}}})
}

func (e *moEnv) handle(in consent.Inbound) {
	e.t.Helper()
	if err := e.svc.Handle(context.Background(), in); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.d.SendDue(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// sentTo returns what the provider received for a wa_id, and forgets it.
func (e *moEnv) sentTo(waID string) []consent.Message {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	var out, rest []consent.Message
	for _, m := range e.s.sent {
		if m.To == waID {
			out = append(out, m)
		} else {
			rest = append(rest, m)
		}
	}
	e.s.sent = rest
	return out
}

func (e *moEnv) check(phone, category string) consent.CheckResult {
	e.t.Helper()
	r, err := e.svc.Check(context.Background(), phone, category)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

const anna = "4915112345678"

func TestMOAcceptOptsIntoEntryCategories(t *testing.T) {
	e := newMO(t)
	if _, err := e.svc.CreateEntryPoint(context.Background(), "SHOP", "Shop window", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	start := e.svc.StartText("SHOP")
	e.write(anna, start)
	got := e.sentTo(anna)
	if len(got) != 1 || got[0].Kind != consent.KindInteractive || len(got[0].Interactive.Buttons) != 2 ||
		got[0].Interactive.Buttons[0].ID != consent.ButtonAcceptTerms || !strings.Contains(got[0].Interactive.Body, "https://optin.example/terms") {
		t.Fatalf("prompt = %+v, want an interactive message with Accept/Decline and the terms link", got)
	}
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonNoConsent {
		t.Errorf("before accepting: %+v, want no_consent", r)
	}
	e.tap(anna, consent.ButtonAcceptTerms)
	if r := e.check("+"+anna, "offers"); !r.Allowed || r.Reason != consent.ReasonOptedIn {
		t.Errorf("after accepting: %+v, want opted_in", r)
	}
	if r := e.check("+"+anna, "recommendations"); r.Reason != consent.ReasonNoConsent {
		t.Errorf("a category the entry point does not offer: %+v, want no_consent", r)
	}
	if got := e.sentTo(anna); len(got) != 1 || got[0].Kind != consent.KindText {
		t.Errorf("after accepting sent %+v, want one confirmation", got)
	}
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	events, _ := e.db.Events(context.Background(), c.ID)
	if len(events) != 2 || events[0].Type != consent.EventTermsAccepted || events[0].WordingHash == "" ||
		events[1].Evidence.Source != consent.SourceLink || events[1].Evidence.EntryPoint != "SHOP" ||
		events[1].Evidence.MessageID == "" || events[1].Evidence.Detail["entry_code_valid"] != "true" {
		t.Errorf("events = %+v", events)
	}
	ep, _ := e.svc.EntryPoint(context.Background(), "SHOP")
	if ep.Conversations != 1 || ep.Accepted != 1 {
		t.Errorf("funnel = %d conversations, %d accepted; want 1, 1", ep.Conversations, ep.Accepted)
	}
}

// TestMOThroughQRCodeRecordsSourceQR writes in with the start text a QR
// code's scan leads to: the opt-in's source is qr, not link.
func TestMOThroughQRCodeRecordsSourceQR(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	if _, err := e.svc.CreateEntryPoint(ctx, "SHOP", "Shop window", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	e.write(anna, e.svc.StartTextVia("SHOP", consent.SourceQR))
	e.sentTo(anna)
	e.tap(anna, consent.ButtonAcceptTerms)
	c, _ := e.db.ContactByPhone(ctx, "+"+anna)
	events, _ := e.db.Events(ctx, c.ID)
	if len(events) != 2 || events[1].Type != consent.EventOptIn || events[1].Evidence.Source != consent.SourceQR ||
		events[1].Evidence.EntryPoint != "SHOP" || events[1].Evidence.Detail["entry_code_valid"] != "true" {
		t.Errorf("events = %+v, want the opt-in from source qr through SHOP", events)
	}
}

func TestMOForgedCodeIsRecorded(t *testing.T) {
	e := newMO(t)
	e.write(anna, "START HELLO-ZZZZ")
	e.tap(anna, consent.ButtonAcceptTerms)
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	events, _ := e.db.Events(context.Background(), c.ID)
	last := events[len(events)-1]
	if last.Evidence.Detail["entry_code_valid"] != "false" || last.Evidence.Source != consent.SourceWhatsAppReply {
		t.Errorf("evidence = %+v, want the forged code recorded as invalid", last.Evidence)
	}
}

func TestMODeclineLeavesNoTrace(t *testing.T) {
	e := newMO(t)
	secret := "My secret shoe size is 47 and I live on Elm Street"
	e.write(anna, "START")
	e.write(anna, secret)
	// The control: before the refusal both are in the file.
	e.db.Checkpoint(context.Background())
	if b, _ := os.ReadFile(e.path); !e.db.Postgres() && (!bytes.Contains(b, []byte(secret)) || !bytes.Contains(b, []byte(anna))) {
		t.Fatalf("the text and number were never in the file: the test would prove nothing")
	}
	e.sentTo(anna) // the prompt
	e.tap(anna, consent.ButtonDeclineTerms)
	if _, err := e.db.ContactByPhone(context.Background(), "+"+anna); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("contact after decline: err = %v, want ErrNotFound", err)
	}
	// One answer, after the erasure: the number is nowhere but in it.
	if got := e.sentTo(anna); len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.terms.declined|Acme") {
		t.Errorf("after decline sent %+v, want the one farewell", got)
	}
	e.handle(consent.Inbound{}) // another round sends nothing more
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("a second round sent %+v", got)
	}
	stones, _ := e.db.Tombstones(context.Background(), e.svc.PhoneHash("+"+anna))
	if len(stones) != 1 || stones[0].Reason != "terms_refused" {
		t.Errorf("tombstones = %+v, want one terms_refused", stones)
	}
	assertGone(t, e, anna, secret)
}

// assertGone checks, after a WAL checkpoint, that the database files hold
// neither the number's digits nor the text (SQLite: PostgreSQL's files are
// the server's).
func assertGone(t *testing.T, e *moEnv, digits, text string) {
	t.Helper()
	if err := e.db.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{e.path, e.path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(digits)) {
			t.Errorf("%s still holds the number", filepath.Base(f))
		}
		if bytes.Contains(b, []byte(text)) {
			t.Errorf("%s still holds the message text", filepath.Base(f))
		}
	}
}

func TestMOTermsExpire(t *testing.T) {
	e := newMO(t)
	e.write(anna, "Hello there")
	e.clk.Add(23 * time.Hour)
	if n, _ := e.svc.ExpireTerms(context.Background()); n != 0 {
		t.Fatalf("expired %d before the TTL", n)
	}
	e.clk.Add(2 * time.Hour)
	if n, err := e.svc.ExpireTerms(context.Background()); n != 1 || err != nil {
		t.Fatalf("ExpireTerms = %d, %v; want 1", n, err)
	}
	if _, err := e.db.ContactByPhone(context.Background(), "+"+anna); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("contact still there after the TTL")
	}
	e.sentTo(anna) // the prompt
	e.handle(consent.Inbound{})
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("sent %+v after the window closed, want nothing", got)
	}
	assertGone(t, e, anna, "Hello there")
}

// The farewell at expiry is free-form text: it goes while the window the
// person opened is open (a TTL under 24 hours), and never after.
func TestMOTermsExpireFarewell(t *testing.T) {
	e := newMOMode(t, consent.Single, func(c *consent.Config) { c.TermsTTL = time.Hour })
	e.write(anna, "Hello there")
	e.sentTo(anna)
	e.clk.Add(2 * time.Hour)
	if n, err := e.svc.ExpireTerms(context.Background()); n != 1 || err != nil {
		t.Fatalf("ExpireTerms = %d, %v; want 1", n, err)
	}
	e.handle(consent.Inbound{})
	if got := e.sentTo(anna); len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.terms.expired|Acme") {
		t.Errorf("after expiry sent %+v, want the one farewell", got)
	}
	assertGone(t, e, anna, "Hello there")
}

func TestMOSameMessageOnce(t *testing.T) {
	e := newMO(t)
	msg := consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.DUP", From: anna, Type: consent.InText, Text: "START", Timestamp: e.clk.Now()}}}
	for i := 0; i < 10; i++ {
		e.handle(msg)
	}
	if got := e.sentTo(anna); len(got) != 1 {
		t.Errorf("sent %d prompts for one message delivered 10 times, want 1", len(got))
	}
}

func optedIn(t *testing.T, e *moEnv, from string) {
	t.Helper()
	e.write(from, "START")
	e.tap(from, consent.ButtonAcceptTerms)
	e.sentTo(from)
}

func TestMOStopAndStart(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	// Something queued but not yet sent when STOP arrives is not sent.
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	e.db.Enqueue(context.Background(), c.ID, "test", consent.Message{Kind: consent.KindText, Text: "promo"}, e.clk.Now().Add(time.Hour))
	e.write(anna, "  Stop! ")
	for _, cat := range []string{"order_updates", "offers", "recommendations"} {
		if r := e.check("+"+anna, cat); r.Reason != consent.ReasonOptedOut {
			t.Errorf("%s after STOP: %+v, want opted_out", cat, r)
		}
	}
	e.clk.Add(2 * time.Hour)
	e.d.SendDue(context.Background())
	got := e.sentTo(anna)
	if len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.stop.all") {
		t.Errorf("after STOP sent %+v, want exactly one confirmation", got)
	}
	e.write(anna, "START")
	got = e.sentTo(anna)
	if len(got) != 1 || got[0].Kind != consent.KindInteractive {
		t.Errorf("START sent %+v, want the terms prompt", got)
	}
	e.tap(anna, consent.ButtonAcceptTerms)
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("after START and Accept: %+v, want opted_in", r)
	}
}

func TestMOStopCategoryInGerman(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	e.write(anna, "STOPP Angebote")
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedOut {
		t.Errorf("offers: %+v, want opted_out", r)
	}
	if r := e.check("+"+anna, "order_updates"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("order_updates: %+v, want still opted_in", r)
	}
	if got := e.sentTo(anna); len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.stop.category") {
		t.Errorf("sent %+v, want one confirmation", got)
	}
}

func TestMOHelpAndFallback(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	e.write(anna, "ayuda")
	if got := e.sentTo(anna); len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.help") || !strings.Contains(got[0].Text, "https://optin.example/optin") {
		t.Errorf("HELP sent %+v, want the help text with the escalation path", got)
	}
	e.write(anna, "Where is my parcel?")
	e.write(anna, "Hello??")
	if got := e.sentTo(anna); len(got) != 1 || !strings.HasPrefix(got[0].Text, "mo.fallback") {
		t.Errorf("sent %+v, want one fallback reply for two messages in one window", got)
	}
}

func TestMOProviderMarketingStop(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	msgs, _ := e.db.Messages(context.Background(), c.ID)
	last := msgs[len(msgs)-1]
	e.handle(consent.Inbound{Statuses: []consent.StatusUpdate{{MessageID: last.ProviderID, RecipientID: anna,
		Status: consent.StatusFailed, Errors: []consent.ProviderErrorDetail{{Code: 131050, Title: "marketing stopped"}}}}})
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedOut {
		t.Errorf("offers after 131050: %+v, want opted_out", r)
	}
	if r := e.check("+"+anna, "order_updates"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("order_updates after 131050: %+v, want untouched", r)
	}
	// Resume restores what the provider took, nothing else.
	e.handle(consent.Inbound{Preferences: []consent.PreferenceUpdate{{WaID: anna, Category: "marketing_messages", Value: "resume"}}})
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("offers after resume: %+v, want opted_in", r)
	}
	e.handle(consent.Inbound{Preferences: []consent.PreferenceUpdate{{WaID: anna, Category: "marketing_messages", Value: "stop"}}})
	if r := e.check("+"+anna, "recommendations"); r.Reason != consent.ReasonOptedOut {
		t.Errorf("recommendations after user_preferences stop: %+v, want opted_out", r)
	}
}

func TestMOChangedNumber(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	e.handle(consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.SYS", From: anna, Type: consent.InSystem,
		SystemType: "user_changed_number", NewWaID: "4915199998888", Timestamp: e.clk.Now()}}})
	if r := e.check("+4915199998888", "offers"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("new number: %+v, want opted_in", r)
	}
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonUnknownContact {
		t.Errorf("old number: %+v, want unknown_contact", r)
	}
}

func TestMOWindowClosedNoFreeForm(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	e.clk.Add(25 * time.Hour)
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	e.db.Enqueue(context.Background(), c.ID, "test", consent.Message{Kind: consent.KindText, Text: "late"}, e.clk.Now())
	e.d.SendDue(context.Background())
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("sent %+v outside the window, want nothing", got)
	}
}

func TestMOConfirmDoubleOptIn(t *testing.T) {
	e := newMO(t)
	svc := consent.NewService(e.db, e.clk, func(l, k string, a ...any) string { return k }, consent.Config{
		BusinessName: "Acme", DefaultRegion: "DE", Mode: consent.Double, WelcomeTemplate: "w", WelcomeLanguage: "en"})
	if _, err := svc.OptIn(context.Background(), consent.OptInRequest{Phone: "+" + anna, Categories: []string{"offers"},
		Lang: "en", Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}}); err != nil {
		t.Fatal(err)
	}
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonPending {
		t.Fatalf("before confirming: %+v, want pending", r)
	}
	e.seq++
	e.handle(consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.CONFIRM", From: anna, Type: consent.InButton,
		ButtonID: consent.PayloadConfirm, Text: "Confirm", Timestamp: e.clk.Now()}}})
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("after Confirm: %+v, want opted_in", r)
	}
}

func TestMOYesToChatbotIsForwardedNotAPrompt(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	e.write(anna, "Yes")
	got := e.sentTo(anna)
	if len(got) != 1 || got[0].Kind == consent.KindInteractive {
		t.Errorf("a bare yes from a fully subscribed person sent %+v, want the fallback reply, not a terms prompt", got)
	}
}

// TestEraseActiveContactLeavesNoTrace: a subscriber with history erases
// themselves; the chain still verifies, the tombstone matches, and neither
// the number's digits nor what they wrote remain in the file.
func TestEraseActiveContactLeavesNoTrace(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	secret := "Please deliver to the blue door at Elm Street 12"
	e.write(anna, secret)
	e.write(anna, "STOP offers")
	e.sentTo(anna)
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	e.db.Checkpoint(context.Background())
	if b, _ := os.ReadFile(e.path); !e.db.Postgres() && (!bytes.Contains(b, []byte(secret)) || !bytes.Contains(b, []byte(anna))) {
		t.Fatalf("the text and number were never in the file: the test would prove nothing")
	}
	if err := e.svc.EraseByPerson(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := e.db.VerifyLedger(context.Background(), e.clk.Now())
	if err != nil || !rep.OK() {
		t.Fatalf("ledger after erasure: %+v, %v; want intact", rep, err)
	}
	stones, _ := e.db.Tombstones(context.Background(), e.svc.PhoneHash("+"+anna))
	if len(stones) != 1 || stones[0].Reason != "person" {
		t.Errorf("tombstones = %+v, want one with reason person", stones)
	}
	assertGone(t, e, anna, secret)
}
