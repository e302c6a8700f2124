package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// lockedBuffer is the stderr of a server running in a goroutine, read by the test meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var firstRunLinkRE = regexp.MustCompile(`http://\S+/studio/first-run\?code=[A-Za-z0-9_%-]+`)

// serveFresh runs `atelier serve` in-process on a new data directory with no admin configured,
// and returns its base URL, the first-run link it printed on stderr, and its output.
func serveFresh(t *testing.T, env map[string]string) (base, link string, out *lockedBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("ATELIER_DATA_DIR", t.TempDir())
	t.Setenv("ATELIER_ADDR", addr)
	t.Setenv("ATELIER_ADMIN_TOKEN", "")
	t.Setenv("ATELIER_LOG_FORMAT", "json")
	t.Setenv("ATELIER_RELEASE_SYNC_INTERVAL", "0")
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out = &lockedBuffer{}
	go func() { done <- run(ctx, []string{"serve"}, out, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	base = "http://" + addr
	waitServing(t, base, done, out)
	return base, firstRunLinkRE.FindString(out.String()), out
}

func TestFirstRunLinkPrintedOnlyWithoutAdmin(t *testing.T) {
	_, link, out := serveFresh(t, nil)
	if link == "" {
		t.Fatalf("a fresh install printed no first-run link:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `"msg":"no administrator yet`) || strings.Count(out.String(), link) != 2 {
		t.Errorf("the link is not both logged and printed:\n%s", out.String())
	}
	// With an admin token configured there is none.
	t.Run("configured admin", func(t *testing.T) {
		base, link, out := serveFresh(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken})
		if link != "" || strings.Contains(out.String(), "first-run") {
			t.Fatalf("a first-run link with an admin configured:\n%s", out.String())
		}
		if code := httpStatus(t, base+"/studio/first-run?code=x"); code != http.StatusNotFound {
			t.Fatalf("/studio/first-run with an admin: %d, want 404", code)
		}
	})
}

// jitsiFeed serves a releases.atom shaped like GitHub's for jitsi/jitsi-meet, whose tags are
// no plain versions.
func jitsiFeed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:github.com,2008:https://github.com/jitsi/jitsi-meet/releases</id>
  <title>Release notes from jitsi-meet</title>
  <updated>2024-11-05T10:00:00Z</updated>`)
		for i, tag := range []string{"stable/jitsi-meet_9909", "stable/jitsi-meet_9823"} {
			fmt.Fprintf(w, `
  <entry>
    <id>tag:github.com,2008:Repository/15355489/%s</id>
    <updated>2024-10-%02dT10:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/jitsi/jitsi-meet/releases/tag/%s"/>
    <title>%s</title>
    <content type="html">notes</content>
  </entry>`, tag, 20-i, tag, tag)
		}
		fmt.Fprint(w, "\n</feed>\n")
	})
}

// TestStudioFirstRunPeopleAndSoftware drives Chromium through a new install: the first-run link
// that `atelier serve` printed opens the studio as admin, the admin creates an animator's token,
// the animator signs in with it, adds the Jitsi Meet preset, reads its feed and reviews a
// release; GET /api/software/jitsi-meet shows the review.
func TestStudioFirstRunPeopleAndSoftware(t *testing.T) {
	browser := testenv.Browser(t)
	// The feed is served from 127.0.0.1: the operator allows private feeds, as for a forge on
	// the local network.
	base, link, out := serveFresh(t, map[string]string{"ATELIER_ALLOW_PRIVATE_FEEDS": "true"})
	if link == "" {
		t.Fatalf("no first-run link printed:\n%s", out.String())
	}
	feed := httptest.NewServer(jitsiFeed())
	defer feed.Close()
	shots := testenv.Screenshots(t)

	step := browserStep(t, browser)
	shot := checkedPNG(t, shots, true)
	// shots4 takes the page at desktop width and at 390 px, in English then French.
	shots4 := func(c context.Context, path, name, ready string) error {
		for _, lang := range []string{"en", "fr"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			if err := chromedp.Do(c, chromedp.Navigate(base+path+sep+"lang="+lang), chromedp.WaitVisible(chromedp.CSS(ready))); err != nil {
				return err
			}
			if err := shot(c, name+"-"+lang+".png"); err != nil {
				return err
			}
			if err := chromedp.Do(c, chromedp.EmulateViewport(390, 844)); err != nil {
				return err
			}
			err := shot(c, name+"-390-"+lang+".png")
			if rerr := chromedp.Do(c, chromedp.EmulateViewport(1280, 900)); err == nil {
				err = rerr
			}
			if err != nil {
				return err
			}
		}
		return nil
	}

	var adminToken string
	step("first-run link", 30*time.Second, func(c context.Context) error {
		if err := chromedp.Do(c, chromedp.Navigate(link+"&lang=en"), chromedp.WaitVisible(chromedp.CSS("#first-run-open"))); err != nil {
			return err
		}
		// Showing the link's page does not use it: take it in both languages and widths first.
		if err := shots4(c, strings.TrimPrefix(link, base), "first-run", "#first-run-open"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Navigate(link+"&lang=en"), chromedp.WaitVisible(chromedp.CSS("#first-run-open"))); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#first-run-open")), loaded("#first-run-done")); err != nil {
			return err
		}
		// Read through the page rather than a node id: the CI run of 2026-12-01 lost the node
		// between WaitVisible and Value ("No node with given id found") as the document settled.
		var err error
		if adminToken, err = chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector("#admin-token").value`)); err != nil {
			return err
		}
		if !strings.HasPrefix(adminToken, "atl_") {
			return fmt.Errorf("admin token shown: %q", adminToken)
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#first-run-done button.copy")),
			chromedp.WaitVisible(chromedp.CSS("#first-run-done .copy-status"))); err != nil {
			return err
		}
		return shot(c, "first-run-done-en.png")
	})
	// The link works once.
	if code := httpStatus(t, link); code != http.StatusGone {
		t.Fatalf("the used first-run link answers %d, want 410", code)
	}
	if st, body := apiCall(t, base, adminToken, "GET", "/api/whoami", ""); st != 200 || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("the admin token shown: %d %s", st, body)
	}

	var animatorToken string
	step("create an animator token", 30*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			chromedp.Navigate(base+"/studio/people?lang=en"),
			chromedp.WaitVisible(chromedp.CSS("#t-name")),
			chromedp.SendKeys(chromedp.CSS("#t-name"), "Camille"),
			chromedp.KeyEvent("\r"),
			chromedp.WaitVisible(chromedp.CSS("#new-secret")),
		)
		if err != nil {
			return err
		}
		if animatorToken, err = chromedp.Run(c, chromedp.Value(chromedp.CSS("#secret-value"))); err != nil {
			return err
		}
		if !strings.HasPrefix(animatorToken, "atl_") {
			return fmt.Errorf("token shown: %q", animatorToken)
		}
		list, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#tokens")))
		if err != nil {
			return err
		}
		if !strings.Contains(list, "Camille") || !strings.Contains(list, "first admin") {
			return fmt.Errorf("token list: %q", list)
		}
		if err := shot(c, "people-created-en.png"); err != nil {
			return err
		}
		return shots4(c, "/studio/people", "people", "#tokens")
	})

	step("sign in as the animator", 30*time.Second, func(c context.Context) error {
		if err := signOut(c, base); err != nil {
			return err
		}
		err := chromedp.Do(c,
			studioSignIn(base, animatorToken),
			chromedp.WaitVisible(chromedp.CSS("#studio-hello")),
		)
		if err != nil {
			return err
		}
		hello, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#studio-hello")))
		if err != nil {
			return err
		}
		if !strings.Contains(hello, "Camille") || !strings.Contains(hello, "animator") {
			return fmt.Errorf("signed in as %q", hello)
		}
		// An animator has no people page.
		nav, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(".studio-nav")))
		if err != nil {
			return err
		}
		if strings.Contains(nav, "People") {
			return fmt.Errorf("an animator is offered the people page: %q", nav)
		}
		return shots4(c, "/studio/software", "software", "#presets")
	})

	step("add the Jitsi preset, read its feed, review a release", 60*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			chromedp.Navigate(base+"/studio/software?lang=en"),
			chromedp.WaitVisible(chromedp.CSS(`button.add-preset[data-slug="jitsi-meet"]`)),
			chromedp.Click(chromedp.CSS(`button.add-preset[data-slug="jitsi-meet"]`)),
		)
		if err != nil {
			return err
		}
		if err := waitJS(c, `location.pathname === "/studio/software/jitsi-meet" && !!document.getElementById("sw-feed")`); err != nil {
			return err
		}
		// The script navigated: read through the new document, not chromedp's node cache.
		feedURL, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById("sw-feed").value`))
		if err != nil {
			return err
		}
		if feedURL != "https://github.com/jitsi/jitsi-meet/releases.atom" {
			return fmt.Errorf("preset feed %q", feedURL)
		}
		// No internet here: point the feed at a local copy, through the edit form.
		err = chromedp.Do(c,
			chromedp.WaitVisible(chromedp.CSS("#edit-software button[type=submit]")),
			chromedp.SetValue(chromedp.CSS("#sw-feed"), feed.URL+"/jitsi/jitsi-meet/releases.atom"),
			chromedp.Click(chromedp.CSS(`#edit-software button[type=submit]`)),
		)
		if err != nil {
			return err
		}
		if err := waitJS(c, `document.querySelector("#edit-software [role=status]").textContent === "Saved."`); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#sync-now"))); err != nil {
			return err
		}
		if err := waitJS(c, `document.querySelectorAll("#releases li.release.unreviewed").length === 2`); err != nil {
			msg, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#sync-status")))
			return fmt.Errorf("sync (%q): %w", msg, err)
		}
		order, err := chromedp.Run(c, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#releases li.release")].map(li => li.dataset.version)`))
		if err != nil {
			return err
		}
		if strings.Join(order, " ") != "2.0.9909 2.0.9823" {
			return fmt.Errorf("releases %v, want newest first by the preset's tag rule", order)
		}
		if err := shot(c, "software-jitsi-to-review-en.png"); err != nil {
			return err
		}
		newest := `#releases li.release[data-version="2.0.9909"]`
		older := `#releases li.release[data-version="2.0.9823"]`
		err = chromedp.Do(c,
			chromedp.WaitVisible(chromedp.CSS(newest+" button.ic")),
			chromedp.Click(chromedp.CSS(newest+" button.ic")),
			chromedp.WaitNotPresent(chromedp.CSS(newest+" button.confirm")),
			chromedp.Focus(chromedp.CSS(older+" button.confirm")),
			chromedp.KeyEvent("\r"),
			chromedp.WaitNotPresent(chromedp.CSS(older+" button.confirm")),
		)
		if err != nil {
			return err
		}
		pressed, err := chromedp.Run(c, chromedp.AttributeValue(chromedp.CSS(newest+" button.ic"), "aria-pressed"))
		if err != nil || pressed.Value != "true" {
			return fmt.Errorf("interface change button pressed=%q %v", pressed.Value, err)
		}
		return shots4(c, "/studio/software/jitsi-meet", "software-jitsi", "#releases")
	})

	st, body := apiCall(t, base, "", "GET", "/api/software/jitsi-meet", "")
	if st != 200 {
		t.Fatalf("GET /api/software/jitsi-meet: %d %s", st, body)
	}
	var sw catalog.Software
	if err := json.Unmarshal([]byte(body), &sw); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]bool{"2.0.9909": {true, true}, "2.0.9823": {true, false}} // reviewed, interface_change
	if len(sw.Releases) != len(want) {
		t.Fatalf("releases %+v", sw.Releases)
	}
	for _, r := range sw.Releases {
		if w, ok := want[r.Version]; !ok || r.Reviewed != w[0] || r.InterfaceChange != w[1] || r.Source != catalog.SourceFeed {
			t.Errorf("release %s: reviewed=%v interface_change=%v source=%s, want %v", r.Version, r.Reviewed, r.InterfaceChange, r.Source, w)
		}
	}
	if sw.Homepage != "https://jitsi.org/jitsi-meet/" || sw.Name != "Jitsi Meet" {
		t.Errorf("software %+v", sw)
	}

	// The animator's token revoked by the admin ends its use at once.
	st, body = apiCall(t, base, adminToken, "GET", "/api/tokens", "")
	var toks struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &toks); st != 200 || err != nil {
		t.Fatalf("tokens: %d %v", st, err)
	}
	if st, _ := apiCall(t, base, animatorToken, "GET", "/api/whoami", ""); st != 200 {
		t.Fatalf("animator token before revocation: %d", st)
	}
	step("revoke the animator token", 30*time.Second, func(c context.Context) error {
		// The animator's session is this browser's; sign in as admin again with the token kept.
		if err := signOut(c, base); err != nil {
			return err
		}
		err := chromedp.Do(c,
			studioSignIn(base, adminToken),
			chromedp.WaitVisible(chromedp.CSS("#studio-hello")),
			chromedp.Navigate(base+"/studio/people?lang=fr"),
			chromedp.WaitVisible(chromedp.CSS("#tokens")),
		)
		if err != nil {
			return err
		}
		var id int64
		for _, tk := range toks.Items {
			if tk.Name == "Camille" {
				id = tk.ID
			}
		}
		if id == 0 {
			return errors.New("Camille's token is not listed")
		}
		btn := fmt.Sprintf(`button.revoke[data-id="%d"]`, id)
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS(btn)), chromedp.WaitNotPresent(chromedp.CSS(btn))); err != nil {
			return err
		}
		return shot(c, "people-revoked-fr.png")
	})
	if st, _ := apiCall(t, base, animatorToken, "GET", "/api/whoami", ""); st != http.StatusUnauthorized {
		t.Fatalf("revoked animator token: %d, want 401", st)
	}
}

func apiCall(t *testing.T, base, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// signOut uses the studio's sign-out button and waits for the home page it leads to.
func signOut(c context.Context, base string) error {
	err := chromedp.Do(c,
		chromedp.Navigate(base+"/studio?lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#studio-hello")),
		chromedp.Click(chromedp.CSS(`form[action="/studio/logout"] button`)),
	)
	if err != nil {
		return err
	}
	return waitJS(c, `location.pathname === "/" && document.readyState === "complete"`)
}
