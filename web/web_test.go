package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/store/storetest"
	"github.com/optin/optin/web/i18n"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

type env struct {
	t      testing.TB
	db     *store.DB
	svc    *consent.Service
	srv    *Server
	ts     *httptest.Server
	clock  *fixedClock
	apiKey string
}

func newEnv(t testing.TB, mutate ...func(*Config, *consent.Config)) *env {
	t.Helper()
	return newEnvAt(t, storetest.DSN(t), mutate...)
}

// newEnvAt is newEnv over the database file at path.
func newEnvAt(t testing.TB, path string, mutate ...func(*Config, *consent.Config)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &fixedClock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	ccfg := consent.Config{BusinessName: "Acme", DefaultRegion: "DE", Mode: consent.Single,
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en"}
	wcfg := Config{BaseURL: "http://optin.test", BusinessName: "Acme", DefaultRegion: "DE",
		WebhookSecret: "s3cret", FormLimit: 0, LinkKey: []byte("0123456789abcdef0123456789abcdef"),
		Health: db.Ping, Clock: clock}
	for _, m := range mutate {
		m(&wcfg, &ccfg)
	}
	svc := consent.NewService(db, clock, i18n.T, ccfg)
	srv := New(wcfg, svc, slog.New(slog.DiscardHandler))
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	key, _, err := svc.CreateAPIKey(ctx, "test", "read")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, svc: svc, srv: srv, ts: ts, clock: clock, apiKey: key}
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) post(path string, form url.Values, header ...string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) get(path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// webhook posts body to /webhook with the shared secret (none when
// secret is "") and returns the status.
func (e *env) webhook(body, secret string) int {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/webhook", strings.NewReader(body))
	if secret != "" {
		req.Header.Set("X-Optin-Secret", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// rows counts what an opt-in would add, to check that errors change nothing.
func (e *env) rows() map[string]int {
	out := map[string]int{}
	for _, table := range []string{"contacts", "events", "consents", "outbox", "wordings", "inbox"} {
		var n int
		if err := e.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func TestOptInForm(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get("/optin?phone=%2B4915112345678&lang=de")
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	for _, want := range []string{`lang="de"`, "Acme", `value="+4915112345678"`, `value="offers"`, `value="order_updates"`,
		`value="recommendations"`, "Angebote", `href="/terms?lang=de"`, `data-testid="wording"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Contains(body, " checked") {
		t.Errorf("a checkbox is pre-ticked")
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q, want frame-ancestors 'none'", got)
	}
}

func TestOptInFormEmbed(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.FrameOrigins = []string{"https://shop.example"} })
	resp, body := e.get("/optin?embed=1")
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors https://shop.example") {
		t.Errorf("CSP = %q, want frame-ancestors https://shop.example", got)
	}
	if resp.Header.Get("X-Frame-Options") != "" {
		t.Errorf("X-Frame-Options set on an embeddable page")
	}
	if !strings.Contains(body, `action="/optin?embed=1"`) {
		t.Errorf("embedded form does not post back in embed mode")
	}
}

func TestOptInLanguageFromHeader(t *testing.T) {
	e := newEnv(t)
	_, body := e.get("/optin", "Accept-Language", "pt-BR,pt;q=0.9,en;q=0.5")
	if !strings.Contains(body, `lang="pt"`) {
		t.Errorf("Accept-Language pt-BR did not give Portuguese")
	}
}

func TestOptInSubmit(t *testing.T) {
	e := newEnv(t)
	resp := e.post("/optin", url.Values{"phone": {"+49 151 1234 5678"}, "category": {"offers"}, "lang": {"en"}},
		"User-Agent", "test-agent", "Referer", "https://acme.example/join")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/optin/thanks?t=") {
		t.Fatalf("Location = %q", loc)
	}
	resp, body := e.get(loc)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="thanks"`) || !strings.Contains(body, "Offers") {
		t.Errorf("thank-you page: status %d, body lacks thanks marker or category", resp.StatusCode)
	}
	// The whole number, so that a typo shows; but not in the URL, which
	// ends up in logs and histories.
	if !strings.Contains(body, "+4915112345678") {
		t.Errorf("thank-you page does not show the whole number")
	}
	if strings.Contains(loc, "15112345678") || strings.Contains(loc, "NTExMjM0NTY3O") {
		t.Errorf("thank-you URL carries the number: %s", loc)
	}
	if got := e.rows(); got["contacts"] != 1 || got["events"] != 1 || got["outbox"] != 1 {
		t.Errorf("rows = %v, want 1 contact, 1 event, 1 welcome", got)
	}
	c, err := e.svc.Contact(context.Background(), "+4915112345678")
	if err != nil {
		t.Fatal(err)
	}
	events, _ := e.db.Events(context.Background(), c.Contact.ID)
	ev := events[0].Evidence
	if ev.Source != consent.SourceWebForm || ev.UserAgent != "test-agent" || ev.IP != "127.0.0.0/24" ||
		ev.PageURL != "https://acme.example/join" || ev.FormVersion == "" {
		t.Errorf("evidence = %+v", ev)
	}
	w, _ := e.db.Wording(context.Background(), events[0].WordingHash)
	if !strings.Contains(w.Text, "Acme") {
		t.Errorf("wording = %q, want the text shown with the business name", w.Text)
	}

	// A second submission within 24 hours changes nothing and sends nothing.
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	if got := e.rows(); got["events"] != 1 || got["outbox"] != 1 {
		t.Errorf("after repeat: rows = %v, want still 1 event and 1 welcome", got)
	}
}

func TestOptInSubmitErrors(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 10<<20)
	tests := []struct {
		name       string
		form       url.Values
		raw        string
		wantStatus int
		wantText   string
	}{
		{"invalid number", url.Values{"phone": {"+49 12"}, "category": {"offers"}}, "", 422, "too short"},
		{"letters", url.Values{"phone": {"1-800-FLOWERS"}, "category": {"offers"}}, "", 422, `data-testid="error-phone"`},
		{"empty number", url.Values{"category": {"offers"}}, "", 422, `aria-invalid="true"`},
		{"no category", url.Values{"phone": {"+4915112345678"}}, "", 422, `data-testid="error-category"`},
		{"unknown category", url.Values{"phone": {"+4915112345678"}, "category": {"offers", "lottery"}}, "", 422, `data-testid="error-category"`},
		{"unknown country", url.Values{"phone": {"015112345678"}, "country": {"ZZ"}, "category": {"offers"}}, "", 422, `data-testid="error-summary"`},
		{"10 MB body", nil, "phone=%2B4915112345678&category=offers&x=" + big, 413, ""},
		{"malformed body", nil, "phone=%zz", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.rows()
			body := tc.raw
			if tc.form != nil {
				body = tc.form.Encode()
			}
			resp, err := http.Post(e.ts.URL+"/optin", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if !strings.Contains(string(b), tc.wantText) {
				t.Errorf("body lacks %q", tc.wantText)
			}
			if got := e.rows(); got["contacts"] != before["contacts"] || got["events"] != before["events"] ||
				got["outbox"] != before["outbox"] || got["wordings"] != before["wordings"] {
				t.Errorf("rows changed: %v → %v", before, got)
			}
		})
	}
}

func TestOptInErrorKeepsInput(t *testing.T) {
	e := newEnv(t)
	resp := e.post("/optin", url.Values{"phone": {"+49 12"}, "category": {"offers"}, "lang": {"es"}})
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if !strings.Contains(body, `value="+49 12"`) || !strings.Contains(body, "checked") || !strings.Contains(body, `lang="es"`) {
		t.Errorf("re-rendered form lost the input or the language")
	}
}

func TestOptInRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.FormLimit = 2 })
	codes := []int{}
	for i := 0; i < 3; i++ {
		resp := e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
		codes = append(codes, resp.StatusCode)
	}
	if codes[2] != http.StatusTooManyRequests {
		t.Errorf("codes = %v, want the third to be 429", codes)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t)
	resp := e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}},
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.StatusCode)
	}
	if got := e.rows(); got["contacts"] != 0 {
		t.Errorf("a cross-site post stored a contact")
	}
}

