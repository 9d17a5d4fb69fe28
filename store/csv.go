package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/optin/optin/consent"
)

// ExportContacts streams every contact with each of its consents (one row
// per contact and category; one row with no consent for a contact that has
// none), in contact id and category order. Only the current row is in
// memory; the single SELECT reads one snapshot of the database.
func (s *DB) ExportContacts(ctx context.Context, f consent.ExportFilter, fn func(consent.ExportRow) error) error {
	// PostgreSQL can't read two result sets of one connection at once
	// (pgx reads a query's rows as they come): there, the join.
	if f.Category == "" && f.State == "" && !s.pg {
		return mapErr("export contacts", s.readTx(ctx, func(tx *sql.Tx) error { return exportAll(ctx, tx, fn) }))
	}
	q := `SELECT c.id, c.phone, c.wa_id, c.language, c.status, c.created_at,
	             coalesce(cat.slug, ''), coalesce(s.state, ''), coalesce(s.since, ''), coalesce(s.source, '')
	      FROM contacts c
	      LEFT JOIN consents s ON s.contact_id = c.id
	      LEFT JOIN categories cat ON cat.id = s.category_id`
	var where []string
	var args []any
	if f.Category != "" {
		where, args = append(where, `cat.slug = ?`), append(args, f.Category)
	}
	if f.State != "" {
		where, args = append(where, `s.state = ?`), append(args, string(f.State))
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY c.id, cat.position, cat.id`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return mapErr("export contacts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r consent.ExportRow
		var status, created, state, since, source string
		c := &r.Contact
		if err := rows.Scan(&c.ID, &c.Phone, &c.WaID, &c.Language, &status, &created,
			&r.Consent.Category, &state, &since, &source); err != nil {
			return mapErr("export contacts", err)
		}
		c.Status, c.CreatedAt = consent.ContactStatus(status), parseTS(created)
		r.Consent.State, r.Consent.Since, r.Consent.Source = consent.State(state), parseTS(since), consent.Source(source)
		if err := fn(r); err != nil {
			return err
		}
	}
	return mapErr("export contacts", rows.Err())
}

// exportAll streams every contact with its consents without a join: the
// contacts in id order and the consents in their primary key's order
// (contact, category) are two scans that read the tables front to back,
// merged here, where a join would search the consents once a contact. Both
// run in tx, one snapshot.
func exportAll(ctx context.Context, tx *sql.Tx, fn func(consent.ExportRow) error) error {
	type cat struct {
		slug     string
		position int64
	}
	cats := map[int64]cat{}
	rows, err := tx.QueryContext(ctx, `SELECT id, slug, position FROM categories`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var c cat
		if err := rows.Scan(&id, &c.slug, &c.position); err != nil {
			rows.Close()
			return err
		}
		cats[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	cs, err := tx.QueryContext(ctx, `SELECT contact_id, category_id, state, since, source FROM consents ORDER BY contact_id, category_id`)
	if err != nil {
		return err
	}
	defer cs.Close()
	cr, err := tx.QueryContext(ctx, `SELECT id, phone, wa_id, language, status, created_at FROM contacts ORDER BY id`)
	if err != nil {
		return err
	}
	defer cr.Close()
	type row struct {
		contactID, categoryID int64
		state, since, source  string
	}
	var next row
	have, done := false, false
	var mine []row
	for cr.Next() {
		var r consent.ExportRow
		var status, created string
		c := &r.Contact
		if err := cr.Scan(&c.ID, &c.Phone, &c.WaID, &c.Language, &status, &created); err != nil {
			return err
		}
		c.Status, c.CreatedAt = consent.ContactStatus(status), parseTS(created)
		mine = mine[:0]
		for !done {
			if !have {
				if !cs.Next() {
					done = true
					break
				}
				if err := cs.Scan(&next.contactID, &next.categoryID, &next.state, &next.since, &next.source); err != nil {
					return err
				}
				have = true
			}
			if next.contactID > c.ID {
				break
			}
			if next.contactID == c.ID {
				mine = append(mine, next)
			}
			have = false
		}
		if len(mine) == 0 {
			if err := fn(r); err != nil {
				return err
			}
			continue
		}
		slices.SortFunc(mine, func(a, b row) int { // the categories' order, as the console shows them
			if d := cmp.Compare(cats[a.categoryID].position, cats[b.categoryID].position); d != 0 {
				return d
			}
			return cmp.Compare(a.categoryID, b.categoryID)
		})
		for _, m := range mine {
			r.Consent = consent.Consent{Category: cats[m.categoryID].slug, State: consent.State(m.state),
				Since: parseTS(m.since), Source: consent.Source(m.source)}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	if err := cr.Err(); err != nil {
		return err
	}
	return cs.Err()
}

// ExportEvents streams the events in id order, one row in memory at a time.
func (s *DB) ExportEvents(ctx context.Context, f consent.ExportFilter, fn func(consent.LedgerEvent) error) error {
	q := ledgerEventQuery
	var where []string
	var args []any
	if f.Category != "" {
		where, args = append(where, `e.category = ?`), append(args, f.Category)
	}
	if f.State != "" {
		where, args = append(where, `e.state = ?`), append(args, string(f.State))
	}
	if f.Type != "" {
		where, args = append(where, `e.type = ?`), append(args, string(f.Type))
	}
	if !f.From.IsZero() {
		where, args = append(where, `e.occurred_at >= ?`), append(args, ts(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, `e.occurred_at < ?`), append(args, ts(f.To))
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY e.id`, args...)
	if err != nil {
		return mapErr("export events", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanLedgerEvent(rows)
		if err != nil {
			return mapErr("export events", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return mapErr("export events", rows.Err())
}

// CheckConsents tells, for each write, what RecordConsent would do with
// the database as it is, writing nothing. It reads on the reader pool, the
// state of all the writes' numbers at once (importStates), and decides
// each write on it with consent.DecideReport, as RecordConsent does; the
// writes don't see each other (consent.CheckImport follows the file).
func (s *DB) CheckConsents(ctx context.Context, ws []consent.ConsentWrite) ([]consent.RecordOutcome, error) {
	out := make([]consent.RecordOutcome, len(ws))
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		states, erased, err := s.importStates(ctx, tx, ws)
		if err != nil {
			return err
		}
		for i, w := range ws {
			st := states[consent.MatchKey(w.Phone)]
			t, err := consent.DecideReport(st.consents, st.id != 0, erased[w.PhoneHash], w)
			switch {
			case errors.Is(err, consent.ErrConflict):
				out[i].Err = err
			case err != nil:
				return err
			default:
				out[i].Changed = len(t) > 0
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr("check consents", err)
	}
	return out, nil
}

// readTx runs f in a transaction on the reader pool that is always rolled
// back. exec and queryRow inside it use the readers' statement cache.
func (s *DB) readTx(ctx context.Context, f func(*sql.Tx) error) error {
	if s.rst.hasPending() {
		s.rst.prepare(ctx, s.r)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	s.readTxs.Store(tx, true)
	defer s.readTxs.Delete(tx)
	defer tx.Rollback()
	return f(tx)
}
