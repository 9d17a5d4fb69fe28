package views

import (
	"strings"
	"testing"
)

func receiptModel() ReceiptModel {
	return ReceiptModel{
		Layout:           layout(false),
		ID:               "0123456789abcdef0123456789abcdef",
		JSONURL:          "/receipts/0123456789abcdef0123456789abcdef.json",
		Version:          "KI-CR-v1.1.0",
		When:             "2026-11-01 10:00 UTC",
		CollectionMethod: "Web form",
		Language:         "English",
		Principal:        "+4915112345678",
		Controller:       ReceiptControllerModel{Name: "Acme", Phone: "+4930123456", URL: "https://optin.example"},
		PolicyURL:        "https://optin.example/terms",
		Service:          "WhatsApp messages from Acme",
		Purposes: []ReceiptPurposeModel{
			{Name: "Order updates", Category: "Service messages", Primary: "Yes", ThirdParty: "Meta Platforms (WhatsApp)"},
			{Name: "Offers", Category: "Marketing", Primary: "No", ThirdParty: "Meta Platforms (WhatsApp)"},
		},
		Sensitive:      "No",
		WordingHash:    strings.Repeat("a", 64),
		WordingVersion: 3,
		WordingText:    "You agree to get WhatsApp messages from Acme.",
		EventHashes:    []string{strings.Repeat("b", 64), strings.Repeat("c", 64)},
	}
}

func TestReceiptPage(t *testing.T) {
	html := render(t, ReceiptPage(receiptModel()))
	wantMarkers(t, html, "receipt", "receipt-fields", "receipt-id", "receipt-when", "receipt-method", "receipt-principal",
		"receipt-language", "receipt-sensitive", "receipt-version", "receipt-controller",
		"receipt-controller-name", "receipt-controller-phone", "receipt-controller-url", "receipt-policy", "receipt-service",
		"receipt-purpose-0", "receipt-purpose-1", "receipt-evidence", "receipt-wording", "receipt-wording-version",
		"receipt-event", "receipt-json", "receipt-wording-text")
	wantNoMarkers(t, html, "receipt-purpose-2")
	if got := strings.Count(html, `data-testid="receipt-event"`); got != 2 {
		t.Errorf("event hashes shown = %d, want 2", got)
	}
	if got := tag(html, "receipt-json"); !strings.Contains(got, `href="/receipts/0123456789abcdef0123456789abcdef.json"`) {
		t.Errorf("JSON link = %s", got)
	}
	// Optional fields the business has not configured are left out, not
	// shown as "not stated"; nor is the Kantara "primary purpose" flag.
	wantNoMarkers(t, html, "receipt-jurisdiction", "receipt-controller-contact", "receipt-controller-address", "receipt-controller-email")
	if strings.Contains(html, "receipt.purpose.primary") {
		t.Errorf("page shows a \"main purpose\" row")
	}
	// The words the person saw come first; the format name only in the details.
	if w, v := strings.Index(html, "You agree to get WhatsApp messages"), strings.Index(html, "KI-CR-v1.1.0"); w < 0 || v < w || v < strings.Index(html, "<details") {
		t.Errorf("wording at %d, receipt format at %d: want the wording shown and the format folded away after it", w, v)
	}
	if strings.Contains(html, `data-testid=""`) {
		t.Errorf("empty data-testid rendered")
	}
	for _, want := range []string{"Order updates", "Offers", "Marketing", "Service messages", "+4915112345678", "https://optin.example/terms"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestReceiptPageWithoutWordingVersion(t *testing.T) {
	m := receiptModel()
	m.WordingVersion = 0
	wantNoMarkers(t, render(t, ReceiptPage(m)), "receipt-wording-version")
}
