package schedule

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

// ProdID names Atelier in every calendar it writes.
const ProdID = "-//Atelier//Atelier workshops//EN"

// feedTTL is how often clients should poll (REFRESH-INTERVAL, X-PUBLISHED-TTL).
const feedTTL = "PT1H"

// FeedOptions are the inputs of a rendered feed besides its workshops.
type FeedOptions struct {
	Name      string    // X-WR-CALNAME / NAME
	PublicURL string    // base of replay and workshop links, without trailing slash
	Now       time.Time // horizon of VTIMEZONE for endless series
	Language  string    // of the labels in descriptions, one of Languages; "" is English
}

// texts returns the labels of o.Language (English if unknown).
func (o FeedOptions) texts() *texts {
	if t, ok := allTexts[o.Language]; ok {
		return t
	}
	return allTexts["en"]
}

// ReplayURL is the public page of a replay.
func ReplayURL(publicURL, replayID string) string {
	return publicURL + "/replays/" + replayID
}

// span of local times each zone must describe.
type zoneSpan struct {
	loc      *time.Location
	from, to time.Time
}

// WriteFeed writes the calendar of workshops to out.
//
// The VEVENTs are written straight into one buffer, property by property in the order go-ical's
// encoder uses (sorted by name) and folded line by line, instead of building a go-ical component
// per event: with 10 000 events the generic encoder's maps, props and per-line buffers were most
// of the render's time and garbage. The output is byte for byte what go-ical wrote
// (feed_reference_test.go keeps that encoder and compares). VTIMEZONEs, a handful per feed, still
// go through go-ical.
func WriteFeed(out io.Writer, workshops []*Workshop, opt FeedOptions) error {
	spans := make([]eventSpan, len(workshops))
	for i, w := range workshops {
		var err error
		if spans[i], err = workshopSpan(w); err != nil {
			return fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
		}
	}
	zones := feedZones(spans, opt.Now)
	e := feedEncoder{buf: make([]byte, 0, 512+700*len(workshops))}
	e.header(opt.Name)
	for _, z := range zones {
		if err := e.vtimezone(z); err != nil {
			return err
		}
	}
	for _, w := range workshops {
		if err := e.event(w, opt); err != nil {
			return fmt.Errorf("schedule: feed: workshop %s: %w", w.ID, err)
		}
	}
	e.raw("END", "VCALENDAR")
	_, err := out.Write(e.buf)
	return err
}

// eventSpan is what the VTIMEZONEs need from one event: its zone and the span of its
// occurrences (last is zero for an endless series).
type eventSpan struct {
	loc         *time.Location
	first, last time.Time
}

func workshopSpan(w *Workshop) (eventSpan, error) {
	loc, err := w.location()
	if err != nil {
		return eventSpan{}, err
	}
	if loc.String() == "UTC" { // no VTIMEZONE
		return eventSpan{loc: loc}, nil
	}
	first, last := w.spanFirst, w.spanLast
	if !w.spanKnown {
		if first, last, err = w.span(); err != nil {
			return eventSpan{}, err
		}
	}
	return eventSpan{loc: loc, first: first, last: last}, nil
}

// feedZones returns the zones the events use (UTC aside), sorted by name, each with the span of
// time its VTIMEZONE must describe.
func feedZones(spans []eventSpan, now time.Time) []*zoneSpan {
	zones := map[string]*zoneSpan{}
	for _, s := range spans {
		if s.loc == nil || s.loc.String() == "UTC" {
			continue
		}
		first, last := s.first, s.last
		if last.IsZero() { // an endless series: describe the zone ten years past now
			last = maxTime(first, now).AddDate(10, 0, 0)
		}
		z := zones[s.loc.String()]
		if z == nil {
			z = &zoneSpan{loc: s.loc, from: first, to: last}
			zones[s.loc.String()] = z
		}
		if first.Before(z.from) {
			z.from = first
		}
		if last.After(z.to) {
			z.to = last
		}
	}
	out := make([]*zoneSpan, 0, len(zones))
	for _, z := range zones {
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].loc.String() < out[j].loc.String() })
	return out
}

// feedEncoder appends folded content lines to buf.
type feedEncoder struct {
	buf     []byte
	line    int    // offset in buf of the line being written
	scratch []byte // a long line while it is folded
	desc    []byte // the DESCRIPTION being assembled
	tmp     []byte
}

func (e *feedEncoder) begin(name string) {
	e.line = len(e.buf)
	e.buf = append(e.buf, name...)
}

// end folds the line being written at 75 octets (RFC 5545 §3.1), never inside a UTF-8
// sequence, as fold does, and ends it with CRLF.
func (e *feedEncoder) end() {
	if len(e.buf)-e.line > 75 {
		e.scratch = append(e.scratch[:0], e.buf[e.line:]...)
		e.buf = e.buf[:e.line]
		line, limit := e.scratch, 75
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			if cut == 0 { // not UTF-8 at all: cut at the limit rather than never
				cut = limit
			}
			e.buf = append(e.buf, line[:cut]...)
			e.buf = append(e.buf, "\r\n "...)
			line = line[cut:]
			limit = 74 // the leading space counts
		}
		e.buf = append(e.buf, line...)
	}
	e.buf = append(e.buf, '\r', '\n')
}

