package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// countingStore counts the Opens of a real store, to check that nothing reads more than asked.
type countingStore struct {
	assets.Store
	opens     atomic.Int32
	fileOpens atomic.Int32 // through countingFileStore
}

func (c *countingStore) Open(ctx context.Context, key string, rng *assets.Range) (io.ReadCloser, assets.Info, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, key, rng)
}

// countingFileStore is a countingStore over a store of local files, which it hands out as the
// store does (assets.FileOpener), counting them too.
type countingFileStore struct{ *countingStore }

func (c countingFileStore) OpenFile(ctx context.Context, key string) (*os.File, assets.Info, error) {
	c.fileOpens.Add(1)
	return c.Store.(assets.FileOpener).OpenFile(ctx, key)
}

// readerOnly hides a store's files (assets.FileOpener): the stream route then reads it through
// Open, as it reads S3.
type readerOnly struct{ assets.Store }

// streamRouter mounts the stream routes the way cmd/atelier's route table does.
func streamRouter(s *Site) http.Handler {
	r := mux.NewRouter()
	h := func(f httpapi.HandlerFunc) http.Handler { return f }
	r.Handle(`/replays/{id}/{file:video\.mp4|poster\.jpg|storyboard\.jpg|storyboard\.vtt|chapters\.vtt}`, h(s.Stream)).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:subtitles}/{lang}.vtt`, h(s.Stream)).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:burnin}/{lang}.mp4`, h(s.Stream)).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:hls}/{path:.+}`, h(s.Stream)).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/r/{render:[0-9a-f]{8}}/{file:hls}/{path:.+}`, h(s.Stream)).Methods("GET", "HEAD")
	return r
}

type streamFixture struct {
	site   *Site
	srv    *httptest.Server
	store  *countingStore
	token  string // an animator token
	video  []byte
	pubs   map[string]string
	client *http.Client
}

