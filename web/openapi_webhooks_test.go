package web

import (
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// TestOpenAPIWebhooks: the document lists the four push events, each with
// the signature header and a schema whose properties are exactly the JSON
// fields optin sends (consent/push.go).
func TestOpenAPIWebhooks(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI  string `json:"openapi"`
		Webhooks map[string]struct {
			Post struct {
				Parameters []struct {
					Name string `json:"name"`
					In   string `json:"in"`
				} `json:"parameters"`
				RequestBody struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			} `json:"post"`
		} `json:"webhooks"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1 (webhooks)", doc.OpenAPI)
	}
	wantFields := map[string]any{
		consent.PushTypeConsentChanged: consent.ConsentChanged{},
		consent.PushTypeContactErased:  consent.ContactErased{},
		consent.PushTypeMessage:        consent.ForwardBody{},
		consent.PushTypeStatus:         consent.ForwardBody{},
	}
	for typ, v := range wantFields {
		h, ok := doc.Webhooks[typ]
		if !ok {
			t.Errorf("webhooks lacks %s", typ)
			continue
		}
		if len(h.Post.Parameters) == 0 || h.Post.Parameters[0].Name != "X-Optin-Signature" || h.Post.Parameters[0].In != "header" {
			t.Errorf("%s: parameters %+v, want the X-Optin-Signature header", typ, h.Post.Parameters)
		}
		ref := h.Post.RequestBody.Content["application/json"].Schema.Ref
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		schema, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("%s: schema %q not found", typ, ref)
			continue
		}
		var got []string
		for k := range schema.Properties {
			got = append(got, k)
		}
		want := jsonFields(reflect.TypeOf(v))
		if typ == consent.PushTypeMessage {
			want = []string{"contact", "message", "type"}
		}
		if typ == consent.PushTypeStatus {
			want = []string{"status", "type"}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: schema properties %v, the body has %v", typ, got, want)
		}
	}
	for name, v := range map[string]any{"PushMedia": consent.Media{}} {
		var got []string
		for k := range doc.Components.Schemas[name].Properties {
			got = append(got, k)
		}
		sort.Strings(got)
		if want := jsonFields(reflect.TypeOf(v)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: schema properties %v, the body has %v", name, got, want)
		}
	}

	// Where the OpenAPI validator is installed (pip openapi-spec-validator),
	// the whole document is validated too.
	if exec.Command("python3", "-c", "import openapi_spec_validator").Run() != nil {
		t.Log("openapi-spec-validator not installed: structural checks only")
		return
	}
	if out, err := exec.Command("python3", "-m", "openapi_spec_validator", "openapi.json").CombinedOutput(); err != nil {
		t.Errorf("openapi.json does not validate: %v\n%s", err, out)
	}
}

// jsonFields lists the JSON names of a struct's fields, sorted.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
