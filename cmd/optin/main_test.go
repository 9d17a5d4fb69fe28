package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// TestMain lets the test binary play optin itself, so that the crash test
// can start, SIGKILL and restart a real process without building one.
func TestMain(m *testing.M) {
	if os.Getenv("OPTIN_TEST_BE_OPTIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// fakeProvider speaks a provider's wire format and records what it got.
type fakeProvider struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	// answer decides the reply to request n (0-based); nil accepts.
	answer   func(n int, w http.ResponseWriter) bool
	accepted int
	// checks are the numbers of v1 contacts checks; numbers ending in
	// 0000 are not on WhatsApp.
	checks []string
}

// answerContacts answers POST /v1/contacts as the on-premise API does.
func (f *fakeProvider) answerContacts(w http.ResponseWriter, body map[string]any) {
	list, _ := body["contacts"].([]any)
	input, _ := list[0].(string)
	f.mu.Lock()
	f.checks = append(f.checks, input)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(input, "0000") {
		fmt.Fprintf(w, `{"contacts":[{"input":%q,"status":"invalid"}]}`, input)
		return
	}
	fmt.Fprintf(w, `{"contacts":[{"input":%q,"status":"valid","wa_id":%q}]}`, input, strings.TrimPrefix(input, "+"))
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

func newFakeProvider(t *testing.T, answer func(n int, w http.ResponseWriter) bool) *fakeProvider {
	return newFakeProviderOn(t, nil, answer)
}

// newFakeProviderOn serves on ln when given, else on a new port.
func newFakeProviderOn(t *testing.T, ln net.Listener, answer func(n int, w http.ResponseWriter) bool) *fakeProvider {
	f := &fakeProvider{answer: answer}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Path == "/v1/contacts" { // the v1 contacts check (web/whatsapp/contacts.go)
			f.answerContacts(w, body)
			return
		}
		f.mu.Lock()
		n := len(f.requests)
		f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		f.mu.Unlock()
		if f.answer != nil && f.answer(n, w) {
			return
		}
		f.mu.Lock()
		f.accepted++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"%v","wa_id":"%v"}],"messages":[{"id":"wamid.TEST%d"}]}`,
			body["to"], body["to"], n)
	}))
	if ln != nil {
		f.Listener.Close()
		f.Listener = ln
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProvider) counts() (requests, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests), f.accepted
}

func (f *fakeProvider) request(i int) recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[i]
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// startOptin runs optin in this process with env and returns its URL.
func startOptin(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, getenv, nil, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return readURL(t, pr)
}

// instance is one optin process of a test.
type instance struct {
	cmd  *exec.Cmd
	base string
}

// startInstance runs optin as a process of its own with env, so that it can
// be killed with SIGKILL.
func startInstance(t *testing.T, env map[string]string, extra ...string) *instance {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "OPTIN_TEST_BE_OPTIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, extra...)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &instance{cmd: cmd, base: readURL(t, out)}
}

// readURL reads optin's stdout until it says where it listens.
func readURL(t *testing.T, r io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "optin listening on "); ok {
				found <- u
			}
		}
		io.Copy(io.Discard, r)
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("optin did not start")
		return ""
	}
}

func submit(t *testing.T, base string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /optin: status %d, want 303", resp.StatusCode)
	}
}

func baseEnv(t *testing.T, provider, url string) map[string]string {
	return map[string]string{
		"OPTIN_DB":                 filepath.Join(t.TempDir(), "optin.db"),
		"OPTIN_PROVIDER":           provider,
		"OPTIN_PROVIDER_URL":       url,
		"OPTIN_PROVIDER_TOKEN":     "tok-123",
		"OPTIN_BUSINESS_NUMBER":    "+4930123456",
		"OPTIN_WEBHOOK_SECRET":     "hook",
		"OPTIN_PHONE_NUMBER_ID":    "1065",
		"OPTIN_APP_SECRET":         "app",
		"OPTIN_TEMPLATE_NAMESPACE": "ns-42",
	}
}

// TestProvidersReceiveTheWelcome walks the MT flow against each provider's
// wire format: POST /optin → the fake provider gets the welcome template.
func TestProvidersReceiveTheWelcome(t *testing.T) {
	tests := []struct {
		provider, path, header, headerValue string
		check                               func(t *testing.T, body map[string]any)
	}{
		{"360dialog", "/messages", "D360-API-KEY", "tok-123", func(t *testing.T, b map[string]any) {
			if b["messaging_product"] != "whatsapp" {
				t.Errorf("messaging_product = %v, want whatsapp", b["messaging_product"])
			}
		}},
		{"cloud", "/1065/messages", "Authorization", "Bearer tok-123", func(t *testing.T, b map[string]any) {
			if b["messaging_product"] != "whatsapp" {
				t.Errorf("messaging_product = %v, want whatsapp", b["messaging_product"])
			}
		}},
		{"v1", "/v1/messages", "WA-API-KEY", "tok-123", func(t *testing.T, b map[string]any) {
			if _, ok := b["messaging_product"]; ok {
				t.Errorf("v1 body has messaging_product")
			}
			tpl, _ := b["template"].(map[string]any)
			lang, _ := tpl["language"].(map[string]any)
			if tpl["namespace"] != "ns-42" || lang["policy"] != "deterministic" || lang["code"] != "en" {
				t.Errorf("v1 template = %v, want namespace ns-42 and deterministic en", tpl)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			fake := newFakeProvider(t, nil)
			base := startOptin(t, baseEnv(t, tc.provider, fake.URL))
			submit(t, base)
			waitFor(t, 10*time.Second, "the welcome message", func() bool { _, a := fake.counts(); return a == 1 })
			got := fake.request(0)
			if got.Method != "POST" || got.Path != tc.path {
				t.Errorf("request = %s %s, want POST %s", got.Method, got.Path, tc.path)
			}
			if v := got.Header.Get(tc.header); v != tc.headerValue {
				t.Errorf("%s = %q, want %q", tc.header, v, tc.headerValue)
			}
			if got.Body["to"] != "4915112345678" || got.Body["type"] != "template" {
				t.Errorf("to = %v, type = %v; want 4915112345678, template", got.Body["to"], got.Body["type"])
			}
			// The preference link's token is filled in at send time: the
			// URL button carries a real token, never the placeholder.
			raw, _ := json.Marshal(got.Body)
			if strings.Contains(string(raw), "optin_preference_link") || !strings.Contains(string(raw), `"sub_type":"url"`) {
				t.Errorf("template = %s, want a URL button with a token", raw)
			}
			tc.check(t, got.Body)
		})
	}
}

// TestThrottledTwiceThenDelivered: 429 twice, then 200 → one message.
func TestThrottledTwiceThenDelivered(t *testing.T) {
	fake := newFakeProvider(t, func(n int, w http.ResponseWriter) bool {
		if n < 2 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}`)
			return true
		}
		return false
	})
	base := startOptin(t, baseEnv(t, "360dialog", fake.URL))
	submit(t, base)
	waitFor(t, 20*time.Second, "delivery after throttling", func() bool { _, a := fake.counts(); return a == 1 })
	time.Sleep(1500 * time.Millisecond)
	if r, a := fake.counts(); r != 3 || a != 1 {
		t.Errorf("requests = %d, accepted = %d; want 3 and 1", r, a)
	}
}

