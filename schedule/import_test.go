package schedule

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nextcloudExport is shaped like a Nextcloud Calendar export: its own VTIMEZONE, TZID'd times,
// an RRULE with EXDATE, a cancelled override, folded French text, an all-day event and an event
// with a broken RRULE.
const nextcloudExport = "BEGIN:VCALENDAR\r\n" +
	"VERSION:2.0\r\n" +
	"PRODID:-//IDN nextcloud.com//Calendar app 4.6.5//EN\r\n" +
	"CALSCALE:GREGORIAN\r\n" +
	"BEGIN:VTIMEZONE\r\n" +
	"TZID:Europe/Paris\r\n" +
	"BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:8f3c0a1e-series@nextcloud.example\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:Atelier Nextcloud \\, débutants\r\n" +
	"DESCRIPTION:Une séance par semaine\\; venez avec votre ordinateur.\\nDeuxième l\r\n igne 🚀\r\n" +
	"LOCATION:Maison des associations\r\n" +
	"DTSTART;TZID=Europe/Paris:20260303T180000\r\n" +
	"DTEND;TZID=Europe/Paris:20260303T193000\r\n" +
	"RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=10\r\n" +
	"EXDATE;TZID=Europe/Paris:20260317T180000,20260324T180000\r\n" +
	"STATUS:CONFIRMED\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:8f3c0a1e-series@nextcloud.example\r\n" +
	"RECURRENCE-ID;TZID=Europe/Paris:20260407T180000\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:Atelier Nextcloud\r\n" +
	"DTSTART;TZID=Europe/Paris:20260407T180000\r\n" +
	"DTEND;TZID=Europe/Paris:20260407T193000\r\n" +
	"STATUS:CANCELLED\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:one-off@nextcloud.example\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:Visio LibreOffice\r\n" +
	"DTSTART:20260310T170000Z\r\n" +
	"DURATION:PT1H\r\n" +
	"URL:https://events.example.org/libreoffice\r\n" +
	"STATUS:TENTATIVE\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:mozilla-tz@thunderbird.example\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:From Thunderbird\r\n" +
	"DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20260312T100000\r\n" +
	"DTEND;TZID=/mozilla.org/20050126_1/Europe/Paris:20260312T110000\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:all-day@nextcloud.example\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:Congés\r\n" +
	"DTSTART;VALUE=DATE:20260401\r\n" +
	"DTEND;VALUE=DATE:20260402\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:bad-rule@nextcloud.example\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:Broken\r\n" +
	"DTSTART;TZID=Europe/Paris:20260305T180000\r\n" +
	"DTEND;TZID=Europe/Paris:20260305T170000\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:bad-rrule@nextcloud.example\r\n" +
	"DTSTAMP:20260115T090000Z\r\n" +
	"SUMMARY:Broken rule\r\n" +
	"DTSTART;TZID=Europe/Paris:20260305T180000\r\n" +
	"DURATION:PT1H\r\n" +
	"RRULE:FREQ=WEEKLY;BYDAY=TUE\r\n" +
	"END:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func TestImport(t *testing.T) {
	e := newTestEnv(t)
	rec := e.do("POST", "/api/workshops/import?series=nextcloud-asso&language=fr", nextcloudExport, "Content-Type", "text/calendar; charset=utf-8")
	if rec.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	res := decode[struct {
		Created []string      `json:"created"`
		Errors  []ImportError `json:"errors"`
	}](t, rec)
	if len(res.Created) != 3 {
		t.Fatalf("created %v, errors %+v", res.Created, res.Errors)
	}
	wantErr := map[string]string{"all-day@nextcloud.example": "starts_at", "bad-rule@nextcloud.example": "ends_at", "bad-rrule@nextcloud.example": "recurrence"}
	if len(res.Errors) != len(wantErr) {
		t.Errorf("errors %+v", res.Errors)
	}
	for _, ie := range res.Errors {
		if wantErr[ie.UID] != ie.Field || ie.Error == "" {
			t.Errorf("error %+v, want field %q", ie, wantErr[ie.UID])
		}
		if ie.UID == "bad-rrule@nextcloud.example" && (!strings.Contains(ie.Error, "BYDAY") || ie.Index != 6) {
			t.Errorf("RRULE error does not say where: %+v", ie)
		}
	}

	series := decode[Workshop](t, e.do("GET", "/api/workshops/"+res.Created[0], nil))
	if series.Title != "Atelier Nextcloud , débutants" || series.StartsAt != "2026-03-03T18:00:00" || series.Timezone != "Europe/Paris" ||
		series.Duration != "PT1H30M" || series.Recurrence != "FREQ=WEEKLY;COUNT=10;BYDAY=TU" || series.Series != "nextcloud-asso" ||
		series.Language != "fr" || series.Description != "Une séance par semaine; venez avec votre ordinateur.\nDeuxième ligne 🚀" {
		t.Errorf("series imported as %+v", series)
	}
	if strings.Join(series.ExDates, ",") != "2026-03-17T18:00:00,2026-03-24T18:00:00,2026-04-07T18:00:00" {
		t.Errorf("exdates %v (the cancelled override must become one)", series.ExDates)
	}
	if series.UID == "8f3c0a1e-series@nextcloud.example" {
		t.Error("an imported workshop must get its own UID, not the animator's calendar's")
	}
	oneOff := decode[Workshop](t, e.do("GET", "/api/workshops/"+res.Created[1], nil))
	// A UTC time is kept as the same instant, in the default zone (Europe/Paris in these tests).
	if oneOff.StartsAt != "2026-03-10T18:00:00" || oneOff.Timezone != "Europe/Paris" || oneOff.Status != StatusTentative ||
		oneOff.RegistrationURL != "https://events.example.org/libreoffice" {
		t.Errorf("one-off imported as %+v", oneOff)
	}
	tb := decode[Workshop](t, e.do("GET", "/api/workshops/"+res.Created[2], nil))
	if tb.Timezone != "Europe/Paris" || tb.StartsAt != "2026-03-12T10:00:00" {
		t.Errorf("mozilla TZID imported as %s %s", tb.Timezone, tb.StartsAt)
	}

	// Importing the same file again creates nothing new.
	rec = e.do("POST", "/api/workshops/import", nextcloudExport, "Content-Type", "text/calendar")
	again := decode[struct {
		Created []string      `json:"created"`
		Errors  []ImportError `json:"errors"`
	}](t, rec)
	if rec.Code != http.StatusUnprocessableEntity || len(again.Created) != 0 || len(again.Errors) != 6 || !strings.Contains(again.Errors[0].Error, "already imported") {
		t.Errorf("re-import: %d %+v", rec.Code, again)
	}

	for _, body := range []string{"", "not a calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"} {
		if rec := e.do("POST", "/api/workshops/import", body, "Content-Type", "text/calendar"); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("import %q: %d", body, rec.Code)
		}
	}
	if rec := e.do("POST", "/api/workshops/import", "{}", "Content-Type", "application/json"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body: %d", rec.Code)
	}
}

