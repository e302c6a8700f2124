package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// MaxImportEvents bounds one import.
const MaxImportEvents = 500

// ImportDefaults fill what an exported calendar does not say.
type ImportDefaults struct {
	Timezone string // for floating and UTC times; UTC when empty
	Series   string
	Language string
	Animator string
	Status   Status
	// Duration is given, with a warning, to an event without DTEND or DURATION (DefaultDuration
	// if zero).
	Duration time.Duration
}

// ImportError is a per-event failure of an import.
type ImportError struct {
	Index   int    `json:"index"` // position of the VEVENT in the file
	UID     string `json:"uid,omitempty"`
	Summary string `json:"summary,omitempty"`
	Field   string `json:"field,omitempty"`
	Error   string `json:"error"`
}

// ImportWarning tells what an import assumed about an event it created.
type ImportWarning struct {
	Index   int    `json:"index"`
	UID     string `json:"uid,omitempty"`
	Summary string `json:"summary,omitempty"`
	Field   string `json:"field,omitempty"`
	Warning string `json:"warning"`
	ID      string `json:"id,omitempty"` // the workshop created
}

// imported is one VEVENT turned into a workshop, not yet validated.
type imported struct {
	index    int
	w        *Workshop
	warnings []ImportWarning
}

// parseImport reads a text/calendar body into workshops. It returns an error only when the body
// is not iCalendar at all; problems with single events are ImportErrors.
func parseImport(r io.Reader, def ImportDefaults) (items []imported, errs []ImportError, err error) {
	defer func() {
		if p := recover(); p != nil {
			items, errs, err = nil, nil, httpapi.Invalid("", "malformed iCalendar: %v", p)
		}
	}()
	cal, err := ical.NewDecoder(r).Decode()
	if err != nil {
		return nil, nil, httpapi.Invalid("", "malformed iCalendar: %v", strings.TrimPrefix(err.Error(), "ical: "))
	}
	byUID := map[string]bool{}
	var overrides []*ical.Component
	var overrideIdx []int
	n := 0
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		idx := n
		n++
		if n > MaxImportEvents {
			return nil, nil, httpapi.Invalid("", "more than %d events: split the file", MaxImportEvents)
		}
		if c.Props.Get(ical.PropRecurrenceID) != nil {
			overrides = append(overrides, c)
			overrideIdx = append(overrideIdx, idx)
			continue
		}
		it, ierr := eventToWorkshop(c, def)
		if ierr != nil {
			ierr.Index = idx
			errs = append(errs, *ierr)
			continue
		}
		it.index = idx
		items = append(items, it)
		if uid := it.w.sourceUID; uid != "" {
			byUID[uid] = true
		}
	}
	// A cancelled occurrence of an imported series becomes an EXDATE; other modified occurrences
	// have no place in a workshop and are reported.
	for k, c := range overrides {
		uid := propText(c, ical.PropUID)
		status := strings.ToUpper(propText(c, ical.PropStatus))
		if !byUID[uid] || status != "CANCELLED" {
			errs = append(errs, ImportError{Index: overrideIdx[k], UID: uid, Summary: propText(c, ical.PropSummary), Field: "recurrence_id",
				Error: "a modified single occurrence (RECURRENCE-ID) is not imported; only cancelled ones become exdates"})
			continue
		}
		for i := range items {
			if items[i].w.sourceUID != uid {
				continue
			}
			loc, _ := loadLocation(items[i].w.Timezone)
			t, err := propTime(c.Props.Get(ical.PropRecurrenceID), loc)
			if err == nil {
				items[i].w.ExDates = append(items[i].w.ExDates, t.In(loc).Format(LocalLayout))
			}
		}
	}
	return items, errs, nil
}

func propText(c *ical.Component, name string) string {
	p := c.Props.Get(name)
	if p == nil {
		return ""
	}
	s, err := p.Text()
	if err != nil {
		return p.Value
	}
	return s
}

