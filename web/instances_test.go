package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store/storetest"
	"github.com/optin/optin/web/whatsapp"
)

// twoEnvs starts two optin servers, each with its own store handle, on
// one database file: two instances of one installation behind a proxy.
// They share the session key and link key, as instances must.
func twoEnvs(t *testing.T, mutate ...func(*Config, *consent.Config)) (a, b *env) {
	t.Helper()
	path := storetest.DSN(t) // PostgreSQL under OPTIN_TEST_ENGINE=postgres (.ci/run)
	key := []byte(strings.Repeat("k", 64))
	m := append([]func(*Config, *consent.Config){func(c *Config, _ *consent.Config) { c.SessionKey = key }}, mutate...)
	a = newEnvAt(t, path, m...)
	b = newEnvAt(t, path, m...)
	for _, e := range []*env{a, b} { // as serve wires it
		e.srv.limits.share(e.db, "form", e.srv.cfg.LinkKey, nil)
		e.srv.signInByUser.share(e.db, "signin_user", e.srv.cfg.LinkKey, nil)
		e.srv.signInByIP.share(e.db, "signin_ip", e.srv.cfg.LinkKey, nil)
	}
	return a, b
}

// on is the client c talking to instance e (the cookie goes along: a
// cookie jar keys by host, not port).
func (c *adminClient) on(e *env) *adminClient {
	o := *c
	o.e = e
	return &o
}

// TestFormLimitAcrossInstances: the form limit counts submissions on every
// instance together, and the database keeps no number or IP for it.
func TestFormLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoEnvs(t, func(c *Config, _ *consent.Config) { c.FormLimit = 2 })
	submit := func(e *env, phone string) int {
		t.Helper()
		resp := e.post("/optin", url.Values{"phone": {phone}, "country": {"DE"}, "categories": {"offers"}, "lang": {"en"}, "consent": {"1"}})
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := submit(a, "+4915112345601"); got == http.StatusTooManyRequests {
		t.Fatalf("first submission refused")
	}
	if got := submit(b, "+4915112345602"); got == http.StatusTooManyRequests {
		t.Fatalf("second submission (on b) refused")
	}
	// The third from the same IP, on either instance, is over the limit.
	if got := submit(a, "+4915112345603"); got != http.StatusTooManyRequests {
		t.Errorf("third submission on a: status %d, want 429", got)
	}
	if got := submit(b, "+4915112345604"); got != http.StatusTooManyRequests {
		t.Errorf("fourth submission on b: status %d, want 429", got)
	}
	var keys []string
	rows, err := a.db.SQL().Query(`SELECT key FROM form_limits`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if len(keys) == 0 {
		t.Fatal("no shared counts stored")
	}
	for _, k := range keys {
		if strings.Contains(k, "127.0.0.1") || strings.Contains(k, "15112345") {
			t.Errorf("form_limits keeps %q: an IP or number in clear", k)
		}
	}
}

// TestSignInLimitAcrossInstances: failed sign-ins of one account count on
// every instance together.
func TestSignInLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := twoEnvs(t)
	if _, _, err := a.svc.AddAdmin(context.Background(), "ops@example.com", testPassword, consent.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	for i := range signInPerAccount {
		e := []*env{a, b}[i%2]
		resp := e.client().post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {"wrong"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, e := range []*env{a, b} {
		resp := e.client().post("/admin/login", url.Values{"email": {"ops@example.com"}, "password": {testPassword}})
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("sign-in after %d failures spread over both instances: status %d, want 429", signInPerAccount, resp.StatusCode)
		}
	}
}

// TestSessionsEndOnEveryInstance: a session started on a works on b; a
// sign-out on a ends it on b, a role change or a revocation on b ends it
// on both. The session check reads the user's session version and state
// from the database on every request: no instance caches it.
func TestSessionsEndOnEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoEnvs(t)
	ctx := context.Background()
	status := func(c *adminClient, path string) int {
		t.Helper()
		resp, _ := c.get(path)
		return resp.StatusCode
	}

	ca := a.signIn(consent.RoleAdmin)
	cb := ca.on(b)
	if got := status(cb, "/admin/"); got != http.StatusOK {
		t.Fatalf("a's session on b: status %d, want 200", got)
	}
	if resp := ca.post("/admin/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: status %d", resp.StatusCode)
	}
	// The sign-out on a dropped a's cookie; b still gets the old one.
	if got := status(cb, "/admin/"); got != http.StatusSeeOther {
		t.Errorf("after sign-out on a, b: status %d, want 303 to sign-in", got)
	}

	// A role change on b ends the user's sessions (the new role applies
	// from the next sign-in) on a too.
	ca = a.signIn(consent.RoleAdmin)
	cb = ca.on(b)
	if got := status(ca, "/admin/settings"); got != http.StatusOK {
		t.Fatalf("admin on a: %d", got)
	}
	if _, err := b.svc.SetAdminRole(ctx, ca.user.ID, consent.RoleViewer); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*adminClient{ca, cb} {
		if got := status(c, "/admin/"); got != http.StatusSeeOther {
			t.Errorf("after the role change on b, %s: status %d, want 303", c.e.ts.URL, got)
		}
	}

	// A revocation on b ends a session started on a, on both.
	cv := a.signIn(consent.RoleViewer)
	cvb := cv.on(b)
	for _, c := range []*adminClient{cv, cvb} {
		if got := status(c, "/admin/"); got != http.StatusOK {
			t.Fatalf("viewer on %s: status %d, want 200", c.e.ts.URL, got)
		}
	}
	if _, err := b.svc.RevokeAdmin(ctx, cv.user.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*adminClient{cv, cvb} {
		if got := status(c, "/admin/"); got != http.StatusSeeOther {
			t.Errorf("after revocation on b, %s: status %d, want 303", c.e.ts.URL, got)
		}
	}
}

// TestAPIKeyRevokedOnEveryInstance: a key revoked on a is refused by b
// after b's next check of the change version, although b had it cached.
func TestAPIKeyRevokedOnEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoEnvs(t)
	ctx := context.Background()
	key, k, err := a.svc.CreateAPIKey(ctx, "crm", "read")
	if err != nil {
		t.Fatal(err)
	}
	check := func(e *env) int {
		t.Helper()
		resp, _ := e.get("/api/v1/contacts/%2B4915112345678", "Authorization", "Bearer "+key)
		return resp.StatusCode
	}
	if got := check(b); got == http.StatusUnauthorized {
		t.Fatalf("b refuses a live key")
	}
	if _, err := a.svc.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CheckChanges(ctx); err != nil { // serve does this every 500 ms
		t.Fatal(err)
	}
	if got := check(b); got != http.StatusUnauthorized {
		t.Errorf("b after a's revocation: status %d, want 401", got)
	}
}

