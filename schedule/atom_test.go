package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// pyFeed is what testdata/atom.py (Debian's python3-feedparser) understood of a feed.
type pyFeed struct {
	Bozo    bool              `json:"bozo"`
	Error   string            `json:"error"`
	Version string            `json:"version"`
	Lang    string            `json:"lang"`
	Title   string            `json:"title"`
	Links   map[string]string `json:"links"`
	Entries []struct {
		ID, Title, Link, Published, Updated, Summary, Content string
		Tags                                                  []string
	} `json:"entries"`
}

// feedparser runs the second, independent Atom parser over files.
func feedparser(t *testing.T, files []string) map[string]pyFeed {
	t.Helper()
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import feedparser").CombinedOutput(); err != nil {
		testenv.Require(t, "Debian python3-feedparser (/usr/bin/python3)", errors.New(strings.TrimSpace(string(out))+": "+err.Error()))
	}
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", "atom.py")}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("atom.py: %v\n%s", err, stderr.String())
	}
	var res map[string]pyFeed
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("atom.py output: %v\n%s", err, out)
	}
	return res
}

// TestWorkshopsAtom (issue 16): the Atom feeds of upcoming workshops, soonest first, without
// cancelled or past ones, in the instance's language, read by gofeed and by python3-feedparser,
// and compared with golden files.
func TestWorkshopsAtom(t *testing.T) {
	e := newTestEnv(t)
	ws := seedFeeds(t, e)
	fr := NewAPI(e.store, FromCatalog(e.cat), testPublicURL, Options{DefaultTimezone: "Europe/Paris", Now: e.clock,
		Language: "fr", SiteName: "Chatons du Rhône"})
	type want struct {
		title   string
		entries []string // workshop keys, in order
		when    string   // the first entry's summary starts with it
	}
	cases := []struct {
		name, path string
		router     http.Handler
		want       want
	}{
		{"all", "/workshops.atom", e.router, want{"Atelier: upcoming workshops", []string{"ny", "paris", "utc"},
			"When: Thursday 26 February 2026, 19:00–20:00 (America/New_York)"}},
		{"software", "/software/nextcloud/workshops.atom", e.router, want{"Atelier: upcoming workshops on nextcloud", []string{"paris"},
			"When: Tuesday 3 March 2026, 18:00–19:30 (Europe/Paris) · Where: https://visio.example.org/atelier-nextcloud"}},
		{"all.fr", "/workshops.atom", testRouter(fr), want{"Chatons du Rhône : ateliers à venir", []string{"ny", "paris", "utc"},
			"Quand : jeudi 26 février 2026, 19:00–20:00 (America/New_York)"}},
	}
	dir := t.TempDir()
	var files []string
	bodies := map[string][]byte{}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		c.router.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/atom+xml; charset=utf-8" {
			t.Fatalf("GET %s: %d %s %s", c.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		body := rec.Body.Bytes()
		bodies[c.name] = body
		golden := filepath.Join("testdata", "workshops-"+c.name+".atom")
		if *update {
			if err := os.WriteFile(golden, body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if g, err := os.ReadFile(golden); err != nil || !bytes.Equal(g, body) {
			t.Errorf("%s differs from %s (go test -update rewrites it): %v\n%s", c.path, golden, err, body)
		}
		f := filepath.Join(dir, c.name+".atom")
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)

		// Conditional GET.
		again := httptest.NewRecorder()
		req := httptest.NewRequest("GET", c.path, nil)
		req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		c.router.ServeHTTP(again, req)
		if again.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d", c.path, again.Code)
		}
	}

	py := feedparser(t, files)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := gofeed.NewParser().Parse(bytes.NewReader(bodies[c.name]))
			if err != nil {
				t.Fatalf("gofeed: %v", err)
			}
			if g.FeedType != "atom" || g.Title != c.want.title || len(g.Items) != len(c.want.entries) {
				t.Fatalf("gofeed: type %s title %q, %d entries; want %q, %v", g.FeedType, g.Title, len(g.Items), c.want.title, c.want.entries)
			}
			p := py[files[i]]
			if p.Bozo || p.Version != "atom10" || p.Title != c.want.title || len(p.Entries) != len(c.want.entries) {
				t.Fatalf("feedparser: bozo %v (%s), version %s, title %q, %d entries", p.Bozo, p.Error, p.Version, p.Title, len(p.Entries))
			}
			if lang := map[bool]string{true: "fr", false: "en"}[strings.HasSuffix(c.name, ".fr")]; p.Lang != lang || g.Language != lang {
				t.Errorf("language: feedparser %q, gofeed %q; want %s", p.Lang, g.Language, lang)
			}
			for j, key := range c.want.entries {
				w := ws[key]
				page := testPublicURL + "/workshops/" + w.ID
				gi, pi := g.Items[j], p.Entries[j]
				if gi.Title != w.Title || pi.Title != w.Title || gi.Link != page || pi.Link != page || gi.GUID != pi.ID || !strings.Contains(pi.ID, w.UID) {
					t.Errorf("entry %d: gofeed %q %s %s, feedparser %q %s %s; want %q %s", j, gi.Title, gi.Link, gi.GUID, pi.Title, pi.Link, pi.ID, w.Title, page)
				}
				if gi.Published == "" || pi.Updated == "" {
					t.Errorf("entry %d has no dates", j)
				}
			}
			if first := p.Entries[0]; !strings.HasPrefix(first.Summary, c.want.when) || !strings.HasPrefix(g.Items[0].Description, c.want.when) {
				t.Errorf("summary %q (gofeed %q), want it to start with %q", first.Summary, g.Items[0].Description, c.want.when)
			}
			if c.name == "software" && (len(p.Entries[0].Tags) != 1 || p.Entries[0].Tags[0] != "nextcloud" ||
				!strings.Contains(p.Entries[0].Content, "Zoé Lefèvre")) {
				t.Errorf("categories %v, content %q", p.Entries[0].Tags, p.Entries[0].Content)
			}
		})
	}
	if rec := e.do("GET", "/software/Not%20A%20Slug/workshops.atom", nil); rec.Code != http.StatusNotFound {
		t.Errorf("bad slug: %d", rec.Code)
	}
}
