package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(i+1) * time.Millisecond
		}
		return d
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", ms(1), 50, time.Millisecond},
		{"one value p99", ms(1), 99, time.Millisecond},
		{"100 p50", ms(100), 50, 50 * time.Millisecond},
		{"100 p90", ms(100), 90, 90 * time.Millisecond},
		{"100 p99", ms(100), 99, 99 * time.Millisecond},
		{"100 p100", ms(100), 100, 100 * time.Millisecond},
		{"100 p0", ms(100), 0, time.Millisecond},
		{"1000 p99", ms(1000), 99, 990 * time.Millisecond},
		{"10 p99 is the max", ms(10), 99, 10 * time.Millisecond},
		{"3 p50", ms(3), 50, 2 * time.Millisecond},
		{"4 p50", ms(4), 50, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestNewStatsSorts(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	got := newStats(d)
	want := Stats{Count: 5, Mean: 3, P50: 3, P90: 5, P99: 5, Max: 5}
	if got != want {
		t.Errorf("newStats = %+v, want %+v", got, want)
	}
	if got := newStats(nil); got != (Stats{}) {
		t.Errorf("newStats(nil) = %+v, want zero", got)
	}
}

func TestLoopbackURL(t *testing.T) {
	tests := []struct {
		raw  string
		want string // "" when refused
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"http://127.1.2.3:9000/prefix/", "http://127.1.2.3:9000/prefix"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://[::ffff:127.0.0.1]:8080", "http://[::ffff:127.0.0.1]:8080"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"https://LOCALHOST", "https://LOCALHOST"},
		{"http://10.0.0.1:8080", ""},
		{"http://192.168.1.1", ""},
		{"http://example.com", ""},
		{"https://example.com:443/webhook", ""},
		{"http://0.0.0.0:8080", ""},
		{"http://[::ffff:10.0.0.1]:8080", ""},
		{"http://127.0.0.1.nip.io", ""},
		{"http://localhost.example.com", ""},
		{"http://2130706433", ""},
		{"ftp://127.0.0.1", ""},
		{"127.0.0.1:8080", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := loopbackURL(tt.raw)
			if tt.want == "" {
				if err == nil {
					t.Errorf("loopbackURL(%q) = %q, want it refused", tt.raw, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("loopbackURL(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestClientRefusesNonLoopback(t *testing.T) {
	// The dialer checks again, so a redirect or a wrong flag can't reach
	// another address. 192.0.2.1 is TEST-NET-1: nothing is sent.
	client := newClient(1)
	_, err := client.Get("http://192.0.2.1:9/")
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("Get(192.0.2.1) error = %v, want not a loopback address", err)
	}
}

// TestRunEndToEnd runs the load against a server that checks each call the
// way optin's webhook would.
func TestRunEndToEnd(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	dupes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/webhook" || r.Header.Get("X-Optin-Secret") != "s" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Statuses []struct{ ID string }
					}
				}
			}
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := p.Entry[0].Changes[0].Value.Statuses[0].ID
		mu.Lock()
		if seen[id] {
			dupes++
		}
		seen[id] = true
		fail := len(seen)%50 == 0 // every 50th call fails, to count errors
		mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"webhook", "--url", srv.URL, "--secret", "s",
		"--n", "200", "--c", "8", "--duration", "10s", "--pause", "0"}, func(string) string { return "" }, &out, io.Discard)
	// 4 of 200 fail (plus the probe counts in seen), so run reports failure.
	if err == nil || !strings.Contains(err.Error(), "requests to optin failed") {
		t.Errorf("run error = %v, want requests to optin failed", err)
	}
	if dupes != 0 {
		t.Errorf("%d duplicate message ids, want 0", dupes)
	}
	if got, want := len(seen), 201; got != want {
		t.Errorf("distinct ids = %d, want %d (200 and the probe)", got, want)
	}
	for _, want := range []string{"echo before", "optin", "echo after", "errors (optin): 503×4", "optin / echo: throughput"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunStats(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"allowed":true,"reason":"opted_in"}`))
	}))
	defer srv.Close()
	l := Load{N: 200, C: 4, Duration: 10 * time.Second,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		},
		Verify: func(b []byte) string {
			if !bytes.Contains(b, []byte(`"allowed":true`)) {
				return "not allowed"
			}
			return ""
		}}
	got := l.Run(context.Background(), newClient(4))
	if got.Sent != 200 || got.OK != 200 || got.ErrorCount() != 0 || got.Latency.Count != 200 {
		t.Errorf("Run = sent %d ok %d errors %v latencies %d, want 200 200 0 200", got.Sent, got.OK, got.Errors, got.Latency.Count)
	}
	if s := got.Latency; !(s.P50 > 0 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max) {
		t.Errorf("Latency = %+v, want 0 < p50 ≤ p90 ≤ p99 ≤ max", s)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	l := Load{N: maxN, C: 2, Duration: time.Minute,
		NewRequest: func(rctx context.Context, i int) (*http.Request, error) {
			if i == 50 {
				cancel()
			}
			return http.NewRequestWithContext(rctx, http.MethodGet, srv.URL, nil)
		}}
	done := make(chan Result)
	go func() { done <- l.Run(ctx, newClient(2)) }()
	select {
	case got := <-done:
		if !got.Interrupted || got.Sent >= maxN {
			t.Errorf("Run after cancel = interrupted %v sent %d, want interrupted early", got.Interrupted, got.Sent)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after its context was cancelled")
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
	}))
	defer srv.Close()
	l := Load{N: maxN, C: 2, Duration: 200 * time.Millisecond,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		}}
	got := l.Run(context.Background(), newClient(2))
	if got.Interrupted || got.Sent == 0 || got.Sent >= maxN || got.Elapsed > 5*time.Second {
		t.Errorf("Run = sent %d in %v interrupted %v, want stopped by its duration", got.Sent, got.Elapsed, got.Interrupted)
	}
}

func TestValidateReportsAll(t *testing.T) {
	err := run(context.Background(), []string{"webhook", "--url", "http://10.0.0.1", "--n", "0", "--c", "0", "--duration", "2m"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with bad flags succeeded")
	}
	for _, want := range []string{"--secret", "not loopback", "--n", "--c", "--duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestWebhookBody(t *testing.T) {
	var p map[string]any
	for _, i := range []int{-1, 0, 19999} {
		if err := json.Unmarshal(webhookBody("abc", i, 1700000000), &p); err != nil {
			t.Errorf("webhookBody(%d) is not JSON: %v", i, err)
		}
	}
	if got := string(webhookBody("abc", 7, 1)); !strings.Contains(got, `"id":"wamid.LOAD.abc.7"`) {
		t.Errorf("webhookBody = %s, want id wamid.LOAD.abc.7", got)
	}
}

// TestSettleInbox: the suite waits while optin's /metrics shows webhook
// calls to process, stops waiting at zero or at its limit, and says why
// when /metrics cannot tell.
func TestSettleInbox(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "metrics need the bearer token", http.StatusUnauthorized)
			return
		}
		pending := max(0, 3-calls.Add(1))
		fmt.Fprintf(w, "# TYPE optin_webhook_inbox_pending gauge\noptin_webhook_inbox_pending %d\n", pending)
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, pending, err := settleInbox(ctx, srv.URL, "tok", time.Minute); err != nil || pending != 0 || calls.Load() != 3 {
		t.Errorf("settle: %d pending, %v, after %d reads; want 0, nil, 3", pending, err, calls.Load())
	}
	calls.Store(-100)
	if _, pending, err := settleInbox(ctx, srv.URL, "tok", 300*time.Millisecond); err != nil || pending == 0 {
		t.Errorf("settle past its limit: %d pending, %v; want some pending", pending, err)
	}
	if _, _, err := settleInbox(ctx, srv.URL, "", time.Minute); err == nil || !strings.Contains(err.Error(), "--metrics-token") {
		t.Errorf("settle without the token: %v, want a hint at --metrics-token", err)
	}
}
