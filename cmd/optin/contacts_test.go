package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestV1InvalidNumberUndeliverable runs optin with the v1 provider against a
// fake speaking the on-premise API: the welcome to a number the contacts
// check calls invalid is never sent to /v1/messages, and the contact becomes
// undeliverable; a valid number is checked, then sent to.
func TestV1InvalidNumberUndeliverable(t *testing.T) {
	t.Parallel()
	fake := newFakeProvider(t, nil)
	env := baseEnv(t, "v1", fake.URL)
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "test", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	base := startOptin(t, env)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, phone := range []string{"+4915112340000", "+4915112345678"} {
		resp, err := noFollow.PostForm(base+"/optin", url.Values{"phone": {phone}, "category": {"offers"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitFor(t, 10*time.Second, "the valid number's welcome", func() bool { _, a := fake.counts(); return a == 1 })
	waitFor(t, 10*time.Second, "the invalid number undeliverable", func() bool {
		_, body := apiGet(t, base, key, "/api/v1/check?phone=%2B4915112340000&category=offers")
		return strings.Contains(body, `"reason":"undeliverable"`)
	})
	fake.mu.Lock()
	checks := append([]string(nil), fake.checks...)
	var sentTo []any
	for _, r := range fake.requests {
		sentTo = append(sentTo, r.Body["to"])
	}
	fake.mu.Unlock()
	if len(checks) != 2 {
		t.Errorf("contacts checks = %v, want one per number", checks)
	}
	if len(sentTo) != 1 || sentTo[0] != "4915112345678" {
		t.Errorf("/v1/messages got %v, want only the valid number", sentTo)
	}
}
