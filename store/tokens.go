package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/optin/optin/consent"
)

// tokenRetention is how long the hash of a retired preference token is
// kept: long enough that an operator asked "why doesn't my link work any
// more?" can tell a retired link from a mistyped one, short enough that the
// table does not grow with every message a contact ever received.
const tokenRetention = 30 * 24 * time.Hour

// AddPreferenceToken stores the hash of a new preference token for a contact
// and retires all but the keep most recent live tokens, in one transaction;
// keep 1 retires every other token (a rotation). Retired tokens older than
// tokenRetention are deleted on the way. ErrNotFound for an unknown contact.
func (s *DB) AddPreferenceToken(ctx context.Context, contactID int64, hash string, at time.Time, keep int) error {
	keep = max(keep, 1)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = ?`, contactID).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO preference_tokens (hash, contact_id, created_at) VALUES (?, ?, ?)`,
			hash, contactID, ts(at)); err != nil {
			return err
		}
		// Newest first; on PostgreSQL, which has no rowid, seq keeps the
		// order of insertion.
		if _, err := tx.ExecContext(ctx, s.pick(`
			UPDATE preference_tokens SET rotated_at = ?
			WHERE contact_id = ? AND rotated_at = '' AND rowid NOT IN (
			    SELECT rowid FROM preference_tokens WHERE contact_id = ? AND rotated_at = ''
			    ORDER BY created_at DESC, rowid DESC LIMIT ?)`, `
			UPDATE preference_tokens SET rotated_at = ?
			WHERE contact_id = ? AND rotated_at = '' AND seq NOT IN (
			    SELECT seq FROM preference_tokens WHERE contact_id = ? AND rotated_at = ''
			    ORDER BY created_at DESC, seq DESC LIMIT ?)`),
			ts(at), contactID, contactID, keep); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM preference_tokens WHERE contact_id = ? AND rotated_at <> '' AND rotated_at < ?`,
			contactID, ts(at.Add(-tokenRetention)))
		return err
	})
	return mapErr("add preference token", err)
}

// ContactByPreferenceToken returns the contact a live token (given by its
// hash) belongs to; ErrNotFound for a retired, unknown or forged one.
func (s *DB) ContactByPreferenceToken(ctx context.Context, hash string) (consent.Contact, error) {
	c, err := scanContact(s.r.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE id = (SELECT contact_id FROM preference_tokens WHERE hash = ? AND rotated_at = '')`, hash))
	return c, mapErr("contact by preference token", err)
}
