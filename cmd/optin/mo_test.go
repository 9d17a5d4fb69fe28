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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/store"
)

// cloudText is a Cloud API webhook carrying one text message.
func cloudText(id, from, text string) string {
	b, _ := json.Marshal(text)
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"12025550199","phone_number_id":"1"},"contacts":[{"profile":{"name":"Anna"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":%s}}]}}]}]}`,
		from, from, id, time.Now().Unix(), b)
}

func cloudButton(id, from, buttonID, title string) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"Anna"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"%s","timestamp":"%d","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"%s","title":"%s"}}}]}}]}]}`,
		from, from, id, time.Now().Unix(), buttonID, title)
}

func postWebhook(t *testing.T, base, secret, body string) int {
	req, _ := http.NewRequest("POST", base+"/webhook", strings.NewReader(body))
	req.Header.Set("X-Optin-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sandboxChat returns the messages the sandbox phone of waID shows.
func sandboxChat(t *testing.T, base, waID string) []struct {
	FromBusiness bool   `json:"from_business"`
	Text         string `json:"text"`
} {
	resp, err := http.Get(base + "/sandbox/chats/" + waID + "/messages.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var chat struct {
		Messages []struct {
			FromBusiness bool   `json:"from_business"`
			Text         string `json:"text"`
		} `json:"messages"`
	}
	json.NewDecoder(resp.Body).Decode(&chat)
	return chat.Messages
}

func fromBusiness(t *testing.T, base, waID string) int {
	n := 0
	for _, m := range sandboxChat(t, base, waID) {
		if m.FromBusiness {
			n++
		}
	}
	return n
}

// TestSameWebhookTenTimesConcurrently: one message delivered ten times at
// once gives one contact, one prompt.
func TestSameWebhookTenTimesConcurrently(t *testing.T) {
	env := sandboxEnv(t)
	env["OPTIN_WEBHOOK_SECRET"] = "hook"
	base := startOptin(t, env)
	body := cloudText("wamid.CONCURRENT.1", "4915112345678", "START")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Go(func() {
			if code := postWebhook(t, base, "hook", body); code != 200 {
				t.Errorf("status %d", code)
			}
		})
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "the terms prompt", func() bool { return fromBusiness(t, base, "4915112345678") >= 1 })
	time.Sleep(time.Second) // time for any duplicate to show up
	if n := fromBusiness(t, base, "4915112345678"); n != 1 {
		t.Errorf("%d messages to the person, want exactly one prompt", n)
	}
}

// TestForwarding: an ordinary message from an opted-in person reaches the
// business's system, signed, and is retried until accepted.
func TestForwarding(t *testing.T) {
	var mu sync.Mutex
	var calls, changes int // message pushes; consent.changed pushes
	var got []byte
	var sigOK bool
	biz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(string(b), `"type":"consent.changed"`) {
			changes++ // the accepted terms' opt-ins (consent/push.go)
			return
		}
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the business's system is down once
			return
		}
		m := hmac.New(sha256.New, []byte("fwd-secret"))
		m.Write(b)
		sigOK = r.Header.Get("X-Optin-Signature") == "sha256="+hex.EncodeToString(m.Sum(nil))
		got = b
	}))
	defer biz.Close()
	env := sandboxEnv(t)
	env["OPTIN_WEBHOOK_SECRET"] = "hook"
	env["OPTIN_FORWARD_URL"] = biz.URL
	env["OPTIN_FORWARD_SECRET"] = "fwd-secret"
	base := startOptin(t, env)
	person := "4915112345678"
	postWebhook(t, base, "hook", cloudText("wamid.F1", person, "START"))
	waitFor(t, 10*time.Second, "the prompt", func() bool { return fromBusiness(t, base, person) == 1 })
	postWebhook(t, base, "hook", cloudButton("wamid.F2", person, "optin_terms_accept", "Accept"))
	// The confirmation, then the business's contact card (consent/card.go).
	waitFor(t, 10*time.Second, "the confirmation and the card", func() bool { return fromBusiness(t, base, person) == 3 })
	postWebhook(t, base, "hook", cloudText("wamid.F3", person, "Where is my parcel?"))
	waitFor(t, 15*time.Second, "the forward", func() bool { mu.Lock(); defer mu.Unlock(); return got != nil })
	mu.Lock()
	defer mu.Unlock()
	if !sigOK {
		t.Errorf("X-Optin-Signature does not match the body")
	}
	if !strings.Contains(string(got), "Where is my parcel?") || !strings.Contains(string(got), `"type":"message"`) {
		t.Errorf("forwarded %s", got)
	}
	if calls != 2 {
		t.Errorf("%d calls, want one refused and one accepted", calls)
	}
	if changes != 3 {
		t.Errorf("%d consent.changed pushes, want one per category of the entry point", changes)
	}
}

// TestSameStopTenTimesConcurrently: one STOP delivered ten times at once
// gives one opt-out event per category and one confirmation.
func TestSameStopTenTimesConcurrently(t *testing.T) {
	env := sandboxEnv(t)
	env["OPTIN_WEBHOOK_SECRET"] = "hook"
	base := startOptin(t, env)
	person := "4915112345678"
	postWebhook(t, base, "hook", cloudText("wamid.S1", person, "START"))
	waitFor(t, 10*time.Second, "the prompt", func() bool { return fromBusiness(t, base, person) == 1 })
	postWebhook(t, base, "hook", cloudButton("wamid.S2", person, "optin_terms_accept", "Accept"))
	// The confirmation, then the business's contact card (consent/card.go).
	waitFor(t, 10*time.Second, "the confirmation and the card", func() bool { return fromBusiness(t, base, person) == 3 })

	stop := cloudText("wamid.S3", person, "STOP")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Go(func() { postWebhook(t, base, "hook", stop) })
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "the STOP confirmation", func() bool { return fromBusiness(t, base, person) == 4 })
	time.Sleep(time.Second)
	if n := fromBusiness(t, base, person); n != 4 {
		t.Errorf("%d messages to the person, want prompt, welcome, contact card and one STOP confirmation", n)
	}
	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var optOuts int
	db.SQL().QueryRow(`SELECT count(*) FROM events WHERE type = 'opt_out'`).Scan(&optOuts)
	if optOuts != 3 {
		t.Errorf("%d opt_out events, want one per category (3)", optOuts)
	}
}
