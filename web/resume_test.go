package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/optin/optin/consent"
)

// A marketing stop in WhatsApp, then resume, for a person who chose only
// offers: the check API allows offers again and refuses recommendations,
// which the person never chose; in double mode a pending consent stays
// pending through both.
func TestCheckAfterProviderStopAndResume(t *testing.T) {
	t.Parallel()
	for _, mode := range []consent.Mode{consent.Single, consent.Double} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			h := newEvHarness(t)
			if mode == consent.Double {
				if _, err := h.svc.SaveSettings(t.Context(), map[string]string{consent.SettingMode: "double"}, "admin:a@example.com"); err != nil {
					t.Fatal(err)
				}
			}
			if resp := h.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}, "lang": {"en"}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("form: status %d", resp.StatusCode)
			}
			check := func(category string) (allowed bool, reason string) {
				t.Helper()
				code, body, _ := h.api("GET", "/api/v1/check?phone=%2B4915112345678&category="+category, h.apiKey, "")
				if code != http.StatusOK {
					t.Fatalf("check: %d %s", code, body)
				}
				var v struct {
					Allowed bool   `json:"allowed"`
					Reason  string `json:"reason"`
				}
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Fatal(err)
				}
				return v.Allowed, v.Reason
			}
			pref := func(value string) {
				h.deliver(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"user_preferences","value":{"messaging_product":"whatsapp","user_preferences":[{"wa_id":"4915112345678","detail":"","category":"marketing_messages","value":"%s","timestamp":%d}]}}]}]}`,
					value, h.clock.t.Unix()))
			}
			pref("stop")
			pref("resume")
			if mode == consent.Double {
				if allowed, reason := check("offers"); allowed || reason != "pending" {
					t.Errorf("offers = %v %s, want still pending", allowed, reason)
				}
				return
			}
			if allowed, reason := check("offers"); !allowed {
				t.Errorf("offers = %v %s, want allowed again", allowed, reason)
			}
			if allowed, reason := check("recommendations"); allowed || reason != "no_consent" {
				t.Errorf("recommendations = %v %s, want refused: never chosen", allowed, reason)
			}
		})
	}
}