// resolveTZID maps a TZID to a Go location: IANA names directly, and the prefixed forms some
// clients write (/mozilla.org/20050126_1/Europe/Paris, /citadel.org/.../Europe/Paris).
func resolveTZID(tzid string) (*time.Location, error) {
	if loc, err := loadLocation(tzid); err == nil {
		return loc, nil
	}
	parts := strings.Split(strings.Trim(tzid, "/"), "/")
	for i := len(parts) - 2; i >= 0 && i >= len(parts)-3; i-- {
		if loc, err := loadLocation(strings.Join(parts[i:], "/")); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("unknown time zone %q", tzid)
}

// propTime reads a DATE-TIME or DATE property; floating times are read in def.
func propTime(p *ical.Prop, def *time.Location) (time.Time, error) {
	if p == nil {
		return time.Time{}, errors.New("missing")
	}
	loc := def
	if tzid := p.Params.Get(ical.PropTimezoneID); tzid != "" {
		l, err := resolveTZID(tzid)
		if err != nil {
			return time.Time{}, err
		}
		loc = l
	}
	v := strings.TrimSpace(p.Value)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	for _, layout := range []string{"20060102T150405Z", "20060102T150405", "20060102"} {
		l := loc
		if strings.HasSuffix(layout, "Z") {
			l = time.UTC
		}
		if t, err := time.ParseInLocation(layout, v, l); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date-time %q", v)
}

func eventToWorkshop(c *ical.Component, def ImportDefaults) (imported, *ImportError) {
	uid := propText(c, ical.PropUID)
	summary := propText(c, ical.PropSummary)
	fail := func(field, format string, args ...any) (imported, *ImportError) {
		return imported{}, &ImportError{UID: uid, Summary: summary, Field: field, Error: fmt.Sprintf(format, args...)}
	}
	defLoc := time.UTC
	if def.Timezone != "" {
		l, err := loadLocation(def.Timezone)
		if err != nil {
			return fail("timezone", "unknown default time zone %q", def.Timezone)
		}
		defLoc = l
	}
	dtstart := c.Props.Get(ical.PropDateTimeStart)
	if dtstart == nil {
		return fail("starts_at", "the event has no DTSTART")
	}
	start, err := propTime(dtstart, defLoc)
	if err != nil {
		return fail("starts_at", "DTSTART: %v", err)
	}
	allDay := len(strings.TrimSpace(dtstart.Value)) == 8
	if allDay {
		return fail("starts_at", "an all-day event is not a workshop: give it a start time")
	}
	loc := start.Location()
	if loc == time.UTC {
		loc = defLoc
		start = start.In(loc)
	}
	w := &Workshop{
		Title:       summary,
		Description: propText(c, ical.PropDescription),
		StartsAt:    start.Format(LocalLayout),
		Timezone:    loc.String(),
		Location:    propText(c, ical.PropLocation),
		Language:    def.Language,
		Animator:    def.Animator,
		Series:      def.Series,
		Status:      def.Status,
		sourceUID:   uid,
	}
	if w.Status == "" {
		w.Status = StatusConfirmed
	}
	switch strings.ToUpper(propText(c, ical.PropStatus)) {
	case "TENTATIVE":
		w.Status = StatusTentative
	case "CANCELLED":
		w.Status = StatusCancelled
	}
	if u := c.Props.Get(ical.PropURL); u != nil && (strings.HasPrefix(u.Value, "https://") || strings.HasPrefix(u.Value, "http://")) {
		w.RegistrationURL = u.Value
	}
	var warnings []ImportWarning
	if field, err := eventDuration(c, w, start, loc); errors.Is(err, errNoDuration) {
		d := def.Duration
		if d <= 0 {
			d = DefaultDuration
		}
		w.Duration = FormatDuration(d)
		warnings = append(warnings, ImportWarning{UID: uid, Summary: summary, Field: "duration",
			Warning: fmt.Sprintf("the event has neither DTEND nor DURATION: it lasts %s, the instance's default (-default-duration); change it if it is wrong", humanDuration(d))})
	} else if err != nil {
		return fail(field, "%v", err)
	}
	if rr := c.Props.Values(ical.PropRecurrenceRule); len(rr) > 1 {
		return fail("recurrence", "more than one RRULE")
	} else if len(rr) == 1 {
		w.Recurrence = rr[0].Value
	}
	rdates, err := eventDates(c, ical.PropRecurrenceDates, start, loc)
	if err != nil {
		return fail("rdates", "RDATE: %v", err)
	}
	w.RDates = rdates
	exdates, err := eventDates(c, ical.PropExceptionDates, start, loc)
	if err != nil {
		return fail("exdates", "EXDATE: %v", err)
	}
	w.ExDates = exdates
	return imported{w: w, warnings: warnings}, nil
}

// errNoDuration is an event with neither DTEND nor DURATION: it gets the default duration.
var errNoDuration = errors.New("the event has neither DTEND nor DURATION")

// humanDuration writes d for people: 1h30, 45 min, 2h.
func humanDuration(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02d", h, m)
}

// eventDuration sets w.Duration from DTEND or DURATION; on error it names the field at fault.
func eventDuration(c *ical.Component, w *Workshop, start time.Time, loc *time.Location) (field string, err error) {
	if p := c.Props.Get(ical.PropDateTimeEnd); p != nil {
		end, err := propTime(p, loc)
		if err != nil {
			return "ends_at", fmt.Errorf("DTEND: %v", err)
		}
		if !end.After(start) {
			return "ends_at", fmt.Errorf("DTEND %s is not after DTSTART %s", p.Value, c.Props.Get(ical.PropDateTimeStart).Value)
		}
		w.Duration = FormatDuration(end.Sub(start))
		return "", nil
	}
	if p := c.Props.Get(ical.PropDuration); p != nil {
		d, err := ParseDuration(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(p.Value)), "+"))
		if err != nil {
			return "duration", fmt.Errorf("DURATION: %v", err)
		}
		w.Duration = FormatDuration(d)
		if d <= 0 {
			w.Duration = "PT0S"
		}
		return "", nil
	}
	return "duration", errNoDuration
}

