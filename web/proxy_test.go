package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/optin/optin/consent"
)

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,::ffff:172.16.0.0/108")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "172.16.0.0/12"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.0/8,nope"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("empty list = %v, %v; want none", p, err)
	}
}

// TestClientBehindProxies works out the client of requests with forwarding
// headers, from trusted and untrusted peers.
func TestClientBehindProxies(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies("10.0.0.0/8,2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{TrustedProxies: trusted}, nil, slog.New(slog.DiscardHandler))
	tests := []struct {
		name, remote string
		header       map[string][]string
		wantIP       string
		wantProto    string
	}{
		{"no proxy", "198.51.100.4:5000", nil, "198.51.100.4", "http"},
		{"untrusted peer: headers ignored", "198.51.100.4:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9"}, "X-Forwarded-Proto": {"https"}}, "198.51.100.4", "http"},
		{"untrusted peer: Forwarded ignored", "198.51.100.4:5000",
			map[string][]string{"Forwarded": {"for=203.0.113.9;proto=https"}}, "198.51.100.4", "http"},
		{"trusted proxy", "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9"}, "X-Forwarded-Proto": {"https"}}, "203.0.113.9", "https"},
		{"client forges the left of the list", "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.9"}}, "203.0.113.9", "http"},
		{"two trusted hops", "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.9, 10.1.1.1"}, "X-Forwarded-Proto": {"http, https, http"}},
			"203.0.113.9", "https"},
		{"repeated header lines are one list", "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4", "203.0.113.9"}}, "203.0.113.9", "http"},
		{"only trusted hops: the leftmost", "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"10.9.9.9, 10.1.1.1"}}, "10.9.9.9", "http"},
		{"garbage stops the walk", "10.0.0.2:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9, unknown"}}, "10.0.0.2", "http"},
		{"trusted proxy without headers", "10.0.0.2:5000", nil, "10.0.0.2", "http"},
		{"Forwarded with IPv6 and port", "10.0.0.2:5000",
			map[string][]string{"Forwarded": {`for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https`}},
			"2001:db8:cafe::17", "https"},
		{"X-Forwarded-For wins over Forwarded", "10.0.0.2:5000",
			map[string][]string{"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9", "http"},
		{"IPv6 trusted proxy", "[2001:db8:ffff::1]:443",
			map[string][]string{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9", "http"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:5000",
			map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.9"}}, "203.0.113.9", "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/optin", nil)
			r.RemoteAddr = tt.remote
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got := s.client(r)
			if got.ip != tt.wantIP || got.proto != tt.wantProto {
				t.Errorf("client = %s %s, want %s %s", got.ip, got.proto, tt.wantIP, tt.wantProto)
			}
		})
	}
}

// TestEvidenceIPThroughProxy submits the form with X-Forwarded-For from the
// test client (127.0.0.1): trusted, the event keeps the client's /24; not
// trusted, the header is ignored and the event keeps the peer's.
func TestEvidenceIPThroughProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, trusted, want string
	}{
		{"trusted proxy", "127.0.0.1/32", "203.0.113.0/24"},
		{"untrusted proxy", "10.0.0.0/8", "127.0.0.0/24"},
		{"no proxies configured", "", "127.0.0.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParseTrustedProxies(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, func(c *Config, _ *consent.Config) { c.TrustedProxies = p })
			resp := e.post("/optin", url.Values{"phone": {"+4915120000001"}, "category": {"offers"}},
				"X-Forwarded-For", "198.51.100.1, 203.0.113.77")
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", resp.StatusCode)
			}
			var got string
			if err := e.db.SQL().QueryRow(`SELECT ip FROM events WHERE source = 'web_form'`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("evidence ip = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFormLimitPerRealClient: behind a trusted proxy the per-IP form limit
// counts each client, not the proxy; an untrusted X-Forwarded-For does not
// escape it.
func TestFormLimitPerRealClient(t *testing.T) {
	t.Parallel()
	p, _ := ParseTrustedProxies("127.0.0.1/32")
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.TrustedProxies = p; c.FormLimit = 1 })
	post := func(phone, xff string) int {
		resp := e.post("/optin", url.Values{"phone": {phone}, "category": {"offers"}}, "X-Forwarded-For", xff)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("+4915120000001", "203.0.113.1"); got != http.StatusSeeOther {
		t.Errorf("first client: status %d, want 303", got)
	}
	if got := post("+4915120000002", "203.0.113.2"); got != http.StatusSeeOther {
		t.Errorf("second client through the same proxy: status %d, want 303", got)
	}
	if got := post("+4915120000003", "203.0.113.1"); got != http.StatusTooManyRequests {
		t.Errorf("first client again: status %d, want 429", got)
	}

	untrusted := newEnv(t, func(c *Config, _ *consent.Config) { c.FormLimit = 1 })
	for i, xff := range []string{"203.0.113.1", "203.0.113.2"} {
		resp := untrusted.post("/optin", url.Values{"phone": {"+491512000001" + string(rune('0'+i))}, "category": {"offers"}},
			"X-Forwarded-For", xff)
		resp.Body.Close()
		if want := []int{http.StatusSeeOther, http.StatusTooManyRequests}[i]; resp.StatusCode != want {
			t.Errorf("untrusted, post %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
}
