package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// The ledger: the events table is a hash chain, so that a changed, removed,
// reordered or inserted event is detected by walking it (VerifyLedger).
//
// # Canonical form
//
// Both hashes are lower-case hex SHA-256 of a canonical form: a byte string
// made of fields, each one tag byte and then
//
//	's' (0x73)  TEXT: its length in bytes, 8 bytes big-endian unsigned,
//	            then its bytes exactly as stored (no Unicode normalisation:
//	            SQLite keeps bytes, and so does the hash)
//	'i' (0x69)  INTEGER: 8 bytes big-endian two's complement
//	'n' (0x6E)  NULL (only wording_hash may be NULL): nothing follows
//
// The first field is a label naming the form and its version. Reading left
// to right, each tag and length says exactly where its field ends, so a
// canonical form decodes into one sequence of typed values and no other: no
// value can contain a forged separator, "" differs from NULL and "1" from 1,
// and moving bytes from one field to its neighbour changes a length. The
// label keeps a content form from passing as an event form and a later
// version from colliding with this one. Unlike JSON, nothing is escaped or
// replaced (encoding/json turns invalid UTF-8 into U+FFFD, which would give
// two different stored values one hash).
//
//	content_hash = SHA-256( s"optin event content v1",
//	    s ip, s user_agent, s page_url, s embed_origin,
//	    s message_id, s message_text, s actor, s detail )
//
//	hash = SHA-256( s"optin event v1", s prev_hash,
//	    i id, i contact_id, s type, s category, s state, s source,
//	    s occurred_at, s recorded_at, s-or-n wording_hash, s lang,
//	    s entry_point, s form_version, s content_hash )
//
// prev_hash is the hash of the event with the next lower id, 64 zeros for
// the first event; ids count up from 1 without gaps (insertEvent picks
// max(id)+1 inside the write transaction, and events are never deleted).
//
// # Erasure
//
// The personal columns enter the chain only through content_hash. Erasure
// empties them (detail becomes '{}') and sets erased = 1, keeping
// content_hash, hash and position; the verifier then trusts the stored
// content_hash and checks instead that the columns are empty. The erased
// flag itself is outside the hash, so it is bound another way: only an
// event that held personal content is ever erased (the trigger refuses the
// rest), hence an erased event's content_hash is never that of empty
// content, and an event that is not erased must match its columns.
//
// # Limits
//
// The chain has no secret: someone able to write the database file can
// recompute every hash after a change. VerifyLedger reports such a rewrite
// only up to the last recorded check (ledger_checks holds the head it found
// intact); against a full rewrite, auditors keep a check's head hash outside
// optin (optin audit verify prints it) and compare.

// zeroHash is the prev_hash of the first event.
var zeroHash = strings.Repeat("0", 64)

// Labels of the canonical forms.
const (
	contentLabel = "optin event content v1"
	eventLabel   = "optin event v1"
)

// ledgerRow is one events row as stored, text exactly as in the database.
type ledgerRow struct {
	id, contactID                         int64
	typ, category, state, source          string
	occurredAt, recordedAt                string
	wordingHash                           sql.NullString
	lang                                  string
	ip, userAgent, pageURL, embedOrigin   string
	entryPoint, formVersion               string
	messageID, messageText, actor, detail string
	contentHash, prevHash, hash           string
	erased                                int64
}

// ledgerColumns lists every column of events, in ledgerRow.scan's order.
const ledgerColumns = `id, contact_id, type, category, state, source, occurred_at, recorded_at, wording_hash, lang,
	ip, user_agent, page_url, embed_origin, entry_point, form_version, message_id, message_text, actor, detail,
	content_hash, prev_hash, hash, erased`

func (r *ledgerRow) scan(rows *sql.Rows) error {
	return rows.Scan(&r.id, &r.contactID, &r.typ, &r.category, &r.state, &r.source, &r.occurredAt, &r.recordedAt,
		&r.wordingHash, &r.lang, &r.ip, &r.userAgent, &r.pageURL, &r.embedOrigin, &r.entryPoint, &r.formVersion,
		&r.messageID, &r.messageText, &r.actor, &r.detail, &r.contentHash, &r.prevHash, &r.hash, &r.erased)
}

// blank reports whether the row holds no personal content.
func (r *ledgerRow) blank() bool {
	return r.ip == "" && r.userAgent == "" && r.pageURL == "" && r.embedOrigin == "" &&
		r.messageID == "" && r.messageText == "" && r.actor == "" && r.detail == "{}"
}

