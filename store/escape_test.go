package store

import (
	"context"
	"testing"

	"github.com/optin/optin/consent"
)

func TestEscapeText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":         "plain",
		"a\x00b":        `a\x00b`,
		"caf\xe9":       `caf\xe9`,
		"ok é \xff end": `ok é \xff end`,
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEvidenceStoredEscaped: NUL and invalid UTF-8 in evidence reach the
// events table escaped, and the ledger still verifies.
func TestEvidenceStoredEscaped(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	ch := optIn("+4915112345678", consent.OptedIn, t0, "offers")
	ch.Evidence.UserAgent = "agent\x00x"
	ch.Evidence.Detail = map[string]string{"note": "bad \xff byte"}
	if _, err := db.FixtureOptIn(ctx, ch); err != nil {
		t.Fatal(err)
	}
	var ua, detail string
	if err := db.SQL().QueryRow(`SELECT user_agent, detail FROM events ORDER BY id DESC LIMIT 1`).Scan(&ua, &detail); err != nil {
		t.Fatal(err)
	}
	if ua != `agent\x00x` || detail != `{"note":"bad \\xff byte"}` {
		t.Errorf("stored user_agent %q, detail %q; want escaped", ua, detail)
	}
	if res, err := db.VerifyLedger(ctx, t0); err != nil || res.FirstBad != 0 {
		t.Errorf("ledger after escaped evidence: %+v, %v", res, err)
	}
}
