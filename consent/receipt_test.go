package consent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// schema is the part of JSON Schema the receipt schema uses.
type schema struct {
	Type       string             `json:"type"`
	Required   []string           `json:"required"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
	MinItems   int                `json:"minItems"`
	Const      any                `json:"const"`
}

func loadReceiptSchema(t *testing.T) *schema {
	t.Helper()
	b, err := os.ReadFile("../testdata/kantara-consent-receipt-v1.1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// validate checks v, decoded with UseNumber, against s and returns every
// problem found, each prefixed with its path.
func (s *schema) validate(path string, v any) []string {
	var errs []string
	if !hasType(s.Type, v) {
		return []string{fmt.Sprintf("%s: %T is not of type %q", path, v, s.Type)}
	}
	if s.Const != nil && fmt.Sprint(s.Const) != fmt.Sprint(v) {
		errs = append(errs, fmt.Sprintf("%s = %v, want %v", path, v, s.Const))
	}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range s.Required {
			if _, ok := v[k]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required %q missing", path, k))
			}
		}
		for k, sub := range s.Properties {
			if pv, ok := v[k]; ok {
				errs = append(errs, sub.validate(path+"."+k, pv)...)
			}
		}
	case []any:
		if len(v) < s.MinItems {
			errs = append(errs, fmt.Sprintf("%s: %d items, want at least %d", path, len(v), s.MinItems))
		}
		if s.Items != nil {
			for i, item := range v {
				errs = append(errs, s.Items.validate(fmt.Sprintf("%s[%d]", path, i), item)...)
			}
		}
	}
	return errs
}

func hasType(typ string, v any) bool {
	switch typ {
	case "":
		return true
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		_, err := n.Int64()
		return ok && err == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	}
	return false
}

// checkReceiptSchema marshals r and validates it against the schema file.
func checkReceiptSchema(t *testing.T, r consent.Receipt) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, e := range loadReceiptSchema(t).validate("$", v) {
		t.Errorf("schema: %s", e)
	}
	if _, ok := v["publicKey"]; ok {
		t.Errorf("publicKey present, want it omitted")
	}
	return v
}

func TestSchemaValidatorRejects(t *testing.T) {
	s := loadReceiptSchema(t)
	tests := []struct {
		name, json string
	}{
		{"missing required", `{"version":"KI-CR-v1.1.0"}`},
		{"wrong type", `{"version":"KI-CR-v1.1.0","jurisdiction":"","consentTimestamp":"now","collectionMethod":"","consentReceiptID":"","piiPrincipalId":"","piiControllers":[{"piiController":"","contact":"","address":{},"email":"","phone":""}],"policyUrl":"","services":[{"service":"","purposes":[{"purpose":"","purposeCategory":[],"consentType":"","piiCategory":[],"termination":"","thirdPartyDisclosure":true}]}],"sensitive":false,"spiCat":[]}`},
		{"nested required", `{"version":"KI-CR-v1.1.0","jurisdiction":"","consentTimestamp":1,"collectionMethod":"","consentReceiptID":"","piiPrincipalId":"","piiControllers":[{"piiController":""}],"policyUrl":"","services":[{"service":"","purposes":[{"purpose":""}]}],"sensitive":false,"spiCat":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tt.json))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if errs := s.validate("$", v); len(errs) == 0 {
				t.Errorf("validate accepted %s", tt.json)
			}
		})
	}
}

var receiptIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestReceiptWebFormTwoCategories(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	out, err := e.svc.OptIn(ctx, consent.OptInRequest{Phone: "+4915112345678", Categories: []string{"offers", "order_updates"},
		Lang: "en", Wording: "I agree that Acme may send me the ticked kinds of messages.",
		Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "203.0.113.7", PageURL: "https://acme.example/optin"}})
	if err != nil {
		t.Fatal(err)
	}
	receipts, err := e.svc.Receipts(ctx, out.Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(receipts) != 1 {
		t.Fatalf("got %d receipts, want 1 for one form submission", len(receipts))
	}
	r := receipts[0]
	v := checkReceiptSchema(t, r)
	purposes := v["services"].([]any)[0].(map[string]any)["purposes"].([]any)
	if len(purposes) != 2 {
		t.Fatalf("purposes = %d, want 2", len(purposes))
	}
	if got, want := r.CollectionMethod, "web form"; got != want {
		t.Errorf("collectionMethod = %q, want %q", got, want)
	}
	if got, want := r.PIIPrincipalID, "+4915112345678"; got != want {
		t.Errorf("piiPrincipalId = %q, want %q", got, want)
	}
	if got, want := r.PolicyURL, "https://optin.example/terms"; got != want {
		t.Errorf("policyUrl = %q, want %q", got, want)
	}
	if got, want := r.ConsentTimestamp, e.clk.Now().Unix(); got != want {
		t.Errorf("consentTimestamp = %d, want %d", got, want)
	}
	if !receiptIDPattern.MatchString(r.ConsentReceiptID) {
		t.Errorf("consentReceiptID = %q, want 32 hex digits", r.ConsentReceiptID)
	}
	if len(r.Extension.EventHashes) != 2 || r.ConsentReceiptID != consent.ReceiptID(r.Extension.EventHashes[0]) {
		t.Errorf("x-optin.eventHashes = %v; id %q not derived from the first", r.Extension.EventHashes, r.ConsentReceiptID)
	}
	if want := consent.NewWording("consent", "en", "I agree that Acme may send me the ticked kinds of messages.").Hash; r.Extension.WordingSHA256 != want || r.Extension.WordingVersion != 1 {
		t.Errorf("x-optin wording = %q v%d, want %q v1", r.Extension.WordingSHA256, r.Extension.WordingVersion, want)
	}
	kinds := map[string]string{}
	primaries := 0
	for _, p := range r.Services[0].Purposes {
		kinds[p.Slug] = p.PurposeCategory[0]
		if p.PrimaryPurpose {
			primaries++
		}
	}
	if kinds["offers"] != "marketing" || kinds["order_updates"] != "core function" || primaries != 1 {
		t.Errorf("purpose categories = %v with %d primary, want offers marketing, order_updates core function, 1 primary", kinds, primaries)
	}

	got, err := e.svc.Receipt(ctx, out.Contact.ID, r.ConsentReceiptID)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, got), mustJSON(t, r); a != b {
		t.Errorf("Receipt(id) = %s, want %s", a, b)
	}

	// A later opt-in is another act with its own receipt; the first keeps its id.
	e.clk.t = e.clk.t.Add(time.Hour)
	if _, err := e.svc.OptIn(ctx, consent.OptInRequest{Phone: "+4915112345678", Categories: []string{"recommendations"},
		Lang: "en", Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}}); err != nil {
		t.Fatal(err)
	}
	receipts, err = e.svc.Receipts(ctx, out.Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(receipts) != 2 || receipts[0].ConsentReceiptID != r.ConsentReceiptID || receipts[1].ConsentReceiptID == r.ConsentReceiptID {
		t.Errorf("after a second opt-in: %d receipts, want 2 with the first unchanged", len(receipts))
	}
}

func TestReceiptUnknownID(t *testing.T) {
	e := newMO(t)
	for _, id := range []string{"", "1", strings.Repeat("0", 32)} {
		if _, err := e.svc.Receipt(context.Background(), 1, id); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("Receipt(%q) err = %v, want ErrNotFound", id, err)
		}
	}
}

func TestReceiptMOAcceptNamesEntryPoint(t *testing.T) {
	e := newMO(t)
	ctx := context.Background()
	if _, err := e.svc.CreateEntryPoint(ctx, "SHOP", "Shop window", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	e.write(anna, e.svc.StartText("SHOP"))
	e.tap(anna, consent.ButtonAcceptTerms)
	c, err := e.db.ContactByPhone(ctx, "+"+anna)
	if err != nil {
		t.Fatal(err)
	}
	receipts, err := e.svc.Receipts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(receipts) != 1 {
		t.Fatalf("got %d receipts, want 1", len(receipts))
	}
	r := receipts[0]
	checkReceiptSchema(t, r)
	if got, want := r.CollectionMethod, "WhatsApp message via entry point SHOP"; got != want {
		t.Errorf("collectionMethod = %q, want %q", got, want)
	}
	if len(r.Services[0].Purposes) != 1 || r.Services[0].Purposes[0].Slug != "offers" || r.Extension.WordingSHA256 == "" {
		t.Errorf("receipt = %+v, want one purpose offers with the prompt's wording", r)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
