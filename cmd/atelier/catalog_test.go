package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// TestCatalogRoutes goes through the real route table: writes need a token, reads are public,
// the feed is Atom, and the API routes are not shadowed by the pages.
func TestCatalogRoutes(t *testing.T) {
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})
	do := func(method, path, token, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	tests := []struct {
		method, path, token, body string
		want                      int
		contains                  string
	}{
		{"POST", "/api/software", "", `{"slug":"nextcloud","name":"Nextcloud"}`, 401, ""},
		{"POST", "/api/software", testAdminToken, `{"slug":"nextcloud","name":"Nextcloud"}`, 201, `"slug":"nextcloud"`},
		{"POST", "/api/software/nextcloud/releases", "", `{"version":"28.0.0"}`, 401, ""},
		{"POST", "/api/software/nextcloud/releases", testAdminToken, `{"version":"28.0.0"}`, 201, `"interface_change":true`},
		{"POST", "/api/software/nextcloud/releases", testAdminToken, `{"version":"28.x"}`, 422, `"field":"version"`},
		{"PATCH", "/api/software/nextcloud/releases/28.0.0", "", `{"interface_change":false}`, 401, ""},
		{"PATCH", "/api/software/nextcloud/releases/28.0.0", testAdminToken, `{"notes":"New Files app"}`, 200, `"reviewed":true`},
		{"PATCH", "/api/software/nextcloud", testAdminToken, `{"homepage":"https://nextcloud.com"}`, 200, `"homepage":"https://nextcloud.com"`},
		{"GET", "/api/software", "", "", 200, `"total":1`},
		{"GET", "/api/software/nextcloud", "", "", 200, `"version":"28.0.0"`},
		{"GET", "/api/replays", "", "", 200, `"items":[]`},
		{"GET", "/api/replays?software=nextclod", "", "", 422, `did you mean \"nextcloud\"?`},
		{"GET", "/api/replays?for=nextcloud@28.0.1", "", "", 200, `"total":0`},
		{"GET", "/api/replays/nope", "", "", 404, ""},
		{"PATCH", "/api/replays/nope", "", `{"publication":"published"}`, 401, ""},
		{"PATCH", "/api/replays/nope", testAdminToken, `{"publication":"published"}`, 404, ""},
		{"GET", "/api/freshness", "", "", 200, `"software":[]`},
		{"GET", "/freshness.atom", "", "", 200, `<feed xmlns="http://www.w3.org/2005/Atom">`},
		{"GET", "/replays.atom", "", "", 200, `<feed xmlns="http://www.w3.org/2005/Atom"`},
		{"GET", "/replays.atom?language=fr", "", "", 200, `<link href="http://127.0.0.1:`},
		{"GET", "/software/nextcloud/replays.atom", "", "", 200, `Atelier: replays about Nextcloud`},
		{"GET", "/software/nope/replays.atom", "", "", 404, `not found`},
		{"GET", "/podcast.rss", "", "", 200, `xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"`},
		{"GET", "/podcast.rss?media=flac", "", "", 422, `"field":"media"`},
	}
	for _, tt := range tests {
		code, body, _ := do(tt.method, tt.path, tt.token, tt.body)
		if code != tt.want || !strings.Contains(body, tt.contains) {
			t.Errorf("%s %s = %d %s, want %d with %s", tt.method, tt.path, code, body, tt.want, tt.contains)
		}
	}
	if _, _, h := do("GET", "/freshness.atom", "", ""); !strings.HasPrefix(h.Get("Content-Type"), "application/atom+xml") {
		t.Errorf("feed content type %q", h.Get("Content-Type"))
	}
}

