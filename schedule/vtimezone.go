package schedule

import (
	"fmt"
	"time"

	ical "github.com/emersion/go-ical"
)

// vtimezone builds the VTIMEZONE of loc from Go's time-zone database, covering [from, to].
// It walks the zone's changes of offset in that span with Time.ZoneBounds, starting with the
// observance already in effect at from. When every change follows a yearly rule seen at least
// twice (the last Sunday of March at 02:00...), the observances are written in the compact RRULE
// form most clients expect (FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU); otherwise each change is its own
// observance with its own DTSTART, as RFC 5545 also allows. Either way the data is the one Atelier
// expands recurrences with, so the two cannot disagree.
func vtimezone(loc *time.Location, from, to time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	changes := zoneChanges(loc, from, to)
	if len(changes) == 0 {
		// No recorded change before from: the zone's offset has held since the start of its data.
		t := from.In(loc)
		name, off := t.Zone()
		tz.Children = append(tz.Children, observance(change{dst: t.IsDST(), name: name, from: off, to: off,
			at: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}))
		return tz
	}
	if rules, ok := yearlyRules(changes); ok {
		tz.Children = rules
		return tz
	}
	for _, c := range changes {
		tz.Children = append(tz.Children, observance(c))
	}
	return tz
}

// change is one change of offset of a zone.
type change struct {
	at       time.Time // the instant
	dst      bool
	name     string
	from, to int // offsets in seconds east of UTC
}

// onset is the local time of the change read with the offset in force just before it, which is
// what an observance's DTSTART holds (with TZOFFSETFROM).
func (c change) onset() time.Time { return c.at.In(time.FixedZone("", c.from)) }

// zoneChanges lists the changes of loc from the one in effect at from up to to.
func zoneChanges(loc *time.Location, from, to time.Time) []change {
	t := from.In(loc)
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		// No change before from: list the ones after it, if any, behind a synthetic first.
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return nil
		}
		name, off := t.Zone()
		first := change{at: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), dst: t.IsDST(), name: name, from: off, to: off}
		return append([]change{first}, zoneChanges(loc, end, to)...)
	}
	var out []change
	for t = start.In(loc); len(out) < 1000; {
		name, off := t.Zone()
		_, prev := t.Add(-time.Second).Zone()
		out = append(out, change{at: t, dst: t.IsDST(), name: name, from: prev, to: off})
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		t = end.In(loc)
	}
	return out
}

// yearlyRules turns changes into one RRULE'd observance per kind of change when each kind
// recurs every year on the same weekday of the same month at the same local time, seen at least
// twice. ok is false when any change does not fit.
func yearlyRules(changes []change) (obs []*ical.Component, ok bool) {
	type rule struct {
		dst            bool
		name           string
		from, to       int
		month          time.Month
		weekday        time.Weekday
		ordinal        int // 1..4, or -1 for the last
		clock          string
		first          change
		lastYear, seen int
	}
	var rules []*rule
	for _, c := range changes {
		on := c.onset()
		days := time.Date(on.Year(), on.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		ord := (on.Day()-1)/7 + 1
		if on.Day()+7 > days {
			ord = -1
		}
		var r *rule
		for _, x := range rules {
			if x.dst == c.dst && x.from == c.from && x.to == c.to && x.name == c.name {
				r = x
			}
		}
		if r == nil {
			r = &rule{dst: c.dst, name: c.name, from: c.from, to: c.to, month: on.Month(), weekday: on.Weekday(),
				ordinal: ord, clock: on.Format("150405"), first: c, lastYear: on.Year() - 1}
			rules = append(rules, r)
		}
		if r.month != on.Month() || r.weekday != on.Weekday() || r.ordinal != ord || r.clock != on.Format("150405") ||
			on.Year() != r.lastYear+1 {
			return nil, false
		}
		r.lastYear = on.Year()
		r.seen++
	}
	if len(rules) != 2 {
		return nil, false
	}
	for _, r := range rules {
		if r.seen < 2 {
			return nil, false
		}
		c := observance(r.first)
		c.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{},
			Value: fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", r.month, r.ordinal, weekdayCodes[r.weekday])})
		obs = append(obs, c)
	}
	return obs, true
}

var weekdayCodes = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func observance(c change) *ical.Component {
	kind := ical.CompTimezoneStandard
	if c.dst {
		kind = ical.CompTimezoneDaylight
	}
	o := ical.NewComponent(kind)
	start := ical.NewProp(ical.PropDateTimeStart)
	start.Value = c.onset().Format("20060102T150405")
	o.Props.Set(start)
	o.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(c.from)})
	o.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(c.to)})
	if c.name != "" && c.name[0] != '+' && c.name[0] != '-' {
		o.Props.SetText(ical.PropTimezoneName, c.name)
	}
	return o
}

// utcOffset formats seconds east of UTC as RFC 5545 UTC-OFFSET: +0100, -0330, +053328.
func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
