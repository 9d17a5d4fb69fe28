package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/whatsapp"
)

const (
	testSecret = "s3cret"
	person     = "4915112345678"
	nobody     = "4915112340000" // not on WhatsApp
)

// call is one webhook call as optin received it.
type call struct {
	secret      string
	contentType string
	body        []byte
}

// webhook is the shape of the calls, to check the Cloud API envelope.
type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				MessagingProduct string `json:"messaging_product"`
				Metadata         struct {
					DisplayPhoneNumber string `json:"display_phone_number"`
					PhoneNumberID      string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
					WaID string `json:"wa_id"`
				} `json:"contacts"`
				Messages []map[string]any `json:"messages"`
				Statuses []struct {
					ID          string `json:"id"`
					Status      string `json:"status"`
					Timestamp   string `json:"timestamp"`
					RecipientID string `json:"recipient_id"`
					Errors      []struct {
						Code  int    `json:"code"`
						Title string `json:"title"`
					} `json:"errors"`
				} `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// fakeOptin stands in for optin's POST /webhook. Its handler can be swapped
// to answer errors or hang.
type fakeOptin struct {
	srv   *httptest.Server
	calls chan call
	mu    sync.Mutex
	reply func(w http.ResponseWriter, r *http.Request) bool // true: handled
}

func newFakeOptin(t *testing.T) *fakeOptin {
	t.Helper()
	f := &fakeOptin{calls: make(chan call, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/webhook" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		reply := f.reply
		f.mu.Unlock()
		if reply != nil && reply(w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.calls <- call{secret: r.Header.Get("X-Optin-Secret"), contentType: r.Header.Get("Content-Type"), body: body}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOptin) setReply(reply func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.reply = reply
	f.mu.Unlock()
}

// next returns the next webhook call, checked for the secret and the Cloud
// API envelope, with what optin's own parser makes of it.
func (f *fakeOptin) next(t *testing.T) (webhook, consent.Inbound) {
	t.Helper()
	select {
	case c := <-f.calls:
		if c.secret != testSecret {
			t.Errorf("X-Optin-Secret = %q, want %q", c.secret, testSecret)
		}
		if c.contentType != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", c.contentType)
		}
		var w webhook
		if err := json.Unmarshal(c.body, &w); err != nil {
			t.Fatalf("webhook body: %v", err)
		}
		if w.Object != "whatsapp_business_account" || len(w.Entry) != 1 || w.Entry[0].ID != "sandbox" ||
			len(w.Entry[0].Changes) != 1 || w.Entry[0].Changes[0].Field != "messages" {
			t.Fatalf("webhook envelope is not the Cloud API's: %s", c.body)
		}
		v := w.Entry[0].Changes[0].Value
		if v.MessagingProduct != "whatsapp" || v.Metadata.DisplayPhoneNumber != "15550001111" || v.Metadata.PhoneNumberID != "sandbox" {
			t.Errorf("webhook value metadata = %+v (%s), want whatsapp, 15550001111, sandbox", v.Metadata, v.MessagingProduct)
		}
		in, err := whatsapp.ParseWebhook(c.body)
		if err != nil {
			t.Fatalf("whatsapp.ParseWebhook: %v", err)
		}
		return w, in
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook call within 5s")
	}
	panic("unreachable")
}

// nextStatus returns the next call, which must be a single status.
func (f *fakeOptin) nextStatus(t *testing.T) consent.StatusUpdate {
	t.Helper()
	w, in := f.next(t)
	if len(in.Statuses) != 1 || len(in.Messages) != 0 {
		t.Fatalf("webhook = %+v, want one status", in)
	}
	if ts := w.Entry[0].Changes[0].Value.Statuses[0].Timestamp; ts == "" || strings.Trim(ts, "0123456789") != "" {
		t.Errorf("status timestamp = %q, want unix seconds as a string", ts)
	}
	return in.Statuses[0]
}

// nextMessage returns the next call that carries a message, skipping
// statuses.
func (f *fakeOptin) nextMessage(t *testing.T) (map[string]any, consent.InboundMessage) {
	t.Helper()
	for {
		w, in := f.next(t)
		if len(in.Messages) == 0 {
			continue
		}
		v := w.Entry[0].Changes[0].Value
		if len(in.Messages) != 1 || len(v.Contacts) != 1 || v.Contacts[0].Profile.Name != "Sandbox user" || v.Contacts[0].WaID != in.Messages[0].From {
			t.Fatalf("webhook contacts/messages = %+v / %+v, want one message from a Sandbox user", v.Contacts, in.Messages)
		}
		return v.Messages[0], in.Messages[0]
	}
}

// quiet checks that no webhook call comes within d.
func (f *fakeOptin) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Errorf("unexpected webhook call: %s", c.body)
	case <-time.After(d):
	}
}

// onlyStatuses checks that the calls coming within d carry no message.
func (f *fakeOptin) onlyStatuses(t *testing.T, d time.Duration) {
	t.Helper()
	for {
		select {
		case c := <-f.calls:
			if in, err := whatsapp.ParseWebhook(c.body); err != nil || len(in.Messages) > 0 {
				t.Errorf("unexpected webhook call: %s", c.body)
			}
		case <-time.After(d):
			return
		}
	}
}

func newTestPhone(t *testing.T, f *fakeOptin, deliverAfter time.Duration) (*Phone, http.Handler) {
	t.Helper()
	p := New(Options{
		WebhookURL:     f.srv.URL + "/webhook",
		Secret:         testSecret,
		BusinessName:   "Acme Shop",
		BusinessNumber: "+15550001111",
		DeliverAfter:   deliverAfter,
	})
	p.backoff = 5 * time.Millisecond
	t.Cleanup(p.Close)
	mux := http.NewServeMux()
	p.Register(mux)
	return p, mux
}

func send(t *testing.T, p *Phone, m consent.Message) consent.SendResult {
	t.Helper()
	res, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return res
}

func text(to, body string) consent.Message {
	return consent.Message{Kind: consent.KindText, To: to, Text: body}
}

func TestSendReportsSentThenDelivered(t *testing.T) {
	f := newFakeOptin(t)
	p, _ := newTestPhone(t, f, time.Millisecond)

	res := send(t, p, text(person, "Hello"))
	if !strings.HasPrefix(res.MessageID, "wamid.SANDBOX.") || res.WaID != person {
		t.Errorf("SendResult = %+v, want a wamid.SANDBOX. id and wa_id %s", res, person)
	}
	for _, want := range []consent.DeliveryStatus{consent.StatusSent, consent.StatusDelivered} {
		got := f.nextStatus(t)
		if got.Status != want || got.MessageID != res.MessageID || got.RecipientID != person || len(got.Errors) != 0 {
			t.Errorf("status = %+v, want %s of %s to %s", got, want, res.MessageID, person)
		}
	}
	f.quiet(t, 30*time.Millisecond)

	again := send(t, p, text("+"+person, "Again"))
	if again.MessageID == res.MessageID || again.WaID != person {
		t.Errorf("second SendResult = %+v, want a new id and wa_id %s", again, person)
	}
}

func TestSendToNumberNotOnWhatsApp(t *testing.T) {
	f := newFakeOptin(t)
	p, _ := newTestPhone(t, f, time.Millisecond)

	res := send(t, p, text(nobody, "Hello"))
	got := f.nextStatus(t)
	if got.Status != consent.StatusFailed || got.MessageID != res.MessageID || got.RecipientID != nobody {
		t.Errorf("status = %+v, want failed of %s", got, res.MessageID)
	}
	if len(got.Errors) != 1 || got.Errors[0].Code != 131026 || got.Errors[0].Title != "Message undeliverable" {
		t.Errorf("errors = %+v, want 131026 Message undeliverable", got.Errors)
	}
	f.quiet(t, 30*time.Millisecond)
}

func TestSendRejectsWhatWhatsAppRefuses(t *testing.T) {
	f := newFakeOptin(t)
	p, _ := newTestPhone(t, f, time.Millisecond)
	long := strings.Repeat("x", 21)
	tests := []struct {
		name string
		m    consent.Message
	}{
		{"unknown kind", consent.Message{Kind: "video", To: person}},
		{"no recipient", text("", "Hi")},
		{"recipient not a number", text("+49 abc", "Hi")},
		{"empty text", text(person, " ")},
		{"template without name", consent.Message{Kind: consent.KindTemplate, To: person, Template: &consent.Template{Language: "en"}}},
		{"interactive without buttons", consent.Message{Kind: consent.KindInteractive, To: person, Interactive: &consent.Interactive{Body: "Hi"}}},
		{"button title too long", consent.Message{Kind: consent.KindInteractive, To: person, Interactive: &consent.Interactive{Body: "Hi", Buttons: []consent.Button{{ID: "a", Title: long}}}}},
		{"contacts without card", consent.Message{Kind: consent.KindContacts, To: person}},
		{"read without id", consent.Message{Kind: consent.KindRead}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Send(context.Background(), tt.m)
			var pe *consent.ProviderError
			if !errors.As(err, &pe) || pe.Class != consent.ErrRejected || pe.Code != 100 {
				t.Errorf("Send error = %v, want a rejected ProviderError with code 100", err)
			}
		})
	}
	if n := len(p.chats); n != 0 {
		t.Errorf("%d chats after refused messages, want 0", n)
	}
	f.quiet(t, 20*time.Millisecond)
}

func TestReadPostReportsRead(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Millisecond)

	res := send(t, p, text(person, "Hello"))
	f.nextStatus(t) // sent
	f.nextStatus(t) // delivered

	rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/read", nil, "")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/sandbox/chats/"+person {
		t.Errorf("POST read = %d to %q, want 303 to the chat", rec.Code, rec.Header().Get("Location"))
	}
	got := f.nextStatus(t)
	if got.Status != consent.StatusRead || got.MessageID != res.MessageID || got.RecipientID != person {
		t.Errorf("status = %+v, want read of %s", got, res.MessageID)
	}

	// Reading again reports nothing new.
	rec = do(t, mux, http.MethodPost, "/sandbox/chats/+"+person+"/read", nil, "application/json")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"read":0}` {
		t.Errorf("POST read again = %d %s, want 200 {\"read\":0}", rec.Code, rec.Body)
	}
	f.quiet(t, 30*time.Millisecond)
}

