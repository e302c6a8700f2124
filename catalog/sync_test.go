package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
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

	results, err := s.SyncReleases(ctx, SyncOptions{AllowPrivate: true})
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
	results, err = s.SyncReleases(ctx, SyncOptions{Software: "nextcloud", AllowPrivate: true})
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
	results, err := s.SyncReleases(ctx, SyncOptions{AllowPrivate: true})
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
	if s.SyncWorker(0, SyncOptions{}) != nil {
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
	go func() { done <- s.SyncWorker(time.Hour, SyncOptions{AllowPrivate: true})(ctx) }()
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

// TestSyncRefusesPrivateFeeds: release feeds are URLs any animator sets and the server fetches,
// so by default the sync reads public addresses only, checked on the address connected to:
// literal loopback addresses, names that resolve to one, IPv4-mapped IPv6, and redirects from a
// public host to an internal one are all refused, and nothing from them becomes a release.
func TestSyncRefusesPrivateFeeds(t *testing.T) {
	ctx := context.Background()
	internal := httptest.NewServer(&forgeFeed{entries: []string{"v9.9.9 internal secret"}})
	defer internal.Close()
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	// public stands for a public host (tests have none): the check lets its address through.
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer public.Close()
	publicAddr := netip.MustParseAddrPort(public.Listener.Addr().String())
	tests := []struct{ name, feed, why string }{
		{"loopback", internal.URL + "/releases.atom", "127.0.0.1 is a loopback address"},
		{"name resolving to loopback", "http://localhost:" + port + "/releases.atom", "loopback address"},
		{"IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]:" + port + "/releases.atom", "127.0.0.1 is a loopback address"},
		{"unspecified", "http://0.0.0.0:" + port + "/releases.atom", "unspecified address"},
		{"redirect to loopback", public.URL + "/go?to=" + url.QueryEscape(internal.URL+"/releases.atom"), "127.0.0.1 is a loopback address"},
		{"redirect to mapped loopback", public.URL + "/go?to=" + url.QueryEscape("http://[::ffff:127.0.0.1]:"+port+"/"), "loopback address"},
		{"redirect to metadata service", public.URL + "/go?to=" + url.QueryEscape("http://169.254.169.254/latest/meta-data/"), "169.254.169.254 is a link-local address"},
		{"redirect to another scheme", public.URL + "/go?to=" + url.QueryEscape("file:///etc/passwd"), `scheme "file"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: "app", Name: "App", ReleaseFeed: tt.feed}); err != nil {
				t.Fatal(err)
			}
			results, err := s.SyncReleases(ctx, SyncOptions{treatAsPublic: publicAddr})
			if err == nil || !errors.Is(err, ErrFeedRefused) || !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("sync of %s: err = %v, want refused (%s)", tt.feed, err, tt.why)
			}
			if len(results) != 1 || len(results[0].Added) != 0 {
				t.Fatalf("results = %+v", results)
			}
			if v, err := s.LatestRelease(ctx, "app"); err == nil && v != "" {
				t.Fatalf("a refused feed added release %q", v)
			}
		})
	}
	// The stand-in for a public host is itself reachable: the refusals above are the check's,
	// not a broken test server (its redirect to a public feed would be followed).
	t.Run("operator allows private feeds", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: "app", Name: "App",
			ReleaseFeed: public.URL + "/go?to=" + url.QueryEscape(internal.URL+"/releases.atom")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SyncReleases(ctx, SyncOptions{AllowPrivate: true}); err != nil {
			t.Fatal(err)
		}
		if v, err := s.LatestRelease(ctx, "app"); err != nil || v != "9.9.9" {
			t.Fatalf("latest = %q %v", v, err)
		}
	})
}

func TestNotPublic(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want string
	}{
		{"127.0.0.1", "loopback"}, {"127.1.2.3", "loopback"}, {"::1", "loopback"}, {"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"}, {"172.16.5.4", "private"}, {"192.168.1.1", "private"}, {"fd00::1", "private"},
		{"::ffff:10.1.1.1", "private"}, {"169.254.169.254", "link-local"}, {"fe80::1", "link-local"},
		{"224.0.0.1", "multicast"}, {"ff02::1", "multicast"}, {"0.0.0.0", "unspecified"}, {"::", "unspecified"},
		{"100.64.0.1", "shared (carrier-grade NAT)"}, {"64:ff9b::7f00:1", "NAT64"}, {"2002:7f00:1::", "6to4"},
		{"255.255.255.255", "broadcast"}, {"0.1.2.3", `"this network"`},
		{"93.184.215.14", ""}, {"2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""}, {"::ffff:93.184.215.14", ""},
	} {
		if got := notPublic(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("notPublic(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// hugeFeed streams an endless-looking Atom feed of size bytes without holding it: a header, then
// the same entry over and over.
type hugeFeed struct{ size int64 }

func (h hugeFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/atom+xml")
	head := `<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>big</title>`
	entry := []byte(`<entry><title>Nextcloud 28.0.1</title><id>x</id><updated>2023-12-21T10:00:00Z</updated><content>` +
		strings.Repeat("padding ", 100) + `</content></entry>`)
	written, _ := io.WriteString(w, head)
	for n := int64(written); n < h.size; n += int64(len(entry)) {
		if _, err := w.Write(entry); err != nil {
			return // the client stopped reading: what the cap should do
		}
	}
	io.WriteString(w, `</feed>`)
}

// TestSyncRefusesOversizeFeed: a 120 MB feed is refused with a clear error after the first few
// MiB, and the sync allocates a bounded amount of memory (it raised memory by 270 MB before).
func TestSyncRefusesOversizeFeed(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	srv := httptest.NewServer(hugeFeed{size: 120 << 20})
	defer srv.Close()
	if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: "app", Name: "App", ReleaseFeed: srv.URL}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := s.SyncReleases(ctx, SyncOptions{AllowPrivate: true})
	runtime.ReadMemStats(&after)
	if err == nil || !errors.Is(err, ErrFeedRefused) || !strings.Contains(err.Error(), "larger than the 4 MiB limit") {
		t.Fatalf("err = %v, want the size limit", err)
	}
	// Everything allocated during the sync (server side included), not only what stayed: a
	// sync that read the whole feed allocates at least its 120 MB.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated during the sync: %d MiB", alloc>>20)
	if alloc > 64<<20 {
		t.Fatalf("the sync allocated %d MiB for a refused feed, want a bounded amount (< 64 MiB)", alloc>>20)
	}
	if v, err := s.LatestRelease(ctx, "app"); err == nil && v != "" {
		t.Fatalf("a refused feed added release %q", v)
	}
}

func TestReleaseFeedScheme(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, feed := range []string{"file:///etc/passwd", "gopher://x/", "ftp://forge.example/releases.atom", "/releases.atom", "http://"} {
		_, err := s.CreateSoftware(ctx, NewSoftware{Slug: "app", Name: "App", ReleaseFeed: feed})
		var inv *httpapi.InvalidError
		if !errors.As(err, &inv) || inv.Field != "release_feed" {
			t.Errorf("create with %q: %v, want 422 on release_feed", feed, err)
		}
	}
	if _, err := s.CreateSoftware(ctx, NewSoftware{Slug: "app", Name: "App"}); err != nil {
		t.Fatal(err)
	}
	bad := "file:///etc/passwd"
	_, err := s.UpdateSoftware(ctx, "app", SoftwareUpdate{ReleaseFeed: &bad})
	var inv *httpapi.InvalidError
	if !errors.As(err, &inv) || inv.Field != "release_feed" {
		t.Errorf("update: %v, want 422 on release_feed", err)
	}
}
