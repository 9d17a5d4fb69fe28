package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/optin/optin/consent"
)

// Categories lists the categories in their order, with texts in lang (or
// English when lang has none).
func (s *DB) Categories(ctx context.Context, lang string) ([]consent.Category, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT c.id, c.slug, c.marketing,
		       coalesce(t.name, e.name, c.slug), coalesce(t.description, e.description, '')
		FROM categories c
		LEFT JOIN category_texts t ON t.category_id = c.id AND t.lang = ?
		LEFT JOIN category_texts e ON e.category_id = c.id AND e.lang = 'en'
		ORDER BY c.position, c.id`, lang)
	if err != nil {
		return nil, mapErr("categories", err)
	}
	defer rows.Close()
	var out []consent.Category
	for rows.Next() {
		var c consent.Category
		if err := rows.Scan(&c.ID, &c.Slug, &c.Marketing, &c.Name, &c.Description); err != nil {
			return nil, mapErr("categories", err)
		}
		out = append(out, c)
	}
	return out, mapErr("categories", rows.Err())
}

const contactColumns = `id, phone, wa_id, language, status, window_open_until, created_at, entry_point, entry_valid, terms_expires_at, entry_via`

func scanContact(row interface{ Scan(...any) error }) (consent.Contact, error) {
	return scanContactWith(row)
}

// scanContactWith scans contactColumns followed by the columns of more.
func scanContactWith(row interface{ Scan(...any) error }, more ...any) (consent.Contact, error) {
	var c consent.Contact
	var status, window, created, expires, via string
	dest := []any{&c.ID, &c.Phone, &c.WaID, &c.Language, &status, &window, &created, &c.EntryPoint, &c.EntryValid, &expires, &via}
	err := row.Scan(append(dest, more...)...)
	c.EntryVia = consent.Source(via)
	c.Status = consent.ContactStatus(status)
	c.WindowOpenUntil = parseTS(window)
	c.CreatedAt = parseTS(created)
	c.TermsExpiresAt = parseTS(expires)
	return c, err
}

// ContactByPhone returns the contact with the number phone, in any of the
// spellings WhatsApp uses for it (consent.MatchKey).
func (s *DB) ContactByPhone(ctx context.Context, phone string) (consent.Contact, error) {
	c, err := scanContact(s.readRow(ctx,
		`SELECT `+contactColumns+` FROM contacts WHERE match_key = ?`, consent.MatchKey(phone)))
	return c, mapErr("contact by phone", err)
}

const consentForQuery = `
	SELECT c.status, coalesce(s.state, '')
	FROM contacts c
	LEFT JOIN consents s ON s.contact_id = c.id AND s.category_id = (SELECT id FROM categories WHERE slug = ?)
	WHERE c.match_key = ?`

// ConsentFor returns the status of the contact with the number phone (any
// spelling) and its consent for category, "" when it has none. It is the
// consent check's one query.
func (s *DB) ConsentFor(ctx context.Context, phone, category string) (consent.ContactStatus, consent.State, error) {
	var status, state string
	err := s.consentFor.QueryRowContext(ctx, category, consent.MatchKey(phone)).Scan(&status, &state)
	return consent.ContactStatus(status), consent.State(state), mapErr("consent for", err)
}

// Consents returns the current consents of a contact, in category order.
func (s *DB) Consents(ctx context.Context, contactID int64) ([]consent.Consent, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT c.slug, s.state, s.since, s.source
		FROM consents s JOIN categories c ON c.id = s.category_id
		WHERE s.contact_id = ? ORDER BY c.position, c.id`, contactID)
	if err != nil {
		return nil, mapErr("consents", err)
	}
	defer rows.Close()
	var out []consent.Consent
	for rows.Next() {
		var c consent.Consent
		var state, since, source string
		if err := rows.Scan(&c.Category, &state, &since, &source); err != nil {
			return nil, mapErr("consents", err)
		}
		c.State, c.Since, c.Source = consent.State(state), parseTS(since), consent.Source(source)
		out = append(out, c)
	}
	return out, mapErr("consents", rows.Err())
}

