package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func tokenRows(t *testing.T, db *DB, contactID int64) (live, retired int) {
	t.Helper()
	err := db.w.QueryRow(`SELECT count(*) FILTER (WHERE rotated_at = ''), count(*) FILTER (WHERE rotated_at <> '')
		FROM preference_tokens WHERE contact_id = ?`, contactID).Scan(&live, &retired)
	if err != nil {
		t.Fatal(err)
	}
	return live, retired
}

func TestPreferenceTokensKeepTheMostRecent(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	anna, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	ben, err := db.FixtureOptIn(ctx, optIn("+4915187654321", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddPreferenceToken(ctx, ben.Contact.ID, hashOf("ben"), t0, 5); err != nil {
		t.Fatal(err)
	}
	// Six tokens at the same instant: the order of insertion decides.
	for i := range 6 {
		if err := db.AddPreferenceToken(ctx, anna.Contact.ID, hashOf(fmt.Sprint("anna", i)), t0, 5); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ContactByPreferenceToken(ctx, hashOf("anna0")); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("oldest of six tokens: err = %v, want ErrNotFound", err)
	}
	for i := 1; i < 6; i++ {
		c, err := db.ContactByPreferenceToken(ctx, hashOf(fmt.Sprint("anna", i)))
		if err != nil || c.ID != anna.Contact.ID {
			t.Errorf("token %d: contact %d, err %v; want contact %d", i, c.ID, err, anna.Contact.ID)
		}
	}
	if live, retired := tokenRows(t, db, anna.Contact.ID); live != 5 || retired != 1 {
		t.Errorf("live, retired = %d, %d; want 5, 1", live, retired)
	}

	// A rotation (keep 1) retires every other token of the contact only.
	if err := db.AddPreferenceToken(ctx, anna.Contact.ID, hashOf("anna-new"), t0.Add(time.Minute), 1); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := db.ContactByPreferenceToken(ctx, hashOf(fmt.Sprint("anna", i))); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("token %d after rotation: err = %v, want ErrNotFound", i, err)
		}
	}
	if c, err := db.ContactByPreferenceToken(ctx, hashOf("anna-new")); err != nil || c.ID != anna.Contact.ID {
		t.Errorf("new token: contact %d, err %v", c.ID, err)
	}
	if c, err := db.ContactByPreferenceToken(ctx, hashOf("ben")); err != nil || c.ID != ben.Contact.ID {
		t.Errorf("another contact's token: contact %d, err %v; want it untouched", c.ID, err)
	}

	// Retired hashes are deleted once tokenRetention has passed.
	later := t0.Add(tokenRetention + 2*time.Minute)
	if err := db.AddPreferenceToken(ctx, anna.Contact.ID, hashOf("anna-later"), later, 5); err != nil {
		t.Fatal(err)
	}
	if live, retired := tokenRows(t, db, anna.Contact.ID); live != 2 || retired != 0 {
		t.Errorf("after retention: live, retired = %d, %d; want 2, 0", live, retired)
	}
}

func TestPreferenceTokenErrors(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.AddPreferenceToken(ctx, 999, hashOf("x"), t0, 5); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown contact: err = %v, want ErrNotFound", err)
	}
	out, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddPreferenceToken(ctx, out.Contact.ID, "not-a-hash", t0, 5); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("malformed hash: err = %v, want ErrConflict", err)
	}
	if err := db.AddPreferenceToken(ctx, out.Contact.ID, hashOf("a"), t0, 5); err != nil {
		t.Fatal(err)
	}
	if err := db.AddPreferenceToken(ctx, out.Contact.ID, hashOf("a"), t0, 5); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("same hash twice: err = %v, want ErrConflict", err)
	}
	if _, err := db.ContactByPreferenceToken(ctx, hashOf("never issued")); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown hash: err = %v, want ErrNotFound", err)
	}
}

func TestPreferenceTokensGoWithTheContact(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	out, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	id := out.Contact.ID
	for i := range 3 {
		if err := db.AddPreferenceToken(ctx, id, hashOf(fmt.Sprint(i)), t0, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.EraseContact(ctx, id, consent.Tombstone{PhoneHash: "h", Reason: "person", At: t0,
		Event: consent.EventErased, Source: consent.SourcePreferenceCenter}); err != nil {
		t.Fatal(err)
	}
	if live, retired := tokenRows(t, db, id); live+retired != 0 {
		t.Errorf("after erasure: %d live and %d retired tokens left, want none", live, retired)
	}
}
