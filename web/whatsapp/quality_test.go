package whatsapp

import (
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// TestParseAccountWebhooks reads phone_number_quality_update and
// account_update changes in Meta's Cloud shape.
func TestParseAccountWebhooks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want consent.AccountUpdate
	}{
		{"downgrade", `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1764759600,"changes":[{"field":"phone_number_quality_update",
			"value":{"display_phone_number":"15550783881","event":"DOWNGRADE","old_limit":"TIER_1K","current_limit":"TIER_250"}}]}]}`,
			consent.AccountUpdate{Field: consent.FieldQuality, Event: "DOWNGRADE", CurrentLimit: "TIER_250", OldLimit: "TIER_1K",
				At: time.Unix(1764759600, 0).UTC()}},
		{"flagged, new limit field, reseller's rating", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"phone_number_quality_update",
			"value":{"display_phone_number":"15550783881","event":"FLAGGED","max_daily_conversations_per_business":"TIER_2K","quality_rating":"red"}}]}]}`,
			consent.AccountUpdate{Field: consent.FieldQuality, Event: "FLAGGED", CurrentLimit: "TIER_2K", QualityRating: "RED"}},
		{"restriction", `{"object":"whatsapp_business_account","entry":[{"id":"1","time":"1764759600","changes":[{"field":"account_update",
			"value":{"phone_number":"15550783881","event":"ACCOUNT_RESTRICTION","restriction_info":[
			{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":"2026-12-04T13:59:20+0000"},
			{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":"2026-12-05T00:00:00Z"}]}}]}]}`,
			consent.AccountUpdate{Field: consent.FieldAccount, Event: "ACCOUNT_RESTRICTION", At: time.Unix(1764759600, 0).UTC(),
				Restrictions: []consent.Restriction{
					{Type: "RESTRICTED_BIZ_INITIATED_MESSAGING", Expiration: time.Date(2026, 12, 4, 13, 59, 20, 0, time.UTC)},
					{Type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION", Expiration: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}}}},
		{"ban", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update",
			"value":{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"2026-12-03"}}}]}]}`,
			consent.AccountUpdate{Field: consent.FieldAccount, Event: "DISABLED_UPDATE", BanState: "DISABLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := ParseWebhook([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Account) != 1 || len(in.Messages)+len(in.Statuses)+len(in.Preferences) != 0 {
				t.Fatalf("Inbound = %+v, want one account update", in)
			}
			got := in.Account[0]
			if got.Raw == "" || got.Raw[0] != '{' {
				t.Errorf("Raw = %q, want the value", got.Raw)
			}
			got.Raw = ""
			if got.Field != tt.want.Field || got.Event != tt.want.Event || got.CurrentLimit != tt.want.CurrentLimit ||
				got.OldLimit != tt.want.OldLimit || got.QualityRating != tt.want.QualityRating || got.BanState != tt.want.BanState ||
				!got.At.Equal(tt.want.At) || len(got.Restrictions) != len(tt.want.Restrictions) {
				t.Fatalf("update = %+v\nwant     %+v", got, tt.want)
			}
			for i, r := range got.Restrictions {
				if w := tt.want.Restrictions[i]; r.Type != w.Type || !r.Expiration.Equal(w.Expiration) {
					t.Errorf("restriction %d = %+v, want %+v", i, r, w)
				}
			}
		})
	}
	in, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update",
		"value":{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":"soon"}]}}]}]}`))
	if err != nil || len(in.Account) != 1 || !in.Account[0].Restrictions[0].Expiration.IsZero() {
		t.Errorf("unreadable expiration: %+v, %v; want the restriction kept with no expiration", in, err)
	}
}
