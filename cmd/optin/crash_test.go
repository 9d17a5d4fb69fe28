package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openReadOnly opens the database of a running optin for reading.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestKillWhileSendingNeverSendsTwice kills a real optin process with
// SIGKILL three times while it sends welcome messages to a slow provider,
// restarting it each time. Every request that reached the provider counts
// as delivered (the provider finishes it even when optin is gone). No
// number may get the welcome twice, and every message must end sent or,
// where the crash cut the send off, unknown and shown to admins so.
func TestKillWhileSendingNeverSendsTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	arrived := make(chan struct{}, 100)
	fake := newFakeProvider(t, func(n int, w http.ResponseWriter) bool {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond) // slow: a send is in flight for a while
		return false
	})
	env := baseEnv(t, "360dialog", fake.URL)
	env["OPTIN_FORM_LIMIT"] = "0"

	start := func() (*exec.Cmd, string) {
		i := startInstance(t, env)
		return i.cmd, i.base
	}

	const people = 12
	numbers := make([]string, people)
	cmd, base := start()
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+49151000%05d", i+1)
		submitNumber(t, base, numbers[i])
	}
	for round := 0; round < 3; round++ {
		// Let the first send of this run reach the provider, then kill
		// optin while the provider still holds it.
		select {
		case <-arrived:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: no send reached the provider", round)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for len(arrived) > 0 {
			<-arrived
		}
		cmd, base = start()
	}

	db := openReadOnly(t, env["OPTIN_DB"])
	waitFor(t, 30*time.Second, "every message sent or unknown", func() bool {
		var open int
		db.QueryRow(`SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')`).Scan(&open)
		return open == 0
	})

	got := map[string]int{}
	n, _ := fake.counts()
	for i := 0; i < n; i++ {
		got[fmt.Sprint(fake.request(i).Body["to"])]++
	}
	for to, k := range got {
		if k > 1 {
			t.Errorf("%s got the welcome %d times, want at most once", to, k)
		}
	}
	rows, err := db.Query(`SELECT c.id, c.phone, o.status FROM outbox o JOIN contacts c ON c.id = o.contact_id ORDER BY o.id`)
	if err != nil {
		t.Fatal(err)
	}
	var unknownContact int64
	counts := map[string]int{}
	for rows.Next() {
		var id int64
		var phone, status string
		rows.Scan(&id, &phone, &status)
		counts[status]++
		switch status {
		case "sent":
			if got[strings.TrimPrefix(phone, "+")] != 1 {
				t.Errorf("%s is sent but the provider got it %d times", phone, got[strings.TrimPrefix(phone, "+")])
			}
		case "unknown":
			unknownContact = id
		default:
			t.Errorf("%s ended %s, want sent or unknown", phone, status)
		}
	}
	rows.Close()
	if counts["sent"]+counts["unknown"] != people || counts["unknown"] == 0 {
		t.Fatalf("statuses = %v, want %d sent or unknown, some unknown (3 kills mid-send)", counts, people)
	}
	t.Logf("statuses after 3 kills: %v; provider requests: %d", counts, n)

	// An admin sees the message in doubt with a resend button.
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{"admin", "add", "ops@example.com"}, getenv,
		strings.NewReader("correct horse battery staple\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/admin/login", url.Values{"email": {"ops@example.com"}, "password": {"correct horse battery staple"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(fmt.Sprintf("%s/admin/contacts/%d", base, unknownContact))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `data-testid="outbox-unknown"`) || !strings.Contains(string(page), `data-testid="resend-`) {
		t.Errorf("contact page of a message in doubt lacks the unknown note or the resend button (status %d)", resp.StatusCode)
	}
}
