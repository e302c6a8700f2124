package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/schedule"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// mainFixture is a database made by main at e1bdd0b, before goose (the hand-written steps and
// their schema_migrations table), with one row of each kind: tokens, a software with two
// releases, a published replay with chapters and a reviewed French subtitle track, a workshop,
// a finished recording and River's tables. Made by a program over that commit's stores.
const (
	mainFixture      = "testdata/main-e1bdd0b.db"
	mainFixtureToken = "atl_zNGg4ycqOK9zteg6h87VtZdXJnIrOrVFhT8V3qHuJUc" // Camille's, animator
)

// TestMigrateUpgradesMainDatabase: `atelier migrate` upgrades a database made by the code before
// goose in place, and everything in it reads back through the stores.
func TestMigrateUpgradesMainDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := os.ReadFile(mainFixture)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "atelier.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	migrate := func(action string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"migrate", action, "-data-dir", dir}, &out, &errOut); err != nil {
			t.Fatalf("migrate %s: %v\n%s", action, err, errOut.String())
		}
		return out.String()
	}
	before := migrate("status")
	for _, s := range []string{"auth", "catalog", "schedule", "pipeline"} {
		if !strings.Contains(before, s+"  ") {
			t.Errorf("status lists no %s schema:\n%s", s, before)
		}
	}
	if !strings.Contains(before, "pending") {
		t.Fatalf("status before the upgrade shows nothing pending:\n%s", before)
	}
	migrate("up")
	if after := migrate("status"); strings.Contains(after, "pending") {
		t.Fatalf("status after migrate up:\n%s", after)
	}
	migrate("up") // nothing left to do

	db, err := sqldb.Open(ctx, filepath.Join(dir, "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := auth.New(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := as.Authenticate(ctx, mainFixtureToken); err != nil || p.Name != "Camille" || p.Role != auth.RoleAnimator {
		t.Fatalf("the token of the old database: %+v, %v", p, err)
	}
	cat, err := catalog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := cat.Replay(ctx, "rp1")
	if err != nil {
		t.Fatal(err)
	}
	if rp.Publication != catalog.Published || len(rp.Chapters) != 2 || len(rp.Tracks) != 1 || rp.Freshness.Status != catalog.Outdated {
		t.Fatalf("replay of the old database: %+v", rp)
	}
	for _, q := range []string{"tableur", "nouveautes", "partag"} { // subtitles, accents, prefix
		list, err := cat.ListReplays(ctx, catalog.ListOptions{Public: true, Q: q})
		if err != nil || len(list.Items) != 1 {
			t.Errorf("q=%s: %+v, %v", q, list, err)
		}
	}
	st, err := schedule.OpenStore(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ws, n, err := st.Upcoming(ctx, schedule.ListFilter{Limit: 10}); err != nil || n != 1 || ws[0].Title != "Atelier Nextcloud" {
		t.Fatalf("workshops of the old database: %d, %v", n, err)
	}
	var status string
	var owner int64
	if err := db.QueryRow(`SELECT status, owner_token_id FROM recordings WHERE id = 'rp1'`).Scan(&status, &owner); err != nil ||
		status != "ready" || owner != 1 {
		t.Fatalf("recording of the old database: %s %d %v", status, owner, err)
	}
	// The former steps stay recorded as goose version 1 of each schema; the goose files that
	// came after main's database were applied on top of them.
	for _, s := range schemas {
		want := 1
		files, err := fs.Glob(s.FS, "migrations/sqlite/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if n, err := strconv.Atoi(strings.SplitN(path.Base(f), "_", 2)[0]); err == nil && n > want {
				want = n
			}
		}
		var v int
		if err := db.QueryRow(`SELECT MAX(version_id) FROM ` + s.Table()).Scan(&v); err != nil || v != want {
			t.Errorf("%s: goose version %d, %v; want %d", s.Name, v, err, want)
		}
	}
}

// TestServeOnPostgres: serve migrates an empty PostgreSQL database and answers from it; a second
// serve on the same database (two API nodes) sees a workshop created through the first in its
// calendar feed at once.
func TestServeOnPostgres(t *testing.T) {
	url := testenv.Postgres(t)
	// No media in this test: local storage, declared shared as PostgreSQL requires.
	env := map[string]string{"ATELIER_DB": url, "ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_STORAGE_SHARED": "true"}
	a, _ := startServer(t, env)
	b, _ := startServer(t, env)
	do := func(method, url string, body any) (*http.Response, []byte) {
		t.Helper()
		var r *bytes.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			r = bytes.NewReader(j)
		} else {
			r = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, url, r)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return resp, buf.Bytes()
	}
	if resp, body := do("POST", a+"/api/software", map[string]any{"slug": "nextcloud", "name": "Nextcloud"}); resp.StatusCode != 201 {
		t.Fatalf("create software: %d %s", resp.StatusCode, body)
	}
	if resp, body := do("GET", b+"/api/software", nil); resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"nextcloud"`)) {
		t.Fatalf("software through the other node: %d %s", resp.StatusCode, body)
	}
	if resp, body := do("GET", b+"/api/replays?q=nextcloud", nil); resp.StatusCode != 200 {
		t.Fatalf("search: %d %s", resp.StatusCode, body)
	}
	resp, _ := do("GET", b+"/calendar.ics", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" {
		t.Fatalf("calendar: %d, ETag %q", resp.StatusCode, etag)
	}
	if resp, body := do("POST", a+"/api/workshops", map[string]any{"title": "Atelier Nextcloud", "starts_at": "2027-03-03T18:00:00",
		"timezone": "Europe/Paris", "duration": "PT1H30M"}); resp.StatusCode != 201 {
		t.Fatalf("create workshop: %d %s", resp.StatusCode, body)
	}
	resp, body := do("GET", b+"/calendar.ics", nil)
	if resp.Header.Get("ETag") == etag || !bytes.Contains(body, []byte("Atelier Nextcloud")) {
		t.Fatalf("the other node's calendar did not change (ETag %q):\n%s", resp.Header.Get("ETag"), body)
	}
}
