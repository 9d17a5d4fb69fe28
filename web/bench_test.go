package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// The benchmarks call the handler directly (no sockets) so that they
// measure optin, not the loopback. BenchmarkBaseline is the same stack
// answering a static file: the ratios in docs/PERFORMANCE.md divide by it.

func benchEnv(b *testing.B) *env { return newEnv(b) }

func BenchmarkBaseline(b *testing.B) {
	e := benchEnv(b)
	req := httptest.NewRequest("GET", "/static/img/logo.svg", nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkOptInSubmit(b *testing.B) {
	e := benchEnv(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := postOptIn(e, int64(i)); code != http.StatusSeeOther {
			b.Fatalf("status %d", code)
		}
	}
}

// postOptIn posts the form for the i-th new number, in two categories, and
// returns the status.
func postOptIn(e *env, i int64) int {
	form := url.Values{"phone": {fmt.Sprintf("+49151%08d", i)}, "category": {"offers", "order_updates"}, "lang": {"en"}}
	req := httptest.NewRequest("POST", "/optin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	return w.Code
}

// BenchmarkOptInSubmitParallel posts new numbers from 16 goroutines per
// CPU at once, as under load: concurrent posts share their commits.
func BenchmarkOptInSubmitParallel(b *testing.B) {
	e := benchEnv(b)
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code := postOptIn(e, next.Add(1)); code != http.StatusSeeOther {
				b.Errorf("status %d", code)
				return
			}
		}
	})
}

func BenchmarkOptInForm(b *testing.B) {
	e := benchEnv(b)
	req := httptest.NewRequest("GET", "/optin?lang=de", nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	e := benchEnv(b)
	for i := 0; i < 1000; i++ {
		form := url.Values{"phone": {fmt.Sprintf("+49151%08d", i)}, "category": {"offers"}}
		req := httptest.NewRequest("POST", "/optin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e.srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", fmt.Sprintf("/api/v1/check?phone=%%2B49151%08d&category=offers", i%1000), nil)
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"allowed":true`) {
			b.Fatalf("status %d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkWebhookIntake(b *testing.B) {
	e := benchEnv(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"id":"wamid.%d","recipient_id":"4915112345678","status":"delivered","timestamp":"1700000000"}]}}]}]}`, i)
		req := httptest.NewRequest("POST", "/webhook", strings.NewReader(body))
		req.Header.Set("X-Optin-Secret", "s3cret")
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
