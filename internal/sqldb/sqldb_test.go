package sqldb

import (
	"context"
	"testing/fstest"

	"codeberg.org/atelier/atelier/internal/testenv"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) { testenv.MainEachDB(m) }

func TestLegacyAppliesOnlyNewSteps(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "a.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	steps := []string{`CREATE TABLE a (x INTEGER)`}
	if err := MigrateLegacy(ctx, db, "test", steps); err != nil {
		t.Fatal(err)
	}
	// Running again must not re-run step 1 (it would fail: table exists).
	steps = append(steps, `ALTER TABLE a ADD COLUMN y TEXT`)
	if err := MigrateLegacy(ctx, db, "test", steps); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO a (x, y) VALUES ($1, $2)`, 1, "z"); err != nil {
		t.Fatal(err)
	}
	bad := append(steps, `NOT SQL`)
	if err := MigrateLegacy(ctx, db, "test", bad); err == nil {
		t.Fatal("a broken step must fail")
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations WHERE component='test'`).Scan(&v); err != nil || v != 2 {
		t.Fatalf("version = %d, %v; want 2", v, err)
	}
}

// TestMigrate: goose runs a schema's files on either database, each schema with its own version
// table; on SQLite the legacy steps are version 1 and a database that an older Atelier migrated
// part of the way gets only the steps it lacks, then the files.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	legacy := []string{`CREATE TABLE a (x INTEGER)`, `ALTER TABLE a ADD COLUMN y TEXT`}
	if DialectOf(db) == SQLite {
		// An older Atelier applied the first step only, and stored a row.
		if err := MigrateLegacy(ctx, db, "one", legacy[:1]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO a (x) VALUES (7)`); err != nil {
			t.Fatal(err)
		}
	}
	files := fstest.MapFS{
		"migrations/postgres/00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE a (x INTEGER, y TEXT);\nINSERT INTO a (x) VALUES (7);\n")},
		"migrations/postgres/00002_b.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (z TEXT);\n")},
		"migrations/sqlite/00002_b.sql":   {Data: []byte("-- +goose Up\nCREATE TABLE b (z TEXT);\n")},
	}
	one := Schema{Name: "one", FS: files, Legacy: legacy}
	two := Schema{Name: "two", FS: fstest.MapFS{
		"migrations/postgres/00001_c.sql": {Data: []byte("-- +goose Up\nCREATE TABLE c (z TEXT);\n")},
		"migrations/sqlite/00002_c.sql":   {Data: []byte("-- +goose Up\nCREATE TABLE c (z TEXT);\n")},
	}, Legacy: []string{`SELECT 1`}}
	for range 2 { // the second time finds nothing to do
		for _, s := range []Schema{one, two} {
			if err := Migrate(ctx, db, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.Exec(`INSERT INTO a (x, y) VALUES (8, 'y'); INSERT INTO b (z) VALUES ('z'); INSERT INTO c (z) VALUES ('z')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM a`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows of a: %d, %v", n, err)
	}
	st, err := Status(ctx, db, one)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || !st[0].Applied || !st[1].Applied || st[1].Version != 2 {
		t.Fatalf("status = %+v", st)
	}
	for _, table := range []string{"goose_one", "goose_two"} {
		var v int
		if err := db.QueryRow(`SELECT MAX(version_id) FROM ` + table).Scan(&v); err != nil || v != 2 && table == "goose_one" {
			t.Errorf("%s: version %d, %v", table, v, err)
		}
	}
}

// TestBoolArgs: a Go bool fills an INTEGER column as 0/1 on both databases, and reads back.
func TestBoolArgs(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE f (a INTEGER NOT NULL, b INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO f (a, b) VALUES ($1, $2)`, true, false); err != nil {
		t.Fatal(err)
	}
	var a, b bool
	var n int
	if err := db.QueryRow(`SELECT a, b, a + b FROM f WHERE a = 1`).Scan(&a, &b, &n); err != nil || !a || b || n != 1 {
		t.Fatalf("a=%v b=%v n=%d err=%v", a, b, n, err)
	}
}

func TestOpenPostgresRefusesBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://x@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open of a server that is not there succeeded")
	}
}