func TestThanksForged(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{"", "abc", "eyJsIjoiZW4ifQ.forged"} {
		if resp, _ := e.get("/optin/thanks?t=" + url.QueryEscape(tok)); resp.StatusCode != 404 {
			t.Errorf("token %q: status = %d, want 404", tok, resp.StatusCode)
		}
	}
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	bearer := "Bearer " + e.apiKey
	tests := []struct {
		name, path, auth string
		wantStatus       int
		want             map[string]any
	}{
		{"no key", "/api/v1/check?phone=%2B4915112345678&category=offers", "", 401, nil},
		{"bad key", "/api/v1/check?phone=%2B4915112345678&category=offers", "Bearer optin_nope", 401, nil},
		{"opted in", "/api/v1/check?phone=%2B4915112345678&category=offers", bearer, 200, map[string]any{"allowed": true, "reason": "opted_in"}},
		{"other format", "/api/v1/check?phone=0151%2012345678&category=offers", bearer, 200, map[string]any{"allowed": true, "reason": "opted_in"}},
		{"no consent", "/api/v1/check?phone=%2B4915112345678&category=order_updates", bearer, 200, map[string]any{"allowed": false, "reason": "no_consent"}},
		{"unknown contact", "/api/v1/check?phone=%2B4915199999999&category=offers", bearer, 200, map[string]any{"allowed": false, "reason": "unknown_contact"}},
		{"unknown category", "/api/v1/check?phone=%2B4915112345678&category=lottery", bearer, 200, map[string]any{"allowed": false, "reason": "unknown_category"}},
		{"invalid phone", "/api/v1/check?phone=12&category=offers", bearer, 400, nil},
		{"missing phone", "/api/v1/check?category=offers", bearer, 400, nil},
		{"contact", "/api/v1/contacts/+4915112345678", bearer, 200, map[string]any{"phone": "+4915112345678", "status": "active", "language": "en", "window_open_until": nil}},
		{"unknown contact show", "/api/v1/contacts/+4915199999999", bearer, 404, nil},
		{"unknown route", "/api/v1/nope", bearer, 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.get(tc.path, "Authorization", tc.auth)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tc.wantStatus, body)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			if tc.wantStatus >= 400 {
				if eb, ok := got["error"].(map[string]any); !ok || eb["code"] == "" || eb["message"] == "" {
					t.Errorf("error body = %s, want {error:{code,message}}", body)
				}
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
	_, body := e.get("/api/v1/contacts/+4915112345678", "Authorization", bearer)
	var c struct {
		Consents map[string]struct{ State, Source string }
	}
	json.Unmarshal([]byte(body), &c)
	if c.Consents["offers"].State != "opted_in" || c.Consents["offers"].Source != "web_form" {
		t.Errorf("consents = %+v", c.Consents)
	}
}

func TestWebhookIntake(t *testing.T) {
	e := newEnv(t)
	status := `{"statuses":[{"id":"wamid.1","recipient_id":"4915112345678","status":"delivered","timestamp":"1700000000"}]}`
	tests := []struct {
		name, body, secret string
		wantStatus         int
		wantStored         int
	}{
		{"no secret", status, "", 401, 0},
		{"wrong secret", status, "s3creT", 401, 0},
		{"malformed", `{"statuses":[`, "s3cret", 400, 0},
		{"not JSON", `statuses=1`, "s3cret", 400, 0},
		// JSON of a shape optin does not know is kept (the inbox worker
		// marks it ignored, with the reason): a 400 would be resent for days.
		{"unknown shape", `[1,2]`, "s3cret", 200, 1},
		{"ok", status, "s3cret", 200, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.rows()["inbox"]
			req, _ := http.NewRequest("POST", e.ts.URL+"/webhook", strings.NewReader(tc.body))
			if tc.secret != "" {
				req.Header.Set("X-Optin-Secret", tc.secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := e.rows()["inbox"] - before; got != tc.wantStored {
				t.Errorf("stored %d, want %d", got, tc.wantStored)
			}
		})
	}
}

func TestWebhookMetaSignature(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.AppSecret = "appsecret"; c.WebhookSecret = "" })
	body := `{"object":"whatsapp_business_account","entry":[]}`
	for _, tc := range []struct {
		sig  string
		want int
	}{
		{"sha256=" + hmacHex("appsecret", body), 200},
		{"sha256=" + hmacHex("other", body), 401},
		{"sha256=zz", 401},
	} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/webhook", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", tc.sig)
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("signature %q: status = %d, want %d", tc.sig, resp.StatusCode, tc.want)
		}
	}
}

