package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// testEntries stands in for optin's entry points.
func testEntries(context.Context) ([]EntryChoice, error) {
	return []EntryChoice{
		{Code: "HELLO", Name: "Default", StartText: "START HELLO-AB3D"},
		{Code: "SPRING", Name: "Spring <poster>", StartText: "START SPRING-XY7Z"},
	}, nil
}

func newStartPhone(t *testing.T, f *fakeOptin, entries func(context.Context) ([]EntryChoice, error)) (*Phone, http.Handler) {
	t.Helper()
	p, mux := newTestPhone(t, f, time.Millisecond)
	p.opt.EntryPoints = entries // before any request
	return p, mux
}

var startNumberRE = regexp.MustCompile(`id="sb-start-number"[^>]* value="(\+[0-9]+)"`)

func TestStartFormOnChatList(t *testing.T) {
	f := newFakeOptin(t)
	_, mux := newStartPhone(t, f, testEntries)

	rec := do(t, mux, http.MethodGet, "/sandbox", nil, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /sandbox = %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	wantInOrder(t, body,
		`<form class="sb-open" method="get" action="/sandbox">`,
		`<form class="sb-start" method="post" action="/sandbox/start"`, `data-testid="start-form"`,
		`Write in through an entry point`, `QR code`,
		`data-testid="start-number"`,
		`data-testid="start-code"`,
		`<option value="HELLO" selected>Default (HELLO)</option>`,
		`<option value="SPRING">Spring &lt;poster&gt; (SPRING)</option>`,
		`data-testid="start-submit">Write in</button>`,
		`data-testid="chat-list"`,
	)
	m := startNumberRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no prefilled number in the start form")
	}
	if !strings.HasPrefix(m[1], "+49151") || len(m[1]) != len("+4915112345678") {
		t.Errorf("prefilled number = %q, want +49151 and 8 digits", m[1])
	}
	if got, err := consent.ParsePhone(m[1], ""); err != nil || got != m[1] {
		t.Errorf("ParsePhone(%q) = %q, %v, want a valid number", m[1], got, err)
	}
	if strings.HasSuffix(m[1], "0000") {
		t.Errorf("prefilled number %q is not on WhatsApp", m[1])
	}
	f.quiet(t, 20*time.Millisecond)
}

func TestStartFormAbsent(t *testing.T) {
	t.Run("no entry points configured", func(t *testing.T) {
		f := newFakeOptin(t)
		_, mux := newTestPhone(t, f, time.Millisecond)
		if body := do(t, mux, http.MethodGet, "/sandbox", nil, "").Body.String(); strings.Contains(body, `data-testid="start-form"`) {
			t.Error("chat list shows the start form without entry points")
		}
		rec := do(t, mux, http.MethodPost, "/sandbox/start", url.Values{"number": {"+" + person}, "code": {"HELLO"}}, "")
		if rec.Code != http.StatusNotFound {
			t.Errorf("POST /sandbox/start = %d, want 404", rec.Code)
		}
		f.quiet(t, 20*time.Millisecond)
	})
	t.Run("entry points fail", func(t *testing.T) {
		f := newFakeOptin(t)
		_, mux := newStartPhone(t, f, func(context.Context) ([]EntryChoice, error) { return nil, errors.New("database is locked") })
		rec := do(t, mux, http.MethodGet, "/sandbox", nil, "")
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `data-testid="start-form"`) ||
			!strings.Contains(rec.Body.String(), `data-testid="chat-list"`) {
			t.Errorf("GET /sandbox = %d, want 200 with the chat list and no start form", rec.Code)
		}
		rec = do(t, mux, http.MethodPost, "/sandbox/start", url.Values{"number": {"+" + person}, "code": {"HELLO"}}, "")
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "locked") {
			t.Errorf("POST /sandbox/start = %d %q, want 500 without the error", rec.Code, rec.Body)
		}
		f.quiet(t, 20*time.Millisecond)
	})
	t.Run("no entry points yet", func(t *testing.T) {
		f := newFakeOptin(t)
		_, mux := newStartPhone(t, f, func(context.Context) ([]EntryChoice, error) { return nil, nil })
		body := do(t, mux, http.MethodGet, "/sandbox", nil, "").Body.String()
		wantInOrder(t, body, `data-testid="start-form"`, `There are no entry points yet.`)
		wantNone(t, body, `data-testid="start-submit"`)
	})
}

