package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
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
	if err := checkPerDay(parts); err != nil {
		return "", err
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

// maxPerDay bounds the occurrences a rule may give in one day: a workshop is not a clock. A
// rule with full BYHOUR, BYMINUTE and BYSECOND lists gives 86 400 a day, and expanding one such
// endless series took seconds per request.
const maxPerDay = 4

// maxExpansion caps the occurrences any one expansion walks through. Rules are bounded (at most
// maxPerDay a day, COUNT ≤ 1000, UNTIL ≤ 20 years, expansions start near the window asked for),
// so only a row stored before those bounds can reach it; it then fails instead of burning CPU.
const maxExpansion = 50_000

// expansionSteps counts the occurrences every expansion has walked through, so that tests can
// assert that work is bounded without measuring time.
var expansionSteps atomic.Int64

// errExpansion is returned by an expansion that reached maxExpansion.
var errExpansion = errors.New("schedule: the rule expands to too many occurrences")

// checkPerDay refuses rules that give more than maxPerDay occurrences a day, naming the part at
// fault: any list in BYSECOND or BYMINUTE, a BYHOUR list longer than maxPerDay.
func checkPerDay(parts map[string]string) error {
	n := func(k string) int {
		if v := parts[k]; v != "" {
			return len(strings.Split(v, ","))
		}
		return 1
	}
	switch {
	case n("BYSECOND") > 1:
		return httpapi.Invalid("recurrence", "RRULE part BYSECOND=%s: a workshop starts at one second of the minute: give one value or leave BYSECOND out", parts["BYSECOND"])
	case n("BYMINUTE") > 1:
		return httpapi.Invalid("recurrence", "RRULE part BYMINUTE=%s: a workshop starts at one minute of the hour: give one value or leave BYMINUTE out", parts["BYMINUTE"])
	case n("BYHOUR") > maxPerDay:
		return httpapi.Invalid("recurrence", "RRULE part BYHOUR=%s: at most %d hours a day (a workshop recurs at most %d times a day)", parts["BYHOUR"], maxPerDay, maxPerDay)
	}
	return nil
}

// series is a workshop's recurrence ready to expand: the rule with every part rrule-go would
// derive from DTSTART written out (so that DTSTART can move), the first start, the RDATEs, the
// EXDATEs. Without a rule (a season on chosen dates) the start is the first of the rdates.
type series struct {
	opt     rrule.ROption
	hasRule bool
	start   time.Time
	loc     *time.Location
	rdates  []time.Time // sorted
	exdates map[int64]bool
	// stepDays or stepMonths is the length of one period of the rule (INTERVAL included).
	stepDays, stepMonths int
}

// series returns the workshop's recurrence (RRULE with DTSTART in the local zone, so that the
// wall-clock time holds across changes of hour, plus RDATEs, minus EXDATEs), or nil for a single
// event.
func (w *Workshop) series() (*series, error) {
	if !w.recurs() {
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
	s := &series{start: start, loc: loc, exdates: map[int64]bool{}}
	for _, x := range w.ExDates {
		t, err := parseLocal(x, loc)
		if err != nil {
			return nil, err
		}
		s.exdates[t.Unix()] = true
	}
	if w.Recurrence == "" { // RDATE alone: DTSTART is the first occurrence (RFC 5545 §3.8.5.2)
		s.rdates = append(s.rdates, start)
	}
	for _, x := range w.RDates {
		t, err := parseLocal(x, loc)
		if err != nil {
			return nil, err
		}
		s.rdates = append(s.rdates, t)
	}
	sort.Slice(s.rdates, func(i, j int) bool { return s.rdates[i].Before(s.rdates[j]) })
	if w.Recurrence == "" {
		return s, nil
	}
	s.hasRule = true
	opt, err := rrule.StrToROptionInLocation(w.Recurrence, loc)
	if err != nil {
		return nil, err
	}
	opt.Dtstart = start
	if opt.Interval < 1 {
		opt.Interval = 1
	}
	// The parts rrule-go derives from DTSTART (see buildRRule), written out.
	if len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(opt.Bymonthday) == 0 && len(opt.Byweekday) == 0 && len(opt.Byeaster) == 0 {
		switch opt.Freq {
		case rrule.YEARLY:
			if len(opt.Bymonth) == 0 {
				opt.Bymonth = []int{int(start.Month())}
			}
			opt.Bymonthday = []int{start.Day()}
		case rrule.MONTHLY:
			opt.Bymonthday = []int{start.Day()}
		case rrule.WEEKLY:
			opt.Byweekday = []rrule.Weekday{[]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}[start.Weekday()]}
		}
	}
	if len(opt.Byhour) == 0 {
		opt.Byhour = []int{start.Hour()}
	}
	if len(opt.Byminute) == 0 {
		opt.Byminute = []int{start.Minute()}
	}
	if len(opt.Bysecond) == 0 {
		opt.Bysecond = []int{start.Second()}
	}
	switch opt.Freq {
	case rrule.DAILY:
		s.stepDays = opt.Interval
	case rrule.WEEKLY:
		s.stepDays = 7 * opt.Interval
	case rrule.MONTHLY:
		s.stepMonths = opt.Interval
	case rrule.YEARLY:
		s.stepMonths = 12 * opt.Interval
	default:
		return nil, fmt.Errorf("schedule: FREQ %v is finer than daily", opt.Freq)
	}
	s.opt = *opt
	return s, nil
}

// endless reports whether the series has a rule with neither COUNT nor UNTIL.
func (s *series) endless() bool { return s.hasRule && s.opt.Count == 0 && s.opt.Until.IsZero() }

// movedStart is the DTSTART from which the expansion of occurrences at or after from begins:
// the start of the rule's period that holds from (whole periods after the first start, so that
// INTERVAL keeps its alignment), or from itself when it falls on that day. Never before the
// first start; never moved with COUNT, which counts from the first occurrence. This is what
// keeps the next occurrence of a year-old daily series from walking the whole year.
func (s *series) movedStart(from time.Time) time.Time {
	if s.opt.Count > 0 || !from.After(s.start) {
		return s.start
	}
	from = from.In(s.loc)
	sy, sm, sd := s.start.Date()
	fy, fm, fd := from.Date()
	var p time.Time
	if s.stepDays > 0 {
		days := int(time.Date(fy, fm, fd, 0, 0, 0, 0, time.UTC).Sub(time.Date(sy, sm, sd, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
		k := days / s.stepDays
		if k == 0 {
			return s.start
		}
		p = time.Date(sy, sm, sd+k*s.stepDays, 0, 0, 0, 0, s.loc)
	} else {
		months := (fy-sy)*12 + int(fm) - int(sm)
		k := months / s.stepMonths
		if k == 0 {
			return s.start
		}
		p = time.Date(sy, sm+time.Month(k*s.stepMonths), 1, 0, 0, 0, 0, s.loc)
	}
	if py, pm, pd := p.Date(); py == fy && pm == fm && pd == fd {
		return from.Truncate(time.Second)
	}
	return p
}

// each calls fn with the occurrences (rule and RDATEs merged, minus EXDATEs) that start in
// [from, to), in order, until fn returns false. It walks at most maxExpansion occurrences; the
// RDATEs before from are skipped by a binary search, never walked.
func (s *series) each(from, to time.Time, fn func(time.Time) bool) error {
	next := func() (time.Time, bool) { return time.Time{}, false }
	if s.hasRule {
		opt := s.opt
		opt.Dtstart = s.movedStart(from)
		if opt.Until.IsZero() || to.Before(opt.Until) {
			opt.Until = to // rrule-go stops at the first occurrence past UNTIL
		}
		r, err := rrule.NewRRule(opt)
		if err != nil {
			return err
		}
		next = r.Iterator()
	}
	i := sort.Search(len(s.rdates), func(i int) bool { return !s.rdates[i].Before(from) })
	rt, rok := next()
	for n := 0; ; n++ {
		if n == maxExpansion {
			return errExpansion
		}
		var t time.Time
		haveR := i < len(s.rdates)
		switch {
		case rok && (!haveR || !s.rdates[i].Before(rt)):
			t = rt
			if haveR && s.rdates[i].Equal(rt) { // an RDATE the rule gives too: one occurrence
				i++
			}
			rt, rok = next()
		case haveR:
			t = s.rdates[i]
			i++
		default:
			return nil
		}
		if !t.Before(to) {
			return nil
		}
		expansionSteps.Add(1)
		if t.Before(from) || s.exdates[t.Unix()] {
			continue
		}
		if !fn(t) {
			return nil
		}
	}
}

// after returns the first occurrence at or after from; zero if there is none.
func (s *series) after(from time.Time) (time.Time, error) {
	var got time.Time
	err := s.each(from, farFuture, func(t time.Time) bool {
		got = t
		return false
	})
	return got, err
}

// farFuture ends expansions that have no end of their own (rrule-go stops at year 9999).
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// empty reports whether the rule (EXDATEs aside) gives no occurrence at all, such as
// FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30. rrule-go looks for the next occurrence until the year 9999
// whatever UNTIL says: hundreds of milliseconds for such a daily rule. The occurrences of a rule
// repeat with the Gregorian calendar (146 097 days, 400 years) and the rule's period, so one
// whole cycle tells: the rule is looked at from a start moved whole cycles on, near the year
// 9999, which bounds the walk to about one cycle.
func (s *series) empty() (bool, error) {
	opt := s.opt
	opt.Count, opt.Until = 0, time.Time{}
	var cycleYears int
	if s.stepDays > 0 {
		steps := lcm(146097, s.stepDays) / s.stepDays
		cycleYears = steps * s.stepDays / 365
		if m := (9999 - 2*cycleYears - s.start.Year()) * 365 / (steps * s.stepDays); m > 0 {
			opt.Dtstart = s.start.AddDate(0, 0, m*steps*s.stepDays)
		}
	} else {
		steps := lcm(4800, s.stepMonths) / s.stepMonths
		cycleYears = steps * s.stepMonths / 12
		if m := (9999 - 2*cycleYears - s.start.Year()) * 12 / (steps * s.stepMonths); m > 0 {
			y, mo, _ := s.start.Date()
			// The 1st of the month: a month shifted whole cycles on may be shorter.
			opt.Dtstart = time.Date(y, mo+time.Month(m*steps*s.stepMonths), 1, 0, 0, 0, 0, s.loc)
		}
	}
	r, err := rrule.NewRRule(opt)
	if err != nil {
		return false, err
	}
	_, ok := r.Iterator()()
	return !ok, nil
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// Occurrences returns the starts (in the workshop's zone) of the occurrences that start in
// [from, to), at most limit of them.
func (w *Workshop) Occurrences(from, to time.Time, limit int) ([]time.Time, error) {
	start, err := w.start()
	if err != nil {
		return nil, err
	}
	s, err := w.series()
	if err != nil {
		return nil, err
	}
	if s == nil {
		if !start.Before(from) && start.Before(to) {
			return []time.Time{start}, nil
		}
		return nil, nil
	}
	var out []time.Time
	err = s.each(from, to, func(t time.Time) bool {
		out = append(out, t)
		return len(out) < limit
	})
	return out, err
}

// nextOccurrence returns the start of the first occurrence still running at now (its end after
// now), nil when there is none or the series is cancelled. It starts the expansion near now,
// never at the first occurrence.
func (w *Workshop) nextOccurrence(now time.Time) *time.Time {
	d := w.duration()
	s, err := w.series()
	if err != nil {
		return nil
	}
	if s != nil && w.Status == StatusCancelled {
		return nil
	}
	if s == nil { // a single workshop keeps its time even when cancelled, as it always did
		if st, err := w.start(); err == nil && st.Add(d).After(now) {
			return &st
		}
		return nil
	}
	if t, err := s.after(now.Add(-d).Add(time.Second)); err == nil && !t.IsZero() {
		return &t
	}
	return nil
}

// span returns the first start and the last end of the workshop in UTC; last is zero for a
// series without end.
func (w *Workshop) span() (first, last time.Time, err error) {
	start, err := w.start()
	if err != nil {
		return
	}
	d := w.duration()
	s, err := w.series()
	if err != nil {
		return
	}
	if s == nil {
		return start.UTC(), start.Add(d).UTC(), nil
	}
	if s.endless() {
		f, err := s.after(start)
		return f.UTC(), time.Time{}, err
	}
	// COUNT ≤ 1000 or UNTIL ≤ 20 years at most maxPerDay a day: a bounded walk, at write time.
	err = s.each(start, farFuture, func(t time.Time) bool {
		if first.IsZero() {
			first = t
		}
		last = t
		return true
	})
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if first.IsZero() {
		return start.UTC(), start.Add(d).UTC(), nil
	}
	return first.UTC(), last.Add(d).UTC(), nil
}

// isOccurrence reports whether local (in the workshop's zone) is a start of the series.
func (w *Workshop) isOccurrence(t time.Time) bool {
	s, err := w.series()
	if err != nil || s == nil {
		return false
	}
	got, err := s.after(t)
	return err == nil && got.Equal(t)
}
