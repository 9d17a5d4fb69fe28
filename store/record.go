package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// This file is the one step that records consent: the domain decides a
// consent.Plan on a snapshot read inside the write transaction
// (consent.Decide makes every choice), and record appends its events and
// sets the states it names, with what goes with them. No other code in the
// store writes an opt-in or opt-out event or a consent state.

// Apply reads the snapshot of contact id, asks decide for the plan and
// records it, in one transaction. It returns the plan recorded.
func (s *DB) Apply(ctx context.Context, id int64, decide consent.Decider) (consent.Plan, error) {
	var p consent.Plan
	err := s.tx(ctx, func(tx *sql.Tx) error {
		snap, err := s.snapshot(ctx, tx, id)
		if err != nil {
			return err
		}
		if p, err = decide(snap); err != nil {
			return err
		}
		return s.record(ctx, tx, snap, p)
	})
	if err != nil {
		return consent.Plan{}, mapErr("apply", err)
	}
	s.afterPlan(ctx, p)
	return p, nil
}

// ApplyToNumber is Apply for the contact with the number phone (any
// spelling WhatsApp uses for it, see consent.MatchKey), created as an
// active contact in lang when there is none.
//
// Concurrent calls (form posts) share their commit (txShared, shared.go)
// and each returns once it has committed.
func (s *DB) ApplyToNumber(ctx context.Context, phone, lang string, at time.Time, decide consent.Decider) (consent.Snapshot, consent.Plan, error) {
	var p consent.Plan
	var snap consent.Snapshot
	err := s.txShared(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		snap, p, err = s.applyToNumber(ctx, tx, phone, lang, at, decide)
		return err
	})
	if err != nil {
		return consent.Snapshot{}, consent.Plan{}, mapErr("apply to number", err)
	}
	s.afterPlan(ctx, p)
	return snap, p, nil
}

// applyToNumber is ApplyToNumber's work in tx, which may be a shared
// commit whose writes a bulk collects (shared.go): what the bulk holds of
// the contact is written before its snapshot is read, and a plan that
// erases the contact or moves its number is recorded without the bulk.
func (s *DB) applyToNumber(ctx context.Context, tx *sql.Tx, phone, lang string, at time.Time, decide consent.Decider) (consent.Snapshot, consent.Plan, error) {
	var snap consent.Snapshot
	id, err := s.contactIDByNumber(ctx, tx, phone)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		snap, err = s.newContactSnapshot(ctx, tx, phone, lang, at)
	case err == nil:
		if err = s.flushFor(ctx, tx, id); err == nil {
			snap, err = s.snapshot(ctx, tx, id)
		}
	}
	if err != nil {
		return consent.Snapshot{}, consent.Plan{}, err
	}
	p, err := decide(snap)
	if err != nil {
		return consent.Snapshot{}, consent.Plan{}, err
	}
	if snap.Created {
		// Its trigram row waits for the end of the shared commit,
		// unless the plan changes its number: the update trigger then
		// replaces the row, which must be there.
		if err := s.indexNewContact(ctx, tx, snap.Contact.ID, p.NewNumber == nil); err != nil {
			return consent.Snapshot{}, consent.Plan{}, err
		}
	}
	if p.NewNumber != nil || p.Erase != nil {
		err = s.withoutBulk(ctx, tx, func() error { return s.record(ctx, tx, snap, p) })
	} else {
		err = s.record(ctx, tx, snap, p)
	}
	return snap, p, err
}

// insertContact adds a contact and returns it as stored.
func (s *DB) insertContact(ctx context.Context, tx *sql.Tx, phone, waID, lang string, status consent.ContactStatus, at time.Time) (consent.Contact, error) {
	return scanContact(s.queryRow(ctx, tx, `
		INSERT INTO contacts (id, phone, wa_id, match_key, language, status, created_at, updated_at)
		VALUES (`+newContactID+`, ?, ?, ?, ?, ?, ?, ?) RETURNING `+contactColumns,
		phone, waID, consent.MatchKey(phone), lang, status, ts(at), ts(at)))
}

// newContactSnapshot adds an active contact for phone and returns the
// snapshot snapshot would read of it, without reading what a contact
// created in this transaction cannot have: consents, outbox messages (both
// deleted with a contact whose id is then free again), the times of a
// welcome or a fallback. TestNewContactSnapshot compares the two.
func (s *DB) newContactSnapshot(ctx context.Context, tx *sql.Tx, phone, lang string, at time.Time) (consent.Snapshot, error) {
	c, err := s.insertContact(ctx, tx, phone, strings.TrimPrefix(phone, "+"), lang, consent.Active, at)
	if err != nil {
		return consent.Snapshot{}, err
	}
	snap := consent.Snapshot{Contact: c, Created: true}
	snap.EntryCategories, err = s.entryCategories(ctx, tx, c.EntryPoint)
	return snap, err
}