// raw writes a property whose value needs no escaping.
func (e *feedEncoder) raw(name, value string) {
	e.begin(name)
	e.buf = append(e.buf, ':')
	e.buf = append(e.buf, value...)
	e.end()
}

// checkedRaw writes a value that comes from stored data: like go-ical, it refuses a line break,
// which would start a new content line.
func (e *feedEncoder) checkedRaw(name, value string) error {
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("ical: failed to encode property value: contains a CR or LF")
	}
	e.raw(name, value)
	return nil
}

func (e *feedEncoder) text(name, value string) {
	e.begin(name)
	e.buf = append(e.buf, ':')
	e.buf = appendText(e.buf, value)
	e.end()
}

func (e *feedEncoder) utc(name string, t time.Time) {
	e.begin(name)
	e.buf = append(e.buf, ':')
	e.buf = appendStamp(e.buf, t.UTC())
	e.buf = append(e.buf, 'Z')
	e.end()
}

// local writes a date-time in the workshop's zone: with TZID (and a VTIMEZONE in the calendar),
// or in UTC with Z for the UTC zone.
func (e *feedEncoder) local(name string, t time.Time) error {
	tz := t.Location().String()
	if t.Location() == time.UTC || tz == "UTC" {
		e.utc(name, t)
		return nil
	}
	if strings.ContainsRune(tz, '"') {
		return fmt.Errorf("ical: failed to encode param value: contains a double-quote")
	}
	e.begin(name)
	e.buf = append(e.buf, ";TZID="...)
	if strings.ContainsAny(tz, ";:,") {
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, tz...)
		e.buf = append(e.buf, '"')
	} else {
		e.buf = append(e.buf, tz...)
	}
	e.buf = append(e.buf, ':')
	e.buf = appendStamp(e.buf, t)
	e.end()
	return nil
}

func (e *feedEncoder) header(name string) {
	e.raw("BEGIN", "VCALENDAR")
	e.raw(ical.PropCalendarScale, "GREGORIAN")
	e.text(ical.PropName, name)
	e.raw(ical.PropProductID, ProdID)
	e.raw(ical.PropRefreshInterval+";VALUE=DURATION", feedTTL)
	e.raw(ical.PropVersion, "2.0")
	e.raw("X-PUBLISHED-TTL", feedTTL)
	e.text("X-WR-CALNAME", name)
}

func (e *feedEncoder) vtimezone(z *zoneSpan) error {
	var b bytes.Buffer
	if err := ical.NewEncoder(&b).Encode(&ical.Calendar{Component: vtimezone(z.loc, z.from, z.to)}); err != nil {
		return fmt.Errorf("schedule: encode feed: %w", err)
	}
	e.buf = append(e.buf, fold(b.Bytes())...)
	return nil
}

// event writes the VEVENT of w, its properties sorted by name as go-ical wrote them.
func (e *feedEncoder) event(w *Workshop, opt FeedOptions) error {
	loc, err := w.location()
	if err != nil {
		return err
	}
	start, err := parseLocal(w.StartsAt, loc)
	if err != nil {
		return err
	}
	mark := len(e.buf)
	e.raw("BEGIN", "VEVENT")
	if cats, ok := e.categories(w); ok {
		e.begin(ical.PropCategories)
		e.buf = append(e.buf, ':')
		e.buf = append(e.buf, cats...)
		e.end()
	}
	e.utc(ical.PropCreated, w.CreatedAt)
	if d := e.description(w, opt); len(d) > 0 {
		e.begin(ical.PropDescription)
		e.buf = append(e.buf, ':')
		e.buf = appendTextBytes(e.buf, d)
		e.end()
	}
	if err := e.local(ical.PropDateTimeEnd, start.Add(w.duration()).In(loc)); err != nil {
		e.buf = e.buf[:mark]
		return err
	}
	// Without METHOD, DTSTAMP is when the event last changed in the store (RFC 5545 §3.8.7.2);
	// using updated_at also keeps the feed byte-identical while nothing changes.
	e.utc(ical.PropDateTimeStamp, w.UpdatedAt)
	if err := e.local(ical.PropDateTimeStart, start); err != nil {
		e.buf = e.buf[:mark]
		return err
	}
	if w.recurs() {
		for _, s := range w.ExDates {
			t, err := parseLocal(s, loc)
			if err == nil {
				err = e.local(ical.PropExceptionDates, t)
			}
			if err != nil {
				e.buf = e.buf[:mark]
				return err
			}
		}
	}
	e.utc(ical.PropLastModified, w.UpdatedAt)
	if w.Location != "" {
		e.text(ical.PropLocation, w.Location)
	}
	// One RDATE line per date, like EXDATE: each carries its TZID, and no client has to split
	// a list.
	for _, s := range w.RDates {
		t, err := parseLocal(s, loc)
		if err == nil {
			err = e.local(ical.PropRecurrenceDates, t)
		}
		if err != nil {
			e.buf = e.buf[:mark]
			return err
		}
	}
	check := func(name, value string) {
		if err == nil {
			err = e.checkedRaw(name, value)
		}
	}
	if w.Recurrence != "" {
		check(ical.PropRecurrenceRule, w.Recurrence)
	}
	e.begin(ical.PropSequence)
	e.buf = append(e.buf, ':')
	e.buf = strconv.AppendInt(e.buf, int64(w.Sequence), 10)
	e.end()
	check(ical.PropStatus, strings.ToUpper(string(w.Status)))
	e.text(ical.PropSummary, w.Title)
	check(ical.PropUID, w.UID)
	switch {
	case w.ReplayID != "":
		check(ical.PropURL, ReplayURL(opt.PublicURL, w.ReplayID))
	case w.RegistrationURL != "":
		check(ical.PropURL, w.RegistrationURL)
	}
	if w.Language != "" {
		e.text("X-ATELIER-LANGUAGE", w.Language)
	}
	e.raw("END", "VEVENT")
	if err != nil {
		e.buf = e.buf[:mark]
	}
	return err
}

