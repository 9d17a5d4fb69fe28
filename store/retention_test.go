package store

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

func TestPurgeMessageTexts(t *testing.T) {
	path := testDSN(t)
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	old, recent := t0, t0.Add(40*24*time.Hour)
	rec := func(id, text string, at time.Time) consent.Contact {
		out, _, err := db.FixtureInbound(ctx, consent.InboundRecord{Message: consent.InboundMessage{ID: id, From: "4915112345678",
			Type: consent.InText, Text: text, Timestamp: at}, Phone: "+4915112345678", Lang: "en", At: at})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	c := rec("wamid.OLD", "an old secret about my shoes", old)
	rec("wamid.NEW", "a recent question", recent)
	db.Enqueue(ctx, c.ID, "reply", consent.Message{Kind: consent.KindText, Text: "an old reply with details"}, old)
	due, _ := db.ClaimDue(ctx, old, time.Minute, 10)
	db.MarkSent(ctx, due[0].ID, consent.SendResult{MessageID: "wamid.OUT"}, old)
	db.Enqueue(ctx, c.ID, "reply", consent.Message{Kind: consent.KindText, Text: "still queued text"}, old)

	n, err := db.PurgeMessageTexts(ctx, recent.Add(-30*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PurgeMessageTexts = %d, %v; want 2 (the old inbound text and the old sent reply)", n, err)
	}
	texts, _ := db.InboundTexts(ctx, c.ID)
	if len(texts) != 2 || texts[0] != "" || texts[1] != "a recent question" {
		t.Errorf("inbound texts = %q, want the old one emptied and the recent one kept", texts)
	}
	msgs, _ := db.Messages(ctx, c.ID)
	if msgs[0].Message.Text != "" || msgs[0].ProviderID != "wamid.OUT" || msgs[0].Status != consent.StatusSent {
		t.Errorf("sent message = %+v, want no text but id and status kept", msgs[0])
	}
	if msgs[1].Message.Text != "still queued text" {
		t.Errorf("a queued message lost its text")
	}
	db.Checkpoint(ctx)
	b, _ := os.ReadFile(path) // SQLite's file; nothing to read on PostgreSQL
	for _, gone := range []string{"an old secret about my shoes", "an old reply with details"} {
		if bytes.Contains(b, []byte(gone)) {
			t.Errorf("the file still holds %q", gone)
		}
	}
	if n, _ := db.PurgeMessageTexts(ctx, recent.Add(-30*24*time.Hour)); n != 0 {
		t.Errorf("second purge changed %d rows, want 0", n)
	}
}
