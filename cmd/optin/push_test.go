package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/store"
)

// receiver is the business's system: it verifies each push's signature as
// the README's example does and keeps the bodies.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	raw    []string
	badSig int
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(b)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if !hmac.Equal([]byte(r.Header.Get("X-Optin-Signature")), []byte(want)) {
			rc.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body map[string]any
		json.Unmarshal(b, &body)
		rc.bodies = append(rc.bodies, body)
		rc.raw = append(rc.raw, string(b))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// ofType returns the pushes of one type received so far.
func (rc *receiver) ofType(typ string) []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []map[string]any
	for _, b := range rc.bodies {
		if b["type"] == typ {
			out = append(out, b)
		}
	}
	return out
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkSnakeCase fails for any key of v (recursively) not in snake_case.
func checkSnakeCase(t *testing.T, v any, path string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !snakeCase.MatchString(k) {
				t.Errorf("field %s%s is not snake_case", path, k)
			}
			checkSnakeCase(t, e, path+k+".")
		}
	case []any:
		for _, e := range x {
			checkSnakeCase(t, e, path)
		}
	}
}

// TestPushEvents walks a person through accept, STOP and erasure with a
// forward URL: each category change arrives signed as consent.changed with
// its event's id and hash; the erasure arrives once as contact.erased with
// the number; after its delivery the number is nowhere in the database.
func TestPushEvents(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, "fwd-secret")
	env := sandboxEnv(t)
	env["OPTIN_WEBHOOK_SECRET"] = "hook"
	env["OPTIN_FORWARD_URL"] = rc.URL
	env["OPTIN_FORWARD_SECRET"] = "fwd-secret"
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "crm", "--scope", "write", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	base := startOptin(t, env)
	const person = "4915112345678"

	postWebhook(t, base, "hook", cloudText("wamid.P1", person, "START"))
	waitFor(t, 10*time.Second, "the prompt", func() bool { return fromBusiness(t, base, person) >= 1 })
	postWebhook(t, base, "hook", cloudButton("wamid.P2", person, "optin_terms_accept", "Accept"))
	waitFor(t, 10*time.Second, "three opt-in pushes", func() bool { return len(rc.ofType("consent.changed")) == 3 })
	postWebhook(t, base, "hook", cloudText("wamid.P3", person, "STOP"))
	waitFor(t, 10*time.Second, "three opt-out pushes", func() bool { return len(rc.ofType("consent.changed")) == 6 })

	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cats := map[string]bool{}
	for _, p := range rc.ofType("consent.changed")[3:] {
		checkSnakeCase(t, p, "")
		if p["new_state"] != "opted_out" || p["old_state"] != "opted_in" || p["source"] != "keyword" ||
			p["phone"] != "+"+person || p["event_type"] != "opt_out" || p["contact_id"] == nil {
			t.Errorf("STOP push = %v", p)
		}
		var hash, category string
		if err := db.SQL().QueryRow(`SELECT hash, category FROM events WHERE id = ?`, p["event_id"]).Scan(&hash, &category); err != nil {
			t.Fatalf("event %v: %v", p["event_id"], err)
		}
		if p["event_hash"] != hash || p["category"] != category {
			t.Errorf("push names event %v %v/%v; the ledger has %s/%s", p["event_id"], p["event_hash"], p["category"], hash, category)
		}
		cats[category] = true
	}
	if len(cats) != 3 {
		t.Errorf("STOP pushes cover %v, want one per category", cats)
	}

	req, _ := http.NewRequest(http.MethodDelete, base+"/api/v1/contacts/%2B"+person, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE: status %d", resp.StatusCode)
	}
	waitFor(t, 10*time.Second, "the erasure push", func() bool { return len(rc.ofType("contact.erased")) == 1 })
	erased := rc.ofType("contact.erased")[0]
	checkSnakeCase(t, erased, "")
	if erased["phone"] != "+"+person || erased["wa_id"] != person || erased["reason"] != "api" || erased["event_id"] == nil {
		t.Errorf("erasure push = %v", erased)
	}
	// Once delivered, the push's body is emptied: the number is nowhere.
	waitFor(t, 10*time.Second, "the delivered erasure scrubbed", func() bool {
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM forwards WHERE scrub = 1 AND status = 'sent' AND body NOT LIKE '%` + person + `%'`).Scan(&n)
		return n == 1
	})
	// A late status of a message to the erased number (the sandbox reports
	// "read" after the erasure) is neither forwarded nor kept.
	late := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"id":"wamid.GONE","recipient_id":"%s","status":"read","timestamp":"%d"}]}}]}]}`,
		person, time.Now().Unix())
	if got := postWebhook(t, base, "hook", late); got != http.StatusOK {
		t.Fatalf("late status: %d", got)
	}
	waitFor(t, 10*time.Second, "the late status processed", func() bool {
		var n int
		db.SQL().QueryRow(`SELECT count(*) FROM inbox WHERE processed_at = ''`).Scan(&n)
		return n == 0
	})
	if where := numberIn(t, db, person); len(where) > 0 {
		t.Errorf("after the erasure push the number is still in %v", where)
	}
	var pending int
	db.SQL().QueryRow(`SELECT count(*) FROM forwards WHERE status IN ('queued', 'sending')`).Scan(&pending)
	if n := len(rc.ofType("contact.erased")); n != 1 || rc.badSig != 0 || pending != 0 {
		t.Errorf("%d erasure pushes, %d bad signatures, %d pushes pending; want 1, 0, 0", n, rc.badSig, pending)
	}
}

