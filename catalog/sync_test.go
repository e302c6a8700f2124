package catalog

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExtractVersion(t *testing.T) {
	tests := []struct {
		texts []string
		want  string
	}{
		{[]string{"v28.0.1"}, "28.0.1"},
		{[]string{"Nextcloud 28.0.1"}, "28.0.1"},
		{[]string{"Nextcloud Hub 7 (28.0.0)"}, "28.0.0"},
		{[]string{"Release 6.3 (LTS)"}, "6.3"},
		{[]string{"nextcloud-28.0.0rc1"}, "28.0.0rc1"},
		{[]string{"v28.0.0-rc.2: second candidate"}, "28.0.0-rc.2"},
		{[]string{"Ubuntu 24.04 LTS"}, "24.04"},
		{[]string{"Build 42: 1.2.3"}, "1.2.3"},
		{[]string{"Weekly news", "v26.0.0"}, "26.0.0"},
		{[]string{"Version 7"}, "7"},
		{[]string{"Weekly news", "nightly"}, ""},
		{[]string{"abc1.2"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.texts, "|"), func(t *testing.T) {
			got, ok := ExtractVersion(tt.texts...)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("ExtractVersion = %q %v, want %q", got, ok, tt.want)
			}
		})
	}
}

// forgeFeed serves a releases.atom like Forgejo's and GitHub's, whose entries can change.
type forgeFeed struct {
	mu      sync.Mutex
	entries []string // titles; a title "link:v1.2" has no version in its title, only in its tag link
	fail    bool
}

