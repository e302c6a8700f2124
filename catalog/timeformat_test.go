package catalog

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestTimesMigrated: a catalog stored with millisecond timestamps (before sqldb.TimeFormat) is
// rewritten in place by Open and reads back the same times.
func TestTimesMigrated(t *testing.T) {
	testenv.SQLiteOnly(t, "a database as the SQLite code before sqldb.TimeFormat left it")
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The schema as shipped before the four NormalizeTimes steps (later steps may follow them).
	old := slices.Index(legacySteps, sqldb.NormalizeTimes("software", "created_at", "synced_at"))
	if err := sqldb.MigrateLegacy(ctx, db, "catalog", legacySteps[:old]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO software (slug, name, homepage, release_feed, created_at, synced_at)
		VALUES ('gimp', 'GIMP', '', '', '2026-11-30T16:05:01.123Z', NULL)`); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var created string
	var synced *string
	if err := db.QueryRow(`SELECT created_at, synced_at FROM software WHERE slug = 'gimp'`).Scan(&created, &synced); err != nil {
		t.Fatal(err)
	}
	if created != "2026-11-30T16:05:01.123000Z" || synced != nil {
		t.Errorf("stored %q, %v", created, synced)
	}
	sw, err := st.Software(ctx, "gimp")
	if err != nil {
		t.Fatal(err)
	}
	if got := sw.CreatedAt.Format("2006-01-02T15:04:05.000Z07:00"); got != "2026-11-30T16:05:01.123Z" {
		t.Errorf("CreatedAt = %s", got)
	}
}
