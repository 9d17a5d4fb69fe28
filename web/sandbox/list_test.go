package sandbox

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// TestListMessage: the sandbox shows an interactive list (its button's
// label, section titles, rows with their descriptions), and a tap on a row
// reaches optin as WhatsApp's interactive list_reply, which parses into a
// reply by the row's id.
func TestListMessage(t *testing.T) {
	f := newFakeOptin(t)
	p, mux := newTestPhone(t, f, time.Millisecond)
	list := send(t, p, consent.Message{Kind: consent.KindInteractive, To: person, Interactive: &consent.Interactive{
		Body: "Which messages would you like?",
		List: &consent.List{Button: "Choose topics", Sections: []consent.ListSection{
			{Title: "Marketing", Rows: []consent.ListRow{{ID: "cat:offers", Title: "Offers", Description: "Weekly deals"}}},
			{Title: "Service", Rows: []consent.ListRow{{ID: "cat:order_updates", Title: "Order updates"}}},
		}},
	}})

	rec := do(t, mux, http.MethodGet, "/sandbox/chats/"+person, nil, "")
	page := html.UnescapeString(rec.Body.String())
	for _, want := range []string{`data-testid="list-button"`, "Choose topics", `data-testid="list-section-Marketing"`,
		`data-testid="button-cat:offers"`, "Weekly deals", `data-testid="list-section-Service"`, `data-testid="button-cat:order_updates"`} {
		if !strings.Contains(page, want) {
			t.Errorf("chat page lacks %q", want)
		}
	}

	rec = do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/buttons",
		url.Values{"message_id": {list.MessageID}, "button_id": {"cat:offers"}, "title": {"forged"}}, "")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST buttons = %d, want 303", rec.Code)
	}
	raw, got := f.nextMessage(t)
	if got.Type != consent.InButtonReply || got.ButtonID != "cat:offers" || got.Text != "Offers" || got.ContextID != list.MessageID {
		t.Errorf("inbound = %+v, want the row cat:offers/Offers replying to %s", got, list.MessageID)
	}
	in, _ := raw["interactive"].(map[string]any)
	if raw["type"] != "interactive" || in["type"] != "list_reply" || in["button_reply"] != nil {
		t.Errorf("webhook message = %v, want an interactive list_reply", raw)
	}

	rec = do(t, mux, http.MethodPost, "/sandbox/chats/"+person+"/buttons",
		url.Values{"message_id": {list.MessageID}, "button_id": {"cat:nope"}}, "")
	if rec.Code == http.StatusSeeOther || rec.Code == http.StatusCreated {
		t.Errorf("a row the list does not have: %d, want a refusal", rec.Code)
	}
}