// newContactID is the id of a new contact. It is given, not left to SQLite:
// contacts.id has no AUTOINCREMENT, so SQLite would hand an erased contact's
// id (when it was the highest) to the next one, and the erased person's
// events, which keep their contact_id, would seem to be the new contact's.
const newContactID = `max(coalesce((SELECT max(id) FROM contacts), 0), coalesce((SELECT max(contact_id) FROM events), 0)) + 1`

// ensureWording stores w unless a wording with its hash exists, numbering
// it as the next version of its kind and language. Nearly every call finds
// it stored (every form post records the form's wording), so it looks by
// hash first: the insert's max(version) reads every wording of the kind.
func (s *DB) ensureWording(ctx context.Context, tx *sql.Tx, w consent.Wording, at time.Time) error {
	b := s.bulkOf(tx)
	if b != nil && b.wordings[w.Hash] {
		return nil
	}
	var known bool
	if err := s.queryRow(ctx, tx, `SELECT EXISTS (SELECT 1 FROM wordings WHERE hash = ?)`, w.Hash).Scan(&known); err != nil {
		return err
	}
	if b != nil {
		b.wordings[w.Hash] = true // stored now, if not before
	}
	if known {
		return nil
	}
	_, err := s.exec(ctx, tx, `
		INSERT INTO wordings (hash, kind, lang, version, text, created_at)
		SELECT ?, ?, ?, coalesce(max(version), 0) + 1, ?, ?
		FROM wordings WHERE kind = ? AND lang = ?
		ON CONFLICT (hash) DO NOTHING`,
		w.Hash, w.Kind, w.Lang, w.Text, ts(at), w.Kind, w.Lang)
	return err
}

// Wording returns the wording with the given hash.
func (s *DB) Wording(ctx context.Context, hash string) (consent.Wording, error) {
	var w consent.Wording
	err := s.r.QueryRowContext(ctx, `SELECT hash, kind, lang, version, text FROM wordings WHERE hash = ?`, hash).
		Scan(&w.Hash, &w.Kind, &w.Lang, &w.Version, &w.Text)
	return w, mapErr("wording", err)
}

