package formupload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestNewParsesAsTheServerReadsIt(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "fr.srt")
	subText := "1\n00:00:01,000 --> 00:00:02,000\nBonjour\n"
	if err := os.WriteFile(sub, []byte(subText), 0o600); err != nil {
		t.Fatal(err)
	}
	src := bytes.Repeat([]byte("0123456789abcdef"), 70_000) // larger than any buffer on the way
	for _, tc := range []struct {
		name string
		subs []string
	}{{"source only", nil}, {"with subtitles", []string{sub, sub}}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New([]byte(`{"title":"x"}`), bytes.NewReader(src), int64(len(src)), "rec.mp4", tc.subs)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(b)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(raw)) != b.Size {
				t.Fatalf("Size %d, body has %d bytes", b.Size, len(raw))
			}
			mt, params, err := mime.ParseMediaType(b.ContentType)
			if err != nil || mt != "multipart/form-data" {
				t.Fatalf("content type %q: %v", b.ContentType, err)
			}
			mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
			want := []struct{ field, file, data string }{{"meta", "", `{"title":"x"}`}, {"source", "rec.mp4", string(src)}}
			for range tc.subs {
				want = append(want, struct{ field, file, data string }{"subtitles", "fr.srt", subText})
			}
			for i, w := range want {
				p, err := mr.NextPart()
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				data, err := io.ReadAll(p)
				if err != nil {
					t.Fatal(err)
				}
				if p.FormName() != w.field || p.FileName() != w.file || string(data) != w.data {
					t.Errorf("part %d: %s %q, %d bytes; want %s %q, %d bytes", i, p.FormName(), p.FileName(), len(data), w.field, w.file, len(w.data))
				}
			}
			if _, err := mr.NextPart(); err != io.EOF {
				t.Errorf("after the last part: %v, want EOF", err)
			}
		})
	}
}

func TestNewMissingSubtitleFile(t *testing.T) {
	if _, err := New([]byte(`{}`), bytes.NewReader(nil), 0, "rec.mp4", []string{filepath.Join(t.TempDir(), "nope.srt")}); err == nil {
		t.Fatal("a missing subtitle file gave no error")
	}
}

func TestRequestCarriesLengthAndType(t *testing.T) {
	b, err := New([]byte(`{}`), bytes.NewReader([]byte("video")), 5, "rec.mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	req, err := b.Request(context.Background(), "http://127.0.0.1/api/recordings")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.ContentLength != b.Size || req.Header.Get("Content-Type") != b.ContentType {
		t.Errorf("%s, length %d, type %q; want POST, %d, %q", req.Method, req.ContentLength, req.Header.Get("Content-Type"), b.Size, b.ContentType)
	}
}

// TestTransportSendsTheForm: through Transport (sendfile for a file source) the server receives
// the very bytes that reading the Body gives, for a file and for another reader.
func TestTransportSendsTheForm(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "fr.srt")
	if err := os.WriteFile(sub, []byte("1\n00:00:01,000 --> 00:00:02,000\nBonjour\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srcPath, data := sourceFile(t, 3<<20+17)
	srv := newSink(t)
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) io.Reader
		subs []string
	}{
		{"file", func(t *testing.T) io.Reader { return openT(t, srcPath) }, []string{sub}},
		{"file, no subtitles", func(t *testing.T) io.Reader { return openT(t, srcPath) }, nil},
		{"reader", func(t *testing.T) io.Reader { return bytes.NewReader(data) }, []string{sub}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := New([]byte(`{"title":"x"}`), bytes.NewReader(data), int64(len(data)), "rec.mp4", tc.subs)
			if err != nil {
				t.Fatal(err)
			}
			wantBytes, _ := io.ReadAll(want)
			b, err := New([]byte(`{"title":"x"}`), tc.src(t), int64(len(data)), "rec.mp4", tc.subs)
			if err != nil {
				t.Fatal(err)
			}
			b.ContentType = want.ContentType // the same boundary on both sides
			copy(b.head, want.head)
			copy(b.tail, want.tail)
			req, err := b.Request(context.Background(), srv.url)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !bytes.Equal(srv.got, wantBytes) {
				t.Fatalf("the server received %d bytes, want the %d of the form", len(srv.got), len(wantBytes))
			}
		})
	}
}

func TestSourceShorterThanItsSize(t *testing.T) {
	b, err := New([]byte(`{}`), bytes.NewReader([]byte("vid")), 5, "rec.mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a short source: %v, want io.ErrUnexpectedEOF", err)
	}
}

func openT(t *testing.T, path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestProgress: a body reports its source's bytes as they go, by sendfile in slices of
// progressStep or by reads, up to the source's size, for a form and for a source alone.
func TestProgress(t *testing.T) {
	srcPath, data := sourceFile(t, 2*progressStep+12345)
	srv := newSink(t)
	for _, tc := range []struct {
		name string
		body func(t *testing.T) *Body
		// sendfile reports once a slice of progressStep: 3 for the file; net/http's copy of
		// a reader reports once a read of 32 KiB.
		minCalls, maxCalls int
	}{
		{"form of a file", func(t *testing.T) *Body {
			b, err := New([]byte(`{}`), openT(t, srcPath), int64(len(data)), "rec.mp4", nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, 3, 3},
		{"file alone", func(t *testing.T) *Body { return Source(openT(t, srcPath), int64(len(data))) }, 3, 3},
		{"reader alone", func(t *testing.T) *Body { return Source(bytes.NewReader(data), int64(len(data))) }, 3, len(data)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.body(t)
			var calls []int64
			b.Progress = func(n int64) { calls = append(calls, n) }
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, srv.url, b)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = b.Len()
			resp, err := srv.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if int64(len(srv.got)) != b.Size || !bytes.Contains(srv.got, data) {
				t.Fatalf("the server received %d bytes, want %d with the source", len(srv.got), b.Size)
			}
			if len(calls) < tc.minCalls || len(calls) > tc.maxCalls || calls[len(calls)-1] != int64(len(data)) {
				t.Fatalf("%d progress reports (%v…), want %d to %d ending at %d", len(calls), calls[:min(len(calls), 5)], tc.minCalls, tc.maxCalls, len(data))
			}
			for i := 1; i < len(calls); i++ {
				if calls[i] < calls[i-1] {
					t.Fatalf("progress went back: %v", calls)
				}
			}
		})
	}
}

// sourceFile writes a recording of n bytes and returns its path and bytes.
func sourceFile(t *testing.T, n int) (string, []byte) {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	path := filepath.Join(t.TempDir(), "rec.mp4")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// sink is a server that keeps the last body it received, and a client that reaches it through
// Transport.
type sink struct {
	url    string
	client *http.Client
	got    []byte
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.got, _ = io.ReadAll(r.Body)
	}))
	t.Cleanup(srv.Close)
	tr := Transport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	s.url, s.client = srv.URL, &http.Client{Transport: tr}
	return s
}
