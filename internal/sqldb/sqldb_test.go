package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestMigrateAppliesOnlyNewSteps(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "a.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	steps := []string{`CREATE TABLE a (x INTEGER)`}
	if err := Migrate(ctx, db, "test", steps); err != nil {
		t.Fatal(err)
	}
	// Running again must not re-run step 1 (it would fail: table exists).
	steps = append(steps, `ALTER TABLE a ADD COLUMN y TEXT`)
	if err := Migrate(ctx, db, "test", steps); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO a (x, y) VALUES ($1, $2)`, 1, "z"); err != nil {
		t.Fatal(err)
	}
	bad := append(steps, `NOT SQL`)
	if err := Migrate(ctx, db, "test", bad); err == nil {
		t.Fatal("a broken step must fail")
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations WHERE component='test'`).Scan(&v); err != nil || v != 2 {
		t.Fatalf("version = %d, %v; want 2", v, err)
	}
}

func TestOpenRejectsPostgresForNow(t *testing.T) {
	_, err := Open(context.Background(), "postgres://x@localhost/db")
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}
