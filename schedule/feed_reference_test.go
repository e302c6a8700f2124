package schedule

// The feed encoder as it was written first, over go-ical's generic encoder: kept as the
// reference that the direct encoder of feed.go must match byte for byte.

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
)

func refTextProp(name, value string) *ical.Prop {
	return &ical.Prop{Name: name, Params: ical.Params{}, Value: escapeText(value)}
}

func refRawProp(name, value string, params ical.Params) *ical.Prop {
	if params == nil {
		params = ical.Params{}
	}
	return &ical.Prop{Name: name, Params: params, Value: value}
}

// localProp writes a date-time property in the workshop's zone: with TZID (and a VTIMEZONE in
// the calendar), or in UTC with Z for the UTC zone.
func refLocalProp(name string, t time.Time) *ical.Prop {
	if t.Location() == time.UTC || t.Location().String() == "UTC" {
		return refRawProp(name, t.UTC().Format("20060102T150405Z"), nil)
	}
	return refRawProp(name, t.Format("20060102T150405"), ical.Params{ical.PropTimezoneID: {t.Location().String()}})
}

func refUTCProp(name string, t time.Time) *ical.Prop {
	return refRawProp(name, t.UTC().Format("20060102T150405Z"), nil)
}

// refEvent builds the VEVENT of w.
func refEvent(w *Workshop, opt FeedOptions) (*ical.Component, error) {
	loc, err := w.location()
	if err != nil {
		return nil, err
	}
	start, err := parseLocal(w.StartsAt, loc)
	if err != nil {
		return nil, err
	}
	e := ical.NewComponent(ical.CompEvent)
	p := e.Props
	p.Set(refRawProp(ical.PropUID, w.UID, nil))
	// Without METHOD, DTSTAMP is when the event last changed in the store (RFC 5545 §3.8.7.2);
	// using updated_at also keeps the feed byte-identical while nothing changes.
	p.Set(refUTCProp(ical.PropDateTimeStamp, w.UpdatedAt))
	p.Set(refUTCProp(ical.PropCreated, w.CreatedAt))
	p.Set(refUTCProp(ical.PropLastModified, w.UpdatedAt))
	p.Set(refRawProp(ical.PropSequence, strconv.Itoa(w.Sequence), nil))
	p.Set(refLocalProp(ical.PropDateTimeStart, start))
	p.Set(refLocalProp(ical.PropDateTimeEnd, start.Add(w.duration()).In(loc)))
	if w.Recurrence != "" {
		p.Set(refRawProp(ical.PropRecurrenceRule, w.Recurrence, nil))
	}
	for _, s := range w.RDates {
		t, err := parseLocal(s, loc)
		if err != nil {
			return nil, err
		}
		p.Add(refLocalProp(ical.PropRecurrenceDates, t))
	}
	if w.recurs() {
		for _, s := range w.ExDates {
			t, err := parseLocal(s, loc)
			if err != nil {
				return nil, err
			}
			p.Add(refLocalProp(ical.PropExceptionDates, t))
		}
	}
	p.Set(refTextProp(ical.PropSummary, w.Title))
	if d := refDescription(w, opt); d != "" {
		p.Set(refTextProp(ical.PropDescription, d))
	}
	if w.Location != "" {
		p.Set(refTextProp(ical.PropLocation, w.Location))
	}
	switch {
	case w.ReplayID != "":
		p.Set(refRawProp(ical.PropURL, ReplayURL(opt.PublicURL, w.ReplayID), nil))
	case w.RegistrationURL != "":
		p.Set(refRawProp(ical.PropURL, w.RegistrationURL, nil))
	}
	p.Set(refRawProp(ical.PropStatus, strings.ToUpper(string(w.Status)), nil))
	if cats := refSoftwareOf(w); len(cats) > 0 {
		esc := make([]string, len(cats))
		for i, c := range cats {
			esc[i] = escapeText(c)
		}
		p.Set(refRawProp(ical.PropCategories, strings.Join(esc, ","), nil))
	}
	if w.Language != "" {
		p.Set(refRawProp("X-ATELIER-LANGUAGE", escapeText(w.Language), nil))
	}
	return e, nil
}

