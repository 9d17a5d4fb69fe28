package store

import (
	"context"
	"database/sql"
	"errors"
	"math/bits"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// Bulk recording, for the CSV import: many rows in one transaction, decided
// in memory and written with multi-row statements.
//
// The rows still go through the one record step (record.go): consent.Decide
// (via DecideReport) makes every choice, and record writes each plan. What
// changes is where record's writes go while a bulk is attached to the
// transaction: the events (the hash chain computed in memory from the head
// read once), the consent states and the new contacts are collected and
// written by flush, a few hundred rows per INSERT, with statements prepared
// once. Reads that would otherwise be one query per row (the contact of a
// number, its consents, the erasure of its number) are made for the whole
// batch up front (importStates), and the decisions of earlier rows of the
// batch are kept in memory for the later ones.
//
// The SQL is portable: ? placeholders, ON CONFLICT, no engine-specific
// functions.

// Rows per multi-row statement. An events row has 23 columns, so a full
// statement binds 2,300 values, well under SQLite's 32,766 and
// PostgreSQL's 65,535.
const (
	bulkEventRows   = 100
	bulkConsentRows = 300
	bulkContactRows = 250
	bulkOutboxRows  = 250
	bulkLookupKeys  = 500
)

// bulk collects the writes of record for one transaction.
type bulk struct {
	headRead bool
	lastID   int64  // the chain's head: the last event's id,
	lastHash string // and hash, buffered or stored
	canon    *canon
	cats     map[string]int64
	nextID   int64 // the next new contact's id (0: not read yet)
	contacts []bulkContact
	events   []ledgerRow
	consents []bulkConsent
	consentK map[[2]int64]int // contact, category → index in consents
	outbox   []bulkOutbox
	wordings map[string]bool // hashes known to be stored (ensureWording)
}

type bulkOutbox struct {
	contactID         int64
	purpose, body, at string
}

type bulkContact struct {
	id                          int64
	phone, waID, matchKey, lang string
	at                          string
}

type bulkConsent struct {
	contactID, categoryID, eventID int64
	state, since, source           string
}

// beginBulk attaches a bulk to tx: until endBulk, record's events, consent
// states and new contacts in tx are collected for flush.
func (s *DB) beginBulk(tx *sql.Tx) *bulk {
	b := &bulk{canon: newCanon(), cats: map[string]int64{}, consentK: map[[2]int64]int{}, wordings: map[string]bool{}}
	s.bulks.Store(tx, b)
	return b
}

func (s *DB) endBulk(tx *sql.Tx) { s.bulks.Delete(tx) }

// bulkOf returns the bulk attached to tx, or nil.
func (s *DB) bulkOf(tx *sql.Tx) *bulk {
	if b, ok := s.bulks.Load(tx); ok {
		return b.(*bulk)
	}
	return nil
}

// chain is (*DB).chain from the head kept in memory.
func (b *bulk) chain(ctx context.Context, s *DB, tx *sql.Tx, r *ledgerRow) error {
	if !b.headRead {
		b.lastHash = zeroHash
		err := s.queryRow(ctx, tx, `SELECT id, hash FROM events ORDER BY id DESC LIMIT 1`).Scan(&b.lastID, &b.lastHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		b.headRead = true
	}
	r.id, r.prevHash = b.lastID+1, b.lastHash
	r.contentHash = b.canon.contentHash(r)
	r.hash = b.canon.eventHash(r)
	b.lastID, b.lastHash = r.id, r.hash
	return nil
}

// setConsent keeps the last state set for each contact and category: one
// row per key in the multi-row upsert (PostgreSQL refuses to update a row
// twice in one statement).
func (b *bulk) setConsent(c bulkConsent) {
	k := [2]int64{c.contactID, c.categoryID}
	if i, ok := b.consentK[k]; ok {
		b.consents[i] = c
		return
	}
	b.consentK[k] = len(b.consents)
	b.consents = append(b.consents, c)
}

// categoryID returns the id of the category slug, from the cache of tx's
// bulk or memo when it has one.
func (s *DB) categoryID(ctx context.Context, tx *sql.Tx, slug string) (int64, error) {
	var cats map[string]int64
	if b := s.bulkOf(tx); b != nil {
		cats = b.cats
	} else if m := s.memoOf(tx); m != nil {
		cats = m.cats
	}
	if id, ok := cats[slug]; ok {
		return id, nil
	}
	var id int64
	if err := s.queryRow(ctx, tx, `SELECT id FROM categories WHERE slug = ?`, slug).Scan(&id); err != nil {
		return 0, err
	}
	if cats != nil {
		cats[slug] = id
	}
	return id, nil
}

// newContact collects a new active contact and returns its id: the next
// after every id a contact or an event has used (as newContactID).
func (b *bulk) newContact(ctx context.Context, s *DB, tx *sql.Tx, phone, waID, lang string, at time.Time) (int64, error) {
	if b.nextID == 0 {
		var contacts, events int64
		if err := s.queryRow(ctx, tx, `SELECT coalesce((SELECT max(id) FROM contacts), 0),
			coalesce((SELECT max(contact_id) FROM events), 0)`).Scan(&contacts, &events); err != nil {
			return 0, err
		}
		b.nextID = contacts + 1
		if events >= contacts {
			b.nextID = events + 1
		}
	}
	id := b.nextID
	b.nextID++
	b.contacts = append(b.contacts, bulkContact{id: id, phone: phone, waID: waID, matchKey: consent.MatchKey(phone), lang: lang, at: ts(at)})
	return id, nil
}

// flushFor writes what the bulk of tx holds, if it holds anything of
// contactID: reads of the contact's consents or events must see it.
func (s *DB) flushFor(ctx context.Context, tx *sql.Tx, contactID int64) error {
	b := s.bulkOf(tx)
	if b == nil {
		return nil
	}
	for _, c := range b.consents {
		if c.contactID == contactID {
			return s.flush(ctx, tx)
		}
	}
	for _, e := range b.events {
		if e.contactID == contactID {
			return s.flush(ctx, tx)
		}
	}
	for _, o := range b.outbox {
		if o.contactID == contactID {
			return s.flush(ctx, tx)
		}
	}
	return nil
}

// withoutBulk writes what the bulk of tx holds, then runs f with the bulk
// detached, so that f's statements (an erasure, a change of number) see
// every write before them and write their own at once. The chain's head is
// read again after f, which may have added events.
func (s *DB) withoutBulk(ctx context.Context, tx *sql.Tx, f func() error) error {
	b := s.bulkOf(tx)
	if b == nil {
		return f()
	}
	if err := s.flush(ctx, tx); err != nil {
		return err
	}
	s.endBulk(tx)
	defer s.bulks.Store(tx, b)
	b.headRead = false
	return f()
}

// flush writes what the bulk collected, in an order the foreign keys
// accept: contacts, events, consent states, outgoing messages.
func (s *DB) flush(ctx context.Context, tx *sql.Tx) error {
	b := s.bulkOf(tx)
	if b == nil {
		return nil
	}
	if err := insertBulk(ctx, s, tx, `INSERT INTO contacts (id, phone, wa_id, match_key, language, status, created_at, updated_at) VALUES `,
		`(?, ?, ?, ?, ?, 'active', ?, ?)`, "", bulkContactRows, b.contacts, func(c bulkContact, args []any) []any {
			return append(args, c.id, c.phone, c.waID, c.matchKey, c.lang, c.at, c.at)
		}); err != nil {
		return err
	}
	if err := insertBulk(ctx, s, tx, `INSERT INTO events (id, contact_id, type, category, state, source, occurred_at, recorded_at, wording_hash,
		    lang, ip, user_agent, page_url, embed_origin, entry_point, form_version, message_id, message_text, actor, detail,
		    content_hash, prev_hash, hash) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, "",
		bulkEventRows, b.events, func(r ledgerRow, args []any) []any {
			return append(args, r.id, r.contactID, r.typ, r.category, r.state, r.source, r.occurredAt, r.recordedAt, r.wordingHash,
				r.lang, r.ip, r.userAgent, r.pageURL, r.embedOrigin, r.entryPoint, r.formVersion,
				r.messageID, r.messageText, r.actor, r.detail, r.contentHash, r.prevHash, r.hash)
		}); err != nil {
		return err
	}
	if err := insertBulk(ctx, s, tx, `INSERT INTO consents (contact_id, category_id, state, since, source, event_id) VALUES `,
		`(?, ?, ?, ?, ?, ?)`, ` ON CONFLICT (contact_id, category_id) DO UPDATE SET
		    state = excluded.state, since = excluded.since, source = excluded.source, event_id = excluded.event_id`,
		bulkConsentRows, b.consents, func(c bulkConsent, args []any) []any {
			return append(args, c.contactID, c.categoryID, c.state, c.since, c.source, c.eventID)
		}); err != nil {
		return err
	}
	if err := insertBulk(ctx, s, tx, `INSERT INTO outbox (contact_id, purpose, message, status, next_attempt_at, created_at, updated_at) VALUES `,
		`(?, ?, ?, 'queued', ?, ?, ?)`, "", bulkOutboxRows, b.outbox, func(o bulkOutbox, args []any) []any {
			return append(args, o.contactID, o.purpose, o.body, o.at, o.at, o.at)
		}); err != nil {
		return err
	}
	b.contacts, b.events, b.consents, b.outbox = b.contacts[:0], b.events[:0], b.consents[:0], b.outbox[:0]
	clear(b.consentK)
	return nil
}

// insertBulk inserts rows, per statements of up to per rows: head, then
// one tuple a row, then tail. The rows short of a full statement go in
// statements of a power of two rows each, the largest that fits, so that
// every statement is one of a few sizes and is cached: parsing a statement
// of many rows costs more than running it.
func insertBulk[T any](ctx context.Context, s *DB, tx *sql.Tx, head, tuple, tail string, per int, rows []T, bind func(T, []any) []any) error {
	var args []any
	for len(rows) > 0 {
		n := min(per, len(rows))
		if n < per {
			n = 1 << (bits.Len(uint(n)) - 1) // the largest power of two ≤ n
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = bind(r, args)
		}
		q := head + strings.Repeat(tuple+", ", n-1) + tuple + tail
		if _, err := s.exec(ctx, tx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// importState is what deciding a reported consent needs to know of a
// number, kept up to date in memory as the rows of a batch apply.
type importState struct {
	id       int64 // the contact; 0 when there is none
	consents []consent.Consent
}

// apply notes transitions t, recorded at at from source, in st.
func (st *importState) apply(t []consent.Transition, at time.Time, source consent.Source) {
	since := parseTS(ts(at)) // as the database gives it back
	for _, tr := range t {
		c := consent.Consent{Category: tr.Category, State: tr.To, Since: since, Source: source}
		found := false
		for i := range st.consents {
			if st.consents[i].Category == tr.Category {
				st.consents[i], found = c, true
			}
		}
		if !found {
			st.consents = append(st.consents, c)
		}
	}
}

// importStates reads, for every number of ws, its contact and consents
// (by match key, consent.MatchKey, as contactIDByNumber), and for the
// numbers without a contact the last erasure (by phone hash): a few
// queries for the whole batch.
func (s *DB) importStates(ctx context.Context, tx *sql.Tx, ws []consent.ConsentWrite) (map[string]*importState, map[string]time.Time, error) {
	out := map[string]*importState{}
	var keys []any
	for _, w := range ws {
		k := consent.MatchKey(w.Phone)
		if _, ok := out[k]; !ok {
			out[k] = &importState{}
			keys = append(keys, k)
		}
	}
	byID := map[int64]*importState{}
	var ids []any
	err := lookupIn(ctx, s, tx, `SELECT id, match_key FROM contacts WHERE match_key IN `, ` ORDER BY match_key, id`, keys,
		func(rows *sql.Rows) error {
			var id int64
			var k string
			if err := rows.Scan(&id, &k); err != nil {
				return err
			}
			if st := out[k]; st != nil && st.id == 0 { // the first, as contactIDByNumber
				st.id = id
				byID[id] = st
				ids = append(ids, id)
			}
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	err = lookupIn(ctx, s, tx, `SELECT s.contact_id, c.slug, s.state, s.since, s.source
		FROM consents s JOIN categories c ON c.id = s.category_id WHERE s.contact_id IN `,
		` ORDER BY s.contact_id, c.position, c.id`, ids, func(rows *sql.Rows) error {
			var id int64
			var cs consent.Consent
			var state, since, source string
			if err := rows.Scan(&id, &cs.Category, &state, &since, &source); err != nil {
				return err
			}
			cs.State, cs.Since, cs.Source = consent.State(state), parseTS(since), consent.Source(source)
			if st := byID[id]; st != nil {
				st.consents = append(st.consents, cs)
			}
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	var hashes []any
	seen := map[string]bool{}
	for _, w := range ws {
		if out[consent.MatchKey(w.Phone)].id == 0 && !seen[w.PhoneHash] {
			seen[w.PhoneHash] = true
			hashes = append(hashes, w.PhoneHash)
		}
	}
	erased := map[string]time.Time{}
	err = lookupIn(ctx, s, tx, `SELECT phone_hash, max(erased_at) FROM tombstones WHERE phone_hash IN `,
		` GROUP BY phone_hash`, hashes, func(rows *sql.Rows) error {
			var h, at string
			if err := rows.Scan(&h, &at); err != nil {
				return err
			}
			erased[h] = parseTS(at)
			return nil
		})
	return out, erased, err
}

// lookupIn runs head (?, ?, …) tail for the values, bulkLookupKeys at a
// time, and calls fn for each row. The last group is padded with its first
// value, so that every query has the same text and one prepared statement
// serves them all; a value twice in an IN list changes nothing.
func lookupIn(ctx context.Context, s *DB, tx *sql.Tx, head, tail string, vals []any, fn func(*sql.Rows) error) error {
	if len(vals) == 0 {
		return nil
	}
	q := head + "(" + strings.Repeat("?, ", bulkLookupKeys-1) + "?)" + tail
	args := make([]any, bulkLookupKeys)
	for len(vals) > 0 {
		n := copy(args, vals)
		for i := n; i < len(args); i++ {
			args[i] = vals[0]
		}
		if err := s.query(ctx, tx, q, args, fn); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// query runs a (cached when possible) query in tx and calls fn for each row;
// with a nil tx, on the reader pool outside any transaction.
func (s *DB) query(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(*sql.Rows) error) error {
	if tx == nil {
		st, err := s.readStmt(ctx, q)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, args...)
		return eachRow(rows, err, fn)
	}
	if st := s.cacheOf(tx).get(q); st != nil {
		rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		return eachRow(rows, err, fn)
	}
	return scanRows(ctx, tx, q, args, fn)
}
