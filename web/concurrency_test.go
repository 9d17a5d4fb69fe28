package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// concurrentDeadline bounds a concurrency test. It is not a speed goal: the
// requests take milliseconds; a store that deadlocks holds them until
// SQLite's busy timeout (10 s) and then fails them, and this deadline turns
// a hang that never ends into a failure that names it.
const concurrentDeadline = 60 * time.Second

// concurrentClient keeps enough connections for every goroutine of a test.
func concurrentClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends one request and returns its status and body, or the error that
// stopped it (the deadline included).
func do(ctx context.Context, c *http.Client, method, u, contentType, body string, header ...string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), err
}

// runAll starts every job at the same moment (after a shared barrier) and
// reports each one that failed.
func runAll(t *testing.T, jobs []func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), concurrentDeadline)
	defer cancel()
	start := make(chan struct{})
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() {
			<-start
			errs[i] = job(ctx)
		})
	}
	close(start)
	wg.Wait()
	n := 0
	for i, err := range errs {
		if err != nil {
			n++
			if n <= 10 {
				t.Errorf("job %d: %v", i, err)
			}
		}
	}
	if n > 10 {
		t.Errorf("… and %d more failed jobs", n-10)
	}
}

// formPost is one opt-in through the form; it wants the 303 to the thank-you
// page.
func formPost(c *http.Client, base, phone string, cats ...string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		form := url.Values{"phone": {phone}, "category": cats, "lang": {"en"}}
		status, _, err := do(ctx, c, "POST", base+"/optin", "application/x-www-form-urlencoded", form.Encode())
		if err != nil {
			return fmt.Errorf("form post: %w", err)
		}
		if status != http.StatusSeeOther {
			return fmt.Errorf("form post: status %d", status)
		}
		return nil
	}
}

// TestOptInSameNumbersAtOnce is the double click under load: 32 clients walk
// the same 8 numbers at the same moment on a freshly opened store, so every
// number is posted by several clients at once and every statement is
// prepared for the first time while other transactions wait. The store
// before issue 11 deadlocked here: a transaction holding SQLite's write
// lock waited for a pooled connection to prepare a statement on, while
// every other connection waited in BEGIN IMMEDIATE for that write lock.
func TestOptInSameNumbersAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := concurrentClient()
	var jobs []func(context.Context) error
	for range 32 {
		jobs = append(jobs, func(ctx context.Context) error {
			for i := range 8 {
				if err := formPost(c, e.ts.URL, fmt.Sprintf("+4915112340%03d", i), "offers", "order_updates")(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	runAll(t, jobs)
	if got := e.rows(); got["contacts"] != 8 || got["consents"] != 16 || got["events"] != 16 || got["outbox"] != 8 {
		t.Errorf("rows = %v, want 8 contacts, 16 consents, 16 events, 8 welcomes", got)
	}
}

// TestOptInBurstOnFreshStore is a burst of new numbers on a fresh process:
// 256 posts from 64 clients at once.
func TestOptInBurstOnFreshStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := concurrentClient()
	var jobs []func(context.Context) error
	for g := range 64 {
		jobs = append(jobs, func(ctx context.Context) error {
			for i := range 4 {
				if err := formPost(c, e.ts.URL, fmt.Sprintf("+491511235%04d", g*4+i), "offers")(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	runAll(t, jobs)
	if got := e.rows(); got["contacts"] != 256 || got["events"] != 256 || got["outbox"] != 256 {
		t.Errorf("rows = %v, want 256 contacts, 256 events, 256 welcomes", got)
	}
}
