package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optin/optin/store"
)

// TestKillDuringGroupCommit kills a real optin with SIGKILL while 32
// clients post webhooks to it (so that group commits are under way), then
// opens its database: every webhook that was answered 200 must be there,
// still in the inbox or already processed into the inbound messages.
func TestKillDuringGroupCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	env := baseEnv(t, "sandbox", "")
	inst := startInstance(t, env)
	base := inst.base

	acked := postUntilKilled(t, inst, 300, func(ctx context.Context, g, i int) (*http.Request, string) {
		id := fmt.Sprintf("wamid.kill.%d.%d", g, i)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/webhook",
			strings.NewReader(cloudText(id, fmt.Sprintf("49151123%05d", g%8), "hello")))
		req.Header.Set("X-Optin-Secret", env["OPTIN_WEBHOOK_SECRET"])
		return req, id
	}, http.StatusOK)

	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kept := map[string]bool{}
	idRE := regexp.MustCompile(`wamid\.kill\.\d+\.\d+`)
	for _, q := range []string{`SELECT provider_message_id FROM inbound`, `SELECT CAST(body AS TEXT) FROM inbox`} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			for _, id := range idRE.FindAllString(s, -1) {
				kept[id] = true
			}
		}
		rows.Close()
	}
	lost := 0
	for _, id := range acked {
		if !kept[id] {
			lost++
			if lost <= 5 {
				t.Errorf("webhook %s was answered 200 but is neither in the inbox nor processed", id)
			}
		}
	}
	t.Logf("%d webhooks acknowledged before SIGKILL, %d found after, %d lost", len(acked), len(kept), lost)
	if lost > 5 {
		t.Errorf("… %d lost in all", lost)
	}
}

// postUntilKilled runs 32 clients sending the requests next makes (client
// g's i-th, and the id it stands for) to the instance, kills it with
// SIGKILL once want of them were answered with status, and returns the ids
// of every request answered so.
func postUntilKilled(t *testing.T, inst *instance, want int, next func(ctx context.Context, g, i int) (*http.Request, string), status int) []string {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				req, id := next(ctx, g, i)
				resp, err := client.Do(req)
				if err != nil {
					return // the process is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == status {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		})
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d answered requests", want), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= want
	})
	inst.cmd.Process.Signal(syscall.SIGKILL)
	inst.cmd.Wait()
	cancel()
	wg.Wait()
	return acked
}

// TestKillDuringSharedCommits kills a real optin with SIGKILL while 32
// clients post the form with new numbers (so that shared commits, with their
// trigram rows left to the end of each, are under way), then opens its
// database: every post answered 303 has its contact and its opt-in event,
// the search index has one row per contact and is not left deferred, and
// the ledger verifies.
func TestKillDuringSharedCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	env := baseEnv(t, "sandbox", "")
	env["OPTIN_FORM_LIMIT"] = "0"
	inst := startInstance(t, env)
	acked := postUntilKilled(t, inst, 300, func(ctx context.Context, g, i int) (*http.Request, string) {
		phone := fmt.Sprintf("+4915177%02d%04d", g, i)
		form := url.Values{"phone": {phone}, "category": {"offers", "order_updates"}}
		req, _ := http.NewRequestWithContext(ctx, "POST", inst.base+"/optin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, phone
	}, http.StatusSeeOther)

	ctx := context.Background()
	db, err := store.Open(ctx, env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	lost := 0
	for _, phone := range acked {
		if count(`SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id
			WHERE c.phone = ? AND e.type = 'opt_in'`, phone) != 2 {
			if lost++; lost <= 5 {
				t.Errorf("%s was answered 303 but its contact and two opt-ins are not there", phone)
			}
		}
	}
	contacts := count(`SELECT count(*) FROM contacts`)
	t.Logf("%d posts answered 303 before SIGKILL, %d contacts after, %d lost", len(acked), contacts, lost)
	if docs := count(`SELECT count(*) FROM contact_digits_docsize`); docs != contacts {
		t.Errorf("trigram index: %d rows for %d contacts", docs, contacts)
	}
	if n := count(`SELECT deferred FROM contact_digits_deferred`); n != 0 {
		t.Errorf("contact_digits_deferred = %d after the kill, want 0", n)
	}
	if rep, err := db.VerifyLedger(ctx, time.Now()); err != nil || rep.FirstBad != 0 {
		t.Errorf("ledger: %+v, %v; want intact", rep, err)
	}
}
