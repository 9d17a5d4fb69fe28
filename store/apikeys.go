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

var _ consent.Store = (*DB)(nil)

const apiKeyQuery = `SELECT id, name, prefix, scope, last_used_at FROM api_keys WHERE hash = ? AND revoked_at = ''`
