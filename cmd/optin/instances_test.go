package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optin/optin/store"
	"github.com/optin/optin/store/storetest"
)

// TestInstancesOnPostgres runs three optin processes on one PostgreSQL
// database, behind no proxy: each request goes to the instance the test
// picks. Opt-ins are spread over them, every inbound message arrives four
// times at different instances at once, and one instance is killed while
// it sends. Every opt-in is stored, every inbound message is answered once,
// no number gets its welcome twice, the survivors finish the dead one's
// queue, and the ledger verifies.
func TestInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	dsn := storetest.Postgres(t)
	fake := newFakeProvider(t, func(n int, w http.ResponseWriter) bool {
		time.Sleep(40 * time.Millisecond) // a send stays in flight a while
		return false
	})
	env := baseEnv(t, "360dialog", fake.URL)
	env["OPTIN_DB"] = dsn
	env["OPTIN_FORM_LIMIT"] = "0"
	env["OPTIN_SEND_LEASE"] = "3s" // a dead instance's claims end soon
	var inst []*instance
	for i := range 3 {
		inst = append(inst, startInstance(t, env, fmt.Sprintf("OPTIN_INSTANCE=test-%d", i)))
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	optIn := func(base, number string) error {
		resp, err := client.PostForm(base+"/optin", url.Values{"phone": {number}, "category": {"offers"}})
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("POST /optin %s: status %d, want 303", number, resp.StatusCode)
		}
		return nil
	}

	// 100 opt-ins over the three instances, and 40 people writing in, each
	// message delivered four times to the instances in turn, all at once.
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 100 {
		wg.Go(func() {
			if err := optIn(inst[i%3].base, fmt.Sprintf("+4915120%06d", i)); err != nil {
				errs <- err
			}
		})
	}
	for i := range 40 {
		from := fmt.Sprintf("4915130%06d", i)
		body := cloudText(fmt.Sprintf("wamid.multi.%d", i), from, "hello")
		for k := range 4 {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", inst[(i+k)%3].base+"/webhook", strings.NewReader(body))
				req.Header.Set("X-Optin-Secret", env["OPTIN_WEBHOOK_SECRET"])
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("webhook %d: status %d", i, resp.StatusCode)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	sentTo := func() map[string]int {
		got := map[string]int{}
		n, _ := fake.counts()
		for i := range n {
			body := fake.request(i).Body
			if to, ok := body["to"]; ok {
				got[fmt.Sprint(to)]++
			} else {
				// A read receipt (mark as read) names the message, not the
				// person: once per message too.
				got["read:"+fmt.Sprint(body["message_id"])]++
			}
		}
		return got
	}
	waitFor(t, 60*time.Second, "100 welcomes and 40 answers", func() bool {
		people := 0
		for to := range sentTo() {
			if !strings.HasPrefix(to, "read:") {
				people++
			}
		}
		return people >= 140
	})

	// Thirty more opt-ins on the first instance, killed while it sends.
	for i := range 30 {
		if err := optIn(inst[0].base, fmt.Sprintf("+4915140%06d", i)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := fake.counts()
	waitFor(t, 20*time.Second, "the second round's first sends", func() bool {
		n, _ := fake.counts()
		return n >= before+3
	})
	inst[0].cmd.Process.Signal(syscall.SIGKILL)
	inst[0].cmd.Wait()

	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, 60*time.Second, "the survivors to empty the queue", func() bool {
		var open int
		db.SQL().QueryRow(`SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')`).Scan(&open)
		return open == 0
	})

	var contacts, optedIn int
	db.SQL().QueryRow(`SELECT count(*) FROM contacts WHERE phone LIKE '+4915120%' OR phone LIKE '+4915140%'`).Scan(&contacts)
	db.SQL().QueryRow(`SELECT count(*) FROM consents WHERE state = 'opted_in'`).Scan(&optedIn)
	if contacts != 130 || optedIn != 130 {
		t.Errorf("%d contacts and %d opted-in consents stored, want 130 and 130", contacts, optedIn)
	}
	got := sentTo()
	prefixes := map[string]int{}
	for to := range got {
		prefixes[to[:min(len(to), 8)]]++
	}
	t.Logf("recipients by prefix (read: receipts): %v", prefixes)
	for to, k := range got {
		if k > 1 {
			t.Errorf("%s got %d messages, want one", to, k)
		}
	}
	for i := range 40 {
		if from := fmt.Sprintf("4915130%06d", i); got[from]+got["+"+from] != 1 {
			t.Errorf("%s was answered %d times, want once", from, got[from]+got["+"+from])
		}
	}
	var unknown, sent int
	db.SQL().QueryRow(`SELECT count(*) FROM outbox WHERE status = 'unknown'`).Scan(&unknown)
	db.SQL().QueryRow(`SELECT count(*) FROM outbox WHERE status = 'sent'`).Scan(&sent)
	t.Logf("%d sent, %d unknown (in flight when the instance died), %d distinct recipients at the provider", sent, unknown, len(got))

	var out strings.Builder
	if err := run(context.Background(), []string{"audit", "verify", "--db", dsn}, func(string) string { return "" },
		nil, &out, io.Discard); err != nil {
		t.Errorf("optin audit verify: %v\n%s", err, out.String())
	}
}

// TestSettingsAndSessionsAcrossInstances: two optin servers on one
// PostgreSQL database. A setting saved on one is in force on the other
// within the change poll (500 ms); a user revoked on one is signed out on
// both. The elapsed time is logged, not asserted (the machine's load would
// make any bound flaky); the poll interval is what bounds it.
func TestSettingsAndSessionsAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.Postgres(t)
	const password = "correct horse battery staple"
	for _, u := range []struct{ email, role string }{{"ops@example.com", "admin"}, {"viewer@example.com", "viewer"}} {
		if err := run(ctx, []string{"admin", "add", u.email, "--role", u.role, "--db", dsn}, func(string) string { return "" },
			strings.NewReader(password+"\n"), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	env := baseEnv(t, "sandbox", "")
	env["OPTIN_DB"] = dsn
	a, b := startOptin(t, env), startOptin(t, env)

	signIn := func(base, email string) *http.Client {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(base+"/admin/login", url.Values{"email": {email}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in of %s: status %d, want 303", email, resp.StatusCode)
		}
		return c
	}
	page := func(c *http.Client, u string) (int, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	admin := signIn(a, "ops@example.com")
	viewer := signIn(b, "viewer@example.com") // its cookie serves on a as well: one installation
	for _, base := range []string{a, b} {
		if code, _ := page(viewer, base+"/admin/"); code != http.StatusOK {
			t.Fatalf("viewer on %s: status %d, want 200", base, code)
		}
	}

	// The daily cap saved on a, shown by b's settings page.
	resp, err := admin.PostForm(a+"/admin/settings", url.Values{"daily_cap": {"4321"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save settings on a: status %d, want 303", resp.StatusCode)
	}
	saved := time.Now()
	waitFor(t, 30*time.Second, "b to show a's daily cap", func() bool {
		_, body := page(viewer, b+"/admin/settings")
		return strings.Contains(body, `value="4321"`)
	})
	t.Logf("a's setting was in force on b %v after a saved it", time.Since(saved).Round(time.Millisecond))

	// The viewer revoked on a: signed out on a and on b.
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id int64
	if err := db.SQL().QueryRow(`SELECT id FROM admin_users WHERE email = ?`, "viewer@example.com").Scan(&id); err != nil {
		t.Fatal(err)
	}
	resp, err = admin.PostForm(fmt.Sprintf("%s/admin/users/%d/revoke", a, id), url.Values{"confirm": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke on a: status %d, want 303", resp.StatusCode)
	}
	for _, base := range []string{a, b} {
		resp, err := viewer.Get(base + "/admin/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login") {
			t.Errorf("revoked viewer on %s: status %d to %q, want 303 to the sign-in page", base, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