func TestSoftwareSyncCommand(t *testing.T) {
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Releases</title><id>x</id><updated>2024-01-01T00:00:00Z</updated>
<entry><title>Nextcloud 28.0.1</title><id>1</id><updated>2023-12-21T10:00:00Z</updated></entry>
<entry><title>v28.0.0</title><id>2</id><updated>2023-12-12T10:00:00Z</updated></entry>
</feed>`)
	}))
	defer feed.Close()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := catalog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud", ReleaseFeed: feed.URL + "/releases.atom"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out, errOut bytes.Buffer
	// The feed is on loopback: refused unless the operator allows private feeds.
	if err := run(ctx, []string{"software", "sync", "-data-dir", dir}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "loopback address") || !strings.Contains(err.Error(), "-allow-private-feeds") {
		t.Fatalf("sync of a loopback feed without -allow-private-feeds: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"software", "sync", "-allow-private-feeds", "-data-dir", dir, "-log-format", "json"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "28.0.0, 28.0.1") || !strings.Contains(out.String(), "ok") {
		t.Fatalf("output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"software", "sync", "-allow-private-feeds", "-data-dir", dir, "-software", "nextcloud"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nextcloud  -") {
		t.Fatalf("a second sync should add nothing:\n%s", out.String())
	}
	for _, args := range [][]string{{"software"}, {"software", "frobnicate"}, {"software", "sync", "-nope"}} {
		err := run(ctx, args, &out, &errOut)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%v: err = %v, want exit code 2", args, err)
		}
	}
	if err := run(ctx, []string{"software", "sync", "-data-dir", dir, "-software", "nextclod"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), `did you mean "nextcloud"`) {
		t.Fatalf("unknown software: %v", err)
	}
}

// TestConcurrentReplayPatches: 40 animators PATCH the same replay at once through the real
// server. Every request succeeds (writes wait their turn instead of failing with "database is
// locked"), and the replay ends as one of the requests left it: title, description, documents
// and chapters all from the same request, never a mix of two.
func TestConcurrentReplayPatches(t *testing.T) {
	const token = "concurrent-patches-admin-token-0123456789"
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := catalog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSoftware(ctx, catalog.NewSoftware{Slug: "app", Name: "App"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateReplay(ctx, catalog.NewReplay{ID: "r1", Title: "start", Documents: []catalog.Tag{{Software: "app", Version: "1.0"}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	base, _ := startServer(t, map[string]string{"ATELIER_DATA_DIR": dir, "ATELIER_ADMIN_TOKEN": token, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})

	for round := range 8 {
		patchConcurrently(t, base, token, round)
	}
}

// patchConcurrently sends 40 PATCHes at once and checks that all succeed and that the replay is
// left whole by one of them.
func patchConcurrently(t *testing.T, base, token string, round int) {
	t.Helper()
	const n = 40
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"title":"title %[1]d","description":"description %[1]d","language":"fr",
				"documents":[{"software":"app","version":"1.%[1]d"}],
				"chapters":[{"start_ms":0,"title":"chapter %[1]d","documents":[{"software":"app","version":"2.%[1]d"}]},
				            {"start_ms":1000,"title":"second %[1]d","documents":[]}]}`, round*n+i)
			req, _ := http.NewRequest("PATCH", base+"/api/replays/r1", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			codes[i], bodies[i] = resp.StatusCode, string(b)
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != http.StatusOK {
			t.Errorf("round %d, PATCH %d: %d %s", round, i, codes[i], bodies[i])
		}
	}
	req, _ := http.NewRequest("GET", base+"/api/replays/r1", nil)
	req.Header.Set("Authorization", "Bearer "+token) // a draft: animators only
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rp catalog.Replay
	if err := json.NewDecoder(resp.Body).Decode(&rp); err != nil {
		t.Fatal(err)
	}
	var k int
	if _, err := fmt.Sscanf(rp.Title, "title %d", &k); err != nil {
		t.Fatalf("final title %q", rp.Title)
	}
	want := fmt.Sprintf("description %d|fr|app 1.%d|chapter %d: app 2.%d|second %d:", k, k, k, k, k)
	got := rp.Description + "|" + rp.Language
	for _, d := range rp.Documents {
		got += "|" + d.Software + " " + d.Version
	}
	for _, c := range rp.Chapters {
		got += "|" + c.Title + ":"
		for _, d := range c.Documents {
			got += " " + d.Software + " " + d.Version
		}
	}
	if got != want {
		t.Fatalf("round %d: final replay mixes requests: title %q, rest %q, want %q", round, rp.Title, got, want)
	}
}
