package web

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// optInForReceipt opts a number into two categories through the form and
// returns the id of the one receipt that submission yields.
func (e *env) optInForReceipt() (base, id string) {
	e.t.Helper()
	resp := e.post("/optin", url.Values{"phone": {"+49 151 1234 5678"}, "category": {"offers", "order_updates"}, "lang": {"en"}},
		"Origin", e.ts.URL)
	if resp.StatusCode != 303 {
		e.t.Fatalf("opt-in status = %d, want 303", resp.StatusCode)
	}
	c, err := e.db.ContactByPhone(context.Background(), "+4915112345678")
	if err != nil {
		e.t.Fatal(err)
	}
	receipts, err := e.svc.Receipts(context.Background(), c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(receipts) != 1 {
		e.t.Fatalf("got %d receipts, want 1", len(receipts))
	}
	link, err := e.svc.PreferenceLink(context.Background(), c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(link)
	return u.Path + "/receipts/", receipts[0].ConsentReceiptID
}

func withBaseURL(_ *Config, c *consent.Config) {
	c.BaseURL, c.BusinessNumber = "http://optin.test", "+4930123456"
}

func TestReceiptJSON(t *testing.T) {
	e := newEnv(t, withBaseURL)
	base, id := e.optInForReceipt()
	before := e.rows()

	resp, body := e.get(base + id + ".json")
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	var got struct {
		Version          string `json:"version"`
		ConsentReceiptID string `json:"consentReceiptID"`
		CollectionMethod string `json:"collectionMethod"`
		PIIPrincipalID   string `json:"piiPrincipalId"`
		PolicyURL        string `json:"policyUrl"`
		PIIControllers   []struct {
			PIIController string `json:"piiController"`
			Phone         string `json:"phone"`
		} `json:"piiControllers"`
		Services []struct {
			Purposes []struct {
				Purpose string `json:"purpose"`
			} `json:"purposes"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if got.Version != "KI-CR-v1.1.0" || got.ConsentReceiptID != id || got.CollectionMethod != "web form" ||
		got.PIIPrincipalID != "+4915112345678" || got.PolicyURL != "http://optin.test/terms" ||
		len(got.PIIControllers) != 1 || got.PIIControllers[0].PIIController != "Acme" || got.PIIControllers[0].Phone != "+4930123456" ||
		len(got.Services) != 1 || len(got.Services[0].Purposes) != 2 {
		t.Errorf("receipt = %s", body)
	}
	if after := e.rows(); !maps.Equal(before, after) {
		t.Errorf("GET changed rows: %v → %v", before, after)
	}
}

func TestReceiptPage(t *testing.T) {
	e := newEnv(t, withBaseURL)
	base, id := e.optInForReceipt()
	before := e.rows()
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{"Your consent receipt", "Web form", "Marketing", "Service messages", "Meta Platforms (WhatsApp)"}},
		{"es", []string{"Tu comprobante de consentimiento", "Formulario web"}},
		{"pt", []string{"Seu comprovante de consentimento", "Formulário web"}},
		{"de", []string{"Deine Einwilligungsquittung", "Webformular", "Werbung"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			resp, body := e.get(base + id + "?lang=" + tt.lang)
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			want := append(tt.want, `lang="`+tt.lang+`"`, `data-testid="receipt"`, "+4915112345678", id,
				`href="`+id+`.json"`, "KI-CR-v1.1.0", `data-testid="receipt-purpose-1"`)
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	if after := e.rows(); !maps.Equal(before, after) {
		t.Errorf("GET changed rows: %v → %v", before, after)
	}
}

func TestReceiptNotFound(t *testing.T) {
	e := newEnv(t, withBaseURL)
	base, _ := e.optInForReceipt()
	for _, path := range []string{base + strings.Repeat("0", 32), base + strings.Repeat("0", 32) + ".json",
		base + "1", base + "1.json", base + "ZZ", base} {
		resp, body := e.get(path)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(body, "consentReceiptID") {
			t.Errorf("GET %s: want the normal 404 page, got %q", path, resp.Header.Get("Content-Type"))
		}
	}
}

// TestReceiptNeedsTheRightToken: a receipt is reached only through its own
// person's preference link.
func TestReceiptNeedsTheRightToken(t *testing.T) {
	e := newEnv(t, withBaseURL)
	_, id := e.optInForReceipt()
	e.post("/optin", url.Values{"phone": {"+4915199990000"}, "category": {"offers"}, "lang": {"en"}}, "Origin", e.ts.URL)
	other, _ := e.db.ContactByPhone(context.Background(), "+4915199990000")
	link, _ := e.svc.PreferenceLink(context.Background(), other.ID)
	u, _ := url.Parse(link)
	for _, path := range []string{u.Path + "/receipts/" + id, "/p/" + strings.Repeat("A", 43) + "/receipts/" + id + ".json", "/receipts/" + id} {
		if resp, body := e.get(path); resp.StatusCode != 404 || strings.Contains(body, "KI-CR") || strings.Contains(body, "consentReceiptID") {
			t.Errorf("GET %s = %d, want 404 without the receipt", path, resp.StatusCode)
		}
	}
}
