package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/optin/optin/consent"
)

// RecordInbound stores a message a person sent, creating the contact as
// pending_terms when the number is unknown, and extends the 24-hour window.
// A message handled before reports Handled and changes nothing.
func (s *DB) RecordInbound(ctx context.Context, r consent.InboundRecord) (consent.InboundOutcome, error) {
	var out consent.InboundOutcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		m := r.Message
		var handled int
		err := tx.QueryRowContext(ctx, `SELECT handled FROM inbound WHERE provider_message_id = ?`, m.ID).Scan(&handled)
		switch {
		case err == nil && handled == 1:
			out.Handled = true
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		c, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE wa_id = ? OR phone = ? LIMIT 1`,
			m.From, r.Phone))
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, `
				INSERT INTO contacts (id, phone, wa_id, language, status, entry_point, entry_valid, entry_via, terms_expires_at, created_at, updated_at)
				VALUES (`+newContactID+`, ?, ?, ?, 'pending_terms', ?, ?, ?, ?, ?, ?)`,
				r.Phone, m.From, r.Lang, r.EntryPoint, r.EntryValid, r.EntryVia, ts(r.TermsExpire), ts(r.At), ts(r.At))
			if err != nil {
				return err
			}
			out.Created = true
			c, err = scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE phone = ?`, r.Phone))
		}
		if err != nil {
			return err
		}
		sent := m.Timestamp
		if sent.IsZero() || sent.After(r.At) {
			sent = r.At
		}
		window := sent.Add(24 * time.Hour)
		if window.After(c.WindowOpenUntil) {
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET window_open_until = ?, updated_at = ? WHERE id = ?`,
				ts(window), ts(r.At), c.ID); err != nil {
				return err
			}
			c.WindowOpenUntil = window
		}
		if c.Status == consent.Undeliverable {
			// They wrote to us: the number is on WhatsApp after all.
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'active', updated_at = ? WHERE id = ?`, ts(r.At), c.ID); err != nil {
				return err
			}
			c.Status = consent.Active
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO inbound (provider_message_id, contact_id, type, text, button_id, sent_at, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider_message_id) DO NOTHING`,
			m.ID, c.ID, string(m.Type), m.Text, m.ButtonID, ts(sent), ts(r.At))
		out.Contact = c
		return err
	})
	if err != nil {
		return consent.InboundOutcome{}, mapErr("record inbound", err)
	}
	return out, nil
}

// MarkHandled records that everything a message caused is stored.
func (s *DB) MarkHandled(ctx context.Context, providerID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE inbound SET handled = 1 WHERE provider_message_id = ?`, providerID)
	return mapErr("mark handled", err)
}

// ContactByID returns a contact.
func (s *DB) ContactByID(ctx context.Context, id int64) (consent.Contact, error) {
	c, err := scanContact(s.db.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
	return c, mapErr("contact by id", err)
}

// ApplyChange records a change of a contact's consents in one transaction:
// the wording, the contact-level event, one event per category whose state
// differs from its target, the derived states, and the replies.
func (s *DB) ApplyChange(ctx context.Context, ch consent.Change) ([]string, error) {
	var changed []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, ch.ContactID))
		if err != nil {
			return err
		}
		wording := ""
		if ch.Wording != nil {
			if err := s.ensureWording(ctx, tx, *ch.Wording, ch.At); err != nil {
				return err
			}
			wording = ch.Wording.Hash
		}
		if ch.Activate {
			if _, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'active', terms_expires_at = '', updated_at = ?
				WHERE id = ? AND status = 'pending_terms'`, ts(ch.At), c.ID); err != nil {
				return err
			}
		}
		if ch.ContactEvent != "" {
			if _, err := s.insertEvent(ctx, tx, consent.Event{ContactID: c.ID, Type: ch.ContactEvent, OccurredAt: ch.At,
				WordingHash: wording, Lang: ch.Lang, Evidence: ch.Evidence}, ch.At); err != nil {
				return err
			}
		}
		slugs := make([]string, 0, len(ch.Set))
		for slug := range ch.Set {
			slugs = append(slugs, slug)
		}
		sort.Strings(slugs)
		for _, slug := range slugs {
			target := ch.Set[slug]
			var catID int64
			var current sql.NullString
			err := tx.QueryRowContext(ctx, `
				SELECT c.id, s.state FROM categories c
				LEFT JOIN consents s ON s.category_id = c.id AND s.contact_id = ?
				WHERE c.slug = ?`, c.ID, slug).Scan(&catID, &current)
			if err != nil {
				return fmt.Errorf("category %q: %w", slug, err)
			}
			if consent.State(current.String) == target {
				continue
			}
			evID, err := s.insertEvent(ctx, tx, consent.Event{ContactID: c.ID, Type: ch.Type, Category: slug, State: target,
				OccurredAt: ch.At, WordingHash: wording, Lang: ch.Lang, Evidence: ch.Evidence}, ch.At)
			if err != nil {
				return err
			}
			if err := s.setConsent(ctx, tx, c.ID, catID, target, ch.Evidence.Source, evID, ch.At); err != nil {
				return err
			}
			changed = append(changed, slug)
		}
		if ch.CancelQueued {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'failed', error_class = 'cancelled',
				error_title = 'cancelled by opt-out', updated_at = ? WHERE contact_id = ? AND status = 'queued'`,
				ts(ch.At), c.ID); err != nil {
				return err
			}
		}
		for _, m := range ch.Replies {
			m.To = c.WaID
			if err := s.enqueue(ctx, tx, c.ID, ch.ReplyPurpose, m, ch.At); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr("apply change", err)
	}
	return changed, nil
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

