package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// The pipeline's other tests run the whole service, whose job queue is River on SQLite; this
// one runs the recordings store alone on each database, so that PostgreSQL is covered too.
func TestMain(m *testing.M) { testenv.Main(m) }

// TestStoreOnEachDatabase walks a recording through the store's every write, on SQLite and on
// PostgreSQL, and reads it back after each.
func TestStoreOnEachDatabase(t *testing.T) {
	dbs := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "atelier.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqldb.Open(ctx, dbs[name](t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := sqldb.Migrate(ctx, db, Schema); err != nil {
				t.Fatal(err)
			}
			clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			s := &store{db: db, now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }}
			plan := Plan{Title: "T", Language: "fr", Cut: media.CutFast, Spans: []media.Span{{Start: 0, End: 2 * time.Second}}}
			for _, id := range []string{"a", "b"} {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				r := Recording{ID: id, Meta: []byte(`{"title":"T"}`), Plan: plan, SourceKey: "recordings/" + id,
					SourceSize: 5 << 30, SourceLen: 3 * time.Second, CreatedBy: "Camille", Owner: 7}
				if err := s.insert(ctx, tx, r); err != nil {
					t.Fatal(err)
				}
				if err := s.setJob(ctx, tx, id, 41); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if ok, err := s.start(ctx, "a", 41, 1); err != nil || !ok {
				t.Fatalf("start = %v, %v", ok, err)
			}
			if ok, err := s.start(ctx, "a", 99, 1); err != nil || ok {
				t.Fatalf("start by another job = %v, %v", ok, err)
			}
			eta := 90 * time.Second
			if err := s.progress(ctx, "a", "cut", 0.5, 1.5, &eta); err != nil {
				t.Fatal(err)
			}
			if err := s.heartbeat(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if err := s.setActual(ctx, "a", []media.Span{{Start: 0, End: 1900 * time.Millisecond}}, 1900*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := s.requestCancel(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			r, err := s.get(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != StatusProcessing || r.Stage != "cut" || r.Progress != 0.5 || r.Speed != 1.5 || r.ETA == nil || *r.ETA != eta ||
				r.SourceSize != 5<<30 || r.Owner != 7 || r.JobID != 41 || r.Attempts != 1 || r.ReplayLen != 1900*time.Millisecond ||
				len(r.Actual) != 1 || r.Plan.Title != "T" || r.Cancel || r.Heartbeat.IsZero() {
				t.Fatalf("recording a = %+v", r)
			}
			if b, err := s.get(ctx, "b"); err != nil || !b.Cancel || b.Status != StatusQueued {
				t.Fatalf("recording b = %+v, %v", b, err)
			}
			if un, err := s.unfinished(ctx); err != nil || len(un) != 2 {
				t.Fatalf("unfinished = %d, %v", len(un), err)
			}
			if ok, err := s.finish(ctx, "a", StatusReady, "", []string{"replays/a/master.m3u8"}, false); err != nil || !ok {
				t.Fatalf("finish = %v, %v", ok, err)
			}
			if ok, err := s.finish(ctx, "a", StatusFailed, "late", nil, false); err != nil || ok {
				t.Fatalf("finish of a final recording = %v, %v", ok, err)
			}
			list, total, err := s.list(ctx, StatusReady, 10, 0)
			if err != nil || total != 1 || len(list) != 1 || list[0].ID != "a" || list[0].Progress != 1 || len(list[0].Outputs) != 1 {
				t.Fatalf("list ready = %+v, %d, %v", list, total, err)
			}
			if list, total, err = s.list(ctx, "", 1, 0); err != nil || total != 2 || len(list) != 1 || list[0].ID != "b" {
				t.Fatalf("list all, newest first = %+v, %d, %v", list, total, err)
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.requeue(ctx, tx, "a", 42); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if r, err := s.get(ctx, "a"); err != nil || r.Status != StatusQueued || r.JobID != 42 || r.ETA != nil || !r.FinishedAt.IsZero() {
				t.Fatalf("requeued a = %+v, %v", r, err)
			}
			// A failed re-render keeps the outputs of the render being served.
			if ok, err := s.start(ctx, "a", 42, 1); err != nil || !ok {
				t.Fatalf("start again = %v, %v", ok, err)
			}
			if ok, err := s.finish(ctx, "a", StatusFailed, "broken", nil, true); err != nil || !ok {
				t.Fatalf("finish = %v, %v", ok, err)
			}
			if r, err := s.get(ctx, "a"); err != nil || r.Status != StatusFailed || len(r.Outputs) != 1 {
				t.Fatalf("failed re-render = %+v, %v", r, err)
			}
			if _, err := s.get(ctx, "nope"); err == nil {
				t.Fatal("get of an unknown recording succeeded")
			}
		})
	}
}
