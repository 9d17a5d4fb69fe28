package consent_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// TestMOReplyLanguage: a keyword of one language is answered in it (AYUDA in
// Spanish, HILFE in German), whatever the contact's language; words of no
// single language (INFO, STOP) are answered in the contact's language.
func TestMOReplyLanguage(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "optin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := func(lang, key string, args ...any) string { return lang + ":" + key }
	svc := consent.NewService(db, clk, tr, consent.Config{BusinessName: "Acme", DefaultRegion: "DE",
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en", TombstoneKey: []byte("salt"),
		BaseURL: "https://optin.example", TermsTTL: 24 * time.Hour})
	s := &script{}
	d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1000, BaseDelay: time.Second}
	ctx := context.Background()
	seq := 0
	write := func(from, text string) []consent.Message {
		t.Helper()
		seq++
		in := consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.L" + strings.Repeat("x", seq), From: from,
			Type: consent.InText, Text: text, Timestamp: clk.Now()}}}
		if err := svc.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		out := s.sent
		s.sent = nil
		return out
	}

	// An English form user.
	if _, err := svc.OptIn(ctx, consent.OptInRequest{Phone: "+4915112345678", Categories: []string{"offers"},
		Lang: "en", Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	s.sent = nil
	for _, tc := range []struct{ text, want string }{
		{"AYUDA", "es:mo.help"},
		{"Hilfe", "de:mo.help"},
		{"ajuda", "pt:mo.help"},
		{"HELP", "en:mo.help"},
		{"INFO", "en:mo.help"},
	} {
		got := write("4915112345678", tc.text)
		if len(got) != 1 || !strings.HasPrefix(got[0].Text, tc.want) {
			t.Errorf("%s answered with %+v, want %q", tc.text, got, tc.want)
		}
	}

	// A new number writing HILFE gets the terms prompt in German, and keeps
	// German afterwards.
	got := write("4915199999999", "HILFE")
	if len(got) != 1 || got[0].Interactive == nil || !strings.HasPrefix(got[0].Interactive.Body, "de:mo.terms.prompt") {
		t.Fatalf("first HILFE answered with %+v, want the German terms prompt", got)
	}
	c, err := db.ContactByPhone(ctx, "+4915199999999")
	if err != nil {
		t.Fatal(err)
	}
	if c.Language != "de" {
		t.Errorf("new contact's language = %q, want de", c.Language)
	}
}

// TestMODefaultLanguageFromTemplateCode: with OPTIN_WELCOME_LANGUAGE=pt_BR a
// new number writing something of no language is answered in Portuguese,
// not in English (pt_BR is a template code, the texts are "pt").
func TestMODefaultLanguageFromTemplateCode(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "optin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := func(lang, key string, args ...any) string { return lang + ":" + key }
	svc := consent.NewService(db, clk, tr, consent.Config{BusinessName: "Acme", DefaultRegion: "BR",
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "pt_BR", TombstoneKey: []byte("salt"),
		BaseURL: "https://optin.example", TermsTTL: 24 * time.Hour})
	s := &script{}
	d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1000, BaseDelay: time.Second}
	ctx := context.Background()
	in := consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.PT1", From: "5511987654321",
		Type: consent.InText, Text: "Olá", Timestamp: clk.Now()}}}
	if err := svc.Handle(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.sent) != 1 || s.sent[0].Interactive == nil || !strings.HasPrefix(s.sent[0].Interactive.Body, "pt:mo.terms.prompt") {
		t.Errorf("sent %+v, want the terms prompt in pt", s.sent)
	}
}
