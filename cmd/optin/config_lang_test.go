package main

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConfigWelcomeLanguages: OPTIN_WELCOME_LANGUAGES (and --welcome-languages)
// is a checked list of template language codes; by default only
// OPTIN_WELCOME_LANGUAGE is used.
func TestConfigWelcomeLanguages(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(nil, func(string) string { return "" }, newFlagSet())
	if err != nil {
		t.Fatal(err)
	}
	if c.WelcomeLanguage != "en" || len(c.WelcomeLanguages) != 0 {
		t.Errorf("default = %q %q, want en and no further languages", c.WelcomeLanguage, c.WelcomeLanguages)
	}
	env := map[string]string{"OPTIN_WELCOME_LANGUAGES": "en, de,es,pt_BR"}
	c, err = loadConfig(nil, func(k string) string { return env[k] }, newFlagSet())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"en", "de", "es", "pt_BR"}; !slices.Equal(c.WelcomeLanguages, want) {
		t.Errorf("WelcomeLanguages = %q, want %q", c.WelcomeLanguages, want)
	}
	c, err = loadConfig([]string{"--welcome-languages", "de"}, func(k string) string { return env[k] }, newFlagSet())
	if err != nil || !slices.Equal(c.WelcomeLanguages, []string{"de"}) {
		t.Errorf("flag: WelcomeLanguages = %q, %v, want [de]", c.WelcomeLanguages, err)
	}
	bad := map[string]string{"OPTIN_WELCOME_LANGUAGES": "de;es", "OPTIN_WELCOME_LANGUAGE": "en,de",
		"OPTIN_BUSINESS_NAME": strings.Repeat("x", 61)}
	_, err = loadConfig(nil, func(k string) string { return bad[k] }, newFlagSet())
	for _, want := range []string{"OPTIN_WELCOME_LANGUAGES", "OPTIN_WELCOME_LANGUAGE ", "OPTIN_BUSINESS_NAME"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := loadConfig(nil, func(k string) string {
		return map[string]string{"OPTIN_BUSINESS_NAME": "Acme\nShoes"}[k]
	}, newFlagSet()); err == nil || !strings.Contains(err.Error(), "OPTIN_BUSINESS_NAME") {
		t.Errorf("a business name with a line break: %v, want it refused", err)
	}
}

// TestSandboxShowsWelcomeLanguage: through the real server, a German form
// user gets the German welcome when the business has it, and the sandbox
// shows the language production would send; with only the default, the
// whole welcome is English.
func TestSandboxShowsWelcomeLanguage(t *testing.T) {
	for _, tc := range []struct {
		languages, want, wantCats string
	}{
		{"de,es", "optin_welcome (de)", "Angebote"},
		{"", "optin_welcome (en)", "Offers"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			env := sandboxEnv(t)
			env["OPTIN_WELCOME_LANGUAGES"] = tc.languages
			base := startOptin(t, env)
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.PostForm(base+"/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}, "lang": {"de"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("opt-in: status %d", resp.StatusCode)
			}
			var page string
			waitFor(t, 10*time.Second, "the welcome on the sandbox phone", func() bool {
				resp, err := http.Get(base + "/sandbox/chats/4915112345678")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				page = html.UnescapeString(string(b))
				return strings.Contains(page, "Template optin_welcome")
			})
			if !strings.Contains(page, "Template "+tc.want) || !strings.Contains(page, tc.wantCats) {
				t.Errorf("sandbox chat does not show %q with %q", tc.want, tc.wantCats)
			}
		})
	}
}
