package tusstore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/internal/testenv"
)

const maxSize = 64 << 20

// clock is a settable time for the expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backendEnv makes stores over one media storage: every store it makes sees the uploads of the
// others, as a restarted server sees those of the process before it.
type backendEnv struct {
	media    assets.Store
	newStore func(t *testing.T, cfg Config) *Store
	// leftovers lists what the storage still holds of uploads (files, objects, multipart uploads).
	leftovers func(t *testing.T) []string
}

func dirEnv(t *testing.T) backendEnv {
	d, err := assets.NewDir(t.TempDir(), "", []byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	return backendEnv{
		media: d,
		newStore: func(t *testing.T, cfg Config) *Store {
			s, err := NewDir(d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		leftovers: func(t *testing.T) []string {
			dir, _ := d.ResumableDir()
			ents, err := osReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			return ents
		},
	}
}

var bucketSeq atomic.Int64

func s3Env(t *testing.T, srv *testenv.S3Server) backendEnv {
	s, err := assets.NewS3(t.Context(), assets.S3Config{
		Endpoint: srv.Endpoint, Bucket: fmt.Sprintf("tus-test-%d", bucketSeq.Add(1)),
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region, PathStyle: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	core, bucket := s.Core()
	return backendEnv{
		media: s,
		newStore: func(t *testing.T, cfg Config) *Store {
			cfg.PartSize = minPart // small parts: several per test upload
			st, err := NewS3(s, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		leftovers: func(t *testing.T) []string {
			var out []string
			for oi := range core.Client.ListObjectsIter(t.Context(), bucket, minio.ListObjectsOptions{Prefix: assets.ResumablePrefix, Recursive: true}) {
				if oi.Err != nil {
					t.Fatal(oi.Err)
				}
				out = append(out, oi.Key)
			}
			for up := range core.Client.ListIncompleteUploads(t.Context(), bucket, assets.ResumablePrefix, true) {
				if up.Err != nil {
					t.Fatal(up.Err)
				}
				out = append(out, "multipart:"+up.Key)
			}
			return out
		},
	}
}

func TestDir(t *testing.T) { testBackend(t, dirEnv) }

func TestS3(t *testing.T) {
	srv := testenv.S3(t)
	testBackend(t, func(t *testing.T) backendEnv { return s3Env(t, srv) })
}

// server is a tus endpoint over a Store, as cmd/atelier mounts it.
type server struct {
	*httptest.Server
	store *Store
}

func newServer(t *testing.T, env backendEnv, cfg Config) *server {
	s := env.newStore(t, cfg)
	h, err := s.Handler(HandlerConfig{BasePath: "/api/uploads/", MaxSize: maxSize, LimitName: "ATELIER_MAX_UPLOAD"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{Server: srv, store: s}
}

func testBackend(t *testing.T, mkEnv func(t *testing.T) backendEnv) {
	data := randBytes(13<<20+12345, 1)
	sum := sha256.Sum256(data)

	// An upload whose connection dies half-way resumes from the offset the server gives, and
	// the object it becomes is the file, byte for byte, with its SHA-256.
	t.Run("ResumeAfterKilledConnection", func(t *testing.T) {
		env := mkEnv(t)
		srv := newServer(t, env, Config{})
		loc := create(t, srv.URL, len(data))
		if exp := head(t, loc).Header.Get("Upload-Expires"); exp == "" {
			t.Error("no Upload-Expires")
		}
		patchKilled(t, loc, 0, data, len(data)/2)
		off := offsetOf(t, loc)
		if off <= 0 || off > int64(len(data)/2) {
			t.Fatalf("offset after the killed PATCH = %d, want in (0, %d]", off, len(data)/2)
		}
		if resp := patch(t, loc, off, data[off:]); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("resume: %s %s", resp.Status, readBody(resp))
		}
		takeAndCheck(t, env, srv.store, loc, data, sum)
	})

	// The same, with the server restarted (a new Store over the same storage) between the halves.
	t.Run("ResumeAfterRestart", func(t *testing.T) {
		env := mkEnv(t)
		srv1 := newServer(t, env, Config{})
		loc := create(t, srv1.URL, len(data))
		// Three PATCHes before the restart, the S3 ones shorter than a part: the tail object.
		for _, end := range []int{3 << 20, 4 << 20, 6<<20 + 7} {
			off := offsetOf(t, loc)
			if resp := patch(t, loc, off, data[off:end]); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("patch to %d: %s %s", end, resp.Status, readBody(resp))
			}
		}
		srv1.Close()
		srv2 := newServer(t, env, Config{})
		loc2 := srv2.URL + loc[strings.Index(loc, "/api/uploads/"):]
		off := offsetOf(t, loc2)
		if off != 6<<20+7 {
			t.Fatalf("offset after restart = %d, want %d", off, 6<<20+7)
		}
		if resp := patch(t, loc2, off, data[off:]); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("resume: %s %s", resp.Status, readBody(resp))
		}
		takeAndCheck(t, env, srv2.store, loc2, data, sum)
	})

	t.Run("Errors", func(t *testing.T) {
		env := mkEnv(t)
		srv := newServer(t, env, Config{})
		loc := create(t, srv.URL, 100)
		if resp := patch(t, loc, 10, []byte("abc")); resp.StatusCode != http.StatusConflict {
			t.Errorf("wrong offset: %s, want 409", resp.Status)
		} else {
			checkJSONError(t, resp)
		}
		req, _ := http.NewRequest("POST", srv.URL+"/api/uploads/", nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", strconv.Itoa(maxSize+1))
		if resp := do(t, req); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("over the limit: %s, want 413", resp.Status)
		} else if b := checkJSONError(t, resp); !strings.Contains(b.Error, "ATELIER_MAX_UPLOAD") {
			t.Errorf("413 says %q, not the limit's name", b.Error)
		}
		for _, id := range []string{"0123456789abcdef0123456789abcdef", "../../etc/passwd", "x"} {
			if resp := patch(t, srv.URL+"/api/uploads/"+id, 0, []byte("abc")); resp.StatusCode != http.StatusNotFound {
				t.Errorf("unknown upload %q: %s, want 404", id, resp.Status)
			} else {
				checkJSONError(t, resp)
			}
		}
		if _, _, err := srv.store.Take(t.Context(), idOf(loc), "recordings/x/source", ""); !errors.Is(err, ErrUnfinished) {
			t.Errorf("Take of an unfinished upload: %v, want ErrUnfinished", err)
		}
	})

	t.Run("Terminate", func(t *testing.T) {
		env := mkEnv(t)
		srv := newServer(t, env, Config{})
		loc := create(t, srv.URL, len(data))
		patch(t, loc, 0, data[:6<<20])
		req, _ := http.NewRequest("DELETE", loc, nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		if resp := do(t, req); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %s", resp.Status)
		}
		if resp := head(t, loc); resp.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD after DELETE: %s", resp.Status)
		}
		if left := env.leftovers(t); len(left) != 0 {
			t.Errorf("left after DELETE: %q", left)
		}
	})

	// An upload that receives nothing for a day answers 404 and RemoveExpired removes all of it;
	// one still receiving bytes is kept.
	t.Run("Expiry", func(t *testing.T) {
		env := mkEnv(t)
		clk := &clock{t: time.Now()}
		srv := newServer(t, env, Config{Now: clk.now})
		stale := create(t, srv.URL, len(data))
		patch(t, stale, 0, data[:6<<20+1]) // a part and a tail on S3
		fresh := create(t, srv.URL, len(data))
		clk.add(23 * time.Hour)
		patch(t, fresh, 0, data[:1000])
		clk.add(2 * time.Hour)
		if resp := head(t, stale); resp.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD of an expired upload: %s, want 404", resp.Status)
		}
		n, err := srv.store.RemoveExpired(t.Context())
		if err != nil || n != 1 {
			t.Fatalf("RemoveExpired = %d, %v; want 1", n, err)
		}
		for _, l := range env.leftovers(t) {
			if strings.Contains(l, idOf(stale)) {
				t.Errorf("left of the expired upload: %s", l)
			}
		}
		if off := offsetOf(t, fresh); off != 1000 {
			t.Errorf("the fresh upload's offset = %d, want 1000", off)
		}
	})
}

func takeAndCheck(t *testing.T, env backendEnv, s *Store, loc string, data []byte, sum [32]byte) {
	t.Helper()
	key := "recordings/r1/source"
	up, info, err := s.Take(t.Context(), idOf(loc), key, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	if up.Size != int64(len(data)) || info.Size != int64(len(data)) {
		t.Errorf("sizes: upload %d, object %d, want %d", up.Size, info.Size, len(data))
	}
	if info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA-256 %s, want %x", info.SHA256, sum)
	}
	rc, st, err := env.media.Open(t.Context(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || st.SHA256 != info.SHA256 {
		t.Fatalf("the object is not the file (%d bytes, want %d)", len(got), len(data))
	}
	if _, _, err := s.Take(t.Context(), idOf(loc), "recordings/r2/source", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Take: %v, want ErrNotFound", err)
	}
	if left := env.leftovers(t); len(left) != 0 {
		t.Errorf("left after Take: %q", left)
	}
}

func create(t *testing.T, base string, size int) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(size))
	req.Header.Set("Upload-Metadata", "filename "+"dGVzdC5tcDQ=")
	resp := do(t, req)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s %s", resp.Status, readBody(resp))
	}
	if resp.Header.Get("Upload-Expires") == "" {
		t.Error("create: no Upload-Expires")
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	return loc
}

func patch(t *testing.T, loc string, off int64, b []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("PATCH", loc, bytes.NewReader(b))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(off, 10))
	return do(t, req)
}

// patchKilled announces the whole rest of data, sends only upto bytes and kills the connection.
func patchKilled(t *testing.T, loc string, off int, data []byte, upto int) {
	t.Helper()
	host := strings.TrimPrefix(loc, "http://")
	host, path, _ := strings.Cut(host, "/")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PATCH /%s HTTP/1.1\r\nHost: %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n\r\n",
		path, host, off, len(data)-off)
	w.Write(data[off:upto])
	w.Flush()
	time.Sleep(200 * time.Millisecond) // let the server read what was sent before the connection dies
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

func head(t *testing.T, loc string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("HEAD", loc, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	return do(t, req)
}

func offsetOf(t *testing.T, loc string) int64 {
	t.Helper()
	resp := head(t, loc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %s", resp.Status)
	}
	off, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

type errBody struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func checkJSONError(t *testing.T, resp *http.Response) errBody {
	t.Helper()
	var b errBody
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", resp.Status, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || b.Error == "" || b.Field != "upload" {
		t.Errorf("%s: body %+v (%v), want {error, field: upload}", resp.Status, b, err)
	}
	return b
}

func idOf(loc string) string { return loc[strings.LastIndexByte(loc, '/')+1:] }

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func osReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, nil
}

// TestS3InPlace: with Config.Key, the multipart upload is built at the object's final key;
// the media store's sweep of unfinished multipart uploads leaves it alone, and Take records it
// where it is (the object is the upload's data, nothing else is left).
func TestS3InPlace(t *testing.T) {
	srv := testenv.S3(t)
	env := s3Env(t, srv)
	key := func(id string) string { return "recordings/" + id + "/source" }
	s := newServer(t, env, Config{Key: key})
	data := randBytes(11<<20+3, 2)
	sum := sha256.Sum256(data)
	loc := create(t, s.URL, len(data))
	if resp := patch(t, loc, 0, data[:6<<20]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("patch: %s", resp.Status)
	}
	// Everything unfinished since before an hour from now is stale, but for its owner.
	if _, err := env.media.(*assets.S3).RemoveStale(t.Context(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if off := offsetOf(t, loc); off != 6<<20 {
		t.Fatalf("offset after the sweep = %d, want %d", off, 6<<20)
	}
	if resp := patch(t, loc, 6<<20, data[6<<20:]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("patch: %s", resp.Status)
	}
	_, info, err := s.store.Take(t.Context(), idOf(loc), key(idOf(loc)), "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	rc, st, err := env.media.Open(t.Context(), key(idOf(loc)), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) || st.SHA256 != hex.EncodeToString(sum[:]) || info.SHA256 != st.SHA256 {
		t.Fatalf("the object is not the file (%d bytes)", len(got))
	}
	if left := env.leftovers(t); len(left) != 0 {
		t.Errorf("left after Take: %q", left)
	}
}
