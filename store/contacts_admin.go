package store

import (
	"context"
	"encoding/json"

	"github.com/optin/optin/consent"
)

// ContactInbound returns what a contact wrote, oldest first, for the admin
// console's contact page.
func (s *DB) ContactInbound(ctx context.Context, contactID int64) ([]consent.MessageIn, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, provider_message_id, type, text, button_id, sent_at, received_at
		FROM inbound WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, mapErr("contact inbound", err)
	}
	defer rows.Close()
	var out []consent.MessageIn
	for rows.Next() {
		var m consent.MessageIn
		var sent, received string
		if err := rows.Scan(&m.ID, &m.ProviderID, &m.Type, &m.Text, &m.ButtonID, &sent, &received); err != nil {
			return nil, mapErr("contact inbound", err)
		}
		m.SentAt, m.ReceivedAt = parseTS(sent), parseTS(received)
		out = append(out, m)
	}
	return out, mapErr("contact inbound", rows.Err())
}

// ContactOutbox returns the messages to a contact with their statuses and
// errors, oldest first.
func (s *DB) ContactOutbox(ctx context.Context, contactID int64) ([]consent.OutboxEntry, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, contact_id, purpose, message, status, attempts, created_at, coalesce(provider_message_id, ''),
		       error_code, error_title, updated_at, sent_at
		FROM outbox WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, mapErr("contact outbox", err)
	}
	defer rows.Close()
	var out []consent.OutboxEntry
	for rows.Next() {
		var m consent.OutboxEntry
		var body, status, created, updated, sent string
		if err := rows.Scan(&m.ID, &m.ContactID, &m.Purpose, &body, &status, &m.Attempts, &created, &m.ProviderID,
			&m.ErrorCode, &m.ErrorTitle, &updated, &sent); err != nil {
			return nil, mapErr("contact outbox", err)
		}
		if err := json.Unmarshal([]byte(body), &m.Message); err != nil {
			return nil, mapErr("contact outbox", err)
		}
		m.Status, m.CreatedAt = consent.DeliveryStatus(status), parseTS(created)
		m.UpdatedAt, m.SentAt = parseTS(updated), parseTS(sent)
		out = append(out, m)
	}
	return out, mapErr("contact outbox", rows.Err())
}
