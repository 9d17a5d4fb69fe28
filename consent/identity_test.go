package consent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// One person, one contact: the number a person types and the wa_id WhatsApp
// reports for it (Argentina's mobile 9, Brazil's ninth digit missing from
// older accounts' wa_id, Mexico's old mobile 1) find the same contact,
// whichever came first; STOP from the wa_id reaches every spelling.
func TestOnePersonOneContact(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		country, region string
		typed           string // what the person types in the form
		waID            string // what WhatsApp reports
		spellings       []string
	}{
		{"AR", "AR", "011 1234-5680", "5491112345680", []string{"+54 11 1234-5680", "+5491112345680", "+54 9 11 1234 5680"}},
		{"BR", "BR", "(11) 98765-4321", "551187654321", []string{"+55 11 98765-4321", "+551187654321", "+55 (11) 8765-4321"}},
		{"MX", "MX", "55 1234 5678", "5215512345678", []string{"+52 55 1234 5678", "+52 1 55 1234 5678", "+5215512345678"}},
	} {
		for _, first := range []string{"form", "whatsapp"} {
			t.Run(tt.country+"/"+first+" first", func(t *testing.T) {
				t.Parallel()
				e := newMO(t)
				ctx := context.Background()
				typedE164, err := consent.ParsePhone(tt.typed, tt.region)
				if err != nil {
					t.Fatal(err)
				}
				e.s.waIDs = map[string]string{strings.TrimPrefix(typedE164, "+"): tt.waID}
				form := func() {
					out, err := e.svc.OptIn(ctx, consent.OptInRequest{Phone: tt.typed, Region: tt.region, Categories: []string{"offers", "order_updates"},
						Lang: "en", Wording: "I agree", Evidence: consent.Evidence{Source: consent.SourceWebForm}})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := e.d.SendDue(ctx); err != nil {
						t.Fatal(err)
					}
					_ = out
				}
				whatsapp := func() {
					e.write(tt.waID, "hello")
					e.tap(tt.waID, consent.ButtonAcceptTerms)
				}
				if first == "form" {
					form()
					whatsapp()
				} else {
					whatsapp()
					form()
				}
				var n int
				if err := e.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 1 {
					t.Fatalf("%d contacts, want one", n)
				}
				for _, sp := range tt.spellings {
					if r := e.check(sp, "offers"); !r.Allowed {
						t.Errorf("check(%s) before STOP = %+v, want allowed", sp, r)
					}
				}
				e.write(tt.waID, "STOP")
				for _, sp := range tt.spellings {
					if r := e.check(sp, "offers"); r.Reason != consent.ReasonOptedOut {
						t.Errorf("check(%s) after STOP = %+v, want opted_out", sp, r)
					}
					v, err := e.svc.Contact(ctx, sp)
					if err != nil {
						t.Errorf("contact(%s): %v", sp, err)
					} else if v.Contact.WaID != tt.waID {
						t.Errorf("contact(%s).wa_id = %s, want WhatsApp's %s", sp, v.Contact.WaID, tt.waID)
					}
				}
			})
		}
	}
}
