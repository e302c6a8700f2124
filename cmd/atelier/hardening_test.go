package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// These tests run the real binary, as the review that found these problems did (issue #14):
// signals, exit codes and connections behave as in production only there.

// buildAtelier compiles the command into dir.
func buildAtelier(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "atelier")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// atelierProc is a running `atelier serve`.
type atelierProc struct {
	base string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{} // closed when the process has exited
}

// startAtelier runs `bin serve` on a free port with dataDir and env, and waits until it answers.
func startAtelier(t *testing.T, bin, dataDir string, env ...string) *atelierProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &atelierProc{base: "http://" + addr, logs: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(os.Environ(), "ATELIER_DATA_DIR="+dataDir, "ATELIER_ADDR="+addr, "ATELIER_LOG_FORMAT=json",
		"ATELIER_RELEASE_SYNC_INTERVAL=0")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("atelier serve exited early (%v):\n%s", p.cmd.ProcessState, p.logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("atelier serve did not start: %v\n%s", err, p.logs)
		}
	}
}

// stop sends SIGTERM and returns the exit code; liveness bounds the wait (not a timing check:
// a hung shutdown would otherwise hang the test).
func (p *atelierProc) stop(t *testing.T, liveness time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(liveness):
		t.Fatalf("atelier serve still running %s after SIGTERM:\n%s", liveness, p.logs)
		return -1
	}
}

