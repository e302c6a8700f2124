package assets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef-test-only")

// newTestDir returns a Dir in a temp directory, served at /media/ by an
// httptest server whose URL is the Dir's public URL.
func newTestDir(t *testing.T) *Dir {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	d, err := NewDir(t.TempDir(), srv.URL, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/media/", d)
	return d
}

func TestDirContract(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return newTestDir(t) })
}

func TestNewDir(t *testing.T) {
	root := t.TempDir()
	for name, tc := range map[string]struct {
		root, url string
		secret    []byte
	}{
		"empty root":   {"", "", testSecret},
		"short secret": {root, "", []byte("short")},
		"bad url":      {root, "ftp://x", testSecret},
		"url query":    {root, "https://x/?a=b", testSecret},
	} {
		if _, err := NewDir(tc.root, tc.url, tc.secret); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	d, err := NewDir(root, "https://atelier.example/base/", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.URL(t.Context(), "a b/c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://atelier.example/base/media/a%20b/c?expires=") || !strings.Contains(u, "&sig=") {
		t.Errorf("URL = %s", u)
	}
}

func TestDirTempFilesHidden(t *testing.T) {
	d := newTestDir(t)
	ctx := t.Context()
	mustPut(t, d, "v/1", []byte("one"), "text/plain")
	// What a crashed Put leaves: a temp data file and a sidecar temp.
	for _, name := range []string{"put-123", "meta-456"} {
		if err := os.WriteFile(filepath.Join(d.root, ".tmp", name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, err := d.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Key != "v/1" {
		t.Fatalf("List = %+v, want only v/1", list)
	}
	// Old leftovers go when the Dir is opened again; fresh ones stay (a
	// Put may be writing them).
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(d.root, ".tmp", "put-123"), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(d.root, "", testSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.root, ".tmp", "put-123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.root, ".tmp", "meta-456")); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
}

// A data file without a matching sidecar is not an object: one put there
// by hand, and one whose Put crashed between the sidecar and the data
// renames.
func TestDirSidecarBindsData(t *testing.T) {
	d := newTestDir(t)
	if err := os.WriteFile(filepath.Join(d.root, "stray"), []byte("by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertMissing(t, d, "stray")

	mustPut(t, d, "k", []byte("version one"), "text/plain")
	// Simulate the crash: the sidecar of a new version, old data.
	sc, err := d.readSidecar("k")
	if err != nil {
		t.Fatal(err)
	}
	sc.Inode++
	sc.SHA256 = sha([]byte("version two"))
	f, err := writeTemp(d.tmpDir(), "meta-*", sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), d.metaPath("k")); err != nil {
		t.Fatal(err)
	}
	assertMissing(t, d, "k")
	// The next Put repairs it.
	mustPut(t, d, "k", []byte("version three"), "text/plain")
	if got, _ := readAll(t, d, "k", nil); string(got) != "version three" {
		t.Errorf("got %q", got)
	}
}

func TestDirKeyClash(t *testing.T) {
	d := newTestDir(t)
	mustPut(t, d, "a/b", []byte("x"), "")
	// On a file system "a" cannot be both a file and a directory.
	if _, err := d.Put(t.Context(), "a", strings.NewReader("y"), 1, ""); err == nil {
		t.Error("Put(a) over directory a/: no error")
	}
	assertMissing(t, d, "a")
	if err := d.Delete(t.Context(), "a"); err != nil {
		t.Errorf("Delete(a) with a/ a directory: %v", err)
	}
	if _, err := d.Stat(t.Context(), "a/b"); err != nil {
		t.Errorf("a/b: %v", err)
	}
	mustPut(t, d, "f", []byte("x"), "")
	if _, err := d.Put(t.Context(), "f/g", strings.NewReader("y"), 1, ""); err == nil {
		t.Error("Put(f/g) under file f: no error")
	}
	assertMissing(t, d, "f/g")
}

func TestDirServeHTTP(t *testing.T) {
	d := newTestDir(t)
	data := randBytes(2000, 9)
	info := mustPut(t, d, "v/clip1", data, "video/mp4")
	mustPut(t, d, "v/clip", []byte("other"), "video/mp4")
	h := http.NewServeMux()
	h.Handle("/media/", d)
	serve := func(method, target string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	path := func(u string) string { return u[len(d.publicURL):] }
	future := time.Now().Add(time.Hour).Unix()

	good := path(d.signedURL("v/clip1", future))
	if w := serve("GET", good); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), data) {
		t.Fatalf("GET: %d", w.Code)
	} else if w.Header().Get("ETag") != `"`+info.SHA256+`"` || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("headers: %v", w.Header())
	}
	if w := serve("HEAD", good); w.Code != 200 || w.Header().Get("Content-Length") != "2000" {
		t.Errorf("HEAD: %d %v", w.Code, w.Header())
	}
	if w := serve("GET", good, "Range", "bytes=1990-"); w.Code != 206 || !bytes.Equal(w.Body.Bytes(), data[1990:]) {
		t.Errorf("GET range: %d", w.Code)
	}
	if w := serve("GET", good, "If-None-Match", `"`+info.SHA256+`"`); w.Code != http.StatusNotModified {
		t.Errorf("GET If-None-Match: %d", w.Code)
	}
	if w := serve("GET", good, "Range", "bytes=5000-"); w.Code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("GET range past end: %d", w.Code)
	}
	if w := serve("POST", good); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}

	past := time.Now().Add(-time.Second).Unix()
	for name, target := range map[string]string{
		"expired":       path(d.signedURL("v/clip1", past)),
		"no sig":        "/media/v/clip1?expires=" + itoa(future),
		"no expiry":     "/media/v/clip1?sig=" + d.sign("v/clip1", future),
		"bad hex":       "/media/v/clip1?expires=" + itoa(future) + "&sig=zz",
		"longer expiry": "/media/v/clip1?expires=" + itoa(future+1) + "&sig=" + d.sign("v/clip1", future),
		// The digits of the key traded with the expiry: refused because
		// the MAC separates key and expiry.
		"digits traded": "/media/v/clip?expires=1" + itoa(future) + "&sig=" + d.sign("v/clip1", future),
		"other secret": func() string {
			o, err := NewDir(t.TempDir(), "", []byte("another-secret-of-16+"))
			if err != nil {
				t.Fatal(err)
			}
			return o.signedURL("v/clip1", future) // relative: public URL ""
		}(),
	} {
		if w := serve("GET", target); w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, w.Code)
		}
	}
	if w := serve("GET", path(d.signedURL("v/missing", future))); w.Code != http.StatusNotFound {
		t.Errorf("missing: %d, want 404", w.Code)
	}
	if err := d.Delete(t.Context(), "v/clip1"); err != nil {
		t.Fatal(err)
	}
	if w := serve("GET", good); w.Code != http.StatusNotFound {
		t.Errorf("deleted: %d, want 404", w.Code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDirOpenKeepsReading(t *testing.T) {
	d := newTestDir(t)
	mustPut(t, d, "k", []byte("first"), "")
	rc, _, err := d.Open(t.Context(), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	mustPut(t, d, "k", []byte("second!"), "")
	if err := d.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || string(got) != "first" {
		t.Errorf("reader opened before overwrite and delete: %q, %v", got, err)
	}
}

// Failed and cancelled Puts leave no temp file behind.
func TestDirFailedPutCleansUp(t *testing.T) {
	d := newTestDir(t)
	ctx := t.Context()
	boom := errors.New("boom")
	if _, err := d.Put(ctx, "a", failAfter(randBytes(1000, 1), boom), -1, ""); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "b", strings.NewReader("short"), 10, ""); err == nil {
		t.Fatal("short body: no error")
	}
	cctx, cancel := context.WithCancel(ctx)
	if _, err := d.Put(cctx, "c", &cancelAfter{r: newGen(1, -1), n: 1 << 20, cancel: cancel}, -1, ""); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(d.root, ".tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf(".tmp holds %d files after failed puts", len(entries))
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := os.Stat(filepath.Join(d.root, k)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v", k, err)
		}
	}
}

func TestDirDeletePrunesEmptyDirectories(t *testing.T) {
	d := newTestDir(t)
	mustPut(t, d, "recordings/r1/source", []byte("x"), "")
	mustPut(t, d, "recordings/r1/subtitles/fr.srt", []byte("y"), "")
	mustPut(t, d, "recordings/r2/source", []byte("z"), "")
	for _, k := range []string{"recordings/r1/subtitles/fr.srt", "recordings/r1/source"} {
		if err := d.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(d.root, "recordings", "r1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("recordings/r1 still on disk after its last object was deleted: %v", err)
	}
	if _, err := d.Stat(t.Context(), "recordings/r2/source"); err != nil {
		t.Errorf("a sibling's object went with it: %v", err)
	}
	if _, err := os.Stat(d.root); err != nil {
		t.Errorf("the root itself was removed: %v", err)
	}
	// Concurrent Puts into a directory that Deletes keep emptying all land.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				k := fmt.Sprintf("churn/d/%d-%d", i, j)
				if _, err := d.Put(t.Context(), k, strings.NewReader("x"), 1, ""); err != nil {
					t.Errorf("put %s: %v", k, err)
					return
				}
				if err := d.Delete(t.Context(), k); err != nil {
					t.Errorf("delete %s: %v", k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// OpenFile hands out the object's own file with the Info of that version: it keeps reading it
// through an overwrite and a Delete, and refuses what Open refuses.
func TestDirOpenFile(t *testing.T) {
	d := newTestDir(t)
	mustPut(t, d, "k", []byte("first"), "text/plain")
	f, info, err := d.OpenFile(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkInfo(t, "OpenFile", info, "k", 5, "text/plain", sha([]byte("first")))
	mustPut(t, d, "k", []byte("second!"), "")
	if err := d.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "first" {
		t.Errorf("file opened before overwrite and delete: %q, %v", got, err)
	}

	if _, _, err := d.OpenFile(t.Context(), "k"); !errors.Is(err, ErrNotExist) {
		t.Errorf("OpenFile of a deleted key: %v, want ErrNotExist", err)
	}
	if _, _, err := d.OpenFile(t.Context(), "../k"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("OpenFile of an invalid key: %v, want ErrInvalidKey", err)
	}
	// A data file its sidecar does not describe is no object.
	if err := os.WriteFile(filepath.Join(d.root, "stray"), []byte("by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.OpenFile(t.Context(), "stray"); !errors.Is(err, ErrNotExist) {
		t.Errorf("OpenFile of a file without a sidecar: %v, want ErrNotExist", err)
	}
}
