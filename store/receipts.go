package store

import (
	"context"
	"encoding/json"

	"github.com/optin/optin/consent"
)

// ConsentEvents returns the opt_in and confirm events of a contact with their
// ledger hashes, in ledger order: what its consent receipts are made of.
func (s *DB) ConsentEvents(ctx context.Context, contactID int64) ([]consent.HashedEvent, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, contact_id, type, category, state, source, occurred_at, recorded_at, coalesce(wording_hash, ''),
		       lang, entry_point, form_version, message_id, detail, hash
		FROM events WHERE contact_id = ? AND type IN ('opt_in', 'confirm') ORDER BY id`, contactID)
	if err != nil {
		return nil, mapErr("consent events", err)
	}
	defer rows.Close()
	var out []consent.HashedEvent
	for rows.Next() {
		var e consent.HashedEvent
		var typ, state, source, occurred, recorded, detail string
		ev := &e.Evidence
		if err := rows.Scan(&e.ID, &e.ContactID, &typ, &e.Category, &state, &source, &occurred, &recorded,
			&e.WordingHash, &e.Lang, &ev.EntryPoint, &ev.FormVersion, &ev.MessageID, &detail, &e.Hash); err != nil {
			return nil, mapErr("consent events", err)
		}
		if detail != "{}" && detail != "" {
			if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
				return nil, mapErr("consent events", err)
			}
		}
		e.Type, e.State, ev.Source = consent.EventType(typ), consent.State(state), consent.Source(source)
		e.OccurredAt, e.RecordedAt = parseTS(occurred), parseTS(recorded)
		out = append(out, e)
	}
	return out, mapErr("consent events", rows.Err())
}
