package main

import (
	"slices"
	"strings"
	"testing"
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
