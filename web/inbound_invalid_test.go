package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/whatsapp"
)

// TestInvalidInboundKeptAside: a webhook message whose sender is not a
// wa_id, or whose text WhatsApp could not have sent, makes no contact, no
// event and no reply; the call is kept with the reason, and the other
// messages of the same call are processed.
func TestInvalidInboundKeptAside(t *testing.T) {
	t.Parallel()
	msg := func(from, text, name string) string {
		f, _ := json.Marshal(from)
		b, _ := json.Marshal(text)
		n, _ := json.Marshal(name)
		return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":%s},"wa_id":%s}],"messages":[{"from":%s,"id":"wamid.X","timestamp":"1790000000","type":"text","text":{"body":%s}}]}}]}]}`,
			n, f, f, b)
	}
	cases := []struct{ name, body, reason string }{
		{"script sender", msg("<script>alert(1)</script>", "START", "P"), "from is not a wa_id"},
		{"formula sender", msg("=1+1", "START", "P"), "from is not a wa_id"},
		{"link sender", msg("javascript:alert(1)", "START", "P"), "from is not a wa_id"},
		{"16 digits", msg("4915112345678901", "START", "P"), "from is not a wa_id"},
		{"empty sender", msg("", "START", "P"), "from is not a wa_id"},
		{"text too long", msg("4915112345678", strings.Repeat("a", consent.MaxInboundText+1), "P"), "longer than 4,096"},
		{"NUL in text", msg("4915112345678", "START\x00", "P"), "NUL"},
		{"NUL in name", msg("4915112345678", "START", "P\x00"), "profile name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			w := &consent.InboxWorker{Service: e.svc, Store: e.db, Parse: whatsapp.ParseWebhook, Log: slog.New(slog.DiscardHandler), MaxAttempts: 1}
			before := e.rows()
			if code := e.webhook(tc.body, "s3cret"); code != http.StatusOK {
				t.Fatalf("webhook = %d, want 200 (stored, kept aside)", code)
			}
			if _, err := w.ProcessPending(context.Background()); err != nil {
				t.Fatal(err)
			}
			after := e.rows()
			for _, table := range []string{"contacts", "events", "consents", "outbox"} {
				if after[table] != before[table] {
					t.Errorf("%s: %d rows → %d, want no change", table, before[table], after[table])
				}
			}
			var errText string
			var bodyLen int
			e.db.SQL().QueryRow(`SELECT error, length(body) FROM inbox ORDER BY id DESC LIMIT 1`).Scan(&errText, &bodyLen)
			if !strings.Contains(errText, tc.reason) || bodyLen == 0 {
				t.Errorf("inbox error = %q (body %d bytes), want the call kept with %q", errText, bodyLen, tc.reason)
			}
		})
	}
	t.Run("invalid UTF-8 kept unprocessed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		w := &consent.InboxWorker{Service: e.svc, Store: e.db, Parse: whatsapp.ParseWebhook, Log: slog.New(slog.DiscardHandler), MaxAttempts: 1}
		before := e.rows()
		if code := e.webhook(strings.Replace(msg("4915112345678", "START", "P"), "START", "ST\xffART", 1), "s3cret"); code != http.StatusOK {
			t.Errorf("webhook with invalid UTF-8 = %d, want 200 (kept, as every verified JSON)", code)
		}
		w.ProcessPending(context.Background())
		after := e.rows()
		for _, table := range []string{"contacts", "events", "consents", "outbox"} {
			if after[table] != before[table] {
				t.Errorf("%s: %d rows → %d, want no change", table, before[table], after[table])
			}
		}
		var errText string
		e.db.SQL().QueryRow(`SELECT error FROM inbox ORDER BY id DESC LIMIT 1`).Scan(&errText)
		if !strings.Contains(errText, "UTF-8") {
			t.Errorf("inbox error = %q, want the call kept saying it is not UTF-8", errText)
		}
	})
	t.Run("valid message beside an invalid one is processed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		w := &consent.InboxWorker{Service: e.svc, Store: e.db, Parse: whatsapp.ParseWebhook, Log: slog.New(slog.DiscardHandler), MaxAttempts: 1}
		body := `{"contacts":[{"profile":{"name":"A"},"wa_id":"4915112345678"}],"messages":[` +
			`{"from":"=HYPERLINK(1)","id":"wamid.BAD","timestamp":"1790000000","type":"text","text":{"body":"START"}},` +
			`{"from":"4915112345678","id":"wamid.GOOD","timestamp":"1790000000","type":"text","text":{"body":"START"}}]}`
		if code := e.webhook(body, "s3cret"); code != http.StatusOK {
			t.Fatalf("webhook = %d", code)
		}
		w.ProcessPending(context.Background())
		var n int
		e.db.SQL().QueryRow(`SELECT count(*) FROM contacts`).Scan(&n)
		if n != 1 {
			t.Errorf("contacts = %d, want 1 (the valid sender only)", n)
		}
	})
}
