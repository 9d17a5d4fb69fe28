package sandbox

import (
	"testing"

	"github.com/optin/optin/consent"
)

func TestButtonURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b    consent.TemplateButton
		want string
	}{
		{consent.TemplateButton{SubType: "url", Text: "abc_DEF-123"}, "/p/abc_DEF-123"},
		{consent.TemplateButton{SubType: "url", Text: consent.LinkPlaceholder}, ""},
		{consent.TemplateButton{SubType: "url"}, ""},
		{consent.TemplateButton{SubType: "quick_reply", Payload: "x", Text: "y"}, ""},
	} {
		if got := buttonURL(tc.b); got != tc.want {
			t.Errorf("buttonURL(%+v) = %q, want %q", tc.b, got, tc.want)
		}
	}
}
