package consent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

func TestSearchContactsByPartialNumber(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	optedIn(t, e, "34612000111")
	for _, q := range []string{"1234", "+49 151 1234", "(151) 123-45", "4915112345678"} {
		p, err := e.svc.SearchContacts(context.Background(), consent.ContactQuery{Search: q})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if len(p.Rows) != 1 || p.Rows[0].Contact.Phone != "+"+anna || p.Prefix {
			t.Errorf("%q: rows %+v prefix %v, want anna's contact", q, p.Rows, p.Prefix)
		}
	}
	p, err := e.svc.SearchContacts(context.Background(), consent.ContactQuery{Search: "34"})
	if err != nil || !p.Prefix || len(p.Rows) != 1 || p.Rows[0].Contact.Phone != "+34612000111" {
		t.Errorf("short search: %+v, %v; want the number starting with 34, as a prefix match", p, err)
	}
}

func TestSearchContactsRejectsBadInput(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	cur := consent.ContactCursor{Sort: consent.SortCreated, Key: "2026-11-01T10:00:00.000000000Z", ID: 1}.Encode()
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		q     consent.ContactQuery
		field string
	}{
		{"letters", consent.ContactQuery{Search: "anna"}, "q"},
		{"digits and letters", consent.ContactQuery{Search: "1234x"}, "q"},
		{"only punctuation", consent.ContactQuery{Search: "+-"}, "q"},
		{"unknown category", consent.ContactQuery{Category: "spam"}, "category"},
		{"unknown state", consent.ContactQuery{State: "maybe"}, "state"},
		{"unknown status", consent.ContactQuery{Status: "gone"}, "status"},
		{"unknown source", consent.ContactQuery{Source: "fax"}, "source"},
		{"source of no consent", consent.ContactQuery{State: consent.NoConsent, Source: consent.SourceAPI}, "source"},
		{"unknown date field", consent.ContactQuery{DateField: "erased"}, "date"},
		{"empty range", consent.ContactQuery{From: from, To: from}, "to"},
		{"unknown sort", consent.ContactQuery{Sort: "random"}, "sort"},
		{"limit too big", consent.ContactQuery{Limit: consent.MaxContactLimit + 1}, "limit"},
		{"negative limit", consent.ContactQuery{Limit: -1}, "limit"},
		{"garbage cursor", consent.ContactQuery{After: "not-a-cursor"}, "cursor"},
		{"cursor of another order", consent.ContactQuery{Sort: consent.SortPhone, After: consent.ContactCursor{Sort: consent.SortCreated, Key: "x", ID: 1}.Encode()}, "cursor"},
		{"both cursors", consent.ContactQuery{After: cur, Before: cur}, "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.SearchContacts(context.Background(), tt.q)
			var ve *consent.ValidationError
			if !errors.As(err, &ve) || ve.Fields[tt.field] == "" {
				t.Errorf("err = %v, want a validation error on %s", err, tt.field)
			}
		})
	}
}
