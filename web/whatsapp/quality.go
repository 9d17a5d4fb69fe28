package whatsapp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// accountValue is the value of a Cloud API phone_number_quality_update or
// account_update change. Meta documents display_phone_number, event,
// old_limit and current_limit (to be replaced by
// max_daily_conversations_per_business) for the first; event,
// restriction_info, ban_info and violation_info for the second. Resellers
// add quality_rating; it is read when present.
type accountValue struct {
	Event         string `json:"event"`
	CurrentLimit  string `json:"current_limit"`
	OldLimit      string `json:"old_limit"`
	MaxDaily      string `json:"max_daily_conversations_per_business"`
	QualityRating string `json:"quality_rating"`
	Restrictions  []struct {
		Type       string `json:"restriction_type"`
		Expiration string `json:"expiration"`
	} `json:"restriction_info"`
	BanInfo *struct {
		State string `json:"waba_ban_state"`
	} `json:"ban_info"`
}

// accountField reports whether a Cloud change field is one of the number's
// quality and account updates.
func accountField(f string) bool {
	return f == consent.FieldQuality || f == consent.FieldAccount
}

// parseAccountChange reads one quality or account change; at is the
// entry's time (zero when absent).
func parseAccountChange(field string, value json.RawMessage, at unixTime) (consent.AccountUpdate, error) {
	var v accountValue
	if err := json.Unmarshal(value, &v); err != nil {
		return consent.AccountUpdate{}, fmt.Errorf("whatsapp: parse webhook %s value: %w", field, err)
	}
	u := consent.AccountUpdate{
		Field:         field,
		Event:         upperToken(v.Event),
		CurrentLimit:  upperToken(v.CurrentLimit),
		OldLimit:      upperToken(v.OldLimit),
		QualityRating: upperToken(v.QualityRating),
		Raw:           string(value),
	}
	if u.CurrentLimit == "" {
		u.CurrentLimit = upperToken(v.MaxDaily)
	}
	if !at.IsZero() {
		u.At = at.UTC()
	}
	for _, r := range v.Restrictions {
		// An unreadable expiration stays zero: the domain assumes the
		// seed's 24 hours rather than refusing the whole webhook.
		exp, _ := parseMetaTime(r.Expiration)
		u.Restrictions = append(u.Restrictions, consent.Restriction{Type: upperToken(r.Type), Expiration: exp})
	}
	if v.BanInfo != nil {
		u.BanState = upperToken(v.BanInfo.State)
	}
	return u, nil
}

// upperToken keeps an enum value short and comparable.
func upperToken(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// parseMetaTime reads the times Meta writes in account updates:
// "2026-04-19T13:59:20+0000", RFC 3339, or Unix seconds.
func parseMetaTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}
