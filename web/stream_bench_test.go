package web

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// benchRange is the size of each range request: what a player asks for while seeking.
const benchRange = 1 << 20

// BenchmarkStreamRanges has 32 concurrent readers fetch 1 MiB ranges at random offsets of one
// MP4, over real TCP, from Atelier's /replays/{id}/video.mp4 (Dir store) and from
// http.ServeFile on the same file. Each op is one range; MB/s is the throughput. The MP4 is
// $ATELIER_BENCH_MP4 (`make bench` passes its generated recording), else 64 MiB of random bytes.
func BenchmarkStreamRanges(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	src := os.Getenv("ATELIER_BENCH_MP4")
	if src == "" {
		src = filepath.Join(dir, "random.mp4")
		data := make([]byte, 64<<20)
		crand.Read(data)
		if err := os.WriteFile(src, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	media, err := assets.NewDir(filepath.Join(dir, "media"), "", []byte("0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	const key = "replays/bench0001/video.mp4"
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	info, err := media.Put(ctx, key, f, -1, "video/mp4")
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	// The Dir store keeps key's bytes at root/key: the baseline serves that very file.
	stored := filepath.Join(dir, "media", filepath.FromSlash(key))
	if fi, err := os.Stat(stored); err != nil || fi.Size() != info.Size {
		b.Fatalf("stored file %s: %v (size %d, want %d)", stored, err, fi.Size(), info.Size)
	}

	db, err := sqldb.Open(ctx, filepath.Join(dir, "a.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	as, err := auth.New(ctx, db, "")
	if err != nil {
		b.Fatal(err)
	}
	site, err := New(Options{Media: media, Auth: as, Secret: []byte("0123456789abcdef0123"),
		Publication: func(context.Context, string) (string, error) { return "published", nil }})
	if err != nil {
		b.Fatal(err)
	}
	servers := []struct {
		name string
		h    http.Handler
	}{
		{"atelier", streamRouter(site)},
		{"servefile", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, stored) })},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			srv := httptest.NewServer(s.h)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			defer client.CloseIdleConnections()
			url := srv.URL + "/replays/bench0001/video.mp4"
			ranges := info.Size / benchRange
			if ranges < 1 {
				b.Fatalf("the MP4 is smaller than one range (%d bytes)", info.Size)
			}
			b.SetBytes(benchRange)
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 64<<10)
				for pb.Next() {
					off := rand.Int64N(ranges) * benchRange
					req, _ := http.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+benchRange-1))
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusPartialContent || n != benchRange {
						b.Errorf("range at %d: %d, %d bytes, %v", off, resp.StatusCode, n, err)
						return
					}
				}
			})
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing: the benchmark measures the handler.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

// BenchmarkStreamSegments serves HLS segments of one published replay through the stream
// routes, with the real catalog (SQLite on disk) deciding access and the render generation,
// and a Dir store: what every segment a player fetches costs the server besides its bytes.
// The replay has what a real one has (tags, chapters with their own tags, subtitle tracks),
// since reading it whole was the cost. video: a 100 KB media segment; subs: a segment of an
// offered subtitle track, which also checks the track. Reports segments/s, allocations per
// segment.
func BenchmarkStreamSegments(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "a.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	cat, err := catalog.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	for _, sw := range []string{"nextcloud", "libreoffice"} {
		if _, err := cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: sw, Name: sw}); err != nil {
			b.Fatal(err)
		}
		for _, v := range []string{"27.0.0", "27.1.0", "28.0.0"} {
			if _, err := cat.AddRelease(ctx, sw, catalog.NewRelease{Version: v, ReleasedAt: "2025-06-01"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	const id, render = "bench0001", "0a1b2c3d"
	var chapters []catalog.Chapter
	for i := range 8 {
		chapters = append(chapters, catalog.Chapter{StartMS: int64(i) * 60_000, Title: fmt.Sprintf("Part %d", i),
			Documents: []catalog.Tag{{Software: "libreoffice", Version: "27.1.0"}}})
	}
	if err := cat.CreateReplay(ctx, catalog.NewReplay{ID: id, Title: "Share files", Language: "fr", Pending: catalog.Published,
		Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.1.0"}}, Chapters: chapters}); err != nil {
		b.Fatal(err)
	}
	if err := cat.SetRender(ctx, id, render); err != nil {
		b.Fatal(err)
	}
	if err := cat.SetProcessing(ctx, id, catalog.Ready, 480_000); err != nil {
		b.Fatal(err)
	}
	for _, lang := range []string{"fr", "en"} {
		if err := cat.PutTrack(ctx, id, catalog.Track{Lang: lang, Kind: "manual", Status: "reviewed", CueCount: 200,
			Text: strings.Repeat("bonjour tout le monde ", 200)}); err != nil {
			b.Fatal(err)
		}
	}
	media, err := assets.NewDir(filepath.Join(dir, "media"), "", []byte("0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	gen := layout.Replay(id).Render(render)
	seg := make([]byte, 100_000)
	crand.Read(seg)
	for _, key := range []string{gen.HLSKey("source/seg_0001.m4s"), gen.HLSKey("subs/fr/seg_0001.vtt")} {
		if _, err := media.Put(ctx, key, bytes.NewReader(seg), int64(len(seg)), ""); err != nil {
			b.Fatal(err)
		}
	}
	as, err := auth.New(ctx, db, "")
	if err != nil {
		b.Fatal(err)
	}
	site, err := New(Options{Media: media, Auth: as, Secret: []byte("0123456789abcdef0123"), Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	router := streamRouter(site)
	for _, c := range []struct{ name, path string }{
		{"video", "/replays/" + id + "/hls/source/seg_0001.m4s"},
		{"subs", "/replays/" + id + "/hls/subs/fr/seg_0001.vtt"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(seg)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				w := &discardWriter{h: http.Header{}}
				router.ServeHTTP(w, req)
				if w.status != 0 && w.status != http.StatusOK {
					b.Fatalf("GET %s: %d", c.path, w.status)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "segments/s")
		})
	}
}
