package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/schedule"
)

type siteFixture struct {
	site  *Site
	cat   *catalog.Store
	sched *schedule.Store
	auth  *auth.Store
	media *assets.Dir
	srv   *httptest.Server
	token string
}

// newSiteFixture builds the site over real stores (SQLite in a temp dir, media on disk) and
// mounts its pages the way cmd/atelier does, with a protected probe API for the session.
func newSiteFixture(t *testing.T) *siteFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &siteFixture{}
	if f.auth, err = auth.New(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	if f.cat, err = catalog.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	if f.sched, err = schedule.OpenStore(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	if f.media, err = assets.NewDir(t.TempDir(), "", []byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if f.token, _, err = f.auth.Create(ctx, "Ana", auth.RoleAnimator); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(nil)
	t.Cleanup(f.srv.Close)
	f.site, err = New(Options{Media: f.media, Auth: f.auth, Secret: []byte("0123456789abcdef0123"), PublicURL: f.srv.URL,
		Catalog: f.cat, Schedule: f.sched})
	if err != nil {
		t.Fatal(err)
	}
	s := f.site
	r := mux.NewRouter()
	r.Handle("/", s.Page(s.Home)).Methods("GET", "HEAD")
	r.Handle("/workshops", s.Page(s.Workshops)).Methods("GET", "HEAD")
	r.Handle("/workshops/{id}", s.Page(s.Workshop)).Methods("GET", "HEAD")
	r.Handle("/replays", s.Page(s.Replays)).Methods("GET", "HEAD")
	r.Handle("/replays/{id}", s.Page(s.Replay)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}", s.Page(s.Software)).Methods("GET", "HEAD")
	r.Handle("/replays/{id}/embed", s.Page(s.Embed)).Methods("GET", "HEAD")
	r.Handle("/oembed", httpapi.HandlerFunc(s.OEmbed)).Methods("GET", "HEAD")
	r.Handle("/card.png", httpapi.HandlerFunc(s.SiteCard)).Methods("GET", "HEAD")
	r.Handle("/workshops/{id}/card.png", httpapi.HandlerFunc(s.WorkshopCard)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}/card.png", httpapi.HandlerFunc(s.SoftwareCard)).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:video\.mp4|poster\.jpg|storyboard\.jpg|storyboard\.vtt|chapters\.vtt}`, httpapi.HandlerFunc(s.Stream)).Methods("GET", "HEAD")
	r.Handle("/studio", s.Page(s.Studio)).Methods("GET", "HEAD")
	r.Handle("/studio/login", s.Page(s.SignIn)).Methods("POST")
	r.Handle("/studio/logout", s.Page(s.SignOut)).Methods("POST")
	r.Handle("/studio/first-run", s.Page(s.FirstRun)).Methods("GET", "HEAD")
	r.Handle("/studio/first-run", s.Page(s.FirstRunUse)).Methods("POST")
	r.Handle("/studio/people", s.Page(s.People)).Methods("GET", "HEAD")
	r.Handle("/studio/software", s.Page(s.SoftwareList)).Methods("GET", "HEAD")
	r.Handle("/studio/software/{slug}", s.Page(s.SoftwareEdit)).Methods("GET", "HEAD")
	r.PathPrefix("/static/").Handler(s.Static())
	r.Handle("/api/probe", f.auth.Require(auth.RoleAnimator, httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, _ := auth.FromContext(r.Context())
		io.WriteString(w, p.Name)
		return nil
	}), s.Resolver())).Methods("GET", "POST")
	f.srv.Config.Handler = r
	return f
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	f := newSiteFixture(t)
	ctx := context.Background()
	if _, err := f.cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: "27.0.0", ReleasedAt: "2023-06-12"}); err != nil {
		t.Fatal(err)
	}
	err := f.cat.CreateReplay(ctx, catalog.NewReplay{ID: "r1", Title: "Partager des fichiers", Language: "fr",
		Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.1.4"}},
		Chapters: []catalog.Chapter{{StartMS: 0, Title: "Intro"}, {StartMS: 60_000, Title: "Partage par lien",
			Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.1.4"}}}},
		PublishWhenReady: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cat.SetProcessing(ctx, "r1", catalog.Ready, 120_000); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.PutTrack(ctx, "r1", catalog.Track{Lang: "fr", Kind: "manual", Status: "reviewed", CueCount: 1}); err != nil {
		t.Fatal(err)
	}
	// An automatic draft the animator offers on purpose (visible), and one nobody checked yet:
	// only the first is offered to learners.
	if err := f.cat.PutTrack(ctx, "r1", catalog.Track{Lang: "en", Kind: "auto", Status: "draft", CueCount: 1, Visible: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.PutTrack(ctx, "r1", catalog.Track{Lang: "de", Kind: "auto", Status: "draft", CueCount: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.CreateReplay(ctx, catalog.NewReplay{ID: "d1", Title: "Brouillon", Language: "fr"}); err != nil {
		t.Fatal(err)
	}
	ws := &schedule.Workshop{Title: "Atelier Nextcloud", StartsAt: "2099-03-24T18:00:00", Timezone: "Europe/Paris",
		Duration: "PT1H30M", Language: "fr", Status: "confirmed", Documents: []schedule.Document{{Software: "nextcloud", Version: "28"}}}
	if err := f.sched.Create(ctx, ws, "test"); err != nil {
		t.Fatal(err)
	}
	err = f.cat.CreateReplay(ctx, catalog.NewReplay{ID: "w1", Title: "Replay of the workshop", Language: "fr", WorkshopID: ws.ID, PublishWhenReady: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cat.SetProcessing(ctx, "w1", catalog.Ready, 1000); err != nil {
		t.Fatal(err)
	}
	c := f.srv.Client()
	host := strings.TrimPrefix(f.srv.URL, "http://")

	tests := []struct {
		path   string
		hdr    []string
		status int
		want   []string
		not    []string
	}{
		{path: "/", status: 200, want: []string{`<html lang="en">`, "Upcoming workshops", "Atelier Nextcloud", `href="webcal://` + host + `/calendar.ics"`, `class="skip"`}},
		{path: "/", hdr: []string{"Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8"}, status: 200, want: []string{`<html lang="fr">`, "Prochains ateliers"}},
		{path: "/?lang=fr", status: 200, want: []string{`<html lang="fr">`}},
		{path: "/replays?q=x&lang=fr", status: 200, want: []string{`href="/replays?lang=en&amp;q=x"`}},
		{path: "/workshops", status: 200, want: []string{"webcal://" + host + "/calendar/software/nextcloud.ics", "Subscribe to the Nextcloud workshops"}},
		{path: "/workshops/" + ws.ID, status: 200, want: []string{"Atelier Nextcloud", "/workshops/" + ws.ID + ".ics", "18:00", "webcal://", `href="/replays/w1"`}},
		{path: "/workshops/nope", status: 404, want: []string{"This page does not exist"}},
		{path: "/replays/r1", status: 200, want: []string{"Partager des fichiers", `src="/replays/r1/video.mp4"`,
			`src="/replays/r1/subtitles/en.vtt" srclang="en" label="English (automatic)" default`, `srclang="fr" label="French"`, "Partage par lien", "00:01:00"},
			not: []string{"outdated-banner", `srclang="de"`}},
		{path: "/replays/r1", hdr: []string{"Accept-Language", "fr"}, status: 200,
			want: []string{`srclang="fr" label="français" default`, `label="anglais (automatique)"`}},
		{path: "/replays/d1", status: 404},
		{path: "/replays/d1", hdr: []string{"Authorization", "Bearer " + f.token}, status: 200, want: []string{"Brouillon", "only animators", "Not ready to watch: Processing."}},
		{path: "/replays", status: 200, want: []string{`role="search"`, `<option value="nextcloud">Nextcloud</option>`, `href="/replays/r1"`, "2 replays"},
			not: []string{`href="/replays/d1"`}},
		{path: "/replays?q=partager", status: 200, want: []string{`href="/replays/r1"`}},
		{path: "/replays?q=zzzz", status: 200, want: []string{"No replay matches"}},
		{path: "/replays?software=nextcloud&version=27.2", status: 200, want: []string{`href="/replays/r1"`, `value="27.2"`}},
		{path: "/replays?language=en", status: 200, not: []string{`href="/replays/r1"`}},
		{path: "/replays?limit=1", status: 200, want: []string{`rel="next"`, "offset=1"}, not: []string{`rel="prev"`}},
		{path: "/replays?limit=1&offset=1", status: 200, want: []string{`rel="prev"`}},
		{path: "/", status: 200, want: []string{`href="/replays/r1"`}},
		{path: "/software/nextcloud", status: 200, want: []string{"Nextcloud", "27.0.0", `class="timeline"`}},
		{path: "/software/nope", status: 404},
		{path: "/static/style.css", status: 200, want: []string{":focus-visible"}},
		{path: "/static/player.js", status: 200},
		{path: "/static/vendor/.gitkeep", status: 404},
		{path: "/static/", status: 404},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.path, "/")+strings.Join(tc.hdr, ""), func(t *testing.T) {
			resp, body := get(t, c, f.srv.URL+tc.path, tc.hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}

	t.Run("outdated banner after an interface change", func(t *testing.T) {
		if _, err := f.cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: "28.0.0", ReleasedAt: "2023-12-12", Notes: "New Files app"}); err != nil {
			t.Fatal(err)
		}
		err := f.cat.CreateReplay(ctx, catalog.NewReplay{ID: "r2", Title: "Les fichiers de Nextcloud 28", Language: "fr",
			Documents: []catalog.Tag{{Software: "nextcloud", Version: "28.0.1"}}, PublishWhenReady: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.cat.SetProcessing(ctx, "r2", catalog.Ready, 1000); err != nil {
			t.Fatal(err)
		}
		if _, err := f.cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: "28.0.1", ReleasedAt: "2024-01-10"}); err != nil {
			t.Fatal(err)
		}
		_, body := get(t, c, f.srv.URL+"/replays/r1")
		for _, w := range []string{"outdated-banner", "It shows Nextcloud 27.1.4", "Version 28.0.0", "New Files app", `href="/replays/r2"`,
			`<li class="outdated">`, `<span class="badge outdated">outdated by Nextcloud 28.0.0</span>`} {
			if !strings.Contains(body, w) {
				t.Errorf("page lacks %q", w)
			}
		}
		// Each chapter says what outdated it; "Intro" documents nothing of its own and shows what
		// the replay shows.
		if n := strings.Count(body, "outdated by Nextcloud 28.0.0"); n != 2 {
			t.Errorf("%d chapters say they are outdated by 28.0.0, want 2", n)
		}
		_, body = get(t, c, f.srv.URL+"/replays?status=outdated")
		if !strings.Contains(body, `href="/replays/r1"`) || strings.Contains(body, `href="/replays/r2"`) {
			t.Errorf("status=outdated filter: want r1 only")
		}
	})
}

func TestMessagesComplete(t *testing.T) {
	for key := range messages["en"] {
		if _, ok := messages["fr"][key]; !ok {
			t.Errorf("fr lacks %q", key)
		}
	}
	for key := range messages["fr"] {
		if _, ok := messages["en"][key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
	// The Content-Security-Policy allows no inline style or script.
	inline := regexp.MustCompile(`style="|<script>|<script [^>]*>[^<]|\son[a-z]+="`)
	tmpls, _ := templateFS.ReadDir("templates")
	for _, n := range tmpls {
		b, _ := templateFS.ReadFile("templates/" + n.Name())
		if m := inline.Find(b); m != nil {
			t.Errorf("%s has inline code or style %q, which the CSP blocks", n.Name(), m)
		}
	}
	// Every key a template names exists.
	re := regexp.MustCompile(`\.T "([a-z.]+)"`)
	names, _ := templateFS.ReadDir("templates")
	for _, n := range names {
		b, _ := templateFS.ReadFile("templates/" + n.Name())
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if _, ok := messages["en"][m[1]]; !ok {
				t.Errorf("%s uses unknown message %q", n.Name(), m[1])
			}
		}
	}
}

func TestStudioSession(t *testing.T) {
	f := newSiteFixture(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	resp, body := get(t, c, f.srv.URL+"/studio")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("sign-in form: %d %.200s", resp.StatusCode, body)
	}
	loginCSRF := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)[1]

	post := func(path string, form url.Values, hdr ...string) *http.Response {
		req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := post("/studio/login", url.Values{"token": {f.token}}); r.StatusCode != 403 {
		t.Errorf("sign-in without CSRF: %d, want 403", r.StatusCode)
	}
	if r := post("/studio/login", url.Values{"token": {"atl_wrong"}, "csrf": {loginCSRF}}); r.StatusCode != 401 {
		t.Errorf("sign-in with a bad token: %d, want 401", r.StatusCode)
	}
	_, body = get(t, c, f.srv.URL+"/studio")
	loginCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)[1]
	if r := post("/studio/login", url.Values{"token": {f.token}, "csrf": {loginCSRF}}); r.StatusCode != 200 || r.Request.URL.Path != "/studio" {
		t.Fatalf("sign-in: %d at %s", r.StatusCode, r.Request.URL.Path)
	}
	u, _ := url.Parse(f.srv.URL)
	var session *http.Cookie
	for _, ck := range jar.Cookies(u) {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	resp, body = get(t, c, f.srv.URL+"/studio")
	if !strings.Contains(body, "Signed in as Ana") || resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("studio after sign-in: %.300s", body)
	}
	csrf := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(body)[1]

	// The session authorises API calls; writes need its CSRF token.
	if resp, body := get(t, c, f.srv.URL+"/api/probe"); resp.StatusCode != 200 || body != "Ana" {
		t.Errorf("GET with the session: %d %q", resp.StatusCode, body)
	}
	if r := post("/api/probe", nil); r.StatusCode != 403 {
		t.Errorf("POST without CSRF: %d, want 403", r.StatusCode)
	}
	if r := post("/api/probe", nil, "X-CSRF-Token", csrf); r.StatusCode != 200 {
		t.Errorf("POST with CSRF: %d, want 200", r.StatusCode)
	}
	// A tampered cookie is no session.
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/probe", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session.Value + "x"})
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 401 {
		t.Errorf("tampered cookie: %v %v, want 401", r.StatusCode, err)
	}
	// Revoking the token ends its sessions.
	toks, _ := f.auth.List(context.Background())
	if err := f.auth.Revoke(context.Background(), toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, c, f.srv.URL+"/api/probe"); resp.StatusCode != 401 {
		t.Errorf("after revoking the token: %d, want 401", resp.StatusCode)
	}
	if r := post("/studio/logout", url.Values{"csrf": {csrf}}); r.Request.URL.Path != "/" {
		t.Errorf("sign-out landed on %s", r.Request.URL.Path)
	}
	if resp, _ := get(t, c, f.srv.URL+"/api/probe"); resp.StatusCode != 401 {
		t.Errorf("after sign-out: %d, want 401", resp.StatusCode)
	}
}

// TestReplayPageLadderGrowing: the player of a replay whose rungs are still coming is marked
// data-hls-growing (static/player.js then watches the master), on the page and the embed; not
// once the ladder is done, nor without an HLS master.
func TestReplayPageLadderGrowing(t *testing.T) {
	f := newSiteFixture(t)
	ctx := context.Background()
	if err := f.cat.CreateReplay(ctx, catalog.NewReplay{ID: "g1", Title: "Growing", Language: "en", PublishWhenReady: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.SetProcessing(ctx, "g1", catalog.Ready, 1000); err != nil {
		t.Fatal(err)
	}
	pending := true
	f.site.ladderPending = func(context.Context, string) (bool, error) { return pending, nil }
	c := f.srv.Client()
	for _, p := range []string{"/replays/g1", "/replays/g1/embed"} {
		if _, body := get(t, c, f.srv.URL+p); strings.Contains(body, "data-hls") {
			t.Errorf("%s without a master: %s", p, body)
		}
	}
	master := []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nsource/index.m3u8\n")
	if _, err := f.media.Put(ctx, "replays/g1/hls/master.m3u8", bytes.NewReader(master), int64(len(master)), ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/replays/g1", "/replays/g1/embed"} {
		pending = true
		if _, body := get(t, c, f.srv.URL+p); !strings.Contains(body, `data-hls="/replays/g1/hls/master.m3u8" data-hls-growing`) {
			t.Errorf("%s while rungs are coming: no data-hls-growing", p)
		}
		pending = false
		if _, body := get(t, c, f.srv.URL+p); !strings.Contains(body, `data-hls="/replays/g1/hls/master.m3u8"`) || strings.Contains(body, "data-hls-growing") {
			t.Errorf("%s once the ladder is done: %s", p, body)
		}
	}
	// A replay of render generations: the player reads its generation's HLS through URLs pinned
	// to it, and knows the current master to start again from after a re-cut.
	if _, err := f.media.Put(ctx, "replays/g1/r/0c0c0c0c/hls/master.m3u8", bytes.NewReader(master), int64(len(master)), ""); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.SetRender(ctx, "g1", "0c0c0c0c"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/replays/g1", "/replays/g1/embed"} {
		if _, body := get(t, c, f.srv.URL+p); !strings.Contains(body, `data-hls="/replays/g1/r/0c0c0c0c/hls/master.m3u8" data-hls-current="/replays/g1/hls/master.m3u8"`) {
			t.Errorf("%s of a rendered generation: %s", p, body)
		}
	}
}
