package assets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
	"github.com/minio/minio-go/v7"
)

var bucketSeq atomic.Int64

// newTestS3 returns an S3 store on a new bucket of srv. The contract uses
// the smallest part size so that a few MiB make a multipart upload.
func newTestS3(t *testing.T, srv *testenv.S3Server, partSize uint64) *S3 {
	t.Helper()
	s, err := NewS3(t.Context(), S3Config{
		Endpoint:  srv.Endpoint,
		Bucket:    fmt.Sprintf("atelier-test-%d", bucketSeq.Add(1)),
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
		Region:    srv.Region,
		PathStyle: true,
		PartSize:  partSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Contract(t *testing.T) {
	srv := testenv.S3(t)
	testStore(t, func(t *testing.T) Store { return newTestS3(t, srv, minPartSize) })
}

func TestS3Config(t *testing.T) {
	for name, cfg := range map[string]S3Config{
		"no endpoint":     {Bucket: "b"},
		"no bucket":       {Endpoint: "s3.example.com"},
		"small part size": {Endpoint: "s3.example.com", Bucket: "b", PartSize: 1 << 20},
	} {
		if _, err := NewS3(t.Context(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The bucket lookup shows in presigned links, which need no request
	// when the region is given.
	for _, tc := range []struct {
		pathStyle  bool
		host, path string
	}{
		{true, "s3.example.com", "/media/a/b.mp4"},
		{false, "media.s3.example.com", "/a/b.mp4"},
	} {
		s, err := newS3(S3Config{Endpoint: "s3.example.com", Bucket: "media", Region: "eu-west-1", AccessKey: "ak", SecretKey: "sk", Secure: true, PathStyle: tc.pathStyle})
		if err != nil {
			t.Fatal(err)
		}
		if s.partSize != DefaultPartSize {
			t.Errorf("part size %d", s.partSize)
		}
		u, err := s.URL(t.Context(), "a/b.mp4", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if pu.Scheme != "https" || pu.Host != tc.host || pu.Path != tc.path {
			t.Errorf("path style %v: %s", tc.pathStyle, u)
		}
	}
}

// incompleteUploads lists the multipart uploads in progress in s's bucket.
func incompleteUploads(t *testing.T, s *S3) []string {
	t.Helper()
	var keys []string
	for u := range s.client.ListIncompleteUploads(t.Context(), s.bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

// A failed or cancelled multipart Put is aborted, not left to linger.
func TestS3AbortsMultipart(t *testing.T) {
	srv := testenv.S3(t)
	s := newTestS3(t, srv, minPartSize)
	ctx := t.Context()

	// The check can see an upload in progress.
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, "probe", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := incompleteUploads(t, s); len(got) != 1 {
		t.Fatalf("incomplete uploads: %q, want [probe]", got)
	}
	if err := s.core.AbortMultipartUpload(ctx, s.bucket, "probe", id); err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	if _, err := s.Put(ctx, "fails", failAfter(randBytes(12<<20, 1), boom), -1, ""); !errors.Is(err, boom) {
		t.Fatalf("Put: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	_, err = s.Put(cctx, "cancelled", &cancelAfter{r: newGen(2, -1), n: 12 << 20, cancel: cancel}, -1, "")
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v", err)
	}
	// And a single PUT cut short.
	if _, err := s.Put(ctx, "short", failAfter(randBytes(1000, 3), boom), 4000, ""); !errors.Is(err, boom) {
		t.Fatalf("Put: %v", err)
	}
	if got := incompleteUploads(t, s); len(got) != 0 {
		t.Errorf("incomplete uploads left: %q", got)
	}
	for _, key := range []string{"fails", "cancelled", "short"} {
		assertMissing(t, s, key)
		// Not even an invisible data object is left.
		if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); s3Err(err) != ErrNotExist {
			t.Errorf("data object %s: %v", key, err)
		}
	}
}

// The sidecar is the commit record: data without a matching one is not an
// object.
func TestS3SidecarBindsData(t *testing.T) {
	srv := testenv.S3(t)
	s := newTestS3(t, srv, minPartSize)
	ctx := t.Context()
	putRaw := func(key, data string) {
		t.Helper()
		if _, err := s.client.PutObject(ctx, s.bucket, key, strings.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	putRaw("stray", "no sidecar")
	assertMissing(t, s, "stray")

	mustPut(t, s, "k", []byte("version one"), "text/plain")
	putRaw("k", "version two, written by someone else") // old sidecar, new data
	assertMissing(t, s, "k")
	mustPut(t, s, "k", []byte("version three"), "text/plain")
	if got, _ := readAll(t, s, "k", nil); string(got) != "version three" {
		t.Errorf("got %q", got)
	}

	// Sidecars are objects of the bucket, hidden from List, and go with
	// Delete.
	n := 0
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: metaPrefix, Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d sidecars, want 1", n)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k", metaKey("k")} {
		if _, err := s.client.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{}); s3Err(err) != ErrNotExist {
			t.Errorf("%s after Delete: %v", k, err)
		}
	}
}

// A 200 MiB stream of unknown size goes up in parts with flat memory.
func TestS3LargeUnknownSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	srv := testenv.S3(t)
	s := newTestS3(t, srv, 0) // the default part size
	const size = 200 << 20
	h := sha256.New()
	if _, err := io.Copy(h, newGen(42, size)); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	})
	info, err := s.Put(t.Context(), "big/stream.bin", newGen(42, size), -1, "video/mp4")
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("200 MiB put of unknown size: peak heap in use grew by %d MiB (part size %d MiB)", growth>>20, s.partSize>>20)
	if growth > 150<<20 {
		t.Errorf("heap grew by %d MiB during the upload; parts are not bounded", growth>>20)
	}
	if info.Size != size || info.SHA256 != want {
		t.Fatalf("Put: %+v, want size %d sha %s", info, size, want)
	}
	rc, st, err := s.Open(t.Context(), "big/stream.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want || st.SHA256 != want {
		t.Fatalf("read back sha %s (Info %s), want %s", got, st.SHA256, want)
	}
}

// The server dies mid-upload: Put fails in bounded time and, once a server
// runs again on the same storage, nothing is visible.
func TestS3ServerKilledMidUpload(t *testing.T) {
	srv := testenv.S3(t)
	s := newTestS3(t, srv, minPartSize)
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	var once sync.Once
	r := &cancelAfter{r: newGen(3, 100<<20), n: 12 << 20, cancel: func() { once.Do(srv.Kill) }}
	start := time.Now()
	_, err := s.Put(ctx, "killed/upload.bin", r, -1, "video/mp4")
	if err == nil {
		t.Fatal("Put while the server died: no error")
	}
	t.Logf("Put failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !strings.HasPrefix(err.Error(), "assets: put killed/upload.bin: ") {
		t.Errorf("error without context: %v", err)
	}

	srv.Restart(t)
	assertMissing(t, s, "killed/upload.bin")
	if _, err := os.Stat(filepath.Join(srv.Dir, s.bucket, "killed", "upload.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backend holds the object: %v", err)
	}
	// The abort could not reach the dead server: the parts wait for a
	// lifecycle rule (AbortIncompleteMultipartUpload) or an operator.
	t.Logf("incomplete uploads left on the server: %q", incompleteUploads(t, s))
	// The store works again.
	mustPut(t, s, "after/restart", []byte("ok"), "")
}
