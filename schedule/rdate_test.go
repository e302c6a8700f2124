package schedule

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"
)

// seasonOf is six Thursday-or-Tuesday evenings in Paris on chosen dates, across the change to
// summer time (29 March 2026), one of them cancelled.
func seasonOf() map[string]any {
	return map[string]any{
		"title": "Saison Nextcloud", "starts_at": "2026-03-05T18:30:00", "timezone": "Europe/Paris", "duration": "PT2H",
		"rdates":  []string{"2026-04-21T18:30:00", "2026-03-17T18:30:00", "2026-03-31T19:00:00", "2026-05-07T18:30", "2026-06-02T18:30:00"},
		"exdates": []string{"2026-05-07T18:30:00"}, "series": "saison", "language": "fr",
	}
}

func localStarts(ts []time.Time) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format(LocalLayout))
	}
	return strings.Join(out, " ")
}

// TestRDateExpansion: a season is its start plus its RDATEs minus its EXDATEs, in order; RDATEs
// beside an RRULE merge with it (one occurrence when both give the same start).
func TestRDateExpansion(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    Workshop
		from string // local; the occurrences at or after it
		want string
	}{
		{"season alone", Workshop{StartsAt: "2026-03-05T18:30:00", RDates: []string{"2026-03-17T18:30:00", "2026-03-31T19:00:00", "2026-04-21T18:30:00"}},
			"2026-01-01T00:00:00", "2026-03-05T18:30:00 2026-03-17T18:30:00 2026-03-31T19:00:00 2026-04-21T18:30:00"},
		{"season from the middle", Workshop{StartsAt: "2026-03-05T18:30:00", RDates: []string{"2026-03-17T18:30:00", "2026-03-31T19:00:00", "2026-04-21T18:30:00"}},
			"2026-03-18T00:00:00", "2026-03-31T19:00:00 2026-04-21T18:30:00"},
		{"season minus an exdate", Workshop{StartsAt: "2026-03-05T18:30:00", RDates: []string{"2026-03-17T18:30:00", "2026-03-31T19:00:00"},
			ExDates: []string{"2026-03-05T18:30:00"}}, "2026-01-01T00:00:00", "2026-03-17T18:30:00 2026-03-31T19:00:00"},
		{"rule and rdates merged, duplicate once", Workshop{StartsAt: "2026-03-03T18:00:00", Recurrence: "FREQ=WEEKLY;COUNT=3;BYDAY=TU",
			RDates: []string{"2026-03-10T18:00:00", "2026-03-12T20:00:00", "2026-04-02T18:00:00"}},
			"2026-01-01T00:00:00", "2026-03-03T18:00:00 2026-03-10T18:00:00 2026-03-12T20:00:00 2026-03-17T18:00:00 2026-04-02T18:00:00"},
		{"rdates after an endless rule's start", Workshop{StartsAt: "2026-03-02T18:00:00", Recurrence: "FREQ=MONTHLY;BYDAY=1MO",
			RDates: []string{"2026-03-20T10:00:00"}}, "2026-03-03T00:00:00", "2026-03-20T10:00:00 2026-04-06T18:00:00 2026-05-04T18:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			w.Timezone, w.Duration = "Europe/Paris", "PT1H"
			loc, _ := loadLocation("Europe/Paris")
			from, _ := parseLocal(tc.from, loc)
			got, err := w.Occurrences(from, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), len(strings.Fields(tc.want)))
			if err != nil {
				t.Fatal(err)
			}
			if g := localStarts(got); g != tc.want {
				t.Errorf("occurrences\n%s\nwant\n%s", g, tc.want)
			}
		})
	}
}

