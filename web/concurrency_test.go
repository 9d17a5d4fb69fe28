package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
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

// TestWritesAtOnce sends 64 writes of every kind at the same moment to a
// freshly opened store: form posts (each number twice at once), webhooks
// (each body twice), API consents (each twice with one Idempotency-Key),
// admin opt-outs and erasures. Every write must be answered as it would be
// alone, be stored exactly once, and leave a ledger that verifies.
func TestWritesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "optin.db")
	setup := newEnvAt(t, path)
	var optOut, erase []consent.Contact
	for i := range 8 {
		optOut = append(optOut, setup.optInContact(fmt.Sprintf("+4915112361%03d", i), "offers", "order_updates"))
		erase = append(erase, setup.optInContact(fmt.Sprintf("+4915112362%03d", i), "offers"))
	}
	setup.ts.Close()
	if err := setup.db.Close(); err != nil {
		t.Fatal(err)
	}

	e := newEnvAt(t, path) // a fresh process on the same file
	admin := e.signIn(consent.RoleAdmin)
	key := e.writeKey("crm")
	c := concurrentClient()
	base := e.ts.URL
	var jobs []func(context.Context) error
	formPhone := func(i int) string { return fmt.Sprintf("+4915112363%03d", i) }
	apiPhone := func(i int) string { return fmt.Sprintf("+4915112364%03d", i) }
	hook := func(i int) string {
		return fmt.Sprintf(`{"statuses":[{"id":"wamid.load%d","recipient_id":"4915112365%03d","status":"delivered","timestamp":"1700000000"}]}`, i, i)
	}
	for i := range 8 {
		for range 2 {
			jobs = append(jobs, formPost(c, base, formPhone(i), "offers"))
			jobs = append(jobs, func(ctx context.Context) error {
				status, body, err := do(ctx, c, "POST", base+"/webhook", "application/json", hook(i), "X-Optin-Secret", "s3cret")
				if err != nil || status != http.StatusOK {
					return fmt.Errorf("webhook: %d %.100s %v", status, body, err)
				}
				return nil
			})
			jobs = append(jobs, func(ctx context.Context) error {
				body := fmt.Sprintf(`{"phone":%q,"category":"offers","state":"opted_in","occurred_at":"2026-10-30T08:00:00Z"}`, apiPhone(i))
				status, out, err := do(ctx, c, "POST", base+"/api/v1/consents", "application/json", body,
					"Authorization", "Bearer "+key, "Idempotency-Key", fmt.Sprintf("load-%d", i))
				if err != nil || status != http.StatusCreated {
					return fmt.Errorf("api consent: %d %.100s %v", status, out, err)
				}
				return nil
			})
		}
		jobs = append(jobs, func(ctx context.Context) error {
			form := url.Values{"category": {"offers"}, "confirm": {"yes"}}
			status, _, err := do(ctx, admin.http, "POST", fmt.Sprintf("%s/admin/contacts/%d/opt-out", base, optOut[i].ID),
				"application/x-www-form-urlencoded", form.Encode())
			if err != nil || status != http.StatusSeeOther {
				return fmt.Errorf("admin opt-out: %d %v", status, err)
			}
			return nil
		})
		jobs = append(jobs, func(ctx context.Context) error {
			form := url.Values{"confirm": {"yes"}}
			status, _, err := do(ctx, admin.http, "POST", fmt.Sprintf("%s/admin/contacts/%d/erase", base, erase[i].ID),
				"application/x-www-form-urlencoded", form.Encode())
			if err != nil || status != http.StatusSeeOther {
				return fmt.Errorf("admin erase: %d %v", status, err)
			}
			return nil
		})
	}
	if len(jobs) != 64 {
		t.Fatalf("%d jobs, want 64", len(jobs))
	}
	runAll(t, jobs)

	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := e.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 8 {
		for _, p := range []string{formPhone(i), apiPhone(i)} {
			if n := count(`SELECT count(*) FROM contacts WHERE phone = ?`, p); n != 1 {
				t.Errorf("%s: %d contacts, want 1", p, n)
			}
			if n := count(`SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id
				WHERE c.phone = ? AND e.type = 'opt_in'`, p); n != 1 {
				t.Errorf("%s: %d opt-in events, want 1", p, n)
			}
		}
		if n := count(`SELECT count(*) FROM outbox o JOIN contacts c ON c.id = o.contact_id WHERE c.phone = ?`, formPhone(i)); n != 1 {
			t.Errorf("%s: %d welcomes, want 1", formPhone(i), n)
		}
		if n := count(`SELECT count(*) FROM inbox WHERE body = ?`, []byte(hook(i))); n != 2 {
			t.Errorf("webhook %d stored %d times, want 2 (each acknowledged call)", i, n)
		}
		if n := count(`SELECT count(*) FROM events WHERE contact_id = ? AND type = 'opt_out' AND category = 'offers'`, optOut[i].ID); n != 1 {
			t.Errorf("opt-out %d: %d events, want 1", i, n)
		}
		states := e.states(optOut[i].ID)
		if states["offers"] != consent.OptedOut || states["order_updates"] != consent.OptedIn {
			t.Errorf("opt-out %d: states %v, want offers opted out, order_updates opted in", i, states)
		}
		if _, err := e.db.ContactByID(ctx, erase[i].ID); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("erased contact %d: %v, want not found", i, err)
		}
		stones, err := e.db.Tombstones(ctx, e.svc.PhoneHash(erase[i].Phone))
		if err != nil || len(stones) != 1 {
			t.Errorf("erased contact %d: %d tombstones (%v), want 1", i, len(stones), err)
		}
	}
	rep, err := e.db.VerifyLedger(ctx, e.clock.Now())
	if err != nil || rep.FirstBad != 0 {
		t.Errorf("ledger: %+v, %v; want intact", rep, err)
	}
	// The trigram index of the console's search (SQLite) has one row per
	// contact: the form posts' rows were added at the end of their shared
	// commits, the erased contacts' rows are gone.
	if docs, contacts := count(`SELECT count(*) FROM contact_digits_docsize`), count(`SELECT count(*) FROM contacts`); docs != contacts {
		t.Errorf("trigram index: %d rows for %d contacts", docs, contacts)
	}
}