// refWriteFeed writes the calendar of workshops to out.
func refWriteFeed(out io.Writer, workshops []*Workshop, opt FeedOptions) error {
	cal := ical.NewCalendar()
	cal.Props.Set(refRawProp(ical.PropProductID, ProdID, nil))
	cal.Props.Set(refRawProp(ical.PropVersion, "2.0", nil))
	cal.Props.Set(refRawProp(ical.PropCalendarScale, "GREGORIAN", nil))
	cal.Props.Set(refTextProp("X-WR-CALNAME", opt.Name))
	cal.Props.Set(refTextProp(ical.PropName, opt.Name))
	cal.Props.Set(refRawProp(ical.PropRefreshInterval, feedTTL, ical.Params{ical.ParamValue: {"DURATION"}}))
	cal.Props.Set(refRawProp("X-PUBLISHED-TTL", feedTTL, nil))

	zones := map[string]*zoneSpan{}
	var events []*ical.Component
	for _, w := range workshops {
		ev, err := refEvent(w, opt)
		if err != nil {
			return fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
		}
		events = append(events, ev)
		loc, _ := w.location()
		if loc.String() == "UTC" {
			continue
		}
		first, last, err := w.span()
		if err != nil {
			return fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
		}
		if last.IsZero() { // an endless series: describe the zone ten years past now
			last = maxTime(first, opt.Now).AddDate(10, 0, 0)
		}
		z := zones[loc.String()]
		if z == nil {
			z = &zoneSpan{loc: loc, from: first, to: last}
			zones[loc.String()] = z
		}
		if first.Before(z.from) {
			z.from = first
		}
		if last.After(z.to) {
			z.to = last
		}
	}
	names := make([]string, 0, len(zones))
	for n := range zones {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		z := zones[n]
		cal.Children = append(cal.Children, vtimezone(z.loc, z.from, z.to))
	}
	cal.Children = append(cal.Children, events...)

	var buf bytes.Buffer
	if len(cal.Children) == 0 {
		// go-ical refuses an empty VCALENDAR, yet an empty feed is what a new series is: encode
		// with a placeholder event and drop its lines.
		cal.Children = []*ical.Component{refPlaceholder()}
		if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
			return fmt.Errorf("schedule: encode feed: %w", err)
		}
		b := buf.Bytes()
		i := bytes.Index(b, []byte("BEGIN:VEVENT\r\n"))
		j := bytes.Index(b, []byte("END:VEVENT\r\n"))
		buf.Reset()
		buf.Write(b[:i])
		buf.Write(b[j+len("END:VEVENT\r\n"):])
	} else if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return fmt.Errorf("schedule: encode feed: %w", err)
	}
	_, err := out.Write(fold(buf.Bytes()))
	return err
}

func refPlaceholder() *ical.Component {
	e := ical.NewComponent(ical.CompEvent)
	e.Props.Set(refRawProp(ical.PropUID, "x", nil))
	e.Props.Set(refRawProp(ical.PropDateTimeStamp, "19700101T000000Z", nil))
	return e
}

func refSoftwareOf(w *Workshop) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range w.Documents {
		if !seen[d.Software] {
			seen[d.Software] = true
			out = append(out, d.Software)
		}
	}
	return out
}

// refDescription is the event's DESCRIPTION: the replay link first once there is one (the calendar
// becomes the way back to the recording), then the text and the practical details.
func refDescription(w *Workshop, opt FeedOptions) string {
	var lines []string
	if w.ReplayID != "" {
		lines = append(lines, opt.texts().replay+ReplayURL(opt.PublicURL, w.ReplayID), "")
	}
	if d := strings.TrimSpace(w.Description); d != "" {
		lines = append(lines, d, "")
	}
	if w.Animator != "" {
		lines = append(lines, opt.texts().animator+w.Animator)
	}
	if w.Language != "" {
		lines = append(lines, opt.texts().language+w.Language)
	}
	if len(w.Documents) > 0 {
		var docs []string
		for _, d := range w.Documents {
			docs = append(docs, strings.TrimSpace(d.Software+" "+d.Version))
		}
		lines = append(lines, opt.texts().software+strings.Join(docs, ", "))
	}
	if w.RegistrationURL != "" {
		lines = append(lines, opt.texts().registration+w.RegistrationURL)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// escapeText escapes an RFC 5545 TEXT value: backslash, semicolon, comma and newlines. Other
// control characters, which no TEXT may hold, are dropped.
func escapeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
