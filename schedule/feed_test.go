package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// seedFeeds creates the workshops the feed tests share: the Paris series across both changes of
// hour, a one-off in UTC, a New York series (other rules, other dates), a cancelled workshop, a
// past workshop whose replay is published, and long French and emoji text.
func seedFeeds(t *testing.T, e *testEnv) map[string]Workshop {
	t.Helper()
	ws := map[string]Workshop{}
	ws["paris"] = e.create(parisSeries())
	ws["utc"] = e.create(map[string]any{
		"title": "Office hours", "starts_at": "2026-05-05T09:00:00", "timezone": "UTC", "duration": "PT45M",
		"location": "https://meet.example.org/office-hours", "language": "en", "status": "tentative",
		"registration_url": "https://atelier.example.org/register/office-hours",
	})
	ws["ny"] = e.create(map[string]any{
		"title": "LibreOffice Calc — monthly", "starts_at": "2026-02-26T19:00:00", "timezone": "America/New_York",
		"duration": "PT1H", "recurrence": "FREQ=MONTHLY;BYDAY=-1TH;COUNT=12", "series": "calc-monthly",
		"documents": []map[string]string{{"software": "libreoffice", "version": "24.2.0"}},
	})
	long := strings.Repeat("Les élèves découvrent l’interface, ça marche très bien 🎉; ", 6)
	ws["cancelled"] = e.create(map[string]any{
		"title": "Atelier « Fichiers » annulé ✂️", "description": long, "starts_at": "2026-03-12T14:00:00",
		"timezone": "Europe/Paris", "duration": "PT2H", "location": "Médiathèque, 3 rue de l’Église, Bourg-en-Bresse",
		"documents": []map[string]string{{"software": "nextcloud", "version": "28.0.0"}},
	})
	ws["past"] = e.create(map[string]any{
		"title": "Premiers pas avec Nextcloud", "starts_at": "2026-02-10T18:00:00", "timezone": "Europe/Paris",
		"duration": "PT1H", "series": "nextcloud-asso",
		"documents": []map[string]string{{"software": "nextcloud", "version": "27.0.0"}},
	})
	e.advance(time.Hour)
	if rec := e.do("POST", "/api/workshops/"+ws["cancelled"].ID+"/cancel", nil); rec.Code != http.StatusOK {
		t.Fatalf("cancel: %d %s", rec.Code, rec.Body)
	}
	// The past workshop was recorded; its replay is published.
	if err := e.cat.CreateReplay(e.ctx, catalog.NewReplay{ID: "r0123456789abcdef", Title: "Premiers pas avec Nextcloud",
		Language: "fr", WorkshopID: ws["past"].ID, PublishWhenReady: true,
		Documents: []catalog.Tag{{Software: "nextcloud", Version: "27.0.0"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.cat.SetProcessing(e.ctx, "r0123456789abcdef", catalog.Ready, 3600000); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour)
	if n, err := e.store.SyncReplays(e.ctx, FromCatalog(e.cat)); err != nil || n != 1 {
		t.Fatalf("SyncReplays = %d, %v; want 1 change", n, err)
	}
	return ws
}

var feedPaths = map[string]string{
	"all":      "/calendar.ics",
	"software": "/calendar/software/nextcloud.ics",
	"series":   "/calendar/series/nextcloud-asso.ics",
	"empty":    "/calendar/series/nothing-yet.ics",
}

func getFeed(t *testing.T, e *testEnv, path string) []byte {
	t.Helper()
	rec := e.do("GET", path, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return rec.Body.Bytes()
}

// TestFeedsGolden compares every feed with its golden file, in the default English (the files
// of before the instance language existed, unchanged) and in French with a collective's name.
func TestFeedsGolden(t *testing.T) {
	e := newTestEnv(t)
	ws := seedFeeds(t, e)
	paths := map[string]string{"workshop": "/workshops/" + ws["paris"].ID + ".ics"}
	for k, v := range feedPaths {
		paths[k] = v
	}
	fr := NewAPI(e.store, FromCatalog(e.cat), testPublicURL, Options{DefaultTimezone: "Europe/Paris", Now: e.clock,
		Language: "fr", SiteName: "Chatons du Rhône"})
	for _, lang := range []struct {
		suffix string
		router http.Handler
	}{{"", e.router}, {".fr", testRouter(fr)}} {
		for name, path := range paths {
			t.Run(name+lang.suffix, func(t *testing.T) {
				rec := httptest.NewRecorder()
				lang.router.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
				got := rec.Body.Bytes()
				golden := filepath.Join("testdata", "feed-"+name+lang.suffix+".ics")
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", path, golden, got)
				}
				checkWellFormed(t, got)
			})
		}
	}
}

// checkWellFormed checks what go-ical does not do for us: CRLF lines of at most 75 octets, folds
// that never split a UTF-8 sequence, and a calendar that go-ical reads back.
func checkWellFormed(t *testing.T, feed []byte) {
	t.Helper()
	if !bytes.HasSuffix(feed, []byte("\r\n")) {
		t.Error("feed does not end with CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(feed), "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d holds a bare CR or LF", i+1)
		}
	}
	if _, err := ical.NewDecoder(bytes.NewReader(feed)).Decode(); err != nil {
		t.Errorf("go-ical cannot read the feed back: %v", err)
	}
}

func TestFeedTextSurvives(t *testing.T) {
	e := newTestEnv(t)
	in := parisSeries()
	desc := strings.Repeat("Café, thé; crème brûlée — 🍰🎂 naïve\\ façade ", 5) + "\nfin."
	in["description"] = desc
	w := e.create(in)
	feed := getFeed(t, e, "/workshops/"+w.ID+".ics")
	checkWellFormed(t, feed)
	cal, err := ical.NewDecoder(bytes.NewReader(feed)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	ev := cal.Events()[0]
	gotTitle, _ := ev.Props.Text(ical.PropSummary)
	gotDesc, _ := ev.Props.Text(ical.PropDescription)
	if gotTitle != in["title"] {
		t.Errorf("SUMMARY %q", gotTitle)
	}
	if !strings.HasPrefix(gotDesc, strings.TrimSpace(desc)) {
		t.Errorf("DESCRIPTION %q\nwant prefix %q", gotDesc, desc)
	}
	if !bytes.Contains(feed, []byte(`Caf\u00e9\, th\u00e9\; cr`)) && !bytes.Contains(feed, []byte(`Café\, thé\; cr`)) {
		t.Errorf("commas and semicolons are not escaped:\n%s", feed)
	}
}

// pythonExpansion runs the independent parser (Debian's python3-icalendar and dateutil) over
// files and returns its JSON.
type pyEvent struct {
	UID         string   `json:"uid"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Location    string   `json:"location"`
	URL         string   `json:"url"`
	Status      string   `json:"status"`
	Sequence    int      `json:"sequence"`
	Categories  []string `json:"categories"`
	Local       []string `json:"local"`
	UTC         []string `json:"utc"`
}

func pythonExpansion(t *testing.T, files []string) map[string][]pyEvent {
	t.Helper()
	const python = "/usr/bin/python3"
	check := exec.Command(python, "-c", "import icalendar, dateutil.rrule")
	if out, err := check.CombinedOutput(); err != nil {
		testenv.Require(t, "Debian python3-icalendar and python3-dateutil (/usr/bin/python3)", errors.New(strings.TrimSpace(string(out))+": "+err.Error()))
	}
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", "expand.py")}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("expand.py: %v\n%s", err, stderr.String())
	}
	var res map[string][]pyEvent
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("expand.py output: %v\n%s", err, out)
	}
	return res
}

// TestFeedsIndependentParser has Python's icalendar read every feed, rebuild each zone from the
// feed's VTIMEZONE, expand the RRULEs with dateutil, and compares with Atelier's own expansion.
func TestFeedsIndependentParser(t *testing.T) {
	e := newTestEnv(t)
	ws := seedFeeds(t, e)
	// An endless series: its zone spans ten years, written with yearly RRULEs.
	endless := parisSeries()
	endless["recurrence"], endless["series"], endless["exdates"] = "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", "endless", nil
	ws["endless"] = e.create(endless)
	dir := t.TempDir()
	paths := map[string]string{"workshop": "/workshops/" + ws["paris"].ID + ".ics", "endless": "/calendar/series/endless.ics"}
	for k, v := range feedPaths {
		paths[k] = v
	}
	var files []string
	for name, path := range paths {
		f := filepath.Join(dir, name+".ics")
		if err := os.WriteFile(f, getFeed(t, e, path), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	res := pythonExpansion(t, files)

	byUID := map[string]*Workshop{}
	for _, w := range ws {
		stored, err := e.store.FeedWorkshops(e.ctx, Feed{Kind: "workshop", Key: w.ID}, time.Time{})
		if err != nil || len(stored) != 1 {
			t.Fatalf("workshop %s: %v", w.ID, err)
		}
		byUID[w.UID] = stored[0]
	}
	count := map[string]int{}
	for file, events := range res {
		count[filepath.Base(file)] = len(events)
		for _, ev := range events {
			w := byUID[ev.UID]
			if w == nil {
				t.Errorf("%s: unknown UID %s", file, ev.UID)
				continue
			}
			occ, err := w.Occurrences(time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 60)
			if err != nil {
				t.Fatal(err)
			}
			var local, utc []string
			for _, o := range occ {
				local = append(local, o.Format(LocalLayout))
				utc = append(utc, o.UTC().Format("2006-01-02T15:04:05Z"))
			}
			if strings.Join(ev.Local, " ") != strings.Join(local, " ") {
				t.Errorf("%s %s: python local starts\n%v\natelier\n%v", file, w.Title, ev.Local, local)
			}
			if strings.Join(ev.UTC, " ") != strings.Join(utc, " ") {
				t.Errorf("%s %s: python UTC starts (through the feed's VTIMEZONE)\n%v\natelier\n%v", file, w.Title, ev.UTC, utc)
			}
			if ev.Summary != w.Title || ev.Sequence != w.Sequence || ev.Status != strings.ToUpper(string(w.Status)) || ev.Location != w.Location {
				t.Errorf("%s: python read %+v", file, ev)
			}
		}
	}
	if !bytes.Contains(getFeed(t, e, "/calendar/series/endless.ics"), []byte("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")) {
		t.Error("the endless series' VTIMEZONE is not in the yearly RRULE form")
	}
	if count["endless.ics"] != 1 || count["all.ics"] != 6 || count["software.ics"] != 4 || count["series.ics"] != 2 || count["workshop.ics"] != 1 || count["empty.ics"] != 0 {
		t.Errorf("events per feed: %v", count)
	}

	// The DST check itself: Tuesdays 18:00 in Paris are 17:00Z in winter, 16:00Z in summer, and
	// 17:00Z again after 25 October.
	paris := res[filepath.Join(dir, "workshop.ics")][0]
	want := map[string]string{
		"2026-03-03T18:00:00": "2026-03-03T17:00:00Z", "2026-03-24T18:00:00": "2026-03-24T17:00:00Z",
		"2026-03-31T18:00:00": "2026-03-31T16:00:00Z", "2026-10-20T18:00:00": "2026-10-20T16:00:00Z",
		"2026-10-27T18:00:00": "2026-10-27T17:00:00Z", "2026-11-10T18:00:00": "2026-11-10T17:00:00Z",
	}
	found := 0
	for i, l := range paris.Local {
		if !strings.HasSuffix(l, "T18:00:00") {
			t.Errorf("occurrence %s is not at 18:00 local", l)
		}
		if l == "2026-04-14T18:00:00" {
			t.Errorf("the EXDATE 2026-04-14 was not removed")
		}
		if u, ok := want[l]; ok {
			found++
			if paris.UTC[i] != u {
				t.Errorf("%s local is %s, want %s", l, paris.UTC[i], u)
			}
		}
	}
	if found != len(want) || len(paris.Local) != 36 {
		t.Errorf("found %d of the checked dates in %d occurrences: %v", found, len(paris.Local), paris.Local)
	}

	// The published replay reaches the calendar.
	past := byUID[ws["past"].UID]
	for _, ev := range res[filepath.Join(dir, "all.ics")] {
		if ev.UID == past.UID {
			if ev.URL != testPublicURL+"/replays/r0123456789abcdef" || !strings.HasPrefix(ev.Description, "Replay: "+testPublicURL+"/replays/r0123456789abcdef") {
				t.Errorf("past workshop: url %q description %q", ev.URL, ev.Description)
			}
		}
		if ev.UID == byUID[ws["cancelled"].UID].UID && (ev.Status != "CANCELLED" || ev.Sequence != 1 ||
			!strings.Contains(ev.Description, "🎉") || !strings.Contains(ev.Location, "l’Église")) {
			t.Errorf("cancelled workshop read as %+v", ev)
		}
	}
}

func TestFeedConditionalGET(t *testing.T) {
	e := newTestEnv(t)
	w := e.create(parisSeries())
	rec := e.do("GET", "/calendar.ics", nil)
	etag, lm := rec.Header().Get("ETag"), rec.Header().Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("ETag %q Last-Modified %q", etag, lm)
	}
	for _, h := range [][]string{{"If-None-Match", etag}, {"If-None-Match", `"x", W/` + etag}, {"If-Modified-Since", lm}} {
		rec := e.do("GET", "/calendar.ics", nil, h...)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%v: %d", h, rec.Code)
		}
	}
	if rec := e.do("GET", "/calendar.ics", nil, "If-None-Match", `"other"`, "If-Modified-Since", lm); rec.Code != http.StatusOK {
		t.Errorf("If-None-Match must win over If-Modified-Since: %d", rec.Code)
	}
	// A change gives a new validator; every feed the workshop belongs to changes.
	softTag := e.do("GET", "/calendar/software/nextcloud.ics", nil).Header().Get("ETag")
	oneTag := e.do("GET", "/workshops/"+w.ID+".ics", nil).Header().Get("ETag")
	e.advance(time.Minute)
	e.do("PATCH", "/api/workshops/"+w.ID, map[string]any{"title": "Nouveau titre"})
	if rec := e.do("GET", "/calendar.ics", nil, "If-None-Match", etag); rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %s", rec.Code, rec.Header().Get("ETag"))
	}
	if rec := e.do("GET", "/calendar.ics", nil, "If-Modified-Since", lm); rec.Code != http.StatusOK {
		t.Errorf("after a change, If-Modified-Since: %d", rec.Code)
	}
	if e.do("GET", "/calendar/software/nextcloud.ics", nil).Header().Get("ETag") == softTag ||
		e.do("GET", "/workshops/"+w.ID+".ics", nil).Header().Get("ETag") == oneTag {
		t.Error("software or workshop feed kept its ETag after a change")
	}
	// Another series' feed is unaffected.
	if rec := e.do("GET", "/calendar/series/other.ics", nil); rec.Code != http.StatusOK {
		t.Errorf("empty series feed: %d", rec.Code)
	}
	if rec := e.do("GET", "/workshops/nope.ics", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown workshop feed: %d", rec.Code)
	}
}

func TestFold(t *testing.T) {
	line := "DESCRIPTION:" + strings.Repeat("é🚀a", 40)
	out := string(fold([]byte(line + "\r\n")))
	parts := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	var unfolded strings.Builder
	for i, p := range parts {
		if len(p) > 75 || !utf8.ValidString(p) {
			t.Errorf("part %d: %d octets, valid %v", i, len(p), utf8.ValidString(p))
		}
		if i > 0 {
			if p[0] != ' ' {
				t.Errorf("continuation %d does not start with a space", i)
			}
			p = p[1:]
		}
		unfolded.WriteString(p)
	}
	if unfolded.String() != line {
		t.Errorf("unfolded %q", unfolded.String())
	}
}

func TestVTimezoneTransitions(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	tz := vtimezone(paris, time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC), time.Date(2026, 11, 10, 18, 0, 0, 0, time.UTC))
	var got []string
	for _, c := range tz.Children {
		got = append(got, c.Name+" "+c.Props.Get(ical.PropDateTimeStart).Value+" "+c.Props.Get(ical.PropTimezoneOffsetFrom).Value+
			">"+c.Props.Get(ical.PropTimezoneOffsetTo).Value)
	}
	want := []string{"STANDARD 20251026T030000 +0200>+0100", "DAYLIGHT 20260329T020000 +0100>+0200", "STANDARD 20261025T030000 +0200>+0100"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %v\nwant %v", got, want)
	}
	// Over years, the same changes become yearly rules.
	tz = vtimezone(paris, time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC), time.Date(2036, 3, 3, 17, 0, 0, 0, time.UTC))
	got = nil
	for _, c := range tz.Children {
		got = append(got, c.Name+" "+c.Props.Get(ical.PropDateTimeStart).Value+" "+c.Props.Get(ical.PropRecurrenceRule).Value)
	}
	want = []string{"STANDARD 20251026T030000 FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "DAYLIGHT 20260329T020000 FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %v\nwant %v", got, want)
	}
	ny, _ := time.LoadLocation("America/New_York")
	tz = vtimezone(ny, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(tz.Children) != 2 || tz.Children[1].Props.Get(ical.PropRecurrenceRule).Value != "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" {
		t.Errorf("New York rules: %+v", tz.Children)
	}
	if tz := vtimezone(time.UTC, time.Now(), time.Now().Add(time.Hour)); len(tz.Children) != 1 {
		t.Errorf("UTC: %d observances", len(tz.Children))
	}
}

// TestSyncReplaysFollowsPublication: a replay taken off the public list leaves the feeds too,
// and each move changes the feed's ETag.
func TestSyncReplaysFollowsPublication(t *testing.T) {
	e := newTestEnv(t)
	ws := seedFeeds(t, e)
	path := "/workshops/" + ws["past"].ID + ".ics"
	before := e.do("GET", path, nil)
	if !strings.Contains(before.Body.String(), "URL:"+testPublicURL+"/replays/r0123456789abcdef") {
		t.Fatalf("no replay URL:\n%s", before.Body)
	}
	unlisted := "unlisted"
	if err := e.cat.UpdateReplay(e.ctx, "r0123456789abcdef", catalog.ReplayUpdate{Publication: &unlisted}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	if n, err := e.store.SyncReplays(e.ctx, FromCatalog(e.cat)); err != nil || n != 1 {
		t.Fatalf("SyncReplays = %d, %v", n, err)
	}
	after := e.do("GET", path, nil, "If-None-Match", before.Header().Get("ETag"))
	if after.Code != http.StatusOK || strings.Contains(after.Body.String(), "/replays/") || !strings.Contains(after.Body.String(), "SEQUENCE:2") {
		t.Errorf("after unlisting: %d\n%s", after.Code, after.Body)
	}
	if n, _ := e.store.SyncReplays(e.ctx, FromCatalog(e.cat)); n != 0 {
		t.Errorf("a second sync changed %d workshops", n)
	}
}

// TestFeedsKeepRollingWindow (issue 14, finding 16): past workshops leave the feeds a year
// (Options.FeedPast) after their last occurrence ended; endless series and the file of one
// workshop stay. Without the window, /calendar.ics grew with every workshop ever held.
func TestFeedsKeepRollingWindow(t *testing.T) {
	e := newTestEnv(t) // now: 2026-02-20
	one := func(title, start, rule string) Workshop {
		return e.create(map[string]any{"title": title, "starts_at": start, "timezone": "Europe/Paris", "duration": "PT1H",
			"recurrence": rule, "documents": []map[string]string{{"software": "nextcloud", "version": "28.0.0"}}})
	}
	ws := map[string]Workshop{
		"old":           one("Held 400 days ago", "2025-01-16T18:00:00", ""),
		"recent":        one("Held 100 days ago", "2025-11-12T18:00:00", ""),
		"old series":    one("Series over since 2024", "2023-01-03T18:00:00", "FREQ=WEEKLY;COUNT=10"),
		"long series":   one("Series that ended last month", "2024-01-02T18:00:00", "FREQ=MONTHLY;UNTIL=20260120T000000Z"),
		"endless":       one("Endless since 2023", "2023-01-03T18:00:00", "FREQ=WEEKLY"),
		"next week":     one("Next week", "2026-02-27T18:00:00", ""),
		"just in (365)": one("Ended 364 days ago", "2025-02-21T18:00:00", ""),
	}
	want := map[string]bool{"old": false, "recent": true, "old series": false, "long series": true, "endless": true, "next week": true, "just in (365)": true}
	check := func(router http.Handler, keepAll bool) {
		t.Helper()
		for _, path := range []string{"/calendar.ics", "/calendar/software/nextcloud.ics"} {
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			feed := strings.ReplaceAll(rec.Body.String(), "\r\n ", "")
			for name, w := range ws {
				if in := strings.Contains(feed, "UID:"+w.UID); in != (want[name] || keepAll) {
					t.Errorf("%s (keep all %v): %s in the feed: %v", path, keepAll, name, in)
				}
			}
		}
	}
	check(e.router, false)
	if rec := e.do("GET", "/workshops/"+ws["old"].ID+".ics", nil); rec.Code != http.StatusOK {
		t.Errorf("the file of a workshop out of the window: %d", rec.Code)
	}
	all := NewAPI(e.store, nil, testPublicURL, Options{Now: e.clock, FeedPast: -1})
	check(testRouter(all), true)
	// The window moves with the days: 40 days on, the workshop of 100 days ago is still in, the
	// one of 364 days ago is out, and the validator saw it (a new ETag, a new body).
	before := e.do("GET", "/calendar.ics", nil)
	e.advance(40 * 24 * time.Hour)
	want["just in (365)"], want["long series"] = false, true
	after := e.do("GET", "/calendar.ics", nil, "If-None-Match", before.Header().Get("ETag"))
	if after.Code != http.StatusOK || strings.Contains(strings.ReplaceAll(after.Body.String(), "\r\n ", ""), "UID:"+ws["just in (365)"].UID) {
		t.Errorf("40 days on: %d, the workshop of 404 days ago still there: %v", after.Code, strings.Contains(after.Body.String(), ws["just in (365)"].UID))
	}
}

// TestWarmServesFirstRequests: after Warm (run by serve at start), the first request of a feed
// is answered without a render of its own, and requests arriving together share one render.
func TestWarmServesFirstRequests(t *testing.T) {
	e := newTestEnv(t)
	seedFeeds(t, e)
	fresh := func() *API {
		return NewAPI(e.store, FromCatalog(e.cat), testPublicURL, Options{DefaultTimezone: "Europe/Paris", Now: e.clock})
	}
	want := getFeed(t, e, "/calendar.ics")

	warm := fresh()
	if err := warm.Warm(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := warm.rendered.Load(); n != 1 {
		t.Fatalf("Warm rendered %d feeds", n)
	}
	rec := httptest.NewRecorder()
	testRouter(warm).ServeHTTP(rec, httptest.NewRequest("GET", "/calendar.ics", nil))
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("first request after Warm: %d, same body %v", rec.Code, bytes.Equal(rec.Body.Bytes(), want))
	}
	if n := warm.rendered.Load(); n != 1 {
		t.Errorf("the first request after Warm rendered again (%d renders)", n)
	}

	cold := fresh()
	router := testRouter(cold)
	var wg sync.WaitGroup
	bodies := make([][]byte, 8)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, httptest.NewRequest("GET", "/calendar.ics", nil))
			bodies[i] = rec.Body.Bytes()
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		if !bytes.Equal(b, want) {
			t.Errorf("request %d got another body", i)
		}
	}
	if n := cold.rendered.Load(); n != 1 {
		t.Errorf("8 simultaneous first requests made %d renders, want 1", n)
	}
}
