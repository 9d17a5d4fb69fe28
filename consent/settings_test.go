package consent_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

func TestSettingsRejectBadValues(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{"unknown mode", consent.SettingMode, "triple"},
		{"empty mode", consent.SettingMode, ""},
		{"rate zero", consent.SettingSendRate, "0"},
		{"rate negative", consent.SettingSendRate, "-3"},
		{"rate huge", consent.SettingSendRate, "1000000"},
		{"rate not a number", consent.SettingSendRate, "fast"},
		{"rate NaN", consent.SettingSendRate, "NaN"},
		{"template upper case", consent.SettingWelcomeTemplate, "Optin_Welcome"},
		{"template with space", consent.SettingWelcomeTemplate, "optin welcome"},
		{"template with dash", consent.SettingWelcomeTemplate, "optin-welcome"},
		{"template empty", consent.SettingWelcomeTemplate, ""},
		{"cap negative", consent.SettingDailyCap, "-1"},
		{"cap not a number", consent.SettingDailyCap, "many"},
		{"language", consent.SettingWelcomeLanguage, "english"},
		{"languages", consent.SettingWelcomeLanguages, "de;es"},
		{"languages with a tag", consent.SettingWelcomeLanguages, "de,pt-BR"},
		{"country", consent.SettingControllerCountry, "Germany"},
		{"email", consent.SettingControllerEmail, "privacy at acme"},
		{"help text too long", "help_text.en", strings.Repeat("x", 4097)},
		{"unknown key", "colour", "blue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, svc, _, _, _ := setup(t)
			ctx := context.Background()
			before := svc.Settings()
			// A valid change beside the bad one must not be saved either.
			_, err := svc.SaveSettings(ctx, map[string]string{tt.key: tt.value, consent.SettingJurisdiction: "EU"}, "admin:a@example.com")
			var verr *consent.ValidationError
			if !errors.As(err, &verr) || verr.Fields[tt.key] == "" {
				t.Fatalf("SaveSettings(%s=%q) = %v, want a validation error on %s", tt.key, tt.value, err, tt.key)
			}
			if got := svc.Settings(); got.Jurisdiction != before.Jurisdiction || got.Mode != before.Mode || got.SendRate != before.SendRate {
				t.Errorf("settings changed after a refused save: %+v", got)
			}
			stored, _ := db.StoredSettings(ctx)
			hist, _ := db.SettingsHistory(ctx, 10)
			if len(stored) != 0 || len(hist) != 0 {
				t.Errorf("stored %v, history %v; want nothing", stored, hist)
			}
		})
	}
}

