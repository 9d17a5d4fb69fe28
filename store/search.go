package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/optin/optin/consent"
)

// sortKeys maps a contact list order to its column and direction. Newest
// first is id order: ids are given in the inserting transaction that also
// sets created_at, so they count up in creation order, and walking the
// primary key (or the trigram index, whose rowids are contact ids) from a
// cursor needs no sort at all. The others have an index on (column, id),
// see migration 0007.
var sortKeys = map[consent.ContactSort]struct {
	col  string // "" for id order
	desc bool
}{
	consent.SortCreated: {"", true},
	consent.SortChanged: {"c.updated_at", true},
	consent.SortPhone:   {"c.phone", false},
}

// SearchContacts returns one page of the contact list: keyset pagination on
// (sort key, id) from the cursor, never OFFSET, so that a deep page costs
// what the first does. A search of MinSearchDigits or more digits goes
// through the trigram index contact_digits and matches anywhere in the
// number (or wa_id); a shorter one matches the start of the number.
func (s *DB) SearchContacts(ctx context.Context, q consent.ContactSearch) (consent.ContactPage, error) {
	query, args, back, err := contactQuery(q, s.pg)
	if err != nil {
		return consent.ContactPage{}, err
	}
	page := consent.ContactPage{Digits: q.Digits, Prefix: q.Digits != "" && len(q.Digits) < consent.MinSearchDigits}

	rows, err := s.r.QueryContext(ctx, query, args...)
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

// contactQuery builds the query of one contact list page and reports
// whether it walks backwards (a Before cursor: the rows come reversed).
func contactQuery(q consent.ContactSearch, pg bool) (string, []any, bool, error) {
	key, ok := sortKeys[q.Sort]
	if !ok {
		return "", nil, false, fmt.Errorf("store: search contacts: unknown sort %q", q.Sort)
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	from, idCol := `contacts c`, `c.id`
	// SQLite's CROSS JOIN keeps the tables in the order written (the
	// planner's choice of the outer loop); PostgreSQL plans a JOIN itself.
	crossJoin := "CROSS JOIN"
	if pg {
		crossJoin = "JOIN"
	}
	switch {
	case q.Exact != "":
		add(`(c.phone = ? OR c.wa_id = ?)`, q.Exact, strings.TrimPrefix(q.Exact, "+"))
	case len(q.Digits) >= consent.MinSearchDigits && pg:
		// PostgreSQL: the trigram index contacts_digits over the same text
		// (migrations_pg); digits hold no LIKE wildcards.
		add(`(substr(c.phone, 2) || ' ' || c.wa_id) LIKE ?`, "%"+q.Digits+"%")
	case len(q.Digits) >= consent.MinSearchDigits:
		// A phrase: the digits' trigrams must appear in sequence. The
		// index drives the join (CROSS JOIN keeps that order), so in id
		// order the query stops after a page of matches.
		from, idCol = `contact_digits f CROSS JOIN contacts c ON c.id = f.rowid`, `f.rowid`
		add(`f.digits MATCH ?`, `"`+q.Digits+`"`)
	case q.Digits != "":
		// "+12" ≤ phone < "+13": a range on the phone's unique index.
		lo := "+" + q.Digits
		hi := lo[:len(lo)-1] + string(lo[len(lo)-1]+1)
		add(`c.phone >= ? AND c.phone < ?`, lo, hi)
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
	createdRange := q.DateField == consent.DateCreated && (!q.From.IsZero() || !q.To.IsZero())
	if q.Sort == consent.SortCreated && idCol == "c.id" && q.Category != "" && q.State != "" && q.State != consent.NoConsent &&
		q.EntryPoint == "" && !createdRange {
		// One category in one state, newest first: walk that state's
		// entries of consents_category_state, which (the table being
		// WITHOUT ROWID) end in contact_id, so they come in id order and a
		// contact appears once. Walking the contacts instead would check
		// each for a consent, all of them when few or none match.
		from, idCol = `consents s `+crossJoin+` contacts c ON c.id = s.contact_id`, `s.contact_id`
		for i, c := range sub {
			add(c, subArgs[i])
		}
		sub = nil
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
	col := key.col
	if q.Sort == consent.SortCreated && createdRange && idCol == "c.id" {
		// A creation date range: walk the range on contacts_created instead
		// of every id newer than it. Since ids count up in creation order
		// this is the same order, and the cursor holds both keys.
		col = "c.created_at"
	}
	op, dir := ">", "ASC"
	if desc {
		op, dir = "<", "DESC"
	}
	if cur != nil && col == "" {
		add(idCol+` `+op+` ?`, cur.ID)
	} else if cur != nil {
		add(fmt.Sprintf(`(%s, %s) %s (?, ?)`, col, idCol, op), cur.Key, cur.ID)
	}
	query := `SELECT c.id, c.phone, c.wa_id, c.language, c.status, c.window_open_until, c.created_at, c.entry_point,
		c.entry_valid, c.terms_expires_at, c.updated_at FROM ` + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if col == "" {
		query += fmt.Sprintf(` ORDER BY %s %s LIMIT ?`, idCol, dir)
	} else {
		query += fmt.Sprintf(` ORDER BY %s %s, %s %s LIMIT ?`, col, dir, idCol, dir)
	}
	args = append(args, q.Limit+1)
	return query, args, back, nil
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
	res, err := s.r.QueryContext(ctx, `
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
