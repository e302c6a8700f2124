package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/mmcdole/gofeed"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// fixture is the catalog's handlers behind a router like cmd/atelier's, with real tokens.
type fixture struct {
	t        *testing.T
	store    *Store
	srv      *httptest.Server
	animator string // an animator token
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tokens, err := auth.New(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := tokens.Create(ctx, "anna", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, animator: secret, now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	st.SetClock(func() time.Time { return f.now })
	api := &API{Store: st, AllowPrivateFeeds: true, PublicURL: "https://atelier.example", IsAnimator: func(r *http.Request) bool {
		p, err := tokens.Authenticate(r.Context(), auth.BearerToken(r))
		return err == nil && (p.Role == auth.RoleAnimator || p.Role == auth.RoleAdmin)
	}}
	h := func(fn httpapi.HandlerFunc) http.Handler { return fn }
	animator := func(next http.Handler) http.Handler { return tokens.Require(auth.RoleAnimator, next) }
	r := mux.NewRouter()
	r.Handle("/api/software", h(api.ListSoftware)).Methods("GET")
	r.Handle("/api/software", animator(h(api.CreateSoftware))).Methods("POST")
	r.Handle("/api/software/{slug}", h(api.GetSoftware)).Methods("GET")
	r.Handle("/api/software/{slug}", animator(h(api.UpdateSoftware))).Methods("PATCH")
	r.Handle("/api/software/{slug}/releases/{version}", animator(h(api.ReviewRelease))).Methods("PATCH")
	r.Handle("/api/software/{slug}/releases", animator(h(api.AddRelease))).Methods("POST")
	r.Handle("/api/software/{slug}/sync", animator(h(api.SyncSoftware))).Methods("POST")
	r.Handle("/api/replays", h(api.ListReplays)).Methods("GET")
	r.Handle("/api/replays/{id}", h(api.GetReplay)).Methods("GET")
	r.Handle("/api/replays/{id}", animator(h(api.PatchReplay))).Methods("PATCH")
	r.Handle("/api/freshness", h(api.Freshness)).Methods("GET")
	r.Handle("/freshness.atom", h(api.FreshnessAtom)).Methods("GET")
	f.srv = httptest.NewServer(httpapi.Middleware(slog.New(slog.DiscardHandler), r))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request (with the animator token when token is true) and returns status and body.
func (f *fixture) do(method, path string, token bool, body string) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if token {
		req.Header.Set("Authorization", "Bearer "+f.animator)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (f *fixture) json(method, path string, token bool, body string, want int, v any) {
	f.t.Helper()
	code, b := f.do(method, path, token, body)
	if code != want {
		f.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			f.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// replay creates a replay as the pipeline would, made ready and given pub, one minute after the last.
func (f *fixture) replay(id, title, lang string, pub Publication, docs []Tag, chapters []Chapter) {
	f.t.Helper()
	ctx := context.Background()
	f.now = f.now.Add(time.Minute)
	if err := f.store.CreateReplay(ctx, NewReplay{ID: id, Title: title, Language: lang, Documents: docs, Chapters: chapters}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.SetProcessing(ctx, id, Ready, 60_000); err != nil {
		f.t.Fatal(err)
	}
	if pub != Draft {
		if err := f.store.UpdateReplay(ctx, id, ReplayUpdate{Publication: (*string)(&pub)}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// seed builds the catalog the list tests query:
//
//	nextcloud releases 26.0.0, 27.0.0, 27.1.4, 28.0.0, 28.0.1 (interface changes: each new major)
//	libreoffice releases 7.6.0, 24.2 (calendar version: a new first component is a new major)
//	a  published fr  nextcloud 27.1.4                       -> outdated by 28.0.0
//	b  published en  nextcloud 28.0.1, subtitles "share"    -> current
//	c  published en  libreoffice 24.2, chapter nextcloud 28 -> current
//	d  published fr  nextcloud 29.0.0                       -> unknown
//	e  draft     fr  nextcloud 27.0.0                       -> outdated
//	f  unlisted  en  nextcloud 28.0.0                       -> current
//	g  published en  nextcloud 28.0.0, chapter 2 at 26.0.0  -> outdated (by its chapter)
func (f *fixture) seed() {
	f.t.Helper()
	f.json("POST", "/api/software", true, `{"slug":"nextcloud","name":"Nextcloud","homepage":"https://nextcloud.com"}`, 201, nil)
	f.json("POST", "/api/software", true, `{"slug":"libreoffice","name":"LibreOffice"}`, 201, nil)
	for _, v := range []string{"26.0.0", "27.0.0", "27.1.4", "28.0.0", "28.0.1"} {
		f.json("POST", "/api/software/nextcloud/releases", true, `{"version":"`+v+`","released_at":"2025-01-01"}`, 201, nil)
	}
	for _, v := range []string{"7.6.0", "24.2"} {
		f.json("POST", "/api/software/libreoffice/releases", true, `{"version":"`+v+`","released_at":"2025-02-01"}`, 201, nil)
	}
	nc := func(v string) []Tag { return []Tag{{"nextcloud", v}} }
	f.replay("a", "Partager des fichiers", "fr", Published, nc("27.1.4"), nil)
	f.replay("b", "Files app tour", "en", Published, nc("28.0.1"), nil)
	if err := f.store.PutTrack(context.Background(), "b", Track{Lang: "en", Kind: "manual", Status: "reviewed", CueCount: 3,
		Text: "Now click the share button to send a link"}); err != nil {
		f.t.Fatal(err)
	}
	f.replay("c", "Calc basics", "en", Published, []Tag{{"libreoffice", "24.2"}},
		[]Chapter{{StartMS: 0, Title: "Intro"}, {StartMS: 30_000, Title: "Pivot tables in the cloud", Documents: nc("28.0.0")}})
	f.replay("d", "Nouveautés", "fr", Published, nc("29.0.0"), nil)
	f.replay("e", "Brouillon", "fr", Draft, nc("27.0.0"), nil)
	f.replay("f", "Unlisted talk", "en", Unlisted, nc("28.0.0"), nil)
	f.replay("g", "Admin settings", "en", Published, nc("28.0.0"),
		[]Chapter{{StartMS: 0, Title: "Overview"}, {StartMS: 10_000, Title: "Old users page", Documents: nc("26.0.0")}})
}

// checkStoredFreshness checks that the status stored for the filter is the status computed from
// the data, for every replay.
func checkStoredFreshness(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	rows, err := s.db.QueryContext(ctx, `SELECT id, freshness FROM replays`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for rows.Next() {
		var id string
		var rank int
		if err := rows.Scan(&id, &rank); err != nil {
			t.Fatal(err)
		}
		stored[id] = rank
	}
	rows.Close()
	if len(stored) == 0 {
		t.Fatal("no replays to check")
	}
	for id, rank := range stored {
		r, err := s.Replay(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if statusRank[r.Freshness.Status] != rank {
			t.Errorf("replay %s: stored status rank %d, computed %s", id, rank, r.Freshness.Status)
		}
	}
}

func ids(l list[ReplayJSON]) []string {
	out := []string{}
	for _, r := range l.Items {
		out = append(out, r.ID)
	}
	return out
}

func TestSoftwareAndReleasesAPI(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path string
		token              bool
		body               string
		want               int
		wantBody           string // substring
	}{
		{"create needs a token", "POST", "/api/software", false, `{"slug":"nextcloud","name":"Nextcloud"}`, 401, ""},
		{"create", "POST", "/api/software", true, `{"slug":"nextcloud","name":"Nextcloud","release_feed":"https://example.org/releases.atom"}`, 201, `"slug":"nextcloud"`},
		{"duplicate", "POST", "/api/software", true, `{"slug":"nextcloud","name":"Nextcloud"}`, 409, ""},
		{"bad slug", "POST", "/api/software", true, `{"slug":"Next Cloud","name":"x"}`, 422, `"field":"slug"`},
		{"no name", "POST", "/api/software", true, `{"slug":"x"}`, 422, `"field":"name"`},
		{"bad feed URL", "POST", "/api/software", true, `{"slug":"x","name":"X","release_feed":"ftp://x"}`, 422, `"field":"release_feed"`},
		{"unknown field", "POST", "/api/software", true, `{"slug":"x","name":"X","colour":1}`, 422, `colour`},
		{"get", "GET", "/api/software/nextcloud", false, "", 200, `"latest_release":null`},
		{"get unknown", "GET", "/api/software/nope", false, "", 404, ""},
		{"release needs a token", "POST", "/api/software/nextcloud/releases", false, `{"version":"27.0.0"}`, 401, ""},
		{"first release is a new major", "POST", "/api/software/nextcloud/releases", true, `{"version":"v27.0.0","released_at":"2023-06-12"}`, 201, `"interface_change":true`},
		{"minor", "POST", "/api/software/nextcloud/releases", true, `{"version":"27.1.4","released_at":"2023-11-30T10:00:00Z"}`, 201, `"interface_change":false`},
		{"same version again", "POST", "/api/software/nextcloud/releases", true, `{"version":"27.1.4.0"}`, 409, ""},
		{"pre-release", "POST", "/api/software/nextcloud/releases", true, `{"version":"28.0.0-rc1"}`, 201, `"interface_change":false`},
		{"new major after its rc", "POST", "/api/software/nextcloud/releases", true, `{"version":"28.0.0","notes":"New Files app"}`, 201, `"interface_change":true`},
		{"explicit no change", "POST", "/api/software/nextcloud/releases", true, `{"version":"29.0.0","interface_change":false}`, 201, `"interface_change":false`},
		{"explicit change on a minor", "POST", "/api/software/nextcloud/releases", true, `{"version":"28.1.0","interface_change":true}`, 201, `"interface_change":true`},
		{"reviewed when from the API", "POST", "/api/software/nextcloud/releases", true, `{"version":"28.1.1"}`, 201, `"reviewed":true`},
		{"unparseable version", "POST", "/api/software/nextcloud/releases", true, `{"version":"latest"}`, 422, `"field":"version"`},
		{"bad date", "POST", "/api/software/nextcloud/releases", true, `{"version":"28.2.0","released_at":"12/12/2023"}`, 422, `"field":"released_at"`},
		{"release of unknown software", "POST", "/api/software/nope/releases", true, `{"version":"1.0"}`, 404, ""},
		{"list", "GET", "/api/software", false, "", 200, `"total":1`},
		{"review needs a token", "PATCH", "/api/software/nextcloud/releases/28.1.0", false, `{"interface_change":false}`, 401, ""},
		{"review", "PATCH", "/api/software/nextcloud/releases/v28.1.0", true, `{"interface_change":false,"notes":"only icons"}`, 200, `"interface_change":false`},
		{"review unknown release", "PATCH", "/api/software/nextcloud/releases/28.9", true, `{"interface_change":false}`, 404, ""},
		{"review unknown software", "PATCH", "/api/software/nope/releases/28.1.0", true, `{"interface_change":false}`, 404, ""},
		{"rename", "PATCH", "/api/software/nextcloud", true, `{"name":"Nextcloud Hub"}`, 200, `"name":"Nextcloud Hub"`},
		{"rename keeps the feed", "GET", "/api/software/nextcloud", false, ``, 200, `"release_feed":"https://example.org/releases.atom"`},
		{"bad feed on update", "PATCH", "/api/software/nextcloud", true, `{"release_feed":"nope"}`, 422, `"field":"release_feed"`},
		{"update unknown", "PATCH", "/api/software/nope", true, `{"name":"x"}`, 404, ""},
		{"latest is the highest version", "GET", "/api/software/nextcloud", false, "", 200, `"latest_release":{"software":"nextcloud","version":"29.0.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(tt.method, tt.path, tt.token, tt.body)
			if code != tt.want || !bytes.Contains(body, []byte(tt.wantBody)) {
				t.Fatalf("%s %s = %d %s; want %d containing %s", tt.method, tt.path, code, body, tt.want, tt.wantBody)
			}
		})
	}
	// Releases come newest first, in version order, not in the order they were added.
	var sw Software
	f.json("GET", "/api/software/nextcloud", false, "", 200, &sw)
	var got []string
	for _, r := range sw.Releases {
		got = append(got, r.Version)
	}
	want := []string{"29.0.0", "28.1.1", "28.1.0", "28.0.0", "28.0.0-rc1", "27.1.4", "v27.0.0"}
	if !slices.Equal(got, want) {
		t.Fatalf("releases = %v, want %v", got, want)
	}
	if v, _ := f.store.LatestRelease(context.Background(), "nextcloud"); v != "29.0.0" {
		t.Fatalf("LatestRelease = %s", v)
	}
}

func TestCalendarVersionMajors(t *testing.T) {
	f := newFixture(t)
	f.json("POST", "/api/software", true, `{"slug":"ubuntu","name":"Ubuntu"}`, 201, nil)
	for _, tt := range []struct {
		version string
		change  bool
	}{{"23.10", false}, {"24.04", true}, {"24.10", false}, {"24.04.1", false}, {"22.04", false}, {"25.04", true}} {
		var rel Release
		f.json("POST", "/api/software/ubuntu/releases", true, `{"version":"`+tt.version+`"}`, 201, &rel)
		if rel.InterfaceChange != tt.change {
			t.Errorf("%s: interface_change = %v, want %v", tt.version, rel.InterfaceChange, tt.change)
		}
	}
}

func TestCheckTags(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := context.Background()
	tests := []struct {
		name      string
		tags      []Tag
		wantField string
		wantMsg   string
	}{
		{"ok", []Tag{{"nextcloud", "28.0.1"}, {"libreoffice", "v7.6"}}, "", ""},
		{"typo", []Tag{{"nextcloud", "28.0.1"}, {"nextclod", "28"}}, "chapters[2].documents[1].software", `did you mean "nextcloud"?`},
		{"other typo", []Tag{{"libreofice", "7.6"}}, "chapters[2].documents[0].software", `did you mean "libreoffice"?`},
		{"nothing close", []Tag{{"gimp", "2.10"}}, "chapters[2].documents[0].software", `unknown software "gimp"`},
		{"bad version", []Tag{{"nextcloud", "twenty-eight"}}, "chapters[2].documents[0].version", "twenty-eight"},
		{"no software", []Tag{{"", "28"}}, "chapters[2].documents[0].software", "required"},
		{"no version", []Tag{{"nextcloud", ""}}, "chapters[2].documents[0].version", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.store.CheckTags(ctx, "chapters[2].documents", tt.tags)
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			status, body := httpapi.Classify(err)
			if status != 422 || body.Field != tt.wantField || !strings.Contains(body.Error, tt.wantMsg) {
				t.Fatalf("CheckTags = %d %+v, want 422 %s %q", status, body, tt.wantField, tt.wantMsg)
			}
		})
	}
	if strings.Contains(mustErr(t, f.store.CheckTags(ctx, "documents", []Tag{{"gimp", "2"}})), "did you mean") {
		t.Fatal("suggested a slug that is nothing like gimp")
	}
	// CreateReplay validates the same way.
	err := f.store.CreateReplay(ctx, NewReplay{ID: "x", Title: "x", Documents: []Tag{{"nextclod", "28"}}})
	if _, body := httpapi.Classify(err); body.Field != "documents[0].software" {
		t.Fatalf("CreateReplay with a typo: %v", err)
	}
}

func mustErr(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	return err.Error()
}

func TestListReplays(t *testing.T) {
	f := newFixture(t)
	f.seed()
	tests := []struct {
		query string
		token bool
		want  []string // ids, in order
	}{
		{"", false, []string{"g", "d", "c", "b", "a"}},
		{"sort=published_at", false, []string{"a", "b", "c", "d", "g"}},
		{"sort=title", false, []string{"g", "c", "b", "d", "a"}},
		{"language=fr", false, []string{"d", "a"}},
		{"software=libreoffice", false, []string{"c"}},
		{"software=nextcloud", false, []string{"g", "d", "c", "b", "a"}},
		{"software=nextcloud&version=28.0.1", false, []string{"b"}},
		{"software=nextcloud&version=v28.0.0", false, []string{"g", "c"}},
		{"status=outdated", false, []string{"g", "a"}},
		{"status=unknown", false, []string{"d"}},
		{"status=current", false, []string{"c", "b"}},
		{"status=outdated&language=fr", false, []string{"a"}},
		{"for=nextcloud@28.0.2", false, []string{"c", "b"}},
		{"for=nextcloud@28.0.0", false, []string{"c"}},
		{"for=nextcloud@27.2", false, []string{"a"}},
		{"for=nextcloud@27.0.5", false, []string{}},
		{"for=nextcloud@30", false, []string{"d", "c", "b"}}, // no interface change known after 28.0.0
		{"for=libreoffice@24.2.3", false, []string{"c"}},
		{"q=partager", false, []string{"a"}},
		{"q=fichier", false, []string{"a"}},
		{"q=pivot", false, []string{"c"}},
		{"q=share+button", false, []string{"b"}},
		{"q=SHARE", false, []string{"b"}},
		{"q=nouveautes", false, []string{"d"}},
		{"q=share+pivot", false, []string{}},
		{"q=tour&status=current", false, []string{"b"}},
		{`q="OR"+NEAR(`, false, []string{}},
		{"q=published", false, []string{}}, // the publication column is not searched
		{"q=brouillon", false, []string{}},
		{"q=brouillon", true, []string{"e"}},
		{"q=brouillon&publication=draft", true, []string{"e"}},
		{"q=brouillon&publication=published", true, []string{}},
		{"q=the&sort=title", false, []string{"c", "b"}},
		{"q=the&sort=-title", false, []string{"b", "c"}},
		{"q=the&sort=newest", false, []string{"c", "b"}},
		{"sort=newest", false, []string{"g", "d", "c", "b", "a"}},
		// Animators see drafts and unlisted replays, and may filter on publication.
		{"", true, []string{"g", "f", "e", "d", "c", "b", "a"}},
		{"publication=draft", true, []string{"e"}},
		{"publication=unlisted", true, []string{"f"}},
		{"status=outdated", true, []string{"g", "e", "a"}},
		{"for=nextcloud@28.0.0", true, []string{"f", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var l list[ReplayJSON]
			f.json("GET", "/api/replays?"+tt.query, tt.token, "", 200, &l)
			if got := ids(l); !slices.Equal(got, tt.want) {
				t.Fatalf("ids = %v, want %v", got, tt.want)
			}
			if l.Total != len(tt.want) {
				t.Fatalf("total = %d, want %d", l.Total, len(tt.want))
			}
		})
	}
}

// TestBroadSearchListsNewest: above searchMax matches a search without sort= is not ranked but
// listed newest first, and still counted right, with or without other filters and offsets.
func TestBroadSearchListsNewest(t *testing.T) {
	f := newFixture(t)
	f.seed()
	defer func(n int) { searchMax = n }(searchMax)
	searchMax = 1
	for _, tt := range []struct {
		query string
		token bool
		total int
		want  []string
	}{
		{"q=the", false, 2, []string{"c", "b"}},
		{"q=the&limit=1", false, 1, []string{"c"}}, // counted to searchMax only: total 1, not exact
		{"q=the&offset=1", false, 2, []string{"b"}},
		{"q=the&offset=5", false, 2, []string{}},
		{"q=the&language=en", false, 2, []string{"c", "b"}},
		{"q=the&status=current", false, 2, []string{"c", "b"}},
		{"q=brouillon", true, 1, []string{"e"}},
		{"q=brouillon", false, 0, []string{}},
	} {
		var l list[ReplayJSON]
		f.json("GET", "/api/replays?"+tt.query, tt.token, "", 200, &l)
		if l.Total != tt.total || !slices.Equal(ids(l), tt.want) {
			t.Errorf("%s: total %d ids %v, want %d %v", tt.query, l.Total, ids(l), tt.total, tt.want)
		}
	}
}

func TestListReplaysInvalid(t *testing.T) {
	f := newFixture(t)
	f.seed()
	tests := []struct {
		query, field, msg string
		token             bool
	}{
		{"software=nextclod", "software", `did you mean "nextcloud"?`, false},
		{"version=28", "version", "give software=", false},
		{"software=nextcloud&version=latest", "version", "latest", false},
		{"status=stale", "status", "stale", false},
		{"for=nextcloud", "for", "software@version", false},
		{"for=nextclod@28", "for", `did you mean "nextcloud"?`, false},
		{"for=nextcloud@x", "for", `"x"`, false},
		{"sort=views", "sort", "views", false},
		{"sort=relevance", "sort", "q=", false},
		{"q=%21%21", "q", "no word", false},
		{"limit=500", "limit", "", false},
		{"publication=draft", "publication", "animators", false},
		{"publication=secret", "publication", "secret", true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, b := f.do("GET", "/api/replays?"+tt.query, tt.token, "")
			var body httpapi.Body
			_ = json.Unmarshal(b, &body)
			if code != 422 || body.Field != tt.field || !strings.Contains(body.Error, tt.msg) {
				t.Fatalf("= %d %s, want 422 on %s with %q", code, b, tt.field, tt.msg)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var l list[ReplayJSON]
	f.json("GET", "/api/replays?limit=2", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"g", "d"}) || l.Total != 5 || l.NextOffset == nil || *l.NextOffset != 2 {
		t.Fatalf("page 1 = %v total %d next %v", ids(l), l.Total, l.NextOffset)
	}
	f.json("GET", "/api/replays?limit=2&offset=4", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"a"}) || l.NextOffset != nil || l.Limit != 2 || l.Offset != 4 {
		t.Fatalf("last page = %v next %v", ids(l), l.NextOffset)
	}
}

func TestReplayDetailAndPublication(t *testing.T) {
	f := newFixture(t)
	f.seed()
	// Drafts are invisible without a token, unlisted replays reachable by link.
	for _, tt := range []struct {
		id    string
		token bool
		want  int
	}{{"a", false, 200}, {"e", false, 404}, {"e", true, 200}, {"f", false, 200}, {"nope", true, 404}} {
		if code, b := f.do("GET", "/api/replays/"+tt.id, tt.token, ""); code != tt.want {
			t.Errorf("GET %s (token %v) = %d %s, want %d", tt.id, tt.token, code, b, tt.want)
		}
	}
	var g ReplayJSON
	f.json("GET", "/api/replays/g", false, "", 200, &g)
	if g.Freshness.Status != Outdated || g.Freshness.Tags[0].Status != Current || len(g.Chapters) != 2 ||
		g.Chapters[0].Freshness.Status != Current || g.Chapters[1].Freshness.Status != Outdated ||
		g.Chapters[1].Freshness.Tags[0].OutdatedBy == nil || g.Chapters[1].Freshness.Tags[0].OutdatedBy.Version != "27.0.0" {
		t.Fatalf("replay g freshness = %+v chapters %+v", g.Freshness, g.Chapters)
	}
	var b ReplayJSON
	f.json("GET", "/api/replays/b", false, "", 200, &b)
	if b.Links.Video != "https://atelier.example/replays/b/video.mp4" || len(b.Links.Subtitles) != 1 ||
		b.Links.Subtitles[0].URL != "https://atelier.example/replays/b/subtitles/en.vtt" || len(b.Tracks) != 1 || b.Tracks[0].CueCount != 3 {
		t.Fatalf("replay b links %+v tracks %+v", b.Links, b.Tracks)
	}
	// Publication changes.
	f.json("PATCH", "/api/replays/e", false, `{"publication":"published"}`, 401, nil)
	f.json("PATCH", "/api/replays/e", true, `{"publication":"public"}`, 422, nil)
	f.json("PATCH", "/api/replays/e", true, `{"publication":"published","title":"Enfin publié"}`, 200, nil)
	var e ReplayJSON
	f.json("GET", "/api/replays/e", false, "", 200, &e)
	if e.Publication != Published || e.PublishedAt == nil || e.Title != "Enfin publié" {
		t.Fatalf("after PATCH: %+v", e.Replay)
	}
	var l list[ReplayJSON]
	f.json("GET", "/api/replays?q=enfin", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"e"}) {
		t.Fatalf("search after retitle = %v", ids(l))
	}
	f.json("PATCH", "/api/replays/a", true, `{"publication":"unlisted"}`, 200, nil)
	f.json("GET", "/api/replays?language=fr", false, "", 200, &l)
	if slices.Contains(ids(l), "a") {
		t.Fatal("an unlisted replay is listed")
	}
	// A replay still processing cannot be published; PublishWhenReady publishes it when ready.
	ctx := context.Background()
	if err := f.store.CreateReplay(ctx, NewReplay{ID: "p", Title: "Processing", PublishWhenReady: true}); err != nil {
		t.Fatal(err)
	}
	f.json("PATCH", "/api/replays/p", true, `{"publication":"published"}`, 409, nil)
	f.json("GET", "/api/replays/p", false, "", 404, nil)
	if err := f.store.SetProcessing(ctx, "p", Failed, 0); err != nil {
		t.Fatal(err)
	}
	f.json("GET", "/api/replays/p", false, "", 404, nil)
	if err := f.store.SetProcessing(ctx, "p", Ready, 5000); err != nil {
		t.Fatal(err)
	}
	f.json("GET", "/api/replays/p", false, "", 200, nil)
	f.json("GET", "/api/replays?q=processing", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"p"}) {
		t.Fatalf("a replay published when ready is not found by a public search: %v", ids(l))
	}
	// Retagging through PATCH validates first and changes nothing on error.
	f.json("PATCH", "/api/replays/b", true, `{"title":"New","documents":[{"software":"nextclod","version":"1"}]}`, 422, nil)
	f.json("PATCH", "/api/replays/b", true, `{"documents":[{"software":"nextcloud","version":"27.0.0"}]}`, 200, &b)
	if b.Title != "Files app tour" || b.Freshness.Status != Outdated {
		t.Fatalf("after retag: %q %v", b.Title, b.Freshness.Status)
	}
	f.json("PATCH", "/api/replays/b", true, `{"documents":[{"software":"nextcloud","version":"28.0.1"}],
		"chapters":[{"start_ms":0,"title":"Old","documents":[{"software":"nextcloud","version":"26.0.0"}]}]}`, 200, &b)
	if b.Freshness.Status != Outdated || b.Freshness.Tags[0].Status != Current || b.Chapters[0].Freshness.Status != Outdated {
		t.Fatalf("after new chapters: %+v %+v", b.Freshness, b.Chapters)
	}
	var l2 list[ReplayJSON]
	f.json("GET", "/api/replays?status=outdated&q=old", false, "", 200, &l2)
	if !slices.Equal(ids(l2), []string{"g", "b"}) {
		t.Fatalf("outdated replays with a chapter 'old': %v", ids(l2))
	}
	f.json("PATCH", "/api/replays/nope", true, `{"publication":"draft"}`, 404, nil)
	checkStoredFreshness(t, f.store)
}

// TestNewReleaseOutdatesAtOnce: freshness is computed from the data, so one POST changes every
// answer (list, detail, report) without any batch job.
func TestNewReleaseOutdatesAtOnce(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var l list[ReplayJSON]
	f.json("GET", "/api/replays?status=outdated", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"g", "a"}) {
		t.Fatalf("before: %v", ids(l))
	}
	f.json("POST", "/api/software/nextcloud/releases", true, `{"version":"29.0.0","released_at":"2025-12-01","notes":"New dashboard"}`, 201, nil)
	f.json("GET", "/api/replays?status=outdated", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"g", "c", "b", "a"}) {
		t.Fatalf("after 29.0.0, outdated = %v", ids(l))
	}
	f.json("GET", "/api/replays?status=current", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"d"}) {
		t.Fatalf("after 29.0.0, current = %v (29.0.0 is now known)", ids(l))
	}
	var c ReplayJSON
	f.json("GET", "/api/replays/c", false, "", 200, &c)
	if c.Freshness.Status != Outdated || c.Freshness.Tags[0].Status != Current || c.Chapters[1].Freshness.Status != Outdated {
		t.Fatalf("c after 29.0.0: %+v / %+v", c.Freshness, c.Chapters)
	}
	// An animator's review that 29.0.0 changed nothing visible restores the answers at once.
	f.json("PATCH", "/api/software/nextcloud/releases/29.0.0", true, `{"interface_change":false}`, 200, nil)
	f.json("GET", "/api/replays?status=outdated", false, "", 200, &l)
	if !slices.Equal(ids(l), []string{"g", "a"}) {
		t.Fatalf("after review of 29.0.0, outdated = %v", ids(l))
	}
	checkStoredFreshness(t, f.store)
	f.json("PATCH", "/api/software/nextcloud/releases/29.0.0", true, `{"interface_change":true}`, 200, nil)
	checkStoredFreshness(t, f.store)
	// A minor release changes nothing.
	f.json("POST", "/api/software/nextcloud/releases", true, `{"version":"29.0.1"}`, 201, nil)
	f.json("GET", "/api/replays?status=outdated", false, "", 200, &l)
	if l.Total != 4 {
		t.Fatalf("after a minor: %v", ids(l))
	}
}

func TestFreshnessReportAndFeed(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.now = time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	var rep FreshnessReport
	f.json("GET", "/api/freshness", false, "", 200, &rep)
	if rep.Total != 2 || len(rep.Software) != 1 || rep.Software[0].Slug != "nextcloud" || rep.Software[0].LatestRelease != "28.0.1" {
		t.Fatalf("report = %+v", rep)
	}
	byID := map[string]OutdatedReplay{}
	for _, r := range rep.Software[0].Replays {
		byID[r.ID] = r
	}
	a, g := byID["a"], byID["g"]
	if a.OutdatedBy.Version != "28.0.0" || !a.WholeReplay || !slices.Equal(a.DocumentedVersions, []string{"27.1.4"}) ||
		len(a.Chapters) != 0 || a.OutdatedDays != 30 {
		t.Errorf("a = %+v", a)
	}
	if g.OutdatedBy.Version != "27.0.0" || g.WholeReplay || len(g.Chapters) != 1 || g.Chapters[0].Title != "Old users page" ||
		g.Chapters[0].StartMS != 10_000 || g.Chapters[0].Version != "26.0.0" {
		t.Errorf("g = %+v", g)
	}
	// Animators also see the draft e.
	f.json("GET", "/api/freshness", true, "", 200, &rep)
	if rep.Total != 3 {
		t.Fatalf("animator report total = %d", rep.Total)
	}
	f.json("GET", "/api/freshness?software=libreoffice", false, "", 200, &rep)
	if rep.Total != 0 || len(rep.Software) != 0 {
		t.Fatalf("libreoffice report = %+v", rep)
	}
	f.json("GET", "/api/freshness?software=nope", false, "", 422, nil)

	// The Atom feed parses, one entry per outdated published replay, newest first.
	f.now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.json("POST", "/api/software/libreoffice/releases", true, `{"version":"25.2","released_at":"2026-02-28"}`, 201, nil)
	code, body := f.do("GET", "/freshness.atom", false, "")
	if code != 200 {
		t.Fatalf("feed = %d %s", code, body)
	}
	feed, err := gofeed.NewParser().ParseString(string(body))
	if err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, body)
	}
	if feed.FeedType != "atom" || len(feed.Items) != 3 {
		t.Fatalf("feed %s with %d entries:\n%s", feed.FeedType, len(feed.Items), body)
	}
	first := feed.Items[0]
	if !strings.Contains(first.Title, "Calc basics") || !strings.Contains(first.Title, "LibreOffice 25.2") ||
		first.Link != "https://atelier.example/replays/c" || first.UpdatedParsed == nil || !first.UpdatedParsed.Equal(f.now) {
		t.Fatalf("first entry = %+v", first)
	}
	if !strings.Contains(feed.Items[2].Description, `chapter 2 "Old users page" documents 26.0.0`) &&
		!strings.Contains(feed.Items[1].Description, `chapter 2 "Old users page" documents 26.0.0`) {
		t.Fatalf("no entry names g's chapter:\n%s", body)
	}
	if u, _ := url.Parse(feed.Link); u == nil {
		t.Fatal("feed without link")
	}
}

// TestBoundedTotal: beyond countMax matches total counts what was counted, total_exact is false,
// and next_offset still leads to the next page until the last one.
func TestBoundedTotal(t *testing.T) {
	f := newFixture(t)
	f.seed()
	defer func(n, r int) { countMax, searchMax = n, r }(countMax, searchMax)
	countMax, searchMax = 2, 1
	for _, tt := range []struct {
		query string
		total int
		exact bool
		next  *int
		want  []string
	}{
		{"limit=1", 2, false, ptr(1), []string{"g"}},
		{"limit=2&offset=2", 4, false, ptr(4), []string{"c", "b"}},
		{"limit=2&offset=4", 5, true, nil, []string{"a"}},
		{"software=nextcloud&limit=1", 2, false, ptr(1), []string{"g"}},
		{"language=fr", 2, true, nil, []string{"d", "a"}},
		// A search counts to searchMax only: where a list says 2, it says 1, not exact.
		{"q=the&limit=1", 1, false, ptr(1), []string{"c"}},
		{"q=the&limit=2", 2, true, nil, []string{"c", "b"}},
	} {
		var l replayListJSON
		f.json("GET", "/api/replays?"+tt.query, false, "", 200, &l)
		var got []string
		for _, rp := range l.Items {
			got = append(got, rp.ID)
		}
		if l.Total != tt.total || l.TotalExact != tt.exact || !slices.Equal(got, tt.want) ||
			(l.NextOffset == nil) != (tt.next == nil) || (l.NextOffset != nil && *l.NextOffset != *tt.next) {
			t.Errorf("%s: total %d exact %v next %v ids %v, want %d %v %v %v", tt.query, l.Total, l.TotalExact,
				l.NextOffset, got, tt.total, tt.exact, tt.next, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