func TestReadBeforeDeliveredKeepsOrder(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Hour) // never delivered on its own

	res := send(t, p, text(person, "Hello"))
	rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/read", nil, "application/json")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"read":1}` {
		t.Fatalf("POST read = %d %s, want 200 {\"read\":1}", rec.Code, rec.Body)
	}
	for _, want := range []consent.DeliveryStatus{consent.StatusSent, consent.StatusDelivered, consent.StatusRead} {
		if got := f.nextStatus(t); got.Status != want || got.MessageID != res.MessageID {
			t.Errorf("status = %+v, want %s of %s", got, want, res.MessageID)
		}
	}
	f.quiet(t, 30*time.Millisecond)
}

func TestReadOfUndeliverableChatReportsNothing(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Millisecond)
	send(t, p, text(nobody, "Hello"))
	f.nextStatus(t) // failed
	rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+nobody+"/read", nil, "application/json")
	if strings.TrimSpace(rec.Body.String()) != `{"read":0}` {
		t.Errorf("POST read = %s, want {\"read\":0}", rec.Body)
	}
	f.quiet(t, 30*time.Millisecond)
}

func TestReplyReachesWebhook(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Millisecond)

	rec := do(t, mux, http.MethodPost, "/sandbox/chats/+"+person+"/messages", url.Values{"text": {"  STOP *now* <b>  "}}, "")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/sandbox/chats/"+person {
		t.Fatalf("POST messages = %d to %q, want 303 to the chat", rec.Code, rec.Header().Get("Location"))
	}
	raw, got := f.nextMessage(t)
	if got.Type != consent.InText || got.Text != "STOP *now* <b>" || got.From != person || got.Name != "Sandbox user" ||
		!strings.HasPrefix(got.ID, "wamid.SANDBOXIN.") || got.Timestamp.IsZero() || got.ContextID != "" {
		t.Errorf("inbound = %+v, want a text from %s", got, person)
	}
	if raw["type"] != "text" || raw["text"].(map[string]any)["body"] != "STOP *now* <b>" {
		t.Errorf("message = %v, want type text with text.body", raw)
	}

	// Once optin took it, the person's bubble shows it delivered.
	waitFor(t, func() bool { return bubbleStatus(t, mux, person, got.ID) == "delivered" })

	// optin marking it read turns it read.
	if _, err := p.Send(context.Background(), consent.Message{Kind: consent.KindRead, ReadID: got.ID}); err != nil {
		t.Fatalf("Send read: %v", err)
	}
	if s := bubbleStatus(t, mux, person, got.ID); s != "read" {
		t.Errorf("bubble status after read = %q, want read", s)
	}
	f.quiet(t, 20*time.Millisecond)
}

