package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/optin/optin/consent"
)

// TestSignInBurstIsThrottled sends 16 wrong passwords for one account at
// once: the limit is reserved before the check, so at most 5 are checked and
// the rest are refused, and the right password is refused after them too.
func TestSignInBurstIsThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, _, err := e.svc.AddAdmin(context.Background(), "a@example.com", testPassword, consent.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	attempt := func(password string) *http.Response {
		req, _ := http.NewRequest("POST", e.ts.URL+"/admin/login", strings.NewReader(url.Values{"email": {"a@example.com"}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		resp.Body.Close()
		return resp
	}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 16; i++ {
		wg.Go(func() {
			<-start
			resp := attempt(fmt.Sprintf("wrong %d", i))
			if resp == nil {
				return
			}
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if checked := codes[http.StatusUnauthorized]; checked > signInPerAccount || checked+codes[http.StatusTooManyRequests] != 16 {
		t.Errorf("answers = %v, want at most %d checked (401) and the rest 429", codes, signInPerAccount)
	}
	if resp := attempt(testPassword); resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password after the burst = %v, want 429", resp)
	}
}

// TestAccountPasswordCheckThrottled: the current-password check of the
// account page counts failures like a sign-in.
func TestAccountPasswordCheckThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	change := func(current string) *http.Response {
		return c.post("/admin/account", url.Values{"current": {current}, "password": {"a brand new password"}, "password2": {"a brand new password"}})
	}
	for i := 0; i < signInPerAccount; i++ {
		if resp := change("wrong"); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("wrong current password %d = %d, want 422", i, resp.StatusCode)
		}
	}
	resp := change(testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("right current password after %d wrong = %d (Retry-After %q), want 429 with Retry-After",
			signInPerAccount, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Nothing changed: the old password still signs in once the window has passed.
	e.clock.t = e.clock.t.Add(signInWindow + 1)
	if _, err := e.svc.SignIn(context.Background(), c.user.Email, testPassword); err != nil {
		t.Errorf("old password after refused change: %v", err)
	}
}

// TestSignInMemoryBounded sends 200 sign-ins at once, each for another
// account from another address, so that no per-key limit applies: only the
// bound on running argon2id checks (19 MiB each) keeps the heap small. The
// heap's reserved size never shrinks, so after the burst it shows the peak.
// Not parallel: other tests' allocations would count.
func TestSignInMemoryBounded(t *testing.T) {
	e := newEnv(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 200; i++ {
		wg.Go(func() {
			<-start
			req := httptest.NewRequest("POST", "/admin/login", strings.NewReader(url.Values{
				"email": {fmt.Sprintf("u%d@example.com", i)}, "password": {"wrong"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = fmt.Sprintf("10.0.%d.%d:1234", i/250, i%250+1)
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, req)
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	runtime.ReadMemStats(&after)
	const argonBytes = 19 << 20
	grew := int64(after.HeapSys) - int64(before.HeapSys)
	// Without the bound this burst took the heap up by 3.6 GiB.
	if limit := int64(8 * argonBytes); grew > limit {
		t.Errorf("heap grew by %d MiB under 200 sign-ins at once, want at most %d MiB", grew>>20, limit>>20)
	}
	if codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != 200 || codes[http.StatusUnauthorized] == 0 {
		t.Errorf("answers = %v, want 401s and 429s only", codes)
	}
	t.Logf("heap grew by %d MiB; answers %v", grew>>20, codes)
}
