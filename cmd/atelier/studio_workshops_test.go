package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	ical "github.com/emersion/go-ical"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// setJS sets a form control's value as typing would (input and change events), for the date
// and time inputs whose typed form depends on the browser's locale.
const setJS = `(sel, v) => { const e = document.querySelector(sel); e.value = v;
  e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return e.value; }`

func setValue(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		got, err := chromedp.Evaluate[string](fmt.Sprintf("(%s)(%q, %q)", setJS, sel, v))(ctx, t)
		if err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("%s holds %q, not %q", sel, got, v)
		}
		return nil
	})
}

// waitTrue waits until the expression is true, as a step of chromedp.Do.
func waitTrue(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", expr, err)
		}
		return nil
	})
}

// feedEvent returns the VEVENT of /calendar.ics whose SUMMARY is title.
func feedEvent(t *testing.T, base, title string) *ical.Event {
	t.Helper()
	resp, err := http.Get(base + "/calendar.ics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	cal, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("calendar.ics: %v\n%s", err, body)
	}
	for _, ev := range cal.Events() {
		if s, _ := ev.Props.Text(ical.PropSummary); s == title {
			return &ev
		}
	}
	t.Fatalf("no event %q in calendar.ics:\n%s", title, body)
	return nil
}

// TestStudioWorkshopsBrowser drives the studio's workshops page in Chromium: a weekly workshop
// on Tuesday and Thursday every 2 weeks, 6 times, built with the form, previewed by the server
// and found in /calendar.ics with the right RRULE; a season on chosen dates found with its
// RDATEs; one session cancelled (an EXDATE); the edit form reads a rule back; an import warns
// about an event without end; the upload form offers the workshop. Screenshots in English and
// French at desktop width and 390 px.
func TestStudioWorkshopsBrowser(t *testing.T) {
	browser := testenv.Browser(t)
	srv := startE2E(t)
	shots := testenv.Screenshots(t)
	animator, _, err := srv.a.auth.Create(context.Background(), "Ana", auth.RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	step := browserStep(t, browser)
	shot := checkedPNG(t, shots, false)
	// The first Tuesday at least two weeks ahead, in Paris.
	paris, _ := time.LoadLocation("Europe/Paris")
	day := time.Now().In(paris).AddDate(0, 0, 14)
	for day.Weekday() != time.Tuesday {
		day = day.AddDate(0, 0, 1)
	}
	date := func(d time.Time) string { return d.Format("2006-01-02") }

	step("sign in", 20*time.Second, func(c context.Context) error {
		return chromedp.Do(c,
			studioSignIn(srv.url, animator),
			chromedp.Click(chromedp.CSS("#studio-workshops")),
			loaded("#ws-form"),
			chromedp.WaitVisible(chromedp.CSS("#ws-form")),
		)
	})

	var weeklyID string
	step("weekly on Tuesday and Thursday every 2 weeks, 6 times", 30*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			chromedp.SendKeys(chromedp.CSS("#w-title"), "Nextcloud evenings"),
			setValue("#w-date", date(day)), setValue("#w-time", "18:30"), setValue("#w-tz", "Europe/Paris"),
			setValue("#w-hours", "2"), setValue("#w-minutes", "0"),
			chromedp.Click(chromedp.CSS("#w-mode-weekly")),
			chromedp.WaitVisible(chromedp.CSS("#w-interval")),
			setValue("#w-interval", "2"),
			chromedp.Click(chromedp.CSS("#w-day-TU")), chromedp.Click(chromedp.CSS("#w-day-TH")),
			chromedp.Click(chromedp.CSS("#w-end-count")), setValue("#w-count", "6"),
		)
		if err != nil {
			return err
		}
		// The server's preview: six sessions, Tuesdays and Thursdays of every other week.
		if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.querySelectorAll("#w-preview-list li").length === 6`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			text, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#w-preview")))
			return fmt.Errorf("preview: %w (%s)", err, text)
		}
		starts, err := chromedp.Run(c, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#w-preview-list li")].map(li => li.dataset.start)`))
		if err != nil {
			return err
		}
		want := []string{date(day), date(day.AddDate(0, 0, 2)), date(day.AddDate(0, 0, 14)), date(day.AddDate(0, 0, 16)), date(day.AddDate(0, 0, 28)), date(day.AddDate(0, 0, 30))}
		for i, s := range starts {
			if s != want[i]+"T18:30:00" {
				return fmt.Errorf("preview %v, want the dates %v at 18:30", starts, want)
			}
		}
		first, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#w-preview-list li")))
		if !strings.Contains(first, "Tuesday") {
			return fmt.Errorf("the first session reads %q", first)
		}
		if err := shot(c, "studio-workshops-form-en.png"); err != nil {
			return err
		}
		if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#w-save")), chromedp.WaitVisible(chromedp.CSS("#w-saved-link"))); err != nil {
			res, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#w-result")))
			return fmt.Errorf("save: %w (%s)", err, res)
		}
		a, err := chromedp.Run(c, chromedp.AttributeValue(chromedp.CSS("#w-saved-link"), "data-id"))
		weeklyID = a.Value
		return err
	})
	ev := feedEvent(t, srv.url, "Nextcloud evenings")
	if rr := ev.Props.Get(ical.PropRecurrenceRule); rr == nil || rr.Value != "FREQ=WEEKLY;INTERVAL=2;COUNT=6;BYDAY=TU,TH" {
		t.Errorf("RRULE %+v", rr)
	}
	if p := ev.Props.Get(ical.PropDateTimeStart); p == nil || p.Params.Get(ical.PropTimezoneID) != "Europe/Paris" || p.Value != day.Format("20060102")+"T183000" {
		t.Errorf("DTSTART %+v", p)
	}
	if p := ev.Props.Get(ical.PropDateTimeEnd); p == nil || p.Value != day.Format("20060102")+"T203000" {
		t.Errorf("DTEND %+v (2 hours)", p)
	}

	// A season: six sessions on chosen dates, one of them at another time.
	season := []string{date(day.AddDate(0, 0, 1)), date(day.AddDate(0, 0, 9)), date(day.AddDate(0, 0, 20)), date(day.AddDate(0, 0, 31)), date(day.AddDate(0, 0, 45)), date(day.AddDate(0, 0, 60))}
	step("season on chosen dates", 30*time.Second, func(c context.Context) error {
		err := chromedp.Do(c,
			chromedp.Click(chromedp.CSS("#w-reset")),
			chromedp.SendKeys(chromedp.CSS("#w-title"), "Spring season"),
			setValue("#w-date", season[0]), setValue("#w-time", "19:00"), setValue("#w-tz", "Europe/Paris"),
			chromedp.Click(chromedp.CSS("#w-mode-dates")),
			chromedp.WaitVisible(chromedp.CSS("#w-rdates li .rd-date")),
		)
		if err != nil {
			return err
		}
		for i := 1; i < len(season); i++ {
			if i > 1 {
				if err := chromedp.Do(c, chromedp.Click(chromedp.CSS("#w-adddate"))); err != nil {
					return err
				}
			}
			sel := fmt.Sprintf("#w-rdates li:nth-child(%d) .rd-date", i)
			if err := chromedp.Do(c, setValue(sel, season[i])); err != nil {
				return err
			}
		}
		if err := chromedp.Do(c, setValue("#w-rdates li:nth-child(3) .rd-time", "20:15")); err != nil {
			return err
		}
		if _, err := chromedp.Run(c, chromedp.Poll[bool](`document.querySelectorAll("#w-preview-list li").length === 6`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			text, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("#w-preview")))
			return fmt.Errorf("preview: %w (%s)", err, text)
		}
		if err := shot(c, "studio-workshops-season-en.png"); err != nil {
			return err
		}
		return chromedp.Do(c, chromedp.Click(chromedp.CSS("#w-save")), chromedp.WaitVisible(chromedp.CSS("#w-saved-link")))
	})
	ev = feedEvent(t, srv.url, "Spring season")
	var rdates []string
	for _, p := range ev.Props.Values(ical.PropRecurrenceDates) {
		if p.Params.Get(ical.PropTimezoneID) != "Europe/Paris" {
			t.Errorf("RDATE without its TZID: %+v", p)
		}
		rdates = append(rdates, p.Value)
	}
	var want []string
	for i, d := range season[1:] {
		hm := "190000"
		if i == 2 {
			hm = "201500"
		}
		want = append(want, strings.ReplaceAll(d, "-", "")+"T"+hm)
	}
	if strings.Join(rdates, " ") != strings.Join(want, " ") || ev.Props.Get(ical.PropRecurrenceRule) != nil {
		t.Errorf("RDATEs %v, want %v (and no RRULE)", rdates, want)
	}

	step("cancel one session of the season", 20*time.Second, func(c context.Context) error {
		row := `#ws-list tr:has(a[href^="/workshops/"]:not([href="/workshops/` + weeklyID + `"]))`
		err := chromedp.Do(c,
			chromedp.WaitVisible(chromedp.CSS(row+" .ws-cancel-open")),
			chromedp.Click(chromedp.CSS(row+" .ws-cancel-open")),
			chromedp.WaitVisible(chromedp.CSS(row+` input[value="one"]`)),
			chromedp.Click(chromedp.CSS(row+` input[value="one"]`)),
			waitTrue(`document.querySelectorAll(".ws-cancel select option").length === 6`),
			setValue(".ws-cancel select", season[2]+"T19:00:00"),
			chromedp.Click(chromedp.CSS(row+" .ws-cancel-go")),
			chromedp.WaitVisible(chromedp.CSS("#ws-list-status")),
		)
		if err != nil {
			return err
		}
		_, err = chromedp.Run(c, chromedp.Poll[bool](`document.getElementById("ws-list-status").textContent.includes("Spring season")`, chromedp.WithPollingTimeout(10*time.Second)))
		return err
	})
	ev = feedEvent(t, srv.url, "Spring season")
	if p := ev.Props.Get(ical.PropExceptionDates); p == nil || p.Value != strings.ReplaceAll(season[2], "-", "")+"T190000" {
		t.Errorf("EXDATE after cancelling one session: %+v", p)
	}

	step("edit reads the rule back", 20*time.Second, func(c context.Context) error {
		err := chromedp.Do(c, chromedp.Click(chromedp.CSS(`#ws-list tr[data-id="`+weeklyID+`"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#w-interval")))
		if err != nil {
			return err
		}
		got, err := chromedp.Run(c, chromedp.Evaluate[string](`[document.getElementById("w-interval").value, document.getElementById("w-day-TU").checked,
			document.getElementById("w-day-TH").checked, document.getElementById("w-day-MO").checked, document.getElementById("w-count").value,
			document.getElementById("w-hours").value, document.getElementById("w-minutes").value].join(" ")`))
		if err != nil {
			return err
		}
		if got != "2 true true false 6 2 0" {
			return fmt.Errorf("the edit form reads %q", got)
		}
		// Every other week becomes every week: the feed follows.
		if err := chromedp.Do(c, setValue("#w-interval", "1"), chromedp.Click(chromedp.CSS("#w-save")), chromedp.WaitVisible(chromedp.CSS("#w-saved-link"))); err != nil {
			return err
		}
		return nil
	})
	if rr := feedEvent(t, srv.url, "Nextcloud evenings").Props.Get(ical.PropRecurrenceRule); rr == nil || rr.Value != "FREQ=WEEKLY;COUNT=6;BYDAY=TU,TH" {
		t.Errorf("RRULE after the edit: %+v", rr)
	}

	step("import warns about an event without end", 20*time.Second, func(c context.Context) error {
		f := filepath.Join(t.TempDir(), "export.ics")
		ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:no-end@test\r\nDTSTAMP:20260101T000000Z\r\n" +
			"SUMMARY:Imported without end\r\nDTSTART;TZID=Europe/Paris:" + day.AddDate(0, 0, 3).Format("20060102") + "T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		if err := os.WriteFile(f, []byte(ics), 0o644); err != nil {
			return err
		}
		err := chromedp.Do(c, chromedp.SetUploadFiles(chromedp.CSS("#i-file"), []string{f}),
			chromedp.Click(chromedp.CSS(`#ws-import button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#i-created")))
		if err != nil {
			return err
		}
		text, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#i-result")))
		if err != nil {
			return err
		}
		if !strings.Contains(text, "1 workshops imported") || !strings.Contains(text, "DTEND") || !strings.Contains(text, "1h30") {
			return fmt.Errorf("import result %q", text)
		}
		return nil
	})
	if p := feedEvent(t, srv.url, "Imported without end").Props.Get(ical.PropDateTimeEnd); p == nil || !strings.HasSuffix(p.Value, "T113000") {
		t.Errorf("imported DTEND %+v (the default 1h30)", p)
	}

	step("the upload form offers the workshop", 20*time.Second, func(c context.Context) error {
		return chromedp.Do(c, chromedp.Navigate(srv.url+"/studio?lang=en"),
			chromedp.WaitReady(chromedp.CSS(`#u-workshop option[value="`+weeklyID+`"]`)))
	})

	for _, lang := range []string{"en", "fr"} {
		step("screenshots "+lang, 40*time.Second, func(c context.Context) error {
			err := chromedp.Do(c, chromedp.Navigate(srv.url+"/studio/workshops?lang="+lang),
				chromedp.WaitVisible(chromedp.CSS("#ws-list table")),
				chromedp.Click(chromedp.CSS("#w-mode-weekly")),
				setValue("#w-date", date(day)), chromedp.Click(chromedp.CSS("#w-day-TU")), chromedp.Click(chromedp.CSS("#w-day-TH")),
				waitTrue(`document.querySelectorAll("#w-preview-list li").length > 0`),
			)
			if err != nil {
				return err
			}
			if err := shot(c, "studio-workshops-"+lang+".png"); err != nil {
				return err
			}
			if err := chromedp.Do(c, chromedp.EmulateViewport(390, 844)); err != nil {
				return err
			}
			defer chromedp.Do(c, chromedp.EmulateViewport(1280, 900))
			if wide, err := chromedp.Run(c, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 392`)); err != nil || wide {
				return fmt.Errorf("the page is wider than 390 px (%v)", err)
			}
			return shot(c, "studio-workshops-390-"+lang+".png")
		})
	}
}