func TestHardeningLive(t *testing.T) {
	bin := buildAtelier(t)

	t.Run("a short bootstrap admin token is refused", func(t *testing.T) {
		// Liveness bound: a server that accepts the token would serve until killed.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Env = append(os.Environ(), "ATELIER_DATA_DIR="+t.TempDir(), "ATELIER_ADDR=127.0.0.1:0", "ATELIER_ADMIN_TOKEN=a")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "at least 32 characters") {
			t.Fatalf("serve with ATELIER_ADMIN_TOKEN=a: %v, want exit 2 with the reason:\n%s", err, out)
		}
	})

	t.Run("failed authentications are throttled per address, successes are not", func(t *testing.T) {
		p := startAtelier(t, bin, t.TempDir(), "ATELIER_ADMIN_TOKEN="+testAdminToken)
		whoami := func(token string) *http.Response {
			req, _ := http.NewRequest("GET", p.base+"/api/whoami", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		for i := range 50 {
			if resp := whoami(testAdminToken); resp.StatusCode != 200 {
				t.Fatalf("successful request %d: %d, want 200 (successes are never throttled)", i+1, resp.StatusCode)
			}
		}
		var throttled *http.Response
		for i := range 30 {
			resp := whoami(fmt.Sprintf("guess-%02d-0123456789abcdef0123456789", i))
			if resp.StatusCode == http.StatusTooManyRequests {
				throttled = resp
				break
			}
			if resp.StatusCode != 401 {
				t.Fatalf("guess %d: %d, want 401 then 429", i, resp.StatusCode)
			}
		}
		if throttled == nil {
			t.Fatal("30 wrong tokens in a row were all answered 401: no throttling")
		}
		if s, err := strconv.Atoi(throttled.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("429 with Retry-After %q, want whole seconds", throttled.Header.Get("Retry-After"))
		}
		// The studio's sign-in form counts against the same budget.
		c := newBrowserClient(t)
		csrf := loginCSRF(t, c, p.base)
		resp, err := c.PostForm(p.base+"/studio/login", url.Values{"token": {"wrong"}, "csrf": {csrf}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("studio sign-in from a throttled address: %d, Retry-After %q; want 429 with Retry-After",
				resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})

	t.Run("sign-out and a new admin token end sessions", func(t *testing.T) {
		dataDir := t.TempDir()
		p := startAtelier(t, bin, dataDir, "ATELIER_ADMIN_TOKEN="+testAdminToken)
		c := newBrowserClient(t)
		cookie := signIn(t, c, p.base, testAdminToken)
		if st := whoamiWithCookie(t, p.base, cookie); st != 200 {
			t.Fatalf("session cookie: whoami %d, want 200", st)
		}
		// Sign out in the browser; a copy of the cookie kept elsewhere must die with it.
		page := getBody(t, c, p.base+"/studio")
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF field on the studio page:\n%s", page)
		}
		resp, err := c.PostForm(p.base+"/studio/logout", url.Values{"csrf": {m[1]}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if st := whoamiWithCookie(t, p.base, cookie); st != 401 {
			t.Fatalf("a copy of the cookie after sign-out: whoami %d, want 401", st)
		}

		// A session of the bootstrap admin ends when the admin token changes.
		c = newBrowserClient(t)
		cookie = signIn(t, c, p.base, testAdminToken)
		if code := p.stop(t, 30*time.Second); code != 0 {
			t.Fatalf("exit code %d", code)
		}
		p = startAtelier(t, bin, dataDir, "ATELIER_ADMIN_TOKEN=rotated-admin-token-0123456789abcdef")
		if st := whoamiWithCookie(t, p.base, cookie); st != 401 {
			t.Fatalf("a session of the old admin token after rotation: whoami %d, want 401", st)
		}
	})

	t.Run("a trickled request body is cut off", func(t *testing.T) {
		p := startAtelier(t, bin, t.TempDir(), "ATELIER_BODY_TIMEOUT=1s")
		conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		const size = 400
		fmt.Fprintf(conn, "POST /studio/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", size)
		sent := make(chan int, 1)
		go func() {
			n := 0
			for ; n < size; n++ {
				if _, err := conn.Write([]byte("a")); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond) // the whole body would take 40 s
			}
			sent <- n
		}()
		// Liveness bound only: the server must answer or close while the body still trickles.
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the connection is still open 30 s into a body trickled at 10 bytes/s")
		}
		conn.Close()
		if n := <-sent; n >= size {
			t.Fatalf("the server read the whole trickled body (%d bytes)", n)
		}
	})

	t.Run("SIGTERM ends open event streams and exits 0", func(t *testing.T) {
		testenv.FFmpeg(t)
		// A transcriber that never ends holds the job at its "captions" stage, its last: the
		// recording's event stream stays open for as long as the test needs.
		slow := filepath.Join(t.TempDir(), "slow-transcriber")
		if err := os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		p := startAtelier(t, bin, t.TempDir(), "ATELIER_ADMIN_TOKEN="+testAdminToken,
			"ATELIER_TRANSCRIBE=command", "ATELIER_TRANSCRIBE_CMD="+slow)
		id := uploadClip(t, p.base)
		// No Accept header, as curl sends it: the stream is recognised by its reply.
		req, _ := http.NewRequest("GET", p.base+"/api/recordings/"+id+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		events := bufio.NewScanner(resp.Body)
		for {
			if !events.Scan() {
				t.Fatalf("the event stream ended before the job reached its captions stage: %v\n%s", events.Err(), p.logs)
			}
			data, ok := strings.CutPrefix(events.Text(), "data: ")
			if !ok {
				continue
			}
			var v struct{ Status, Stage, Error string }
			json.Unmarshal([]byte(data), &v)
			if v.Status == "ready" || v.Status == "failed" || v.Status == "cancelled" {
				t.Fatalf("the recording ended (%s: %s) before shutdown", v.Status, v.Error)
			}
			if v.Stage == "captions" {
				break
			}
		}
		if code := p.stop(t, 10*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM with an open event stream, want 0:\n%s", code, p.logs)
		}
		for events.Scan() {
		}
		if strings.Contains(p.logs.String(), "deadline exceeded") {
			t.Errorf("shutdown hit its deadline:\n%s", p.logs)
		}
	})
}

// newBrowserClient is an HTTP client with cookies that does not follow redirects.
func newBrowserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getBody(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// loginCSRF opens the sign-in form and returns its CSRF value.
func loginCSRF(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	page := getBody(t, c, base+"/studio")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the sign-in form:\n%s", page)
	}
	return m[1]
}

// signIn signs c in to the studio with token and returns the session cookie.
func signIn(t *testing.T, c *http.Client, base, token string) *http.Cookie {
	t.Helper()
	csrf := loginCSRF(t, c, base)
	resp, err := c.PostForm(base+"/studio/login", url.Values{"token": {token}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "atelier_session" && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("sign-in: %d without a session cookie", resp.StatusCode)
	return nil
}

func whoamiWithCookie(t *testing.T, base string, ck *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/whoami", nil)
	req.AddCookie(ck)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// uploadClip posts a short generated recording and returns its id.
func uploadClip(t *testing.T, base string) string {
	t.Helper()
	src, err := os.ReadFile(testenv.Clip(t, testenv.ClipOptions{Duration: 2 * time.Second, Audio: true}))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormField("meta")
	io.WriteString(w, `{"title": "Shutdown", "language": "en"}`)
	w, _ = mw.CreateFormFile("source", "recording.mp4")
	w.Write(src)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/recordings", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 || out.ID == "" {
		t.Fatalf("upload: %d %+v", resp.StatusCode, out)
	}
	return out.ID
}

// TestPublicationLive: over the real router, a draft answers exactly as a missing replay (API,
// streams, page), unpublishing takes effect at the next request, and the cache headers follow
// the publication (issue #14, findings 11 and 12).
func TestPublicationLive(t *testing.T) {
	srv := startE2E(t)
	ctx := context.Background()
	const id = "5e5e5e5e5e5e5e5e"
	if err := srv.a.catalog.CreateReplay(ctx, catalog.NewReplay{ID: id, Title: "Soon a draft", Language: "en", PublishWhenReady: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.a.media.Put(ctx, "replays/"+id+"/video.mp4", strings.NewReader("not really a video"), 18, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if err := srv.a.catalog.SetProcessing(ctx, id, catalog.Ready, 6000); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	setPublication := func(pub string) {
		t.Helper()
		if st, body := srv.api(t, "PATCH", "/api/replays/"+id, `{"publication": "`+pub+`"}`); st != 200 {
			t.Fatalf("PATCH publication %s: %d %s", pub, st, body)
		}
	}
	paths := []string{"/api/replays/" + id, "/replays/" + id + "/video.mp4", "/replays/" + id}

	for _, p := range paths {
		resp, _ := get(p)
		if resp.StatusCode != 200 {
			t.Fatalf("%s published: %d", p, resp.StatusCode)
		}
		if p != paths[0] && resp.Header.Get("Cache-Control") != "public, no-cache" {
			t.Errorf("%s published: Cache-Control %q, want public, no-cache (revalidated)", p, resp.Header.Get("Cache-Control"))
		}
	}
	setPublication("unlisted")
	for _, p := range paths[1:] {
		resp, _ := get(p)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "private, no-store" || !strings.Contains(resp.Header.Get("X-Robots-Tag"), "noindex") {
			t.Errorf("%s unlisted: %d, Cache-Control %q, X-Robots-Tag %q; want 200, private, no-store, noindex",
				p, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("X-Robots-Tag"))
		}
	}
	setPublication("draft")
	for _, p := range paths {
		resp, draft := get(p)
		_, missing := get(strings.Replace(p, id, "0000000000000000", 1))
		if resp.StatusCode != 404 {
			t.Errorf("%s right after unpublishing: %d, want 404", p, resp.StatusCode)
		}
		// The page echoes its own URL (the language switch): compare with the id taken out.
		draft, missing = strings.ReplaceAll(draft, id, "ID"), strings.ReplaceAll(missing, "0000000000000000", "ID")
		if draft != missing {
			t.Errorf("%s: a draft answers\n%s\nand a missing replay\n%s\nwant the same body", p, draft, missing)
		}
	}
}
