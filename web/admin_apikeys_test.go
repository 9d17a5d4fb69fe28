package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// apiStatus calls the API with key and returns the status.
func (e *env) apiStatus(key string) int {
	e.t.Helper()
	resp, _ := e.get("/api/v1/check?phone=%2B4915112345678&category=offers", "Authorization", "Bearer "+key)
	return resp.StatusCode
}

func TestAdminAPIKeysCreateShowOnceRevoke(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	resp, body := c.settingsPost("/admin/api-keys", url.Values{"name": {"CRM"}, "scope": {"write"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="key-created"`) {
		t.Fatalf("create = %d, no result", resp.StatusCode)
	}
	m := regexp.MustCompile(`data-testid="key-secret">(optin_[A-Za-z0-9_-]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the key is not shown")
	}
	key := m[1]
	if got := e.apiStatus(key); got != http.StatusOK {
		t.Fatalf("API with the new key = %d, want 200", got)
	}
	_, list := c.get("/admin/api-keys")
	if strings.Contains(list, key) {
		t.Errorf("the list shows the key again")
	}
	if !strings.Contains(list, "CRM") || !strings.Contains(list, key[:12]+"…") || !strings.Contains(list, ">write<") {
		t.Errorf("the list lacks the key's name, prefix or scope")
	}
	if strings.Count(list, `data-testid="key-row"`) != 2 { // the env's own key and this one
		t.Errorf("list has %d rows, want 2", strings.Count(list, `data-testid="key-row"`))
	}

	keys, _ := e.svc.APIKeys(context.Background())
	var id int64
	for _, k := range keys {
		if k.Name == "CRM" {
			id = k.ID
			if k.LastUsedAt.IsZero() {
				t.Errorf("last use not recorded")
			}
		}
	}
	path := "/admin/api-keys/" + strconv.FormatInt(id, 10) + "/revoke"
	resp, body = c.settingsPost(path, url.Values{})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="confirm"`) {
		t.Fatalf("revoke without confirmation = %d, want the confirmation page", resp.StatusCode)
	}
	if got := e.apiStatus(key); got != http.StatusOK {
		t.Fatalf("the confirmation step revoked already: %d", got)
	}
	if resp := c.post(path, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if got := e.apiStatus(key); got != http.StatusUnauthorized {
		t.Errorf("API with the revoked key = %d, want 401 at once", got)
	}
	if got := e.apiStatus(e.apiKey); got != http.StatusOK {
		t.Errorf("another key stopped working: %d", got)
	}
	if _, list := c.get("/admin/api-keys"); !strings.Contains(list, "revoked") {
		t.Errorf("the list does not show the revocation")
	}
	a := e.auditActions()
	if a["api_key_create"] != 1 || a["api_key_revoke"] != 1 {
		t.Errorf("audit = %v", a)
	}
	var detail string
	e.db.SQL().QueryRow(`SELECT detail FROM admin_audit WHERE action = 'api_key_create'`).Scan(&detail)
	if strings.Contains(detail, key) {
		t.Errorf("the audit log holds the key")
	}
	if resp := c.post("/admin/api-keys/999/revoke", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking an unknown key = %d, want 404", resp.StatusCode)
	}
}

func TestAdminAPIKeysCreateInvalid(t *testing.T) {
	for _, f := range []url.Values{
		{"name": {""}, "scope": {"read"}},
		{"name": {strings.Repeat("n", 101)}, "scope": {"read"}},
		{"name": {"crm"}, "scope": {"admin"}},
	} {
		e := newEnv(t)
		c := e.signIn(consent.RoleAdmin)
		resp, body := c.settingsPost("/admin/api-keys", f)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="field-error"`) || strings.Contains(body, `data-testid="key-secret"`) {
			t.Errorf("POST %v = %d, want 422 with the field marked", f, resp.StatusCode)
		}
		if keys, _ := e.svc.APIKeys(context.Background()); len(keys) != 1 {
			t.Errorf("%d keys, want 1 (nothing created)", len(keys))
		}
	}
}

// TestAdminSettingsUsersKeysViewerForbidden: a viewer's POST to every route
// of this area is refused and changes nothing.
func TestAdminSettingsUsersKeysViewerForbidden(t *testing.T) {
	e := newEnv(t)
	a := e.signIn(consent.RoleAdmin)
	v := e.signIn(consent.RoleViewer)
	keys, _ := e.svc.APIKeys(context.Background())
	keyID, adminID := strconv.FormatInt(keys[0].ID, 10), strconv.FormatInt(a.user.ID, 10)
	posts := []struct {
		path string
		form url.Values
	}{
		{"/admin/settings", url.Values{"optin_mode": {"double"}}},
		{"/admin/users", url.Values{"email": {"x@example.com"}, "role": {"admin"}}},
		{"/admin/users/" + adminID + "/role", url.Values{"role": {"viewer"}}},
		{"/admin/users/" + adminID + "/revoke", url.Values{"confirm": {"yes"}}},
		{"/admin/api-keys", url.Values{"name": {"x"}, "scope": {"write"}}},
		{"/admin/api-keys/" + keyID + "/revoke", url.Values{"confirm": {"yes"}}},
	}
	for _, p := range posts {
		if resp := v.post(p.path, p.form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s = %d, want 403", p.path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/admin/settings", "/admin/users", "/admin/api-keys", "/admin/account"} {
		if resp, _ := v.get(path); resp.StatusCode != http.StatusOK {
			t.Errorf("viewer GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	users, _ := e.svc.ListAdmins(context.Background())
	keys, _ = e.svc.APIKeys(context.Background())
	if e.svc.Mode() != consent.Single || len(users) != 2 || len(keys) != 1 || !keys[0].RevokedAt.IsZero() || !signedIn(t, a) {
		t.Errorf("a viewer changed something")
	}
	if n := len(e.auditActions()); n != 1 { // only the sign-ins
		t.Errorf("audit = %v, want sign-ins only", e.auditActions())
	}
}
