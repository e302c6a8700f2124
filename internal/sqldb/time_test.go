package sqldb

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

func TestTimeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 30, 16, 5, 1, 123456789, time.FixedZone("CET", 3600))
	s := FormatTime(at)
	if s != "2026-11-30T15:05:01.123456Z" {
		t.Fatalf("FormatTime = %q", s)
	}
	got, err := ParseTime(s)
	if err != nil || !got.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("ParseTime = %v, %v", got, err)
	}
	if z, err := ParseTime(""); err != nil || !z.IsZero() {
		t.Errorf("ParseTime(\"\") = %v, %v", z, err)
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime accepted garbage")
	}
	// Text order is time order, also below one second.
	times := []time.Time{at, at.Add(500 * time.Millisecond), at.Add(-time.Microsecond), at.Add(time.Second)}
	texts := make([]string, len(times))
	for i, x := range times {
		texts[i] = FormatTime(x)
	}
	sort.Strings(texts)
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := range times {
		if texts[i] != FormatTime(times[i]) {
			t.Fatalf("text order %v is not time order", texts)
		}
	}
}

// TestNormalizeTimes runs the migration step over every older format a table of ours held.
func TestNormalizeTimes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ old, want string }{
		{"2026-11-30T16:05:01.123Z", "2026-11-30T16:05:01.123000Z"},                // catalog: milliseconds
		{"2026-11-30T16:05:01.123456789Z", "2026-11-30T16:05:01.123456Z"},          // pipeline: RFC 3339 nano
		{"2026-11-30T16:05:01.5Z", "2026-11-30T16:05:01.500000Z"},                  // trimmed fraction
		{"2026-11-30T16:05:01Z", "2026-11-30T16:05:01.000000Z"},                    // no fraction
		{"2026-11-30 16:05:01.736113542 +0000 UTC", "2026-11-30T16:05:01.736113Z"}, // auth: driver's time.Time
		{"2026-11-30 16:05:01 +0000 UTC", "2026-11-30T16:05:01.000000Z"},
		{"2026-11-30T16:05:01.123456Z", "2026-11-30T16:05:01.123456Z"}, // already right
		{"", ""},
	}
	for i, tt := range tests {
		if _, err := db.Exec(`INSERT INTO t (id, a, b) VALUES ($1, $2, $2)`, i, tt.old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO t (id, a, b) VALUES (100, NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(NormalizeTimes("t", "a", "b")); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		var a, b string
		if err := db.QueryRow(`SELECT a, CAST(b AS TEXT) FROM t WHERE id = $1`, i).Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		if a != tt.want || b != tt.want {
			t.Errorf("%q -> %q, %q; want %q", tt.old, a, b, tt.want)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t WHERE id = 100 AND a IS NULL AND b IS NULL`).Scan(&n); err != nil || n != 1 {
		t.Errorf("NULLs changed: %d %v", n, err)
	}
}
