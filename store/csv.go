package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/optin/optin/consent"
)

// ExportContacts streams every contact with each of its consents (one row
// per contact and category; one row with no consent for a contact that has
// none), in contact id and category order. Only the current row is in
// memory; the single SELECT reads one snapshot of the database.
func (s *DB) ExportContacts(ctx context.Context, f consent.ExportFilter, fn func(consent.ExportRow) error) error {
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
