package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
	cmd, base := inst.cmd, inst.base

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			from := fmt.Sprintf("49151123%05d", g%8)
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("wamid.kill.%d.%d", g, i)
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/webhook", strings.NewReader(cloudText(id, from, "hello")))
				req.Header.Set("X-Optin-Secret", env["OPTIN_WEBHOOK_SECRET"])
				resp, err := client.Do(req)
				if err != nil {
					return // the process is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		})
	}
	waitFor(t, 60*time.Second, "300 acknowledged webhooks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 300
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	cancel()
	wg.Wait()

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
