package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestBrowserRecut drives the cut editor of a recording's studio page in Chromium: an animator
// removes the middle of an uploaded 6 s clip on the timeline with the keyboard (split at the
// play head twice, remove the part between), nudges an edge a frame and back, previews the
// result (the player jumps over the removed part), adds a chapter with its software@version tag
// and applies. The new render keeps the replay's id; it lasts 4 s, and the French cue that was
// at 4 s–5 s of the source is served at 2 s–3 s in /replays/{id}/subtitles/fr.vtt.
func TestBrowserRecut(t *testing.T) {
	browser := testenv.Browser(t)
	srv := startE2E(t)
	ctx := context.Background()
	shots := testenv.Screenshots(t)
	// The animator's own upload: re-cutting is its owner's (or an admin's) call.
	animator, _, err := srv.a.auth.Create(ctx, "Ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Width: 320, Height: 180, Audio: true})
	id := uploadQueued(t, srv, animator, clip, `{"title": "Share files with Nextcloud", "language": "en", "publication": "published"}`)
	waitReady(t, srv, id)
	if st, body := srv.api(t, "POST", "/api/software", `{"slug": "nextcloud", "name": "Nextcloud"}`); st != 201 && st != 200 {
		t.Fatalf("software: %d %s", st, body)
	}
	req, _ := http.NewRequest("PUT", srv.url+"/api/recordings/"+id+"/subtitles/fr", strings.NewReader(
		"WEBVTT\n\n00:00:00.300 --> 00:00:00.800\nAvant la coupe\n\n00:00:04.000 --> 00:00:05.000\nAprès la coupe\n"))
	req.Header.Set("Authorization", "Bearer "+srv.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT fr: %d", resp.StatusCode)
	}

	step := browserStep(t, browser)
	shot := checkedPNG(t, shots, false)
	page := srv.url + "/studio/recordings/" + id
	open := func(c context.Context, lang string) error {
		return chromedp.Do(c, chromedp.Navigate(page+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS(`#recording[data-loaded="true"] #rec-edge-0-end`)))
	}
	js := func(c context.Context, expr string) error {
		_, err := chromedp.Run(c, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
		return err
	}
	// seek moves the play head (the source plays through its Range route), then lets the
	// timeline see it.
	seek := func(c context.Context, sec float64) error {
		return js(c, fmt.Sprintf(`(async () => { const v = document.getElementById("rec-video");
			const done = new Promise(r => v.addEventListener("seeked", r, {once: true}));
			v.currentTime = %g; await done; return null })()`, sec))
	}
	key := func(c context.Context, k string) error { return chromedp.Do(c, chromedp.KeyEvent(k)) }
	// drag presses the mouse on the element sel and releases it at frac of the track's width.
	drag := func(c context.Context, sel string, frac float64) error {
		pts, err := chromedp.Run(c, chromedp.Evaluate[[]float64](`(() => {
			document.getElementById("rec-track").scrollIntoView({block: "center"});
			const e = document.querySelector("`+sel+`").getBoundingClientRect(), t = document.getElementById("rec-track").getBoundingClientRect();
			return [e.left + e.width / 2, e.top + e.height / 2, t.left + t.width * `+fmt.Sprint(frac)+`] })()`))
		if err != nil {
			return err
		}
		x, y, to := pts[0], pts[1], pts[2]
		return chromedp.Do(c,
			chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
			chromedp.MouseEvent(chromedp.MouseMoved, (x+to)/2, y, chromedp.ButtonLeft),
			chromedp.MouseEvent(chromedp.MouseMoved, to, y, chromedp.ButtonLeft),
			chromedp.MouseEvent(chromedp.MouseReleased, to, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		)
	}

	step("sign in", 20*time.Second, func(c context.Context) error {
		return chromedp.Do(c,
			studioSignIn(srv.url, animator),
			chromedp.WaitVisible(chromedp.CSS(`a.edit-cut[href="/studio/recordings/`+id+`"]`)),
		)
	})

	step("cut the middle out on the timeline", 40*time.Second, func(c context.Context) error {
		if err := open(c, "en"); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("rec-video").readyState >= 1`); err != nil {
			return fmt.Errorf("the source does not play: %w", err)
		}
		// The whole recording is kept at first.
		if err := waitJS(c, `document.getElementById("rec-timeline").dataset.result.startsWith("00:00:06")`); err != nil {
			return err
		}
		whole, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("rec-timeline").dataset.result`))
		if err != nil {
			return err
		}
		// Dragged with the mouse: the end to 5.5 s (to the nearest frame), then past the end of
		// the track, where it stops at the end of the recording.
		if err := drag(c, "#rec-edge-0-end", 5.5/6); err != nil {
			return err
		}
		if err := waitJS(c, `(() => { const tl = document.getElementById("rec-timeline"), f = 1 / +tl.dataset.fps;
			return Math.abs(JSON.parse(tl.dataset.parts)[0][1] - 5.5) <= 2 * f })()`); err != nil {
			parts, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("rec-timeline").dataset.parts`))
			return fmt.Errorf("drag to 5.5 s (parts %s): %w", parts, err)
		}
		if err := drag(c, "#rec-edge-0-end", 1.05); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("rec-timeline").dataset.result === "`+whole+`"`); err != nil {
			return fmt.Errorf("drag past the end: %w", err)
		}
		if err := chromedp.Do(c, chromedp.Focus(chromedp.CSS("#rec-split"))); err != nil {
			return err
		}
		for _, s := range []struct {
			at  float64
			key string
		}{{1, "s"}, {3, "s"}, {2, "x"}} {
			if err := seek(c, s.at); err != nil {
				return err
			}
			if err := key(c, s.key); err != nil {
				return err
			}
		}
		if err := waitJS(c, `document.getElementById("rec-timeline").dataset.result === "00:00:04.000"`); err != nil {
			parts, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("rec-timeline").dataset.parts`))
			return fmt.Errorf("after split, split, remove (parts %s): %w", parts, err)
		}
		ranges, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#rec-ranges")))
		if err != nil {
			return err
		}
		if !strings.Contains(ranges, "00:00:00.000 – 00:00:01.000") || !strings.Contains(ranges, "00:00:03.000 – 00:00:06") {
			return fmt.Errorf("parts kept %q", ranges)
		}
		// The second part's start, a frame later with → and back with ←: times snap to frames.
		if err := chromedp.Do(c, chromedp.Focus(chromedp.CSS("#rec-edge-1-start")), chromedp.KeyEvent(kb.ArrowRight)); err != nil {
			return err
		}
		if err := waitJS(c, `(() => { const tl = document.getElementById("rec-timeline"), f = 1 / +tl.dataset.fps;
			return Math.abs(JSON.parse(tl.dataset.parts)[1][0] - (3 + f)) < 0.0015 })()`); err != nil {
			return fmt.Errorf("→ on an edge: %w", err)
		}
		if err := chromedp.Do(c, chromedp.Focus(chromedp.CSS("#rec-edge-1-start")), chromedp.KeyEvent(kb.ArrowLeft)); err != nil {
			return err
		}
		if err := waitJS(c, `JSON.parse(document.getElementById("rec-timeline").dataset.parts)[1][0] === 3`); err != nil {
			return fmt.Errorf("← on an edge: %w", err)
		}
		// The preview jumps over the removed part.
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#rec-preview"))); err != nil {
			return err
		}
		if err := js(c, `document.getElementById("rec-video").currentTime = 1.5`); err != nil {
			return err
		}
		if err := waitJS(c, `Math.abs(document.getElementById("rec-video").currentTime - 3) < 0.01`); err != nil {
			return fmt.Errorf("the preview did not skip the removed part: %w", err)
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#rec-preview"))); err != nil {
			return err
		}
		// A chapter at 3.5 s of the source (1.5 s of the result), with the software it shows.
		if err := seek(c, 3.5); err != nil {
			return err
		}
		// (A click: CDP types a key's character apart from its keydown, into the title the
		// shortcut C focuses; a browser does not.)
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#rec-chapter"))); err != nil {
			return err
		}
		if err := chromedp.Do(c,
			chromedp.SendKeys(chromedp.CSS("#rec-chapters li input"), "Après la pause"),
			chromedp.SendKeys(chromedp.CSS(`#rec-chapters li input[id$="-tags"]`), "nextcloud@28.0.2"),
		); err != nil {
			return err
		}
		if err := shot(c, "recut-edit-en.png"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#rec-apply"))); err != nil {
			return err
		}
		return nil
	})

	step("the new render, live", 120*time.Second, func(c context.Context) error {
		if err := waitJS(c, `document.getElementById("recording").dataset.rendered === "true" ||
			document.getElementById("rec-status").classList.contains("error")`); err != nil {
			return err
		}
		msg, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#rec-status")))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(msg, "Done: the replay now lasts 00:00:0") {
			return fmt.Errorf("after apply: %q", msg)
		}
		return shot(c, "recut-done-en.png")
	})

	// The same replay, 4 s long, its cue re-timed through the new cut, its chapter kept.
	st, body := srv.api(t, "GET", "/api/recordings/"+id, "")
	var rec struct {
		Status   string `json:"status"`
		ReplayMS int64  `json:"replay_duration_ms"`
	}
	if err := json.Unmarshal([]byte(body), &rec); st != 200 || err != nil || rec.Status != "ready" {
		t.Fatalf("recording after the re-cut: %d %s", st, body)
	}
	if rec.ReplayMS < 3900 || rec.ReplayMS > 4100 {
		t.Errorf("the re-cut replay lasts %d ms, want 4000", rec.ReplayMS)
	}
	st, vtt := publicGet(t, srv.url+"/replays/"+id+"/subtitles/fr.vtt")
	if st != 200 || !strings.Contains(vtt, "00:00:02.000 --> 00:00:03.000\nAprès la coupe") ||
		!strings.Contains(vtt, "00:00:00.300 --> 00:00:00.800\nAvant la coupe") {
		t.Errorf("the served WebVTT after the re-cut: %d\n%s", st, vtt)
	}
	st, body = srv.api(t, "GET", "/api/replays/"+id, "")
	// 1.5 s of replay time, snapped to the clip's frames (25 fps: 1520 ms).
	chapter := regexp.MustCompile(`"start_ms":(\d+),"title":"Après la pause"`).FindStringSubmatch(body)
	if st != 200 || chapter == nil || !within(chapter[1], 1500, 40) || !strings.Contains(body, `"version":"28.0.2"`) {
		t.Errorf("the replay's chapters after the re-cut: %d %s", st, body)
	}

	// Both languages, desktop and phone widths; nothing wider than the phone.
	for _, lang := range []string{"en", "fr"} {
		for _, w := range []int64{1280, 390} {
			step(fmt.Sprintf("screenshot %s %d", lang, w), 30*time.Second, func(c context.Context) error {
				if err := chromedp.Do(c, chromedp.EmulateViewport(w, 900)); err != nil {
					return err
				}
				if err := open(c, lang); err != nil {
					return err
				}
				if err := waitJS(c, `document.documentElement.scrollWidth <= window.innerWidth`); err != nil {
					sw, _ := chromedp.Run(c, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
					return fmt.Errorf("page %d px wide at %d: %w", sw, w, err)
				}
				return shot(c, fmt.Sprintf("recut-%s-%d.png", lang, w))
			})
		}
	}
}

// startE2EHeld is startE2E with the job workers held back: uploads stay queued until the test
// calls the returned function, so that it can act on a queued job (cancel it) and break a
// job's source before it runs.
func startE2EHeld(t *testing.T) (*e2eServer, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := &Config{
		Addr: ln.Addr().String(), DataDir: dir, DB: filepath.Join(dir, "atelier.db"),
		PublicURL: "http://" + ln.Addr().String(), AdminToken: "atl_e2e_admin_token_0123456789",
		Secret: "e2e-secret-0123456789abcdef0123456789", MaxUpload: 1 << 30, Workers: 1,
		LogFormat: "text", LogLevel: "warn", StreamMode: "proxy",
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := openApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.workers = nil // the job queue, the feed sync: none until start
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.serve(ctx, ln)
	}()
	workers := make(chan struct{})
	started := false
	t.Cleanup(func() {
		cancel()
		<-done
		if started {
			<-workers
		}
		a.Close()
	})
	start := func() {
		started = true
		go func() {
			defer close(workers)
			_ = a.pipeline.Run(ctx)
		}()
	}
	return &e2eServer{a: a, url: cfg.PublicURL, admin: cfg.AdminToken}, start
}

// uploadQueued sends a clip (meta as given) with token and returns the recording's id without
// waiting.
func uploadQueued(t *testing.T, srv *e2eServer, token, clip, meta string) string {
	t.Helper()
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, _ := mw.CreateFormField("meta")
		io.WriteString(w, meta)
		w, _ = mw.CreateFormFile("source", "clip.mp4")
		io.Copy(w, f)
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", srv.url+"/api/recordings", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
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

// waitReady waits until the recording id is ready for the pipeline and for the catalog (they
// are written one after the other).
func waitReady(t *testing.T, srv *e2eServer, id string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, body := srv.api(t, "GET", "/api/replays/"+id, "")
		stRec, rec := srv.api(t, "GET", "/api/recordings/"+id, "")
		if st == 200 && strings.Contains(body, `"processing":"ready"`) && stRec == 200 && strings.Contains(rec, `"status":"ready"`) {
			return
		}
		if strings.Contains(rec, `"status":"failed"`) || time.Now().After(deadline) {
			t.Fatalf("recording %s not ready: %d %s", id, stRec, rec)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserJobs drives the studio's jobs list in Chromium: two recordings wait in the queue;
// the animator cancels the first; the second, whose stored source is broken, fails with the
// error and its hint shown; once the source is put back, Retry renders it. Screenshots of the
// list and of a failed recording's page in English and French, at desktop and phone widths.
func TestBrowserJobs(t *testing.T) {
	browser := testenv.Browser(t)
	srv, startWorkers := startE2EHeld(t)
	ctx := context.Background()
	shots := testenv.Screenshots(t)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 3 * time.Second, Width: 320, Height: 180, Audio: true})
	// The animator's own uploads: cancel and retry are their owner's (or an admin's) call.
	animator, _, err := srv.a.auth.Create(ctx, "Ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	first := uploadQueued(t, srv, animator, clip, `{"title": "Nextcloud, part 1", "language": "en"}`)
	second := uploadQueued(t, srv, animator, clip, `{"title": "Nextcloud, part 2", "language": "en"}`)
	// The second recording's stored source breaks (as a disk or a bucket can): its job fails.
	setSource := func(b []byte) {
		t.Helper()
		key := layout.Recording(second).SourceKey()
		if _, err := srv.a.media.Put(ctx, key, strings.NewReader(string(b)), int64(len(b)), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.a.db.Exec(`UPDATE recordings SET source_size = $1 WHERE id = $2`, len(b), second); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(srv.a.cfg.DataDir, "work", second)); err != nil {
			t.Fatal(err)
		}
	}
	setSource([]byte(strings.Repeat("not a video ", 1000)))

	step := browserStep(t, browser)
	shot := checkedPNG(t, shots, false)
	job := func(id string) string { return `#jobs li[data-id="` + id + `"]` }
	state := func(id, status string) string {
		return `document.querySelector('` + job(id) + ` .job-body[data-status="` + status + `"]') !== null`
	}

	step("sign in, both jobs waiting", 20*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			studioSignIn(srv.url, animator),
			chromedp.WaitVisible(chromedp.CSS(`#jobs[data-loaded="true"]`)),
		)
		if err != nil {
			return err
		}
		if err := waitJS(c, state(first, "queued")+" && "+state(second, "queued")); err != nil {
			return err
		}
		title, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(job(first)+" .job-title")))
		if err != nil || title != "Nextcloud, part 1" {
			return fmt.Errorf("the job is named %q (%v)", title, err)
		}
		return shot(c, "jobs-queued-en.png")
	})

	step("cancel the first", 20*time.Second, func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS(job(first)+" button.job-cancel"))); err != nil {
			return err
		}
		if err := waitJS(c, state(first, "cancelled")+` && document.querySelector('`+job(first)+` button.job-retry') !== null`); err != nil {
			dc, cancel := context.WithTimeout(browser, 5*time.Second)
			defer cancel()
			text, _ := chromedp.Run(dc, chromedp.Text(chromedp.CSS(job(first))))
			_, body := srv.api(t, "GET", "/api/recordings/"+first, "")
			return fmt.Errorf("%w\nthe job shows %q; the API says %s", err, text, body)
		}
		if st, body := srv.api(t, "GET", "/api/recordings/"+first, ""); st != 200 || !strings.Contains(body, `"status":"cancelled"`) {
			return fmt.Errorf("the cancelled recording: %d %s", st, body)
		}
		return nil
	})

	startWorkers()
	step("the second fails, with its hint", 60*time.Second, func(c context.Context) error {
		if err := waitJS(c, state(second, "failed")); err != nil {
			return err
		}
		msg, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(job(second)+" .job-error")))
		if err != nil {
			return err
		}
		if !strings.Contains(msg, "not a readable audio or video file") {
			return fmt.Errorf("the failed job says %q", msg)
		}
		return shot(c, "jobs-failed-en.png")
	})

	for _, lang := range []string{"en", "fr"} {
		for _, w := range []int64{1280, 390} {
			step(fmt.Sprintf("screenshots %s %d", lang, w), 30*time.Second, func(c context.Context) error {
				if err := chromedp.Do(c, chromedp.EmulateViewport(w, 900)); err != nil {
					return err
				}
				defer chromedp.Do(c, chromedp.EmulateViewport(1280, 900))
				for _, p := range []struct{ path, ready, name string }{
					{"/studio", `#jobs[data-loaded="true"] li[data-id="` + second + `"] .job-retry`, "jobs"},
					{"/studio/recordings/" + second, `#recording[data-loaded="true"] #rec-job .job-retry`, "recording-failed"},
				} {
					if err := chromedp.Do(c, chromedp.Navigate(srv.url+p.path+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS(p.ready))); err != nil {
						return fmt.Errorf("%s: %w", p.path, err)
					}
					if err := waitJS(c, `document.documentElement.scrollWidth <= window.innerWidth`); err != nil {
						return fmt.Errorf("%s is too wide at %d px (%s): %w", p.path, w, widest(browser), err)
					}
					if err := shot(c, fmt.Sprintf("%s-%s-%d.png", p.name, lang, w)); err != nil {
						return err
					}
				}
				// The upload form's timeline over a local file (no waveform yet: a plain track).
				err := chromedp.Do(c, chromedp.Navigate(srv.url+"/studio?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#u-file")),
					chromedp.SetUploadFiles(chromedp.CSS("#u-file"), []string{clip}),
					chromedp.WaitVisible(chromedp.CSS("#cut-edge-0-end")))
				if err != nil {
					return err
				}
				if err := waitJS(c, `document.documentElement.scrollWidth <= window.innerWidth`); err != nil {
					return fmt.Errorf("the upload form is too wide at %d px (%s): %w", w, widest(browser), err)
				}
				return shot(c, fmt.Sprintf("upload-cut-%s-%d.png", lang, w))
			})
		}
	}

	step("retry the second once its source is back", 90*time.Second, func(c context.Context) error {
		b, err := os.ReadFile(clip)
		if err != nil {
			return err
		}
		setSource(b)
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/studio?lang=en"), chromedp.WaitVisible(chromedp.CSS(job(second)+" button.job-retry")),
			chromedp.Click(chromedp.CSS(job(second)+" button.job-retry"))); err != nil {
			return err
		}
		if err := waitJS(c, state(second, "ready")+` || document.querySelector('`+job(second)+` .job-msg.error') !== null`); err != nil {
			return err
		}
		if msg, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector('`+job(second)+` .job-msg').textContent`)); msg != "" {
			return fmt.Errorf("retry: %s", msg)
		}
		if st, body := srv.api(t, "GET", "/api/recordings/"+second, ""); st != 200 || !strings.Contains(body, `"status":"ready"`) {
			return fmt.Errorf("the retried recording: %d %s", st, body)
		}
		return shot(c, "jobs-retried-en.png")
	})
}

// widest names the elements that stick out of the window, for the message of a failed
// phone-width check.
func widest(browser context.Context) string {
	c, cancel := context.WithTimeout(browser, 5*time.Second)
	defer cancel()
	out, err := chromedp.Run(c, chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")]
		.filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
		.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
	if err != nil {
		return err.Error()
	}
	return strings.Join(out, ", ")
}

// within tells whether the integer ms is at most tol away from want.
func within(ms string, want, tol int) bool {
	n, err := strconv.Atoi(ms)
	return err == nil && n >= want-tol && n <= want+tol
}