// canon builds canonical forms in a buffer it reuses, and hashes them.
type canon struct {
	buf []byte
}

func newCanon() *canon { return &canon{buf: make([]byte, 0, 1024)} }

func (c *canon) begin(label string) {
	c.buf = c.buf[:0]
	c.str(label)
}

func (c *canon) str(s string) {
	c.buf = append(c.buf, 's')
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(len(s)))
	c.buf = append(c.buf, s...)
}

func (c *canon) int(v int64) {
	c.buf = append(c.buf, 'i')
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(v))
}

func (c *canon) nullStr(s sql.NullString) {
	if !s.Valid {
		c.buf = append(c.buf, 'n')
		return
	}
	c.str(s.String)
}

// sum is the lower-case hex SHA-256 of the canonical form built.
func (c *canon) sum() string {
	h := sha256.Sum256(c.buf)
	return hex.EncodeToString(h[:])
}

// contentHash is the hash of r's personal columns.
func (c *canon) contentHash(r *ledgerRow) string {
	c.begin(contentLabel)
	for _, s := range [...]string{r.ip, r.userAgent, r.pageURL, r.embedOrigin, r.messageID, r.messageText, r.actor, r.detail} {
		c.str(s)
	}
	return c.sum()
}

// eventHash is the hash of r's prev_hash and non-personal columns,
// content_hash included.
func (c *canon) eventHash(r *ledgerRow) string {
	c.begin(eventLabel)
	c.str(r.prevHash)
	c.int(r.id)
	c.int(r.contactID)
	for _, s := range [...]string{r.typ, r.category, r.state, r.source, r.occurredAt, r.recordedAt} {
		c.str(s)
	}
	c.nullStr(r.wordingHash)
	for _, s := range [...]string{r.lang, r.entryPoint, r.formVersion, r.contentHash} {
		c.str(s)
	}
	return c.sum()
}

// blankContentHash is the content_hash of an event without personal content.
var blankContentHash = newCanon().contentHash(&ledgerRow{detail: "{}"})

// chain gives r, about to be inserted, its id and hashes: the next id after
// the last event's and that event's hash as prev_hash. It must run in the
// inserting write transaction (BEGIN IMMEDIATE, see Open), so that no other
// insert takes the same place in the chain.
func (s *DB) chain(ctx context.Context, tx *sql.Tx, r *ledgerRow) error {
	var lastID int64
	prev := zeroHash
	err := s.queryRow(ctx, tx, `SELECT id, hash FROM events ORDER BY id DESC LIMIT 1`).Scan(&lastID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger head: %w", err)
	}
	c := newCanon()
	r.id, r.prevHash = lastID+1, prev
	r.contentHash = c.contentHash(r)
	r.hash = c.eventHash(r)
	return nil
}

// VerifyLedger walks every event in id order, in constant memory, and
// reports the first that does not match: an id missing from the sequence,
// a prev_hash that is not the previous event's hash, personal columns that
// do not match content_hash (or, for an erased event, are not empty), or
// columns that do not match hash. An event the last intact check (as
// recorded in ledger_checks) saw with another hash, or no longer there, is
// reported too. The result is recorded in ledger_checks at now.
//
// A failed verification is a report, not an error: the error is for a
// database that could not be read.
func (s *DB) VerifyLedger(ctx context.Context, now time.Time) (consent.LedgerReport, error) {
	var anchor consent.LedgerCheck
	var anchorAt string
	err := s.r.QueryRowContext(ctx, `SELECT at, head_id, head_hash FROM ledger_checks
		WHERE first_bad = 0 AND head_id > 0 ORDER BY id DESC LIMIT 1`).Scan(&anchorAt, &anchor.HeadID, &anchor.HeadHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return consent.LedgerReport{}, mapErr("verify ledger", err)
	}
	anchor.At = parseTS(anchorAt)

	rep, err := s.walkLedger(ctx, s.r, anchor)
	if err != nil {
		return consent.LedgerReport{}, mapErr("verify ledger", err)
	}
	_, err = s.execW(ctx, `INSERT INTO ledger_checks (at, verified, first_bad, reason, head_id, head_hash)
		VALUES (?, ?, ?, ?, ?, ?)`, ts(now), rep.Verified, rep.FirstBad, rep.Reason, rep.HeadID, rep.HeadHash)
	if err != nil {
		return consent.LedgerReport{}, mapErr("record ledger check", err)
	}
	return rep, nil
}

