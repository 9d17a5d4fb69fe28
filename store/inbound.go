package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/optin/optin/consent"
)

// HandleInbound stores a message a person sent and records what the domain
// decides about it, in one transaction: the contact (created as
// pending_terms when the number is unknown, matched by any spelling of the
// number otherwise), the 24-hour window, the message, the plan decide
// returns on the snapshot, and the mark that the message is handled. A
// message handled before reports handled and changes nothing; a failure at
// any step leaves nothing, so a retry decides again from the start.
func (s *DB) HandleInbound(ctx context.Context, r consent.InboundRecord, decide consent.Decider) (bool, consent.Plan, error) {
	var p consent.Plan
	handledBefore := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		m := r.Message
		var handled int
		err := s.queryRow(ctx, tx, `SELECT handled FROM inbound WHERE provider_message_id = ?`, m.ID).Scan(&handled)
		switch {
		case err == nil && handled == 1:
			handledBefore = true
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		created := false
		id, err := s.contactIDByNumber(ctx, tx, r.Phone)
		if errors.Is(err, sql.ErrNoRows) {
			err = s.queryRow(ctx, tx, `
				INSERT INTO contacts (id, phone, wa_id, match_key, language, status, entry_point, entry_valid, entry_via,
				    terms_expires_at, created_at, updated_at)
				VALUES (`+newContactID+`, ?, ?, ?, ?, 'pending_terms', ?, ?, ?, ?, ?, ?) RETURNING id`,
				r.Phone, m.From, consent.MatchKey(r.Phone), r.Lang, r.EntryPoint, r.EntryValid, r.EntryVia,
				ts(r.TermsExpire), ts(r.At), ts(r.At)).Scan(&id)
			created = true
		}
		if err != nil {
			return err
		}
		if err := s.fault("inbound.contact"); err != nil {
			return err
		}
		sent := m.Timestamp
		if sent.IsZero() || sent.After(r.At) {
			sent = r.At
		}
		// The window runs from the message; the number is on WhatsApp after
		// all when it was marked undeliverable; and the wa_id WhatsApp
		// reports is the one to send to.
		if _, err := s.exec(ctx, tx, `UPDATE contacts SET
			    window_open_until = max(window_open_until, ?),
			    status = CASE status WHEN 'undeliverable' THEN 'active' ELSE status END,
			    wa_id = ?, updated_at = ?
			WHERE id = ?`, ts(sent.Add(24*time.Hour)), m.From, ts(r.At), id); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `
			INSERT INTO inbound (provider_message_id, contact_id, type, text, button_id, sent_at, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider_message_id) DO NOTHING`,
			m.ID, id, string(m.Type), m.Text, m.ButtonID, ts(sent), ts(r.At)); err != nil {
			return err
		}
		if err := s.fault("inbound.stored"); err != nil {
			return err
		}
		snap, err := s.snapshot(ctx, tx, id)
		if err != nil {
			return err
		}
		snap.Created = created
		if p, err = decide(snap); err != nil {
			return err
		}
		if err := s.record(ctx, tx, snap, p); err != nil {
			return err
		}
		if err := s.fault("inbound.recorded"); err != nil {
			return err
		}
		if p.Erase == nil {
			if _, err := s.exec(ctx, tx, `UPDATE inbound SET handled = 1 WHERE provider_message_id = ?`, m.ID); err != nil {
				return err
			}
		}
		return s.fault("inbound.handled")
	})
	if err != nil {
		return false, consent.Plan{}, mapErr("handle inbound", err)
	}
	s.afterPlan(ctx, p)
	return handledBefore, p, nil
}

// ContactByID returns a contact.
func (s *DB) ContactByID(ctx context.Context, id int64) (consent.Contact, error) {
	c, err := scanContact(s.r.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
	return c, mapErr("contact by id", err)
}

// Enqueue puts one message to a contact in the outbox.
func (s *DB) Enqueue(ctx context.Context, contactID int64, purpose string, m consent.Message, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var waID string
		if err := tx.QueryRowContext(ctx, `SELECT wa_id FROM contacts WHERE id = ?`, contactID).Scan(&waID); err != nil {
			return err
		}
		m.To = waID
		return s.enqueue(ctx, tx, contactID, purpose, m, at)
	})
	return mapErr("enqueue", err)
}

