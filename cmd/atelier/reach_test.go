package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestBrowserEmbed drives Chromium through what issue #16 promises beyond the site: a replay
// embedded in a page of another site plays (HLS through hls.js when vendored), from the start
// time of its link, with subtitles and the outdated banner; the replay page itself refuses to
// be framed; the seek bar previews the storyboard under the pointer and the keyboard; the
// learner's version is remembered. Screenshots in French and English, desktop and 390 px.
func TestBrowserEmbed(t *testing.T) {
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Width: 320, Height: 180, Audio: true})
	browser := testenv.Browser(t)
	srv := startE2E(t)
	ctx := context.Background()
	shots := testenv.Screenshots(t)

	cat, err := catalog.Open(ctx, srv.a.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: "27.0.0", ReleasedAt: "2023-06-12"}); err != nil {
		t.Fatal(err)
	}
	const id, newID = "e1e1e1e1e1e1e1e1", "e2e2e2e2e2e2e2e2"
	err = cat.CreateReplay(ctx, catalog.NewReplay{ID: id, Title: "Share files with Nextcloud", Language: "en",
		Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.1.4"}},
		Chapters: []catalog.Chapter{{StartMS: 0, Title: "Introduction"},
			{StartMS: 3000, Title: "Share by link", Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.1.4"}}}},
		PublishWhenReady: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateReplay(ctx, catalog.NewReplay{ID: newID, Title: "Files in Nextcloud 28", Language: "en",
		Documents: []catalog.Tag{{Software: "nextcloud", Version: "28.0.1"}}, PublishWhenReady: true}); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"subtitles/en.vtt": []byte(e2eVTT), "storyboard.vtt": []byte(e2eStoryboard),
		"subtitles/fr.vtt": []byte("WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nBienvenue dans l’atelier Nextcloud\n")}
	run := func(args ...string) {
		t.Helper()
		if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-v", "error"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
		}
	}
	tmp := t.TempDir()
	run("-i", "file:"+clip, "-vf", "fps=1/3,scale=160:90,tile=2x1", "-frames:v", "1", "file:"+filepath.Join(tmp, "storyboard.jpg"))
	run("-ss", "1", "-i", "file:"+clip, "-frames:v", "1", "file:"+filepath.Join(tmp, "poster.jpg"))
	hlsDir := filepath.Join(tmp, "hls")
	if err := os.Mkdir(hlsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	run("-i", "file:"+clip, "-c", "copy", "-f", "hls", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-hls_time", "2",
		"-master_pl_name", "master.m3u8", filepath.Join(hlsDir, "index.m3u8"))
	for name, path := range map[string]string{"video.mp4": clip, "storyboard.jpg": filepath.Join(tmp, "storyboard.jpg"), "poster.jpg": filepath.Join(tmp, "poster.jpg")} {
		if files[name], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	hlsFiles, _ := os.ReadDir(hlsDir)
	for _, f := range hlsFiles {
		if files["hls/"+f.Name()], err = os.ReadFile(filepath.Join(hlsDir, f.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for _, rid := range []string{id, newID} {
		for key, b := range files {
			if _, err := srv.a.media.Put(ctx, "replays/"+rid+"/"+key, bytes.NewReader(b), int64(len(b)), ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, lang := range []string{"en", "fr"} {
			if err := cat.PutTrack(ctx, rid, catalog.Track{Lang: lang, Kind: "manual", Status: "reviewed", CueCount: 1, Text: "Welcome"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := cat.SetProcessing(ctx, rid, catalog.Ready, 6000); err != nil {
			t.Fatal(err)
		}
	}
	// Nextcloud 28 changed the interface: the first replay is outdated, the second is current.
	ic := true
	for _, v := range []string{"28.0.0", "28.0.1"} {
		if _, err := cat.AddRelease(ctx, "nextcloud", catalog.NewRelease{Version: v, ReleasedAt: "2023-12-12", InterfaceChange: &ic}); err != nil {
			t.Fatal(err)
		}
		ic = false
	}

	// A documentation page on another site ("localhost" is another site than "127.0.0.1", so
	// Chromium runs the frames in their own processes, as for a real third-party page).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	docs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := r.URL.Query().Get("lang")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Docs</title><style>body{font-family:sans-serif;margin:1rem}
iframe{border:1px solid #ccc;width:100%%;max-width:640px;aspect-ratio:16/10}</style></head><body>
<h1>Our documentation centre</h1><p>How to share a file:</p>
<iframe id="embed" src="%s" title="Replay" allow="fullscreen" allowfullscreen></iframe>
<p>The replay page itself, which must refuse to be framed:</p>
<iframe id="page" src="%s" title="Page"></iframe></body></html>`,
			html.EscapeString(srv.url+"/replays/"+id+"/embed?lang="+lang+"#t=2"), html.EscapeString(srv.url+"/replays/"+id))
	})}}
	docs.Start()
	t.Cleanup(docs.Close)
	docsURL := "http://localhost:" + port

	step := browserStep(t, browser)
	save := savePNG(t, shots)
	shot := func(c context.Context, name string) error {
		problems, err := chromedp.Run(c, chromedp.Evaluate[[]string](a11yChecks))
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return fmt.Errorf("%s: accessibility: %s", name, strings.Join(problems, "; "))
		}
		return save(c, name)
	}
	// frame attaches to the out-of-process iframe whose URL starts with prefix.
	frame := func(c context.Context, prefix string) (context.Context, context.CancelFunc, error) {
		for {
			infos, err := chromedp.Targets(c)
			if err != nil {
				return nil, nil, err
			}
			for _, in := range infos {
				if in.Type == "iframe" && strings.HasPrefix(in.URL, prefix) {
					// The frame's first target can go away while it commits its navigation:
					// keep the one that answers once its document is loaded.
					fc, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(in.TargetID), chromedp.WithDetachOnCancel())
					ok, err := chromedp.Run(fc, chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.getElementById("player")`))
					if err == nil && ok {
						return fc, cancel, nil
					}
					cancel()
				}
			}
			select {
			case <-c.Done():
				return nil, nil, fmt.Errorf("no iframe at %s: %w", prefix, c.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	for _, lang := range []string{"en", "fr"} {
		step("embed in another site plays with subtitles and the banner ("+lang+")", 40*time.Second, func(c context.Context) error {
			if err := chromedp.Do(c, chromedp.Navigate(docsURL+"/?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#embed"))); err != nil {
				return err
			}
			fc, cancel, err := frame(c, srv.url+"/replays/"+id+"/embed")
			if err != nil {
				return err
			}
			defer cancel()
			fc, cancelT := context.WithTimeout(fc, 30*time.Second)
			defer cancelT()
			if err := chromedp.Do(fc, chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
				return fmt.Errorf("embed player: %w", err)
			}
			// #t=2 (Media Fragments): the player starts there.
			if err := waitJS(fc, `document.getElementById("player").readyState >= 1 && document.getElementById("player").currentTime >= 1.9`); err != nil {
				return fmt.Errorf("start time: %w", err)
			}
			if _, err := chromedp.Run(fc, chromedp.Evaluate[any](`document.getElementById("player").play().catch(() => {}), null`)); err != nil {
				return err
			}
			if err := waitJS(fc, `document.getElementById("player").currentTime > 3.2`); err != nil {
				state, _ := chromedp.Run(fc, chromedp.Evaluate[string](`(() => { const v = document.getElementById("player");
					return "readyState=" + v.readyState + " error=" + (v.error && v.error.message) + " src=" + v.currentSrc })()`))
				return fmt.Errorf("the embedded video did not advance (%s): %w", state, err)
			}
			if _, err := os.Stat(filepath.Join(testenv.RepoRoot(), "web", "static", "vendor", "hls.min.js")); err == nil {
				src, err := chromedp.Run(fc, chromedp.Evaluate[string](`document.getElementById("player").currentSrc`))
				if err != nil {
					return err
				}
				if !strings.HasPrefix(src, "blob:") {
					return fmt.Errorf("embed currentSrc %q: want HLS through hls.js (a blob)", src)
				}
			} else if testenv.RequireAll() {
				return fmt.Errorf("hls.js is not vendored (make vendor-js): %w", err)
			}
			active, err := chromedp.Run(fc, chromedp.Evaluate[string](`(() => { for (const t of document.getElementById("player").textTracks)
				if (t.kind === "subtitles" && t.mode === "showing" && t.activeCues && t.activeCues.length) return t.activeCues[0].text; return "" })()`))
			if err != nil {
				return err
			}
			// The track in the reader's language shows by default.
			if want := map[string]string{"en": "Welcome", "fr": "Bienvenue"}[lang]; !strings.Contains(active, want) {
				return fmt.Errorf("no subtitle showing in the embed (active cue %q)", active)
			}
			banner, err := chromedp.Run(fc, chromedp.Text(chromedp.CSS(`[data-testid="outdated-banner"]`)))
			if err != nil {
				return err
			}
			if !strings.Contains(banner, "27.1.4") || !strings.Contains(banner, "28.0.0") {
				return fmt.Errorf("embed banner %q: want the version shown and the release that changed it", banner)
			}
			newer, err := chromedp.Run(fc, chromedp.AttributeValue(chromedp.CSS(`[data-testid="newer-replay"]`), "href"))
			if err != nil {
				return err
			}
			if newer.Value != "/replays/"+newID {
				return fmt.Errorf("the banner links %q, want the current replay /replays/%s", newer.Value, newID)
			}
			if lang == "fr" && !strings.Contains(banner, "Obsolète") {
				return fmt.Errorf("French embed banner %q", banner)
			}
			// The replay page in the other frame must not have loaded: framing is refused.
			infos, err := chromedp.Targets(c)
			if err != nil {
				return err
			}
			for _, in := range infos {
				if in.Type == "iframe" && in.URL == srv.url+"/replays/"+id {
					pc, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(in.TargetID), chromedp.WithDetachOnCancel())
					loaded, err := chromedp.Run(pc, chromedp.Evaluate[bool](`!!document.getElementById("player")`))
					cancel()
					if err == nil && loaded {
						return fmt.Errorf("the replay page loaded inside another site's frame")
					}
				}
			}
			if _, err := chromedp.Run(fc, chromedp.Evaluate[any](`document.getElementById("player").pause(), null`)); err != nil {
				return err
			}
			if err := save(c, "embed-in-docs-"+lang+".png"); err != nil {
				return err
			}
			if err := chromedp.Do(c, chromedp.EmulateViewport(390, 844)); err != nil {
				return err
			}
			defer chromedp.Do(c, chromedp.EmulateViewport(1280, 900))
			time.Sleep(300 * time.Millisecond) // let the frame lay out at the new width
			return save(c, "embed-in-docs-390-"+lang+".png")
		})
	}

	step("the replay page refuses to be framed, also from its own site", 15*time.Second, func(c context.Context) error {
		resp, err := http.Get(srv.url + "/replays/" + id)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
			return fmt.Errorf("replay page: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
		}
		return nil
	})

	for _, lang := range []string{"en", "fr"} {
		step("replay page: chapter freshness and the seek-bar preview ("+lang+")", 30*time.Second, func(c context.Context) error {
			if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#seek-range"))); err != nil {
				return err
			}
			chapters, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(".chapters")))
			if err != nil {
				return err
			}
			wantCh := map[string]string{"en": "outdated by Nextcloud 28.0.0", "fr": "rendu obsolète par Nextcloud 28.0.0"}[lang]
			if !strings.Contains(chapters, wantCh) {
				return fmt.Errorf("chapters %q: want %q", chapters, wantCh)
			}
			if err := waitJS(c, `document.getElementById("player").duration > 5 && document.getElementById("seek").dataset.cues === "2"`); err != nil {
				return fmt.Errorf("seek bar not ready: %w", err)
			}
			if err := shot(c, "replay-"+lang+".png"); err != nil {
				return err
			}
			// Hover at 80 % of the bar: the preview shows the second storyboard tile (3 s - 6 s).
			box, err := chromedp.Run(c, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById("seek-range");
				r.scrollIntoView({block: "center"}); const b = r.getBoundingClientRect(); return [b.left, b.top, b.width, b.height] })()`))
			if err != nil {
				return err
			}
			x, y := box[0]+box[2]*0.8, box[1]+box[3]/2
			if err := chromedp.Do(c, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x-20, y), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y)); err != nil {
				return err
			}
			if err := waitJS(c, `!document.getElementById("seek-preview").hidden &&
				document.getElementById("seek-thumb").style.backgroundImage.includes("storyboard.jpg") &&
				document.getElementById("seek-thumb").style.backgroundPosition === "-160px 0px"`); err != nil {
				st, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("seek-thumb").style.cssText + " | " + document.getElementById("seek-time").textContent`))
				return fmt.Errorf("hover preview (%s): %w", st, err)
			}
			if err := save(c, "seek-preview-"+lang+".png"); err != nil {
				return err
			}
			// The keyboard: focus the bar, Home then Right: the video seeks, the preview follows.
			if err := chromedp.Do(c, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5), chromedp.Focus(chromedp.CSS("#seek-range")),
				chromedp.KeyEvent(kb.Home), chromedp.KeyEvent(kb.ArrowRight)); err != nil {
				return err
			}
			if err := waitJS(c, `Math.abs(document.getElementById("player").currentTime - 1) < 0.3 && !document.getElementById("seek-preview").hidden &&
				document.getElementById("seek-time").textContent === "0:01" && document.getElementById("seek-thumb").style.backgroundPosition === "0px 0px"`); err != nil {
				st, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("player").currentTime + " " + document.getElementById("seek-time").textContent`))
				return fmt.Errorf("keyboard seek (%s): %w", st, err)
			}
			if err := chromedp.Do(c, chromedp.EmulateViewport(390, 844)); err != nil {
				return err
			}
			defer chromedp.Do(c, chromedp.EmulateViewport(1280, 900))
			if err := shot(c, "replay-390-"+lang+".png"); err != nil {
				return err
			}
			if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id+"/embed?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#player"))); err != nil {
				return err
			}
			return save(c, "embed-390-"+lang+".png")
		})
	}

	step("the learner's version is remembered on the device", 60*time.Second, func(c context.Context) error {
		// Asked on the replay page itself: the line turns into what the replay means for them.
		form := `.yours form input[name=version]`
		err := chromedp.Do(c,
			chromedp.Navigate(srv.url+"/replays/"+id+"?lang=en"),
			chromedp.WaitVisible(chromedp.CSS(form)),
			chromedp.SendKeys(chromedp.CSS(form), "27.1.4"),
			chromedp.Click(chromedp.CSS(`.yours form button[type=submit]`)),
		)
		if err != nil {
			return err
		}
		if err := waitJS(c, `document.querySelector(".yours").textContent.includes("You use Nextcloud 27.1.4: this replay matches your version")`); err != nil {
			return fmt.Errorf("version asked on the replay page: %w", err)
		}
		if err := shot(c, "replay-yours-en.png"); err != nil {
			return err
		}
		err = chromedp.Do(c,
			chromedp.Navigate(srv.url+"/replays?lang=en"),
			chromedp.WaitVisible(chromedp.CSS("#f-v")),
			chromedp.SetValue(chromedp.CSS("#f-sw"), "nextcloud"),
		)
		if err != nil {
			return err
		}
		// Choosing the software fills in the version remembered for it; the learner changes it.
		if err := waitJS(c, `document.getElementById("f-v").value === "27.1.4"`); err != nil {
			return fmt.Errorf("the remembered version is not prefilled: %w", err)
		}
		err = chromedp.Do(c,
			chromedp.SetValue(chromedp.CSS("#f-v"), "28.0.1"),
			// A click, not Submit: form.submit() skips the submit event that remembers the version.
			chromedp.Click(chromedp.CSS("#filters button[type=submit]")),
		)
		if err != nil {
			return err
		}
		if err := waitJS(c, `location.search.includes("version=28.0.1")`); err != nil {
			dc, cancel := context.WithTimeout(browser, 5*time.Second)
			defer cancel()
			st, err2 := chromedp.Run(dc, chromedp.Evaluate[string](`location.href + " v=" + document.getElementById("f-v").value + " sw=" + document.getElementById("f-sw").value`))
			return fmt.Errorf("%s %v: %w", st, err2, err)
		}
		// Later, the list of Nextcloud replays applies the remembered version by itself.
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays?software=nextcloud")); err != nil {
			return err
		}
		if err := waitJS(c, `location.search.includes("version=28.0.1") && document.getElementById("f-v").value === "28.0.1" &&
			!document.getElementById("version-note").hidden && !!document.querySelector('.cards a[href="/replays/`+newID+`"]') &&
			!document.querySelector('.cards a[href="/replays/`+id+`"]')`); err != nil {
			return fmt.Errorf("remembered for= filter: %w", err)
		}
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+id+"?lang=en"), chromedp.WaitVisible(chromedp.CSS(".yours"))); err != nil {
			return err
		}
		text, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(".yours")))
		if err != nil {
			return err
		}
		if !strings.Contains(text, "You use Nextcloud 28.0.1") || !strings.Contains(text, "version 28.0.0 changed the interface") {
			return fmt.Errorf("the replay page says %q to a learner on 28.0.1", text)
		}
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/replays/"+newID+"?lang=fr"), chromedp.WaitVisible(chromedp.CSS(".yours"))); err != nil {
			return err
		}
		if text, err = chromedp.Run(c, chromedp.Text(chromedp.CSS(".yours"))); err != nil {
			return err
		}
		if !strings.Contains(text, "correspond à votre version") {
			return fmt.Errorf("the current replay says %q to a learner on 28.0.1", text)
		}
		return shot(c, "replay-yours-fr.png")
	})
}
