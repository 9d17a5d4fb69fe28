package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// v1Server speaks the on-premise API: /v1/contacts answers "valid" with the
// wa_id WhatsApp uses (Mexico's 521… for a +52 mobile), "invalid" for numbers
// ending in 0000; /v1/messages takes messages. It records every call.
type v1Server struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []string // "POST /v1/contacts", …
	checked  []map[string]any
	sentTo   []string
	contacts int // status to answer /v1/contacts with; 0 is 200
}

func newV1Server(t *testing.T) *v1Server {
	s := &v1Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/contacts":
			if s.contacts != 0 {
				w.WriteHeader(s.contacts)
				w.Write([]byte(`{"errors":[{"code":1000,"title":"Generic error","details":"busy"}]}`))
				return
			}
			s.checked = append(s.checked, body)
			input := body["contacts"].([]any)[0].(string)
			switch {
			case strings.HasSuffix(input, "0000"):
				w.Write([]byte(`{"contacts":[{"input":"` + input + `","status":"invalid"}],"meta":{"api_status":"stable","version":"2.41.3"}}`))
			case strings.HasPrefix(input, "+52"):
				w.Write([]byte(`{"contacts":[{"input":"` + input + `","status":"valid","wa_id":"521` + input[3:] + `"}]}`))
			default:
				w.Write([]byte(`{"contacts":[{"input":"` + input + `","status":"valid","wa_id":"` + input[1:] + `"}]}`))
			}
		case "/v1/messages":
			s.sentTo = append(s.sentTo, body["to"].(string))
			w.Write([]byte(v1Sent))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *v1Server) log() (calls []string, sentTo []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...), append([]string(nil), s.sentTo...)
}

func v1Template(to string) consent.Message {
	return consent.Message{Kind: consent.KindTemplate, To: to, Template: &consent.Template{Name: "optin_welcome",
		Language: "en", Namespace: testNamespace}}
}

func TestV1ContactCheck(t *testing.T) {
	t.Parallel()
	srv := newV1Server(t)
	c, err := newClient(Config{Provider: ProviderV1, URL: srv.URL, Token: "wa-test-key"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	// A valid number: checked (blocking), then sent to the wa_id returned.
	if _, err := c.Send(ctx, v1Template("525512345678")); err != nil {
		t.Fatal(err)
	}
	calls, sent := srv.log()
	if want := []string{"POST /v1/contacts", "POST /v1/messages"}; strings.Join(calls, ",") != strings.Join(want, ",") {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if got := srv.checked[0]; got["blocking"] != "wait" || got["contacts"].([]any)[0] != "+525512345678" {
		t.Errorf("contacts request = %v, want blocking wait for +525512345678", got)
	}
	// The reseller's wa_id for a Mexican mobile is what the message goes to.
	if sent[0] != "5215512345678" {
		t.Errorf("sent to %q, want the wa_id", sent[0])
	}

	// The same number again within 7 days, and a reply: no check.
	c.Send(ctx, v1Template("525512345678"))
	c.Send(ctx, consent.Message{Kind: consent.KindText, To: "4915112345678", Text: "hi"})
	if calls, _ := srv.log(); len(calls) != 4 || calls[2] != "POST /v1/messages" || calls[3] != "POST /v1/messages" {
		t.Errorf("calls = %v, want two more sends without a check", calls)
	}

	// Not on WhatsApp: undeliverable (1013) without a /v1/messages call,
	// and the cached answer spares the next check.
	for i := range 2 {
		_, err := c.Send(ctx, v1Template("4915100000000"))
		var pe *consent.ProviderError
		if !errors.As(err, &pe) || pe.Class != consent.ErrUndeliverable || pe.Code != 1013 {
			t.Fatalf("send %d to an invalid number: %v, want undeliverable 1013", i, err)
		}
	}
	calls, sent = srv.log()
	if len(calls) != 5 || calls[4] != "POST /v1/contacts" || len(sent) != 3 {
		t.Errorf("calls = %v (sent %v), want one check and no send for the invalid number", calls, sent)
	}

	// After 7 days the number is checked again.
	now = now.Add(contactCheckTTL)
	c.Send(ctx, v1Template("525512345678"))
	if calls, _ := srv.log(); len(calls) != 7 || calls[5] != "POST /v1/contacts" {
		t.Errorf("calls = %v, want a new check after 7 days", calls)
	}
}

// TestV1ContactCheckFails: a failing contacts node is an error of its own
// class (503: throttled, retried), and nothing is sent.
func TestV1ContactCheckFails(t *testing.T) {
	t.Parallel()
	srv := newV1Server(t)
	srv.contacts = http.StatusServiceUnavailable
	c, _ := newClient(Config{Provider: ProviderV1, URL: srv.URL, Token: "wa-test-key"})
	_, err := c.Send(context.Background(), v1Template("4915112345678"))
	var pe *consent.ProviderError
	if !errors.As(err, &pe) || (pe.Class != consent.ErrTransient && pe.Class != consent.ErrThrottled) {
		t.Fatalf("err = %v, want a provider error that is retried", err)
	}
	if _, sent := srv.log(); len(sent) != 0 {
		t.Errorf("sent %v after a failed check", sent)
	}
}

// TestContactCheckOnlyV1: the Cloud-style providers have no contacts node.
func TestContactCheckOnlyV1(t *testing.T) {
	t.Parallel()
	rec := &recorder{answer: cloudSent}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, _ := newClient(Config{Provider: Provider360dialog, URL: srv.URL, Token: "k"})
	if _, err := c.Send(context.Background(), v1Template("4915112345678")); err != nil {
		t.Fatal(err)
	}
	if _, path, _, _, calls := rec.last(); calls != 1 || path != "/messages" {
		t.Errorf("%d calls, last %s; want only /messages", calls, path)
	}
}
