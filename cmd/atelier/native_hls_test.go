package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestNativeHLSOverS3 plays a replay stored on S3 through the browser's own HLS player, as
// Safari, iOS and Chromium do without hls.js (issue #14, finding 14), in both stream modes. The
// page's hls.js is blocked in the browser, exactly as for a build that did not vendor it.
//
// Chromium's own HLS reads a segment from another origin (the bucket, after the redirect) only
// as a CORS request: with a bucket that allows the site's origin, but a <video> without
// crossorigin, it fails with MEDIA_ERR_SRC_NOT_SUPPORTED (measured: with and without the
// redirect, with and without CORS headers, the only working case is CORS + crossorigin).
func TestNativeHLSOverS3(t *testing.T) {
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Width: 320, Height: 180, Audio: true})
	s3 := testenv.S3(t)
	browser := testenv.Browser(t)
	if _, err := chromedp.Call(browser, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/static/vendor/*", Block: true}}}); err != nil {
		t.Fatal(err)
	}
	// Media errors do not bubble; a capturing listener keeps them for the failure messages.
	if _, err := chromedp.Call(browser, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.mediaErrors = []; document.addEventListener("error", e => { const m = e.target && e.target.error;
			if (m) window.mediaErrors.push((e.target.currentSrc || "") + ": " + m.code + " " + m.message) }, true)`}); err != nil {
		t.Fatal(err)
	}
	hlsDir := t.TempDir()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", "file:"+clip, "-c", "copy", "-f", "hls",
		"-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-hls_time", "2",
		"-master_pl_name", "master.m3u8", filepath.Join(hlsDir, "index.m3u8"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg hls: %v\n%s", err, b)
	}
	video, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}

	for i, mode := range []string{"proxy", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			a, base := startS3App(t, s3, fmt.Sprintf("native-hls-%d", i), mode)
			ctx := context.Background()
			seed := func(id string, broken bool) {
				t.Helper()
				if err := a.catalog.CreateReplay(ctx, catalog.NewReplay{ID: id, Title: "Native HLS", Language: "en", PublishWhenReady: true}); err != nil {
					t.Fatal(err)
				}
				files, _ := os.ReadDir(hlsDir)
				for _, f := range files {
					b, err := os.ReadFile(filepath.Join(hlsDir, f.Name()))
					if err != nil {
						t.Fatal(err)
					}
					if broken && f.Name() != "master.m3u8" {
						continue // a master playlist whose variant is missing: the native player fails
					}
					// The content types the pipeline stores (the bucket answers with them in redirect mode).
					ct := map[string]string{".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment", ".mp4": "video/mp4"}[filepath.Ext(f.Name())]
					if _, err := a.media.Put(ctx, "replays/"+id+"/hls/"+f.Name(), bytes.NewReader(b), int64(len(b)), ct); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := a.media.Put(ctx, "replays/"+id+"/video.mp4", bytes.NewReader(video), int64(len(video)), "video/mp4"); err != nil {
					t.Fatal(err)
				}
				if err := a.catalog.SetProcessing(ctx, id, catalog.Ready, 6000); err != nil {
					t.Fatal(err)
				}
			}
			play := func(id, wantSrc string) {
				t.Helper()
				c, cancel := context.WithTimeout(browser, 40*time.Second)
				defer cancel()
				if err := chromedp.Do(c, chromedp.Navigate(base+"/replays/"+id), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
					t.Fatal(err)
				}
				native, err := chromedp.Run(c, chromedp.Evaluate[string](`(window.Hls ? "hls.js loaded; " : "") +
					"canPlayType=" + document.getElementById("player").canPlayType("application/vnd.apple.mpegurl")`))
				if err != nil {
					t.Fatal(err)
				}
				if native != "canPlayType=maybe" && native != "canPlayType=probably" {
					t.Fatalf("this browser cannot test native HLS: %s", native)
				}
				if _, err := chromedp.Run(c, chromedp.Evaluate[any](`document.getElementById("player").play().catch(() => {}), null`)); err != nil {
					t.Fatal(err)
				}
				if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById("player").currentTime > 1.5`,
					chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
					state, _ := chromedp.Run(c, chromedp.Evaluate[string](`(() => { const v = document.getElementById("player");
						return "readyState=" + v.readyState + " error=" + (v.error && v.error.code + " " + v.error.message) + " src=" + v.currentSrc })()`))
					t.Fatalf("video did not advance (%s): %v", state, err)
				}
				src, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("player").currentSrc`))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(src, wantSrc) {
					errs, _ := chromedp.Run(c, chromedp.Evaluate[[]string](`window.mediaErrors`))
					t.Fatalf("currentSrc %q, want the native player on …%s (media errors: %q)", src, wantSrc, errs)
				}
			}

			seed("0a0a0a0a0a0a0a0a", false)
			play("0a0a0a0a0a0a0a0a", "/hls/master.m3u8")
			// When the native player fails, the MP4 plays instead.
			seed("0b0b0b0b0b0b0b0b", true)
			play("0b0b0b0b0b0b0b0b", "/video.mp4")
		})
	}
}

// startS3App runs the real app (openApp + serve) with its media in bucket of the S3 server.
func startS3App(t *testing.T, s3 *testenv.S3Server, bucket, mode string) (*app, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := &Config{
		Addr: ln.Addr().String(), DataDir: dir, DB: filepath.Join(dir, "atelier.db"),
		PublicURL: "http://" + ln.Addr().String(), AdminToken: testAdminToken,
		Secret: "native-hls-secret-0123456789abcdef0123", MaxUpload: 1 << 30, Workers: 1,
		LogFormat: "text", LogLevel: "warn", StreamMode: mode,
		S3Endpoint: s3.Endpoint, S3Bucket: bucket, S3AccessKey: s3.AccessKey, S3SecretKey: s3.SecretKey,
		S3Region: s3.Region, S3PathStyle: true,
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// What the README asks of an operator in redirect mode: the bucket answers CORS requests of
	// the site (hls.js, and the browsers' own HLS, read segments as CORS requests).
	mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: s3.Region})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.SetBucketCors(ctx, bucket, cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{cfg.PublicURL},
		AllowedMethod: []string{"GET", "HEAD"}, AllowedHeader: []string{"*"}, ExposeHeader: []string{"Content-Length", "Content-Range"}}})); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return a, cfg.PublicURL
}