// TestRDateAPI covers the rdates field: normalized (sorted, seconds added, the start dropped),
// bounded and validated with the field named, and cancelling one session.
func TestRDateAPI(t *testing.T) {
	e := newTestEnv(t)
	w := e.create(seasonOf())
	if strings.Join(w.RDates, " ") != "2026-03-17T18:30:00 2026-03-31T19:00:00 2026-04-21T18:30:00 2026-05-07T18:30:00 2026-06-02T18:30:00" {
		t.Errorf("rdates stored as %v", w.RDates)
	}
	if w.NextOccurrence == nil || !w.NextOccurrence.Equal(time.Date(2026, 3, 5, 17, 30, 0, 0, time.UTC)) {
		t.Errorf("next occurrence %v", w.NextOccurrence)
	}
	// The span ends with the last session, not the first: the season stays in the list.
	e.advance(30 * 24 * time.Hour) // 22 March
	got := decode[Workshop](t, e.do("GET", "/api/workshops/"+w.ID, nil))
	if got.NextOccurrence == nil || got.NextOccurrence.Format(time.RFC3339) != "2026-03-31T19:00:00+02:00" && !got.NextOccurrence.Equal(time.Date(2026, 3, 31, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("next occurrence after two sessions: %v", got.NextOccurrence)
	}
	// Cancel one session: an EXDATE, like for a rule.
	rec := e.do("POST", "/api/workshops/"+w.ID+"/cancel", map[string]string{"occurrence": "2026-04-21T18:30:00"})
	if rec.Code != http.StatusOK {
		t.Fatalf("cancel a session: %d %s", rec.Code, rec.Body)
	}
	if c := decode[Workshop](t, rec); strings.Join(c.ExDates, " ") != "2026-05-07T18:30:00 2026-04-21T18:30:00" || c.Sequence != 1 {
		t.Errorf("after cancelling a session: exdates %v sequence %d", c.ExDates, c.Sequence)
	}
	if rec := e.do("POST", "/api/workshops/"+w.ID+"/cancel", map[string]string{"occurrence": "2026-04-22T18:30:00"}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("cancel a date that is no session: %d", rec.Code)
	}
	// Editing only the dates is a change subscribers see.
	rec = e.do("PATCH", "/api/workshops/"+w.ID, map[string]any{"rdates": []string{"2026-06-02T18:30:00", "2026-06-09T18:30:00"}})
	if p := decode[Workshop](t, rec); rec.Code != http.StatusOK || strings.Join(p.RDates, " ") != "2026-06-02T18:30:00 2026-06-09T18:30:00" || p.Sequence != 2 {
		t.Errorf("patch rdates: %d %+v", rec.Code, p)
	}

	bad := []struct {
		name  string
		patch map[string]any
		field string
	}{
		{"before the start", map[string]any{"rdates": []string{"2026-03-17T18:30:00", "2026-03-01T18:30:00"}}, "rdates[1]"},
		{"not a date", map[string]any{"rdates": []string{"next tuesday"}}, "rdates[0]"},
		{"skipped hour", map[string]any{"rdates": []string{"2026-03-29T02:30:00"}}, "rdates[0]"},
		{"too far", map[string]any{"rdates": []string{"2047-03-17T18:30:00"}}, "rdates[0]"},
		{"too many", map[string]any{"rdates": manyDates(maxRDates + 1)}, "rdates"},
		{"every session cancelled", map[string]any{"rdates": []string{"2026-03-17T18:30:00"},
			"exdates": []string{"2026-03-05T18:30:00", "2026-03-17T18:30:00"}}, "recurrence"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			body := seasonOf()
			delete(body, "exdates")
			for k, v := range tc.patch {
				body[k] = v
			}
			rec := e.do("POST", "/api/workshops", body)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if f := decode[map[string]string](t, rec)["field"]; f != tc.field {
				t.Errorf("field %q, want %q (%s)", f, tc.field, rec.Body)
			}
		})
	}
}

func manyDates(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = time.Date(2026, 3, 6+i, 18, 30, 0, 0, time.UTC).Format(LocalLayout)
	}
	return out
}

// TestRDateExpansionBounded: the next occurrence of a long season is found by a binary search
// over its dates, not a walk from the first.
func TestRDateExpansionBounded(t *testing.T) {
	w := Workshop{StartsAt: "2026-03-05T18:30:00", Timezone: "Europe/Paris", Duration: "PT1H", RDates: manyDates(maxRDates)}
	loc, _ := loadLocation("Europe/Paris")
	before := expansionSteps.Load()
	got := w.nextOccurrence(time.Date(2027, 6, 1, 0, 0, 0, 0, loc))
	if steps := expansionSteps.Load() - before; steps > 2 {
		t.Errorf("the next occurrence walked %d occurrences", steps)
	}
	if got == nil || got.Format(LocalLayout) != "2027-06-01T18:30:00" {
		t.Errorf("next occurrence %v", got)
	}
}

