package schedule

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// clockRule is the rule of finding 1 of issue 14: 86 400 occurrences a day, under the 500
// characters an RRULE may have.
func clockRule() string {
	list := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprint(i))
		}
		return strings.Join(s, ",")
	}
	return "FREQ=DAILY;BYHOUR=" + list(24) + ";BYMINUTE=" + list(60) + ";BYSECOND=" + list(60)
}

// TestRecurrenceRefusesClockRules: a rule that gives more than a few occurrences a day is a 422
// that names the part at fault, through the API and through an .ics import.
func TestRecurrenceRefusesClockRules(t *testing.T) {
	e := newTestEnv(t)
	if len(clockRule()) > 500 {
		t.Fatalf("the rule of the finding is %d characters: the length limit alone would refuse it", len(clockRule()))
	}
	tests := []struct {
		rule, part string
	}{
		{clockRule(), "BYSECOND"},
		{"FREQ=DAILY;BYMINUTE=0,15,30,45", "BYMINUTE"},
		{"FREQ=WEEKLY;BYDAY=TU;BYHOUR=8,9,10,11,12", "BYHOUR"},
		{"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "no occurrence"},
		{"FREQ=WEEKLY;INTERVAL=3;BYMONTH=4;BYMONTHDAY=31", "no occurrence"},
	}
	for _, tc := range tests {
		body := parisSeries()
		body["recurrence"], body["exdates"] = tc.rule, nil
		rec := e.do("POST", "/api/workshops", body)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%.40s: %d %s, want 422", tc.rule, rec.Code, rec.Body)
			continue
		}
		if b := decode[httpapi.Body](t, rec); b.Field != "recurrence" || !strings.Contains(b.Error, tc.part) {
			t.Errorf("%.40s: field %q error %q; want recurrence naming %s", tc.rule, b.Field, b.Error, tc.part)
		}
	}
	// A few a day stays possible.
	body := parisSeries()
	body["recurrence"], body["exdates"] = "FREQ=WEEKLY;BYDAY=TU;BYHOUR=10,14,18;COUNT=6", nil
	if rec := e.do("POST", "/api/workshops", body); rec.Code != http.StatusCreated {
		t.Errorf("three a day: %d %s", rec.Code, rec.Body)
	}

	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:clock@example.org\r\nSUMMARY:Clock\r\n" +
		"DTSTART;TZID=Europe/Paris:20250303T180000\r\nDURATION:PT1H\r\nRRULE:" + clockRule() + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	rec := e.do("POST", "/api/workshops/import", ics, "Content-Type", "text/calendar")
	res := decode[struct {
		Created []string      `json:"created"`
		Errors  []ImportError `json:"errors"`
	}](t, rec)
	if rec.Code != http.StatusUnprocessableEntity || len(res.Created) != 0 || len(res.Errors) != 1 ||
		res.Errors[0].Field != "recurrence" || !strings.Contains(res.Errors[0].Error, "BYSECOND") {
		t.Errorf("import of the clock rule: %d %s", rec.Code, rec.Body)
	}
}

// legacyWorkshop stores w as a row written before the rules were bounded, without normalize.
func legacyWorkshop(t *testing.T, e *testEnv, w *Workshop) {
	t.Helper()
	if w.Timezone == "" {
		w.Timezone = "Europe/Paris"
	}
	w.Duration, w.Status, w.Documents, w.ExDates = "PT1H", StatusConfirmed, []Document{}, []string{}
	if err := e.store.Create(e.ctx, w, "atelier.example.org"); err != nil {
		t.Fatal(err)
	}
}

