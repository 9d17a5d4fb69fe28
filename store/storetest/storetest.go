// Package storetest gives tests a database of their own on either engine.
//
// PostgreSQL is reached through OPTIN_TEST_POSTGRES, a URL with the right to
// create databases (.ci/postgres starts a throwaway cluster and prints it).
// Each call makes a new, empty database and drops it when the test ends.
// Without the variable the tests that need PostgreSQL skip, except in CI
// (CI set), where they fail: CI must run them.
package storetest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating and dropping databases
)

// Env names the variable holding the PostgreSQL URL for tests.
const Env = "OPTIN_TEST_POSTGRES"

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
	seq       atomic.Int64
)

// PostgresURL returns OPTIN_TEST_POSTGRES, skipping t when it is unset
// outside CI and failing t in CI.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/run starts a cluster with .ci/postgres)", Env)
		}
		t.Skipf("%s is not set: PostgreSQL tests skipped (eval \"$(.ci/postgres)\" starts a throwaway cluster)", Env)
	}
	return base
}

// Postgres creates an empty database for t and returns its URL; the
// database is dropped, connections and all, when t ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", base)
		if adminErr == nil {
			adminErr = admin.Ping()
		}
	})
	if adminErr != nil {
		t.Fatalf("storetest: connect to %s: %v", Env, adminErr)
	}
	name := fmt.Sprintf("optin_test_%d_%d", os.Getpid(), seq.Add(1))
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s: %v", Env, err)
	}
	u.Path = "/" + name
	return u.String()
}

// EngineEnv chooses the engine of DSN: "postgres" for PostgreSQL, else
// SQLite. The store's own tests run on both by themselves; other packages'
// tests run on PostgreSQL when asked (.ci/run does for web and consent).
const EngineEnv = "OPTIN_TEST_ENGINE"

// DSN returns a new, empty database for t on the engine OPTIN_TEST_ENGINE
// chooses: an SQLite file in t's directory by default.
func DSN(t testing.TB) string {
	t.Helper()
	if os.Getenv(EngineEnv) == "postgres" {
		return Postgres(t)
	}
	return filepath.Join(t.TempDir(), "optin.db")
}
