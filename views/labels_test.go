package views

import "testing"

func TestLabel(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"opted_in": "Opted in", "web_form": "Web form", "whatsapp_reply": "WhatsApp reply",
		"terms_refused": "Declined the terms", "sign_in_failed": "Failed sign-in", "pending_terms": "Awaiting terms",
		"something_new": "Something new", "": "",
	} {
		if got := Label(raw); got != want {
			t.Errorf("Label(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