func newStreamFixture(t *testing.T, media assets.Store, mode StreamMode) *streamFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	as, err := auth.New(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := as.Create(ctx, "ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	f := &streamFixture{store: &countingStore{Store: media}, token: tok,
		pubs:   map[string]string{"pub1": "published", "unl1": "unlisted", "drf1": "draft"},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	var st assets.Store = f.store
	if _, ok := media.(assets.FileOpener); ok {
		st = countingFileStore{f.store}
	}
	f.site, err = New(Options{Media: st, Auth: as, Secret: []byte("0123456789abcdef0123"), StreamMode: mode,
		Publication: func(ctx context.Context, id string) (string, error) {
			if p, ok := f.pubs[id]; ok {
				return p, nil
			}
			return "", fmt.Errorf("catalog: replay %s: %w", id, httpapi.ErrNotFound)
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.video = make([]byte, 100_000)
	rand.Read(f.video)
	for id := range f.pubs {
		put(t, media, "replays/"+id+"/video.mp4", f.video, "application/octet-stream")
		put(t, media, "replays/"+id+"/hls/master.m3u8", []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n"), "")
		put(t, media, "replays/"+id+"/hls/720p/seg-00001.m4s", []byte("segment"), "")
		put(t, media, "replays/"+id+"/subtitles/fr.vtt", []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nBonjour\n"), "")
		put(t, media, "replays/"+id+"/burnin/fr.mp4", []byte("burned-in mp4 bytes"), "")
		put(t, media, "replays/"+id+"/poster.jpg", []byte("\xff\xd8\xff jpeg"), "")
	}
	f.srv = httptest.NewServer(streamRouter(f.site))
	t.Cleanup(f.srv.Close)
	return f
}

func put(t *testing.T, st assets.Store, key string, b []byte, ct string) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), ct); err != nil {
		t.Fatal(err)
	}
}

func (f *streamFixture) do(t *testing.T, method, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestStreamProxy serves a Dir store both ways: from its files (sendfile) and through Open (the
// ranged reader S3 also gets).
func TestStreamProxy(t *testing.T) {
	dir, err := assets.NewDir(t.TempDir(), "", []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("file", func(t *testing.T) { testStreamProxy(t, dir, newStreamFixture(t, dir, StreamProxy), true) })
	t.Run("reader", func(t *testing.T) { testStreamProxy(t, dir, newStreamFixture(t, readerOnly{dir}, StreamProxy), false) })
}

func testStreamProxy(t *testing.T, dir *assets.Dir, f *streamFixture, files bool) {
	info, err := dir.Stat(context.Background(), "replays/pub1/video.mp4")
	if err != nil {
		t.Fatal(err)
	}
	etag := `"` + info.SHA256 + `"`

	tests := []struct {
		name      string
		method    string
		path      string
		hdr       []string
		status    int
		ctype     string
		cache     string // substring of Cache-Control
		robots    string // substring of X-Robots-Tag; "" wants none
		body      []byte // nil: not checked
		bodyStart string
	}{
		{name: "whole mp4", path: "/replays/pub1/video.mp4", status: 200, ctype: "video/mp4", cache: "public, no-cache", body: f.video},
		{name: "head", method: "HEAD", path: "/replays/pub1/video.mp4", status: 200, ctype: "video/mp4", body: []byte{}},
		{name: "range", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=100-199"}, status: 206, body: f.video[100:200]},
		{name: "open-ended range", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=99990-"}, status: 206, body: f.video[99990:]},
		{name: "suffix range", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=-10"}, status: 206, body: f.video[len(f.video)-10:]},
		{name: "range past the end", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=200000-"}, status: 416},
		{name: "multi range", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=0-1,10-11"}, status: 206, ctype: "multipart/byteranges"},
		{name: "if-range matches", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=0-9", "If-Range", etag}, status: 206, body: f.video[:10]},
		{name: "if-range stale", path: "/replays/pub1/video.mp4", hdr: []string{"Range", "bytes=0-9", "If-Range", `"old"`}, status: 200, body: f.video},
		{name: "if-none-match", path: "/replays/pub1/video.mp4", hdr: []string{"If-None-Match", etag}, status: 304},
		{name: "unlisted", path: "/replays/unl1/video.mp4", status: 200, cache: "private, no-store", robots: "noindex", body: f.video},
		{name: "draft hidden", path: "/replays/drf1/video.mp4", status: 404},
		{name: "draft with bad token", path: "/replays/drf1/video.mp4", hdr: []string{"Authorization", "Bearer nope"}, status: 401},
		{name: "draft with token", path: "/replays/drf1/video.mp4", hdr: []string{"Authorization", "Bearer " + f.token}, status: 200, cache: "private, no-store", robots: "noindex", body: f.video},
		{name: "unknown replay", path: "/replays/nope/video.mp4", status: 404},
		{name: "master playlist", path: "/replays/pub1/hls/master.m3u8", status: 200, ctype: "application/vnd.apple.mpegurl", cache: "public, no-cache", bodyStart: "#EXTM3U"},
		{name: "segment", path: "/replays/pub1/hls/720p/seg-00001.m4s", status: 200, ctype: "video/iso.segment", cache: "public, no-cache", body: []byte("segment")},
		{name: "hls dot segment", path: "/replays/pub1/hls/720p/..seg.m4s", status: 404},
		{name: "hls unknown extension", path: "/replays/pub1/hls/x.exe", status: 404},
		{name: "subtitles", path: "/replays/pub1/subtitles/fr.vtt", status: 200, ctype: "text/vtt; charset=utf-8", bodyStart: "WEBVTT"},
		{name: "burned-in mp4", path: "/replays/pub1/burnin/fr.mp4", status: 200, ctype: "video/mp4", bodyStart: "burned-in"},
		{name: "burned-in bad lang", path: "/replays/pub1/burnin/x..y.mp4", status: 404},
		{name: "subtitles bad lang", path: "/replays/pub1/subtitles/FR_x.vtt", status: 404},
		{name: "missing subtitles", path: "/replays/pub1/subtitles/de.vtt", status: 404},
		{name: "poster", path: "/replays/pub1/poster.jpg", status: 200, ctype: "image/jpeg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body := f.do(t, method, tc.path, tc.hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %.200s", resp.StatusCode, tc.status, body)
			}
			if tc.ctype != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.cache != "" && !strings.Contains(resp.Header.Get("Cache-Control"), tc.cache) {
				t.Errorf("Cache-Control %q, want %q", resp.Header.Get("Cache-Control"), tc.cache)
			}
			if got := resp.Header.Get("X-Robots-Tag"); (tc.robots == "") != (got == "") || !strings.Contains(got, tc.robots) {
				t.Errorf("X-Robots-Tag %q, want %q", got, tc.robots)
			}
			if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") || strings.Contains(cc, "max-age=") {
				t.Errorf("Cache-Control %q: a replay's files can be unpublished at any time, nothing may be kept unchecked", cc)
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body: %d bytes, want %d", len(body), len(tc.body))
			}
			if tc.bodyStart != "" && !strings.HasPrefix(string(body), tc.bodyStart) {
				t.Errorf("body %.50q, want it to start with %q", body, tc.bodyStart)
			}
			if resp.StatusCode == 200 || resp.StatusCode == 206 {
				if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
					t.Errorf("ETag %q, Last-Modified %q: want both", resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
				}
			}
		})
	}

	t.Run("a range opens only its bytes, HEAD opens nothing", func(t *testing.T) {
		if files {
			t.Skip("served from the file")
		}
		f.store.opens.Store(0)
		f.do(t, "HEAD", "/replays/pub1/video.mp4")
		if n := f.store.opens.Load(); n != 0 {
			t.Errorf("HEAD opened the object %d times", n)
		}
		f.do(t, "GET", "/replays/pub1/video.mp4", "Range", "bytes=5-6")
		if n := f.store.opens.Load(); n != 1 {
			t.Errorf("a range request opened the object %d times, want 1", n)
		}
	})
	t.Run("a store of files serves from one open file", func(t *testing.T) {
		if !files {
			t.Skip("served through Open")
		}
		f.store.opens.Store(0)
		f.store.fileOpens.Store(0)
		f.do(t, "HEAD", "/replays/pub1/video.mp4")
		f.do(t, "GET", "/replays/pub1/video.mp4", "Range", "bytes=5-6")
		if o, fo := f.store.opens.Load(), f.store.fileOpens.Load(); o != 0 || fo != 2 {
			t.Errorf("HEAD and a range: %d Opens and %d OpenFiles, want 0 and 2", o, fo)
		}
	})
}

func TestStreamRedirectS3(t *testing.T) {
	srv := testenv.S3(t)
	s3, err := assets.NewS3(context.Background(), assets.S3Config{Endpoint: srv.Endpoint, Bucket: "media",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	f := newStreamFixture(t, s3, StreamRedirect)

	resp, _ := f.do(t, "GET", "/replays/pub1/video.mp4")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, srv.Endpoint) || !strings.Contains(loc, "X-Amz-Signature") {
		t.Fatalf("Location %q: want a presigned URL of the S3 server", loc)
	}
	// The presigned URL serves the bytes, ranges included.
	req, _ := http.NewRequest("GET", loc, nil)
	req.Header.Set("Range", "bytes=10-19")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 206 || !bytes.Equal(got, f.video[10:20]) {
		t.Errorf("presigned range: status %d, %d bytes", r2.StatusCode, len(got))
	}

	// Playlists and subtitles stay proxied (relative URIs, same-origin tracks); segments redirect.
	for path, want := range map[string]int{
		"/replays/pub1/hls/master.m3u8":        200,
		"/replays/pub1/subtitles/fr.vtt":       200,
		"/replays/pub1/hls/720p/seg-00001.m4s": 302,
		"/replays/drf1/video.mp4":              404,
		"/replays/pub1/subtitles/de.vtt":       404,
	} {
		resp, _ := f.do(t, "GET", path)
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
	// The redirect must not outlive the publication: no cache keeps it.
	if resp, _ := f.do(t, "GET", "/replays/pub1/hls/720p/seg-00001.m4s"); resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("segment redirect: Cache-Control %q, want private, no-store", resp.Header.Get("Cache-Control"))
	}
	// Right after unpublishing, no new redirect is handed out.
	f.pubs["pub1"] = "draft"
	if resp, _ := f.do(t, "GET", "/replays/pub1/hls/720p/seg-00001.m4s"); resp.StatusCode != 404 {
		t.Errorf("segment of an unpublished replay: %d, want 404", resp.StatusCode)
	}
	f.pubs["pub1"] = "published"

	// Proxy mode over S3 serves ranges itself.
	f.site.streamMode = StreamProxy
	resp, body := f.do(t, "GET", "/replays/pub1/video.mp4", "Range", "bytes=1000-1999")
	if resp.StatusCode != 206 || !bytes.Equal(body, f.video[1000:2000]) {
		t.Errorf("proxied S3 range: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestUnpublishIsImmediate: a replay taken back to draft answers 404 at its next request, with
// the very body of a replay that never existed (nothing tells a draft apart).
func TestUnpublishIsImmediate(t *testing.T) {
	dir, err := assets.NewDir(t.TempDir(), "http://127.0.0.1", []byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	f := newStreamFixture(t, dir, StreamProxy)
	for _, p := range []string{"/replays/pub1/video.mp4", "/replays/pub1/hls/720p/seg-00001.m4s"} {
		f.pubs["pub1"] = "published"
		if resp, _ := f.do(t, "GET", p); resp.StatusCode != 200 {
			t.Fatalf("%s published: %d", p, resp.StatusCode)
		}
		f.pubs["pub1"] = "draft"
		resp, body := f.do(t, "GET", p)
		_, unknown := f.do(t, "GET", strings.Replace(p, "pub1", "nope", 1))
		if resp.StatusCode != 404 {
			t.Fatalf("%s right after unpublishing: %d, want 404", p, resp.StatusCode)
		}
		if !bytes.Equal(body, unknown) {
			t.Errorf("%s: a draft answers %q, an unknown replay %q: want the same body", p, body, unknown)
		}
	}
}

// TestMasterLadderHeader: the HLS master says whether rungs are still coming (Atelier-Ladder),
// on a 304 too (a browser's cached header must be updated), "pending" when that cannot be
// known; no other file carries it, and no site without LadderPending.
func TestMasterLadderHeader(t *testing.T) {
	dir, err := assets.NewDir(t.TempDir(), "", []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	f := newStreamFixture(t, dir, StreamProxy)
	resp, _ := f.do(t, "GET", "/replays/pub1/hls/master.m3u8")
	if got := resp.Header.Get(ladderHeader); got != "" {
		t.Errorf("without LadderPending: %s %q", ladderHeader, got)
	}
	etag := resp.Header.Get("ETag")
	var answer struct {
		pending bool
		err     error
	}
	var asked []string
	f.site.ladderPending = func(_ context.Context, id string) (bool, error) {
		asked = append(asked, id)
		return answer.pending, answer.err
	}
	for _, c := range []struct {
		pending bool
		err     error
		hdr     []string
		status  int
		want    string
	}{
		{pending: true, status: 200, want: "pending"},
		{pending: false, status: 200, want: "done"},
		{pending: false, hdr: []string{"If-None-Match", etag}, status: 304, want: "done"},
		{pending: true, hdr: []string{"If-None-Match", etag}, status: 304, want: "pending"},
		{err: errors.New("database down"), status: 200, want: "pending"},
	} {
		answer.pending, answer.err = c.pending, c.err
		resp, _ := f.do(t, "GET", "/replays/pub1/hls/master.m3u8", c.hdr...)
		if resp.StatusCode != c.status || resp.Header.Get(ladderHeader) != c.want {
			t.Errorf("pending %v, err %v, %v: %d %s %q, want %d %q", c.pending, c.err, c.hdr, resp.StatusCode,
				ladderHeader, resp.Header.Get(ladderHeader), c.status, c.want)
		}
	}
	asked = nil
	answer.pending, answer.err = true, nil
	for _, p := range []string{"/replays/pub1/hls/720p/seg-00001.m4s", "/replays/pub1/video.mp4"} {
		if resp, _ := f.do(t, "GET", p); resp.StatusCode != 200 || resp.Header.Get(ladderHeader) != "" {
			t.Errorf("%s: %d %s %q", p, resp.StatusCode, ladderHeader, resp.Header.Get(ladderHeader))
		}
	}
	if len(asked) > 0 {
		t.Errorf("segments and the MP4 asked whether the ladder is done: %v", asked)
	}
	// A draft's master answers the public as any of its files does: not found, nothing said.
	if resp, _ := f.do(t, "GET", "/replays/drf1/hls/master.m3u8"); resp.StatusCode != 404 || resp.Header.Get(ladderHeader) != "" {
		t.Errorf("draft master: %d %q", resp.StatusCode, resp.Header.Get(ladderHeader))
	}
}

// TestStreamPinnedGeneration: a URL pinned to a render generation serves that generation's HLS
// whichever is current, with the replay's publication rules, and answers 404 once the
// generation is removed; the unpinned URL follows the current generation. A re-cut therefore
// never hands a playing learner segments of the new cut under the old playlist's names.
func TestStreamPinnedGeneration(t *testing.T) {
	dir, err := assets.NewDir(t.TempDir(), "", []byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	f := newStreamFixture(t, dir, StreamProxy)
	current := map[string]string{"pub1": "0a0a0a0a", "drf1": "0a0a0a0a"}
	f.site.serving = func(_ context.Context, id string) (string, string, error) {
		pub, ok := f.pubs[id]
		if !ok {
			return "", "", fmt.Errorf("catalog: replay %s: %w", id, httpapi.ErrNotFound)
		}
		return pub, current[id], nil
	}
	for _, g := range []string{"0a0a0a0a", "0b0b0b0b"} {
		for _, id := range []string{"pub1", "drf1"} {
			put(t, dir, "replays/"+id+"/r/"+g+"/hls/source/seg_0001.m4s", []byte("segment of "+g), "")
		}
	}
	get := func(path string, hdr ...string) (int, string) {
		resp, b := f.do(t, "GET", path, hdr...)
		return resp.StatusCode, string(b)
	}
	seg := "/hls/source/seg_0001.m4s"
	if code, b := get("/replays/pub1/r/0a0a0a0a" + seg); code != 200 || b != "segment of 0a0a0a0a" {
		t.Errorf("pinned to the current generation: %d %q", code, b)
	}
	current["pub1"] = "0b0b0b0b" // the switch of a re-cut
	if code, b := get("/replays/pub1/r/0a0a0a0a" + seg); code != 200 || b != "segment of 0a0a0a0a" {
		t.Errorf("pinned to the previous generation after the switch: %d %q", code, b)
	}
	if code, b := get("/replays/pub1" + seg); code != 200 || b != "segment of 0b0b0b0b" {
		t.Errorf("unpinned after the switch: %d %q", code, b)
	}
	if err := dir.Delete(context.Background(), "replays/pub1/r/0a0a0a0a"+seg); err != nil {
		t.Fatal(err)
	}
	if code, _ := get("/replays/pub1/r/0a0a0a0a" + seg); code != 404 {
		t.Errorf("pinned to a pruned generation: %d, want 404", code)
	}
	// A draft's pinned files are an animator's, as its other files.
	if code, _ := get("/replays/drf1/r/0a0a0a0a" + seg); code != 404 {
		t.Errorf("a draft's pinned segment without credentials: %d, want 404", code)
	}
	if code, b := get("/replays/drf1/r/0a0a0a0a"+seg, "Authorization", "Bearer "+f.token); code != 200 || b != "segment of 0a0a0a0a" {
		t.Errorf("a draft's pinned segment for an animator: %d %q", code, b)
	}
	// Only generation names the pipeline makes (8 hex digits) route.
	for _, p := range []string{"/replays/pub1/r/0A0A0A0A" + seg, "/replays/pub1/r/0a0a0a0a0" + seg, "/replays/pub1/r/0a0a0a0a/video.mp4"} {
		if code, _ := get(p); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
}
