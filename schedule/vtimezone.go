package schedule

import (
	"fmt"
	"time"

	ical "github.com/emersion/go-ical"
)

// vtimezone builds the VTIMEZONE of loc from Go's time-zone database, covering [from, to]: one
// STANDARD or DAYLIGHT observance per change of offset in that span (each with its own DTSTART,
// as RFC 5545 allows), plus the observance already in effect at from. Explicit observances
// computed from the same data Atelier uses to expand recurrences cannot disagree with it, and every
// client reads them; a zone without changes gets a single STANDARD observance.
func vtimezone(loc *time.Location, from, to time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	t := from.In(loc)
	zoneStart, _ := t.ZoneBounds()
	if zoneStart.IsZero() {
		// No recorded change before from: the zone's offset has held since the start of its data.
		name, off := t.Zone()
		tz.Children = append(tz.Children, observance(t.IsDST(), name, off, off, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)))
	} else {
		t = zoneStart
	}
	for n := 0; n < 1000; n++ {
		if !t.Before(to) && n > 0 {
			break
		}
		name, off := t.Zone()
		_, prevOff := t.Add(-time.Second).Zone()
		if n > 0 || !zoneStart.IsZero() {
			// DTSTART of an observance is the local time of the onset, read with the offset in force
			// just before it (TZOFFSETFROM).
			onset := t.In(time.FixedZone("", prevOff))
			tz.Children = append(tz.Children, observance(t.IsDST(), name, prevOff, off, onset))
		}
		_, end := t.ZoneBounds()
		if end.IsZero() {
			break
		}
		t = end.In(loc)
	}
	return tz
}

func observance(dst bool, name string, from, to int, onset time.Time) *ical.Component {
	kind := ical.CompTimezoneStandard
	if dst {
		kind = ical.CompTimezoneDaylight
	}
	c := ical.NewComponent(kind)
	start := ical.NewProp(ical.PropDateTimeStart)
	start.Value = onset.Format("20060102T150405")
	c.Props.Set(start)
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(from)})
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(to)})
	if name != "" && name[0] != '+' && name[0] != '-' {
		c.Props.SetText(ical.PropTimezoneName, name)
	}
	return c
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
