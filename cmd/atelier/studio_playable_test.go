package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestBrowserJobPlayableBeforeCaptions: automatic captions come after the replay is playable
// (a draft is not offered to learners until reviewed, and a transcription can take as long as
// the recording). A transcriber held until the test releases it keeps the job at its last stage;
// meanwhile the replay plays, and the studio says so, in English and French, with a link to it
// and the stage named in the page's language. Once released, the draft is published and the
// recording is ready.
func TestBrowserJobPlayableBeforeCaptions(t *testing.T) {
	browser := testenv.Browser(t)
	testenv.FFmpeg(t)
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	script := filepath.Join(dir, "held-transcriber")
	body := fmt.Sprintf("#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.2; done\nprintf 'WEBVTT\\n\\n00:00:00.500 --> 00:00:01.500\\nhello automatic\\n'\n", release)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startE2E(t, func(c *Config) { c.Transcribe, c.TranscribeCmd = "command", script })
	ctx := context.Background()
	animator, _, err := srv.a.auth.Create(ctx, "Ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 3 * time.Second, Width: 320, Height: 180, Audio: true})
	id := uploadQueued(t, srv, animator, clip, `{"title": "Jitsi, first steps", "language": "en"}`)

	// Playable, and held at its captions stage.
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, rec := srv.api(t, "GET", "/api/recordings/"+id, "")
		if strings.Contains(rec, `"stage":"captions"`) && strings.Contains(rec, `"playable":true`) && strings.Contains(rec, `"status":"processing"`) {
			// A transcription's length is not known ahead: no time left is guessed.
			if !strings.Contains(rec, `"eta_seconds":null`) {
				t.Errorf("an ETA while transcribing: %s", rec)
			}
			break
		}
		if strings.Contains(rec, `"status":"failed"`) || strings.Contains(rec, `"status":"ready"`) || time.Now().After(deadline) {
			t.Fatalf("want the recording playable and transcribing, got %s", rec)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, master := srv.api(t, "GET", "/replays/"+id+"/hls/master.m3u8", ""); code != 200 || !strings.Contains(master, "#EXT-X-STREAM-INF") {
		t.Fatalf("the master of a playable replay (a draft: the admin's request): %d %s", code, master)
	}

	step := browserStep(t, browser)
	shots := testenv.Screenshots(t)
	shot := checkedPNG(t, shots, true)
	note := `#jobs li[data-id="` + id + `"] .job-playable`
	step("sign in", 20*time.Second, func(c context.Context) error {
		return chromedp.Do(c,
			studioSignIn(srv.url, animator),
			chromedp.WaitVisible(chromedp.CSS(`#jobs[data-loaded="true"]`)),
		)
	})
	for _, tc := range []struct{ lang, stage, watch string }{
		{"en", "automatic captions", "Watch the replay"},
		{"fr", "sous-titres automatiques", "Voir le replay"},
	} {
		for _, w := range []int64{1280, 390} {
			step(fmt.Sprintf("the job says the replay plays (%s, %d px)", tc.lang, w), 30*time.Second, func(c context.Context) error {
				if err := chromedp.Do(c, chromedp.EmulateViewport(w, 900)); err != nil {
					return err
				}
				defer chromedp.Do(c, chromedp.EmulateViewport(1280, 900))
				if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/studio?lang="+tc.lang), chromedp.WaitVisible(chromedp.CSS(note))); err != nil {
					return err
				}
				state, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#jobs li[data-id="`+id+`"] .job-state`)))
				if err != nil {
					return err
				}
				if !strings.Contains(state, tc.stage) {
					return fmt.Errorf("the job's state says %q, want the stage %q", state, tc.stage)
				}
				link, err := chromedp.Run(c, chromedp.Evaluate[[]string](`(() => { const a = document.querySelector('`+note+` a'); return [a.textContent, a.getAttribute("href")]; })()`))
				if err != nil {
					return err
				}
				if len(link) != 2 || link[0] != tc.watch || link[1] != "/replays/"+id {
					return fmt.Errorf("the link to the replay: %q", link)
				}
				return shot(c, fmt.Sprintf("job-playable-%s-%d.png", tc.lang, w))
			})
		}
	}

	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv, id)
	if _, rp := srv.api(t, "GET", "/api/replays/"+id, ""); !strings.Contains(rp, `"kind":"auto"`) || !strings.Contains(rp, `"lang":"en"`) {
		t.Errorf("the automatic draft is not among the replay's tracks: %s", rp)
	}
	step("the note goes once ready", 30*time.Second, func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Navigate(srv.url+"/studio?lang=en"), chromedp.WaitVisible(chromedp.CSS(`#jobs li[data-id="`+id+`"] .job-body[data-status="ready"]`))); err != nil {
			return err
		}
		return waitJS(c, `document.querySelector('`+note+`') === null`)
	})
}