// TestImportOwnFeed reads back what Atelier writes: a feed is a valid import.
func TestImportOwnFeed(t *testing.T) {
	e := newTestEnv(t)
	w := e.create(parisSeries())
	feed := getFeed(t, e, "/workshops/"+w.ID+".ics")
	items, errs, err := parseImport(bytes.NewReader(feed), ImportDefaults{})
	if err != nil || len(errs) != 0 || len(items) != 1 {
		t.Fatalf("items %d errs %+v err %v", len(items), errs, err)
	}
	got := items[0].w
	if err := got.normalize(e.ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got.Title != w.Title || got.StartsAt != w.StartsAt || got.Recurrence != w.Recurrence || got.Duration != w.Duration ||
		strings.Join(got.ExDates, ",") != strings.Join(w.ExDates, ",") || got.Location != w.Location {
		t.Errorf("round trip:\n%+v\n%+v", got, w)
	}
}

func TestReschedule(t *testing.T) {
	e := newTestEnv(t)
	ws := seedFeeds(t, e)
	rec := e.do("POST", "/api/freshness/r0123456789abcdef/reschedule", nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("reschedule: %d %s", rec.Code, rec.Body)
	}
	w := decode[Workshop](t, rec)
	if w.Status != StatusTentative || w.Title != "Premiers pas avec Nextcloud" || w.Language != "fr" ||
		len(w.Documents) != 1 || w.Documents[0] != (Document{Software: "nextcloud", Version: "28.0.0"}) ||
		w.Series != "nextcloud-asso" || w.Timezone != "Europe/Paris" || w.StartsAt != "2026-03-06T18:00:00" || w.Duration != "PT1H" ||
		!strings.Contains(w.Description, testPublicURL+"/replays/r0123456789abcdef") {
		t.Errorf("draft %+v (from workshop %s)", w, ws["past"].ID)
	}
	rec = e.do("POST", "/api/freshness/r0123456789abcdef/reschedule", map[string]any{"starts_at": "2026-04-02T14:00:00", "status": "confirmed"})
	if w := decode[Workshop](t, rec); rec.Code != http.StatusCreated || w.StartsAt != "2026-04-02T14:00:00" || w.Status != StatusConfirmed {
		t.Errorf("reschedule with overrides: %d %+v", rec.Code, w)
	}
	if rec := e.do("POST", "/api/freshness/nope/reschedule", nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown replay: %d", rec.Code)
	}
}

func FuzzImport(f *testing.F) {
	f.Add(nextcloudExport)
	f.Add(rdateExport)
	if b, err := os.ReadFile(filepath.Join("testdata", "feed-all.ics")); err == nil {
		f.Add(string(b))
	}
	f.Add("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"a:b\":20260101T000000\r\nRRULE:FREQ=DAILY;UNTIL=2026\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	f.Add("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000\r\nDURATION:P99999W\r\nEXDATE:x,,\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	ctx := t0ctx()
	f.Fuzz(func(t *testing.T, body string) {
		items, errs, err := parseImport(strings.NewReader(body), ImportDefaults{Timezone: "Europe/Paris"})
		if err != nil {
			if items != nil || errs != nil {
				t.Fatal("an error with results")
			}
			return
		}
		for _, it := range items {
			w := it.w
			if w.normalize(ctx, nil, nil) != nil {
				continue
			}
			// What validation accepts must expand and render.
			if _, err := w.Occurrences(time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 50); err != nil {
				t.Fatalf("accepted workshop does not expand: %v", err)
			}
			w.ID, w.UID = "x", "x@test"
			var buf bytes.Buffer
			if err := WriteFeed(&buf, []*Workshop{w}, FeedOptions{Name: "fuzz", PublicURL: testPublicURL, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Fatalf("accepted workshop does not render: %v\n%+v", err, w)
			}
		}
	})
}

func t0ctx() context.Context { return context.Background() }
