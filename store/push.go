package store

import (
	"context"
	"database/sql"

	"github.com/optin/optin/consent"
)

// Option changes how Open sets up the store.
type Option func(*DB)

// PushEvents makes every consent change queue a consent.changed push, and
// every erasure a contact.erased push, for the business's own system, in
// the transaction that records it (consent/push.go defines the bodies; the
// forward worker delivers them). serve passes it when OPTIN_FORWARD_URL is set.
func PushEvents() Option { return func(s *DB) { s.push = true } }

// pushConsentChanged queues the push of transition t of snap's contact,
// recorded as event evID.
func (s *DB) pushConsentChanged(ctx context.Context, tx *sql.Tx, c consent.Contact, t consent.Transition, source consent.Source, evID int64, p consent.Plan) error {
	if !s.push {
		return nil
	}
	var hash string
	if err := s.queryRow(ctx, tx, `SELECT hash FROM events WHERE id = ?`, evID).Scan(&hash); err != nil {
		return err
	}
	if c.Phone == "" {
		// A snapshot built without the row (a report creating the
		// contact): read the number recorded.
		if err := s.queryRow(ctx, tx, `SELECT phone, wa_id FROM contacts WHERE id = ?`, c.ID).Scan(&c.Phone, &c.WaID); err != nil {
			return err
		}
	}
	body, err := consent.ConsentChangedBody(c, t, source, evID, hash, p.At)
	if err != nil {
		return err
	}
	now := p.RecordedAt
	if now.IsZero() {
		now = p.At
	}
	return s.enqueueForward(ctx, tx, c.ID, body, now)
}

// pushContactErased queues the contact.erased push of contact id, before
// its row goes: the number travels once more, in a forward with no contact
// (so the erasure's cascade keeps it) whose body is emptied once delivered
// or given up (scrub).
func (s *DB) pushContactErased(ctx context.Context, tx *sql.Tx, id int64, t consent.Tombstone, evID int64) error {
	if !s.push {
		return nil
	}
	var c consent.Contact
	c.ID = id
	if err := s.queryRow(ctx, tx, `SELECT phone, wa_id FROM contacts WHERE id = ?`, id).Scan(&c.Phone, &c.WaID); err != nil {
		return err
	}
	var hash string
	if evID != 0 {
		if err := s.queryRow(ctx, tx, `SELECT hash FROM events WHERE id = ?`, evID).Scan(&hash); err != nil {
			return err
		}
	}
	body, err := consent.ContactErasedBody(c, t, evID, hash)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `INSERT INTO forwards (contact_id, body, status, next_attempt_at, created_at, scrub)
		VALUES (NULL, ?, 'queued', ?, ?, 1)`, string(body), ts(t.At), ts(t.At))
	return err
}

// scrubbedBody replaces the body of a delivered contact.erased push: the
// type stays for the log, the number goes.
const scrubbedBody = `{"type":"contact.erased","scrubbed":true}`

// NumberErased reports whether a tombstone holds phoneHash.
func (s *DB) NumberErased(ctx context.Context, phoneHash string) (bool, error) {
	var erased bool
	err := s.readRow(ctx, `SELECT EXISTS (SELECT 1 FROM tombstones WHERE phone_hash = ?)`, phoneHash).Scan(&erased)
	return erased, mapErr("number erased", err)
}