// TestStartWritesIn sends the entry point's start text through the webhook
// and opens the chat.
func TestStartWritesIn(t *testing.T) {
	tests := []struct {
		name, number, code, wantWaID, wantText string
	}{
		{"default", "+4915122223333", "HELLO", "4915122223333", "START HELLO-AB3D"},
		{"spaces and lower-case code", " 0049 151 2222 4444 ", "spring", "4915122224444", "START SPRING-XY7Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOptin(t)
			_, mux := newStartPhone(t, f, testEntries)
			rec := do(t, mux, http.MethodPost, "/sandbox/start", url.Values{"number": {tt.number}, "code": {tt.code}}, "")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/sandbox/chats/"+tt.wantWaID {
				t.Fatalf("POST /sandbox/start = %d to %q, want 303 to /sandbox/chats/%s", rec.Code, rec.Header().Get("Location"), tt.wantWaID)
			}
			_, got := f.nextMessage(t)
			if got.Type != consent.InText || got.Text != tt.wantText || got.From != tt.wantWaID || !strings.HasPrefix(got.ID, "wamid.SANDBOXIN.") {
				t.Errorf("inbound = %+v, want text %q from %s", got, tt.wantText, tt.wantWaID)
			}
			// The chat shows what the person sent, delivered once optin took it.
			waitFor(t, func() bool { return bubbleStatus(t, mux, tt.wantWaID, got.ID) == "delivered" })
			if body := do(t, mux, http.MethodGet, "/sandbox/chats/"+tt.wantWaID, nil, "").Body.String(); !strings.Contains(body, tt.wantText) {
				t.Errorf("chat misses the start text %q", tt.wantText)
			}
			f.quiet(t, 20*time.Millisecond)
		})
	}
}

func TestStartJSON(t *testing.T) {
	f := newFakeOptin(t)
	_, mux := newStartPhone(t, f, testEntries)
	rec := do(t, mux, http.MethodPost, "/sandbox/start", url.Values{"number": {"+" + person}, "code": {"HELLO"}}, "application/json")
	var got struct{ Message messageJSON }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("POST /sandbox/start (JSON) = %d %s, want 201 with the message", rec.Code, rec.Body)
	}
	if got.Message.FromBusiness || got.Message.Text != "START HELLO-AB3D" {
		t.Errorf("message = %+v, want the person's start text", got.Message)
	}
	f.nextMessage(t)

	rec = do(t, mux, http.MethodPost, "/sandbox/start", url.Values{"number": {"+" + person}, "code": {"NOPE"}}, "application/json")
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"code":"invalid_start"`) {
		t.Errorf("POST /sandbox/start (JSON, unknown code) = %d %s, want 422 invalid_start", rec.Code, rec.Body)
	}
	f.onlyStatuses(t, 30*time.Millisecond)
}

func TestStartRefused(t *testing.T) {
	tests := []struct {
		name         string
		form         url.Values
		want         []string // in this order
		wantSelected string
	}{
		{
			name: "not a number", form: url.Values{"number": {"<b>12"}, "code": {"SPRING"}},
			want: []string{`value="&lt;b&gt;12"`, `aria-describedby="sb-start-number-error sb-start-hint"`, `aria-invalid="true"`,
				`id="sb-start-number-error" class="sb-error sb-start__error" role="alert">` + startNumberProblem},
			wantSelected: `<option value="SPRING" selected>`,
		},
		{
			name: "too short", form: url.Values{"number": {"+49 12"}, "code": {"HELLO"}},
			want:         []string{`value="+49 12"`, `aria-invalid="true"`, startNumberProblem},
			wantSelected: `<option value="HELLO" selected>`,
		},
		{
			name: "not on WhatsApp", form: url.Values{"number": {"+4915112340000"}, "code": {"HELLO"}},
			want:         []string{`value="+4915112340000"`, `aria-invalid="true"`, startUndeliverableProblem},
			wantSelected: `<option value="HELLO" selected>`,
		},
		{
			name: "unknown code", form: url.Values{"number": {"+" + person}, "code": {"NOPE"}},
			want: []string{`value="+` + person + `"`, `data-testid="start-code" aria-invalid="true" aria-describedby="sb-start-code-error"`,
				`id="sb-start-code-error" class="sb-error sb-start__error" role="alert">` + startCodeProblem},
		},
		{
			name: "no code", form: url.Values{"number": {"+" + person}},
			want: []string{`aria-invalid="true"`, startCodeProblem},
		},
		{
			name: "nothing", form: url.Values{},
			want: []string{startNumberProblem, startCodeProblem},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOptin(t)
			p, mux := newStartPhone(t, f, testEntries)
			rec := do(t, mux, http.MethodPost, "/sandbox/start", tt.form, "")
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("POST /sandbox/start = %d, want 422", rec.Code)
			}
			body := rec.Body.String()
			wantInOrder(t, body, append([]string{`data-testid="start-form"`}, tt.want...)...)
			wantInOrder(t, body, `data-testid="chat-list"`)
			if tt.wantSelected != "" {
				wantInOrder(t, body, tt.wantSelected)
			} else if strings.Contains(body, " selected>") {
				t.Error("an entry point is selected, want none")
			}
			wantNone(t, body, `value="<b>`)
			p.mu.Lock()
			n := len(p.chats)
			p.mu.Unlock()
			if n != 0 {
				t.Errorf("a refused start made %d chats", n)
			}
			f.quiet(t, 20*time.Millisecond)
		})
	}
}

func wantInOrder(t *testing.T, body string, want ...string) {
	t.Helper()
	rest := body
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("missing (or out of order) %q", w)
			continue
		}
		rest = rest[i+len(w):]
	}
}

func wantNone(t *testing.T, body string, dontWant ...string) {
	t.Helper()
	for _, w := range dontWant {
		if strings.Contains(body, w) {
			t.Errorf("has %q", w)
		}
	}
}
