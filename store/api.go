package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/optin/optin/consent"
)

// RecordConsent applies one consent reported by another system, in one
// transaction: the contact when new, the wording, the event and the derived
// consent state, and the idempotency key when one was given.
func (s *DB) RecordConsent(ctx context.Context, w consent.ConsentWrite) (consent.RecordOutcome, error) {
	var out consent.RecordOutcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.recordOne(ctx, tx, w, apply)
		return err
	})
	if err != nil {
		return consent.RecordOutcome{}, mapErr("record consent", err)
	}
	return out, out.Err
}

// recordMode says what recordOne does.
type recordMode int

const (
	apply      recordMode = iota // write, and read back the event for the reply
	applyQuiet                   // write; no reply (imports)
	check                        // only tell what apply would do
)

// recordOne applies w in tx, or in check mode only tells what it would do.
// Everything that can refuse w is read before anything is written, so a
// refusal (in RecordOutcome.Err) leaves tx as it was; an error is for the
// database.
func (s *DB) recordOne(ctx context.Context, tx *sql.Tx, w consent.ConsentWrite, mode recordMode) (consent.RecordOutcome, error) {
	var out consent.RecordOutcome
	if k := w.Idempotency; k != nil {
		var hash string
		var status int
		var eventID int64
		err := s.queryRow(ctx, tx, `SELECT request_hash, status, event_id FROM api_idempotency
			WHERE api_key_id = ? AND key = ?`, k.KeyID, k.Key).Scan(&hash, &status, &eventID)
		switch {
		case err == nil && hash != k.RequestHash:
			return out, consent.ErrIdempotencyMismatch
		case err == nil:
			ev, err := s.ledgerEvent(ctx, tx, eventID)
			if err != nil {
				return out, err
			}
			return consent.RecordOutcome{Event: ev, Changed: status == 201, Replayed: true}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return out, err
		}
	}

	contactID, err := s.contactIDByNumber(ctx, tx, w.Phone)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return out, err
	}
	var snap consent.Snapshot
	var erasedAt string
	if exists {
		if snap, err = s.snapshot(ctx, tx, contactID); err != nil {
			return out, err
		}
	} else if err := s.queryRow(ctx, tx, `SELECT coalesce(max(erased_at), '') FROM tombstones WHERE phone_hash = ?`,
		w.PhoneHash).Scan(&erasedAt); err != nil {
		return out, err
	}
	t, err := consent.DecideReport(snap.Consents, exists, parseTS(erasedAt), w)
	if errors.Is(err, consent.ErrConflict) {
		out.Err = err
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if len(t) == 0 {
		if mode != apply {
			return out, nil
		}
		var eventID int64
		if err := s.queryRow(ctx, tx, `SELECT s.event_id FROM consents s JOIN categories c ON c.id = s.category_id
			WHERE s.contact_id = ? AND c.slug = ?`, contactID, w.Category).Scan(&eventID); err != nil {
			return out, err
		}
		if out.Event, err = s.ledgerEvent(ctx, tx, eventID); err != nil {
			return out, err
		}
		return out, s.rememberRequest(ctx, tx, w, 200, eventID, contactID)
	}
	out.Changed = true
	if mode == check {
		return out, nil
	}
	if !exists {
		if snap.Contact, err = s.insertContact(ctx, tx, w.Phone, strings.TrimPrefix(w.Phone, "+"), w.Lang, consent.Active, w.At); err != nil {
			return out, err
		}
		contactID = snap.Contact.ID
	}
	// A report's events happened at occurred_at; they are recorded now.
	if err := s.record(ctx, tx, snap, consent.Plan{At: w.OccurredAt, RecordedAt: w.At, Lang: w.Lang, Wording: w.Wording,
		Evidence: w.Evidence, Transitions: t}); err != nil {
		return out, err
	}
	if mode == applyQuiet {
		return out, nil
	}
	var evID int64
	if err := s.queryRow(ctx, tx, `SELECT max(id) FROM events`).Scan(&evID); err != nil {
		return out, err
	}
	if out.Event, err = s.ledgerEvent(ctx, tx, evID); err != nil {
		return out, err
	}
	return out, s.rememberRequest(ctx, tx, w, 201, evID, contactID)
}

// rememberRequest stores the idempotency key of w, when it has one, with
// the outcome.
func (s *DB) rememberRequest(ctx context.Context, tx *sql.Tx, w consent.ConsentWrite, status int, eventID, contactID int64) error {
	k := w.Idempotency
	if k == nil {
		return nil
	}
	_, err := s.exec(ctx, tx, `INSERT INTO api_idempotency (api_key_id, key, request_hash, status, event_id, contact_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, k.KeyID, k.Key, k.RequestHash, status, eventID, contactID, ts(w.At))
	return err
}

const ledgerEventQuery = `
	SELECT e.id, e.contact_id, e.type, e.category, e.state, e.source, e.occurred_at, e.recorded_at,
	       coalesce(e.wording_hash, ''), e.lang, e.ip, e.user_agent, e.page_url, e.embed_origin, e.entry_point,
	       e.form_version, e.message_id, e.message_text, e.actor, e.detail, coalesce(c.phone, ''), c.id IS NULL
	FROM events e LEFT JOIN contacts c ON c.id = e.contact_id AND c.created_at <= e.recorded_at`

// The join's created_at condition keeps the events of an erased contact
// from being shown with a later contact that got the same id.

func scanLedgerEvent(row interface{ Scan(...any) error }) (consent.LedgerEvent, error) {
	var e consent.LedgerEvent
	var typ, state, source, occurred, recorded, detail string
	ev := &e.Evidence
	err := row.Scan(&e.ID, &e.ContactID, &typ, &e.Category, &state, &source, &occurred, &recorded,
		&e.WordingHash, &e.Lang, &ev.IP, &ev.UserAgent, &ev.PageURL, &ev.EmbedOrigin, &ev.EntryPoint,
		&ev.FormVersion, &ev.MessageID, &ev.MessageText, &ev.Actor, &detail, &e.Phone, &e.Erased)
	if err != nil {
		return e, err
	}
	if detail != "{}" && detail != "" {
		if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
			return e, fmt.Errorf("event %d detail: %w", e.ID, err)
		}
	}
	e.Type, e.State, ev.Source = consent.EventType(typ), consent.State(state), consent.Source(source)
	e.OccurredAt, e.RecordedAt = parseTS(occurred), parseTS(recorded)
	return e, nil
}

func (s *DB) ledgerEvent(ctx context.Context, tx *sql.Tx, id int64) (consent.LedgerEvent, error) {
	return scanLedgerEvent(s.queryRow(ctx, tx, ledgerEventQuery+` WHERE e.id = ?`, id))
}

// LedgerEvents returns up to limit events with ids above after, in id
// order, which is the order they were committed in (ids are given inside
// the writing transaction, one writer at a time). Events of erased contacts
// come with no number and their personal columns empty.
func (s *DB) LedgerEvents(ctx context.Context, after int64, limit int) ([]consent.LedgerEvent, error) {
	rows, err := s.r.QueryContext(ctx, ledgerEventQuery+` WHERE e.id > ? ORDER BY e.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, mapErr("ledger events", err)
	}
	defer rows.Close()
	var out []consent.LedgerEvent
	for rows.Next() {
		e, err := scanLedgerEvent(rows)
		if err != nil {
			return nil, mapErr("ledger events", err)
		}
		out = append(out, e)
	}
	return out, mapErr("ledger events", rows.Err())
}
