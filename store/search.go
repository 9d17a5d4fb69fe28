package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/optin/optin/consent"
)

// sortKeys maps a contact list order to its column and direction. Each has
// an index on (column, id), see migration 0007.
var sortKeys = map[consent.ContactSort]struct {
	col  string
	desc bool
}{
	consent.SortCreated: {"c.created_at", true},
	consent.SortChanged: {"c.updated_at", true},
	consent.SortPhone:   {"c.phone", false},
}

// SearchContacts returns one page of the contact list: keyset pagination on
// (sort key, id) from the cursor, never OFFSET, so that a deep page costs
// what the first does. A search of MinSearchDigits or more digits goes
// through the trigram index contact_digits and matches anywhere in the
// number (or wa_id); a shorter one matches the start of the number.
func (s *DB) SearchContacts(ctx context.Context, q consent.ContactSearch) (consent.ContactPage, error) {
	key, ok := sortKeys[q.Sort]
	if !ok {
		return consent.ContactPage{}, fmt.Errorf("store: search contacts: unknown sort %q", q.Sort)
	}
	page := consent.ContactPage{Digits: q.Digits}
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	switch {
	case len(q.Digits) >= consent.MinSearchDigits:
		// A phrase of one token-run: the trigrams must appear in sequence.
		add(`c.id IN (SELECT rowid FROM contact_digits WHERE contact_digits MATCH ?)`, `"`+q.Digits+`"`)
	case q.Digits != "":
		// "+12" ≤ phone < "+13": a range on the phone's unique index.
		lo := "+" + q.Digits
		hi := lo[:len(lo)-1] + string(lo[len(lo)-1]+1)
		add(`c.phone >= ? AND c.phone < ?`, lo, hi)
		page.Prefix = true
	}
	if q.Status != "" {
		add(`c.status = ?`, string(q.Status))
	}
	if q.EntryPoint != "" {
		add(`c.entry_point = ?`, q.EntryPoint)
	}
	dateCol := "c.created_at"
	if q.DateField == consent.DateChanged {
		dateCol = "c.updated_at"
	}
	if !q.From.IsZero() {
		add(dateCol+` >= ?`, ts(q.From))
	}
	if !q.To.IsZero() {
		add(dateCol+` < ?`, ts(q.To))
	}
	var sub []string
	var subArgs []any
	if q.Category != "" {
		sub = append(sub, `s.category_id = (SELECT id FROM categories WHERE slug = ?)`)
		subArgs = append(subArgs, q.Category)
	}
	if q.State != "" && q.State != consent.NoConsent {
		sub = append(sub, `s.state = ?`)
		subArgs = append(subArgs, string(q.State))
	}
	if q.Source != "" {
		sub = append(sub, `s.source = ?`)
		subArgs = append(subArgs, string(q.Source))
	}
	if len(sub) > 0 || q.State == consent.NoConsent {
		cond := `EXISTS (SELECT 1 FROM consents s WHERE s.contact_id = c.id`
		if q.State == consent.NoConsent {
			cond = `NOT ` + cond
		}
		for _, c := range sub {
			cond += ` AND ` + c
		}
		add(cond+`)`, subArgs...)
	}

	// Walking backwards (Before) reverses the order and the comparison;
	// the rows are turned round again below.
	cur, back := q.After, false
	if q.Before != nil {
		cur, back = q.Before, true
	}
	desc := key.desc != back
	if cur != nil {
		op := ">"
		if desc {
			op = "<"
		}
		add(fmt.Sprintf(`(%s, c.id) %s (?, ?)`, key.col, op), cur.Key, cur.ID)
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	query := `SELECT c.id, c.phone, c.wa_id, c.language, c.status, c.window_open_until, c.created_at, c.entry_point,
		c.entry_valid, c.terms_expires_at, c.updated_at FROM contacts c`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += fmt.Sprintf(` ORDER BY %s %s, c.id %s LIMIT ?`, key.col, dir, dir)
	args = append(args, q.Limit+1)

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return consent.ContactPage{}, mapErr("search contacts", err)
	}
	defer rows.Close()
	var keys []string // each row's sort key exactly as stored, for the cursors
	for rows.Next() {
		var r consent.ContactRow
		var updated string
		c := &r.Contact
		var status, window, created, expires string
		if err := rows.Scan(&c.ID, &c.Phone, &c.WaID, &c.Language, &status, &window, &created, &c.EntryPoint,
			&c.EntryValid, &expires, &updated); err != nil {
			return consent.ContactPage{}, mapErr("search contacts", err)
		}
		c.Status = consent.ContactStatus(status)
		c.WindowOpenUntil, c.CreatedAt, c.TermsExpiresAt = parseTS(window), parseTS(created), parseTS(expires)
		r.UpdatedAt = parseTS(updated)
		page.Rows = append(page.Rows, r)
		switch q.Sort {
		case consent.SortCreated:
			keys = append(keys, created)
		case consent.SortChanged:
			keys = append(keys, updated)
		default:
			keys = append(keys, c.Phone)
		}
	}
	if err := rows.Err(); err != nil {
		return consent.ContactPage{}, mapErr("search contacts", err)
	}
	more := len(page.Rows) > q.Limit
	if more {
		page.Rows, keys = page.Rows[:q.Limit], keys[:q.Limit]
	}
	if back {
		slices.Reverse(page.Rows)
		slices.Reverse(keys)
	}
	if n := len(page.Rows); n > 0 {
		hasPrev, hasNext := q.After != nil, more
		if back {
			hasPrev, hasNext = more, true
		}
		if hasPrev {
			page.Prev = consent.ContactCursor{Sort: q.Sort, Key: keys[0], ID: page.Rows[0].Contact.ID}.Encode()
		}
		if hasNext {
			page.Next = consent.ContactCursor{Sort: q.Sort, Key: keys[n-1], ID: page.Rows[n-1].Contact.ID}.Encode()
		}
	}
	if err := s.attachConsents(ctx, page.Rows); err != nil {
		return consent.ContactPage{}, err
	}
	return page, nil
}

// attachConsents loads the consents of a page of contacts in one query.
func (s *DB) attachConsents(ctx context.Context, rows []consent.ContactRow) error {
	if len(rows) == 0 {
		return nil
	}
	at := make(map[int64]int, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		at[r.Contact.ID] = i
		ids[i] = fmt.Sprint(r.Contact.ID)
	}
	// The ids are integers read from the database, not input.
	res, err := s.db.QueryContext(ctx, `
		SELECT s.contact_id, c.slug, s.state, s.since, s.source
		FROM consents s JOIN categories c ON c.id = s.category_id
		WHERE s.contact_id IN (`+strings.Join(ids, ",")+`) ORDER BY s.contact_id, c.position, c.id`)
	if err != nil {
		return mapErr("search contacts: consents", err)
	}
	defer res.Close()
	for res.Next() {
		var id int64
		var c consent.Consent
		var state, since, source string
		if err := res.Scan(&id, &c.Category, &state, &since, &source); err != nil {
			return mapErr("search contacts: consents", err)
		}
		c.State, c.Since, c.Source = consent.State(state), parseTS(since), consent.Source(source)
		i := at[id]
		rows[i].Consents = append(rows[i].Consents, c)
	}
	return mapErr("search contacts: consents", res.Err())
}
