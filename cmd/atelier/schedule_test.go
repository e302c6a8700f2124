package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// TestScheduleRoutes goes through the real route table: writes need a token, feeds are public and
// not shadowed by the workshop pages, links use the public URL.
func TestScheduleRoutes(t *testing.T) {
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_TIMEZONE": "Europe/Paris"})
	do := func(method, path, token, ctype, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	w := `{"title":"Atelier découverte","starts_at":"2036-03-04T18:00:00","timezone":"Europe/Paris","duration":"PT1H30M","recurrence":"FREQ=WEEKLY;BYDAY=TU;COUNT=6"}`
	if resp, body := do("POST", "/api/workshops", "", "application/json", w); resp.StatusCode != 401 {
		t.Fatalf("create without token: %d %s", resp.StatusCode, body)
	}
	resp, body := do("POST", "/api/workshops", testAdminToken, "application/json", w)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		ID    string `json:"id"`
		UID   string `json:"uid"`
		Links struct{ ICS, Webcal string }
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if created.Links.ICS != base+"/workshops/"+created.ID+".ics" || !strings.HasPrefix(created.Links.Webcal, "webcal://127.0.0.1:") {
		t.Errorf("links %+v", created.Links)
	}
	for _, path := range []string{"/calendar.ics", "/workshops/" + created.ID + ".ics"} {
		resp, body := do("GET", path, "", "", "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
			!strings.Contains(body, "UID:"+created.UID) || !strings.Contains(body, "BEGIN:VTIMEZONE") {
			t.Errorf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, body := do("GET", "/workshops.atom", "", "", ""); resp.StatusCode != 200 ||
		resp.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" || !strings.Contains(body, "/workshops/"+created.ID) {
		t.Errorf("GET /workshops.atom: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, body := do("GET", "/api/workshops", "", "", ""); resp.StatusCode != 200 || !strings.Contains(body, created.ID) {
		t.Errorf("list: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do("POST", "/api/workshops/"+created.ID+"/cancel", "", "", ""); resp.StatusCode != 401 {
		t.Errorf("cancel without token: %d", resp.StatusCode)
	}
	if resp, _ := do("POST", "/api/workshops/import", "", "text/calendar", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"); resp.StatusCode != 401 {
		t.Errorf("import without token: %d", resp.StatusCode)
	}
}

// TestRescheduleKeepsDraftsPrivate (issue 14, finding 3): rescheduling a draft or unlisted replay
// creates a public workshop, which must carry neither the replay's title nor its link — in the
// API list, the /workshops page and the feeds. A published replay is still named (the control).
func TestRescheduleKeepsDraftsPrivate(t *testing.T) {
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken})
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(os.Getenv("ATELIER_DATA_DIR"), "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat, err := catalog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud"}); err != nil {
		t.Fatal(err)
	}
	unlisted, ready := "unlisted", catalog.Ready
	replays := []struct {
		id, title string
		publish   bool
		pub       *string
	}{
		{"d000000000000001", "Secret draft about salaries", false, nil},
		{"d000000000000002", "Unlisted replay for the board", true, &unlisted},
		{"d000000000000003", "Published replay on sharing", true, nil},
	}
	for _, r := range replays {
		if err := cat.CreateReplay(ctx, catalog.NewReplay{ID: r.id, Title: r.title, Language: "en", PublishWhenReady: r.publish,
			Documents: []catalog.Tag{{Software: "nextcloud", Version: "27"}}}); err != nil {
			t.Fatal(err)
		}
		if r.publish {
			if err := cat.SetProcessing(ctx, r.id, ready, 60000); err != nil {
				t.Fatal(err)
			}
		}
		if r.pub != nil {
			if err := cat.UpdateReplay(ctx, r.id, catalog.ReplayUpdate{Publication: r.pub}); err != nil {
				t.Fatal(err)
			}
		}
		req, _ := http.NewRequest("POST", base+"/api/freshness/"+r.id+"/reschedule", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("reschedule %s: %d %s", r.id, resp.StatusCode, b)
		}
	}
	public := ""
	for _, path := range []string{"/api/workshops", "/workshops", "/calendar.ics", "/calendar/software/nextcloud.ics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		// Folded iCalendar lines and HTML escapes aside, the words must not be there.
		text := strings.NewReplacer("\r\n ", "", "&#39;", "'", "&#34;", `"`).Replace(string(b))
		public += text
		for _, r := range replays[:2] {
			if strings.Contains(text, r.title) || strings.Contains(text, r.id) {
				t.Errorf("GET %s shows the replay %s (%q), which is not published", path, r.id, r.title)
			}
		}
	}
	if !strings.Contains(public, replays[2].title) || !strings.Contains(public, "/replays/"+replays[2].id) {
		t.Errorf("the published replay is not named: the test would not see a leak")
	}
}

// TestInstanceLanguageConfig: -language, -site-name and -feed-past are checked at start.
func TestInstanceLanguageConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // an error substring, "" for none
	}{
		{nil, ""},
		{[]string{"-language", "fr", "-site-name", "Chatons du Rhône", "-feed-past", "720h"}, ""},
		{[]string{"-feed-past", "0"}, ""},
		{[]string{"-language", "de"}, "want en or fr"},
		{[]string{"-site-name", " "}, "-site-name"},
		{[]string{"-feed-past", "-1h"}, "-feed-past"},
	} {
		var c Config
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		c.registerServe(fs)
		if err := fs.Parse(append([]string{"-data-dir", t.TempDir()}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		err := c.finishServe()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestFeedsSpeakInstanceLanguage: with ATELIER_LANGUAGE=fr and a site name, the served calendar
// is named in French after the collective, and its events carry French labels.
func TestFeedsSpeakInstanceLanguage(t *testing.T) {
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_LANGUAGE": "fr",
		"ATELIER_SITE_NAME": "Chatons du Rhône"})
	w := `{"title":"Atelier découverte","starts_at":"2036-03-04T18:00:00","timezone":"Europe/Paris","duration":"PT1H30M","animator":"Zoé"}`
	req, _ := http.NewRequest("POST", base+"/api/workshops", strings.NewReader(w))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "/calendar.ics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if s := string(b); !strings.Contains(s, "X-WR-CALNAME:Ateliers Chatons du Rhône") || !strings.Contains(s, "Animation : Zoé") {
		t.Errorf("calendar in French expected:\n%s", s)
	}
}
