package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optin/optin/store"
	"github.com/optin/optin/store/storetest"
)

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
	env["OPTIN_LEASE"] = "10s" // a dead instance's claims end soon (the least allowed)
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
			got[fmt.Sprint(fake.request(i).Body["to"])]++
		}
		return got
	}
	waitFor(t, 60*time.Second, "100 welcomes and 40 answers", func() bool { return len(sentTo()) >= 140 })

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
	t.Logf("%d sent, %d unknown (in flight when the instance died), %d requests at the provider", sent, unknown, len(got))

	var out strings.Builder
	if err := run(context.Background(), []string{"audit", "verify", "--db", dsn}, func(string) string { return "" },
		nil, &out, io.Discard); err != nil {
		t.Errorf("optin audit verify: %v\n%s", err, out.String())
	}
}
