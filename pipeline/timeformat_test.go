package pipeline

import (
	"context"
	"path/filepath"
	"testing"

	"codeberg.org/atelier/atelier/internal/sqldb"
)

// TestTimesMigrated: a database whose recordings were stored with RFC 3339 times of variable
// width (before sqldb.TimeFormat) is rewritten in place, and sorts right afterwards.
func TestTimesMigrated(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqldb.MigrateLegacy(ctx, db, "pipeline", legacySteps[:2]); err != nil { // the schema as shipped before
		t.Fatal(err)
	}
	for _, r := range []struct{ id, created string }{
		{"a", "2026-11-30T16:05:01Z"}, {"b", "2026-11-30T16:05:01.5Z"}, {"c", "2026-11-30T16:05:00.999999999Z"},
	} {
		if _, err := db.Exec(`INSERT INTO recordings (id, status, meta, cut_mode, source_key, created_at, updated_at, heartbeat_at)
			VALUES ($1, 'ready', '{}', 'fast', 'k', $2, $2, '')`, r.id, r.created); err != nil {
			t.Fatal(err)
		}
	}
	if err := sqldb.Migrate(ctx, db, Schema); err != nil { // the legacy steps it lacks, then goose
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT id, created_at, heartbeat_at FROM recordings ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, created, hb string
		if err := rows.Scan(&id, &created, &hb); err != nil {
			t.Fatal(err)
		}
		if hb != "" {
			t.Errorf("heartbeat of %s = %q, want it unset", id, hb)
		}
		got = append(got, id+" "+created)
	}
	want := []string{"c 2026-11-30T16:05:00.999999Z", "a 2026-11-30T16:05:01.000000Z", "b 2026-11-30T16:05:01.500000Z"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