func TestSettingsSaveTakesEffectAndPersists(t *testing.T) {
	db, svc, d, s, clk := setup(t)
	ctx := context.Background()
	savedAt := clk.Now()
	changes, err := svc.SaveSettings(ctx, map[string]string{
		consent.SettingWelcomeTemplate: "welcome_v2",
		consent.SettingWelcomeLanguage: "de",
		consent.SettingMode:            "double",
		consent.SettingSendRate:        "5",
		consent.SettingJurisdiction:    "", // unchanged: no history row
	}, "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 4 {
		t.Errorf("changes = %+v, want 4", changes)
	}
	if svc.Mode() != consent.Double {
		t.Errorf("Mode = %s, want double at once", svc.Mode())
	}
	out := optIn(t, svc, "+4915112345678")
	if out.Contact.ID == 0 {
		t.Fatal("no contact")
	}
	cs, _ := db.Consents(ctx, out.Contact.ID)
	if len(cs) != 1 || cs[0].State != consent.Pending {
		t.Errorf("consents = %+v, want pending (double mode)", cs)
	}
	d.Limits = svc.SendLimits
	drain(t, d, clk)
	if len(s.sent) != 1 || s.sent[0].Template == nil || s.sent[0].Template.Name != "welcome_v2" || s.sent[0].Template.Language != "de" {
		t.Fatalf("sent %+v, want the welcome_v2 template in de", s.sent)
	}
	if d.Rate != 5 {
		t.Errorf("dispatcher Rate = %v, want 5 from the settings", d.Rate)
	}

	hist, err := svc.SettingsHistory(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]consent.SettingChange{}
	for _, h := range hist {
		byKey[h.Key] = h
	}
	if h := byKey[consent.SettingMode]; h.Old != "single" || h.New != "double" || h.Actor != "admin:a@example.com" || !h.At.Equal(savedAt) {
		t.Errorf("history of mode = %+v", h)
	}
	if _, ok := byKey[consent.SettingJurisdiction]; ok {
		t.Errorf("an unchanged setting has a history row")
	}

	// A restart: the environment says single, the saved setting wins.
	again := consent.NewService(db, clk, func(lang, key string, args ...any) string { return key },
		consent.Config{BusinessName: "Acme", DefaultRegion: "DE", WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en"})
	if err := again.LoadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	if got := again.Settings(); got.Mode != consent.Double || got.WelcomeTemplate != "welcome_v2" || got.SendRate != 5 {
		t.Errorf("after restart: %+v", got)
	}
	if got := again.SettingDefaults(); got.Mode != consent.Single || got.WelcomeTemplate != "optin_welcome" {
		t.Errorf("defaults = %+v, want the environment's", got)
	}
}

func TestSettingsHelpAndFallbackTexts(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	_, err := e.svc.SaveSettings(ctx, map[string]string{
		consent.SettingHelpContact: "help@acme.example",
		"help_text.en":             "{business} here. Write to {contact}.",
		"fallback_text.en":         "We read every message.",
	}, "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	optedIn(t, e, anna)
	e.write(anna, "HELP")
	got := e.sentTo(anna)
	if len(got) != 1 || !strings.HasPrefix(got[0].Text, "Acme here. Write to help@acme.example.\nhttps://optin.example/p/") {
		t.Errorf("HELP sent %+v, want the admin's text with the contact and the preference link", got)
	}
	e.write(anna, "Where is my parcel?")
	got = e.sentTo(anna)
	if len(got) != 1 || got[0].Text != "We read every message.\nhelp@acme.example" {
		t.Errorf("fallback sent %+v, want the admin's text with the contact added", got)
	}
	// Other languages keep the built-in texts.
	if _, ok := e.svc.TermsText("es"); ok {
		t.Errorf("TermsText(es) set without an admin's text")
	}
}

func TestSettingsReceiptController(t *testing.T) {
	_, svc, _, _, _ := setup(t)
	ctx := context.Background()
	_, err := svc.SaveSettings(ctx, map[string]string{
		consent.SettingJurisdiction:      "EU",
		consent.SettingControllerContact: "Data Protection Officer",
		consent.SettingControllerAddress: "Hauptstr. 1, 10115 Berlin",
		consent.SettingControllerCountry: "DE",
		consent.SettingControllerEmail:   "privacy@acme.example",
	}, "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	out := optIn(t, svc, "+4915112345678")
	receipts, err := svc.Receipts(ctx, out.Contact.ID)
	if err != nil || len(receipts) != 1 {
		t.Fatalf("receipts = %v, %v", receipts, err)
	}
	b, _ := json.Marshal(receipts[0])
	var r struct {
		Jurisdiction   string `json:"jurisdiction"`
		PIIControllers []struct {
			Contact string `json:"contact"`
			Email   string `json:"email"`
			Address struct {
				StreetAddress  string `json:"streetAddress"`
				AddressCountry string `json:"addressCountry"`
			} `json:"address"`
		} `json:"piiControllers"`
	}
	json.Unmarshal(b, &r)
	c := r.PIIControllers[0]
	if r.Jurisdiction != "EU" || c.Contact != "Data Protection Officer" || c.Email != "privacy@acme.example" ||
		c.Address.StreetAddress != "Hauptstr. 1, 10115 Berlin" || c.Address.AddressCountry != "DE" {
		t.Errorf("receipt = %s", b)
	}
}

// TestDispatcherDailyCap: beyond the cap, templates wait for the next UTC
// day; replies inside the person's window still go out.
func TestDispatcherDailyCap(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	e.d.Limits = e.svc.SendLimits
	if _, err := e.svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: "2"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(13 * time.Hour) // 23:00 UTC
	phones := []string{"+4915110000001", "+4915110000002", "+4915110000003"}
	var ids []int64
	for _, p := range phones {
		ids = append(ids, optIn(t, e.svc, p).Contact.ID)
	}
	if _, err := e.d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := templates(e.s.sent); got != 2 {
		t.Fatalf("templates sent = %d, want 2 (the cap)", got)
	}
	held := lastMessage(t, e.db, ids[2])
	if held.Status != consent.StatusQueued || held.Attempts != 0 {
		t.Errorf("third welcome = %+v, want queued with no attempt counted", held)
	}

	// A person who writes in gets the reply though the cap is reached.
	e.write(anna, "hello")
	if got := e.sentTo(anna); len(got) != 1 || got[0].Kind != consent.KindInteractive {
		t.Errorf("reply sent %+v, want the terms prompt despite the cap", got)
	}

	// Still the same day: nothing more.
	e.clk.Add(50 * time.Minute)
	e.d.SendDue(ctx)
	if got := templates(e.s.sent); got != 2 {
		t.Errorf("templates sent = %d before midnight, want 2", got)
	}
	// The next UTC day the held welcome goes.
	e.clk.Add(11 * time.Minute)
	e.d.SendDue(ctx)
	if got := templates(e.s.sent); got != 3 {
		t.Errorf("templates sent = %d after midnight, want 3", got)
	}
}

func TestDispatcherDailyCapRaisedReleases(t *testing.T) {
	db, svc, d, s, _ := setup(t)
	ctx := context.Background()
	d.Limits = svc.SendLimits
	svc.OnEnqueue(d.Wake)
	svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: "1"}, "admin:a@example.com")
	optIn(t, svc, "+4915110000001")
	out := optIn(t, svc, "+4915110000002")
	d.SendDue(ctx)
	if got := templates(s.sent); got != 1 {
		t.Fatalf("templates sent = %d, want 1", got)
	}
	if _, err := svc.SaveSettings(ctx, map[string]string{consent.SettingDailyCap: "0"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	d.SendDue(ctx)
	if got := templates(s.sent); got != 2 {
		t.Errorf("templates sent = %d after the cap was lifted, want 2 at once", got)
	}
	if m := lastMessage(t, db, out.Contact.ID); m.Status != consent.StatusSent {
		t.Errorf("status = %s, want sent", m.Status)
	}
}

func templates(ms []consent.Message) int {
	n := 0
	for _, m := range ms {
		if m.Kind == consent.KindTemplate {
			n++
		}
	}
	return n
}

func lastMessage(t *testing.T, db *store.DB, contactID int64) consent.OutboxMessage {
	t.Helper()
	msgs, err := db.Messages(context.Background(), contactID)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("messages: %v, %v", msgs, err)
	}
	return msgs[len(msgs)-1]
}
