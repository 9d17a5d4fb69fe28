package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// verbRE matches fmt verbs, with an optional explicit argument index, and the
// escaped percent sign.
var verbRE = regexp.MustCompile(`%(\[\d+\])?[a-zA-Z%]`)

func verbs(msg string) []string {
	var out []string
	for _, v := range verbRE.FindAllString(msg, -1) {
		if v != "%%" {
			out = append(out, v)
		}
	}
	return out
}

func TestCatalogComplete(t *testing.T) {
	for _, lang := range Languages {
		msgs, ok := catalog[lang]
		if !ok {
			t.Fatalf("no catalog for %q", lang)
		}
		for key := range catalog[fallback] {
			if _, ok := msgs[key]; !ok {
				t.Errorf("%s: key %q missing", lang, key)
			}
		}
		for key := range msgs {
			if _, ok := catalog[fallback][key]; !ok {
				t.Errorf("%s: key %q is not in %s", lang, key, fallback)
			}
		}
	}
	if len(catalog) != len(Languages) {
		t.Errorf("catalog has %d languages, Languages lists %d", len(catalog), len(Languages))
	}
}

func TestCatalogVerbs(t *testing.T) {
	for key, ref := range catalog[fallback] {
		want := verbs(ref)
		for _, v := range want {
			if v != "%s" && v != "%d" {
				t.Errorf("%s: verb %s in %q; use %%s or %%d", fallback, v, key)
			}
		}
		for _, lang := range Languages {
			msg := catalog[lang][key]
			if got := verbs(msg); !slices.Equal(got, want) {
				t.Errorf("%s %q: verbs = %v, want %v", lang, key, got, want)
			}
			if strings.TrimSpace(msg) != msg || msg == "" {
				t.Errorf("%s %q: empty or padded message %q", lang, key, msg)
			}
		}
	}
}

func TestRequiredKeys(t *testing.T) {
	// Keys other packages rely on: the consent domain's field errors and the
	// views' texts.
	keys := []string{
		"app.skip", "app.language", "app.footer",
		"optin.title", "optin.intro", "optin.phone.label", "optin.phone.hint",
		"optin.country.label", "optin.categories.legend", "optin.submit",
		"optin.terms.link", "optin.errors.summary", "optin.wording",
		"phone.empty", "phone.letters", "phone.too_short", "phone.too_long",
		"phone.invalid_region", "phone.invalid", "category.required",
		"category.unknown", "country.unknown",
		"thanks.title", "thanks.single", "thanks.double", "thanks.categories",
		"thanks.nothing_new", "thanks.change",
		"error.400.title", "error.400.body", "error.404.title", "error.404.body",
		"error.413.title", "error.413.body", "error.429.title", "error.429.body",
		"error.500.title", "error.500.body", "terms.title",
		"welcome.body", "welcome.body.double", "welcome.button.confirm", "welcome.button.stop",
	}
	for _, k := range keys {
		if _, ok := catalog[fallback][k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"en", "optin.title", []any{"Acme"}, "Get Acme updates on WhatsApp"},
		{"de", "welcome.button.confirm", nil, "Bestätigen"},
		{"xx", "optin.submit", nil, "Subscribe on WhatsApp"},
		{"es", "no.such.key", nil, "no.such.key"},
		{"en", "error.status", []any{404}, "Error 404"},
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("T(%q, %q) = %q, want %q", tt.lang, tt.key, got, tt.want)
		}
	}
}

func TestName(t *testing.T) {
	want := map[string]string{"en": "English", "es": "Español", "pt": "Português", "de": "Deutsch"}
	for _, lang := range Languages {
		if got := Name(lang); got != want[lang] {
			t.Errorf("Name(%q) = %q, want %q", lang, got, want[lang])
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, query, header, want string
	}{
		{"nothing", "", "", "en"},
		{"query wins", "de", "es-ES,es;q=0.9", "de"},
		{"query region", "pt-BR", "", "pt"},
		{"query unsupported", "fr", "es", "es"},
		{"region subtag", "", "pt-BR,pt;q=0.9,en;q=0.8", "pt"},
		{"austrian", "", "de-AT", "de"},
		{"q order", "", "en;q=0.5, es;q=0.9", "es"},
		{"unsupported first", "", "fr-FR,fr;q=0.9,de;q=0.7,en;q=0.6", "de"},
		{"q zero", "", "es;q=0, de;q=0.1", "de"},
		{"only unsupported", "", "fr, ja", "en"},
		{"wildcard", "", "*", "en"},
		{"garbage", "", ";;,q=x,,-", "en"},
		{"case", "", "ES-mx", "es"},
		{"bad q", "", "es;q=abc, pt;q=0.2", "pt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.query, tt.header); got != tt.want {
				t.Errorf("Match(%q, %q) = %q, want %q", tt.query, tt.header, got, tt.want)
			}
		})
	}
}
