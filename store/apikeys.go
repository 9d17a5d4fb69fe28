package store

import (
	"context"
	"time"

	"github.com/optin/optin/consent"
)

// CreateAPIKey stores a key by its hash.
func (s *DB) CreateAPIKey(ctx context.Context, k consent.APIKey, hash string, now time.Time) (consent.APIKey, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO api_keys (name, prefix, hash, scope, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.Name, k.Prefix, hash, k.Scope, ts(now))
	if err != nil {
		return consent.APIKey{}, mapErr("create api key", err)
	}
	k.ID, err = res.LastInsertId()
	k.CreatedAt = now
	return k, mapErr("create api key", err)
}

// APIKeyByHash returns the unrevoked key with the given hash. Its last use
// is written at most once a minute, so that the API's reads stay reads.
func (s *DB) APIKeyByHash(ctx context.Context, hash string, now time.Time) (consent.APIKey, error) {
	var k consent.APIKey
	var last string
	err := s.apiKey.QueryRowContext(ctx, hash).Scan(&k.ID, &k.Name, &k.Prefix, &k.Scope, &last)
	if err != nil {
		return consent.APIKey{}, mapErr("api key", err)
	}
	if now.Sub(parseTS(last)) >= time.Minute {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, ts(now), k.ID); err != nil {
			return consent.APIKey{}, mapErr("api key use", err)
		}
	}
	return k, nil
}

// ListAPIKeys returns every key, revoked ones too, newest first.
func (s *DB) ListAPIKeys(ctx context.Context) ([]consent.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, mapErr("list api keys", err)
	}
	defer rows.Close()
	var out []consent.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, mapErr("list api keys", err)
		}
		out = append(out, k)
	}
	return out, mapErr("list api keys", rows.Err())
}

// RevokeAPIKey revokes key id; revoking it again keeps the first time.
func (s *DB) RevokeAPIKey(ctx context.Context, id int64, at time.Time) (consent.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, `
		UPDATE api_keys SET revoked_at = CASE revoked_at WHEN '' THEN ? ELSE revoked_at END
		WHERE id = ? RETURNING `+apiKeyColumns, ts(at), id))
	return k, mapErr("revoke api key", err)
}

const apiKeyColumns = `id, name, prefix, scope, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (consent.APIKey, error) {
	var k consent.APIKey
	var created, used, revoked string
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Scope, &created, &used, &revoked); err != nil {
		return consent.APIKey{}, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = parseTS(created), parseTS(used), parseTS(revoked)
	return k, nil
}

var _ consent.Store = (*DB)(nil)

const apiKeyQuery = `SELECT id, name, prefix, scope, last_used_at FROM api_keys WHERE hash = ? AND revoked_at = ''`
