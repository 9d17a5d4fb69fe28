package consent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// newMOWith is newMO with the contact card, read receipts and forwarding
// set as given.
func newMOWith(t *testing.T, card, read, forwarding bool) *moEnv {
	e := newMO(t)
	tr := func(lang, key string, args ...any) string { return key }
	e.svc = consent.NewService(e.db, e.clk, tr, consent.Config{BusinessName: "Acme", DefaultRegion: "DE",
		WelcomeTemplate: "optin_welcome", WelcomeLanguage: "en", BusinessNumber: "+4930123456",
		EntryKey: []byte("entry-key"), TombstoneKey: []byte("salt"), BaseURL: "https://optin.example", TermsTTL: 24 * time.Hour,
		ContactCard: card, ReadReceipts: read, Forwarding: forwarding})
	return e
}

func kinds(ms []consent.Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Kind))
	}
	return strings.Join(out, ",")
}

// TestContactCardAndReadReceipts: the accepted terms are answered with the
// confirmation and the business's card, after marking the tap read; HELP
// gets its answer marked read but no second card; a message handed to the
// business's system is not marked by optin.
func TestContactCardAndReadReceipts(t *testing.T) {
	t.Parallel()
	e := newMOWith(t, true, true, true)
	promptID := e.write(anna, "START")
	got := e.sentTo(anna)
	if kinds(got) != "read,interactive" || got[0].ReadID != promptID {
		t.Fatalf("answer to START = %s (read %q), want read receipt of %s then the prompt", kinds(got), got[0].ReadID, promptID)
	}

	e.tap(anna, consent.ButtonAcceptTerms)
	got = e.sentTo(anna)
	if kinds(got) != "read,text,contacts" {
		t.Fatalf("answer to Accept = %s, want read, confirmation, contact card", kinds(got))
	}
	card := got[2].Contacts
	if len(card) != 1 || card[0].Name != "Acme" || card[0].Phone != "+4930123456" {
		t.Errorf("card = %+v, want Acme +4930123456", card)
	}

	e.write(anna, "HELP")
	if got := e.sentTo(anna); kinds(got) != "read,text" {
		t.Errorf("answer to HELP after the card = %s, want read and the help text only", kinds(got))
	}

	e.write(anna, "Where is my parcel?") // forwarded: the business's system answers and marks it
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("optin sent %s for a forwarded message, want nothing", kinds(got))
	}
}

// TestContactCardOnHelp: a person who asks for HELP first gets the card
// with the help text, once.
func TestContactCardOnHelp(t *testing.T) {
	t.Parallel()
	e := newMOWith(t, true, false, false)
	e.write(anna, "START")
	e.tap(anna, consent.ButtonAcceptTerms)
	e.sentTo(anna)
	// The card went with the acceptance; a contact from before the card
	// existed is simulated by a second number that only asks for help.
	const ben = "4915198765432"
	e.write(ben, "HELP") // unknown number: the terms prompt
	e.sentTo(ben)
	e.write(ben, "HELP") // pending terms: HELP is answered, with the card
	if got := e.sentTo(ben); kinds(got) != "text,contacts" {
		t.Errorf("HELP = %s, want the help text and the card", kinds(got))
	}
	e.write(ben, "HELP")
	if got := e.sentTo(ben); kinds(got) != "text" {
		t.Errorf("second HELP = %s, want the help text only", kinds(got))
	}
}

// TestContactCardAndReceiptsOff: both are settable off.
func TestContactCardAndReceiptsOff(t *testing.T) {
	t.Parallel()
	e := newMOWith(t, false, false, false)
	e.write(anna, "START")
	e.tap(anna, consent.ButtonAcceptTerms)
	all := e.sentTo(anna)
	if kinds(all) != "interactive,text" {
		t.Errorf("sent %s, want the prompt and the confirmation only", kinds(all))
	}
}
