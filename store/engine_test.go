package store

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/optin/optin/store/storetest"
)

// The store's tests are its conformance suite: every one runs on SQLite,
// and then, in a second run of this test binary, on PostgreSQL (when
// OPTIN_TEST_POSTGRES names a server; CI always does). A test about
// SQLite's file itself says so with sqliteOnly and skips on PostgreSQL.

// engine is the engine this run of the tests uses: "sqlite" or "postgres".
var engine = "sqlite"

const engineEnv = storetest.EngineEnv

func TestMain(m *testing.M) {
	if os.Getenv(engineEnv) == "postgres" {
		engine = "postgres"
		os.Exit(m.Run())
	}
	code := m.Run()
	if os.Getenv(storetest.Env) == "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "FAIL: %s is not set: CI must run the store tests on PostgreSQL too\n", storetest.Env)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "store: %s not set: the tests ran on SQLite only\n", storetest.Env)
		os.Exit(code)
	}
	fmt.Println("store: the same tests on PostgreSQL")
	var args []string
	for _, a := range os.Args[1:] {
		// The test log (go test's cache) is the first run's.
		if !strings.HasPrefix(a, "-test.testlogfile") {
			args = append(args, a)
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), engineEnv+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the store tests on PostgreSQL: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// testDSN returns a new, empty database for t on the engine of this run
// (storetest.DSN: the child run has OPTIN_TEST_ENGINE=postgres).
func testDSN(t testing.TB) string {
	t.Helper()
	return storetest.DSN(t)
}

// sqliteOnly skips t on PostgreSQL: it tests SQLite's file itself.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if engine == "postgres" {
		t.Skip("SQLite only: " + why)
	}
}

// TestEngine names the engine of this run. It also reads, inside the test
// run, the variables TestMain read before it, so that go test's cache knows
// the results depend on them.
func TestEngine(t *testing.T) {
	t.Logf("engine %s; %s set: %v; CI: %q", engine, storetest.Env, os.Getenv(storetest.Env) != "",
		os.Getenv("CI"))
	_ = os.Getenv(engineEnv)
}