// contactIDByNumber finds the contact of a number in any of the spellings
// WhatsApp uses for it (sql.ErrNoRows when none).
func (s *DB) contactIDByNumber(ctx context.Context, tx *sql.Tx, phone string) (int64, error) {
	var id int64
	err := s.queryRow(ctx, tx, `SELECT id FROM contacts WHERE match_key = ?`, consent.MatchKey(phone)).Scan(&id)
	return id, err
}

// snapshot reads what the domain decides on: the contact, its consents, the
// times of its last welcome and fallback, and its entry point's categories.
func (s *DB) snapshot(ctx context.Context, tx *sql.Tx, id int64) (consent.Snapshot, error) {
	var snap consent.Snapshot
	var welcome, fallback string
	row := s.queryRow(ctx, tx, `SELECT `+contactColumns+`, last_welcome_at, last_fallback_at FROM contacts WHERE id = ?`, id)
	c, err := scanContactWith(row, &welcome, &fallback)
	if err != nil {
		return snap, err
	}
	snap.Contact, snap.LastWelcomeAt, snap.LastFallbackAt = c, parseTS(welcome), parseTS(fallback)
	if err := s.queryRow(ctx, tx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE contact_id = ? AND purpose = ?)`,
		id, consent.PurposeContactCard).Scan(&snap.CardSent); err != nil {
		return snap, err
	}
	err = s.query(ctx, tx, `
		SELECT c.slug, s.state, s.since, s.source
		FROM consents s JOIN categories c ON c.id = s.category_id
		WHERE s.contact_id = ? ORDER BY c.position, c.id`, []any{id}, func(rows *sql.Rows) error {
		var cs consent.Consent
		var state, since, source string
		if err := rows.Scan(&cs.Category, &state, &since, &source); err != nil {
			return err
		}
		cs.State, cs.Since, cs.Source = consent.State(state), parseTS(since), consent.Source(source)
		snap.Consents = append(snap.Consents, cs)
		return nil
	})
	if err != nil {
		return snap, err
	}
	snap.EntryCategories, err = s.entryCategories(ctx, tx, c.EntryPoint)
	return snap, err
}

// entryCategories returns the categories the entry point code offers. An
// entry point that no longer exists offers what the default one offers;
// neither existing offers nothing.
func (s *DB) entryCategories(ctx context.Context, tx *sql.Tx, code string) ([]string, error) {
	if err := s.fault("snapshot.entry_point"); err != nil {
		return nil, err
	}
	m := s.memoOf(tx)
	if cats, ok := m.entryCategories(code); ok {
		return cats, nil
	}
	var cats string
	err := s.queryRow(ctx, tx, `
		SELECT categories FROM entry_points WHERE code IN (?, ?)
		ORDER BY code = ? DESC LIMIT 1`, code, consent.DefaultEntryPoint, code).Scan(&cats)
	var list []string
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		list = splitList(cats)
	}
	m.keepEntryCategories(code, list)
	return list, nil
}

// record writes plan p, decided on snap, in tx: the wording, the
// contact-level event, one event and state per transition, the outbox and
// the rest of the plan. It trusts the transitions: they were decided on
// states read in this same transaction.
func (s *DB) record(ctx context.Context, tx *sql.Tx, snap consent.Snapshot, p consent.Plan) error {
	c := snap.Contact
	now := p.RecordedAt
	if now.IsZero() {
		now = p.At
	}
	at := ts(now)
	wording := ""
	if p.Wording != nil {
		if err := s.ensureWording(ctx, tx, *p.Wording, now); err != nil {
			return err
		}
		wording = p.Wording.Hash
	}
	if p.Activate && c.Status == consent.PendingTerms {
		if _, err := s.exec(ctx, tx, `UPDATE contacts SET status = 'active', terms_expires_at = '', updated_at = ? WHERE id = ?`,
			at, c.ID); err != nil {
			return err
		}
	}
	if p.Language != "" && p.Language != c.Language {
		if _, err := s.exec(ctx, tx, `UPDATE contacts SET language = ? WHERE id = ?`, p.Language, c.ID); err != nil {
			return err
		}
	}
	if p.ContactEvent != "" {
		if _, err := s.insertEvent(ctx, tx, consent.Event{ContactID: c.ID, Type: p.ContactEvent, OccurredAt: p.At,
			WordingHash: wording, Lang: p.Lang, Evidence: p.Evidence}, now); err != nil {
			return err
		}
	}
	for _, t := range p.Transitions {
		catID, err := s.categoryID(ctx, tx, t.Category)
		if err != nil {
			return fmt.Errorf("category %q: %w", t.Category, err)
		}
		evID, err := s.insertEvent(ctx, tx, consent.Event{ContactID: c.ID, Type: t.Type, Category: t.Category, State: t.To,
			OccurredAt: p.At, WordingHash: wording, Lang: p.Lang, Evidence: p.Evidence}, now)
		if err != nil {
			return err
		}
		if err := s.setConsent(ctx, tx, c.ID, catID, t.To, p.Evidence.Source, evID, p.At); err != nil {
			return err
		}
		if s.push {
			// The push reads the event back: write what a bulk holds first.
			if err := s.flush(ctx, tx); err != nil {
				return err
			}
		}
		if err := s.pushConsentChanged(ctx, tx, c, t, p.Evidence.Source, evID, p); err != nil { // push.go
			return err
		}
	}
	if p.CancelQueued {
		if _, err := s.exec(ctx, tx, `UPDATE outbox SET status = 'failed', error_class = 'cancelled',
			error_title = 'cancelled by opt-out', updated_at = ? WHERE contact_id = ? AND status = 'queued'`, at, c.ID); err != nil {
			return err
		}
	}
	for _, r := range p.Replies {
		m := r.Message
		m.To = c.WaID
		if err := s.enqueue(ctx, tx, c.ID, r.Purpose, m, now); err != nil {
			return err
		}
	}
	if p.Welcome {
		if _, err := s.exec(ctx, tx, `UPDATE contacts SET last_welcome_at = ? WHERE id = ?`, at, c.ID); err != nil {
			return err
		}
	}
	if p.Fallback {
		if _, err := s.exec(ctx, tx, `UPDATE contacts SET last_fallback_at = ? WHERE id = ?`, at, c.ID); err != nil {
			return err
		}
	}
	if p.Forward != nil {
		if err := s.enqueueForward(ctx, tx, c.ID, p.Forward, now); err != nil {
			return err
		}
	}
	if p.CountEntry != "" && c.EntryPoint != "" {
		if err := s.countEntry(ctx, tx, c.EntryPoint, p.CountEntry); err != nil {
			return err
		}
	}
	if n := p.NewNumber; n != nil {
		if err := s.changeNumber(ctx, tx, c.ID, n.Phone, n.WaID, p.Evidence, now); err != nil {
			return err
		}
	}
	if p.Erase != nil {
		if p.Farewell != nil {
			body, err := json.Marshal(p.Farewell)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO farewells (wa_id, message, created_at) VALUES (?, ?, ?)`,
				c.WaID, string(body), at); err != nil {
				return err
			}
		}
		return s.eraseContact(ctx, tx, c.ID, *p.Erase)
	}
	return nil
}

