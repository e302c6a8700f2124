package catalog

import (
	"context"
	"errors"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// The catalog's tests run on SQLite, then on PostgreSQL.
func TestMain(m *testing.M) { testenv.MainEachDB(m) }

// newStore opens a catalog on a fresh database (testenv.DB) with a clock fixed at 2026-01-01.
func newStore(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	return s
}

func mustSoftware(t testing.TB, s *Store, slug string, releases ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: slug, Name: slug}); err != nil {
		t.Fatal(err)
	}
	for _, v := range releases {
		if _, err := s.AddRelease(ctx, slug, NewRelease{Version: v, ReleasedAt: "2025-06-01"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestContractRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	mustSoftware(t, s, "nextcloud", "27.0.0", "27.1.4")
	r := NewReplay{ID: "r1", Title: "Files", Language: "fr", WorkshopID: "w1", PublishWhenReady: true,
		Documents: []Tag{{"nextcloud", "27.1.4"}},
		Chapters:  []Chapter{{StartMS: 0, Title: "Intro", Documents: []Tag{{"nextcloud", "27.0.0"}}}}}
	if err := s.CreateReplay(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReplay(ctx, r); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	if _, ok, _ := s.PublishedReplayForWorkshop(ctx, "w1"); ok {
		t.Fatal("draft replay reported as published")
	}
	if err := s.SetProcessing(ctx, "r1", Ready, 61000); err != nil {
		t.Fatal(err)
	}
	if id, ok, err := s.PublishedReplayForWorkshop(ctx, "w1"); err != nil || !ok || id != "r1" {
		t.Fatalf("PublishedReplayForWorkshop = %q %v %v", id, ok, err)
	}
	if err := s.PutTrack(ctx, "r1", Track{Lang: "fr", Kind: "auto", Status: "draft", CueCount: 2, Text: "bonjour"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Replay(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Publication != Published || got.DurationMS != 61000 || got.PublishedAt == nil || len(got.Tracks) != 1 ||
		len(got.Chapters) != 1 || got.Freshness.Status != Current {
		t.Fatalf("replay = %+v", got)
	}
	if _, err := s.Replay(ctx, "nope"); !errors.Is(err, ErrNotFound) || !errors.Is(err, httpapi.ErrNotFound) {
		t.Fatalf("missing replay: %v", err)
	}
	if v, err := s.LatestRelease(ctx, "nextcloud"); err != nil || v != "27.1.4" {
		t.Fatalf("LatestRelease = %q, %v", v, err)
	}
	// A new major outdates both the replay and its chapter at once.
	if _, err := s.AddRelease(ctx, "nextcloud", NewRelease{Version: "28.0.0"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Replay(ctx, "r1")
	if got.Freshness.Status != Outdated || got.Chapters[0].Freshness.Status != Outdated ||
		got.Freshness.Tags[0].OutdatedBy == nil || got.Freshness.Tags[0].OutdatedBy.Version != "28.0.0" {
		t.Fatalf("after 28.0.0: %+v", got.Freshness)
	}
}

// TestSearchSkipsHiddenDrafts: a draft track learners are not offered does not make its replay
// findable by its words; once visible (or reviewed) it does.
func TestSearchSkipsHiddenDrafts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateReplay(ctx, NewReplay{ID: "r1", Title: "Files", Language: "fr", PublishWhenReady: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProcessing(ctx, "r1", Ready, 61000); err != nil {
		t.Fatal(err)
	}
	search := func() int {
		t.Helper()
		l, err := s.ListReplays(ctx, ListOptions{Public: true, Q: "zanzibar", Page: httpapi.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	track := Track{Lang: "fr", Kind: "auto", Status: "draft", CueCount: 1, Text: "bienvenue à zanzibar"}
	if err := s.PutTrack(ctx, "r1", track); err != nil {
		t.Fatal(err)
	}
	if n := search(); n != 0 {
		t.Fatalf("a hidden draft's words find %d replays", n)
	}
	track.Visible = true
	if err := s.PutTrack(ctx, "r1", track); err != nil {
		t.Fatal(err)
	}
	if n := search(); n != 1 {
		t.Fatalf("a visible draft's words find %d replays, want 1", n)
	}
	track.Visible, track.Status = false, "reviewed"
	if err := s.PutTrack(ctx, "r1", track); err != nil {
		t.Fatal(err)
	}
	if n := search(); n != 1 {
		t.Fatalf("a reviewed track's words find %d replays, want 1", n)
	}
}
