package web

import (
	"net/http"
	"testing"

	"github.com/optin/optin/consent"
)

// TestPersonalAnswersNotCached: API answers and console pages carry
// Cache-Control: no-store.
func TestPersonalAnswersNotCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.subscribe("+4915112345678", "en", "offers")
	for _, p := range []string{"/api/v1/contacts/%2B4915112345678", "/api/v1/check?phone=%2B4915112345678&category=offers",
		"/api/v1/events", "/api/v1/contacts/%2B4915100000000", "/api/v1/nothing"} {
		resp, _ := e.get(p, "Authorization", "Bearer "+e.apiKey)
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s (%d): Cache-Control = %q, want no-store", p, resp.StatusCode, got)
		}
	}
	admin := e.signIn(consent.RoleAdmin)
	for _, p := range []string{"/admin/", "/admin/contacts", "/admin/export/contacts.csv"} {
		if resp, _ := admin.get(p); resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", p, resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ := e.get("/optin"); resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent for an http base URL")
	}
}

func TestHSTSWithHTTPSBaseURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.BaseURL = "https://optin.example" })
	for _, p := range []string{"/optin", "/healthz", "/api/v1/openapi.json"} {
		if resp, _ := e.get(p); resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
			t.Errorf("GET %s: Strict-Transport-Security = %q", p, resp.Header.Get("Strict-Transport-Security"))
		}
	}
}

// stubPhone stands in for the sandbox phone's routes.
type stubPhone struct{}

func (stubPhone) Register(m *http.ServeMux) {
	m.HandleFunc("GET /sandbox", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("every chat")) })
	m.HandleFunc("POST /sandbox/start", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusSeeOther) })
}

// TestSandboxBehindSignIn: with SandboxAdminOnly, the sandbox answers only
// signed-in admins; without it, it is public.
func TestSandboxBehindSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.Sandbox, c.SandboxAdminOnly = stubPhone{}, true })
	if resp, _ := e.get("/sandbox"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /sandbox signed out = %d, want 303 to sign-in", resp.StatusCode)
	}
	if resp := e.post("/sandbox/start", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /sandbox/start signed out = %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.signIn(consent.RoleViewer).get("/sandbox"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /sandbox as viewer = %d, want 403", resp.StatusCode)
	}
	if resp, body := e.signIn(consent.RoleAdmin).get("/sandbox"); resp.StatusCode != http.StatusOK || body != "every chat" {
		t.Errorf("GET /sandbox as admin = %d %q", resp.StatusCode, body)
	}
	open := newEnv(t, func(c *Config, _ *consent.Config) { c.Sandbox = stubPhone{} })
	if resp, _ := open.get("/sandbox"); resp.StatusCode != http.StatusOK {
		t.Errorf("public sandbox = %d, want 200", resp.StatusCode)
	}
}
