package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/store"
)

// TestBehindReverseProxy runs a real optin behind a small TLS-less reverse
// proxy (httputil.ReverseProxy, appending to X-Forwarded-For like nginx's
// $proxy_add_x_forwarded_for). The test client plays a CDN in front of it
// that names the person's address 203.0.113.77. With the proxy's network
// trusted the evidence keeps the person's /24 and the form limit counts each
// person; with no trusted proxies the headers are ignored.
func TestBehindReverseProxy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, trusted, wantIP string
		limited               bool
	}{
		{"trusted", "127.0.0.0/8", "203.0.113.0/24", false},
		{"not trusted", "", "127.0.0.0/24", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := sandboxEnv(t)
			env["OPTIN_TRUSTED_PROXIES"] = tt.trusted
			env["OPTIN_FORM_LIMIT"] = "1"
			base := startOptin(t, env)
			target, _ := url.Parse(base)
			proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
				pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
				pr.SetXForwarded()
			}})
			t.Cleanup(proxy.Close)

			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			post := func(phone, person string) int {
				req, _ := http.NewRequest("POST", proxy.URL+"/optin",
					strings.NewReader(url.Values{"phone": {phone}, "category": {"offers"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", person)
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := post("+4915120000001", "203.0.113.77"); got != http.StatusSeeOther {
				t.Fatalf("POST /optin through the proxy: status %d, want 303", got)
			}
			second := post("+4915120000002", "198.51.100.8")
			if want := map[bool]int{false: http.StatusSeeOther, true: http.StatusTooManyRequests}[tt.limited]; second != want {
				t.Errorf("another person through the same proxy: status %d, want %d", second, want)
			}

			db, err := store.Open(context.Background(), env["OPTIN_DB"])
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var got string
			if err := db.SQL().QueryRow(`SELECT ip FROM events WHERE source = 'web_form' ORDER BY id LIMIT 1`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.wantIP {
				t.Errorf("evidence ip = %q, want %q", got, tt.wantIP)
			}
		})
	}
}
