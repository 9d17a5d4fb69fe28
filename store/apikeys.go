package store

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/optin/optin/consent"
)

// CreateAPIKey stores a key by its hash.
func (s *DB) CreateAPIKey(ctx context.Context, k consent.APIKey, hash string, now time.Time) (consent.APIKey, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO api_keys (name, prefix, hash, scope, created_at) VALUES (?, ?, ?, ?, ?)
			RETURNING id`, k.Name, k.Prefix, hash, k.Scope, ts(now)).Scan(&k.ID)
	})
	if err != nil {
		return consent.APIKey{}, mapErr("create api key", err)
	}
	k.CreatedAt = now
	return k, mapErr("create api key", err)
}

// APIKeyByHash returns the unrevoked key with the given hash. Its last use
// is written at most once a minute, so that the API's reads stay reads.
//
// Keys found are cached for keyCacheTTL: the API checks a key on every
// call, and the cache answers without a query. RevokeAPIKey empties the
// cache once its revocation has committed, and a lookup that began before
// that cannot put its (now stale) answer back (keyCache.gen), so a key
// revoked in this process fails from the moment RevokeAPIKey returns. The
// time limit bounds how long a revocation written by another process (none
// of optin's commands does that today) would go unseen.
func (s *DB) APIKeyByHash(ctx context.Context, hash string, now time.Time) (consent.APIKey, error) {
	k, last, ok := s.keys.get(hash, now)
	if !ok {
		gen := s.keys.generation()
		var lastText string
		err := s.apiKey.QueryRowContext(ctx, hash).Scan(&k.ID, &k.Name, &k.Prefix, &k.Scope, &lastText)
		if err != nil {
			return consent.APIKey{}, mapErr("api key", err)
		}
		last = parseTS(lastText)
		s.keys.put(gen, hash, k, last, now)
	}
	if now.Sub(last) >= time.Minute {
		if _, err := s.execW(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, ts(now), k.ID); err != nil {
			return consent.APIKey{}, mapErr("api key use", err)
		}
		s.keys.used(hash, now)
	}
	return k, nil
}

const keyCacheTTL = 10 * time.Second

// keyCache holds API keys recently found valid, by hash.
type keyCache struct {
	mu  sync.Mutex
	gen uint64 // advanced by every revocation
	m   map[string]cachedKey
}

type cachedKey struct {
	key      consent.APIKey
	lastUsed time.Time
	until    time.Time
}

func (c *keyCache) get(hash string, now time.Time) (consent.APIKey, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || !now.Before(e.until) {
		return consent.APIKey{}, time.Time{}, false
	}
	return e.key, e.lastUsed, true
}

func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches k unless a revocation committed since gen was read.
func (c *keyCache) put(gen uint64, hash string, k consent.APIKey, last, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= 1000 {
		c.m = map[string]cachedKey{}
	}
	c.m[hash] = cachedKey{key: k, lastUsed: last, until: now.Add(keyCacheTTL)}
}

func (c *keyCache) used(hash string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[hash]; ok {
		e.lastUsed = now
		c.m[hash] = e
	}
}

// revoked forgets every cached key; called after a revocation commits.
func (c *keyCache) revoked() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// ListAPIKeys returns every key, revoked ones too, newest first.
func (s *DB) ListAPIKeys(ctx context.Context) ([]consent.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id DESC`)
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
	var k consent.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		k, err = scanAPIKey(tx.QueryRowContext(ctx, `
			UPDATE api_keys SET revoked_at = CASE revoked_at WHEN '' THEN ? ELSE revoked_at END
			WHERE id = ? RETURNING `+apiKeyColumns, ts(at), id))
		return err
	})
	s.keys.revoked()
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
