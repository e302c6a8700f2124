package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the browser binary: $ATELIER_CHROMIUM when set, else Debian's
// /usr/bin/chromium, else chromium on PATH.
func Chromium() (string, error) {
	if p := os.Getenv("ATELIER_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && fi.Mode()&0o111 != 0 {
		return "/usr/bin/chromium", nil
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", errors.New("chromium not found (apt-get install chromium, or set ATELIER_CHROMIUM)")
	}
	return p, nil
}

// Browser starts a headless Chromium with a fresh profile, driven over the DevTools protocol,
// and returns a chromedp context for its first tab; the browser stops when the test ends.
// Media plays in real time (virtual time does not advance it), autoplay needs no gesture.
// Without chromium the test is skipped, or fails under RequireAll.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin, err := Chromium()
	Require(t, "chromium", err)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action launches the browser; it must run without a deadline, which would stop
	// the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		Require(t, "chromium", err)
	}
	return ctx
}

// Screenshots returns the folder for a test's screenshots: $ATELIER_SCREENSHOTS when set (kept
// after the run), else a temp dir of the test.
func Screenshots(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ATELIER_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("testenv: screenshots: %v", err)
		}
		return d
	}
	return t.TempDir()
}
