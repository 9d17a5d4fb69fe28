package web

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/whatsapp"
)

// cloudChange wraps one change in the Cloud API's webhook envelope.
func cloudChange(field, value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"` + field + `","value":` + value + `}]}]}`
}

// TestWebhookOtherFields: authenticated webhook calls of other fields
// (account_update, template status and quality updates, phone number
// quality), errors outside any status and shapes optin does not know are
// stored and answered 200, change no consent, and are kept in the inbox with
// the reason, visible on the dashboard. Template and account errors among
// value.errors raise alerts.
func TestWebhookOtherFields(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.optInContact("+4915112345678", "offers", "order_updates")
	before := e.states(c.ID)
	worker := &consent.InboxWorker{Service: e.svc, Store: e.db, Parse: whatsapp.ParseWebhook,
		Log: slog.New(slog.DiscardHandler), MaxAttempts: 1}

	tests := []struct {
		name, body string
		wantError  string // the inbox row's error after processing
		keepsBody  bool
	}{
		{"account_update", cloudChange("account_update", `{"phone_number":"15550783881","event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"SCHEDULE_FOR_DISABLE"}}`),
			"", false}, // acted on since issue 14 (consent/quality.go): processed and emptied
		{"message_template_status_update", cloudChange("message_template_status_update", `{"event":"REJECTED","message_template_id":1,"message_template_name":"optin_welcome","message_template_language":"de","reason":"INCORRECT_CATEGORY"}`),
			"ignored: webhook field message_template_status_update is not acted on", true},
		{"message_template_quality_update", cloudChange("message_template_quality_update", `{"previous_quality_score":"GREEN","new_quality_score":"RED","message_template_id":1,"message_template_name":"optin_welcome","message_template_language":"en"}`),
			"ignored: webhook field message_template_quality_update is not acted on", true},
		{"phone_number_quality_update", cloudChange("phone_number_quality_update", `{"display_phone_number":"15550783881","event":"DOWNGRADE","current_limit":"TIER_250"}`),
			"", false}, // acted on since issue 14 (consent/quality.go)
		{"value.errors", cloudChange("messages", `{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"errors":[{"code":132001,"title":"Template does not exist"},{"code":131042,"title":"Business eligibility payment issue"},{"code":131000,"title":"Something went wrong"}]}`),
			"", false},
		{"unknown shape", `[1,2]`, "ignored: whatsapp: webhook is neither Cloud API nor on-premise shape", true},
		{"other object", `{"object":"page","entry":[]}`, `ignored: whatsapp: webhook object "page": whatsapp: webhook is neither Cloud API nor on-premise shape`, true},
		{"odd types", `{"object":"whatsapp_business_account","entry":"x"}`, "ignored: whatsapp: parse webhook: ", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var lastID int64
			e.db.SQL().QueryRow(`SELECT coalesce(max(id), 0) FROM inbox`).Scan(&lastID)
			if got := e.webhook(tc.body, "s3cret"); got != http.StatusOK {
				t.Fatalf("webhook: status %d, want 200", got)
			}
			var id int64
			var body []byte
			e.db.SQL().QueryRow(`SELECT id, body FROM inbox WHERE id > ?`, lastID).Scan(&id, &body)
			if id == 0 || string(body) != tc.body {
				t.Fatalf("stored inbox row %d with %q, want the body", id, body)
			}
			if _, err := worker.ProcessPending(ctx); err != nil {
				t.Fatal(err)
			}
			var processed, errText string
			e.db.SQL().QueryRow(`SELECT processed_at, error, body FROM inbox WHERE id = ?`, id).Scan(&processed, &errText, &body)
			if processed == "" || !strings.HasPrefix(errText, tc.wantError) || (tc.wantError == "") != (errText == "") {
				t.Errorf("inbox row: processed %q, error %q, want processed with %q", processed, errText, tc.wantError)
			}
			if got := len(body) > 0; got != tc.keepsBody {
				t.Errorf("body kept = %v, want %v", got, tc.keepsBody)
			}
			if got := e.states(c.ID); !reflect.DeepEqual(got, before) {
				t.Errorf("consents = %v, want them unchanged %v", got, before)
			}
		})
	}

	// value.errors: the template and the account error alert, as at send
	// time; the generic 131000 does not. The DOWNGRADE raised its quality
	// alert before them.
	alerts, err := e.db.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		got = append(got, a.Kind+" "+a.Title)
	}
	if want := []string{"account Business eligibility payment issue", "template Template does not exist",
		"quality WhatsApp lowered the messaging limit from (not reported) to TIER_250: the daily cap follows"}; !reflect.DeepEqual(got, want) {
		t.Errorf("alerts = %q, want %q", got, want)
	}

	// Admins see the kept calls and why.
	admin := e.signIn(consent.RoleAdmin)
	_, page := admin.get("/admin/")
	if got := testidText(page, "inbox-ignored"); got != "Kept, nothing to act on: 5" {
		t.Errorf("dashboard inbox-ignored = %q", got)
	}
	if got := testidText(page, "inbox-failed"); got != "Could not be processed: 0" {
		t.Errorf("dashboard inbox-failed = %q", got)
	}
	if list := testidText(page, "inbox-ignored-list"); !strings.Contains(list, "message_template_status_update is not acted on") ||
		!strings.Contains(list, "neither Cloud API nor on-premise shape") {
		t.Errorf("dashboard list of kept calls = %q", list)
	}
}
