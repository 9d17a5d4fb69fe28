package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"time"
)

// Secret returns the random key called name, making one of size bytes the
// first time it is asked for.
func (s *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var key []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&key)
		if err != sql.ErrNoRows {
			return err
		}
		key = make([]byte, size)
		rand.Read(key)
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)`, name, key, ts(time.Now()))
		return err
	})
	return key, mapErr("secret", err)
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	var one int
	return mapErr("ping", s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}