func TestWebhookHandshake(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.VerifyToken = "tok" })
	if resp, body := e.get("/webhook?hub.mode=subscribe&hub.verify_token=tok&hub.challenge=42"); resp.StatusCode != 200 || body != "42" {
		t.Errorf("handshake = %d %q, want 200 42", resp.StatusCode, body)
	}
	if resp, _ := e.get("/webhook?hub.mode=subscribe&hub.verify_token=bad&hub.challenge=42"); resp.StatusCode != 403 {
		t.Errorf("bad token: status = %d, want 403", resp.StatusCode)
	}
}

func TestHealthAndNotFound(t *testing.T) {
	e := newEnv(t)
	if resp, body := e.get("/healthz"); resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz = %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.get("/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown page: status = %d, want 404", resp.StatusCode)
	}
	if resp, _ := e.get("/static/css/app.css"); resp.StatusCode != 200 {
		t.Errorf("static css: status = %d, want 200", resp.StatusCode)
	}
}

func TestDoubleOptInStaysPending(t *testing.T) {
	e := newEnv(t, func(_ *Config, c *consent.Config) { c.Mode = consent.Double })
	resp := e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	_, body := e.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "Confirm") && !strings.Contains(body, "confirm") {
		t.Errorf("thank-you page does not ask to confirm")
	}
	_, body = e.get("/api/v1/check?phone=%2B4915112345678&category=offers", "Authorization", "Bearer "+e.apiKey)
	if !strings.Contains(body, `"allowed":false`) || !strings.Contains(body, `"reason":"pending"`) {
		t.Errorf("check = %s, want not allowed, pending", body)
	}
	c, _ := e.svc.Contact(context.Background(), "+4915112345678")
	msgs, _ := e.db.Messages(context.Background(), c.Contact.ID)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the welcome", len(msgs))
	}
	tpl := msgs[0].Message.Template
	if len(tpl.Buttons) == 0 || tpl.Buttons[0].Payload != consent.PayloadConfirm {
		t.Errorf("welcome buttons = %+v, want Confirm first", tpl.Buttons)
	}
}

