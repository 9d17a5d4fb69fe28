package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// TestPagesRenderAndChangeNothing fills the sandbox, then checks every GET:
// what it answers, the page's markers, and that the chats, their statuses
// and optin's webhook are untouched.
func TestPagesRenderAndChangeNothing(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Millisecond)

	send(t, p, text(nobody, "Hello"))
	send(t, p, text(person, "Hi *bold* _it_ ~st~ ```mono``` https://example.com/a_b <script>alert(1)</script>"))
	send(t, p, consent.Message{Kind: consent.KindTemplate, To: person, Template: &consent.Template{
		Name: "optin_welcome", Language: "en", Preview: "Welcome to *Acme*",
		Buttons: []consent.TemplateButton{{Index: 0, SubType: "quick_reply", Payload: "optin_confirm", Title: "Confirm"}},
	}})
	send(t, p, consent.Message{Kind: consent.KindInteractive, To: person, Interactive: &consent.Interactive{
		Header: "Our terms", Body: "Accept?", Footer: "Acme Shop", Buttons: []consent.Button{{ID: "terms_accept", Title: "Accept"}},
	}})
	send(t, p, consent.Message{Kind: consent.KindContacts, To: person, Contacts: []consent.Card{{Name: "Acme Support", Phone: "+15550001111", URL: "javascript:alert(1)"}}})
	do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/messages", url.Values{"text": {"hello back"}}, "")
	// Let every status arrive: 4 sent + 4 delivered + 1 failed + 1 message.
	for range 10 {
		f.next(t)
	}
	waitFor(t, func() bool { return !strings.Contains(snapshot(t, p, mux), `"status":"sent"`) })
	before := snapshot(t, p, mux)

	tests := []struct {
		name     string
		path     string
		wantCode int
		wantLoc  string
		want     []string // in this order
		dontWant []string
	}{
		{
			name: "chat list", path: "/sandbox", wantCode: http.StatusOK,
			want: []string{
				`<!doctype html>`, `<link rel="stylesheet" href="/static/css/sandbox.css">`,
				`<script src="/static/js/sandbox.js" defer></script>`,
				`data-testid="sandbox-banner"`, `no real WhatsApp messages are sent`,
				`Acme Shop`, `+15550001111`, `name="number"`,
				`data-testid="chat-list"`,
				`data-testid="chat-` + person + `"`, // newest first
				`data-testid="chat-` + nobody + `"`, `Not on WhatsApp`,
			},
		},
		{
			name: "chat", path: "/sandbox/chats/" + person, wantCode: http.StatusOK,
			want: []string{
				`data-testid="sandbox-banner"`, `Phone of <strong>+` + person + `</strong>`, `Acme Shop`, `Mark as read`,
				`role="log" aria-live="polite"`,
				`data-testid="bubble"`, `data-from="business" data-status="delivered"`,
				`data-testid="bubble-text">Hi <strong>bold</strong> <em>it</em> <s>st</s> <code>mono</code> <a href="https://example.com/a_b"`,
				`&lt;script&gt;alert(1)&lt;/script&gt;`,
				`Template optin_welcome (en)`, `Welcome to <strong>Acme</strong>`,
				`name="message_id" value="wamid.SANDBOX.`, `data-testid="button-optin_confirm">Confirm</button>`,
				`Our terms`, `Accept?`, `Acme Shop`, `data-testid="button-terms_accept">Accept</button>`,
				`data-testid="contact-card"`, `Acme Support`,
				`data-from="person" data-status="delivered"`, `hello back`,
				`data-testid="reply-text"`, `data-testid="reply-send"`,
			},
			dontWant: []string{`<script>alert`, `javascript:`, ` style=`},
		},
		{
			name: "chat with plus", path: "/sandbox/chats/+" + person, wantCode: http.StatusOK,
			want: []string{`data-wa-id="` + person + `"`, `data-testid="bubble"`},
		},
		{
			name: "chat of a number not on WhatsApp", path: "/sandbox/chats/" + nobody, wantCode: http.StatusOK,
			want:     []string{`is not on WhatsApp in the sandbox`, `data-status="failed"`, `>!<`, `Not on WhatsApp`},
			dontWant: []string{`data-testid="reply-text"`},
		},
		{
			name: "chat without messages", path: "/sandbox/chats/4930901820", wantCode: http.StatusOK,
			want:     []string{`Phone of <strong>+4930901820</strong>`, `No messages yet.`, `data-testid="reply-text"`},
			dontWant: []string{`data-testid="bubble"`},
		},
		{
			name: "chat of no number", path: "/sandbox/chats/hello", wantCode: http.StatusNotFound,
			want: []string{`data-testid="sandbox-banner"`, `value="hello"`, `aria-invalid="true"`, `not a phone number`},
		},
		{
			name: "open a number", path: "/sandbox?number=" + url.QueryEscape("+49 151 1234 5678"), wantCode: http.StatusSeeOther,
			wantLoc: "/sandbox/chats/4915112345678",
		},
		{
			name: "open no number", path: "/sandbox?number=%3Cb%3E", wantCode: http.StatusUnprocessableEntity,
			want:     []string{`value="&lt;b&gt;"`, `aria-invalid="true"`, `id="sb-number-error"`, `international format`, `data-testid="chat-list"`},
			dontWant: []string{`value="<b>"`},
		},
		{name: "trailing slash", path: "/sandbox/", wantCode: http.StatusMovedPermanently, wantLoc: "/sandbox"},
		{
			name: "messages json", path: "/sandbox/chats/" + person + "/messages.json", wantCode: http.StatusOK,
			want: []string{`"wa_id":"` + person + `"`, `"unread":4`, `"from_business":true`, `"status":"delivered"`, `"tick":"✓✓"`, `"template":"optin_welcome (en)"`},
		},
		{
			name: "messages json of no number", path: "/sandbox/chats/x/messages.json", wantCode: http.StatusNotFound,
			want: []string{`"error":{"code":"invalid_number"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, mux, http.MethodGet, tt.path, nil, "")
			if rec.Code != tt.wantCode {
				t.Fatalf("GET %s = %d, want %d", tt.path, rec.Code, tt.wantCode)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLoc {
				t.Errorf("Location = %q, want %q", got, tt.wantLoc)
			}
			body := rec.Body.String()
			rest := body
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("GET %s: missing (or out of order) %q", tt.path, w)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.dontWant {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: has %q", tt.path, w)
				}
			}
		})
	}

	if after := snapshot(t, p, mux); after != before {
		t.Errorf("GETs changed the sandbox:\nbefore %s\n after %s", before, after)
	}
	f.quiet(t, 30*time.Millisecond)
}

// snapshot is every chat's messages and statuses, as JSON.
func snapshot(t *testing.T, p *Phone, mux http.Handler) string {
	t.Helper()
	p.mu.Lock()
	var ids []string
	for id := range p.chats {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	all := map[string]json.RawMessage{}
	for _, id := range ids {
		all[id] = do(t, mux, http.MethodGet, "/sandbox/chats/"+id+"/messages.json", nil, "").Body.Bytes()
	}
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReplyErrorShowsTheChatAgain(t *testing.T) {
	f := newFakeOptin(t)
	_, mux := newTestPhone(t, f, time.Millisecond)
	rec := do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/messages", url.Values{"text": {" "}}, "")
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("POST messages = %d, want 422", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`data-testid="reply-text"`, `aria-invalid="true"`, `aria-describedby="sb-form-error"`, `role="alert">Type a message first.</p>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page misses %q", want)
		}
	}
	if strings.Contains(body, `data-testid="bubble"`) {
		t.Error("a refused reply shows a bubble")
	}
}
