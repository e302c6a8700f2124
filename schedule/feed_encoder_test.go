package schedule

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// encoderCases are workshops that exercise every branch of the VEVENT encoder: text to escape,
// control characters, CRLF, invalid UTF-8, lines to fold across multi-byte characters, UTC and
// zoned times, series with EXDATEs and without end, replays, repeated software.
func encoderCases() []*Workshop {
	long := strings.Repeat("Découvrez le partage 🎓 ; droits, liens\\ ", 12)
	base := time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)
	var out []*Workshop
	add := func(w Workshop) {
		w.ID = fmt.Sprintf("case%02d", len(out))
		w.UID = w.ID + "@atelier.example.org"
		if w.Duration == "" {
			w.Duration = "PT1H30M"
		}
		if w.Status == "" {
			w.Status = StatusConfirmed
		}
		w.CreatedAt = base.Add(time.Duration(len(out)) * time.Hour)
		w.UpdatedAt = w.CreatedAt.Add(90 * time.Minute)
		w.Sequence = len(out) % 3
		out = append(out, &w)
	}
	add(Workshop{Title: "Plain", StartsAt: "2026-03-03T18:00:00", Timezone: "Europe/Paris"})
	add(Workshop{Title: long[:190], Description: long + "\r\nsecond line\n\n\tindented\x01\x7f", StartsAt: "2026-03-28T18:00:00",
		Timezone: "Europe/Paris", Recurrence: "FREQ=WEEKLY;BYDAY=SA;COUNT=6", ExDates: []string{"2026-04-04T18:00:00"},
		Location: "Salle 3, rue de l'École; 2e étage", Language: "fr", Animator: "Camille Dupré",
		Documents:       []Document{{Software: "nextcloud", Version: "28.0.2"}, {Software: "nextcloud", Version: "29"}, {Software: "inkscape"}},
		RegistrationURL: "https://example.org/register?a=1&b=2"})
	add(Workshop{Title: "UTC \xff invalid \xef\xbf\xbd", StartsAt: "2026-10-25T01:30:00", Timezone: "UTC",
		Recurrence: "FREQ=DAILY", Description: "   ", ReplayID: "0123456789abcdef", Status: StatusTentative})
	add(Workshop{Title: "Endless", StartsAt: "2026-01-06T18:00:00", Timezone: "America/Montreal",
		Recurrence: "FREQ=WEEKLY;BYDAY=TU", Status: StatusCancelled, Language: "en",
		Description: strings.Repeat("é", 200)})
	add(Workshop{Title: strings.Repeat("x", 74) + "🎓" + strings.Repeat("y", 100), StartsAt: "2026-07-01T10:00:00",
		Timezone: "Africa/Dakar", Animator: " spaced ", Documents: []Document{{Software: "gimp", Version: " "}}})
	add(Workshop{Title: "Kolkata", StartsAt: "2026-07-01T10:00:00", Timezone: "Asia/Kolkata", ReplayID: "r1",
		Description: "With replay", Location: strings.Repeat("https://visio.example.org/", 5)})
	add(Workshop{Title: "Season", StartsAt: "2026-03-05T18:30:00", Timezone: "Europe/Paris",
		RDates: []string{"2026-03-17T18:30:00", "2026-03-31T19:00:00"}, ExDates: []string{"2026-03-17T18:30:00"}})
	add(Workshop{Title: "Rule and dates", StartsAt: "2026-03-03T18:00:00", Timezone: "America/New_York",
		Recurrence: "FREQ=WEEKLY;COUNT=4", RDates: []string{"2026-03-12T10:00:00"}})
	return out
}