// TestPreview: the draft's next occurrences in its zone, from the clock, without storing; the
// errors a save would get.
func TestPreview(t *testing.T) {
	e := newTestEnv(t) // 20 February 2026
	body := map[string]any{"starts_at": "2026-03-03T18:00:00", "timezone": "Europe/Paris", "duration": "PT1H30M",
		"recurrence": "freq=weekly;interval=2;byday=TU,TH;count=6"}
	rec := e.do("POST", "/api/workshops/preview?count=4", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("preview: %d %s", rec.Code, rec.Body)
	}
	res := decode[struct {
		Workshop    Workshop     `json:"workshop"`
		Occurrences []Occurrence `json:"occurrences"`
		More        bool         `json:"more"`
		Endless     bool         `json:"endless"`
	}](t, rec)
	var starts, ends, utc []string
	for _, o := range res.Occurrences {
		starts, ends, utc = append(starts, o.StartsAt), append(ends, o.EndsAt), append(utc, o.Start.UTC().Format("01-02T15:04"))
	}
	if res.Workshop.Recurrence != "FREQ=WEEKLY;INTERVAL=2;COUNT=6;BYDAY=TU,TH" || !res.More || res.Endless ||
		strings.Join(starts, " ") != "2026-03-03T18:00:00 2026-03-05T18:00:00 2026-03-17T18:00:00 2026-03-19T18:00:00" ||
		ends[0] != "2026-03-03T19:30:00" {
		t.Errorf("preview %+v", res)
	}
	// Across the change of hour the local time holds and the UTC one moves.
	rec = e.do("POST", "/api/workshops/preview?count=6", body)
	res.Occurrences = nil
	res = decode[struct {
		Workshop    Workshop     `json:"workshop"`
		Occurrences []Occurrence `json:"occurrences"`
		More        bool         `json:"more"`
		Endless     bool         `json:"endless"`
	}](t, rec)
	if len(res.Occurrences) != 6 || res.More || res.Occurrences[4].Start.UTC().Hour() != 16 || res.Occurrences[0].Start.UTC().Hour() != 17 {
		t.Errorf("six occurrences across DST: %+v", res.Occurrences)
	}
	if n := len(decode[listReply](t, e.do("GET", "/api/workshops", nil)).Items); n != 0 {
		t.Errorf("a preview stored %d workshops", n)
	}
	for _, tc := range []struct {
		body  map[string]any
		query string
		field string
	}{
		{map[string]any{"starts_at": "2026-03-29T02:30:00", "timezone": "Europe/Paris", "duration": "PT1H"}, "", "starts_at"},
		{map[string]any{"starts_at": "2026-03-03T18:00:00", "timezone": "Europe/Paris", "duration": "PT1H", "recurrence": "FREQ=WEEKLY;BYDAY=TUE"}, "", "recurrence"},
		{map[string]any{"starts_at": "2026-03-03T18:00:00", "timezone": "Europe/Paris", "duration": "PT1H"}, "?count=500", "count"},
	} {
		rec := e.do("POST", "/api/workshops/preview"+tc.query, tc.body)
		if f := decode[map[string]string](t, rec)["field"]; rec.Code != http.StatusUnprocessableEntity || f != tc.field {
			t.Errorf("preview %v%s: %d %s, want field %s", tc.body, tc.query, rec.Code, rec.Body, tc.field)
		}
	}
}

type listReply struct {
	Items []Workshop `json:"items"`
}

