package schedule

import (
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

func TestCreateValidation(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name      string
		change    map[string]any
		field     string
		mentions  string
		wantError bool
	}{
		{"unknown timezone", map[string]any{"timezone": "Europe/Pariss"}, "timezone", "Europe/Pariss", true},
		{"rrule bad day", map[string]any{"recurrence": "FREQ=WEEKLY;BYDAY=XU"}, "recurrence", "BYDAY", true},
		{"rrule bad count", map[string]any{"recurrence": "FREQ=WEEKLY;COUNT=zero"}, "recurrence", "COUNT", true},
		{"rrule unknown part", map[string]any{"recurrence": "FREQ=WEEKLY;BYFOO=1"}, "recurrence", "BYFOO", true},
		{"rrule no freq", map[string]any{"recurrence": "BYDAY=TU;COUNT=3"}, "recurrence", "FREQ", true},
		{"rrule too frequent", map[string]any{"recurrence": "FREQ=HOURLY"}, "recurrence", "FREQ=HOURLY", true},
		{"rrule until too far", map[string]any{"recurrence": "FREQ=DAILY;UNTIL=21000101T000000Z"}, "recurrence", "20 years", true},
		{"rrule count and until", map[string]any{"recurrence": "FREQ=DAILY;COUNT=2;UNTIL=20260401T000000Z"}, "recurrence", "COUNT and UNTIL", true},
		{"end before start", map[string]any{"duration": nil, "ends_at": "2026-03-03T17:00:00"}, "ends_at", "not after", true},
		{"zero duration", map[string]any{"duration": "PT0S"}, "duration", "positive", true},
		{"bad duration", map[string]any{"duration": "90 minutes"}, "duration", "ISO 8601", true},
		{"start in the DST gap", map[string]any{"starts_at": "2026-03-29T02:30:00", "recurrence": nil, "exdates": nil}, "starts_at", "does not exist", true},
		{"unknown software", map[string]any{"documents": []map[string]string{{"software": "nextclod", "version": "28.0.0"}}}, "documents[0].software", "nextcloud", true},
		{"exdate not local", map[string]any{"exdates": []string{"2026-04-14T18:00:00+02:00"}}, "exdates[0]", "local date-time", true},
		{"bad status", map[string]any{"status": "maybe"}, "status", "tentative", true},
		{"ends_at instead of duration", map[string]any{"duration": nil, "ends_at": "2026-03-03T19:45:00"}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := parisSeries()
			maps.Copy(body, tc.change)
			for k, v := range body {
				if v == nil {
					delete(body, k)
				}
			}
			rec := e.do("POST", "/api/workshops", body)
			if !tc.wantError {
				if rec.Code != http.StatusCreated {
					t.Fatalf("got %d %s", rec.Code, rec.Body)
				}
				w := decode[Workshop](t, rec)
				if w.Duration != "PT1H45M" || w.EndsAt != "2026-03-03T19:45:00" {
					t.Errorf("duration %s ends_at %s", w.Duration, w.EndsAt)
				}
				return
			}
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("got %d %s, want 422", rec.Code, rec.Body)
			}
			b := decode[httpapi.Body](t, rec)
			if b.Field != tc.field || !strings.Contains(b.Error, tc.mentions) {
				t.Errorf("got field %q error %q; want field %q mentioning %q", b.Field, b.Error, tc.field, tc.mentions)
			}
		})
	}
}

