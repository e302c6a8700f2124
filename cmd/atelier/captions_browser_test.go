package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestBrowserCaptionEditor drives the studio's caption editor in Chromium: an animator signs in,
// opens a ready recording's captions, seeks by a cue, sees an inline check, edits a cue's text and
// saves (the public WebVTT has the new text), then approves an automatic draft as it is (kind
// still auto, reviewed by her, offered to learners from then on). Screenshots in English and
// French, at desktop and phone (390 px) widths.
func TestBrowserCaptionEditor(t *testing.T) {
	browser := testenv.Browser(t)
	srv := startE2E(t)
	ctx := context.Background()
	shots := testenv.Screenshots(t)
	id := uploadReady(t, srv, 4*time.Second)

	// A French track by hand (reviewed), and an automatic English draft as the transcriber leaves it.
	req, _ := http.NewRequest("PUT", srv.url+"/api/recordings/"+id+"/subtitles/fr", strings.NewReader(
		"WEBVTT\n\n00:00:00.500 --> 00:00:01.800\nBonjour à tous\n\n00:00:02.000 --> 00:00:03.500\nOn commence\n"))
	req.Header.Set("Authorization", "Bearer "+srv.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT fr: %d", resp.StatusCode)
	}
	draft := "WEBVTT\n\n00:00:00.400 --> 00:00:02.000\nhello every one\n\n00:00:02.200 --> 00:00:03.600\nlet us start\n"
	if _, err := srv.a.media.Put(ctx, "recordings/"+id+"/subtitles/en.auto.vtt", strings.NewReader(draft), int64(len(draft)), "text/vtt"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.a.subtitles.PublishAll(ctx, id, nil, "admin"); err != nil {
		t.Fatal(err)
	}
	if st, _ := publicGet(t, srv.url+"/replays/"+id+"/subtitles/en.vtt"); st != 404 {
		t.Fatalf("the automatic draft is public before review: %d", st)
	}
	animator, _, err := srv.a.auth.Create(ctx, "Ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}

	step := browserStep(t, browser)
	shot := checkedPNG(t, shots, false)
	editor := srv.url + "/studio/recordings/" + id + "/captions"
	open := func(c context.Context, lang string) error {
		return chromedp.Do(c, chromedp.Navigate(editor+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS(`#captions[data-loaded="true"] #cue-1-text`)))
	}
	js := func(c context.Context, expr string) error {
		_, err := chromedp.Run(c, chromedp.Evaluate[any](expr))
		return err
	}

	step("sign in", 20*time.Second, func(c context.Context) error {
		return chromedp.Do(c,
			studioSignIn(srv.url, animator),
			chromedp.WaitVisible(chromedp.CSS(`a.edit-captions[href="/studio/recordings/`+id+`/captions"]`)),
		)
	})

	step("edit a cue of the French track and save", 40*time.Second, func(c context.Context) error {
		if err := open(c, "en"); err != nil {
			return err
		}
		// The draft opens first (it needs work); pick the French track.
		if err := js(c, `(() => { const s = document.getElementById("cap-track"); s.value = "fr"; s.dispatchEvent(new Event("change")); })()`); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("cue-1-text") && document.getElementById("cue-1-text").value === "Bonjour à tous"`); err != nil {
			return err
		}
		// Clicking a cue seeks the player; the cue under the play head is highlighted.
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#cue-2 .cue-seek"))); err != nil {
			return err
		}
		if err := waitJS(c, `Math.abs(document.getElementById("cap-video").currentTime - 2) < 0.05 &&
			document.querySelector(".cue.current") && document.querySelector(".cue.current").id === "cue-2"`); err != nil {
			return fmt.Errorf("seek by cue: %w", err)
		}
		// An end before the start is shown inline and blocks the save.
		if err := js(c, `(() => { const e = document.getElementById("cue-1-end"); e.value = "0.2"; e.dispatchEvent(new Event("change")); })()`); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#cap-save"))); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("cue-1-msg").textContent.includes("must end after") &&
			document.getElementById("cue-1-end").getAttribute("aria-invalid") === "true" &&
			document.getElementById("cap-status").textContent.includes("to fix")`); err != nil {
			return fmt.Errorf("inline check: %w", err)
		}
		// Fixed with the keyboard: Alt+↑ nudges the end by 0.1 s, from 0.2 to 1.8.
		if err := chromedp.Do(c, chromedp.Focus(chromedp.CSS("#cue-1-end"))); err != nil {
			return err
		}
		for range 16 {
			if err := chromedp.Do(c, chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt))); err != nil {
				return err
			}
		}
		if err := waitJS(c, `document.getElementById("cue-1-end").value === "1.800" && !document.querySelector(".cue.invalid")`); err != nil {
			end, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("cue-1-end").value`))
			return fmt.Errorf("nudge (end %q): %w", end, err)
		}
		if err := js(c, `document.getElementById("cue-1-text").value = ""`); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.SendKeys(chromedp.CSS("#cue-1-text"), "Bonjour à toutes et à tous")); err != nil {
			return err
		}
		if err := shot(c, "captions-edit-en.png"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#cap-save"))); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("cap-status").textContent === "Saved."`); err != nil {
			msg, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#cap-status")))
			return fmt.Errorf("save (%q): %w", msg, err)
		}
		st, body := publicGet(t, srv.url+"/replays/"+id+"/subtitles/fr.vtt")
		if st != 200 || !strings.Contains(body, "Bonjour à toutes et à tous") || !strings.Contains(body, "00:00:00.500 --> 00:00:01.800") {
			return fmt.Errorf("the public WebVTT after the save: %d\n%s", st, body)
		}
		return nil
	})

	step("approve the automatic draft as it is", 30*time.Second, func(c context.Context) error {
		if err := open(c, "en"); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("cap-track").value === "en" && !document.getElementById("cap-approve").hidden`); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#cap-approve"))); err != nil {
			return err
		}
		if err := waitJS(c, `document.getElementById("cap-status").textContent === "Saved and marked reviewed." &&
			document.getElementById("cap-state").textContent.includes("reviewed by Ana")`); err != nil {
			msg, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#cap-status")))
			return fmt.Errorf("approve (%q): %w", msg, err)
		}
		st, body := srv.api(t, "GET", "/api/recordings/"+id+"/subtitles", "")
		if st != 200 || !strings.Contains(body, `"kind":"auto","status":"reviewed"`) || !strings.Contains(body, `"reviewed_by":"Ana"`) {
			return fmt.Errorf("tracks after the approval: %d %s", st, body)
		}
		if st, body := publicGet(t, srv.url+"/replays/"+id+"/subtitles/en.vtt"); st != 200 || !strings.Contains(body, "hello every one") {
			return fmt.Errorf("the approved track is not public: %d %s", st, body)
		}
		return nil
	})

	for _, lang := range []string{"en", "fr"} {
		for _, w := range []int64{1280, 390} {
			step(fmt.Sprintf("screenshot %s %d", lang, w), 30*time.Second, func(c context.Context) error {
				if err := chromedp.Do(c, chromedp.EmulateViewport(w, 900)); err != nil {
					return err
				}
				if err := open(c, lang); err != nil {
					return err
				}
				if w == 390 {
					// Nothing wider than the phone's screen.
					if err := waitJS(c, `document.documentElement.scrollWidth <= 390`); err != nil {
						sw, _ := chromedp.Run(c, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
						return fmt.Errorf("page %d px wide at 390: %w", sw, err)
					}
				}
				return shot(c, fmt.Sprintf("captions-%s-%d.png", lang, w))
			})
		}
	}
}