// TestProviderDownAtSubmission: the provider is unreachable when the person
// submits; the welcome goes out once it is back.
func TestProviderDownAtSubmission(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused
	base := startOptin(t, baseEnv(t, "360dialog", "http://"+addr))
	submit(t, base)
	time.Sleep(500 * time.Millisecond) // the first attempt fails

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not listen on %s again: %v", addr, err)
	}
	fake := newFakeProviderOn(t, ln, nil) // back up on the same address
	waitFor(t, 30*time.Second, "delivery after the provider came back", func() bool { _, a := fake.counts(); return a == 1 })
}

// TestCrashBetweenCommitAndSend SIGKILLs optin while the welcome message is
// on its way to the provider and checks that after a restart it is
// delivered exactly once, and never again.
func TestCrashBetweenCommitAndSend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	release := make(chan struct{})
	var holding sync.Once
	held := make(chan struct{})
	fake := newFakeProvider(t, func(n int, w http.ResponseWriter) bool {
		if n == 0 {
			holding.Do(func() { close(held) })
			<-release // hold the first request until optin is dead
			return true
		}
		return false
	})
	defer close(release)
	env := baseEnv(t, "360dialog", fake.URL)

	start := func() (*exec.Cmd, string) {
		i := startInstance(t, env)
		return i.cmd, i.base
	}

	cmd, base := start()
	submit(t, base)
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the welcome message never reached the provider")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, a := fake.counts(); a != 0 {
		t.Fatalf("accepted %d before the crash, want 0", a)
	}

	// The send was cut off: the provider may have taken it. After the
	// restart it is unknown and not sent again; a later message goes out,
	// which shows the dispatcher ran past it (it sends in queue order).
	_, base = start()
	submitNumber(t, base, "+4915112345679")
	waitFor(t, 15*time.Second, "the next message after restart", func() bool { _, a := fake.counts(); return a == 1 })
	if n, _ := fake.counts(); n != 2 {
		t.Errorf("provider got %d requests, want 2 (the cut-off one is not sent again)", n)
	}
	if to := fake.request(1).Body["to"]; to != "4915112345679" {
		t.Errorf("second request to %v, want the new number", to)
	}
	db := openReadOnly(t, env["OPTIN_DB"])
	var status string
	if err := db.QueryRow(`SELECT status FROM outbox ORDER BY id LIMIT 1`).Scan(&status); err != nil || status != "unknown" {
		t.Errorf("cut-off message status = %q (%v), want unknown", status, err)
	}
}

