package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// slowListener hands out connections whose reads are throttled while slow is set, and counts
// the bytes the server reads: a browser's upload then takes seconds, long enough to reload the
// page in the middle of it.
type slowListener struct {
	net.Listener
	slow atomic.Bool
	read atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
}

// drop resets every connection accepted so far: the network fails under the browser (a closed
// page alone does not stop an upload the kernel has already buffered).
func (l *slowListener) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
	l.conns = nil
}

func (l *slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// A small receive buffer: the browser cannot park the whole file in the kernel while the
	// server reads slowly.
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(16 << 10)
	}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return &slowConn{Conn: c, l: l}, nil
}

type slowConn struct {
	net.Conn
	l *slowListener
}

func (c *slowConn) Read(b []byte) (int, error) {
	if c.l.slow.Load() {
		if len(b) > 16<<10 {
			b = b[:16<<10]
		}
		time.Sleep(50 * time.Millisecond) // 320 KiB/s per connection
	}
	n, err := c.Conn.Read(b)
	c.l.read.Add(int64(n))
	return n, err
}

// TestBrowserStudioResumesUpload: the studio's upload is interrupted by a page reload half-way;
// choosing the same file again resumes it (the server receives only the rest), and the recording
// is made of the whole file.
func TestBrowserStudioResumesUpload(t *testing.T) {
	if _, err := os.Stat("../../web/static/vendor/tus.min.js"); err != nil {
		testenv.Require(t, "tus-js-client vendored in web/static/vendor (make vendor-js)", err)
	}
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 8 * time.Second, Width: 640, Height: 360, FPS: 30, Audio: true})
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))
	browser := testenv.Browser(t)

	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &slowListener{Listener: inner}
	dir := t.TempDir()
	cfg := &Config{
		Addr: ln.Addr().String(), DataDir: dir, DB: filepath.Join(dir, "atelier.db"),
		PublicURL: "http://" + ln.Addr().String(), AdminToken: "atl_tus_admin_token_0123456789",
		Secret: "tus-secret-0123456789abcdef0123456789", MaxUpload: 1 << 30, Workers: 1,
		LogFormat: "text", LogLevel: "warn", StreamMode: "proxy",
		UploadIdleTimeout: time.Minute, BodyTimeout: time.Minute, SweepInterval: time.Hour, SweepAge: time.Hour,
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
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
	base := cfg.PublicURL
	step := browserStep(t, browser)
	uploads := filepath.Join(dir, "media", ".uploads")
	// received is how many bytes of the upload the server holds.
	received := func() int64 {
		ents, _ := os.ReadDir(uploads)
		for _, e := range ents {
			if !strings.Contains(e.Name(), ".") {
				if fi, err := e.Info(); err == nil {
					return fi.Size()
				}
			}
		}
		return 0
	}
	// submit fills the form and sends it, reads throttled from the click on when slow.
	submit := func(c context.Context, slow bool) error {
		return chromedp.Do(c,
			chromedp.Navigate(base+"/studio?lang=en"),
			chromedp.WaitVisible(chromedp.CSS("#upload")),
			chromedp.SendKeys(chromedp.CSS("#u-title"), "Resumed in the browser"),
			chromedp.SetUploadFiles(chromedp.CSS("#u-file"), []string{clip}),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				// Keep every text the phase shows, to see the resume announced.
				_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.phases = [];
					new MutationObserver(() => window.phases.push(document.getElementById("u-phase").textContent))
						.observe(document.getElementById("u-phase"), {childList: true, characterData: true, subtree: true}); null`))
				return err
			}),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				// The cut editor knows the whole file once its preview has the duration.
				_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete" && !!window.AtelierUpload &&
					document.getElementById("cut-video").readyState >= 1`))
				ln.slow.Store(slow)
				return err
			}),
			// The form, not a click at coordinates: the cut editor opens above the button once a
			// file is chosen, and moves it.
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.getElementById("upload").requestSubmit(); null`))
				return err
			}),
		)
	}

	step("studio sign-in", 20*time.Second, func(c context.Context) error {
		return chromedp.Do(c,
			studioSignIn(base, cfg.AdminToken),
			chromedp.WaitVisible(chromedp.CSS("#studio-hello")),
		)
	})

	var atReload int64
	step("upload interrupted by a reload", 30*time.Second, func(c context.Context) error {
		if err := submit(c, true); err != nil {
			return err
		}
		for received() < size/4 {
			select {
			case <-c.Done():
				state, _ := chromedp.Run(browser, chromedp.Evaluate[any](`[window.phases, document.getElementById("u-progress").value,
					document.getElementById("u-result").textContent, !!window.AtelierUpload, !!window.tus, Object.keys(localStorage)]`))
				ents, _ := os.ReadDir(uploads)
				return fmt.Errorf("the server got %d of %d bytes (%v; %v): %w", received(), size, state, ents, c.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		ln.drop()
		ln.slow.Store(false)
		if err := chromedp.Do(c, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#upload"))); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond) // the server stores what arrived before the reload
		atReload = received()
		if atReload >= size {
			return fmt.Errorf("the upload finished before the reload (%d bytes): the clip is too small", atReload)
		}
		return nil
	})

	step("the same file again resumes", 40*time.Second, func(c context.Context) error {
		before := ln.read.Load()
		if err := submit(c, false); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.WaitVisible(chromedp.CSS("#u-result a#u-replay, #u-result.error"))); err != nil {
			state, _ := chromedp.Run(browser, chromedp.Evaluate[any](`[window.phases, document.getElementById("u-progress").value,
				document.getElementById("u-result").textContent, !!window.AtelierUpload, Object.keys(localStorage)]`))
			return fmt.Errorf("upload did not finish (%v, server holds %d of %d bytes): %w", state, received(), size, err)
		}
		result, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#u-result")))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(result, "Ready") {
			return fmt.Errorf("upload result %q", result)
		}
		phases, err := chromedp.Run(c, chromedp.Evaluate[[]string](`window.phases`))
		if err != nil {
			return err
		}
		if !strings.Contains(strings.Join(phases, "|"), "Resuming") {
			return fmt.Errorf("the studio did not say it resumes: %q", phases)
		}
		// Resumed, not restarted: the server read less than the whole file after the reload
		// (the rest, plus requests and pages).
		if got := ln.read.Load() - before; got >= size {
			return fmt.Errorf("the server read %d bytes after the reload, the file is %d: the upload started over", got, size)
		}
		href, err := chromedp.Run(c, chromedp.AttributeValue(chromedp.CSS("#u-replay"), "href"))
		if err != nil {
			return err
		}
		id := strings.TrimPrefix(href.Value, "/replays/")
		rec, err := a.pipeline.Get(c, id)
		if err != nil {
			return err
		}
		want := sha256.Sum256(data)
		if rec.SourceSize != size || rec.SourceSHA256 != hex.EncodeToString(want[:]) {
			return fmt.Errorf("source %d bytes sha256 %s, want %d %x", rec.SourceSize, rec.SourceSHA256, size, want)
		}
		return nil
	})
}
