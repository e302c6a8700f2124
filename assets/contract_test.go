package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testStore is the contract every Store meets. newStore returns a fresh,
// empty store each time it is called.
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := t.Context()

	// A sweep of stale leftovers never takes a Put in progress, however long it pauses.
	t.Run("RemoveStaleSparesPutInProgress", func(t *testing.T) {
		s := newStore(t)
		sr, ok := s.(StaleRemover)
		if !ok {
			t.Fatalf("%T is no StaleRemover", s)
		}
		data := randBytes(7<<20, 7)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := s.Put(ctx, "sweep/in-progress.bin", pr, -1, "video/mp4")
			done <- err
		}()
		if _, err := pw.Write(data[:6<<20]); err != nil { // past smallBody: parts are on their way
			t.Fatal(err)
		}
		// Everything untouched until an hour from now is stale: only the Put's own guard keeps it.
		if _, err := sr.RemoveStale(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		pw.Write(data[6<<20:])
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("the Put swept under its feet: %v", err)
		}
		if got, _ := readAll(t, s, "sweep/in-progress.bin", nil); !bytes.Equal(got, data) {
			t.Fatal("the Put stored other bytes")
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		for _, tc := range []struct {
			name string
			n    int
			size func(n int) int64
		}{
			{"known size", 100_000, func(n int) int64 { return int64(n) }},
			{"unknown size", 100_000, func(int) int64 { return -1 }},
			{"empty known", 0, func(int) int64 { return 0 }},
			{"empty unknown", 0, func(int) int64 { return -1 }},
			{"several parts unknown size", 11 << 20, func(int) int64 { return -1 }},
			{"several parts known size", 11<<20 + 3, func(n int) int64 { return int64(n) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				key := "rt/" + strings.ReplaceAll(tc.name, " ", "-") + ".bin"
				data := randBytes(tc.n, uint64(tc.n))
				want := sha(data)
				// onlyReader hides bytes.Reader's Seek and ReadAt: Put
				// must cope with a plain stream.
				info, err := s.Put(ctx, key, onlyReader{bytes.NewReader(data)}, tc.size(tc.n), "video/mp4")
				if err != nil {
					t.Fatal(err)
				}
				checkInfo(t, "Put", info, key, int64(tc.n), "video/mp4", want)
				if time.Since(info.ModTime) > time.Hour || info.ModTime.After(time.Now().Add(time.Hour)) {
					t.Errorf("Put: ModTime %v is not about now", info.ModTime)
				}
				st, err := s.Stat(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				checkInfo(t, "Stat", st, key, int64(tc.n), "video/mp4", want)
				got, oi := readAll(t, s, key, nil)
				checkInfo(t, "Open", oi, key, int64(tc.n), "video/mp4", want)
				if sha(got) != want {
					t.Fatalf("Open: read %d bytes with sha %s, want %d bytes with %s", len(got), sha(got), tc.n, want)
				}
			})
		}
	})

	t.Run("ContentType", func(t *testing.T) {
		s := newStore(t)
		for i, tc := range []struct{ in, want string }{
			{"video/mp4", "video/mp4"},
			{"text/vtt; charset=utf-8", "text/vtt; charset=utf-8"},
			{"application/x-mpegURL", "application/x-mpegURL"},
			{"", "application/octet-stream"},
		} {
			key := fmt.Sprintf("ct/%d", i)
			if _, err := s.Put(ctx, key, strings.NewReader("x"), 1, tc.in); err != nil {
				t.Fatal(err)
			}
			st, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			_, oi := readAll(t, s, key, nil)
			if st.ContentType != tc.want || oi.ContentType != tc.want {
				t.Errorf("content type %q: Stat %q, Open %q, want %q", tc.in, st.ContentType, oi.ContentType, tc.want)
			}
		}
		_, err := s.Put(ctx, "ct/bad", strings.NewReader("x"), 1, "video/mp4\r\nX-Evil: 1")
		if err == nil {
			t.Error("Put with a content type holding CRLF: no error")
		}
		assertMissing(t, s, "ct/bad")
	})

	t.Run("Overwrite", func(t *testing.T) {
		s := newStore(t)
		a, b := randBytes(5000, 1), randBytes(3000, 2)
		mustPut(t, s, "ow/k", a, "video/mp4")
		mustPut(t, s, "ow/k", b, "video/webm")
		st, err := s.Stat(ctx, "ow/k")
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "Stat", st, "ow/k", 3000, "video/webm", sha(b))
		got, _ := readAll(t, s, "ow/k", nil)
		if !bytes.Equal(got, b) {
			t.Fatal("Open after overwrite: not the new bytes")
		}
		list, err := s.List(ctx, "ow/")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].SHA256 != sha(b) {
			t.Fatalf("List after overwrite: %+v", list)
		}
	})

	t.Run("Range", func(t *testing.T) {
		s := newStore(t)
		data := randBytes(1000, 3)
		mustPut(t, s, "range/k", data, "video/mp4")
		for _, tc := range []struct {
			name      string
			off, n    int64
			from, end int // expected data[from:end]
		}{
			{"start", 0, 10, 0, 10},
			{"middle", 500, 100, 500, 600},
			{"to end", 990, -1, 990, 1000},
			{"length past end is clamped", 990, 100, 990, 1000},
			{"whole", 0, -1, 0, 1000},
			{"last byte", 999, 1, 999, 1000},
			{"zero length", 10, 0, 10, 10},
			{"at end", 1000, -1, 1000, 1000},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, info := readAll(t, s, "range/k", &Range{Offset: tc.off, Length: tc.n})
				if !bytes.Equal(got, data[tc.from:tc.end]) {
					t.Errorf("read %d bytes, want data[%d:%d]", len(got), tc.from, tc.end)
				}
				checkInfo(t, "Open", info, "range/k", 1000, "video/mp4", sha(data))
			})
		}
		for _, rng := range []Range{{1001, -1}, {5000, 1}, {-1, 5}} {
			rc, _, err := s.Open(ctx, "range/k", &rng)
			if err == nil {
				rc.Close()
				t.Errorf("Open(%+v) of 1000 bytes: no error", rng)
			} else if !errors.Is(err, ErrInvalidRange) {
				t.Errorf("Open(%+v): %v, want ErrInvalidRange", rng, err)
			}
		}
		if _, _, err := s.Open(ctx, "range/missing", &Range{0, 1}); !errors.Is(err, ErrNotExist) {
			t.Errorf("Open of a missing key with a range: %v, want ErrNotExist", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		keys := []string{"a/1", "a/2", "a/b/3", "ab", "b/1", "a-z"}
		for i, k := range keys {
			mustPut(t, s, k, randBytes(10+i, uint64(i)), "text/plain")
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"a-z", "a/1", "a/2", "a/b/3", "ab", "b/1"}},
			{"a/", []string{"a/1", "a/2", "a/b/3"}},
			{"a", []string{"a-z", "a/1", "a/2", "a/b/3", "ab"}},
			{"a/b", []string{"a/b/3"}},
			{"a/b/", []string{"a/b/3"}},
			{"b/1", []string{"b/1"}},
			{"zzz", nil},
			{"zzz/", nil},
		} {
			list, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			var got []string
			for _, in := range list {
				got = append(got, in.Key)
				i := indexOf(keys, in.Key)
				checkInfo(t, "List "+in.Key, in, in.Key, int64(10+i), "text/plain", sha(randBytes(10+i, uint64(i))))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		}
		for _, p := range []string{".meta/", ".tmp/", ".", "/a", "a//"} {
			if _, err := s.List(ctx, p); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("List(%q): %v, want ErrInvalidKey", p, err)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "del/k", []byte("bye"), "text/plain")
		mustPut(t, s, "del/other", []byte("stay"), "text/plain")
		if err := s.Delete(ctx, "del/k"); err != nil {
			t.Fatal(err)
		}
		assertMissing(t, s, "del/k")
		if err := s.Delete(ctx, "del/k"); err != nil {
			t.Errorf("second Delete: %v", err)
		}
		if err := s.Delete(ctx, "never/was"); err != nil {
			t.Errorf("Delete of a key never put: %v", err)
		}
		if _, err := s.Stat(ctx, "del/other"); err != nil {
			t.Errorf("Delete removed a neighbour: %v", err)
		}
		// A deleted key can be put again.
		mustPut(t, s, "del/k", []byte("back"), "text/plain")
		if got, _ := readAll(t, s, "del/k", nil); string(got) != "back" {
			t.Errorf("after re-put: %q", got)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, key := range invalidKeys {
			ops := map[string]func() error{
				"Put": func() error {
					_, err := s.Put(ctx, key, strings.NewReader("x"), 1, "")
					return err
				},
				"Open": func() error {
					_, _, err := s.Open(ctx, key, nil)
					return err
				},
				"Stat": func() error {
					_, err := s.Stat(ctx, key)
					return err
				},
				"Delete": func() error { return s.Delete(ctx, key) },
				"URL": func() error {
					_, err := s.URL(ctx, key, time.Minute)
					return err
				},
			}
			for name, op := range ops {
				if err := op(); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("%s(%q): %v, want ErrInvalidKey", name, key, err)
				}
			}
		}
		list, err := s.List(ctx, "")
		if err != nil || len(list) != 0 {
			t.Errorf("List after invalid puts: %v, %v", list, err)
		}
	})

	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		s := newStore(t)
		boom := errors.New("disk on fire")
		for _, tc := range []struct {
			name string
			r    io.Reader
			size int64
		}{
			{"reader fails, unknown size", failAfter(randBytes(1000, 4), boom), -1},
			{"reader fails, known size", failAfter(randBytes(1000, 4), boom), 5000},
			{"reader fails after a part", failAfter(randBytes(6<<20, 5), boom), -1},
			{"reader fails after a part, known size", failAfter(randBytes(6<<20, 5), boom), 12 << 20},
			{"body shorter than size", bytes.NewReader(make([]byte, 50)), 100},
			{"body longer than size", bytes.NewReader(make([]byte, 200)), 100},
			{"body longer than size by one part", onlyReader{bytes.NewReader(make([]byte, 6<<20))}, 1 << 20},
		} {
			t.Run(tc.name, func(t *testing.T) {
				key := "fail/" + strings.ReplaceAll(tc.name, " ", "-")
				_, err := s.Put(ctx, key, tc.r, tc.size, "video/mp4")
				if err == nil {
					t.Fatal("Put: no error")
				}
				if strings.HasPrefix(tc.name, "reader fails") && !errors.Is(err, boom) {
					t.Errorf("Put: %v, want it to wrap the reader's error", err)
				}
				assertMissing(t, s, key)
			})
		}
		// A failed overwrite keeps the old version.
		old := []byte("old version")
		mustPut(t, s, "fail/keep", old, "text/plain")
		if _, err := s.Put(ctx, "fail/keep", failAfter(randBytes(100, 6), boom), -1, "text/plain"); err == nil {
			t.Fatal("failing overwrite: no error")
		}
		got, info := readAll(t, s, "fail/keep", nil)
		if !bytes.Equal(got, old) || info.SHA256 != sha(old) {
			t.Errorf("after a failed overwrite: %q (sha %s)", got, info.SHA256)
		}
	})

	t.Run("CancelledPutLeavesNothing", func(t *testing.T) {
		s := newStore(t)
		for _, n := range []int{64 << 10, 7 << 20} { // within the first part, after one
			cctx, cancel := context.WithCancel(ctx)
			r := &cancelAfter{r: newGen(7, -1), n: n, cancel: cancel}
			key := fmt.Sprintf("cancel/%d", n)
			_, err := s.Put(cctx, key, r, -1, "video/mp4")
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Put cancelled after %d bytes: %v, want context.Canceled", n, err)
			}
			assertMissing(t, s, key)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, "cancel/before", strings.NewReader("x"), 1, ""); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled ctx: %v", err)
		}
		assertMissing(t, s, "cancel/before")
	})

	t.Run("URL", func(t *testing.T) {
		s := newStore(t)
		keys := []string{"url/plain.mp4", "url/with space/ü+#?&=%.vtt"}
		data := randBytes(4096, 8)
		for _, key := range keys {
			mustPut(t, s, key, data, "video/mp4")
			u, err := s.URL(ctx, key, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			resp := get(t, u, "")
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("GET %s: %s, %d bytes", u, resp.Status, len(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "video/mp4" {
				t.Errorf("GET %s: Content-Type %q", u, ct)
			}
			resp = get(t, u, "bytes=10-19")
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[10:20]) {
				t.Errorf("GET %s with Range: %s, %d bytes", u, resp.Status, len(body))
			}
		}
		mustPut(t, s, "url/other.mp4", []byte("other"), "video/mp4")
		u, err := s.URL(ctx, "url/plain.mp4", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for name, bad := range map[string]string{
			"signature": tamperSig(t, u),
			"key":       strings.Replace(u, "url/plain.mp4", "url/other.mp4", 1),
		} {
			resp := get(t, bad, "")
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("tampered %s: %s, want 403", name, resp.Status)
			}
		}
		if _, err := s.URL(ctx, "url/plain.mp4", 0); err == nil {
			t.Error("URL with ttl 0: no error")
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// invalidKeys are refused by ValidKey and so by every method.
var invalidKeys = []string{
	"", "..", ".", "/abs", "a/../b", "a/./b", "a/..", "../a", "a\\b", "a\x00b",
	"a\nb", "a\x7fb", "a\u0085b", "a//b", "a/", ".meta/x", ".tmp/x", ".hidden",
	strings.Repeat("k", MaxKeyLen+1), "bad\xffutf8",
}

func checkInfo(t *testing.T, what string, got Info, key string, size int64, ct, sum string) {
	t.Helper()
	if got.Key != key || got.Size != size || got.ContentType != ct || got.SHA256 != sum {
		t.Errorf("%s: %+v, want key %q size %d type %q sha %s", what, got, key, size, ct, sum)
	}
	if got.ModTime.IsZero() {
		t.Errorf("%s: zero ModTime", what)
	}
}

func mustPut(t *testing.T, s Store, key string, data []byte, ct string) Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), ct)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func readAll(t *testing.T, s Store, key string, rng *Range) ([]byte, Info) {
	t.Helper()
	rc, info, err := s.Open(t.Context(), key, rng)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, info
}

// assertMissing checks that key is invisible to Stat, Open and List.
func assertMissing(t *testing.T, s Store, key string) {
	t.Helper()
	ctx := t.Context()
	if info, err := s.Stat(ctx, key); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat(%q) = %+v, %v; want ErrNotExist", key, info, err)
	}
	if rc, _, err := s.Open(ctx, key, nil); !errors.Is(err, ErrNotExist) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Open(%q): %v; want ErrNotExist", key, err)
	}
	list, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.Key == key {
			t.Errorf("List shows %q", key)
		}
	}
}