// categories is the CATEGORIES value of w: its software slugs, each once, escaped; ok is false
// without any.
func (e *feedEncoder) categories(w *Workshop) (cats []byte, ok bool) {
	e.tmp = e.tmp[:0]
	n := 0
	for i, d := range w.Documents {
		seen := false
		for _, p := range w.Documents[:i] {
			if p.Software == d.Software {
				seen = true
				break
			}
		}
		if seen {
			continue
		}
		if n > 0 {
			e.tmp = append(e.tmp, ',')
		}
		e.tmp = appendText(e.tmp, d.Software)
		n++
	}
	return e.tmp, n > 0
}

// description assembles the event's DESCRIPTION, unescaped: the replay link first once there is
// one (the calendar becomes the way back to the recording), then the text and the practical
// details.
func (e *feedEncoder) description(w *Workshop, opt FeedOptions) []byte {
	b := e.desc[:0]
	lines := 0
	tx := opt.texts()
	line := func(parts ...string) {
		if lines > 0 {
			b = append(b, '\n')
		}
		for _, p := range parts {
			b = append(b, p...)
		}
		lines++
	}
	if w.ReplayID != "" {
		line(tx.replay, opt.PublicURL, "/replays/", w.ReplayID)
		line()
	}
	if d := strings.TrimSpace(w.Description); d != "" {
		line(d)
		line()
	}
	if w.Animator != "" {
		line(tx.animator, w.Animator)
	}
	if w.Language != "" {
		line(tx.language, w.Language)
	}
	if len(w.Documents) > 0 {
		line(tx.software)
		for i, d := range w.Documents {
			if i > 0 {
				b = append(b, ", "...)
			}
			e.tmp = append(append(append(e.tmp[:0], d.Software...), ' '), d.Version...)
			b = append(b, bytes.TrimSpace(e.tmp)...)
		}
	}
	if w.RegistrationURL != "" {
		line(tx.registration, w.RegistrationURL)
	}
	e.desc = b
	return bytes.TrimSpace(b)
}

// appendText appends s escaped as an RFC 5545 TEXT value: backslash, semicolon, comma and
// newlines. Other control characters, which no TEXT may hold (CR included, so CRLF becomes \n),
// and invalid UTF-8 are dropped.
func appendText(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendTextByte(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// appendTextBytes is appendText of a byte slice.
func appendTextBytes(b, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendTextByte(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r != utf8.RuneError {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

func appendTextByte(b []byte, c byte) []byte {
	switch {
	case c == '\\' || c == ';' || c == ',':
		return append(b, '\\', c)
	case c == '\n':
		return append(b, '\\', 'n')
	case c == '\t':
		return append(b, c)
	case c < 0x20 || c == 0x7f:
		return b
	}
	return append(b, c)
}

// appendStamp appends t as an RFC 5545 DATE-TIME without zone: 20260303T180000.
func appendStamp(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "20060102T150405")
	}
	h, mi, s := t.Clock()
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), byte('0'+mi/10), byte('0'+mi%10), byte('0'+s/10), byte('0'+s%10))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// fold folds content lines longer than 75 octets (RFC 5545 §3.1): continuation lines start with
// a space, and a line is never cut inside a UTF-8 sequence. go-ical's encoder does not fold.
func fold(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/70*3)
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+2:]
		}
		limit := 75
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			out.Write(line[:cut])
			out.WriteString("\r\n ")
			line = line[cut:]
			limit = 74 // the leading space counts
		}
		out.Write(line)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}