// numberIn lists the table.column pairs whose text holds digits.
func numberIn(t *testing.T, db *store.DB, digits string) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var where []string
	for _, tb := range tables {
		cols, err := db.SQL().Query(fmt.Sprintf(`SELECT name FROM pragma_table_info('%s')`, tb))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for cols.Next() {
			var n string
			cols.Scan(&n)
			names = append(names, n)
		}
		cols.Close()
		for _, c := range names {
			var n int
			q := fmt.Sprintf(`SELECT count(*) FROM "%s" WHERE CAST("%s" AS TEXT) LIKE ?`, tb, c)
			if err := db.SQL().QueryRow(q, "%"+digits+"%").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				where = append(where, tb+"."+c)
			}
		}
	}
	return where
}

// TestMOAcceptSendsContactCard runs optin with the cloud provider against a
// fake speaking its wire format: after the person accepts the terms, a
// contacts message with the business's number (and wa_id) reaches the
// provider, and the tapped button is marked read.
func TestMOAcceptSendsContactCard(t *testing.T) {
	t.Parallel()
	fake := newFakeProvider(t, nil)
	env := baseEnv(t, "cloud", fake.URL)
	base := startOptin(t, env)
	const person = "4915112345678"
	postWebhook(t, base, "hook", cloudText("wamid.C1", person, "START"))
	waitFor(t, 10*time.Second, "the terms prompt", func() bool { _, a := fake.counts(); return a >= 2 })
	postWebhook(t, base, "hook", cloudButton("wamid.C2", person, "optin_terms_accept", "Accept"))
	var card map[string]any
	read := map[any]bool{}
	waitFor(t, 10*time.Second, "the contact card", func() bool {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		for _, r := range fake.requests {
			if r.Body["type"] == "contacts" {
				card = r.Body
			}
			if r.Body["status"] == "read" {
				read[r.Body["message_id"]] = true
			}
		}
		return card != nil
	})
	if card["to"] != person {
		t.Errorf("card to %v, want %s", card["to"], person)
	}
	raw, _ := json.Marshal(card["contacts"])
	if !strings.Contains(string(raw), `"phone":"+4930123456"`) || !strings.Contains(string(raw), `"wa_id":"4930123456"`) ||
		!strings.Contains(string(raw), "Example Business") {
		t.Errorf("card contacts = %s, want the business's name, number and wa_id", raw)
	}
	if !read["wamid.C1"] || !read["wamid.C2"] {
		t.Errorf("read receipts for %v, want wamid.C1 and wamid.C2", read)
	}
}
