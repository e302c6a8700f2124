package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/schedule"
)

// e2eServer runs the real app (openApp + serve, as `atelier serve` does) on 127.0.0.1.
type e2eServer struct {
	a     *app
	url   string
	admin string
}

func startE2E(t *testing.T, opts ...func(*Config)) *e2eServer {
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
	for _, o := range opts {
		o(cfg)
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
	return &e2eServer{a: a, url: cfg.PublicURL, admin: cfg.AdminToken}
}

func (s *e2eServer) api(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const e2eStoryboard = `WEBVTT

00:00:00.000 --> 00:00:03.000
storyboard.jpg#xywh=0,0,160,90

00:00:03.000 --> 00:00:06.000
storyboard.jpg#xywh=160,0,160,90
`

const e2eVTT = `WEBVTT

00:00:00.000 --> 00:00:05.000
Welcome to the Nextcloud workshop
`

// TestBrowserE2E drives a real Chromium against the served app: the replay plays with its
// subtitles, the outdated banner appears after an interface-changing release, the agenda offers
// its webcal:// subscription, and an animator signs in to the studio.
func TestBrowserE2E(t *testing.T) {
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Width: 320, Height: 180, Audio: true})
	browser := testenv.Browser(t)
	srv := startE2E(t)
	ctx := context.Background()
	shots := testenv.Screenshots(t)

	// Seed through the stores, as the pipeline and the animators' API calls would.
	cat, err := catalog.Open(ctx, srv.a.db)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := schedule.OpenStore(ctx, srv.a.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: "27.0.0", ReleasedAt: "2023-06-12"}); err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef"
	err = cat.CreateReplay(ctx, catalog.NewReplay{ID: id, Title: "Share files with Nextcloud", Language: "en",
		Documents:        []catalog.Tag{{Software: "nextcloud", Version: "27.1.4"}},
		Chapters:         []catalog.Chapter{{StartMS: 0, Title: "Introduction"}, {StartMS: 3000, Title: "Share by link"}},
		PublishWhenReady: true})
	if err != nil {
		t.Fatal(err)
	}
	video, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	sprite := filepath.Join(t.TempDir(), "storyboard.jpg")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", "file:"+clip, "-vf", "fps=1/3,scale=160:90,tile=2x1",
		"-frames:v", "1", "file:"+sprite).CombinedOutput(); err != nil {
		t.Fatalf("storyboard: %v\n%s", err, b)
	}
	spriteJPG, err := os.ReadFile(sprite)
	if err != nil {
		t.Fatal(err)
	}
	poster := filepath.Join(t.TempDir(), "poster.jpg")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-ss", "1", "-i", "file:"+clip, "-frames:v", "1",
		"file:"+poster).CombinedOutput(); err != nil {
		t.Fatalf("poster: %v\n%s", err, b)
	}
	posterJPG, err := os.ReadFile(poster)
	if err != nil {
		t.Fatal(err)
	}
	for key, b := range map[string][]byte{"video.mp4": video, "subtitles/en.vtt": []byte(e2eVTT),
		"storyboard.jpg": spriteJPG, "storyboard.vtt": []byte(e2eStoryboard), "poster.jpg": posterJPG} {
		if _, err := srv.a.media.Put(ctx, "replays/"+id+"/"+key, bytes.NewReader(b), int64(len(b)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.PutTrack(ctx, id, catalog.Track{Lang: "en", Kind: "manual", Status: "reviewed", CueCount: 1, Text: "Welcome"}); err != nil {
		t.Fatal(err)
	}
	if err := cat.SetProcessing(ctx, id, catalog.Ready, 6000); err != nil {
		t.Fatal(err)
	}
	ws := &schedule.Workshop{Title: "Nextcloud for associations", StartsAt: "2099-03-24T18:00:00", Timezone: "Europe/Paris",
		Duration: "PT1H30M", Language: "en", Status: "confirmed", Documents: []schedule.Document{{Software: "nextcloud", Version: "28"}}}
	if err := sched.Create(ctx, ws, "e2e"); err != nil {
		t.Fatal(err)
	}
	// A ready draft, for the studio's "Publish" button.
	const draftID = "d0d0d0d0d0d0d0d0"
	if err := cat.CreateReplay(ctx, catalog.NewReplay{ID: draftID, Title: "A draft to publish", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	if err := cat.SetProcessing(ctx, draftID, catalog.Ready, 6000); err != nil {
		t.Fatal(err)
	}
	animator, _, err := srv.a.auth.Create(ctx, "Ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}

	step := browserStep(t, browser)
	// Every page we screenshot also passes a few automatic accessibility checks.
	shot := checkedPNG(t, shots, false)

	step("replay plays with subtitles", 30*time.Second, func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id+"?lang=en"), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
			return err
		}
		if _, err := chromedp.Run(c, chromedp.Evaluate[any](`document.getElementById("player").play(), null`)); err != nil {
			return err
		}
		// Real time: media playback does not follow virtual time.
		if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById("player").currentTime > 1.5`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			state, _ := chromedp.Run(c, chromedp.Evaluate[string](`(() => { const v = document.getElementById("player");
				return "readyState=" + v.readyState + " error=" + (v.error && v.error.message) + " src=" + v.currentSrc })()`))
			return fmt.Errorf("video did not advance (%s): %v", state, err)
		}
		cues, err := chromedp.Run(c, chromedp.Evaluate[int](`(() => { const tt = document.getElementById("player").textTracks;
			for (const t of tt) if (t.kind === "subtitles" && t.language === "en") return t.mode === "showing" && t.cues ? t.cues.length : -1;
			return -2 })()`))
		if err != nil {
			return err
		}
		if cues < 1 {
			return fmt.Errorf("the English track has %d cues (want > 0, showing by default)", cues)
		}
		// Seek thumbnails from the storyboard on the chapter links.
		if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.querySelectorAll(".chapters .thumb").length === 2`,
			chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			return fmt.Errorf("chapter thumbnails: %w", err)
		}
		return shot(c, "replay.png")
	})

	step("HLS through hls.js", 30*time.Second, func(c context.Context) error {
		if _, err := os.Stat(filepath.Join(testenv.RepoRoot(), "web", "static", "vendor", "hls.min.js")); err != nil {
			if testenv.RequireAll() {
				return fmt.Errorf("hls.js is not vendored (make vendor-js): %w", err)
			}
			t.Logf("hls.js is not vendored (make vendor-js); skipping the HLS step")
			return nil
		}
		const hlsID = "fedcba9876543210"
		if err := cat.CreateReplay(ctx, catalog.NewReplay{ID: hlsID, Title: "HLS replay", Language: "en", PublishWhenReady: true}); err != nil {
			return err
		}
		out := t.TempDir()
		cmd := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", "file:"+clip, "-c", "copy", "-f", "hls",
			"-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-hls_time", "2",
			"-master_pl_name", "master.m3u8", filepath.Join(out, "index.m3u8"))
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ffmpeg hls: %v\n%s", err, b)
		}
		files, _ := os.ReadDir(out)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(out, f.Name()))
			if err != nil {
				return err
			}
			if _, err := srv.a.media.Put(ctx, "replays/"+hlsID+"/hls/"+f.Name(), bytes.NewReader(b), int64(len(b)), ""); err != nil {
				return err
			}
		}
		for key, b := range map[string][]byte{"video.mp4": video, "poster.jpg": posterJPG} {
			if _, err := srv.a.media.Put(ctx, "replays/"+hlsID+"/"+key, bytes.NewReader(b), int64(len(b)), ""); err != nil {
				return err
			}
		}
		if err := cat.SetProcessing(ctx, hlsID, catalog.Ready, 6000); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+hlsID), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
			return err
		}
		if _, err := chromedp.Run(c, chromedp.Evaluate[any](`document.getElementById("player").play().catch(() => {}), null`)); err != nil {
			return err
		}
		if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById("player").currentTime > 1.5`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			return fmt.Errorf("HLS video did not advance: %w", err)
		}
		src, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("player").currentSrc`))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(src, "blob:") {
			return fmt.Errorf("currentSrc %q: want a MediaSource blob (hls.js)", src)
		}
		return nil
	})

	step("outdated banner after an interface-changing release", 15*time.Second, func(c context.Context) error {
		status, body := srv.api(t, "POST", "/api/software/nextcloud/releases",
			`{"version": "28.0.0", "released_at": "2023-12-12", "interface_change": true, "notes": "New Files app"}`)
		if status != http.StatusCreated && status != http.StatusOK {
			return fmt.Errorf("add release: %d %s", status, body)
		}
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id), chromedp.WaitVisible(chromedp.CSS(`[data-testid="outdated-banner"]`))); err != nil {
			return err
		}
		text, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(`[data-testid="outdated-banner"]`)))
		if err != nil {
			return err
		}
		if !strings.Contains(text, "27.1.4") || !strings.Contains(text, "28.0.0") {
			return fmt.Errorf("banner %q: want the shown version and the release that changed the interface", text)
		}
		return shot(c, "replay-outdated.png")
	})

	step("agenda subscribe link", 15*time.Second, func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/workshops"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="subscribe-all"]`))); err != nil {
			return err
		}
		href, err := chromedp.Run(c, chromedp.AttributeValue(chromedp.CSS(`[data-testid="subscribe-all"]`), "href"))
		if err != nil {
			return err
		}
		if want := "webcal://" + strings.TrimPrefix(srv.url, "http://") + "/calendar.ics"; href.Value != want {
			return fmt.Errorf("subscribe link %q, want %q", href.Value, want)
		}
		if err := shot(c, "workshops.png"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/?lang=fr"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			return err
		}
		lang, err := chromedp.Run(c, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil {
			return err
		}
		if lang != "fr" {
			return fmt.Errorf("<html lang=%q> after ?lang=fr", lang)
		}
		return shot(c, "home-fr.png")
	})

	step("catalog search and software timeline", 15*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			chromedp.Navigate(srv.url+"/replays?lang=en"),
			chromedp.WaitVisible(chromedp.CSS("#f-q")),
			chromedp.SendKeys(chromedp.CSS("#f-q"), "share"),
			chromedp.Submit(chromedp.CSS("#f-q")),
		)
		if err != nil {
			return err
		}
		// Wait for the results page itself, not the unfiltered one the form was on.
		if err := waitJS(c, `location.search.includes("q=share") &&
			document.querySelectorAll(".cards h3 a").length === 1 && !!document.querySelector('.cards a[href="/replays/`+id+`"]')`); err != nil {
			return fmt.Errorf("search results: %w", err)
		}
		if err := shot(c, "replays.png"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/software/nextcloud"), chromedp.WaitVisible(chromedp.CSS(".timeline"))); err != nil {
			return err
		}
		return shot(c, "software.png")
	})

	step("studio sign-in", 30*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			studioSignIn(srv.url, animator),
			chromedp.WaitVisible(chromedp.CSS("#studio-hello")),
		)
		if err != nil {
			return err
		}
		text, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#studio-hello")))
		if err != nil {
			return err
		}
		if !strings.Contains(text, "Ana") {
			return fmt.Errorf("studio greets %q", text)
		}
		// The freshness to-do list offers to re-record the outdated replay; the button calls
		// the API with the session cookie and its CSRF token.
		btn := chromedp.CSS(`button.reschedule[data-id="` + id + `"]`)
		if err := chromedp.Do(c, chromedp.WaitVisible(btn), chromedp.Click(btn),
			chromedp.WaitVisible(chromedp.CSS(`button.reschedule + [role=status] a`))); err != nil {
			return fmt.Errorf("reschedule: %w", err)
		}
		if st := httpStatus(t, srv.url+"/replays/"+draftID); st != http.StatusNotFound {
			return fmt.Errorf("a draft is public: %d", st)
		}
		pub := chromedp.CSS(`button.publish[data-id="` + draftID + `"]`)
		if err := chromedp.Do(c, chromedp.Click(pub), chromedp.WaitNotPresent(pub)); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if st := httpStatus(t, srv.url+"/replays/"+draftID); st != http.StatusOK {
			return fmt.Errorf("published from the studio, the page answers %d", st)
		}
		return shot(c, "studio.png")
	})

	step("studio upload through the form, cut editor, live progress", 90*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			chromedp.Navigate(srv.url+"/studio?lang=en"),
			chromedp.WaitVisible(chromedp.CSS("#upload")),
			chromedp.SendKeys(chromedp.CSS("#u-title"), "Uploaded in the browser"),
			chromedp.SetUploadFiles(chromedp.CSS("#u-file"), []string{clip}),
			chromedp.WaitVisible(chromedp.CSS("#cut")),
		)
		if err != nil {
			return err
		}
		// Marks at the playhead with the keyboard: keep 1 s – 4 s, a chapter at 2 s.
		if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById("cut-video").readyState >= 1`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			return fmt.Errorf("the local preview did not load: %w", err)
		}
		seek := func(sec float64) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Run(ctx, chromedp.Evaluate[any](fmt.Sprintf(`(async () => { const v = document.getElementById("cut-video");
					v.currentTime = %g; await new Promise(r => v.addEventListener("seeked", r, {once: true})); return null })()`, sec),
					chromedp.EvalAwaitPromise))
				return err
			})
		}
		err = chromedp.Do(c,
			seek(1), chromedp.Focus(chromedp.CSS("#cut-in")), chromedp.KeyEvent("i"),
			seek(4), chromedp.KeyEvent("o"),
			seek(2), chromedp.Click(chromedp.CSS("#cut-chapter")),
			chromedp.SendKeys(chromedp.CSS("#cut-chapters input"), "The middle"),
		)
		if err != nil {
			return err
		}
		ranges, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#cut-ranges")))
		if err != nil {
			return err
		}
		if !strings.Contains(ranges, "00:00:01.000 – 00:00:04.000") {
			return fmt.Errorf("kept ranges %q: want 00:00:01.000 – 00:00:04.000", ranges)
		}
		if err := shot(c, "studio-cut.png"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS(`#upload button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#u-result a#u-replay, #u-result.error"))); err != nil {
			return fmt.Errorf("upload did not finish: %w", err)
		}
		result, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#u-result")))
		if err != nil {
			return err
		}
		if !strings.HasPrefix(result, "Ready") {
			return fmt.Errorf("upload result %q", result)
		}
		if err := shot(c, "studio-uploaded.png"); err != nil {
			return err
		}
		href, err := chromedp.Run(c, chromedp.AttributeValue(chromedp.CSS("#u-replay"), "href"))
		if err != nil {
			return err
		}
		newID := strings.TrimPrefix(href.Value, "/replays/")
		// Subtitles through the studio's form: a SubRip file in source time, re-timed by the cut.
		srt := filepath.Join(t.TempDir(), "en.srt")
		if err := os.WriteFile(srt, []byte("1\n00:00:02,000 --> 00:00:03,500\nSubtitles from the studio\n"), 0o644); err != nil {
			return err
		}
		form := `form.subs[data-id="` + newID + `"]`
		err = chromedp.Do(c,
			chromedp.Reload(),
			chromedp.WaitVisible(chromedp.CSS(form)),
			chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`), []string{srt}),
			chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
		)
		if err != nil {
			return err
		}
		if err := waitJS(c, `document.querySelector('`+form+` [role=status]').textContent.includes("reviewed")`); err != nil {
			msg, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS(form+` [role=status]`)))
			return fmt.Errorf("subtitle upload (%q): %w", msg, err)
		}
		// The replay is published (the form's default), cut to 3 s, with its chapter and track.
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+newID), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
			return err
		}
		body, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			return err
		}
		for _, want := range []string{"The middle", "0:03", "English"} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("the uploaded replay's page lacks %q:\n%s", want, body)
			}
		}
		return shot(c, "replay-uploaded.png")
	})
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitJS evaluates expr until it is true, across navigations (a Poll does not survive one).
func waitJS(ctx context.Context, expr string) error {
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", expr, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// a11yChecks lists what a page gets wrong among the checks a machine can make: a language, one
// h1, a working skip link, a label for every control, an alt on every image, a name on every
// link and button.
const a11yChecks = `(() => {
	const p = [];
	if (!document.documentElement.lang) p.push("no <html lang>");
	if (document.querySelectorAll("h1").length !== 1) p.push(document.querySelectorAll("h1").length + " h1");
	const skip = document.querySelector("a.skip");
	if (!skip || !document.querySelector(skip.getAttribute("href"))) p.push("no skip link to the content");
	for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
		if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
			p.push("unlabelled " + el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""));
	}
	for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) p.push("img without alt: " + img.src);
	for (const el of document.querySelectorAll("a[href], button")) {
		if (!el.textContent.trim() && !el.getAttribute("aria-label") && el.getAttribute("aria-hidden") !== "true")
			p.push("nameless " + el.tagName.toLowerCase() + " " + (el.getAttribute("href") || ""));
	}
	return p;
})()`
