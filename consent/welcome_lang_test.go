package consent_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
)

// TestWelcomeLanguage: the welcome goes out in the person's language when
// the business has the template in it, else entirely in the default
// language: template language, the category names variable and the preview.
func TestWelcomeLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		languages []string // OPTIN_WELCOME_LANGUAGES
		formLang  string
		wantLang  string
		wantCats  string
		wantWords string // in the preview
	}{
		{"German form, only the default", nil, "de", "en", "Offers", "subscribed"},
		{"German form, German listed", []string{"de", "es"}, "de", "de", "Angebote", "erhältst"},
		{"Portuguese form, pt_BR listed", []string{"pt_BR"}, "pt", "pt_BR", "Ofertas", "WhatsApp"},
		{"Spanish form, not listed", []string{"de"}, "es", "en", "Offers", "subscribed"},
		{"English form", []string{"de"}, "en", "en", "Offers", "subscribed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "optin.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
			svc := consent.NewService(db, clk, i18n.T, consent.Config{BusinessName: "Acme", DefaultRegion: "DE",
				WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en", WelcomeLanguages: tc.languages})
			s := &script{}
			d := &consent.Dispatcher{Store: db, Sender: s, Clock: clk, Rate: 1000, BaseDelay: time.Second}
			if _, err := svc.OptIn(context.Background(), consent.OptInRequest{Phone: "+4915112345678", Categories: []string{"offers"},
				Lang: tc.formLang, Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}}); err != nil {
				t.Fatal(err)
			}
			if _, err := d.SendDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(s.sent) != 1 || s.sent[0].Template == nil {
				t.Fatalf("sent %+v, want the welcome template", s.sent)
			}
			tpl := s.sent[0].Template
			if tpl.Language != tc.wantLang {
				t.Errorf("template language = %q, want %q", tpl.Language, tc.wantLang)
			}
			if len(tpl.BodyParams) != 2 || tpl.BodyParams[1] != tc.wantCats {
				t.Errorf("body params = %q, want categories %q", tpl.BodyParams, tc.wantCats)
			}
			if !strings.Contains(tpl.Preview, tc.wantWords) || !strings.Contains(tpl.Preview, tc.wantCats) {
				t.Errorf("preview = %q, want it in the template's language (%q, %q)", tpl.Preview, tc.wantWords, tc.wantCats)
			}
		})
	}
}

func TestWelcomeLanguageFor(t *testing.T) {
	t.Parallel()
	st := consent.Settings{WelcomeLanguage: "en_US", WelcomeLanguages: []string{"de", "pt_BR", "es"}}
	tests := []struct{ lang, wantTpl, wantText string }{
		{"de", "de", "de"},
		{"pt", "pt_BR", "pt"},
		{"en", "en_US", "en"},
		{"fr", "en_US", "en"},
		{"", "en_US", "en"},
		{"ES", "es", "es"},
	}
	for _, tc := range tests {
		tpl, text := st.WelcomeLanguageFor(tc.lang)
		if tpl != tc.wantTpl || text != tc.wantText {
			t.Errorf("WelcomeLanguageFor(%q) = %q, %q, want %q, %q", tc.lang, tpl, text, tc.wantTpl, tc.wantText)
		}
	}
}

func TestParseWelcomeLanguages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   []string
		wantOK bool
	}{
		{"", nil, true},
		{"en, de ,es,pt_BR", []string{"en", "de", "es", "pt_BR"}, true},
		{"de,de", []string{"de"}, true},
		{"de,,es", []string{"de", "es"}, true},
		{"de;es", nil, false},
		{"pt-BR", nil, false},
		{"German", nil, false},
	}
	for _, tc := range tests {
		got, ok := consent.ParseWelcomeLanguages(tc.in)
		if ok != tc.wantOK || !slices.Equal(got, tc.want) {
			t.Errorf("ParseWelcomeLanguages(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestWelcomeLanguagesSetting: an admin can change the further welcome
// languages while optin runs; the next welcome follows.
func TestWelcomeLanguagesSetting(t *testing.T) {
	t.Parallel()
	_, svc, _, _, _ := setup(t)
	if _, err := svc.SaveSettings(context.Background(), map[string]string{consent.SettingWelcomeLanguages: " de, es ,de"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	st := svc.Settings()
	if !slices.Equal(st.WelcomeLanguages, []string{"de", "es"}) {
		t.Errorf("WelcomeLanguages = %q, want [de es]", st.WelcomeLanguages)
	}
	if got := st.Values()[consent.SettingWelcomeLanguages]; got != "de,es" {
		t.Errorf("Values()[welcome_languages] = %q, want de,es", got)
	}
	if tpl, _ := st.WelcomeLanguageFor("de"); tpl != "de" {
		t.Errorf("German after the save: %q, want de", tpl)
	}
}