// TestListingOldSeriesIsBounded: the next occurrence of an endless series that began a year ago
// is found by starting the expansion near now, not by walking the year. Counted in occurrences
// walked, not in time. The rows are stored as they could be before the rules were bounded
// (24 a day), which the API now refuses.
func TestListingOldSeriesIsBounded(t *testing.T) {
	e := newTestEnv(t)
	hours := "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23"
	legacyWorkshop(t, e, &Workshop{Title: "Hourly since last year", StartsAt: "2025-02-20T00:00:00", Recurrence: "FREQ=DAILY;BYHOUR=" + hours})
	legacyWorkshop(t, e, &Workshop{Title: "Every third Tuesday since 2024", StartsAt: "2024-01-02T18:00:00", Recurrence: "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU"})
	before := expansionSteps.Load()
	rec := e.do("GET", "/api/workshops", nil)
	walked := expansionSteps.Load() - before
	if rec.Code != http.StatusOK {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if walked > 50 {
		t.Errorf("listing two year-old series walked %d occurrences (a year of the hourly one is 8 760)", walked)
	}
	list := decode[struct{ Items []Workshop }](t, rec)
	want := map[string]string{
		// now is 2026-02-20T10:00Z, 11:00 in Paris; the 11:00 occurrence ends at 12:00.
		"Hourly since last year":         "2026-02-20T11:00:00+01:00",
		"Every third Tuesday since 2024": "2026-03-10T18:00:00+01:00", // 114 weeks after 2 January 2024
	}
	for _, w := range list.Items {
		if w.NextOccurrence == nil || w.NextOccurrence.Format(time.RFC3339) != want[w.Title] {
			t.Errorf("%s: next occurrence %v, want %s", w.Title, w.NextOccurrence, want[w.Title])
		}
	}
	if len(list.Items) != 2 {
		t.Errorf("listed %d workshops", len(list.Items))
	}
}

// TestMovedStartKeepsOccurrences compares the expansion that starts near the window with
// rrule-go walking from the first start, over rules whose alignment a moved start could break:
// INTERVAL, the 31st, 29 February, BYSETPOS, ordinals, changes of hour.
func TestMovedStartKeepsOccurrences(t *testing.T) {
	rules := []struct{ start, zone, rule string }{
		{"2024-01-02T18:00:00", "Europe/Paris", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU"},
		{"2024-01-03T18:00:00", "Europe/Paris", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=SU"},
		{"2023-10-29T02:30:00", "Europe/Paris", "FREQ=DAILY;INTERVAL=5"},
		{"2024-01-31T09:00:00", "America/New_York", "FREQ=MONTHLY"},
		{"2024-01-31T09:00:00", "America/New_York", "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-1"},
		{"2024-02-29T12:00:00", "UTC", "FREQ=YEARLY"},
		{"2023-05-15T19:00:00", "Africa/Dakar", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"},
		{"2023-01-26T19:00:00", "America/New_York", "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1TH"},
		{"2023-03-01T08:00:00", "Australia/Sydney", "FREQ=DAILY;BYHOUR=8,20;UNTIL=20270101T000000Z"},
		{"2022-06-01T10:00:00", "Europe/Paris", "FREQ=YEARLY;INTERVAL=2;BYMONTH=6;BYDAY=1WE"},
	}
	for _, r := range rules {
		w := &Workshop{StartsAt: r.start, Timezone: r.zone, Duration: "PT1H", Recurrence: r.rule}
		s, err := w.series()
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := rrule.StrToROptionInLocation(r.rule, s.loc)
		opt.Dtstart = s.start
		naive, _ := rrule.NewRRule(*opt)
		for from := s.start.Add(-time.Hour); from.Before(s.start.AddDate(4, 0, 0)); from = from.Add(97*time.Hour + 13*time.Minute) {
			want := naive.After(from, true)
			got, err := s.after(from)
			if err != nil || !got.Equal(want) {
				t.Errorf("%s from %s: next %v (%v), want %v", r.rule, from, got, err, want)
				break
			}
			if m := s.movedStart(from); m.Before(s.start) || m.After(from) && from.After(s.start) {
				t.Errorf("%s from %s: moved start %s outside [start, from]", r.rule, from, m)
			}
		}
	}
}

// TestEmptyRule: a rule that never occurs is told from a rare one in about one Gregorian cycle.
func TestEmptyRule(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		empty bool
	}{
		{"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", true},
		{"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29", false},
		{"FREQ=DAILY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29", false},
		{"FREQ=WEEKLY;INTERVAL=3;BYMONTH=4;BYMONTHDAY=31", true},
		{"FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2", false},
		{"FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2;BYMONTHDAY=1", true},
		{"FREQ=YEARLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29", false},
		{"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", true},
	} {
		w := &Workshop{StartsAt: "2026-03-03T18:00:00", Timezone: "Europe/Paris", Duration: "PT1H", Recurrence: tc.rule}
		s, err := w.series()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.empty(); err != nil || got != tc.empty {
			t.Errorf("%s: empty %v (%v), want %v", tc.rule, got, err, tc.empty)
		}
	}
}