func TestReplyRefused(t *testing.T) {
	f := newFakeOptin(t)
	_, mux := newTestPhone(t, f, time.Millisecond)
	tests := []struct {
		name   string
		number string
		text   string
		accept string
		want   int
	}{
		{"empty", person, "   ", "", http.StatusUnprocessableEntity},
		{"empty json", person, "", "application/json", http.StatusUnprocessableEntity},
		{"too long", person, strings.Repeat("ä", 4097), "application/json", http.StatusUnprocessableEntity},
		{"not on WhatsApp", nobody, "hi", "", http.StatusUnprocessableEntity},
		{"not a number", "12ab", "hi", "", http.StatusNotFound},
		{"not a number json", "0301234567", "hi", "application/json", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+tt.number+"/messages", url.Values{"text": {tt.text}}, tt.accept)
			if rec.Code != tt.want {
				t.Errorf("POST messages = %d, want %d", rec.Code, tt.want)
			}
			if tt.accept != "" && !strings.Contains(rec.Body.String(), `"error":{"code":`) {
				t.Errorf("body = %s, want a JSON error", rec.Body)
			}
		})
	}
	f.quiet(t, 30*time.Millisecond)
}

func TestButtonTaps(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Millisecond)

	prompt := send(t, p, consent.Message{Kind: consent.KindInteractive, To: person, Interactive: &consent.Interactive{
		Header: "Terms", Body: "Do you *accept*?", Footer: "Acme",
		Buttons: []consent.Button{{ID: "terms_accept", Title: "Accept"}, {ID: "terms_decline", Title: "Decline"}},
	}})
	welcome := send(t, p, consent.Message{Kind: consent.KindTemplate, To: person, Template: &consent.Template{
		Name: "optin_welcome", Language: "en", BodyParams: []string{"Acme", "Offers"}, Preview: "Welcome to *Acme*",
		Buttons: []consent.TemplateButton{
			{Index: 0, SubType: "quick_reply", Payload: "optin_confirm", Title: "Confirm"},
			{Index: 1, SubType: "url", Text: "abc", Title: "Preferences"},
		},
	}})

	t.Run("interactive reply button", func(t *testing.T) {
		rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/buttons",
			url.Values{"message_id": {prompt.MessageID}, "button_id": {"terms_decline"}, "title": {"Decline"}}, "")
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("POST buttons = %d, want 303", rec.Code)
		}
		raw, got := f.nextMessage(t)
		if got.Type != consent.InButtonReply || got.ButtonID != "terms_decline" || got.Text != "Decline" || got.ContextID != prompt.MessageID || got.From != person {
			t.Errorf("inbound = %+v, want the button_reply terms_decline to %s", got, prompt.MessageID)
		}
		if raw["type"] != "interactive" {
			t.Errorf("type = %v, want interactive", raw["type"])
		}
	})
	t.Run("template quick reply", func(t *testing.T) {
		rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/buttons",
			url.Values{"message_id": {welcome.MessageID}, "button_id": {"optin_confirm"}, "title": {"forged title"}}, "application/json")
		if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"message":{"id":"wamid.SANDBOXIN.`) {
			t.Fatalf("POST buttons = %d %s, want 201 with the message", rec.Code, rec.Body)
		}
		raw, got := f.nextMessage(t)
		if got.Type != consent.InButton || got.ButtonID != "optin_confirm" || got.Text != "Confirm" || got.ContextID != welcome.MessageID {
			t.Errorf("inbound = %+v, want the button optin_confirm/Confirm to %s", got, welcome.MessageID)
		}
		if raw["type"] != "button" {
			t.Errorf("type = %v, want button", raw["type"])
		}
	})

	refused := []struct {
		name              string
		number, msg, butt string
	}{
		{"unknown button", person, prompt.MessageID, "nope"},
		{"button of another message", person, welcome.MessageID, "terms_accept"},
		{"url button", person, welcome.MessageID, ""},
		{"unknown message", person, "wamid.SANDBOX.1", "terms_accept"},
		{"other chat", "4915199999999", prompt.MessageID, "terms_accept"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+tt.number+"/buttons",
				url.Values{"message_id": {tt.msg}, "button_id": {tt.butt}}, "")
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "That button is not in this chat.") {
				t.Errorf("POST buttons = %d, want 422 with the problem", rec.Code)
			}
		})
	}
	// Refused taps send nothing: only statuses follow.
	f.onlyStatuses(t, 50*time.Millisecond)
}