func TestAPIShowsWindow(t *testing.T) {
	e := newEnv(t)
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	at := e.clock.t.Add(-time.Hour)
	err := e.svc.Handle(context.Background(), consent.Inbound{Messages: []consent.InboundMessage{{
		ID: "wamid.W1", From: "4915112345678", Type: consent.InText, Text: "hi", Timestamp: at}}})
	if err != nil {
		t.Fatal(err)
	}
	_, body := e.get("/api/v1/contacts/+4915112345678", "Authorization", "Bearer "+e.apiKey)
	var c struct {
		WindowOpenUntil *time.Time `json:"window_open_until"`
	}
	json.Unmarshal([]byte(body), &c)
	if c.WindowOpenUntil == nil || !c.WindowOpenUntil.Equal(at.Add(24*time.Hour)) {
		t.Errorf("window_open_until = %v, want %v", c.WindowOpenUntil, at.Add(24*time.Hour))
	}
}

func TestOptInRateLimitPerIP(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.FormLimit = 2 })
	var codes []int
	for _, phone := range []string{"+4915112345671", "+4915112345672", "+4915112345673"} {
		resp := e.post("/optin", url.Values{"phone": {phone}, "category": {"offers"}})
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 303 || codes[1] != 303 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("codes = %v, want 303, 303, 429: three different numbers from one IP", codes)
	}
	if got := e.rows(); got["contacts"] != 2 {
		t.Errorf("%d contacts, want 2: the refused submission stores nothing", got["contacts"])
	}
}

func TestWebhookBodyCapped(t *testing.T) {
	e := newEnv(t)
	body := `{"statuses":[` + strings.Repeat(`{"id":"x","status":"sent"},`, 60000) + `{}]}`
	req, _ := http.NewRequest("POST", e.ts.URL+"/webhook", strings.NewReader(body))
	req.Header.Set("X-Optin-Secret", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d for a %d-byte body, want 413", resp.StatusCode, len(body))
	}
	if got := e.rows()["inbox"]; got != 0 {
		t.Errorf("stored %d inbox rows, want 0", got)
	}
}