func (f *forgeFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml")
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Releases for nextcloud/server</title>
  <id>https://forge.example/nextcloud/server/releases</id>
  <updated>2024-01-10T00:00:00Z</updated>
  <link href="https://forge.example/nextcloud/server/releases"></link>`)
	for i, title := range f.entries {
		tag := fmt.Sprintf("entry%d", i)
		if v, ok := ExtractVersion(title); ok {
			tag = v
		}
		if t, ok := strings.CutPrefix(title, "link:"); ok {
			title, tag = "Monthly news", t
		}
		fmt.Fprintf(w, `
  <entry>
    <title>%s</title>
    <updated>2023-%02d-15T10:00:00Z</updated>
    <id>tag:forge.example,2008:Repository/1/%s</id>
    <link href="https://forge.example/nextcloud/server/releases/tag/%s" rel="alternate"></link>
    <content type="html">&lt;p&gt;notes&lt;/p&gt;</content>
  </entry>`, title, i+1, tag, tag)
	}
	fmt.Fprint(w, "\n</feed>\n")
}

func TestSyncReleases(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	feed := &forgeFeed{entries: []string{"Nextcloud 28.0.1", "v28.0.0-rc1", "Nextcloud 28.0.0", "v27.1.4", "link:v26.0.0", "Roadmap"}}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	broken := &forgeFeed{fail: true}
	brokenSrv := httptest.NewServer(broken)
	defer brokenSrv.Close()
	for _, sw := range []NewSoftware{
		{Slug: "nextcloud", Name: "Nextcloud", ReleaseFeed: srv.URL + "/nextcloud/server/releases.atom"},
		{Slug: "broken", Name: "Broken", ReleaseFeed: brokenSrv.URL + "/releases.atom"},
		{Slug: "nofeed", Name: "No feed"},
	} {
		if _, err := s.CreateSoftware(ctx, sw); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateReplay(ctx, NewReplay{ID: "r", Title: "Files", Documents: []Tag{{"nextcloud", "27.1.4"}}}); err != nil {
		t.Fatal(err)
	}

	results, err := s.SyncReleases(ctx, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("a failing feed must be reported: %v", err)
	}
	if len(results) != 2 || results[0].Software != "broken" || results[0].Err == nil || results[1].Err != nil {
		t.Fatalf("results = %+v", results)
	}
	nc := results[1]
	if nc.Skipped != 1 {
		t.Errorf("skipped = %d, want 1 (the entry without a version)", nc.Skipped)
	}
	type rel struct {
		version string
		change  bool
	}
	var got []rel
	for _, r := range nc.Added {
		got = append(got, rel{r.Version, r.InterfaceChange})
		if r.Reviewed || r.Source != SourceFeed {
			t.Errorf("%s: reviewed %v source %q; feed releases are unreviewed", r.Version, r.Reviewed, r.Source)
		}
	}
	want := []rel{{"26.0.0", true}, {"27.1.4", true}, {"28.0.0-rc1", false}, {"28.0.0", true}, {"28.0.1", false}}
	if !slices.Equal(got, want) {
		t.Fatalf("added %v, want %v", got, want)
	}
	sw, err := s.Software(ctx, "nextcloud")
	if err != nil {
		t.Fatal(err)
	}
	if sw.SyncedAt == nil || sw.Releases[0].ReleasedAt != time.Date(2023, 1, 15, 10, 0, 0, 0, time.UTC) {
		t.Fatalf("synced_at %v, newest release %+v", sw.SyncedAt, sw.Releases[0])
	}
	r, _ := s.Replay(ctx, "r")
	if r.Freshness.Status != Outdated || r.Freshness.Tags[0].OutdatedBy.Version != "28.0.0" {
		t.Fatalf("replay after sync: %+v", r.Freshness)
	}

	// A second sync adds only what is new; known releases (even edited by animators) stay.
	feed.mu.Lock()
	feed.entries = append([]string{"v29.0.0"}, feed.entries...)
	feed.mu.Unlock()
	results, err = s.SyncReleases(ctx, SyncOptions{Software: "nextcloud"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || len(results[0].Added) != 1 || results[0].Added[0].Version != "29.0.0" || !results[0].Added[0].InterfaceChange {
		t.Fatalf("second sync = %+v", results)
	}
	checkStoredFreshness(t, s)
	if _, err := s.SyncReleases(ctx, SyncOptions{Software: "nofeed"}); err == nil {
		t.Fatal("syncing a software without feed must say so")
	}
	if _, err := s.SyncReleases(ctx, SyncOptions{Software: "nextclod"}); err == nil || !strings.Contains(err.Error(), "nextcloud") {
		t.Fatalf("unknown software: %v", err)
	}
}

// TestSyncPartialHistory: a feed only lists the latest releases; its oldest entry (26.0.5) is not
// taken for the start of major 26, so replays of 26.0.0 are not outdated by it, while 27.0.0 is.
func TestSyncPartialHistory(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	srv := httptest.NewServer(&forgeFeed{entries: []string{"v27.0.1", "v27.0.0", "v26.0.6", "v26.0.5"}})
	defer srv.Close()
	if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: "nextcloud", Name: "Nextcloud", ReleaseFeed: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReplay(ctx, NewReplay{ID: "r", Title: "r", Documents: []Tag{{"nextcloud", "26.0.0"}}}); err != nil {
		t.Fatal(err)
	}
	results, err := s.SyncReleases(ctx, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, r := range results[0].Added {
		if r.InterfaceChange {
			changes = append(changes, r.Version)
		}
	}
	if !slices.Equal(changes, []string{"27.0.0"}) {
		t.Fatalf("interface changes %v, want [27.0.0]", changes)
	}
	r, _ := s.Replay(ctx, "r")
	if r.Freshness.Status != Outdated || r.Freshness.Tags[0].OutdatedBy.Version != "27.0.0" {
		t.Fatalf("replay of 26.0.0: %+v", r.Freshness)
	}
}

func TestSyncWorker(t *testing.T) {
	s := newStore(t)
	if s.SyncWorker(0, nil) != nil {
		t.Fatal("interval 0 must disable the worker")
	}
	feed := &forgeFeed{entries: []string{"v1.0.0"}}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: "app", Name: "App", ReleaseFeed: srv.URL}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.SyncWorker(time.Hour, nil)(ctx) }()
	// The first sync runs at once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v, err := s.LatestRelease(ctx, "app"); err == nil && v == "1.0.0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not sync at start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("worker returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not stop")
	}
}
