package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// TestCheckFastPath covers the check's shortcut for numbers in E.164: it
// still refuses invalid numbers, still names unknown categories, and
// finds contacts by the wa_id too.
func TestCheckFastPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	bearer := "Bearer " + e.apiKey
	for _, tc := range []struct {
		name, phone, category string
		wantStatus            int
		wantBody              string
	}{
		{"opted in", "+4915112345678", "offers", 200, `"allowed":true`},
		{"E.164 shape, invalid number", "+4900000000", "offers", 400, `"error"`},
		{"E.164 shape, invalid number, unknown category", "+4900000000", "lottery", 400, `"error"`},
		{"unknown category", "+4915112345678", "lottery", 200, `"unknown_category"`},
		{"unknown contact", "+4915199999999", "offers", 200, `"unknown_contact"`},
		{"national format", "0151 12345678", "offers", 200, `"allowed":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"phone": {tc.phone}, "category": {tc.category}}.Encode()
			resp, body := e.get("/api/v1/check?"+q, "Authorization", bearer)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// TestRevokedKeyFailsAtOnce: the key cache never outlives a revocation.
func TestRevokedKeyFailsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, k, err := e.svc.CreateAPIKey(context.Background(), "crm", "read")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/check?phone=%2B4915112345678&category=offers"
	for range 3 { // cached after the first
		if resp, body := e.get(path, "Authorization", "Bearer "+key); resp.StatusCode != 200 {
			t.Fatalf("before revocation: %d %s", resp.StatusCode, body)
		}
	}
	if _, err := e.svc.RevokeAPIKey(context.Background(), k.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.get(path, "Authorization", "Bearer "+key); resp.StatusCode != 401 {
		t.Errorf("after revocation: %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.get(path, "Authorization", "Bearer "+e.apiKey); resp.StatusCode != 200 {
		t.Errorf("another key after the revocation: %d, want 200", resp.StatusCode)
	}
}
