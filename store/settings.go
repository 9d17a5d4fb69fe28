package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/optin/optin/consent"
)

// StoredSettings returns the settings admins saved, by key.
func (s *DB) StoredSettings(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return nil, mapErr("settings", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, mapErr("settings", err)
		}
		out[k] = v
	}
	return out, mapErr("settings", rows.Err())
}

// SaveSettings writes the new values and appends each change to the history,
// in one transaction.
func (s *DB) SaveSettings(ctx context.Context, changes []consent.SettingChange) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
				    updated_by = excluded.updated_by`, c.Key, c.New, ts(c.At), c.Actor); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO settings_history (key, old_value, new_value, changed_at, changed_by) VALUES (?, ?, ?, ?, ?)`,
				c.Key, c.Old, c.New, ts(c.At), c.Actor); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr("save settings", err)
}

// SettingsHistory returns the latest limit setting changes, newest first.
func (s *DB) SettingsHistory(ctx context.Context, limit int) ([]consent.SettingChange, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT key, old_value, new_value, changed_at, changed_by FROM settings_history ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, mapErr("settings history", err)
	}
	defer rows.Close()
	var out []consent.SettingChange
	for rows.Next() {
		var c consent.SettingChange
		var at string
		if err := rows.Scan(&c.Key, &c.Old, &c.New, &at, &c.Actor); err != nil {
			return nil, mapErr("settings history", err)
		}
		c.At = parseTS(at)
		out = append(out, c)
	}
	return out, mapErr("settings history", rows.Err())
}

// TemplatesSentSince counts the template messages the provider accepted at
// or after since, for the daily cap.
func (s *DB) TemplatesSentSince(ctx context.Context, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, s.pick(`
		SELECT count(*) FROM outbox WHERE sent_at != '' AND sent_at >= ? AND json_extract(message, '$.kind') = 'template'`, `
		SELECT count(*) FROM outbox WHERE sent_at != '' AND sent_at >= ? AND message::jsonb ->> 'kind' = 'template'`),
		ts(since)).Scan(&n)
	return n, mapErr("templates sent", err)
}

// DeferMessage puts a claimed message back in the queue until next, marked
// as held by the daily cap; the claim does not count as an attempt.
func (s *DB) DeferMessage(ctx context.Context, id int64, next time.Time, reason string, now time.Time) error {
	_, err := s.execW(ctx, `
		UPDATE outbox SET status = 'queued', attempts = max(attempts - 1, 0), next_attempt_at = ?, updated_at = ?,
		    error_class = ?, error_code = 0, error_title = ?
		WHERE id = ? AND status = 'sending'`, ts(next), ts(now), consent.CapDeferred, reason, id)
	return mapErr("defer message", err)
}

// ReleaseDeferred makes the messages held by the daily cap due now.
func (s *DB) ReleaseDeferred(ctx context.Context, now time.Time) (int, error) {
	res, err := s.execW(ctx, `
		UPDATE outbox SET next_attempt_at = ?, updated_at = ?
		WHERE status = 'queued' AND error_class = ? AND next_attempt_at > ?`, ts(now), ts(now), consent.CapDeferred, ts(now))
	if err != nil {
		return 0, mapErr("release deferred", err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr("release deferred", err)
}
