package views

import (
	"strconv"
	"strings"
)

// labels are the console's words for the raw names the database and the API
// use: consent states, contact and delivery statuses, sources, event types,
// import statuses and audit actions. The console is in English; the raw name
// stays visible as secondary detail (RawLabel shows both).
var labels = map[string]string{
	// Consent states.
	"opted_in":  "Opted in",
	"opted_out": "Opted out",
	"pending":   "Awaiting confirmation",
	"none":      "No consent",
	// Contact statuses.
	"pending_terms": "Awaiting terms",
	"active":        "Active",
	"undeliverable": "Not on WhatsApp",
	"erased":        "Erased",
	// Delivery statuses of messages.
	"queued":    "Queued",
	"sending":   "Sending",
	"sent":      "Sent",
	"delivered": "Delivered",
	"read":      "Read",
	"failed":    "Failed",
	"dead":      "Gave up",
	// Import statuses.
	"checked": "Checked, not run",
	"running": "Running",
	"done":    "Done",
	// Sources.
	"web_form":          "Web form",
	"embed":             "Form on a website",
	"link":              "Link",
	"qr":                "QR code",
	"whatsapp_reply":    "WhatsApp reply",
	"keyword":           "WhatsApp keyword",
	"preference_center": "Preference center",
	"admin":             "Console",
	"api":               "API",
	"import":            "Import",
	"provider":          "WhatsApp (provider)",
	// Event types.
	"opt_in":         "Opt-in",
	"opt_out":        "Opt-out",
	"confirm":        "Confirmed",
	"terms_accepted": "Accepted the terms",
	"terms_refused":  "Declined the terms",
	"window_opened":  "Wrote in (service window opened)",
	"number_changed": "Changed number",
	"merged":         "Merged with another record",
	// Audit actions.
	"sign_in":             "Signed in",
	"sign_in_failed":      "Failed sign-in",
	"sign_out":            "Signed out",
	"password_change":     "Changed password",
	"user_create":         "Added a user",
	"user_revoke":         "Revoked a user",
	"user_role":           "Changed a user's role",
	"api_key_create":      "Created an API key",
	"api_key_revoke":      "Revoked an API key",
	"category_create":     "Added a category",
	"category_update":     "Changed a category",
	"category_delete":     "Deleted a category",
	"wording_update":      "Changed the consent wording",
	"entry_point_create":  "Added an entry point",
	"entry_point_update":  "Changed an entry point",
	"settings_change":     "Changed the settings",
	"contact.erase":       "Erased a contact",
	"contact_erase":       "Erased a contact",
	"contact_opt_out":     "Opted a contact out",
	"contact.opt_out":     "Opted a contact out",
	"contact.opt_out_all": "Opted a contact out of everything",
	"export_contacts":     "Exported contacts",
	"export_events":       "Exported events",
	"import_check":        "Checked an import (dry run)",
	"import_run":          "Ran an import",
	"ledger_verify":       "Verified the ledger",
	"alert_resolve":       "Resolved an alert",
}

// Label is the console's word for a raw name; an unknown name is shown with
// its underscores as spaces and a capital, so that nothing reads like a
// column name.
func Label(raw string) string {
	if l, ok := labels[raw]; ok {
		return l
	}
	if raw == "" {
		return ""
	}
	s := strings.NewReplacer("_", " ", ".", " ").Replace(raw)
	return strings.ToUpper(s[:1]) + s[1:]
}

// Count writes n with thousands separators, as the console's English does:
// 1234567 → "1,234,567".
func Count[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
