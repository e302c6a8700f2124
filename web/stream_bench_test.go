package web

import (
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
	"testing"

	"codeberg.org/atelier/atelier/assets"
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