// EraseContact deletes a contact with its consents, messages and forwards,
// and leaves a tombstone. Events stay in the ledger, holding no number, but
// lose their personal content (IP, user agent, message text…); their hashes
// keep the chain verifiable. The erasure's own event is recorded after that,
// with its evidence (who erased, and why) intact.
func (s *DB) EraseContact(ctx context.Context, contactID int64, t consent.Tombstone) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.eraseContact(ctx, tx, contactID, t) })
	if err != nil {
		return mapErr("erase contact", err)
	}
	// The erasure reaches the disk before it is reported done (erase_disk.go).
	return mapErr("erase contact", s.checkpointErased(ctx))
}

func (s *DB) eraseContact(ctx context.Context, tx *sql.Tx, contactID int64, t consent.Tombstone) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (phone_hash, reason, actor, erased_at) VALUES (?, ?, ?, ?)`,
		t.PhoneHash, t.Reason, t.Actor, ts(t.At)); err != nil {
		return err
	}
	if _, err := s.eraseEventContent(ctx, tx, contactID); err != nil {
		return err
	}
	var evID int64
	if t.Event != "" {
		var err error
		if evID, err = s.insertEvent(ctx, tx, consent.Event{ContactID: contactID, Type: t.Event, OccurredAt: t.At,
			Evidence: consent.Evidence{Source: t.Source, Actor: t.Actor, Detail: map[string]string{"reason": t.Reason}}}, t.At); err != nil {
			return err
		}
	}
	if err := s.pushContactErased(ctx, tx, contactID, t, evID); err != nil { // push.go
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, contactID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// erased follows a committed erasure: it pushes the erased data out of the
// WAL (erase_disk.go). A checkpoint that readers kept from finishing is not
// an error of the erasure, which committed: the one FinishInbox makes after
// the webhook call that caused it tries again.
func (s *DB) erased(ctx context.Context) { _ = s.checkpointErased(ctx) }

// Tombstones returns the tombstones left for a number's hash.
func (s *DB) Tombstones(ctx context.Context, phoneHash string) ([]consent.Tombstone, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT phone_hash, reason, actor, erased_at FROM tombstones WHERE phone_hash = ? ORDER BY id`, phoneHash)
	if err != nil {
		return nil, mapErr("tombstones", err)
	}
	defer rows.Close()
	var out []consent.Tombstone
	for rows.Next() {
		var t consent.Tombstone
		var at string
		if err := rows.Scan(&t.PhoneHash, &t.Reason, &t.Actor, &at); err != nil {
			return nil, mapErr("tombstones", err)
		}
		t.At = parseTS(at)
		out = append(out, t)
	}
	return out, mapErr("tombstones", rows.Err())
}

// ExpiredTerms returns contacts whose terms prompt lapsed before now.
func (s *DB) ExpiredTerms(ctx context.Context, now time.Time, limit int) ([]consent.Contact, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE status = 'pending_terms' AND terms_expires_at <> '' AND terms_expires_at <= ? ORDER BY id LIMIT ?`, ts(now), limit)
	if err != nil {
		return nil, mapErr("expired terms", err)
	}
	defer rows.Close()
	var out []consent.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, mapErr("expired terms", err)
		}
		out = append(out, c)
	}
	return out, mapErr("expired terms", rows.Err())
}

// changeNumber moves a contact, with its consents, to a new number and
// records the move. When the new number is already another contact's,
// both stay as they are and nothing is recorded.
func (s *DB) changeNumber(ctx context.Context, tx *sql.Tx, contactID int64, phone, waID string, ev consent.Evidence, at time.Time) error {
	var other int64
	err := s.queryRow(ctx, tx, `SELECT id FROM contacts WHERE (match_key = ? OR phone = ?) AND id <> ?`,
		consent.MatchKey(phone), phone, contactID).Scan(&other)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET phone = ?, wa_id = ?, match_key = ?, updated_at = ? WHERE id = ?`,
		phone, waID, consent.MatchKey(phone), ts(at), contactID); err != nil {
		return err
	}
	_, err = s.insertEvent(ctx, tx, consent.Event{ContactID: contactID, Type: consent.EventNumberChanged, OccurredAt: at,
		Evidence: ev}, at)
	return err
}

// InboundTexts returns what a contact wrote, oldest first.
func (s *DB) InboundTexts(ctx context.Context, contactID int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT text FROM inbound WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, mapErr("inbound texts", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, mapErr("inbound texts", err)
		}
		out = append(out, t)
	}
	return out, mapErr("inbound texts", rows.Err())
}
