package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
)

// FuzzSingleRange: any Range header gives nil or a range inside the object.
func FuzzSingleRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=5-", "bytes=9-3", "bytes=0-1,3-4", "bytes=--1", "bytes=99999999999999999999-", ""} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		r := assets.SingleRange(h, size)
		if r == nil {
			return
		}
		if r.Offset < 0 || r.Length < 0 || r.Offset+r.Length > size || (size > 0 && r.Length == 0) {
			t.Fatalf("Range %q on %d bytes gave %+v", h, size, *r)
		}
	})
}

// FuzzStreamKey: whatever the URL, a stream route serves only a valid key of its own replay.
func FuzzStreamKey(f *testing.F) {
	for _, s := range []string{"/replays/abc/video.mp4", "/replays/abc/hls/720p/seg.m4s", "/replays/abc/subtitles/fr.vtt",
		"/replays/abc/hls/../x.m3u8", "/replays/a/hls/.x/y.ts"} {
		f.Add(s)
	}
	r := mux.NewRouter()
	for _, p := range []string{`/replays/{id}/{file:video\.mp4|poster\.jpg|storyboard\.jpg|storyboard\.vtt|chapters\.vtt}`,
		`/replays/{id}/{file:subtitles}/{lang}.vtt`, `/replays/{id}/{file:hls}/{path:.+}`} {
		r.NewRoute().Path(p)
	}
	match := func(path string) (id, key string) {
		req := httptest.NewRequest("GET", "http://x/", nil)
		req.URL.Path = path
		var m mux.RouteMatch
		if !r.Match(req, &m) {
			return "", ""
		}
		return streamKey(mux.SetURLVars(req, m.Vars), "")
	}
	if _, key := match("/replays/abc/hls/720p/seg.m4s"); key != "replays/abc/hls/720p/seg.m4s" {
		f.Fatalf("the routes do not match as in cmd/atelier: key %q", key)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if !strings.HasPrefix(path, "/") {
			return
		}
		gotID, gotKey := match(path)
		if gotKey == "" {
			return
		}
		if err := assets.ValidKey(gotKey); err != nil {
			t.Fatalf("%q -> invalid key %q: %v", path, gotKey, err)
		}
		if !strings.HasPrefix(gotKey, "replays/"+gotID+"/") || strings.Contains(gotKey, "..") {
			t.Fatalf("%q -> key %q outside replay %q", path, gotKey, gotID)
		}
	})
}

// FuzzReplayOfURL: whatever URL an oEmbed consumer sends, the answer names a well-formed replay
// of this site, or none.
func FuzzReplayOfURL(f *testing.F) {
	for _, s := range []string{"https://atelier.example/replays/abc", "https://atelier.example/replays/abc/embed",
		"https://ATELIER.example/replays/abc/", "https://elsewhere.example/replays/abc", "/replays/abc",
		"https://atelier.example/replays/../studio", "https://atelier.example/replays/a%2Fb", "javascript:alert(1)", ""} {
		f.Add(s)
	}
	s := &Site{publicURL: "https://atelier.example"}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := s.replayOfURL(raw)
		if err != nil {
			return
		}
		if !replayIDPattern.MatchString(id) || strings.ContainsAny(id, "/.?#") {
			t.Fatalf("%q gave replay id %q", raw, id)
		}
	})
}