// insertEvent appends e to the ledger: it takes the next id and links the
// event to the last one by hash (see ledger.go), all in tx.
func (s *DB) insertEvent(ctx context.Context, tx *sql.Tx, e consent.Event, now time.Time) (int64, error) {
	ev := e.Evidence
	escapeEvidence(&ev) // NUL and invalid UTF-8 are stored escaped (escape.go)
	detail := "{}"
	if len(ev.Detail) > 0 {
		b, err := json.Marshal(ev.Detail)
		if err != nil {
			return 0, err
		}
		detail = string(b)
	}
	r := ledgerRow{contactID: e.ContactID, typ: string(e.Type), category: e.Category, state: string(e.State),
		source: string(ev.Source), occurredAt: ts(e.OccurredAt), recordedAt: ts(now),
		wordingHash: sql.NullString{String: e.WordingHash, Valid: e.WordingHash != ""}, lang: e.Lang,
		ip: ev.IP, userAgent: ev.UserAgent, pageURL: ev.PageURL, embedOrigin: ev.EmbedOrigin,
		entryPoint: ev.EntryPoint, formVersion: ev.FormVersion, messageID: ev.MessageID, messageText: ev.MessageText,
		actor: ev.Actor, detail: detail}
	if b := s.bulkOf(tx); b != nil { // written by flush (bulk.go)
		if err := b.chain(ctx, s, tx, &r); err != nil {
			return 0, fmt.Errorf("insert event: %w", err)
		}
		b.events = append(b.events, r)
		return r.id, nil
	}
	if err := s.chain(ctx, tx, &r); err != nil {
		return 0, fmt.Errorf("insert event: %w", err)
	}
	_, err := s.exec(ctx, tx, `
		INSERT INTO events (id, contact_id, type, category, state, source, occurred_at, recorded_at, wording_hash,
		    lang, ip, user_agent, page_url, embed_origin, entry_point, form_version, message_id, message_text, actor, detail,
		    content_hash, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.id, r.contactID, r.typ, r.category, r.state, r.source, r.occurredAt, r.recordedAt, r.wordingHash,
		r.lang, r.ip, r.userAgent, r.pageURL, r.embedOrigin, r.entryPoint, r.formVersion,
		r.messageID, r.messageText, r.actor, r.detail, r.contentHash, r.prevHash, r.hash)
	if err != nil {
		return 0, fmt.Errorf("insert event: %w", err)
	}
	return r.id, nil
}

func (s *DB) setConsent(ctx context.Context, tx *sql.Tx, contactID, categoryID int64, state consent.State, source consent.Source, eventID int64, at time.Time) error {
	if b := s.bulkOf(tx); b != nil { // written by flush (bulk.go)
		b.setConsent(bulkConsent{contactID: contactID, categoryID: categoryID, eventID: eventID,
			state: string(state), since: ts(at), source: string(source)})
		return nil
	}
	_, err := s.exec(ctx, tx, `
		INSERT INTO consents (contact_id, category_id, state, since, source, event_id) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (contact_id, category_id) DO UPDATE SET
		    state = excluded.state, since = excluded.since, source = excluded.source, event_id = excluded.event_id`,
		contactID, categoryID, state, ts(at), source, eventID)
	return err
}

// Events returns the events of a contact in the order they were recorded.
func (s *DB) Events(ctx context.Context, contactID int64) ([]consent.Event, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, contact_id, type, category, state, source, occurred_at, recorded_at, coalesce(wording_hash, ''),
		       lang, ip, user_agent, page_url, embed_origin, entry_point, form_version, message_id, message_text, actor, detail
		FROM events WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, mapErr("events", err)
	}
	defer rows.Close()
	var out []consent.Event
	for rows.Next() {
		var e consent.Event
		var typ, state, source, occurred, recorded, detail string
		ev := &e.Evidence
		if err := rows.Scan(&e.ID, &e.ContactID, &typ, &e.Category, &state, &source, &occurred, &recorded,
			&e.WordingHash, &e.Lang, &ev.IP, &ev.UserAgent, &ev.PageURL, &ev.EmbedOrigin, &ev.EntryPoint,
			&ev.FormVersion, &ev.MessageID, &ev.MessageText, &ev.Actor, &detail); err != nil {
			return nil, mapErr("events", err)
		}
		if detail != "{}" && detail != "" {
			if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
				return nil, mapErr("events", err)
			}
		}
		e.Type, e.State, ev.Source = consent.EventType(typ), consent.State(state), consent.Source(source)
		e.OccurredAt, e.RecordedAt = parseTS(occurred), parseTS(recorded)
		out = append(out, e)
	}
	return out, mapErr("events", rows.Err())
}

func (s *DB) enqueue(ctx context.Context, tx *sql.Tx, contactID int64, purpose string, m consent.Message, at time.Time) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if b := s.bulkOf(tx); b != nil { // written by flush (bulk.go)
		b.outbox = append(b.outbox, bulkOutbox{contactID: contactID, purpose: purpose, body: string(body), at: ts(at)})
		return nil
	}
	_, err = s.exec(ctx, tx, `
		INSERT INTO outbox (contact_id, purpose, message, status, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, 'queued', ?, ?, ?)`, contactID, purpose, string(body), ts(at), ts(at), ts(at))
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// CloseWindow ends the contact's 24-hour window at at, when it was open
// longer.
func (s *DB) CloseWindow(ctx context.Context, contactID int64, at time.Time) error {
	_, err := s.execW(ctx, `UPDATE contacts SET window_open_until = ?, updated_at = ?
		WHERE id = ? AND window_open_until > ?`, ts(at), ts(at), contactID, ts(at))
	return mapErr("close window", err)
}

// MarkUndeliverable sets the contact undeliverable and records why.
func (s *DB) MarkUndeliverable(ctx context.Context, contactID int64, code int, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE contacts SET status = 'undeliverable', updated_at = ?
			WHERE id = ? AND status <> 'undeliverable'`, ts(now), contactID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already undeliverable, or gone
		}
		_, err = s.insertEvent(ctx, tx, consent.Event{ContactID: contactID, Type: consent.EventUndeliverable,
			OccurredAt: now, Evidence: consent.Evidence{Source: consent.SourceProvider, Actor: fmt.Sprintf("error %d", code)}}, now)
		return err
	})
	return mapErr("mark undeliverable", err)
}
