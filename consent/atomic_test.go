package consent_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/optin/optin/consent"
)

// One inbound message is one transaction: a failure at any step records
// nothing and sends nothing, the retry does it all once, and a replay of the
// same message does nothing more.
func TestInboundFailureAtEveryStepRepliesOnce(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"inbound.contact", "inbound.stored", "snapshot.entry_point", "inbound.recorded", "inbound.handled"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			e := newMO(t)
			optedIn(t, e, anna)
			ctx := context.Background()
			c, err := e.db.ContactByPhone(ctx, "+"+anna)
			if err != nil {
				t.Fatal(err)
			}
			evBefore, _ := e.db.Events(ctx, c.ID)
			msBefore, _ := e.db.Messages(ctx, c.ID)
			stop := consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.STOP1", From: anna, Type: consent.InText,
				Text: "STOP", Timestamp: e.clk.Now()}}}
			boom := errors.New("disk on fire")
			e.db.SetFault(func(s string) error {
				if s == step {
					return boom
				}
				return nil
			})
			if err := e.svc.Handle(ctx, stop); !errors.Is(err, boom) {
				t.Fatalf("Handle with a failure at %s = %v, want it", step, err)
			}
			if evs, _ := e.db.Events(ctx, c.ID); len(evs) != len(evBefore) {
				t.Errorf("failed attempt recorded %d events", len(evs)-len(evBefore))
			}
			if ms, _ := e.db.Messages(ctx, c.ID); len(ms) != len(msBefore) {
				t.Errorf("failed attempt queued %d messages", len(ms)-len(msBefore))
			}
			e.db.SetFault(nil)
			e.handle(stop) // the inbox's retry
			e.handle(stop) // the provider's redelivery
			got := e.sentTo(anna)
			if len(got) != 1 {
				t.Fatalf("sent %d messages after the retry and a replay, want one confirmation: %+v", len(got), got)
			}
			if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedOut {
				t.Errorf("offers = %s, want opted_out", r.Reason)
			}
		})
	}
}

