package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// rrulePartOrder is the order parts are written in once normalized (FREQ first, as RFC 5545
// recommends and some clients expect).
var rrulePartOrder = []string{"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYWEEKNO", "BYYEARDAY",
	"BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS", "WKST"}

// normalizeRRule validates an RFC 5545 RRULE value part by part, so that the error names the part
// at fault, and returns it in canonical form: upper case, FREQ first, UNTIL in UTC (RFC 5545 wants
// UTC when DTSTART carries a TZID; a local UNTIL is read in loc). Workshops recur daily at most:
// FREQ=HOURLY and finer are refused.
func normalizeRRule(s string, loc *time.Location) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "RRULE:")
	if s == "" {
		return "", nil
	}
	if len(s) > 500 {
		return "", httpapi.Invalid("recurrence", "RRULE longer than 500 characters")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(s, ";") {
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.ToUpper(strings.TrimSpace(v))
		if !ok || k == "" {
			return "", httpapi.Invalid("recurrence", "RRULE part %q: want NAME=VALUE", p)
		}
		if v == "" {
			return "", httpapi.Invalid("recurrence", "RRULE part %s has no value", k)
		}
		if _, dup := parts[k]; dup {
			return "", httpapi.Invalid("recurrence", "RRULE part %s appears twice", k)
		}
		if err := checkRRulePart(k, v, loc); err != nil {
			return "", httpapi.Invalid("recurrence", "RRULE part %s=%s: %v", k, v, err)
		}
		if k == "UNTIL" {
			t, _ := parseUntil(v, loc)
			v = t.UTC().Format("20060102T150405Z")
		}
		parts[k] = v
	}
	if parts["FREQ"] == "" {
		return "", httpapi.Invalid("recurrence", "RRULE needs FREQ (e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=6)")
	}
	if parts["COUNT"] != "" && parts["UNTIL"] != "" {
		return "", httpapi.Invalid("recurrence", "RRULE has both COUNT and UNTIL: keep one")
	}
	var out []string
	for _, k := range rrulePartOrder {
		if v, ok := parts[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	norm := strings.Join(out, ";")
	opt, err := rrule.StrToROptionInLocation(norm, loc)
	if err != nil {
		return "", httpapi.Invalid("recurrence", "RRULE %s: %v", norm, err)
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		return "", httpapi.Invalid("recurrence", "RRULE %s: %v", norm, err)
	}
	return norm, nil
}

func parseUntil(v string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"20060102T150405Z", "20060102T150405", "20060102"} {
		l := loc
		if strings.HasSuffix(layout, "Z") {
			l = time.UTC
		}
		if t, err := time.ParseInLocation(layout, v, l); err == nil {
			if layout == "20060102" {
				t = t.Add(24*time.Hour - time.Second) // the whole day is included
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want a date-time like 20260331T235959Z")
}

func checkRRulePart(k, v string, loc *time.Location) error {
	ints := func(lo, hi int, zeroOK bool) error {
		for _, x := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimPrefix(x, "+"))
			if err != nil {
				return fmt.Errorf("%q is not a number", x)
			}
			if n < lo || n > hi || (n == 0 && !zeroOK) {
				return fmt.Errorf("%d is out of range", n)
			}
		}
		return nil
	}
	switch k {
	case "FREQ":
		switch v {
		case "DAILY", "WEEKLY", "MONTHLY", "YEARLY":
			return nil
		case "HOURLY", "MINUTELY", "SECONDLY":
			return fmt.Errorf("workshops recur at most daily")
		}
		return fmt.Errorf("want DAILY, WEEKLY, MONTHLY or YEARLY")
	case "INTERVAL":
		return ints(1, 1000, false)
	case "COUNT":
		return ints(1, 1000, false)
	case "UNTIL":
		_, err := parseUntil(v, loc)
		return err
	case "BYMONTH":
		return ints(1, 12, false)
	case "BYWEEKNO":
		return ints(-53, 53, false)
	case "BYYEARDAY":
		return ints(-366, 366, false)
	case "BYMONTHDAY":
		return ints(-31, 31, false)
	case "BYHOUR":
		return ints(0, 23, true)
	case "BYMINUTE":
		return ints(0, 59, true)
	case "BYSECOND":
		return ints(0, 59, true)
	case "BYSETPOS":
		return ints(-366, 366, false)
	case "WKST":
		if _, ok := weekdays[v]; !ok {
			return fmt.Errorf("want MO, TU, WE, TH, FR, SA or SU")
		}
		return nil
	case "BYDAY":
		for _, x := range strings.Split(v, ",") {
			if len(x) < 2 {
				return fmt.Errorf("%q is not a day like TU or -1SU", x)
			}
			if _, ok := weekdays[x[len(x)-2:]]; !ok {
				return fmt.Errorf("%q: day %q is not MO, TU, WE, TH, FR, SA or SU", x, x[len(x)-2:])
			}
			if n := x[:len(x)-2]; n != "" {
				i, err := strconv.Atoi(strings.TrimPrefix(n, "+"))
				if err != nil || i == 0 || i < -53 || i > 53 {
					return fmt.Errorf("%q: bad ordinal %q", x, n)
				}
			}
		}
		return nil
	case "DTSTART":
		return fmt.Errorf("give the start in starts_at, not in the RRULE")
	}
	return fmt.Errorf("unknown RRULE part")
}

var weekdays = map[string]bool{"MO": true, "TU": true, "WE": true, "TH": true, "FR": true, "SA": true, "SU": true}

// recurrence returns the workshop's occurrence set (RRULE, DTSTART in the local zone so that the
// wall-clock time holds across changes of hour, minus EXDATEs), or nil for a single event.
func (w *Workshop) recurrence() (*rrule.Set, error) {
	if w.Recurrence == "" {
		return nil, nil
	}
	loc, err := w.location()
	if err != nil {
		return nil, err
	}
	start, err := parseLocal(w.StartsAt, loc)
	if err != nil {
		return nil, err
	}
	opt, err := rrule.StrToROptionInLocation(w.Recurrence, loc)
	if err != nil {
		return nil, err
	}
	opt.Dtstart = start
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, err
	}
	set := &rrule.Set{}
	set.RRule(r)
	for _, s := range w.ExDates {
		t, err := parseLocal(s, loc)
		if err != nil {
			return nil, err
		}
		set.ExDate(t)
	}
	return set, nil
}

// Occurrences returns the starts (in the workshop's zone) of the occurrences that start in
// [from, to), at most limit of them.
func (w *Workshop) Occurrences(from, to time.Time, limit int) ([]time.Time, error) {
	start, err := w.start()
	if err != nil {
		return nil, err
	}
	set, err := w.recurrence()
	if err != nil {
		return nil, err
	}
	if set == nil {
		if !start.Before(from) && start.Before(to) {
			return []time.Time{start}, nil
		}
		return nil, nil
	}
	var out []time.Time
	next := set.Iterator()
	for len(out) < limit {
		t, ok := next()
		if !ok || !t.Before(to) {
			break
		}
		if !t.Before(from) {
			out = append(out, t)
		}
	}
	return out, nil
}

// span returns the first start and the last end of the workshop in UTC; last is zero for a
// series without end.
func (w *Workshop) span() (first, last time.Time, err error) {
	start, err := w.start()
	if err != nil {
		return
	}
	d := w.duration()
	set, err := w.recurrence()
	if err != nil {
		return
	}
	if set == nil {
		return start.UTC(), start.Add(d).UTC(), nil
	}
	if !strings.Contains(w.Recurrence, "COUNT=") && !strings.Contains(w.Recurrence, "UNTIL=") {
		f := set.After(start.Add(-time.Second), true)
		return f.UTC(), time.Time{}, nil
	}
	all := set.All()
	if len(all) == 0 {
		return start.UTC(), start.Add(d).UTC(), nil
	}
	return all[0].UTC(), all[len(all)-1].Add(d).UTC(), nil
}

// isOccurrence reports whether local (in the workshop's zone) is a start of the series.
func (w *Workshop) isOccurrence(t time.Time) bool {
	set, err := w.recurrence()
	if err != nil || set == nil {
		return false
	}
	got := set.After(t.Add(-time.Second), true)
	return got.Equal(t)
}