// TestSeasonFeedGolden: a season is one VEVENT with one RDATE line per session (with TZID) and
// its EXDATE; a rule with extra dates carries both. Python's icalendar expands the feed to the
// same sessions as Atelier.
func TestSeasonFeedGolden(t *testing.T) {
	e := newTestEnv(t)
	season := e.create(seasonOf())
	mixed := parisSeries()
	mixed["title"], mixed["series"], mixed["exdates"] = "Rule and extra dates", "saison", nil
	mixed["recurrence"] = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6"
	mixed["rdates"] = []string{"2026-04-25T10:00:00", "2026-03-10T18:00:00"}
	mixedW := e.create(mixed)
	feed := getFeed(t, e, "/calendar/series/saison.ics")
	golden := filepath.Join("testdata", "feed-season.ics")
	if *update {
		if err := os.WriteFile(golden, feed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(feed, want) {
		t.Errorf("the season feed differs from %s (go test -update rewrites it):\n%s", golden, feed)
	}
	checkWellFormed(t, feed)
	for _, line := range []string{"RDATE;TZID=Europe/Paris:20260317T183000\r\n", "RDATE;TZID=Europe/Paris:20260331T190000\r\n",
		"EXDATE;TZID=Europe/Paris:20260507T183000\r\n", "RDATE;TZID=Europe/Paris:20260425T100000\r\n"} {
		if !bytes.Contains(feed, []byte(line)) {
			t.Errorf("the feed lacks %q", line)
		}
	}
	cal, err := ical.NewDecoder(bytes.NewReader(feed)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range cal.Events() {
		if uid, _ := ev.Props.Text(ical.PropUID); uid == season.UID && ev.Props.Get(ical.PropRecurrenceRule) != nil {
			t.Error("a season has no RRULE")
		}
	}

	dir := t.TempDir()
	f := filepath.Join(dir, "season.ics")
	if err := os.WriteFile(f, feed, 0o644); err != nil {
		t.Fatal(err)
	}
	res := pythonExpansion(t, []string{f})[f]
	if len(res) != 2 {
		t.Fatalf("python read %d events", len(res))
	}
	for _, ev := range res {
		var w Workshop
		switch ev.UID {
		case season.UID:
			w = season
		case mixedW.UID:
			w = mixedW
		default:
			t.Fatalf("unknown UID %s", ev.UID)
		}
		occ, err := w.Occurrences(time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 60)
		if err != nil {
			t.Fatal(err)
		}
		var utc []string
		for _, o := range occ {
			utc = append(utc, o.UTC().Format("2006-01-02T15:04:05Z"))
		}
		if strings.Join(ev.Local, " ") != localStarts(occ) || strings.Join(ev.UTC, " ") != strings.Join(utc, " ") {
			t.Errorf("%s: python\n%v\n%v\natelier\n%v\n%v", w.Title, ev.Local, ev.UTC, localStarts(occ), utc)
		}
		if w.UID == season.UID && strings.Join(ev.Local, " ") != "2026-03-05T18:30:00 2026-03-17T18:30:00 2026-03-31T19:00:00 2026-04-21T18:30:00 2026-06-02T18:30:00" {
			t.Errorf("the season expands to %v", ev.Local)
		}
		if w.UID == mixedW.UID && len(ev.Local) != 8 {
			t.Errorf("rule and dates expand to %v", ev.Local)
		}
	}
}

const rdateExport = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:season@example\r\nDTSTAMP:20260115T090000Z\r\nSUMMARY:Season\r\n" +
	"DTSTART;TZID=Europe/Paris:20260305T183000\r\nDTEND;TZID=Europe/Paris:20260305T203000\r\n" +
	"RDATE;TZID=Europe/Paris:20260305T183000,20260317T183000,20260331T190000\r\n" +
	"RDATE;VALUE=DATE:20260421\r\n" +
	"RDATE:20260602T163000Z\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:no-end@example\r\nDTSTAMP:20260115T090000Z\r\nSUMMARY:No end\r\n" +
	"DTSTART;TZID=Europe/Paris:20260310T180000\r\n" +
	"RRULE:FREQ=WEEKLY;COUNT=4\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:period@example\r\nDTSTAMP:20260115T090000Z\r\nSUMMARY:Period\r\n" +
	"DTSTART;TZID=Europe/Paris:20260310T180000\r\nDURATION:PT1H\r\n" +
	"RDATE;VALUE=PERIOD:20260312T170000Z/PT2H\r\n" +
	"END:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

// TestImportRDateAndDefaultDuration: RDATEs are imported (lists, DATE values, UTC values, the
// start repeated); PERIODs are refused with the field; an event without DTEND or DURATION gets
// the instance's default duration and a warning.
func TestImportRDateAndDefaultDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  time.Duration
		want string
	}{{"default 1h30", 0, "PT1H30M"}, {"configured 2h", 2 * time.Hour, "PT2H"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.api = NewAPI(e.store, FromCatalog(e.cat), testPublicURL, Options{DefaultTimezone: "Europe/Paris", Now: e.clock, DefaultDuration: tc.opt})
			e.router = testRouter(e.api)
			rec := e.do("POST", "/api/workshops/import", rdateExport, "Content-Type", "text/calendar")
			if rec.Code != http.StatusCreated {
				t.Fatalf("import: %d %s", rec.Code, rec.Body)
			}
			res := decode[struct {
				Created  []string        `json:"created"`
				Errors   []ImportError   `json:"errors"`
				Warnings []ImportWarning `json:"warnings"`
			}](t, rec)
			if len(res.Created) != 2 || len(res.Errors) != 1 || res.Errors[0].UID != "period@example" || res.Errors[0].Field != "rdates" {
				t.Fatalf("created %v errors %+v", res.Created, res.Errors)
			}
			season := decode[Workshop](t, e.do("GET", "/api/workshops/"+res.Created[0], nil))
			if strings.Join(season.RDates, " ") != "2026-03-17T18:30:00 2026-03-31T19:00:00 2026-04-21T18:30:00 2026-06-02T18:30:00" ||
				season.Recurrence != "" || season.Duration != "PT2H" {
				t.Errorf("season imported as %+v", season)
			}
			noEnd := decode[Workshop](t, e.do("GET", "/api/workshops/"+res.Created[1], nil))
			if noEnd.Duration != tc.want {
				t.Errorf("an event without end lasts %s, want %s", noEnd.Duration, tc.want)
			}
			if len(res.Warnings) != 1 || res.Warnings[0].UID != "no-end@example" || res.Warnings[0].Field != "duration" ||
				res.Warnings[0].ID != noEnd.ID || res.Warnings[0].Index != 1 || !strings.Contains(res.Warnings[0].Warning, "DTEND") {
				t.Errorf("warnings %+v", res.Warnings)
			}
			// What Atelier writes, Atelier reads back: the season round-trips through its feed.
			items, errs, err := parseImport(bytes.NewReader(getFeed(t, e, "/workshops/"+season.ID+".ics")), ImportDefaults{})
			if err != nil || len(errs) != 0 || len(items) != 1 {
				t.Fatalf("re-read: %d items, %+v, %v", len(items), errs, err)
			}
			if err := items[0].w.normalize(e.ctx, nil, nil); err != nil || strings.Join(items[0].w.RDates, " ") != strings.Join(season.RDates, " ") {
				t.Errorf("round trip: %v %v", err, items[0].w.RDates)
			}
		})
	}
}

// TestListFrom: ?from= lists the workshops not over at that time, so that a recording can be
// linked to a workshop that just ended.
func TestListFrom(t *testing.T) {
	e := newTestEnv(t) // 20 February 2026
	w := e.create(map[string]any{"title": "Just ended", "starts_at": "2026-03-01T18:00:00", "timezone": "Europe/Paris", "duration": "PT1H"})
	e.advance(20 * 24 * time.Hour)
	if n := len(decode[listReply](t, e.do("GET", "/api/workshops", nil)).Items); n != 0 {
		t.Errorf("an ended workshop is upcoming: %d", n)
	}
	got := decode[listReply](t, e.do("GET", "/api/workshops?from=2026-03-01", nil))
	if len(got.Items) != 1 || got.Items[0].ID != w.ID {
		t.Errorf("?from=2026-03-01: %+v", got.Items)
	}
	if rec := e.do("GET", "/api/workshops?from=yesterday", nil); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("?from=yesterday: %d", rec.Code)
	}
}
