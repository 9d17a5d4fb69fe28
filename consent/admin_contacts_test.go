package consent_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/optin/optin/consent"
)

var ops = consent.AdminAct{Email: "ops@example.com", IP: "198.51.100.7"}

func TestContactDetail(t *testing.T) {
	e := newMO(t)
	optedIn(t, e, anna)
	e.write(anna, "Where is my parcel?")
	c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
	d, err := e.svc.ContactDetail(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Contact.ID != c.ID || len(d.Categories) != 3 || d.Consents["offers"].State != consent.OptedIn {
		t.Errorf("detail = %+v", d)
	}
	withWording := 0
	for _, ev := range d.Events {
		if ev.WordingHash != "" {
			if d.Wordings[ev.WordingHash].Text == "" {
				t.Errorf("event %d: wording %s not loaded", ev.ID, ev.WordingHash)
			}
			withWording++
		}
	}
	if withWording == 0 {
		t.Error("no event references a wording: the test proves nothing")
	}
	if len(d.Inbound) < 3 || d.Inbound[len(d.Inbound)-1].Text != "Where is my parcel?" {
		t.Errorf("inbound = %+v", d.Inbound)
	}
	if len(d.Outbox) == 0 || d.Outbox[0].Status == "" {
		t.Errorf("outbox = %+v", d.Outbox)
	}
	if _, err := e.svc.ContactDetail(context.Background(), c.ID+100); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown contact: %v, want ErrNotFound", err)
	}
}

func TestAdminOptOut(t *testing.T) {
	ctx := context.Background()
	e := newMO(t)
	optedIn(t, e, anna)
	c, _ := e.db.ContactByPhone(ctx, "+"+anna)

	if _, err := e.svc.AdminOptOut(ctx, c.ID, "spam", ops); err == nil {
		t.Error("unknown category accepted")
	}
	if _, err := e.svc.AdminOptOut(ctx, c.ID+100, "offers", ops); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
	if _, err := e.svc.AdminOptOut(ctx, c.ID, "offers", consent.AdminAct{}); err == nil {
		t.Error("opt-out without an admin accepted")
	}
	before, _ := e.db.Events(ctx, c.ID)

	changed, err := e.svc.AdminOptOut(ctx, c.ID, "offers", ops)
	if err != nil || len(changed) != 1 || changed[0] != "offers" {
		t.Fatalf("AdminOptOut(offers) = %v, %v", changed, err)
	}
	if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedOut {
		t.Errorf("offers: %+v, want opted_out", r)
	}
	if r := e.check("+"+anna, "order_updates"); r.Reason != consent.ReasonOptedIn {
		t.Errorf("order_updates: %+v, want still opted_in", r)
	}
	events, _ := e.db.Events(ctx, c.ID)
	if len(events) != len(before)+1 {
		t.Fatalf("%d events after, %d before: want one more", len(events), len(before))
	}
	last := events[len(events)-1]
	if last.Type != consent.EventOptOut || last.Category != "offers" || last.Evidence.Source != consent.SourceAdmin ||
		last.Evidence.Actor != "admin:ops@example.com" || last.Evidence.IP != "198.51.100.0/24" || last.Evidence.Detail["action"] != "opt_out" {
		t.Errorf("event = %+v", last)
	}
	// Again: nothing left to change, no event.
	if changed, err := e.svc.AdminOptOut(ctx, c.ID, "offers", ops); err != nil || len(changed) != 0 {
		t.Errorf("repeat = %v, %v; want nothing changed", changed, err)
	}
	changed, err = e.svc.AdminOptOut(ctx, c.ID, "", ops)
	if err != nil || len(changed) != 2 {
		t.Fatalf("AdminOptOut(all) = %v, %v; want the two left", changed, err)
	}
	for _, cat := range []string{"order_updates", "offers", "recommendations"} {
		if r := e.check("+"+anna, cat); r.Reason != consent.ReasonOptedOut {
			t.Errorf("%s: %+v, want opted_out", cat, r)
		}
	}
	rep, err := e.db.VerifyLedger(ctx, e.clk.Now())
	if err != nil || !rep.OK() {
		t.Errorf("ledger: %+v, %v", rep, err)
	}
}

// TestEraseByAdmin: the admin's erasure goes the same way as the others:
// ledger intact, tombstone with reason admin and the admin as actor, and
// neither the number nor what the person wrote left in the file.
func TestEraseByAdmin(t *testing.T) {
	ctx := context.Background()
	e := newMO(t)
	optedIn(t, e, anna)
	secret := "My address is Elm Street 12"
	e.write(anna, secret)
	c, _ := e.db.ContactByPhone(ctx, "+"+anna)
	e.db.Checkpoint(ctx)
	if b, _ := os.ReadFile(e.path); !e.db.Postgres() && !bytes.Contains(b, []byte(anna)) {
		t.Fatal("the number was never in the file: the test would prove nothing")
	}
	if err := e.svc.EraseByAdmin(ctx, c.ID, consent.AdminAct{}); err == nil {
		t.Fatal("erasure without an admin accepted")
	}
	if err := e.svc.EraseByAdmin(ctx, c.ID, ops); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ContactByID(ctx, c.ID); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("contact after erasure: %v", err)
	}
	if err := e.svc.EraseByAdmin(ctx, c.ID, ops); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("second erasure: %v, want ErrNotFound", err)
	}
	rep, err := e.db.VerifyLedger(ctx, e.clk.Now())
	if err != nil || !rep.OK() {
		t.Fatalf("ledger after erasure: %+v, %v", rep, err)
	}
	stones, _ := e.db.Tombstones(ctx, e.svc.PhoneHash("+"+anna))
	if len(stones) != 1 || stones[0].Reason != "admin" || stones[0].Actor != "admin:ops@example.com" {
		t.Errorf("tombstones = %+v", stones)
	}
	events, _ := e.db.Events(ctx, c.ID)
	last := events[len(events)-1]
	if last.Type != consent.EventErased || last.Evidence.Source != consent.SourceAdmin || last.Evidence.Actor != "admin:ops@example.com" {
		t.Errorf("erasure event = %+v", last)
	}
	p, err := e.svc.SearchContacts(ctx, consent.ContactQuery{Search: anna[4:]})
	if err != nil || len(p.Rows) != 0 {
		t.Errorf("search after erasure: %+v, %v", p.Rows, err)
	}
	assertGone(t, e, anna, secret)
}
