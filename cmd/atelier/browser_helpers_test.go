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
)

// browserStep returns the step runner of the browser tests: fn gets a context of the browser
// bounded by timeout, and its error fails the test naming the step.
func browserStep(t *testing.T, browser context.Context) func(name string, timeout time.Duration, fn func(ctx context.Context) error) {
	return func(name string, timeout time.Duration, fn func(ctx context.Context) error) {
		t.Helper()
		c, cancel := context.WithTimeout(browser, timeout)
		defer cancel()
		if err := fn(c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// studioSignIn signs in to the studio at base (in English) with token through its form, as a
// person does, and returns once the studio's page has loaded.
func studioSignIn(base, token string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/studio?lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		loaded("#studio-hello"),
	)
}

// loaded waits for a document that has an element matching sel and has finished loading. A
// page that a click or a submit leads to needs it before the next action on one of its nodes:
// Chromium drops every node id it gave out once more when the new document reaches
// DOMContentLoaded (it sends DOM.documentUpdated again, after the deferred scripts ran), so a
// node that WaitVisible found earlier is gone by then ("No node with given id found", the CI
// run of 2026-12-01). Navigate already waits for the load event.
func loaded(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		return waitJS(ctx, fmt.Sprintf(`document.readyState === "complete" && !!document.querySelector(%q)`, sel))
	})
}

// savePNG returns a function that saves a full-page screenshot into shots, for a person to look at.
func savePNG(t *testing.T, shots string) func(c context.Context, name string) error {
	return func(c context.Context, name string) error {
		b, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		t.Logf("screenshot %s", filepath.Join(shots, name))
		return os.WriteFile(filepath.Join(shots, name), b, 0o644)
	}
}

// checkedPNG is savePNG behind the automatic accessibility checks every screenshotted page
// passes (a11yChecks) and, with noSideways, a check that the page does not scroll sideways (the
// phone-width screenshots).
func checkedPNG(t *testing.T, shots string, noSideways bool) func(c context.Context, name string) error {
	save := savePNG(t, shots)
	return func(c context.Context, name string) error {
		problems, err := chromedp.Run(c, chromedp.Evaluate[[]string](a11yChecks))
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return fmt.Errorf("%s: accessibility: %s", name, strings.Join(problems, "; "))
		}
		if noSideways {
			wide, err := chromedp.Run(c, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				return err
			}
			if wide {
				return fmt.Errorf("%s: the page scrolls sideways", name)
			}
		}
		return save(c, name)
	}
}
