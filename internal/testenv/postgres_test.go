package testenv

import (
	"net/url"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// TestPostgres: the harness starts a real server, gives each caller its own database, and that
// database takes DDL and queries; a second database does not see the first one's tables.
func TestPostgres(t *testing.T) {
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatalf("two callers got the same database %s", a)
	}
	ua, err := url.Parse(a)
	if err != nil || ua.Scheme != "postgres" || ua.Hostname() != "127.0.0.1" {
		t.Fatalf("url %q: %v", a, err)
	}
	dbA, dbB := strings.TrimPrefix(ua.Path, "/"), ""
	if ub, err := url.Parse(b); err == nil {
		dbB = strings.TrimPrefix(ub.Path, "/")
	}
	if err := pgServer.Exec(dbA, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := pgServer.Exec(dbA, "SELECT x FROM t"); err != nil {
		t.Fatal(err)
	}
	if err := pgServer.Exec(dbB, "SELECT x FROM t"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("database %s sees the table of %s: %v", dbB, dbA, err)
	}
}