func get(t *testing.T, u, rng string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// tamperSig changes one hex digit of the signature in u (Dir's "sig",
// S3's "X-Amz-Signature").
func tamperSig(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	for _, name := range []string{"sig", "X-Amz-Signature"} {
		if v := q.Get(name); v != "" {
			c := byte('0')
			if v[0] == '0' {
				c = '1'
			}
			q.Set(name, string(c)+v[1:])
			pu.RawQuery = q.Encode()
			return pu.String()
		}
	}
	t.Fatalf("no signature in %s", u)
	return ""
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	_, _ = newGen(seed, int64(n)).Read(b)
	return b
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

// gen is a deterministic pseudo-random stream of n bytes (n < 0: endless)
// that is never held in memory.
type gen struct {
	c    *rand.ChaCha8
	left int64
}

func newGen(seed uint64, n int64) *gen {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return &gen{c: rand.NewChaCha8(s), left: n}
}

func (g *gen) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if g.left > 0 && int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.c.Read(p)
	if g.left > 0 {
		g.left -= int64(n)
	}
	return n, nil
}

// onlyReader hides every method but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// failAfter yields data and then err.
func failAfter(data []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(data), errReader{err})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// cancelAfter calls cancel once n bytes have been read through it, and goes
// on yielding r. Tests also use it to kill a server mid-upload.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= n
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}