// TestWriteFeedMatchesGoICal renders the same workshops with the direct encoder and with the
// go-ical one it replaced: the bytes must be the same.
func TestWriteFeedMatchesGoICal(t *testing.T) {
	opt := FeedOptions{Name: "Atelier; workshops, all", PublicURL: "https://atelier.example.org",
		Now: time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)}
	cases := encoderCases()
	for i := range cases {
		t.Run(cases[i].ID, func(t *testing.T) { compareFeeds(t, cases[i:i+1], opt) })
	}
	t.Run("all", func(t *testing.T) { compareFeeds(t, cases, opt) })
	t.Run("empty", func(t *testing.T) { compareFeeds(t, nil, opt) })
	t.Run("stored", func(t *testing.T) {
		// Through the store: the span comes from first_start and last_end.
		ctx := context.Background()
		db, err := sqldb.Open(ctx, testenv.DB(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s, err := OpenStore(ctx, db, func() time.Time { return opt.Now })
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range encoderCases() {
			w.Title = strings.ToValidUTF8(w.Title, "?") // the API refuses invalid UTF-8
			if err := w.normalize(ctx, nil, nil); err != nil {
				t.Fatalf("%s: %v", w.ID, err)
			}
			if err := s.Create(ctx, w, "atelier.example.org"); err != nil {
				t.Fatal(err)
			}
		}
		ws, err := s.FeedWorkshops(ctx, Feed{Kind: "all"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if !w.spanKnown {
				t.Errorf("%s: span not read from the row", w.ID)
			}
		}
		compareFeeds(t, ws, opt)
	})
}

func compareFeeds(t *testing.T, ws []*Workshop, opt FeedOptions) {
	t.Helper()
	var got, want bytes.Buffer
	if err := refWriteFeed(&want, ws, opt); err != nil {
		t.Fatal(err)
	}
	if err := WriteFeed(&got, ws, opt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("direct encoder differs from go-ical:\n--- got\n%s\n--- want\n%s", got.Bytes(), want.Bytes())
	}
}

// FuzzWriteFeedText checks the direct encoder against go-ical on arbitrary text fields.
func FuzzWriteFeedText(f *testing.F) {
	f.Add("Atelier n°1 : Nextcloud 🎓", "Ligne 1\r\nLigne 2; a, b\\c", "Salle\t3", "fr", "nextcloud")
	f.Add(strings.Repeat("é", 80), "\x00\x1f\x7f\xff", "", "", "")
	f.Fuzz(func(t *testing.T, title, desc, location, lang, software string) {
		w := &Workshop{ID: "f", UID: "f@x", Title: title, Description: desc, Location: location, Language: lang,
			Animator: title, StartsAt: "2026-03-03T18:00:00", Timezone: "Europe/Paris", Duration: "PT1H",
			Status: StatusConfirmed, Documents: []Document{{Software: software, Version: desc}}}
		var got, want bytes.Buffer
		errWant := refWriteFeed(&want, []*Workshop{w}, FeedOptions{Name: location})
		errGot := WriteFeed(&got, []*Workshop{w}, FeedOptions{Name: location})
		if (errGot == nil) != (errWant == nil) {
			t.Fatalf("errors differ: %v / %v", errGot, errWant)
		}
		if errGot == nil && !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("differs:\n%q\n%q", got.Bytes(), want.Bytes())
		}
	})
}

func TestParseDBTime(t *testing.T) {
	for _, s := range []string{"2026-02-20T10:00:00.000000Z", "2026-02-20T10:00:00.123456Z", "1999-12-31T23:59:59.999999Z",
		"2026-04-31T10:00:00.000000Z", "2026-02-20T24:00:00.000000Z", "2026-02-20 10:00:00.000000Z", "", "garbage",
		"2024-02-29T00:00:00.000000Z", "2026-02-29T00:00:00.000000Z"} {
		want, _ := time.Parse(dbTime, s)
		if got := parseDBTime(s); !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseDBTime(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRenderFeedReusesEvents checks that a feed rebuilt from cached VEVENTs, after a cold
// start, edits, a cancellation and a deletion, is byte for byte WriteFeed over the rows.
func TestRenderFeedReusesEvents(t *testing.T) {
	e := newTestEnv(t)
	api := NewAPI(e.store, nil, testPublicURL, Options{Now: e.clock})
	var ids []string
	for i := range incrementalMisses + 10 { // more than incrementalMisses: the cold path first
		w := encoderCases()[i%len(encoderCases())]
		w.Title = fmt.Sprintf("%.150s %d", strings.ToValidUTF8(w.Title, "?"), i)
		if err := w.normalize(e.ctx, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Create(e.ctx, w, "atelier.example.org"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	check := func(what string, f Feed) {
		t.Helper()
		got, err := api.renderFeed(e.ctx, f, "Feed", 0)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := e.store.FeedWorkshops(e.ctx, f, api.feedSince(f))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := WriteFeed(&want, ws, FeedOptions{Name: "Feed", PublicURL: testPublicURL, Now: e.clock()}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: the rebuilt feed differs from WriteFeed:\n%s\n---\n%s", what, got, want.Bytes())
		}
	}
	all := Feed{Kind: "all"}
	check("cold", all)
	check("warm", all)
	check("software feed from events cached by another feed", Feed{Kind: "software", Key: "nextcloud"})
	edit := func(id string, fn func(w *Workshop)) {
		e.advance(time.Second)
		if _, err := e.store.Update(e.ctx, id, func(w *Workshop) (bool, error) { fn(w); return true, nil }); err != nil {
			t.Fatal(err)
		}
	}
	edit(ids[3], func(w *Workshop) { w.Title = "Edited" })
	check("after an edit", all)
	edit(ids[5], func(w *Workshop) { w.Status = StatusCancelled })
	if err := e.store.Delete(e.ctx, ids[7]); err != nil {
		t.Fatal(err)
	}
	check("after a cancellation and a deletion", all)
	e.advance(CancelledRetention + time.Hour)
	check("after the cancellations expired", all)
}
