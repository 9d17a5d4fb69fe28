package consent_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/i18n"
)

// TestBuiltinMessagesFit renders every built-in message in every language
// with a business name of the longest allowed length, long category names
// and a long preference link, and checks each against WhatsApp's limits
// (Message.Validate). It fails as well when an i18n key of a message ("mo.",
// "welcome.") is rendered by no message here, so a new message cannot skip
// the check.
func TestBuiltinMessagesFit(t *testing.T) {
	t.Parallel()
	business := strings.Repeat("Ä", consent.MaxBusinessNameRunes-10) + " GmbH & Co"
	if got := len([]rune(business)); got != consent.MaxBusinessNameRunes {
		t.Fatalf("business name has %d characters, want %d", got, consent.MaxBusinessNameRunes)
	}
	// Category names of the longest allowed length, three of them (the
	// seeded catalog), as every flow names them.
	names := []string{
		strings.Repeat("Ü", consent.MaxCategoryName),
		strings.Repeat("ñ", consent.MaxCategoryName),
		strings.Repeat("ç", consent.MaxCategoryName),
	}
	baseURL := "https://consent." + strings.Repeat("long-subdomain-", 4) + "example.com"
	link := baseURL + "/p/" + strings.Repeat("T", 43)

	var mu sync.Mutex
	used := map[string]bool{}
	tr := func(lang, key string, args ...any) string {
		mu.Lock()
		used[key] = true
		mu.Unlock()
		return i18n.T(lang, key, args...)
	}
	for _, lang := range i18n.Languages {
		svc := consent.NewService(nil, fixedClock{}, tr, consent.Config{BusinessName: business, DefaultRegion: "DE",
			WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en", WelcomeLanguages: []string{"es", "pt_BR", "de"},
			BaseURL: baseURL, HelpContact: "https://help." + strings.Repeat("x", 200) + ".example/contact"})
		for name, m := range svc.BuiltinMessages(lang, names, link) {
			m.To = "4915112345678"
			if err := m.Validate(); err != nil {
				t.Errorf("%s %s: Validate() = %v", lang, name, err)
			}
			if m.Kind == consent.KindTemplate {
				for _, b := range m.Template.Buttons {
					// The sandbox shows the approved titles; WhatsApp's
					// template buttons hold 25 characters.
					if n := len([]rune(b.Title)); n == 0 || n > 25 {
						t.Errorf("%s %s: button title %q has %d characters", lang, name, b.Title, n)
					}
				}
			}
		}
	}
	for _, key := range i18n.Keys("en") {
		if (strings.HasPrefix(key, "mo.") || strings.HasPrefix(key, "welcome.")) && !used[key] {
			t.Errorf("key %q is not rendered by Service.BuiltinMessages (consent/export_test.go): add its message there", key)
		}
	}
}

// TestTermsPromptGermanFooter pins the German terms footer within the 60
// characters WhatsApp allows (it had 63, so the prompt was never delivered).
func TestTermsPromptGermanFooter(t *testing.T) {
	t.Parallel()
	svc := consent.NewService(nil, fixedClock{}, i18n.T, consent.Config{BusinessName: "Acme", WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en"})
	m := svc.BuiltinMessages("de", []string{"Angebote"}, "https://x/p/t")["terms prompt"]
	if n := len([]rune(m.Interactive.Footer)); n > consent.MaxFooterRunes {
		t.Errorf("German footer has %d characters, want at most %d", n, consent.MaxFooterRunes)
	}
}

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) }

// TestAdminTextsTooLongFallBack: an admin's HELP or fallback text that,
// filled in, is longer than WhatsApp takes gives way to the built-in text
// rather than a message that is never delivered.
func TestAdminTextsTooLongFallBack(t *testing.T) {
	t.Parallel()
	_, svc, _, _, _ := setup(t)
	long := strings.Repeat("x", consent.MaxTextRunes) // fits the setting, not once the contact and link are added
	if _, err := svc.SaveSettings(context.Background(), map[string]string{"help_text.en": long, "fallback_text.en": long,
		"help_text.de": "Hilfe: {contact} {link}"}, "admin:a@example.com"); err != nil {
		t.Fatal(err)
	}
	msgs := svc.BuiltinMessages("en", []string{"Offers"}, "https://optin.example/p/token")
	if got := msgs["help"].Text; got != "mo.help" {
		t.Errorf("help = %.40q…, want the built-in text", got)
	}
	if got := msgs["fallback"].Text; got != "mo.fallback" {
		t.Errorf("fallback = %.40q…, want the built-in text", got)
	}
	if got := svc.BuiltinMessages("de", []string{"Angebote"}, "https://optin.example/p/token")["help"].Text; !strings.HasPrefix(got, "Hilfe: ") {
		t.Errorf("German help = %q, want the admin's text", got)
	}
}