// eventDates reads the EXDATEs or RDATEs (name) of c as local times in loc; a DATE value is the
// occurrence on that day, at the start's time. An RDATE PERIOD is refused: every occurrence of a
// workshop has the same length.
func eventDates(c *ical.Component, name string, start time.Time, loc *time.Location) ([]string, error) {
	var out []string
	for _, p := range c.Props.Values(name) {
		if strings.EqualFold(p.Params.Get(ical.ParamValue), "PERIOD") {
			return nil, errors.New("a PERIOD (a date with its own end) is not imported: every session of a workshop has the workshop's duration")
		}
		for _, v := range strings.Split(p.Value, ",") {
			if strings.Contains(v, "/") {
				return nil, errors.New("a PERIOD (a date with its own end) is not imported: every session of a workshop has the workshop's duration")
			}
			q := ical.Prop{Name: p.Name, Params: p.Params, Value: v}
			t, err := propTime(&q, loc)
			if err != nil {
				return nil, err
			}
			if len(strings.TrimSpace(v)) == 8 {
				t = time.Date(t.Year(), t.Month(), t.Day(), start.Hour(), start.Minute(), start.Second(), 0, loc)
			}
			out = append(out, t.In(loc).Format(LocalLayout))
		}
	}
	return out, nil
}

// Import creates the workshops of a text/calendar body. Each event is validated like a POST
// (catalog tags included); invalid events and events already imported (same UID) are reported,
// the others created.
func (a *API) importCalendar(ctx context.Context, r io.Reader, def ImportDefaults) (created []string, errs []ImportError, warnings []ImportWarning, err error) {
	items, errs, err := parseImport(r, def)
	if err != nil {
		return nil, nil, nil, err
	}
	created = []string{}
	warnings = []ImportWarning{}
	if errs == nil {
		errs = []ImportError{}
	}
	for _, it := range items {
		w := it.w
		ie := ImportError{Index: it.index, UID: w.sourceUID, Summary: w.Title}
		if w.sourceUID != "" {
			id, ok, err := a.store.BySourceUID(ctx, w.sourceUID)
			if err != nil {
				return nil, nil, nil, err
			}
			if ok {
				ie.Error = "already imported as workshop " + id
				errs = append(errs, ie)
				continue
			}
		}
		if err := w.normalize(ctx, a.tags(), nil); err != nil {
			var inv *httpapi.InvalidError
			if !errors.As(err, &inv) {
				return nil, nil, nil, err
			}
			ie.Field, ie.Error = inv.Field, inv.Message
			errs = append(errs, ie)
			continue
		}
		if err := a.store.Create(ctx, w, a.uidDomain()); err != nil {
			return nil, nil, nil, err
		}
		created = append(created, w.ID)
		for _, wa := range it.warnings { // only for what was created: a refused event has its error
			wa.Index, wa.ID = it.index, w.ID
			warnings = append(warnings, wa)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Index < errs[j].Index })
	return created, errs, warnings, nil
}
