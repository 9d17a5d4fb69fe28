package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// One person, one contact. Before migration 0012 a person who wrote in from
// their wa_id (5491112345680) and later typed their number in the form
// (+54 11 1234-5680) became two contacts; match_key is the same for both.
// unifyContacts merges such pairs into the older contact and then makes
// match_key unique, once: a database that has the unique index is done.
//
// The merge is recorded as a "merged" event on the kept contact. SQLite
// can't change the CHECK of an existing table in SQL short of rebuilding it,
// and events is append-only and hash-chained, so the type is added to the
// CHECK's list in place, as SQLite's ALTER TABLE documentation describes
// for changes that existing rows already satisfy (writable_schema, then a
// new schema_version so every connection reloads the schema).

const uniqueMatchKey = "contacts_match_key_unique"

func (s *DB) unifyContacts(ctx context.Context) error {
	if s.pg {
		return nil // PostgreSQL's schema has had the unique index from the start
	}
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?`,
		uniqueMatchKey).Scan(&n); err != nil {
		return fmt.Errorf("store: unify contacts: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.allowMergedEvents(ctx); err != nil {
		return fmt.Errorf("store: unify contacts: %w", err)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT group_concat(id) FROM contacts GROUP BY match_key HAVING count(*) > 1`)
		if err != nil {
			return err
		}
		var groups [][]int64
		for rows.Next() {
			var list string
			if err := rows.Scan(&list); err != nil {
				rows.Close()
				return err
			}
			var ids []int64
			for _, f := range strings.Split(list, ",") {
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			groups = append(groups, ids)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := time.Now()
		for _, ids := range groups {
			keep := ids[0]
			for _, id := range ids[1:] {
				keep = min(keep, id)
			}
			for _, id := range ids {
				if id != keep {
					if err := s.mergeContact(ctx, tx, keep, id, now); err != nil {
						return fmt.Errorf("merge contact %d into %d: %w", id, keep, err)
					}
				}
			}
		}
		_, err = tx.ExecContext(ctx, `CREATE UNIQUE INDEX `+uniqueMatchKey+` ON contacts (match_key)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unify contacts: %w", err)
	}
	return nil
}

// mergeContact moves contact from into into: each category takes the later
// of the two states, messages, tokens and inbound messages follow, and a
// merged event names the contact that was merged. from's own events stay
// in the ledger under its id.
func (s *DB) mergeContact(ctx context.Context, tx *sql.Tx, into, from int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO consents (contact_id, category_id, state, since, source, event_id)
		SELECT ?, category_id, state, since, source, event_id FROM consents WHERE contact_id = ? AND true
		ON CONFLICT (contact_id, category_id) DO UPDATE SET
		    state = excluded.state, since = excluded.since, source = excluded.source, event_id = excluded.event_id
		WHERE excluded.since > consents.since`, into, from); err != nil {
		return err
	}
	for _, table := range []string{"outbox", "inbound", "forwards", "preference_tokens", "api_idempotency"} {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET contact_id = ? WHERE contact_id = ?`, into, from); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	// The kept contact speaks the language and keeps the windows and the
	// wa_id of whichever wrote in last.
	if _, err := tx.ExecContext(ctx, `
		UPDATE contacts SET
		    window_open_until = max(window_open_until, (SELECT window_open_until FROM contacts WHERE id = ?)),
		    wa_id = CASE WHEN (SELECT window_open_until FROM contacts WHERE id = ?) > window_open_until
		                 THEN (SELECT wa_id FROM contacts WHERE id = ?) ELSE wa_id END,
		    status = CASE WHEN status = 'pending_terms' THEN (SELECT status FROM contacts WHERE id = ?) ELSE status END,
		    updated_at = ?
		WHERE id = ?`, from, from, from, from, ts(now), into); err != nil {
		return err
	}
	if _, err := s.insertEvent(ctx, tx, consent.Event{ContactID: into, Type: consent.EventMerged, OccurredAt: now,
		Evidence: consent.Evidence{Source: consent.SourceProvider, Detail: map[string]string{
			"merged_contact": strconv.FormatInt(from, 10), "reason": "same WhatsApp number"}}}, now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, from)
	return err
}

// allowMergedEvents adds "merged" to the event types events' CHECK allows.
func (s *DB) allowMergedEvents(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var def string
		if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events'`).Scan(&def); err != nil {
			return err
		}
		if strings.Contains(def, "'merged'") {
			return nil
		}
		const from, to = `'number_changed')`, `'number_changed', 'merged')`
		if !strings.Contains(def, from) {
			return fmt.Errorf("events' type CHECK is not the one expected")
		}
		var version int
		if err := tx.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&version); err != nil {
			return err
		}
		for _, q := range []string{
			`PRAGMA writable_schema = ON`,
			`UPDATE sqlite_schema SET sql = replace(sql, '` + strings.ReplaceAll(from, "'", "''") + `', '` +
				strings.ReplaceAll(to, "'", "''") + `') WHERE type = 'table' AND name = 'events'`,
			`PRAGMA schema_version = ` + strconv.Itoa(version+1),
			`PRAGMA writable_schema = OFF`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}
