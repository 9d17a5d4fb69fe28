package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// APIKey is a key other systems use for the JSON API. Only its SHA-256 is
// stored: keys are 256 random bits, so a fast hash is enough and lookup by
// hash leaks nothing useful through timing.
type APIKey struct {
	ID     int64
	Name   string
	Prefix string // the first characters, to recognise a key in lists
	Scope  string // "read" or "write"

	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used; written at most once a minute
	RevokedAt  time.Time // zero while the key works
}

// KeyStore keeps API keys.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k APIKey, hash string, at time.Time) (APIKey, error)
	APIKeyByHash(ctx context.Context, hash string, at time.Time) (APIKey, error)
	// ListAPIKeys returns every key, revoked ones too, newest first.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey revokes a key for good; a revoked key stays revoked.
	RevokeAPIKey(ctx context.Context, id int64, at time.Time) (APIKey, error)
}

// apiKeyPrefix marks optin keys so secret scanners and people recognise them.
const apiKeyPrefix = "optin_"

// CreateAPIKey makes a new key and returns it in clear text, once.
func (s *Service) CreateAPIKey(ctx context.Context, name, scope string) (string, APIKey, error) {
	verr := &ValidationError{}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		verr.Add("name", "apikey.name")
	}
	if scope != "read" && scope != "write" {
		verr.Add("scope", "apikey.scope")
	}
	if err := verr.OrNil(); err != nil {
		return "", APIKey{}, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	key := apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	k, err := s.store.CreateAPIKey(ctx, APIKey{Name: name, Prefix: key[:len(apiKeyPrefix)+6], Scope: scope}, hashKey(key), s.clock.Now())
	return key, k, err
}

// Authenticate returns the API key presented, or ErrNotFound.
func (s *Service) Authenticate(ctx context.Context, key string) (APIKey, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 200 {
		return APIKey{}, ErrNotFound
	}
	return s.store.APIKeyByHash(ctx, hashKey(key), s.clock.Now())
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// APIKeys lists every API key, revoked ones too, newest first. The keys
// themselves are not kept: only their prefixes can be shown.
func (s *Service) APIKeys(ctx context.Context) ([]APIKey, error) {
	return s.store.ListAPIKeys(ctx)
}

// RevokeAPIKey revokes key id; the API refuses it from the next request on.
func (s *Service) RevokeAPIKey(ctx context.Context, id int64) (APIKey, error) {
	return s.store.RevokeAPIKey(ctx, id, s.clock.Now())
}