// submitNumber opts number in through the form.
func submitNumber(t *testing.T, base, number string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/optin", url.Values{"phone": {number}, "category": {"offers"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /optin: status %d, want 303", resp.StatusCode)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		"OPTIN_PROVIDER":        "cloud",
		"OPTIN_DEFAULT_REGION":  "XX",
		"OPTIN_OPTIN_MODE":      "triple",
		"OPTIN_SEND_RATE":       "fast",
		"OPTIN_FORM_LIMIT":      "-1",
		"OPTIN_FRAME_ORIGINS":   "not a url",
		"OPTIN_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal",
	}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, nil, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started with a broken configuration")
	}
	for _, want := range []string{"OPTIN_PROVIDER_TOKEN", "OPTIN_PHONE_NUMBER_ID", "OPTIN_APP_SECRET", "OPTIN_DEFAULT_REGION",
		"OPTIN_OPTIN_MODE", "OPTIN_SEND_RATE", "OPTIN_FORM_LIMIT", "OPTIN_FRAME_ORIGINS", "OPTIN_BUSINESS_NUMBER", "OPTIN_TRUSTED_PROXIES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestFlagsBeatEnvironment(t *testing.T) {
	env := map[string]string{"OPTIN_OPTIN_MODE": "triple"}
	fs := newFlagSet()
	c, err := loadConfig([]string{"--optin-mode", "double", "--db", "x.db"}, func(k string) string { return env[k] }, fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.OptInMode != "double" || c.DB != "x.db" {
		t.Errorf("mode = %q, db = %q; want the flags' values", c.OptInMode, c.DB)
	}
}

func TestVersionAndAPIKey(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil ||
		!strings.HasPrefix(out.String(), "optin ") {
		t.Errorf("version: %q, %v", out.String(), err)
	}
	db := filepath.Join(t.TempDir(), "optin.db")
	out.Reset()
	if err := run(context.Background(), []string{"apikey", "create", "crm", "--db", db}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	if !strings.HasPrefix(key, "optin_") || len(key) < 40 {
		t.Errorf("key = %q", key)
	}
	if err := run(context.Background(), []string{"apikey", "create", "", "--db", db}, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
		t.Errorf("empty name accepted")
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
		t.Errorf("unknown command accepted")
	}
}

// TestSandboxUndeliverable: a number ending in 0000 is "not on WhatsApp" in
// the sandbox; its failed status (131026) travels through the real webhook
// and the check API then answers undeliverable.
func TestSandboxUndeliverable(t *testing.T) {
	env := sandboxEnv(t)
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "test", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	base := startOptin(t, env)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"/optin", url.Values{"phone": {"+4915112340000"}, "category": {"offers"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check := func() string {
		req, _ := http.NewRequest("GET", base+"/api/v1/check?phone=%2B4915112340000&category=offers", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct{ Reason string }
		json.NewDecoder(resp.Body).Decode(&got)
		return got.Reason
	}
	waitFor(t, 10*time.Second, "the contact to become undeliverable", func() bool { return check() == "undeliverable" })
}

// TestShutdownFinishesInFlightSend stops optin while the welcome message is
// at the provider: the send completes and is recorded before run returns.
func TestShutdownFinishesInFlightSend(t *testing.T) {
	held := make(chan struct{})
	var once sync.Once
	fake := newFakeProvider(t, func(n int, w http.ResponseWriter) bool {
		once.Do(func() { close(held) })
		time.Sleep(300 * time.Millisecond) // still working when the shutdown starts
		return false
	})
	env := baseEnv(t, "360dialog", fake.URL)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, nil, pw, io.Discard)
		pw.Close()
	}()
	base := readURL(t, pr)
	submit(t, base)
	<-held
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, a := fake.counts(); a != 1 {
		t.Fatalf("accepted %d, want 1", a)
	}
	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stats, err := db.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats[consent.StatusSent] != 1 {
		t.Errorf("outbox = %v, want the welcome recorded as sent", stats)
	}
}

func TestWebhookRegister(t *testing.T) {
	var got recorded
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got = recorded{r.Method, r.URL.Path, r.Header.Clone(), body}
		io.WriteString(w, `{"url":"https://optin.example/webhook"}`)
	}))
	defer fake.Close()
	env := baseEnv(t, "360dialog", fake.URL)
	env["OPTIN_BASE_URL"] = "https://optin.example"
	var out strings.Builder
	if err := run(context.Background(), []string{"webhook", "register"}, func(k string) string { return env[k] }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.Path != "/v1/configs/webhook" || got.Header.Get("D360-API-KEY") != "tok-123" {
		t.Errorf("request = %s %s (key %q)", got.Method, got.Path, got.Header.Get("D360-API-KEY"))
	}
	headers, _ := got.Body["headers"].(map[string]any)
	if got.Body["url"] != "https://optin.example/webhook" || headers["X-Optin-Secret"] != "hook" {
		t.Errorf("body = %v", got.Body)
	}
	env["OPTIN_PROVIDER"] = "sandbox"
	if err := run(context.Background(), []string{"webhook", "register"}, func(k string) string { return env[k] }, nil, io.Discard, io.Discard); err == nil {
		t.Errorf("sandbox registration did not refuse")
	}
}