// afterPlan does what must follow the commit of a plan: an erasure leaves
// nothing of the person in the files.
func (s *DB) afterPlan(ctx context.Context, p consent.Plan) {
	if p.Erase != nil {
		s.erased(ctx)
	}
}

// SetFault makes the store fail at the named steps of HandleInbound, for
// tests that show a failure at any step records nothing: f returns the
// error for a step, or nil. Not for production use.
func (s *DB) SetFault(f func(step string) error) { s.faults = f }

func (s *DB) fault(step string) error {
	if s.faults == nil {
		return nil
	}
	return s.faults(step)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ClaimFarewells takes up to limit farewells off their table and returns
// them addressed: from now on only the message in flight holds the number.
func (s *DB) ClaimFarewells(ctx context.Context, limit int) ([]consent.Message, error) {
	var out []consent.Message
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM farewells WHERE id IN (SELECT id FROM farewells ORDER BY id LIMIT ?)
			RETURNING wa_id, message`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var to, body string
			if err := rows.Scan(&to, &body); err != nil {
				return err
			}
			var m consent.Message
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				return fmt.Errorf("farewell: %w", err)
			}
			m.To = to
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapErr("claim farewells", err)
	}
	if len(out) > 0 {
		s.erased(ctx)
	}
	return out, nil
}
