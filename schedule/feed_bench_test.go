package schedule

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// benchFeedAPI seeds n workshops (one VEVENT each: one in five a weekly series, one in fifty
// cancelled, four time zones, French text) in one transaction and returns the API over them.
func benchFeedAPI(b *testing.B, n int) (*API, *sql.DB) {
	b.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := OpenStore(ctx, db, clock)
	if err != nil {
		b.Fatal(err)
	}
	zones := []string{"Europe/Paris", "America/Montreal", "Africa/Dakar", "Europe/Brussels"}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	for i := range n {
		start := now.AddDate(0, 0, i%400-100)
		w := &Workshop{
			Title:       fmt.Sprintf("Atelier n°%d : partager des fichiers avec Nextcloud 🎓", i),
			Description: "Découvrez le partage par lien, les droits d'édition et la synchronisation.\nApportez votre ordinateur ; café offert.",
			StartsAt:    fmt.Sprintf("%04d-%02d-%02dT18:00:00", start.Year(), start.Month(), start.Day()),
			Timezone:    zones[i%len(zones)],
			Duration:    "PT1H30M",
			Location:    "https://visio.example.org/atelier-" + fmt.Sprint(i%30),
			Language:    "fr",
			Animator:    "Camille Dupré",
			Series:      fmt.Sprintf("serie-%02d", i%40),
			Documents:   []Document{{Software: fmt.Sprintf("soft%02d", i%50), Version: "28.0.2"}},
			Status:      StatusConfirmed,
		}
		if i%5 == 0 {
			w.Recurrence = "FREQ=WEEKLY;BYDAY=TU;COUNT=6"
		}
		if err := w.normalize(ctx, nil, nil); err != nil {
			b.Fatal(err)
		}
		w.ID = fmt.Sprintf("w%015d", i)
		w.UID = w.ID + "@atelier.example.org"
		w.CreatedAt, w.UpdatedAt = now.Add(-time.Duration(n-i)*time.Minute), now.Add(-time.Duration(n-i)*time.Minute)
		if i%50 == 0 {
			w.Status, w.Sequence = StatusCancelled, 1
			c := now.Add(-24 * time.Hour)
			w.CancelledAt = &c
		}
		if err := insert(ctx, tx, w); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return NewAPI(s, nil, "https://atelier.example.org", Options{Now: clock}), db
}

// BenchmarkFeed times GET /calendar.ics through the real handler with 10 000 events
// (ATELIER_BENCH_EVENTS changes it): the full render after a change (one workshop edited before
// each request, untimed, so that no rendering kept from an earlier request can answer), the 200
// answer of an unchanged feed, and the conditional GET of an unchanged feed that ends in 304.
// p50-ms and p99-ms are per request.
func BenchmarkFeed(b *testing.B) {
	api, db := benchFeedAPI(b, testenv.BenchInt(b, "ATELIER_BENCH_EVENTS", 10000))
	get := func(b *testing.B, etag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/calendar.ics", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		rec := httptest.NewRecorder()
		if err := api.CalendarAll(rec, req); err != nil {
			b.Fatal(err)
		}
		return rec
	}
	first := get(b, "")
	if first.Code != http.StatusOK {
		b.Fatalf("calendar.ics: %d", first.Code)
	}
	etag := first.Header().Get("ETag")
	edited := time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)
	b.Run("full", func(b *testing.B) {
		b.SetBytes(int64(first.Body.Len()))
		var d []time.Duration
		for b.Loop() {
			b.StopTimer()
			edited = edited.Add(time.Millisecond)
			if _, err := db.Exec(`UPDATE workshops SET updated_at = $1, sequence = sequence + 1 WHERE id = $2`,
				edited.Format(dbTime), "w000000000000001"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			rec := get(b, "")
			d = append(d, time.Since(t0))
			if rec.Code != http.StatusOK {
				b.Fatalf("full: %d", rec.Code)
			}
		}
		testenv.ReportLatency(b, d)
	})
	b.Run("unchanged", func(b *testing.B) {
		var d []time.Duration
		for b.Loop() {
			t0 := time.Now()
			rec := get(b, "")
			d = append(d, time.Since(t0))
			if rec.Code != http.StatusOK {
				b.Fatalf("unchanged: %d", rec.Code)
			}
		}
		testenv.ReportLatency(b, d)
	})
	etag = get(b, "").Header().Get("ETag") // after the edits of "full"
	b.Run("304", func(b *testing.B) {
		var d []time.Duration
		for b.Loop() {
			t0 := time.Now()
			rec := get(b, etag)
			d = append(d, time.Since(t0))
			if rec.Code != http.StatusNotModified {
				b.Fatalf("conditional: %d", rec.Code)
			}
		}
		testenv.ReportLatency(b, d)
	})
}