func TestWorkshopLifecycle(t *testing.T) {
	e := newTestEnv(t)
	w := e.create(parisSeries())
	if w.Sequence != 0 || w.UID != w.ID+"@atelier.example.org" || w.Status != StatusConfirmed {
		t.Fatalf("created %+v", w)
	}
	if w.Links.ICS != testPublicURL+"/workshops/"+w.ID+".ics" || w.Links.Webcal != "webcal://atelier.example.org/workshops/"+w.ID+".ics" {
		t.Errorf("links %+v", w.Links)
	}
	if w.Recurrence != "FREQ=WEEKLY;UNTIL=20261110T235959Z;BYDAY=TU" {
		t.Errorf("recurrence not normalized: %s", w.Recurrence)
	}
	if w.NextOccurrence == nil || !w.NextOccurrence.Equal(time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("next occurrence %v", w.NextOccurrence)
	}

	// A change subscribers see raises SEQUENCE; sending the same values does not.
	e.advance(time.Hour)
	rec := e.do("PATCH", "/api/workshops/"+w.ID, map[string]any{"location": "Salle 2, Maison des assos"})
	if rec.Code != http.StatusOK {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	got := decode[Workshop](t, rec)
	if got.Sequence != 1 || !got.UpdatedAt.After(w.UpdatedAt) || got.Location != "Salle 2, Maison des assos" {
		t.Errorf("after patch: seq %d updated %v location %q", got.Sequence, got.UpdatedAt, got.Location)
	}
	rec = e.do("PATCH", "/api/workshops/"+w.ID, map[string]any{"location": "Salle 2, Maison des assos"})
	if got := decode[Workshop](t, rec); got.Sequence != 1 {
		t.Errorf("a no-op patch raised SEQUENCE to %d", got.Sequence)
	}
	rec = e.do("PATCH", "/api/workshops/"+w.ID, map[string]any{"timezone": "Mars/Olympus"})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("bad patch: %d", rec.Code)
	}
	rec = e.do("PATCH", "/api/workshops/"+w.ID, map[string]any{"colour": "red"})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("unknown field: %d", rec.Code)
	}

	// Cancel one occurrence: an EXDATE, SEQUENCE up.
	rec = e.do("POST", "/api/workshops/"+w.ID+"/cancel", map[string]any{"occurrence": "2026-03-31T18:00:00"})
	if rec.Code != http.StatusOK {
		t.Fatalf("cancel occurrence: %d %s", rec.Code, rec.Body)
	}
	got = decode[Workshop](t, rec)
	if got.Sequence != 2 || strings.Join(got.ExDates, ",") != "2026-04-14T18:00:00,2026-03-31T18:00:00" || got.Status != StatusConfirmed {
		t.Errorf("after occurrence cancel: %+v", got)
	}
	for _, occ := range []string{"2026-03-31T18:00:00", "2026-04-01T18:00:00", "2026-03-31T19:00:00"} {
		rec = e.do("POST", "/api/workshops/"+w.ID+"/cancel", map[string]any{"occurrence": occ})
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("cancel %s: %d %s", occ, rec.Code, rec.Body)
		}
	}

	// Listing, filters and pagination.
	other := parisSeries()
	other["title"], other["series"], other["language"] = "LibreOffice Calc", "", "en"
	other["documents"] = []map[string]string{{"software": "libreoffice", "version": "24.2.0"}}
	other["starts_at"] = "2026-03-02T10:00:00"
	o := e.create(other)
	past := parisSeries()
	past["starts_at"], past["recurrence"], past["exdates"] = "2026-01-06T18:00:00", "", nil
	e.create(past)
	for _, tc := range []struct {
		query string
		ids   []string
	}{
		{"", []string{o.ID, w.ID}},
		{"?software=nextcloud", []string{w.ID}},
		{"?series=nextcloud-asso", []string{w.ID}},
		{"?language=en", []string{o.ID}},
		{"?limit=1", []string{o.ID}},
		{"?limit=1&offset=1", []string{w.ID}},
	} {
		rec := e.do("GET", "/api/workshops"+tc.query, nil)
		var list struct {
			Items      []Workshop `json:"items"`
			Total      int        `json:"total"`
			NextOffset *int       `json:"next_offset"`
			Links      Links      `json:"links"`
		}
		list = decode[struct {
			Items      []Workshop `json:"items"`
			Total      int        `json:"total"`
			NextOffset *int       `json:"next_offset"`
			Links      Links      `json:"links"`
		}](t, rec)
		var ids []string
		for _, it := range list.Items {
			ids = append(ids, it.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
			t.Errorf("GET /api/workshops%s: %v, want %v", tc.query, ids, tc.ids)
		}
		if tc.query == "?limit=1" && (list.Total != 2 || list.NextOffset == nil || *list.NextOffset != 1) {
			t.Errorf("pagination: total %d next %v", list.Total, list.NextOffset)
		}
		if tc.query == "?software=nextcloud" && list.Links.Webcal != "webcal://atelier.example.org/calendar/software/nextcloud.ics" {
			t.Errorf("list links %+v", list.Links)
		}
	}

	// Cancel the whole workshop, then delete the other: both leave the list, stay in the feed.
	rec = e.do("POST", "/api/workshops/"+w.ID+"/cancel", nil)
	if got := decode[Workshop](t, rec); got.Status != StatusCancelled || got.CancelledAt == nil || got.Sequence != 3 {
		t.Errorf("cancel: %+v", got)
	}
	if rec := e.do("DELETE", "/api/workshops/"+o.ID, nil); rec.Code != http.StatusNoContent {
		t.Errorf("delete: %d", rec.Code)
	}
	if rec := e.do("GET", "/api/workshops/"+o.ID, nil); rec.Code != http.StatusNotFound {
		t.Errorf("get deleted: %d", rec.Code)
	}
	if list := decode[struct{ Total int }](t, e.do("GET", "/api/workshops", nil)); list.Total != 0 {
		t.Errorf("list after cancel and delete: %d", list.Total)
	}
	feed := e.do("GET", "/calendar.ics", nil).Body.String()
	if n := strings.Count(feed, "STATUS:CANCELLED"); n != 2 {
		t.Errorf("feed has %d cancelled events, want 2:\n%s", n, feed)
	}
	// 30 days later they are gone from the feed.
	e.advance(CancelledRetention + time.Minute)
	feed = e.do("GET", "/calendar.ics", nil).Body.String()
	if strings.Contains(feed, "STATUS:CANCELLED") {
		t.Errorf("cancelled events still in the feed after 30 days")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"PT1H30M": 90 * time.Minute, "P1D": 24 * time.Hour, "PT45M": 45 * time.Minute, "P1DT2H": 26 * time.Hour, "PT90S": 90 * time.Second} {
		d, err := ParseDuration(in)
		if err != nil || d != want {
			t.Errorf("ParseDuration(%s) = %v, %v", in, d, err)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "PT1H30", "PTM", "P1H", "PT1D", "PT1HT2M"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
	if s := FormatDuration(26*time.Hour + 90*time.Second); s != "P1DT2H1M30S" {
		t.Errorf("FormatDuration = %s", s)
	}
}