// walkLedger streams the events through q (the reader pool, or a
// transaction that wrote them: CopyTo), one row in memory at a time. A
// single SELECT reads one snapshot of the WAL database, so events appended
// meanwhile are either wholly in the walk or not at all.
func (s *DB) walkLedger(ctx context.Context, q querier, anchor consent.LedgerCheck) (consent.LedgerReport, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+ledgerColumns+` FROM events ORDER BY id`)
	if err != nil {
		return consent.LedgerReport{}, err
	}
	defer rows.Close()
	var rep consent.LedgerReport
	c := newCanon()
	var r ledgerRow
	prev, want := zeroHash, int64(1)
	for rows.Next() {
		if err := r.scan(rows); err != nil {
			return consent.LedgerReport{}, err
		}
		if bad, reason := c.check(&r, want, prev); bad != 0 {
			rep.FirstBad, rep.Reason = bad, reason
			break
		}
		if r.id == anchor.HeadID && r.hash != anchor.HeadHash {
			rep.FirstBad = r.id
			rep.Reason = fmt.Sprintf("its hash is not the one the check of %s found: the chain was rewritten up to here",
				ts(anchor.At))
			break
		}
		rep.Verified++
		rep.HeadID, rep.HeadHash = r.id, r.hash
		prev, want = r.hash, r.id+1
	}
	if err := rows.Err(); err != nil {
		return consent.LedgerReport{}, err
	}
	if rep.FirstBad == 0 && anchor.HeadID >= want {
		rep.FirstBad = want
		rep.Reason = fmt.Sprintf("missing: the chain ends at event %d, but the check of %s found it up to event %d",
			want-1, ts(anchor.At), anchor.HeadID)
	}
	return rep, nil
}

// querier is what walkLedger reads through: *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// check verifies r at its place in the chain, after the event whose hash is
// prev and expecting the id want. It returns the first bad event's id (r's,
// or want when that is missing) and why, or 0.
func (c *canon) check(r *ledgerRow, want int64, prev string) (int64, string) {
	switch {
	case r.id > want:
		return want, fmt.Sprintf("missing: the chain goes on with event %d", r.id)
	case r.id < want:
		return r.id, fmt.Sprintf("out of sequence: ids count up from 1, expected %d", want)
	case r.prevHash != prev && want == 1:
		return r.id, "prev_hash of the first event is not 64 zeros"
	case r.prevHash != prev:
		return r.id, fmt.Sprintf("prev_hash is not the hash of event %d", want-1)
	}
	switch r.erased {
	case 0:
		if c.contentHash(r) != r.contentHash {
			return r.id, "its personal fields do not match content_hash"
		}
	case 1:
		if !r.blank() {
			return r.id, "erased, yet it holds personal content"
		}
		if r.contentHash == blankContentHash {
			return r.id, "marked erased, but it never held personal content"
		}
	default:
		return r.id, fmt.Sprintf("erased is %d, neither 0 nor 1", r.erased)
	}
	if c.eventHash(r) != r.hash {
		return r.id, "its fields do not match its hash"
	}
	return 0, ""
}

// LastLedgerCheck returns the most recent verification of the ledger, or
// ErrNotFound when there was none.
func (s *DB) LastLedgerCheck(ctx context.Context) (consent.LedgerCheck, error) {
	var c consent.LedgerCheck
	var at string
	err := s.r.QueryRowContext(ctx, `SELECT at, verified, first_bad, reason, head_id, head_hash
		FROM ledger_checks ORDER BY id DESC LIMIT 1`).
		Scan(&at, &c.Verified, &c.FirstBad, &c.Reason, &c.HeadID, &c.HeadHash)
	c.At = parseTS(at)
	return c, mapErr("last ledger check", err)
}

// eraseEventContent empties the personal columns of a contact's events and
// marks them erased, in the erasing transaction. Their hashes and places in
// the chain stay. Events without personal content have nothing to erase and
// are left as they are (the trigger events_no_update refuses to mark them).
func (s *DB) eraseEventContent(ctx context.Context, tx *sql.Tx, contactID int64) (int64, error) {
	res, err := s.exec(ctx, tx, `
		UPDATE events SET ip = '', user_agent = '', page_url = '', embed_origin = '',
		    message_id = '', message_text = '', actor = '', detail = '{}', erased = 1
		WHERE contact_id = ? AND erased = 0
		  AND NOT (ip = '' AND user_agent = '' AND page_url = '' AND embed_origin = ''
		           AND message_id = '' AND message_text = '' AND actor = '' AND detail = '{}')`, contactID)
	if err != nil {
		return 0, fmt.Errorf("erase event content: %w", err)
	}
	return res.RowsAffected()
}
