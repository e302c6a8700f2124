package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/mmcdole/gofeed"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/testenv"
)

type feedFixture struct {
	t     *testing.T
	store *Store
	srv   *httptest.Server
	now   time.Time
}

// newFeedFixture serves the feed routes over a store and a local media directory, with the
// instance language lang.
func newFeedFixture(t *testing.T, lang string) *feedFixture {
	t.Helper()
	f := &feedFixture{t: t, store: newStore(t), now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.store.SetClock(func() time.Time { return f.now })
	media, err := assets.NewDir(filepath.Join(t.TempDir(), "media"), "https://atelier.example", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	api := &API{Store: f.store, PublicURL: "https://atelier.example", Media: media, Language: lang, SiteName: "Les Ateliers libres"}
	r := mux.NewRouter()
	r.Handle("/replays.atom", httpapi.HandlerFunc(api.ReplaysAtom)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}/replays.atom", httpapi.HandlerFunc(api.ReplaysAtom)).Methods("GET", "HEAD")
	r.Handle("/podcast.rss", httpapi.HandlerFunc(api.PodcastRSS)).Methods("GET", "HEAD")
	f.srv = httptest.NewServer(httpapi.Middleware(slog.New(slog.DiscardHandler), r))
	t.Cleanup(f.srv.Close)

	for _, sw := range []NewSoftware{{Slug: "nextcloud", Name: "Nextcloud"}, {Slug: "gimp", Name: "GIMP"}} {
		if _, err := f.store.CreateSoftware(ctx, sw); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"27.0.0", "28.0.0"} {
		if _, err := f.store.AddRelease(ctx, "nextcloud", NewRelease{Version: v, ReleasedAt: "2025-01-01"}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(id, file string, size int) {
		if _, err := media.Put(ctx, layout.Replay(id).Key(file), bytes.NewReader(bytes.Repeat([]byte{'x'}, size)), int64(size), ""); err != nil {
			t.Fatal(err)
		}
	}
	add := func(n NewReplay, pub Publication, video, audio int) {
		if err := f.store.CreateReplay(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := f.store.SetProcessing(ctx, n.ID, Ready, 95_400); err != nil {
			t.Fatal(err)
		}
		p := string(pub)
		if err := f.store.UpdateReplay(ctx, n.ID, ReplayUpdate{Publication: &p}); err != nil {
			t.Fatal(err)
		}
		put(n.ID, "poster.jpg", 10)
		if video > 0 {
			put(n.ID, videoFile, video)
		}
		if audio > 0 {
			put(n.ID, audioFile, audio)
		}
		f.now = f.now.Add(time.Hour)
	}
	add(NewReplay{ID: "files", Title: "Files & sharing", Description: "Share <files>\nwith links.", Language: "fr",
		Documents: []Tag{{"nextcloud", "27.0.0"}},
		Chapters: []Chapter{
			{StartMS: 0, Title: "Upload", Documents: []Tag{{"nextcloud", "27.0.0"}}},
			{StartMS: 90_500, Title: "Share links", Documents: []Tag{{"nextcloud", "28.0.0"}}},
		}}, Published, 12345, 678)
	add(NewReplay{ID: "layers", Title: "Layers", Language: "en", Documents: []Tag{{"gimp", "2.10"}}}, Published, 4321, 0)
	add(NewReplay{ID: "secret-draft", Title: "Draft never listed", Language: "fr", Documents: []Tag{{"nextcloud", "28.0.0"}}}, Draft, 99, 9)
	add(NewReplay{ID: "secret-unlisted", Title: "Unlisted never listed", Language: "fr", Documents: []Tag{{"nextcloud", "28.0.0"}}}, Unlisted, 99, 9)
	return f
}

func (f *feedFixture) get(path string) (int, http.Header, []byte) {
	f.t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (f *feedFixture) feed(path string) (*gofeed.Feed, []byte) {
	f.t.Helper()
	code, h, body := f.get(path)
	if code != http.StatusOK {
		f.t.Fatalf("GET %s = %d %s", path, code, body)
	}
	want := "application/atom+xml"
	if strings.HasPrefix(path, "/podcast.rss") {
		want = "application/rss+xml"
	}
	if !strings.HasPrefix(h.Get("Content-Type"), want) {
		f.t.Fatalf("GET %s: Content-Type %q, want %s", path, h.Get("Content-Type"), want)
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		f.t.Fatalf("gofeed cannot parse %s: %v\n%s", path, err, body)
	}
	for _, secret := range []string{"secret-draft", "secret-unlisted", "never listed"} {
		if bytes.Contains(body, []byte(secret)) {
			f.t.Fatalf("%s shows %q, a replay that is not published:\n%s", path, secret, body)
		}
	}
	return feed, body
}

// pyFeed is what Debian's python3-feedparser makes of a feed (see parseWithFeedparser).
type pyFeed struct {
	Bozo      bool   `json:"bozo"`
	BozoError string `json:"bozo_exception"`
	Version   string `json:"version"`
	Title     string `json:"title"`
	Language  string `json:"language"`
	Entries   []struct {
		ID         string `json:"id"`
		Title      string `json:"title"`
		Link       string `json:"link"`
		Published  string `json:"published"`
		Tags       []string
		Enclosures []struct {
			Href   string `json:"href"`
			Length string `json:"length"`
			Type   string `json:"type"`
		} `json:"enclosures"`
		Thumbnail string `json:"thumbnail"`
		Chapters  int    `json:"chapters"`
	} `json:"entries"`
}

const feedparserScript = `
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
out = {"bozo": bool(d.bozo), "bozo_exception": str(d.get("bozo_exception", "")), "version": d.version,
       "title": d.feed.get("title", ""), "language": d.feed.get("language", ""), "entries": []}
for e in d.entries:
    out["entries"].append({"id": e.get("id", ""), "title": e.get("title", ""), "link": e.get("link", ""),
        "published": e.get("published", ""), "Tags": [t["term"] for t in e.get("tags", [])],
        "enclosures": [{"href": x.get("href", ""), "length": str(x.get("length", "")), "type": x.get("type", "")} for x in e.get("enclosures", [])],
        "thumbnail": (e.get("media_thumbnail") or [{}])[0].get("url", ""),
        "chapters": len((e.get("psc_chapters") or {}).get("chapters", []))})
json.dump(out, sys.stdout)
`

// parseWithFeedparser parses body with Debian's python3-feedparser, an independent parser
// (required in CI: scripts/install-deps.sh test installs it).
func parseWithFeedparser(t *testing.T, body []byte) pyFeed {
	t.Helper()
	// Debian's own interpreter: a python3 earlier on PATH (pyenv) does not see Debian's packages.
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import feedparser").CombinedOutput(); err != nil {
		testenv.Require(t, "Debian python3-feedparser ("+python+")", fmt.Errorf("%v: %s", err, bytes.TrimSpace(out)))
	}
	cmd := exec.Command(python, "-c", feedparserScript)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("feedparser: %v\n%s", err, stderr.String())
	}
	var pf pyFeed
	if err := json.Unmarshal(out, &pf); err != nil {
		t.Fatalf("feedparser output: %v\n%s", err, out)
	}
	if pf.Bozo {
		t.Fatalf("feedparser finds the feed malformed: %s\n%s", pf.BozoError, body)
	}
	return pf
}

func itemIDs(feed *gofeed.Feed) []string {
	var ids []string
	for _, it := range feed.Items {
		ids = append(ids, it.GUID)
	}
	return ids
}

func TestReplayAtomFeeds(t *testing.T) {
	f := newFeedFixture(t, "en")
	feed, body := f.feed("/replays.atom")
	if feed.FeedType != "atom" || feed.Title != "Les Ateliers libres: replays" || feed.Language != "en" {
		t.Fatalf("feed %s %q language %q", feed.FeedType, feed.Title, feed.Language)
	}
	if got := itemIDs(feed); !slices.Equal(got, []string{"urn:atelier:replay:layers", "urn:atelier:replay:files"}) {
		t.Fatalf("entries %v, want the published replays, newest first", got)
	}
	files := feed.Items[1]
	if files.Title != "Files & sharing" || files.Link != "https://atelier.example/replays/files" ||
		files.PublishedParsed == nil || !files.PublishedParsed.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("entry: %q %q %v", files.Title, files.Link, files.PublishedParsed)
	}
	if !slices.Equal(files.Categories, []string{"nextcloud@27.0.0", "nextcloud@28.0.0"}) {
		t.Fatalf("categories %v, want the software@version of the replay and its chapters", files.Categories)
	}
	type enc struct{ url, length, typ string }
	var encs []enc
	for _, e := range files.Enclosures {
		encs = append(encs, enc{e.URL, e.Length, e.Type})
	}
	if want := []enc{{"https://atelier.example/replays/files/video.mp4", "12345", "video/mp4"},
		{"https://atelier.example/replays/files/audio.m4a", "678", "audio/mp4"}}; !slices.Equal(encs, want) {
		t.Fatalf("enclosures %v, want %v", encs, want)
	}
	if len(feed.Items[0].Enclosures) != 1 {
		t.Fatalf("a replay without audio rendition: enclosures %v", feed.Items[0].Enclosures)
	}
	if th := files.Extensions["media"]["thumbnail"]; len(th) != 1 || th[0].Attrs["url"] != "https://atelier.example/replays/files/poster.jpg" {
		t.Fatalf("media:thumbnail %v", th)
	}
	ch := files.Extensions["psc"]["chapters"]
	if len(ch) != 1 || len(ch[0].Children["chapter"]) != 2 || ch[0].Children["chapter"][1].Attrs["start"] != "00:01:30.500" ||
		ch[0].Children["chapter"][1].Attrs["title"] != "Share links" {
		t.Fatalf("psc:chapters %+v", ch)
	}
	for _, want := range []string{`<img src="https://atelier.example/replays/files/poster.jpg"`, "Share &lt;files&gt;<br>with links.",
		"Shows: Nextcloud 27.0.0", "Outdated since Nextcloud 28.0.0 changed its interface.", "Share links (Nextcloud 28.0.0)",
		`href="https://atelier.example/replays/files#t=90">00:01:30</a>`} {
		if !strings.Contains(files.Content, want) {
			t.Errorf("content lacks %q:\n%s", want, files.Content)
		}
	}

	pf := parseWithFeedparser(t, body)
	if pf.Version != "atom10" || pf.Title != feed.Title || len(pf.Entries) != 2 {
		t.Fatalf("feedparser: %+v", pf)
	}
	pe := pf.Entries[1]
	if pe.ID != "urn:atelier:replay:files" || pe.Title != "Files & sharing" || pe.Link != "https://atelier.example/replays/files" ||
		!slices.Equal(pe.Tags, []string{"nextcloud@27.0.0", "nextcloud@28.0.0"}) || len(pe.Enclosures) != 2 ||
		pe.Enclosures[0].Length != "12345" || pe.Enclosures[0].Type != "video/mp4" ||
		pe.Thumbnail != "https://atelier.example/replays/files/poster.jpg" || pe.Chapters != 2 {
		t.Fatalf("feedparser entry: %+v", pe)
	}

	// Per software and per language.
	feed, _ = f.feed("/software/nextcloud/replays.atom")
	if got := itemIDs(feed); !slices.Equal(got, []string{"urn:atelier:replay:files"}) || feed.Title != "Les Ateliers libres: replays about Nextcloud" {
		t.Fatalf("nextcloud feed %q: %v", feed.Title, got)
	}
	if feed.Link != "https://atelier.example/software/nextcloud" {
		t.Fatalf("alternate link %q", feed.Link)
	}
	feed, body = f.feed("/replays.atom?language=en")
	if got := itemIDs(feed); !slices.Equal(got, []string{"urn:atelier:replay:layers"}) || feed.Language != "en" {
		t.Fatalf("English feed: %v", got)
	}
	if !bytes.Contains(body, []byte(`<link href="https://atelier.example/replays.atom?language=en" rel="self"`)) {
		t.Fatalf("self link of a filtered feed:\n%s", body)
	}
	feed, _ = f.feed("/software/gimp/replays.atom?language=fr")
	if len(feed.Items) != 0 {
		t.Fatalf("GIMP in French: %v", itemIDs(feed))
	}

	for _, tt := range []struct {
		path, want string
		code       int
	}{
		{"/software/nextclod/replays.atom", "not found", 404},
		{"/replays.atom?language=" + "fr%22%3E", `"field":"language"`, 422},
	} {
		if code, _, body := f.get(tt.path); code != tt.code || !strings.Contains(string(body), tt.want) {
			t.Errorf("GET %s = %d %s, want %d %s", tt.path, code, body, tt.code, tt.want)
		}
	}

	// Unpublishing removes a replay at once; the ETag changes with the content, and an
	// unchanged feed answers 304.
	_, h, _ := f.get("/replays.atom")
	req, _ := http.NewRequest("GET", f.srv.URL+"/replays.atom", nil)
	req.Header.Set("If-None-Match", h.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %v %v", resp.StatusCode, err)
	}
	draft := string(Draft)
	if err := f.store.UpdateReplay(context.Background(), "files", ReplayUpdate{Publication: &draft}); err != nil {
		t.Fatal(err)
	}
	feed, _ = f.feed("/replays.atom")
	if got := itemIDs(feed); !slices.Equal(got, []string{"urn:atelier:replay:layers"}) {
		t.Fatalf("after unpublishing: %v", got)
	}
	if _, h2, _ := f.get("/replays.atom"); h2.Get("ETag") == h.Get("ETag") {
		t.Fatal("the ETag did not change with the feed")
	}
}

func TestPodcastFeed(t *testing.T) {
	f := newFeedFixture(t, "fr")
	feed, body := f.feed("/podcast.rss")
	if feed.FeedType != "rss" || feed.Title != "Les Ateliers libres : rediffusions" || feed.Language != "fr" {
		t.Fatalf("podcast %s %q %q", feed.FeedType, feed.Title, feed.Language)
	}
	if feed.ITunesExt == nil || feed.ITunesExt.Author != "Les Ateliers libres" || feed.ITunesExt.Explicit != "false" ||
		len(feed.ITunesExt.Categories) != 1 || feed.ITunesExt.Categories[0].Text != "Education" {
		t.Fatalf("itunes channel tags: %+v", feed.ITunesExt)
	}
	if feed.Image == nil || feed.Image.URL != "https://atelier.example/replays/layers/poster.jpg" {
		t.Fatalf("channel image %+v", feed.Image)
	}
	if got := itemIDs(feed); !slices.Equal(got, []string{"urn:atelier:replay:layers", "urn:atelier:replay:files"}) {
		t.Fatalf("items %v", got)
	}
	files := feed.Items[1]
	if len(files.Enclosures) != 1 || files.Enclosures[0].URL != "https://atelier.example/replays/files/video.mp4" ||
		files.Enclosures[0].Length != "12345" || files.Enclosures[0].Type != "video/mp4" {
		t.Fatalf("enclosure %+v", files.Enclosures)
	}
	if files.ITunesExt == nil || files.ITunesExt.Duration != "95" || files.ITunesExt.Image != "https://atelier.example/replays/files/poster.jpg" {
		t.Fatalf("itunes item tags %+v", files.ITunesExt)
	}
	alt := files.Extensions["podcast"]["alternateEnclosure"]
	if len(alt) != 2 || alt[1].Attrs["type"] != "audio/mp4" || alt[1].Attrs["length"] != "678" ||
		alt[1].Children["source"][0].Attrs["uri"] != "https://atelier.example/replays/files/audio.m4a" {
		t.Fatalf("podcast:alternateEnclosure %+v", alt)
	}
	if len(feed.Items[0].Extensions["podcast"]["alternateEnclosure"]) != 0 {
		t.Fatal("a replay without audio rendition offers one")
	}
	for _, want := range []string{"Montre : Nextcloud 27.0.0", "Chapitres :", "Périmée depuis que Nextcloud 28.0.0 a changé son interface."} {
		if !strings.Contains(files.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, files.Description)
		}
	}
	if !slices.Equal(files.Categories, []string{"nextcloud@27.0.0", "nextcloud@28.0.0"}) {
		t.Fatalf("categories %v", files.Categories)
	}
	if len(files.Extensions["psc"]["chapters"]) != 1 {
		t.Fatal("no psc:chapters")
	}
	pf := parseWithFeedparser(t, body)
	if pf.Version != "rss20" || pf.Language != "fr" || len(pf.Entries) != 2 {
		t.Fatalf("feedparser: %+v", pf)
	}
	pe := pf.Entries[1]
	if pe.ID != "urn:atelier:replay:files" || len(pe.Enclosures) != 1 || pe.Enclosures[0].Href != "https://atelier.example/replays/files/video.mp4" ||
		pe.Enclosures[0].Length != "12345" || pe.Chapters != 2 || !slices.Equal(pe.Tags, []string{"nextcloud@27.0.0", "nextcloud@28.0.0"}) {
		t.Fatalf("feedparser item: %+v", pe)
	}

	// The audio variant encloses the M4A and lists only the replays that have one.
	feed, body = f.feed("/podcast.rss?media=audio&software=nextcloud")
	if got := itemIDs(feed); !slices.Equal(got, []string{"urn:atelier:replay:files"}) {
		t.Fatalf("audio podcast items %v", got)
	}
	if e := feed.Items[0].Enclosures; len(e) != 1 || e[0].URL != "https://atelier.example/replays/files/audio.m4a" || e[0].Length != "678" || e[0].Type != "audio/mp4" {
		t.Fatalf("audio enclosure %+v", e)
	}
	if !bytes.Contains(body, []byte(`href="https://atelier.example/podcast.rss?software=nextcloud&amp;media=audio" rel="self"`)) {
		t.Fatalf("self link:\n%s", body)
	}
	parseWithFeedparser(t, body)
	if code, _, body := f.get("/podcast.rss?media=flac"); code != 422 || !strings.Contains(string(body), `"media"`) {
		t.Fatalf("bad media: %d %s", code, body)
	}
	if code, _, body := f.get("/podcast.rss?software=nextclod"); code != 404 {
		t.Fatalf("unknown software: %d %s", code, body)
	}
}

func TestFeedClock(t *testing.T) {
	for ms, want := range map[int64]string{0: "00:00:00.000", 90_500: "00:01:30.500", 3_723_004: "01:02:03.004"} {
		if got := clock(ms); got != want {
			t.Errorf("clock(%d) = %q, want %q", ms, got, want)
		}
	}
}