func TestWebhookRetries(t *testing.T) {
	f := newFakeOptin(t)
	var failures atomic.Int32
	f.setReply(func(w http.ResponseWriter, r *http.Request) bool {
		if failures.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	p, _ := newTestPhone(t, f, time.Millisecond)

	res := send(t, p, text(person, "Hello"))
	for _, want := range []consent.DeliveryStatus{consent.StatusSent, consent.StatusDelivered} {
		if got := f.nextStatus(t); got.Status != want || got.MessageID != res.MessageID {
			t.Errorf("status = %+v, want %s", got, want)
		}
	}
	if n := failures.Load(); n != 4 {
		t.Errorf("%d webhook calls, want 4 (2 refused, 2 taken)", n)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	f := newFakeOptin(t)
	var calls atomic.Int32
	f.setReply(func(w http.ResponseWriter, r *http.Request) bool {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return true
	})
	_, mux := newTestPhone(t, f, time.Millisecond)

	do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/messages", url.Values{"text": {"hi"}}, "")
	waitFor(t, func() bool {
		return strings.Contains(do(t, mux, http.MethodGet, "/sandbox/chats/"+person+"/messages.json", nil, "").Body.String(), `"status":"failed"`)
	})
	if n := calls.Load(); n != 6 {
		t.Errorf("%d webhook calls, want 6", n)
	}
}

func TestCloseWaitsForGoroutines(t *testing.T) {
	t.Run("hanging webhook", func(t *testing.T) {
		f := newFakeOptin(t)
		// Registered after the server's Close, so it runs first: a handler
		// still waiting must not keep httptest's Close waiting forever.
		stop := make(chan struct{})
		t.Cleanup(func() { close(stop) })
		started := make(chan struct{}, 100)
		f.setReply(func(w http.ResponseWriter, r *http.Request) bool {
			_, _ = io.ReadAll(r.Body) // so the server notices the client leaving
			select {
			case started <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done(): // the sandbox gave up the call
			case <-stop:
			}
			return true
		})
		p, _ := newTestPhone(t, f, time.Millisecond)
		send(t, p, text(person, "Hello"))
		<-started
		closeWithin(t, p, 2*time.Second)

		p.mu.Lock()
		posting := p.chats[person].posting
		p.mu.Unlock()
		if posting {
			t.Error("chat still posting after Close")
		}
		var pe *consent.ProviderError
		if _, err := p.Send(context.Background(), text(person, "late")); !errors.As(err, &pe) || !pe.Retryable() {
			t.Errorf("Send after Close = %v, want a retryable ProviderError", err)
		}
	})
	t.Run("waiting for delivery", func(t *testing.T) {
		f := newFakeOptin(t)
		p, _ := newTestPhone(t, f, time.Hour)
		send(t, p, text(person, "Hello"))
		f.nextStatus(t) // sent; delivered would come in an hour
		closeWithin(t, p, 2*time.Second)
		f.quiet(t, 20*time.Millisecond)
	})
	t.Run("many messages", func(t *testing.T) {
		f := newFakeOptin(t)
		p, mux := newTestPhone(t, f, time.Millisecond)
		for i := range 20 {
			send(t, p, text(person, "Hello"))
			if i%5 == 0 {
				do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/read", nil, "")
				do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/messages", url.Values{"text": {"hi"}}, "")
			}
		}
		closeWithin(t, p, 2*time.Second)
		// Nothing may run after Close returned: -race reports any access.
		p.Close()
	})
}

func closeWithin(t *testing.T, p *Phone, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("Close did not return within %s", d)
	}
}

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"4915112345678", "4915112345678", true},
		{"+4915112345678", "4915112345678", true},
		{" +49 151 1234-5678 ", "4915112345678", true},
		{"+1 (202) 555.0199", "12025550199", true},
		{"004915112345678", "4915112345678", true},
		{"015112345678", "", false},
		{"+49 abc", "", false},
		{"++4915112345678", "", false},
		{"12345", "", false},
		{"1234567890123456", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeNumber(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("NormalizeNumber(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// do makes a request to the sandbox's routes.
func do(t *testing.T, h http.Handler, method, target string, form url.Values, accept string) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// bubbleStatus reads a message's status from messages.json.
func bubbleStatus(t *testing.T, h http.Handler, waID, id string) string {
	t.Helper()
	rec := do(t, h, http.MethodGet, "/sandbox/chats/"+waID+"/messages.json", nil, "")
	var got chatJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("messages.json: %v", err)
	}
	for _, m := range got.Messages {
		if m.ID == id {
			return m.Status
		}
	}
	return ""
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
