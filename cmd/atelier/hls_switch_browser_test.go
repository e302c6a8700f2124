package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// hlsSpy records what every hls.js instance the page makes does: it wraps window.Hls as the
// vendored script defines it, so the player runs unchanged but for a shorter buffer. window.hls is the newest instance.
const hlsSpy = `(() => {
	const log = window.hlsLog = { instances: 0, starts: [], frags: [], changed: [], switched: [], fatal: [] };
	let H;
	Object.defineProperty(window, "Hls", { configurable: true, get() { return H; }, set(C) {
		H = class extends C {
			constructor(cfg) {
				// At most 10 s ahead: a 90 s clip of low bitrate would otherwise be buffered whole
				// at once, where an hour-long replay never is.
				super(Object.assign({}, cfg, { maxBufferLength: 6, maxMaxBufferLength: 10 }));
				const n = ++log.instances;
				window.hls = this;
				log.starts.push(cfg && cfg.startPosition || 0);
				this.on(C.Events.FRAG_LOADED, (_, d) => log.frags.push({ n, level: d.frag.level, url: d.frag.url }));
				this.on(C.Events.FRAG_CHANGED, (_, d) => log.changed.push({ n, level: d.frag.level, url: d.frag.url }));
				this.on(C.Events.LEVEL_SWITCHED, (_, d) => log.switched.push({ n, level: d.level }));
				this.on(C.Events.ERROR, (_, d) => { if (d.fatal) log.fatal.push(d.type + ": " + d.details); });
			}
		};
	} });
})()`

// holdRungs points media.FFmpegPath at a wrapper of the real ffmpeg that holds every encode
// of a ladder rung (output …/hls/NNNp/index.m3u8) until release is called; held reports
// whether one is waiting. The rest of the job (cut, MP4, the source rendition by stream copy)
// runs at once.
func holdRungs(t *testing.T) (held func() bool, release func()) {
	t.Helper()
	real, err := exec.LookPath("ffmpeg")
	testenv.Require(t, "ffmpeg", err)
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
for a do
	case "$a" in
	*/hls/[0-9]*p/index.m3u8)
		: > '%[1]s/held'
		while [ ! -e '%[1]s/release' ]; do sleep 0.1; done ;;
	esac
