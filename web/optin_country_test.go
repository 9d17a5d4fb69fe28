package web

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

var selectedCountry = regexp.MustCompile(`<option value="([A-Z]{2})" selected>`)

// TestOptInCountryFromBrowser: the form preselects the region of the
// browser's language, else OPTIN_DEFAULT_REGION; a number refused for the
// chosen country but valid in another says which.
func TestOptInCountryFromBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.DefaultRegion = "US" })
	for _, tc := range []struct{ accept, want string }{
		{"de-DE,de;q=0.9,en;q=0.8", "DE"},
		{"pt-BR", "BR"},
		{"en-GB,en;q=0.9", "GB"},
		{"de", "US"}, // a language without a region says nothing about the country
		{"", "US"},
	} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/optin", nil)
		if tc.accept != "" {
			req.Header.Set("Accept-Language", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := selectedCountry.FindSubmatch(body)
		if m == nil || string(m[1]) != tc.want {
			t.Errorf("Accept-Language %q: selected %q, want %s", tc.accept, m, tc.want)
		}
	}

	// An English browser that also reads German; then a German page.
	post := func(lang string) (*http.Response, []byte) {
		form := url.Values{"phone": {"0151 23456789"}, "country": {"US"}, "category": {"offers"}, "lang": {lang}}
		req, _ := http.NewRequest("POST", e.ts.URL+"/optin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if lang == "en" {
			req.Header.Set("Accept-Language", "en-US,en;q=0.9,de;q=0.8")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := post("en")
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	if msg := string(body); !strings.Contains(msg, "the country chosen (United States), but it is for Germany") {
		t.Errorf("the error does not name the right country: %s", testidText(msg, "error-phone"))
	}
	// German, for a German page.
	_, body = post("de")
	if !strings.Contains(string(body), "aber für Deutschland") {
		t.Errorf("German error: %s", testidText(string(body), "error-phone"))
	}
}
