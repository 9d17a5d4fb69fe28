package whatsapp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
			var fields []string
			for _, o := range got.Other {
				if !json.Valid(o.Value) {
					t.Errorf("Other %s value %q is not the raw JSON", o.Field, o.Value)
				}
				fields = append(fields, o.Field)
			}
			got.Other = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseWebhook =\n%+v\nwant\n%+v", got, tt.want)
			}
			if want := otherFields[tt.fixture]; !slices.Equal(fields, want) {
				t.Errorf("Other fields = %q, want %q", fields, want)
			}
		})
	}
}

// otherFields are the fields of other changes the fixtures carry.
var otherFields = map[string][]string{
	"cloud_unsupported_and_template_status.json": {"message_template_status_update"},
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
		{"on-premise empty statuses", `{"statuses":[]}`},
		{"on-premise contacts only", `{"contacts":[{"profile":{"name":"A"},"wa_id":"255712345678"}]}`},
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
		{"from":"1","id":"c","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{}"}}},
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

// TestParseWebhookOtherFields: changes of other webhook fields and errors
// outside any status are parsed, never refused: the field's name and raw
// value for the code that acts on them, the errors with their codes.
func TestParseWebhookOtherFields(t *testing.T) {
	cloud := func(changes string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[` + changes + `]}]}`
	}
	tests := []struct {
		name, body string
		wantOther  []consent.OtherChange
		wantErrors []consent.ProviderErrorDetail
		wantMsgs   int
	}{
		{"account_update", cloud(`{"field":"account_update","value":{"phone_number":"15550783881","event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}}`),
			[]consent.OtherChange{{Field: "account_update", Value: []byte(`{"phone_number":"15550783881","event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`)}}, nil, 0},
		{"message_template_status_update", cloud(`{"field":"message_template_status_update","value":{"event":"REJECTED","message_template_id":594425479261596,"message_template_name":"optin_welcome","message_template_language":"de","reason":"INCORRECT_CATEGORY"}}`),
			[]consent.OtherChange{{Field: "message_template_status_update", Value: []byte(`{"event":"REJECTED","message_template_id":594425479261596,"message_template_name":"optin_welcome","message_template_language":"de","reason":"INCORRECT_CATEGORY"}`)}}, nil, 0},
		{"message_template_quality_update", cloud(`{"field":"message_template_quality_update","value":{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":1,"message_template_name":"optin_welcome","message_template_language":"en"}}`),
			[]consent.OtherChange{{Field: "message_template_quality_update", Value: []byte(`{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":1,"message_template_name":"optin_welcome","message_template_language":"en"}`)}}, nil, 0},
		{"phone_number_quality_update", cloud(`{"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_1K"}}`),
			[]consent.OtherChange{{Field: "phone_number_quality_update", Value: []byte(`{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_1K"}`)}}, nil, 0},
		{"unknown field with clashing keys", cloud(`{"field":"future_thing","value":{"messages":"not a list"}}`),
			[]consent.OtherChange{{Field: "future_thing", Value: []byte(`{"messages":"not a list"}`)}}, nil, 0},
		{"value.errors", cloud(`{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"errors":[{"code":132001,"title":"Template does not exist","message":"Template does not exist","error_data":{"details":"template name (optin_welcome) does not exist in de"}},{"code":"131042","message":"Business eligibility payment issue"}]}}`),
			nil, []consent.ProviderErrorDetail{{Code: 132001, Title: "Template does not exist"}, {Code: 131042, Title: "Business eligibility payment issue"}}, 0},
		{"on-premise errors", `{"errors":[{"code":1005,"title":"Access denied"}]}`,
			nil, []consent.ProviderErrorDetail{{Code: 1005, Title: "Access denied"}}, 0},
		{"other field beside messages", cloud(`{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}},{"field":"messages","value":{"messages":[{"id":"wamid.1","from":"4915112345678","timestamp":"1739321500","type":"text","text":{"body":"hi"}}]}}`),
			[]consent.OtherChange{{Field: "account_update", Value: []byte(`{"event":"VERIFIED_ACCOUNT"}`)}}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhook([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if !reflect.DeepEqual(got.Other, tt.wantOther) {
				t.Errorf("Other = %+v, want %+v", got.Other, tt.wantOther)
			}
			if !reflect.DeepEqual(got.Errors, tt.wantErrors) {
				t.Errorf("Errors = %+v, want %+v", got.Errors, tt.wantErrors)
			}
			if len(got.Messages) != tt.wantMsgs || len(got.Statuses) != 0 || len(got.Preferences) != 0 {
				t.Errorf("ParseWebhook = %+v, want %d messages and nothing else", got, tt.wantMsgs)
			}
		})
	}
}

// TestParseWebhookListReply: a row picked from a list message comes back as
// a reply by id, like a reply button's.
func TestParseWebhookListReply(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","contacts":[{"profile":{"name":"Erika"},"wa_id":"4915112345678"}],
		"messages":[{"context":{"from":"15550783881","id":"wamid.LIST"},"from":"4915112345678","id":"wamid.PICK","timestamp":"1739321500",
		"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"cat:offers","title":"Offers","description":"Weekly deals"}}}]}}]}]}`
	got, err := ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []consent.InboundMessage{{ID: "wamid.PICK", From: "4915112345678", Name: "Erika", Timestamp: time.Unix(1739321500, 0).UTC(),
		Type: consent.InButtonReply, ButtonID: "cat:offers", Text: "Offers", ContextID: "wamid.LIST"}}
	if !reflect.DeepEqual(got.Messages, want) {
		t.Errorf("Messages = %+v, want %+v", got.Messages, want)
	}
}
