package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/auth"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	adminTokRE  = regexp.MustCompile(`id="admin-token" readonly class="mono" value="([^"]+)"`)
)

// TestFirstRunLink follows the first-run link through the real handlers: the link itself asks
// for a click, the click opens an admin session and shows a working admin token once; the link
// then refuses a second use, and a fresh link refuses after its hour (injected clock).
func TestFirstRunLink(t *testing.T) {
	f := newSiteFixture(t)
	clock := &testClock{t: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)}
	code, secret, err := auth.NewFirstRunCode(clock.now)
	if err != nil {
		t.Fatal(err)
	}
	f.site.firstRun = code
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	link := f.srv.URL + "/studio/first-run?code=" + url.QueryEscape(secret)
	post := func(form url.Values) (*http.Response, string) {
		t.Helper()
		resp, err := c.PostForm(f.srv.URL+"/studio/first-run", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	if resp, _ := get(t, c, f.srv.URL+"/studio/first-run?code=nope"); resp.StatusCode != http.StatusGone {
		t.Fatalf("a wrong code: %d, want 410", resp.StatusCode)
	}
	resp, body := get(t, c, link)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="first-run-open"`) {
		t.Fatalf("the link: %d %.300s", resp.StatusCode, body)
	}
	// Fetching the link again (a chat's link preview) does not spend it.
	resp, body = get(t, c, link)
	if resp.StatusCode != 200 {
		t.Fatalf("the link fetched twice: %d", resp.StatusCode)
	}
	csrf := csrfFieldRE.FindStringSubmatch(body)[1]
	if resp, _ := post(url.Values{"code": {secret}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a click without the form's CSRF value: %d, want 403", resp.StatusCode)
	}
	resp, body = post(url.Values{"code": {secret}, "csrf": {csrf}})
	if resp.StatusCode != 200 {
		t.Fatalf("the click: %d %.300s", resp.StatusCode, body)
	}
	m := adminTokRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no admin token shown: %.500s", body)
	}
	p, err := f.auth.Authenticate(context.Background(), m[1])
	if err != nil || p.Role != auth.RoleAdmin {
		t.Fatalf("the token shown: %+v %v, want an admin's", p, err)
	}
	resp, body = get(t, c, f.srv.URL+"/studio/people")
	if resp.StatusCode != 200 || !strings.Contains(body, "first admin") || !strings.Contains(body, `id="new-token"`) {
		t.Fatalf("people page in the new session: %d %.300s", resp.StatusCode, body)
	}

	// Single use: the same link (even with a fresh form) is refused.
	if resp, _ := get(t, c, link); resp.StatusCode != http.StatusGone {
		t.Fatalf("the used link: %d, want 410", resp.StatusCode)
	}
	// Another browser, with a valid login CSRF cookie, still cannot use it.
	jar2, _ := cookiejar.New(nil)
	c = &http.Client{Jar: jar2}
	_, body = get(t, c, f.srv.URL+"/studio")
	csrf = csrfFieldRE.FindStringSubmatch(body)[1]
	if resp, _ := post(url.Values{"code": {secret}, "csrf": {csrf}}); resp.StatusCode != http.StatusGone {
		t.Fatalf("the used code posted again: %d, want 410", resp.StatusCode)
	}

	// Expiry: a new code (say the admin token was revoked and serve restarted) works for an hour only.
	if err := f.auth.Revoke(context.Background(), p.TokenID); err != nil {
		t.Fatal(err)
	}
	code2, secret2, err := auth.NewFirstRunCode(clock.now)
	if err != nil {
		t.Fatal(err)
	}
	f.site.firstRun = code2
	link2 := f.srv.URL + "/studio/first-run?code=" + url.QueryEscape(secret2)
	_, body = get(t, c, link2)
	csrf = csrfFieldRE.FindStringSubmatch(body)[1]
	clock.add(time.Hour)
	if resp, _ := get(t, c, link2); resp.StatusCode != http.StatusGone {
		t.Fatalf("the link after an hour: %d, want 410", resp.StatusCode)
	}
	if resp, _ := post(url.Values{"code": {secret2}, "csrf": {csrf}}); resp.StatusCode != http.StatusGone {
		t.Fatalf("the code posted after an hour: %d, want 410", resp.StatusCode)
	}
}

// TestPeopleNeedsAdmin: an animator's session does not reach the tokens page.
func TestPeopleNeedsAdmin(t *testing.T) {
	f := newSiteFixture(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	_, body := get(t, c, f.srv.URL+"/studio")
	csrf := csrfFieldRE.FindStringSubmatch(body)[1]
	if resp, err := c.PostForm(f.srv.URL+"/studio/login", url.Values{"token": {f.token}, "csrf": {csrf}}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	if resp, _ := get(t, c, f.srv.URL+"/studio/people"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("people as animator: %d, want 403", resp.StatusCode)
	}
	if resp, body := get(t, c, f.srv.URL+"/studio/software"); resp.StatusCode != 200 || !strings.Contains(body, `class="secondary add-preset"`) {
		t.Fatalf("software as animator: %d %.300s", resp.StatusCode, body)
	}
	// Without a session, the studio pages ask to sign in.
	if resp, body := get(t, http.DefaultClient, f.srv.URL+"/studio/software"); resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("software signed out: %d %.200s", resp.StatusCode, body)
	}
}
