package testenv

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// dbEnv names the database the store tests of this run use: "sqlite" (the default) or
// "postgres". MainEachDB sets it for each of its runs; set by hand it focuses one.
const dbEnv = "ATELIER_TEST_DB"

// DB returns the DSN of a new, empty database for t: a SQLite file in t.TempDir(), or, in the
// PostgreSQL run of MainEachDB (or with ATELIER_TEST_DB=postgres), a database of its own on the
// shared test server. The store tests take their database from here so that the same test code
// runs on both.
func DB(t testing.TB) string {
	t.Helper()
	if DBName() == "postgres" {
		t.Logf("database: PostgreSQL")
		return Postgres(t)
	}
	return filepath.Join(t.TempDir(), "atelier.db")
}

// DBName is the database of this run: "sqlite" or "postgres".
func DBName() string {
	if os.Getenv(dbEnv) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// SQLiteOnly skips t in the PostgreSQL run: for tests of SQLite's own matters (query plans,
// its lock, files made by older code), with the reason.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if DBName() != "sqlite" {
		t.Skip("SQLite only: " + why)
	}
}

// MainEachDB runs a test binary's tests twice, on SQLite then on PostgreSQL (DB gives each test
// its database), and stops the shared servers: call it as
// `func TestMain(m *testing.M) { testenv.MainEachDB(m) }`. ATELIER_TEST_DB=sqlite or
// =postgres runs only that one. Without PostgreSQL its run skips, or fails under RequireAll.
//
// Benchmarks measure one database per process: with -test.bench the run is SQLite's only,
// unless ATELIER_TEST_DB names PostgreSQL.
func MainEachDB(m *testing.M) {
	only := os.Getenv(dbEnv)
	if !flag.Parsed() {
		flag.Parse()
	}
	if f := flag.Lookup("test.bench"); only == "" && f != nil && f.Value.String() != "" {
		only = "sqlite"
	}
	code := 0
	for _, name := range []string{"sqlite", "postgres"} {
		if only != "" && only != name {
			continue
		}
		os.Setenv(dbEnv, name)
		fmt.Printf("=== tests on %s\n", name)
		// testing.M.Run may be called more than once (go.dev/issue/23129).
		if c := m.Run(); c != 0 {
			fmt.Printf("--- FAIL: the tests on %s\n", name)
			code = c
		}
	}
	StopPostgres()
	os.Exit(code)
}