// A store that fails while reading the entry point's categories makes
// Accept record nothing and answer nothing; the inbox keeps the call and
// the next round accepts, once.
func TestAcceptFailsClosedAndIsRetried(t *testing.T) {
	t.Parallel()
	e := newMO(t)
	ctx := context.Background()
	e.write(anna, "hello")
	e.sentTo(anna) // the terms prompt
	body, _ := json.Marshal(consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.ACCEPT", From: anna,
		Type: consent.InButtonReply, ButtonID: consent.ButtonAcceptTerms, Text: "Accept", Timestamp: e.clk.Now()}}})
	if err := e.svc.Receive(ctx, body); err != nil {
		t.Fatal(err)
	}
	w := consent.NewInboxWorker(e.svc, e.db, func(b []byte) (consent.Inbound, error) {
		var in consent.Inbound
		return in, json.Unmarshal(b, &in)
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.db.SetFault(func(s string) error {
		if s == "snapshot.entry_point" {
			return errors.New("entry points unreadable")
		}
		return nil
	})
	if _, err := w.ProcessPending(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := e.db.ContactByPhone(ctx, "+"+anna)
	if c.Status != consent.PendingTerms {
		t.Errorf("status = %s after a failed accept, want pending_terms", c.Status)
	}
	for _, cat := range []string{"order_updates", "offers", "recommendations"} {
		if r := e.check("+"+anna, cat); r.Allowed {
			t.Errorf("%s allowed after a failed accept", cat)
		}
	}
	if _, err := e.d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.sentTo(anna); len(got) != 0 {
		t.Errorf("answered a failed accept: %+v", got)
	}
	e.db.SetFault(nil)
	if _, err := w.ProcessPending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.sentTo(anna); len(got) != 1 {
		t.Errorf("after the retry sent %d messages, want the one confirmation", len(got))
	}
	if r := e.check("+"+anna, "offers"); !r.Allowed {
		t.Errorf("offers = %+v after the retried accept, want allowed", r)
	}
}

// WhatsApp's signals about a person hold whoever sent the message: the
// business's other tools send through the same number.
func TestStatusOfAnotherSystemsMessage(t *testing.T) {
	t.Parallel()
	failed := func(e *moEnv, id string, code int) {
		e.t.Helper()
		e.handle(consent.Inbound{Statuses: []consent.StatusUpdate{{MessageID: id, RecipientID: anna,
			Status: consent.StatusFailed, Timestamp: e.clk.Now(), Errors: []consent.ProviderErrorDetail{{Code: code, Title: "x"}}}}})
	}
	t.Run("131050 stops marketing", func(t *testing.T) {
		t.Parallel()
		e := newMO(t)
		optedIn(t, e, anna)
		failed(e, "wamid.CRM1", 131050)
		if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedOut {
			t.Errorf("offers = %s, want opted_out", r.Reason)
		}
		if r := e.check("+"+anna, "order_updates"); !r.Allowed {
			t.Errorf("order_updates = %s, want still allowed (not marketing)", r.Reason)
		}
		if got := e.sentTo(anna); len(got) != 0 {
			t.Errorf("a provider stop sent %+v", got)
		}
	})
	t.Run("131026 undeliverable", func(t *testing.T) {
		t.Parallel()
		e := newMO(t)
		optedIn(t, e, anna)
		failed(e, "wamid.CRM2", 131026)
		if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonUndeliverable {
			t.Errorf("offers = %s, want undeliverable", r.Reason)
		}
	})
	t.Run("470 closes the window", func(t *testing.T) {
		t.Parallel()
		e := newMO(t)
		optedIn(t, e, anna)
		failed(e, "wamid.CRM3", 470)
		c, _ := e.db.ContactByPhone(context.Background(), "+"+anna)
		if c.WindowOpenUntil.After(e.clk.Now()) {
			t.Errorf("window open until %s after 470, want closed at %s", c.WindowOpenUntil, e.clk.Now())
		}
	})
	t.Run("template and account errors alert", func(t *testing.T) {
		t.Parallel()
		e := newMO(t)
		failed(e, "wamid.CRM4", 132001) // an unknown recipient too
		failed(e, "wamid.CRM5", 131042)
		alerts, err := e.db.Alerts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, a := range alerts {
			kinds[a.Kind] = true
		}
		if !kinds["template"] || !kinds["account"] {
			t.Errorf("alerts = %+v, want a template and an account alert", alerts)
		}
	})
}

// Stop then resume for a person who chose only offers: resume gives back
// offers and nothing else; in double mode a pending consent stays pending.
func TestResumeRestoresOnlyWhatStopTook(t *testing.T) {
	t.Parallel()
	for _, mode := range []consent.Mode{consent.Single, consent.Double} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			e := newMOMode(t, mode)
			ctx := context.Background()
			if _, err := e.svc.OptIn(ctx, consent.OptInRequest{Phone: "+" + anna, Categories: []string{"offers"}, Lang: "en",
				Wording: "I agree", Evidence: consent.Evidence{Source: consent.SourceWebForm}}); err != nil {
				t.Fatal(err)
			}
			if mode == consent.Single {
				pref := func(v string) {
					e.handle(consent.Inbound{Preferences: []consent.PreferenceUpdate{{WaID: anna, Category: "marketing_messages", Value: v}}})
				}
				pref("stop")
				if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonOptedOut {
					t.Fatalf("offers after stop = %s", r.Reason)
				}
				pref("resume")
				if r := e.check("+"+anna, "offers"); !r.Allowed {
					t.Errorf("offers after resume = %s, want allowed", r.Reason)
				}
				if r := e.check("+"+anna, "recommendations"); r.Allowed || r.Reason != consent.ReasonNoConsent {
					t.Errorf("recommendations after resume = %+v, want no consent", r)
				}
				return
			}
			for _, v := range []string{"stop", "resume"} {
				e.handle(consent.Inbound{Preferences: []consent.PreferenceUpdate{{WaID: anna, Category: "marketing_messages", Value: v}}})
				if r := e.check("+"+anna, "offers"); r.Reason != consent.ReasonPending {
					t.Errorf("offers after %s = %s, want still pending", v, r.Reason)
				}
			}
		})
	}
}
