package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/optin/optin/consent"
)

// TestExportNeutralisesFormulas: a cell a person controls (here the form's
// User-Agent, kept as evidence) that starts with a formula character after
// spaces, or with a fullwidth one, is exported with a leading apostrophe.
func TestExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	for i, ua := range []string{" =cmd|'/C calc'!A0", "＝HYPERLINK(\"http://evil.example\")", "  ＋1+1", "＠SUM(1)", "－1", "\t=1"} {
		e := newEnv(t)
		phone := "+491511234567" + string(rune('0'+i))
		if resp := e.post("/optin", url.Values{"phone": {phone}, "category": {"offers"}}, "User-Agent", ua); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("opt-in: %d", resp.StatusCode)
		}
		admin := e.signIn(consent.RoleAdmin)
		_, body := admin.get("/admin/export/events.csv")
		found := false
		for _, row := range readCSV(t, body) {
			for _, cell := range row {
				if strings.Contains(cell, strings.TrimSpace(ua)) {
					found = true
				}
				// A number (+ and digits only) is written as it is: it can't
				// be a formula (see phoneCell).
				first := strings.TrimLeftFunc(cell, unicode.IsSpace)
				if isE164(cell) {
					continue
				}
				if first != "" && strings.ContainsRune("=+-@＝＋－＠", []rune(first)[0]) && !strings.HasPrefix(cell, "'") {
					t.Errorf("cell %q is not neutralised", cell)
				}
			}
		}
		if !found {
			t.Errorf("user agent %q not in the export: the test proves nothing", ua)
		}
	}
}

func isE164(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