done
exec '%[2]s' "$@"
`, dir, real)
	wrapper := filepath.Join(dir, "ffmpeg")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	prev := media.FFmpegPath
	media.FFmpegPath = wrapper
	t.Cleanup(func() { media.FFmpegPath = prev })
	held = func() bool { _, err := os.Stat(filepath.Join(dir, "held")); return err == nil }
	release = func() { _ = os.WriteFile(filepath.Join(dir, "release"), nil, 0o644) }
	return held, release
}

// TestBrowserHLSSwitchesRungs (issue #12): a recording becomes playable with its source
// rendition alone; the learners' page plays it through the vendored hls.js; the ladder's rung
// is then added to the master, and the player takes it without a page reload, where it was;
// hls.js then switches down to the rung and back up to the source, loading and playing
// fragments of each.
func TestBrowserHLSSwitchesRungs(t *testing.T) {
	// 640x480: the default ladder (1080, 720, 360) adds one rung, 360p, under the source.
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 90 * time.Second, Width: 640, Height: 480, Audio: true})
	held, release := holdRungs(t)
	browser := testenv.Browser(t)
	srv := startE2E(t)
	t.Cleanup(release) // before the server stops: a held ffmpeg must not outlive the test
	if _, err := chromedp.Call(browser, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: hlsSpy}); err != nil {
		t.Fatal(err)
	}

	code, out := uploadRecording(t, srv.url, srv.admin, `{"title": "Share files", "language": "en", "publication": "published"}`, clip)
	id, _ := out["id"].(string)
	if code != http.StatusAccepted || id == "" {
		t.Fatalf("upload: %d %v", code, out)
	}
	// Playable, its rung held: the master lists the source rendition alone and says more come.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, rec := call(t, "GET", srv.url+"/api/recordings/"+id, srv.admin, "")
		if rec["playable"] == true && held() {
			if rec["status"] != "processing" {
				t.Fatalf("playable with its rung held, yet %v", rec["status"])
			}
			break
		}
		if rec["status"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("recording %s did not become playable with its rung held: %v", id, rec)
		}
		time.Sleep(200 * time.Millisecond)
	}
	masterURL := srv.url + "/replays/" + id + "/hls/master.m3u8"
	master := func() (string, string) {
		t.Helper()
		resp, err := http.Get(masterURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("master: %d %s", resp.StatusCode, b)
		}
		return string(b), resp.Header.Get("Atelier-Ladder")
	}
	if text, ladder := master(); strings.Count(text, "#EXT-X-STREAM-INF") != 1 || !strings.Contains(text, "source/index.m3u8") || ladder != "pending" {
		t.Fatalf("master while playable (Atelier-Ladder: %q):\n%s", ladder, text)
	}

	step := browserStep(t, browser)
	js := func(c context.Context, expr string) (string, error) {
		return chromedp.Run(c, chromedp.Evaluate[string](expr))
	}
	state := `(() => { const v = document.getElementById("player"); return JSON.stringify({ t: v.currentTime,
		paused: v.paused, ended: v.ended, height: v.videoHeight, error: v.error && v.error.message,
		levels: window.hls && window.hls.levels.map(l => l.uri), log: window.hlsLog }) })()`
	// wait polls cond in the page; on timeout the error carries the player's state.
	wait := func(c context.Context, what, cond string) error {
		if err := waitJS(c, `(() => { if (window.hlsLog && window.hlsLog.fatal.length) return true; return `+cond+` })()`); err != nil {
			s, _ := js(context.WithoutCancel(c), state)
			return fmt.Errorf("%s: %w\nplayer: %s", what, err, s)
		}
		if fatal, _ := js(c, `window.hlsLog.fatal.join("; ")`); fatal != "" {
			return fmt.Errorf("%s: hls.js fatal error: %s", what, fatal)
		}
		return nil
	}

	step("the page plays the source rendition through hls.js", 60*time.Second, func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
			return err
		}
		if err := waitJS(c, `document.readyState === "complete"`); err != nil { // the deferred scripts ran
			return err
		}
		if ok, err := chromedp.Run(c, chromedp.Evaluate[bool](`typeof window.Hls === "function" && !!window.Hls.isSupported()`)); err != nil || !ok {
			testenv.Require(t, "hls.js (vendored by make into web/static/vendor)", errors.Join(errors.New("window.Hls missing or unsupported"), err))
		}
		if ok, err := chromedp.Run(c, chromedp.Evaluate[bool](`"hlsGrowing" in document.getElementById("player").dataset`)); err != nil || !ok {
			return fmt.Errorf("the page does not say the ladder grows (data-hls-growing): %v", err)
		}
		if _, err := js(c, `document.getElementById("player").play().catch(() => {}), ""`); err != nil {
			return err
		}
		if err := wait(c, "source rendition playing", `window.hls.levels.length === 1 && window.hlsLog.changed.some(f => f.url.includes("/source/")) &&
			document.getElementById("player").currentTime > 1.5`); err != nil {
			return err
		}
		// A quarter of the speed while the rung is encoded, however long that takes on a busy
		// machine, so that the replay is still playing when the rung arrives; and the player
		// must keep the learner's speed when it loads the new master.
		_, err := js(c, `document.getElementById("player").playbackRate = 0.25, ""`)
		return err
	})

	// A second tab plays the same replay through the browser's own HLS (hls.js blocked, as for
	// Safari or a build without it): no levels to look at there, but the player must load the
	// new master where the learner was and play on.
	native, cancelNative := chromedp.NewContext(browser)
	defer cancelNative()
	if err := chromedp.Do(native); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(native, network.SetBlockedURLs, network.SetBlockedURLsParams{
		URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/static/vendor/*", Block: true}}}); err != nil {
		t.Fatal(err)
	}
	// loads counts the loads of the master (not of the MP4 the element may begin with); after
	// the second, after is the earliest time played.
	if _, err := chromedp.Call(native, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.loads = 0; window.after = Infinity;
			document.addEventListener("loadedmetadata", e => { if (e.target.currentSrc.endsWith("/hls/master.m3u8")) window.loads++ }, true);
			document.addEventListener("timeupdate", e => { const t = e.target.currentTime;
				if (window.loads >= 2 && t > 0) window.after = Math.min(window.after, t) }, true)`}); err != nil {
		t.Fatal(err)
	}
	nativeState := `(() => { const v = document.getElementById("player"); return JSON.stringify({ t: v.currentTime,
		paused: v.paused, rate: v.playbackRate, src: v.currentSrc, error: v.error && v.error.message, loads: window.loads,
		after: window.after, hls: !!window.Hls }) })()`
	var before float64
	step("the browser's own HLS plays the source rendition", 60*time.Second, func(c context.Context) error {
		c, cancel := context.WithTimeout(native, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
			return err
		}
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](`!window.Hls && document.getElementById("player").canPlayType("application/vnd.apple.mpegurl") !== ""`))
		if err != nil || !ok {
			return fmt.Errorf("this browser cannot test native HLS (or hls.js was not blocked): %v", err)
		}
		if _, err := js(c, `document.getElementById("player").play().catch(() => {}), ""`); err != nil {
			return err
		}
		if err := waitJS(c, `(() => { const v = document.getElementById("player");
			return v.currentSrc.endsWith("/hls/master.m3u8") && v.currentTime > 1.5 })()`); err != nil {
			s, _ := js(context.WithoutCancel(c), nativeState)
			return fmt.Errorf("%w\nplayer: %s", err, s)
		}
		if _, err := js(c, `document.getElementById("player").playbackRate = 0.25, ""`); err != nil {
			return err
		}
		before, err = chromedp.Run(c, chromedp.Evaluate[float64](`document.getElementById("player").currentTime`))
		return err
	})

	release()
	if rec := waitFinal(t, srv.url, srv.admin, id); rec["status"] != "ready" {
		t.Fatalf("recording %s: %v", id, rec)
	}
	if text, ladder := master(); strings.Count(text, "#EXT-X-STREAM-INF") != 2 || !strings.Contains(text, "360p/index.m3u8") || ladder != "done" {
		t.Fatalf("master once ready (Atelier-Ladder: %q):\n%s", ladder, text)
	}

	step("the player takes the new rung without a page reload, where it was", 60*time.Second, func(c context.Context) error {
		if err := wait(c, "two levels", `window.hlsLog.instances >= 2 && window.hls.levels.length === 2`); err != nil {
			return err
		}
		if err := wait(c, "playing on, at the same speed", `(() => { const v = document.getElementById("player");
			return !v.paused && v.playbackRate === 0.25 })()`); err != nil {
			return err
		}
		if _, err := js(c, `document.getElementById("player").playbackRate = 1, ""`); err != nil {
			return err
		}
		s, err := js(c, `String(window.hlsLog.starts[window.hlsLog.starts.length - 1])`)
		if err != nil {
			return err
		}
		if s == "0" {
			return errors.New("the player started the replay over when it reloaded the master")
		}
		return nil
	})

	step("the browser's own HLS loads the new master where it was", 60*time.Second, func(c context.Context) error {
		c, cancel := context.WithTimeout(native, 60*time.Second)
		defer cancel()
		cond := fmt.Sprintf(`(() => { const v = document.getElementById("player");
			return window.loads >= 2 && v.currentSrc.endsWith("/hls/master.m3u8") && !v.paused && v.playbackRate === 0.25 &&
				window.after >= %f && v.currentTime > window.after + 0.5 })()`, before)
		if err := waitJS(c, cond); err != nil {
			s, _ := js(context.WithoutCancel(c), nativeState)
			return fmt.Errorf("%w\nplayer: %s (before the rung: %.2f s)", err, s, before)
		}
		return nil
	})

	// Each forced switch: fragments of the level are loaded and played (FRAG_CHANGED), hls.js
	// says it switched, the picture has the level's height, and time goes on past that.
	switchTo := func(rend string, height int) {
		step("switch to "+rend, 60*time.Second, func(c context.Context) error {
			mark, err := js(c, fmt.Sprintf(`(() => { const i = window.hls.levels.findIndex(l => l.uri.includes("/%s/"));
				if (i < 0) return "no level"; window.want = i; window.playedFrom = undefined; window.mark = { f: window.hlsLog.frags.length,
				c: window.hlsLog.changed.length, s: window.hlsLog.switched.length }; window.hls.currentLevel = i; return "" })()`, rend))
			if err != nil || mark != "" {
				return fmt.Errorf("%s %v", mark, err)
			}
			cond := fmt.Sprintf(`(() => { const l = window.hlsLog, m = window.mark, v = document.getElementById("player");
				const ok = l.frags.slice(m.f).some(f => f.level === window.want && f.url.includes("/%[1]s/")) &&
					l.changed.slice(m.c).some(f => f.level === window.want && f.url.includes("/%[1]s/")) &&
					l.switched.slice(m.s).some(s => s.level === window.want) && v.videoHeight === %[2]d;
				if (ok && window.playedFrom === undefined) window.playedFrom = v.currentTime;
				return ok && v.currentTime > window.playedFrom + 1 })()`, rend, height)
			return wait(c, "playing "+rend, cond)
		})
	}
	switchTo("360p", 360)
	switchTo("source", 480)

	// A re-cut while the learner plays: its switch removes the generation the page's player
	// reads (URLs pinned to it, so that it is never fed the new cut's segments under the old
	// names); the player starts again from the current master where it was, through hls.js,
	// not the MP4.
	step("a re-cut while playing: the player goes on from the current master", 3*time.Minute, func(c context.Context) error {
		// A quarter of the speed again: the replay must still be playing, with fragments left to
		// load, when the switch comes.
		pinned, err := js(c, `(() => { window.recut = { n: window.hlsLog.instances, f: window.hlsLog.frags.length };
			const v = document.getElementById("player"); v.playbackRate = 0.25; return v.dataset.hls })()`)
		if err != nil {
			return err
		}
		if !strings.Contains(pinned, "/r/") {
			return fmt.Errorf("the page's master is not pinned to a generation: %q", pinned)
		}
		if code, out := call(t, "PUT", srv.url+"/api/recordings/"+id+"/edits", srv.admin, `{"edits": {"remove": [[75, 80]]}}`); code != http.StatusAccepted {
			return fmt.Errorf("re-cut: %d %v", code, out)
		}
		for httpStatus(t, srv.url+pinned) != http.StatusNotFound { // switched and pruned
			if c.Err() != nil {
				return fmt.Errorf("the re-cut never removed %s", pinned)
			}
			time.Sleep(200 * time.Millisecond)
		}
		cond := `(() => { const l = window.hlsLog, m = window.recut, v = document.getElementById("player");
			if (window.recutFrom === undefined && l.instances > m.n) window.recutFrom = v.currentTime;
			return l.instances > m.n && l.frags.slice(m.f).some(f => f.n > m.n && !f.url.includes("/r/")) &&
				!v.dataset.fallback && !v.paused && v.currentTime > window.recutFrom + 1 })()`
		if err := waitJS(c, cond); err != nil {
			s, _ := js(context.WithoutCancel(c), state)
			fb, _ := js(context.WithoutCancel(c), `String(document.getElementById("player").dataset.fallback)`)
			return fmt.Errorf("%w\nplayer (fallback %s): %s", err, fb, s)
		}
		if s, err := js(c, `String(window.hlsLog.starts[window.hlsLog.starts.length - 1])`); err != nil || s == "0" {
			return fmt.Errorf("the player started the replay over after the re-cut (%v)", err)
		}
		return nil
	})

	shot := checkedPNG(t, testenv.Screenshots(t), true)
	for _, lang := range []string{"en", "fr"} {
		step("screenshot "+lang, 30*time.Second, func(c context.Context) error {
			if err := chromedp.Do(c, chromedp.EmulateViewport(390, 900),
				chromedp.Navigate(srv.url+"/replays/"+id+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
				return err
			}
			return shot(c, "replay-ladder-"+lang+"-390.png")
		})
	}
}