// TestWebhookTwiceOnTwoInstances: the same inbound message delivered 4
// times to each of two instances at once, each instance processing its
// inbox concurrently, is handled once: one inbound row, one set of
// answers, as after a single delivery.
func TestWebhookTwiceOnTwoInstances(t *testing.T) {
	t.Parallel()
	body := func(id string) string {
		return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"Ana"},"wa_id":"4915112345678"}],"messages":[{"from":"4915112345678","id":"%s","timestamp":"1761991200","type":"text","text":{"body":"hello"}}]}}]}]}`, id)
	}
	count := func(e *env, table string) int {
		t.Helper()
		var n int
		if err := e.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	process := func(e *env) {
		t.Helper()
		w := consent.NewInboxWorker(e.svc, e.db, whatsapp.ParseWebhook, slog.New(slog.DiscardHandler))
		for range 3 {
			if _, err := w.ProcessPending(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}

	// A single delivery, for what one message leaves.
	one := newEnv(t)
	if got := one.webhook(body("wamid.ONE"), "s3cret"); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	process(one)
	wantOutbox := count(one, "outbox")
	if wantOutbox == 0 {
		t.Fatal("a message from a new number queued no answer")
	}

	a, b := twoEnvs(t)
	var wg sync.WaitGroup
	for i := range 8 {
		e := []*env{a, b}[i%2]
		wg.Go(func() {
			if got := e.webhook(body("wamid.TWICE"), "s3cret"); got != http.StatusOK {
				t.Errorf("webhook: %d", got)
			}
		})
	}
	wg.Wait()
	if got := count(a, "inbox"); got != 8 {
		t.Fatalf("inbox holds %d calls, want all 8 deliveries", got)
	}
	for _, e := range []*env{a, b} {
		wg.Go(func() { process(e) })
	}
	wg.Wait()
	if got := count(a, "inbound"); got != 1 {
		t.Errorf("inbound rows = %d, want 1", got)
	}
	if got := count(a, "outbox"); got != wantOutbox {
		t.Errorf("outbox = %d messages, want %d as after one delivery", got, wantOutbox)
	}
	var pending int
	if err := a.db.SQL().QueryRow(`SELECT count(*) FROM inbox WHERE processed_at = ''`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d calls left unprocessed", pending)
	}
}

// BenchmarkOptInSubmitLimit is BenchmarkOptInSubmit with the form limit on
// (high enough never to refuse), counted in memory and in the database
// (serve's way: the counts are shared by every instance).
func BenchmarkOptInSubmitLimit(b *testing.B) {
	for _, shared := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "database"}[shared], func(b *testing.B) {
			e := newEnv(b, func(c *Config, _ *consent.Config) { c.FormLimit = 1 << 30 })
			if shared {
				e.srv.limits.share(e.db, "form", e.srv.cfg.LinkKey, nil)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if code := postOptIn(e, int64(i)); code != http.StatusSeeOther {
					b.Fatalf("status %d", code)
				}
			}
		})
	}
}
