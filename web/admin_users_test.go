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

// signInAs signs an existing user in on a fresh client.
func (e *env) signInAs(email, password string) (*adminClient, *http.Response) {
	e.t.Helper()
	c := e.client()
	resp := c.post("/admin/login", url.Values{"email": {email}, "password": {password}})
	return c, resp
}

func signedIn(t *testing.T, c *adminClient) bool {
	t.Helper()
	resp, _ := c.get("/admin/")
	return resp.StatusCode == http.StatusOK
}

func TestAdminUsersListAndCreate(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	resp, body := c.settingsPost("/admin/users", url.Values{"email": {"New.Person@Example.com"}, "role": {"viewer"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="user-created"`) {
		t.Fatalf("create = %d, no result", resp.StatusCode)
	}
	m := regexp.MustCompile(`data-testid="user-password">([^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the generated password is not shown")
	}
	n, r := e.signInAs("new.person@example.com", m[1])
	if r.StatusCode != http.StatusSeeOther || !signedIn(t, n) {
		t.Fatalf("the new user cannot sign in with the password shown: %d", r.StatusCode)
	}
	// The password is shown once: the list never shows it.
	_, list := c.get("/admin/users")
	if strings.Contains(list, m[1]) {
		t.Errorf("the list shows the password")
	}
	for _, want := range []string{"new.person@example.com", c.user.Email, `data-testid="user-form"`} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %s", want)
		}
	}
	if strings.Count(list, `data-testid="user-row"`) != 2 {
		t.Errorf("list has %d rows, want 2", strings.Count(list, `data-testid="user-row"`))
	}
	// A set password works too.
	resp, body = c.settingsPost("/admin/users", url.Values{"email": {"set@example.com"}, "role": {"admin"}, "password": {"a password of my own"}})
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `data-testid="user-password"`) {
		t.Errorf("create with a password = %d, or it shows a password", resp.StatusCode)
	}
	if _, r := e.signInAs("set@example.com", "a password of my own"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in with the set password = %d", r.StatusCode)
	}
	if got := e.auditActions()["user_create"]; got != 2 {
		t.Errorf("user_create audited %d times, want 2", got)
	}
	// The viewer sees the list, without the forms.
	_, vlist := n.get("/admin/users")
	if !strings.Contains(vlist, "set@example.com") || strings.Contains(vlist, `data-testid="user-form"`) || strings.Contains(vlist, `data-testid="user-revoke"`) {
		t.Errorf("viewer's list is wrong")
	}
}

func TestAdminUsersCreateInvalid(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
	}{
		{"bad e-mail", url.Values{"email": {"not-an-address"}, "role": {"viewer"}}},
		{"unknown role", url.Values{"email": {"x@example.com"}, "role": {"owner"}}},
		{"short password", url.Values{"email": {"x@example.com"}, "role": {"viewer"}, "password": {"short"}}},
		{"taken e-mail", url.Values{"email": {"taken@example.com"}, "role": {"viewer"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.signIn(consent.RoleAdmin)
			e.svc.AddAdmin(context.Background(), "taken@example.com", "", consent.RoleViewer)
			resp, body := c.settingsPost("/admin/users", tt.form)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="field-error"`) {
				t.Errorf("status = %d, want 422 with the field marked", resp.StatusCode)
			}
			if users, _ := e.svc.ListAdmins(context.Background()); len(users) != 2 {
				t.Errorf("%d users, want 2 (nothing added)", len(users))
			}
		})
	}
}

func TestAdminUsersRoleChangeEndsSessions(t *testing.T) {
	e := newEnv(t)
	a := e.signIn(consent.RoleAdmin)
	v := e.signIn(consent.RoleViewer)
	id := strconv.FormatInt(v.user.ID, 10)
	resp := a.post("/admin/users/"+id+"/role", url.Values{"role": {"admin"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("role change = %d", resp.StatusCode)
	}
	if signedIn(t, v) {
		t.Errorf("the user's session survived the role change")
	}
	u, _ := e.svc.AdminByID(context.Background(), v.user.ID)
	if u.Role != consent.RoleAdmin {
		t.Errorf("role = %s, want admin", u.Role)
	}
	if e.auditActions()["user_role"] != 1 {
		t.Errorf("role change not audited")
	}
	if resp := a.post("/admin/users/"+id+"/role", url.Values{"role": {"owner"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown role = %d, want 422", resp.StatusCode)
	}
	if resp := a.post("/admin/users/999/role", url.Values{"role": {"admin"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown user = %d, want 404", resp.StatusCode)
	}
}

func TestAdminUsersRevokeEndsSessionsAtOnce(t *testing.T) {
	e := newEnv(t)
	a := e.signIn(consent.RoleAdmin)
	v := e.signIn(consent.RoleViewer)
	path := "/admin/users/" + strconv.FormatInt(v.user.ID, 10) + "/revoke"
	resp, body := a.settingsPost(path, url.Values{})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="confirm"`) || !strings.Contains(body, v.user.Email) {
		t.Fatalf("revoke without confirmation = %d, want the confirmation page", resp.StatusCode)
	}
	if !signedIn(t, v) {
		t.Fatalf("the confirmation step revoked already")
	}
	if resp := a.post(path, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if signedIn(t, v) {
		t.Errorf("the revoked user's session still works")
	}
	if _, r := e.signInAs(v.user.Email, testPassword); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the revoked user signs in: %d", r.StatusCode)
	}
	if _, list := a.get("/admin/users"); !strings.Contains(list, "revoked") {
		t.Errorf("the list does not show the revocation")
	}
	if e.auditActions()["user_revoke"] != 1 {
		t.Errorf("revocation not audited")
	}
}

func TestAdminUsersLastAdminCannotLeave(t *testing.T) {
	e := newEnv(t)
	a := e.signIn(consent.RoleAdmin)
	e.signIn(consent.RoleViewer)
	id := strconv.FormatInt(a.user.ID, 10)
	resp, body := a.settingsPost("/admin/users/"+id+"/role", url.Values{"role": {"viewer"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="users-error"`) {
		t.Errorf("demoting the last admin = %d, want 422 with the reason", resp.StatusCode)
	}
	if resp := a.post("/admin/users/"+id+"/revoke", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("revoking the last admin = %d, want 422", resp.StatusCode)
	}
	u, _ := e.svc.AdminByID(context.Background(), a.user.ID)
	if u.Role != consent.RoleAdmin || !u.Active() || !signedIn(t, a) {
		t.Errorf("the last admin changed: %+v", u)
	}
	// With a second admin, stepping down works and ends one's own session.
	b := e.signIn(consent.RoleAdmin)
	if resp := a.post("/admin/users/"+id+"/role", url.Values{"role": {"viewer"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("stepping down with another admin = %d, want 303", resp.StatusCode)
	}
	if !signedIn(t, b) || signedIn(t, a) {
		t.Errorf("after stepping down: the other admin must stay signed in and this session end")
	}
}

func TestAdminAccountPasswordChange(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleViewer) // every user changes their own password
	other, _ := e.signInAs(c.user.Email, testPassword)
	resp, body := c.get("/admin/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="account-form"`) {
		t.Fatalf("GET /admin/account = %d", resp.StatusCode)
	}
	const next = "a completely new password"
	bad := []url.Values{
		{"current": {"wrong password!"}, "password": {next}, "password2": {next}},
		{"current": {testPassword}, "password": {next}, "password2": {next + "x"}},
		{"current": {testPassword}, "password": {"short"}, "password2": {"short"}},
	}
	for _, f := range bad {
		if resp, body := c.settingsPost("/admin/account", f); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="field-error"`) {
			t.Errorf("POST %v = %d, want 422", f, resp.StatusCode)
		}
	}
	if !signedIn(t, other) {
		t.Fatalf("a refused change ended a session")
	}
	resp, _ = c.settingsPost("/admin/account", url.Values{"current": {testPassword}, "password": {next}, "password2": {next}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change = %d, want 303", resp.StatusCode)
	}
	if !signedIn(t, c) {
		t.Errorf("the session that changed the password was signed out")
	}
	if signedIn(t, other) {
		t.Errorf("another session of the user survived the password change")
	}
	if _, r := e.signInAs(c.user.Email, testPassword); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password still works")
	}
	if _, r := e.signInAs(c.user.Email, next); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the new password does not work")
	}
	if e.auditActions()["password_change"] != 1 {
		t.Errorf("password change not audited")
	}
}