// EnqueueFallback enqueues the fallback reply unless one went to the contact
// within the last 24 hours, and reports whether it did.
func (s *DB) EnqueueFallback(ctx context.Context, contactID int64, m consent.Message, at time.Time) (bool, error) {
	queued := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var waID, last string
		if err := tx.QueryRowContext(ctx, `SELECT wa_id, last_fallback_at FROM contacts WHERE id = ?`, contactID).Scan(&waID, &last); err != nil {
			return err
		}
		if last != "" && at.Sub(parseTS(last)) < 24*time.Hour {
			return nil
		}
		m.To = waID
		if err := s.enqueue(ctx, tx, contactID, "fallback", m, at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET last_fallback_at = ? WHERE id = ?`, ts(at), contactID)
		queued = err == nil
		return err
	})
	return queued, mapErr("enqueue fallback", err)
}

// EraseContact deletes a contact with its consents, messages and forwards,
// and leaves a tombstone. Events stay in the ledger, holding no number, but
// lose their personal content (IP, user agent, message text…); their hashes
// keep the chain verifiable. The erasure's own event is recorded after that,
// with its evidence (who erased, and why) intact.
func (s *DB) EraseContact(ctx context.Context, contactID int64, t consent.Tombstone) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (phone_hash, reason, actor, erased_at) VALUES (?, ?, ?, ?)`,
			t.PhoneHash, t.Reason, t.Actor, ts(t.At)); err != nil {
			return err
		}
		if _, err := s.eraseEventContent(ctx, tx, contactID); err != nil {
			return err
		}
		if t.Event != "" {
			if _, err := s.insertEvent(ctx, tx, consent.Event{ContactID: contactID, Type: t.Event, OccurredAt: t.At,
				Evidence: consent.Evidence{Source: t.Source, Actor: t.Actor, Detail: map[string]string{"reason": t.Reason}}}, t.At); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, contactID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err == nil {
		err = s.checkpointErased(ctx) // erasure reaches the disk before it is reported done
	}
	return mapErr("erase contact", err)
}

// Tombstones returns the tombstones left for a number's hash.
func (s *DB) Tombstones(ctx context.Context, phoneHash string) ([]consent.Tombstone, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT phone_hash, reason, actor, erased_at FROM tombstones WHERE phone_hash = ? ORDER BY id`, phoneHash)
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts
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

// ChangeNumber moves a contact, with its consents, to a new number and
// records the move. ErrConflict when the new number is another contact's.
func (s *DB) ChangeNumber(ctx context.Context, contactID int64, phone, waID string, ev consent.Evidence, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET phone = ?, wa_id = ?, updated_at = ? WHERE id = ?`,
			phone, waID, ts(at), contactID); err != nil {
			return err
		}
		_, err := s.insertEvent(ctx, tx, consent.Event{ContactID: contactID, Type: consent.EventNumberChanged, OccurredAt: at,
			Evidence: ev}, at)
		return err
	})
	return mapErr("change number", err)
}

// InboundTexts returns what a contact wrote, oldest first.
func (s *DB) InboundTexts(ctx context.Context, contactID int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT text FROM inbound WHERE contact_id = ? ORDER BY id`, contactID)
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
