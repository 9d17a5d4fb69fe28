package whatsapp

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// fixtureDir holds webhook bodies as providers send them, shared with the
// web package's handler tests.
const fixtureDir = "../../testdata/webhooks"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func TestParseWebhook(t *testing.T) {
	const (
		erika   = "4915112345678"
		juma    = "255712345678"
		sentID  = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjQyQkI0QzE2RjdFNDQ1QkEA"
		replyTo = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjc3MDAyRDQ0RjJCMTdBNjUA"
	)
	tests := []struct {
		fixture string
		want    consent.Inbound
	}{
		{"cloud_text.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:        "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDAwMDAwMDAwMDAwMDAwMDEA",
			From:      erika,
			Name:      "Erika Mustermann",
			Timestamp: unix(1739321024),
			Type:      consent.InText,
			Text:      "STOP",
		}}}},
		{"cloud_button_reply.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:        "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDAwMDAwMDAwMDAwMDAwMDIA",
			From:      erika,
			Name:      "Erika Mustermann",
			Timestamp: unix(1739321100),
			Type:      consent.InButtonReply,
			Text:      "Yes, subscribe",
			ButtonID:  "confirm:newsletter",
			ContextID: sentID,
		}}}},
		{"cloud_template_button.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:        "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDAwMDAwMDAwMDAwMDAwMDMA",
			From:      erika,
			Name:      "Erika Mustermann",
			Timestamp: unix(1739321200),
			Type:      consent.InButton,
			Text:      "Stop promotions",
			ButtonID:  "optout:marketing",
			ContextID: replyTo,
		}}}},
		{"cloud_system_changed_number.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:         "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDAwMDAwMDAwMDAwMDAwMDQA",
			From:       erika,
			Timestamp:  unix(1739321300),
			Type:       consent.InSystem,
			Text:       "User Erika Mustermann changed from 4915112345678 to 4917612345678",
			NewWaID:    "4917612345678",
			SystemType: "user_changed_number",
		}}}},
		{"cloud_statuses.json", consent.Inbound{Statuses: []consent.StatusUpdate{
			{MessageID: sentID, RecipientID: erika, Status: consent.StatusSent, Timestamp: unix(1739321400)},
			{MessageID: sentID, RecipientID: erika, Status: consent.StatusDelivered, Timestamp: unix(1739321405)},
			{MessageID: sentID, RecipientID: erika, Status: consent.StatusRead, Timestamp: unix(1739321460)},
		}}},
		{"cloud_status_failed.json", consent.Inbound{Statuses: []consent.StatusUpdate{{
			MessageID:   "wamid.HBgNNDkxNTExMTExMTExMRUCABEYEkE0QjRDMTZGN0U0NDVCQTEA",
			RecipientID: "4915111111111",
			Status:      consent.StatusFailed,
			Timestamp:   unix(1739321500),
			Errors:      []consent.ProviderErrorDetail{{Code: 131026, Title: "Message undeliverable"}},
		}}}},
		{"cloud_user_preferences_stop.json", consent.Inbound{Preferences: []consent.PreferenceUpdate{{
			WaID:      erika,
			Category:  "marketing_messages",
			Value:     "stop",
			Timestamp: unix(1739321600),
		}}}},
		{"cloud_unsupported_and_template_status.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:        "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDAwMDAwMDAwMDAwMDAwMDUA",
			From:      erika,
			Name:      "Erika Mustermann",
			Timestamp: unix(1739322100),
			Type:      "image",
			// Forwarded with its media id (consent/push.go).
			Media: &consent.Media{ID: "1003383421387256", MimeType: "image/jpeg",
				SHA256: "IFYAkXVrPLbfT1QQmw3kYwU7fKuJPfRmOa/lPT1h/1g=", Caption: "my receipt"},
		}}}},
		{"onprem_text.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:        "ABGGJVcSNFZ4Ago6EhQ7rQ2ZqUzD",
			From:      juma,
			Name:      "Juma Mwangi",
			Timestamp: unix(1739321700),
			Type:      consent.InText,
			Text:      "JOIN",
		}}}},
		{"onprem_status.json", consent.Inbound{Statuses: []consent.StatusUpdate{{
			MessageID:   "gBEGJVcSNFZ4AglhcGVcdfcSzn8",
			RecipientID: juma,
			Status:      consent.StatusDelivered,
			Timestamp:   unix(1739321800),
		}}}},
		{"onprem_status_failed_structure.json", consent.Inbound{Statuses: []consent.StatusUpdate{{
			MessageID:   "gBEGJVcSNFZ4AgkKR2hOd9Jt3cA",
			RecipientID: juma,
			Status:      consent.StatusFailed,
			Timestamp:   unix(1739321850),
			Errors: []consent.ProviderErrorDetail{{
				Code:  500,
				Title: "structure unavailable: Client could not display highly structured message",
			}},
		}}}},
		{"onprem_system_changed_number.json", consent.Inbound{Messages: []consent.InboundMessage{{
			ID:         "ABGGJVcSNFZ4Ago6EhRzaW4ZN1cD",
			From:       juma,
			Timestamp:  unix(1739321900),
			Type:       consent.InSystem,
			Text:       "User A changed from +255 712 345 678 to +255 754 321 000",
			NewWaID:    "255754321000",
			SystemType: "user_changed_number", // reported as customer_changed_number
		}}}},
		{"onprem_user_preference_stop.json", consent.Inbound{Preferences: []consent.PreferenceUpdate{{
			WaID:      juma,
			Category:  "marketing_messages",
			Value:     "stop",
			Timestamp: unix(1739322000),
		}}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := ParseWebhook(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseWebhook =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseWebhookFailedStatusClass(t *testing.T) {
	// The consumer of a failed status classifies its error; the fixtures'
	// errors must land in the classes SPEC §5 gives them.
	tests := []struct {
		fixture string
		want    consent.ErrorClass
	}{
		{"cloud_status_failed.json", consent.ErrUndeliverable},
		{"onprem_status_failed_structure.json", consent.ErrTemplate},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			in, err := ParseWebhook(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			e := in.Statuses[0].Errors[0]
			if got := ClassifyError(e.Code, e.Title); got != tt.want {
				t.Errorf("ClassifyError(%d, %q) = %s, want %s", e.Code, e.Title, got, tt.want)
			}
		})
	}
}

func TestParseWebhookEmpty(t *testing.T) {
	// Valid webhooks with nothing for optin: acknowledged, not errors, or
	// the provider would resend them forever.
	tests := []struct{ name, body string }{
		{"cloud without entries", `{"object":"whatsapp_business_account","entry":[]}`},
		{"cloud entry without changes", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}`},
		{"cloud value without messages", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
			"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}}}]}]}`},
		{"cloud template status only", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update",
			"value":{"event":"APPROVED","message_template_id":1,"message_template_name":"x","message_template_language":"en","reason":"NONE"}}]}]}`},
		{"cloud unknown field with clashing keys", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"future_thing","value":{"messages":"not a list"}}]}]}`},
		{"on-premise empty statuses", `{"statuses":[]}`},
		{"on-premise contacts only", `{"contacts":[{"profile":{"name":"A"},"wa_id":"255712345678"}]}`},
		{"on-premise errors", `{"errors":[{"code":1005,"title":"Access denied"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhook([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if !reflect.DeepEqual(got, consent.Inbound{}) {
				t.Errorf("ParseWebhook = %+v, want empty", got)
			}
		})
	}
}

func TestParseWebhookMalformed(t *testing.T) {
	tests := []struct {
		name, body string
		unknown    bool // want ErrUnknownWebhook: valid JSON of neither shape
	}{
		{"empty", "", false},
		{"spaces", "  \n", false},
		{"truncated", `{"object":"whatsapp_business_account","entry":[`, false},
		{"not json", "hello", false},
		{"form body", "object=whatsapp_business_account", false},
		{"trailing garbage", `{"statuses":[]} x`, false},
		{"null", "null", true},
		{"array", `[{"messages":[]}]`, true},
		{"string", `"whatsapp"`, true},
		{"number", "42", true},
		{"empty object", "{}", true},
		{"unrelated object", `{"event":"message","data":{}}`, true},
		{"other cloud object", `{"object":"page","entry":[]}`, true},
		{"entry not a list", `{"object":"whatsapp_business_account","entry":"x"}`, false},
		{"messages not a list", `{"messages":{"id":"x"}}`, false},
		{"message not an object", `{"messages":["x"]}`, false},
		{"timestamp object", `{"messages":[{"id":"x","timestamp":{}}]}`, false},
		{"cloud value malformed", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":7}}]}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhook([]byte(tt.body))
			if err == nil {
				t.Fatalf("ParseWebhook = %+v, nil; want an error", got)
			}
			if errors.Is(err, ErrUnknownWebhook) != tt.unknown {
				t.Errorf("ParseWebhook error = %v; errors.Is(ErrUnknownWebhook) = %v, want %v", err, !tt.unknown, tt.unknown)
			}
			if !reflect.DeepEqual(got, consent.Inbound{}) {
				t.Errorf("ParseWebhook returned %+v with its error, want empty", got)
			}
		})
	}
}

func TestParseWebhookLenient(t *testing.T) {
	// Details that vary between providers and versions must not lose a
	// message: timestamps as numbers or junk, codes as strings,
	// interactive replies optin does not model.
	body := `{"messages":[
		{"from":"1","id":"a","timestamp":1739321024,"type":"text","text":{"body":"hi"}},
		{"from":"1","id":"b","timestamp":"soon","type":"text","text":{"body":"hi"}},
		{"from":"1","id":"c","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"x","title":"X"}}},
		{"from":"1","id":"d","type":"reaction","reaction":{"message_id":"a","emoji":"👍"}}
	],"statuses":[{"id":"s","status":"failed","timestamp":null,"errors":[{"code":"131026","message":"Message undeliverable"}]}]}`
	got, err := ParseWebhook([]byte(body))
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	want := consent.Inbound{
		Messages: []consent.InboundMessage{
			{ID: "a", From: "1", Timestamp: unix(1739321024), Type: consent.InText, Text: "hi"},
			{ID: "b", From: "1", Type: consent.InText, Text: "hi"},
			{ID: "c", From: "1", Type: "interactive"},
			{ID: "d", From: "1", Type: "reaction"},
		},
		Statuses: []consent.StatusUpdate{{
			MessageID: "s", Status: consent.StatusFailed,
			Errors: []consent.ProviderErrorDetail{{Code: 131026, Title: "Message undeliverable"}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseWebhook =\n%+v\nwant\n%+v", got, want)
	}
}

func FuzzParseWebhook(f *testing.F) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(readFixture(f, e.Name()))
	}
	for _, s := range []string{"", "{}", "null", `{"messages":[{}]}`, `{"entry":[{"changes":[{"value":{}}]}]}`,
		`{"statuses":[{"timestamp":1e308,"errors":[{"code":"9999999999999"}]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseWebhook(body)
		if err != nil && !reflect.DeepEqual(in, consent.Inbound{}) {
			t.Errorf("ParseWebhook returned %+v with error %v", in, err)
		}
	})
}

func BenchmarkParseWebhook(b *testing.B) {
	for _, name := range []string{"cloud_text.json", "cloud_statuses.json", "onprem_text.json"} {
		body := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseWebhook(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
