package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// adminClient is a browser-like client of the console: it keeps cookies and
// shows redirects instead of following them.
type adminClient struct {
	e    *env
	http *http.Client
	user consent.AdminUser
	pass string
}

const testPassword = "correct horse battery staple"

// signIn creates a console user with role and signs it in.
func (e *env) signIn(role consent.Role) *adminClient {
	e.t.Helper()
	email := fmt.Sprintf("%s%d@example.com", role, time.Now().UnixNano())
	u, _, err := e.svc.AddAdmin(context.Background(), email, testPassword, role)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	c.user, c.pass = u, testPassword
	resp := c.post("/admin/login", url.Values{"email": {email}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in status = %d, want 303", resp.StatusCode)
	}
	return c
}

// client returns a console client with no session.
func (e *env) client() *adminClient {
	jar, _ := cookiejar.New(nil)
	return &adminClient{e: e, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *adminClient) get(path string) (*http.Response, string) {
	c.e.t.Helper()
	resp, err := c.http.Get(c.e.ts.URL + path)
	if err != nil {
		c.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (c *adminClient) post(path string, form url.Values, header ...string) *http.Response {
	c.e.t.Helper()
	req, _ := http.NewRequest("POST", c.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// adminRoutePatterns reads the console's routes from routes.go, so that the
// security tests below cover every route added later without being told.
func adminRoutePatterns(t *testing.T, method, wrapper string) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"` + method + ` (/admin[^"]*)",\s*s\.` + wrapper + `\(`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		out = append(out, concretePath(m[1]))
	}
	if len(out) == 0 && wrapper != "adminOnly" {
		t.Fatalf("no %s routes wrapped in %s found in routes.go", method, wrapper)
	}
	return out
}

// concretePath fills a pattern's wildcards with a plausible value.
func concretePath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(pattern, "1")
}

func TestAdminRequiresSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, path := range append(adminRoutePatterns(t, "GET", "viewer"), adminRoutePatterns(t, "GET", "adminOnly")...) {
		resp, _ := c.get(path)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
			t.Errorf("GET %s without a session: status %d, Location %q; want 303 to the sign-in page", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, path := range append(adminRoutePatterns(t, "POST", "viewer"), adminRoutePatterns(t, "POST", "adminOnly")...) {
		if resp := c.post(path, url.Values{}); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: status %d, want 401", path, resp.StatusCode)
		}
	}
}

func TestAdminCrossSitePostForbidden(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	paths := append(adminRoutePatterns(t, "POST", "viewer"), adminRoutePatterns(t, "POST", "adminOnly")...)
	paths = append(paths, "/admin/login")
	for _, path := range paths {
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			if resp := c.post(path, url.Values{}, h...); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %s: status %d, want 403", path, h[0], h[1], resp.StatusCode)
			}
		}
	}
	// The session survived: the forged sign-out did nothing.
	if resp, _ := c.get("/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("after cross-site posts, GET /admin/ = %d, want 200", resp.StatusCode)
	}
}

func TestAdminViewerCannotChange(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleViewer)
	for _, path := range adminRoutePatterns(t, "POST", "adminOnly") {
		if resp := c.post(path, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	if resp, body := c.get("/admin/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="admin-role">viewer<`) {
		t.Errorf("viewer's dashboard: status %d, role badge missing", resp.StatusCode)
	}
}

func TestAdminSessionCookieFlags(t *testing.T) {
	for _, base := range []string{"http://optin.test", "https://optin.example"} {
		t.Run(base, func(t *testing.T) {
			e := newEnv(t, func(c *Config, _ *consent.Config) { c.BaseURL = base })
			e.svc.AddAdmin(context.Background(), "a@example.com", testPassword, consent.RoleAdmin)
			resp := e.post("/admin/login", url.Values{"email": {"a@example.com"}, "password": {testPassword}})
			var got *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == sessionCookie {
					got = ck
				}
			}
			if got == nil {
				t.Fatal("no session cookie set on sign-in")
			}
			if !got.HttpOnly || got.SameSite != http.SameSiteLaxMode || got.Path != "/admin" || got.MaxAge != 12*3600 {
				t.Errorf("cookie = %+v, want HttpOnly, SameSite=Lax, Path=/admin, MaxAge=43200", got)
			}
			if wantSecure := strings.HasPrefix(base, "https"); got.Secure != wantSecure {
				t.Errorf("Secure = %v, want %v", got.Secure, wantSecure)
			}
		})
	}
}

// replay sends a request carrying exactly the given cookies.
func (e *env) replay(path string, cookies []*http.Cookie) *http.Response {
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAdminCookieReplayedAfterLogoutOrPasswordChange(t *testing.T) {
	for _, end := range []string{"logout", "password"} {
		t.Run(end, func(t *testing.T) {
			e := newEnv(t)
			c := e.signIn(consent.RoleAdmin)
			u, _ := url.Parse(e.ts.URL + "/admin/")
			saved := c.http.Jar.Cookies(u)
			if resp := e.replay("/admin/", saved); resp.StatusCode != http.StatusOK {
				t.Fatalf("the saved cookie does not work before: %d", resp.StatusCode)
			}
			switch end {
			case "logout":
				if resp := c.post("/admin/logout", nil); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("logout = %d", resp.StatusCode)
				}
			case "password":
				if _, err := e.svc.ChangePassword(context.Background(), c.user.ID, testPassword, "a brand new long password"); err != nil {
					t.Fatal(err)
				}
			}
			resp := e.replay("/admin/", saved)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login") {
				t.Errorf("replayed cookie after %s: status %d, Location %q; want 303 to sign-in", end, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestAdminSessionTimeouts(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	// Active every 20 minutes: the idle timeout never strikes, the absolute one does.
	for i := 0; i < 35; i++ {
		e.clock.t = e.clock.t.Add(20 * time.Minute)
		resp, _ := c.get("/admin/")
		alive := e.clock.t.Sub(c.user.CreatedAt) <= 12*time.Hour
		if got := resp.StatusCode == http.StatusOK; got != alive {
			t.Fatalf("after %v: signed in = %v, want %v", e.clock.t.Sub(c.user.CreatedAt), got, alive)
		}
		if !alive {
			break
		}
	}
	c = e.signIn(consent.RoleAdmin)
	e.clock.t = e.clock.t.Add(31 * time.Minute)
	if resp, _ := c.get("/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: status %d, want 303 to sign-in", resp.StatusCode)
	}
}

func TestAdminSignInAnswersAlikeAndThrottles(t *testing.T) {
	e := newEnv(t)
	e.svc.AddAdmin(context.Background(), "a@example.com", testPassword, consent.RoleAdmin)
	attempt := func(email, password, ip string) (int, string) {
		req, _ := http.NewRequest("POST", e.ts.URL+"/admin/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		msg := regexp.MustCompile(`data-testid="login-error">([^<]*)<`).FindStringSubmatch(string(body))
		if msg == nil {
			return resp.StatusCode, ""
		}
		return resp.StatusCode, msg[1]
	}
	wrongCode, wrongMsg := attempt("a@example.com", "not the password", "")
	unknownCode, unknownMsg := attempt("nobody@example.com", "not the password", "")
	if wrongCode != http.StatusUnauthorized || wrongCode != unknownCode || wrongMsg != unknownMsg || wrongMsg == "" {
		t.Errorf("wrong password = %d %q, unknown user = %d %q; want the same 401 answer", wrongCode, wrongMsg, unknownCode, unknownMsg)
	}
	for i := 0; i < signInPerAccount-1; i++ {
		attempt("a@example.com", "still wrong", "")
	}
	// Five failures for the account: even the right password is now refused.
	if code, _ := attempt("a@example.com", testPassword, ""); code != http.StatusTooManyRequests {
		t.Errorf("sign-in after 5 failures = %d, want 429", code)
	}
	e.clock.t = e.clock.t.Add(16 * time.Minute)
	if code, _ := attempt("a@example.com", testPassword, ""); code != http.StatusSeeOther {
		t.Errorf("sign-in after the window = %d, want 303", code)
	}
	// Per IP: many accounts from one address.
	e.clock.t = e.clock.t.Add(16 * time.Minute)
	for i := 0; i < signInPerIP; i++ {
		attempt(fmt.Sprintf("guess%d@example.com", i), "x", "")
	}
	if code, _ := attempt("a@example.com", testPassword, ""); code != http.StatusTooManyRequests {
		t.Errorf("sign-in after %d failures from one IP = %d, want 429", signInPerIP, code)
	}
}

func TestAdminSignInRedirectStaysInside(t *testing.T) {
	for next, want := range map[string]string{
		"/admin/contacts?q=1":  "/admin/contacts?q=1",
		"https://evil.example": "/admin",
		"//evil.example/admin": "/admin",
		"/admin\\@evil":        "/admin",
		"/optin":               "/admin",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestAdminAuditsSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	c.post("/admin/logout", nil)
	rows, err := e.db.SQL().Query(`SELECT actor, action FROM admin_audit ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var actor, action string
		rows.Scan(&actor, &action)
		got = append(got, action+":"+actor)
	}
	want := []string{"sign_in:" + c.user.Email, "sign_out:" + c.user.Email}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit = %v, want %v", got, want)
	}
}

func TestAdminLoginSaysHowToCreateTheFirstAdmin(t *testing.T) {
	e := newEnv(t)
	if _, body := e.get("/admin/login"); !strings.Contains(body, `data-testid="no-admins"`) || !strings.Contains(body, "optin admin add") {
		t.Errorf("with no users, the sign-in page does not say how to create one")
	}
	e.svc.AddAdmin(context.Background(), "a@example.com", testPassword, consent.RoleAdmin)
	if _, body := e.get("/admin/login"); strings.Contains(body, `data-testid="no-admins"`) {
		t.Errorf("with a user, the sign-in page still says nobody can sign in")
	}
}
