package schedule

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Sentinels callers branch on; they wrap httpapi's so the one error mapper picks the status.
var (
	ErrNotFound = fmt.Errorf("schedule: %w", httpapi.ErrNotFound)
	ErrConflict = fmt.Errorf("schedule: %w", httpapi.ErrConflict)
)

// Status is a workshop's state, as in the VEVENT STATUS property.
type Status string

const (
	StatusTentative Status = "tentative"
	StatusConfirmed Status = "confirmed"
	StatusCancelled Status = "cancelled"
)

func (s Status) valid() bool {
	return s == StatusTentative || s == StatusConfirmed || s == StatusCancelled
}

// Document is a software@version a workshop teaches (the catalog's Tag).
type Document struct {
	Software string `json:"software"`
	Version  string `json:"version"`
}

// LocalLayout is the wire form of starts_at and exdates: a wall-clock time in the workshop's
// timezone, without offset, because a recurring event is defined in local time.
const LocalLayout = "2006-01-02T15:04:05"

// Workshop is one announced workshop, possibly recurring.
type Workshop struct {
	ID              string     `json:"id"`
	UID             string     `json:"uid"`
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	StartsAt        string     `json:"starts_at"`
	Timezone        string     `json:"timezone"`
	Duration        string     `json:"duration"`
	EndsAt          string     `json:"ends_at"` // end of the first occurrence, local time (derived)
	Recurrence      string     `json:"recurrence"`
	ExDates         []string   `json:"exdates"`
	RDates          []string   `json:"rdates"` // extra occurrences (RDATE), local times
	Location        string     `json:"location"`
	Language        string     `json:"language"`
	Animator        string     `json:"animator"`
	Capacity        int        `json:"capacity"`
	RegistrationURL string     `json:"registration_url"`
	Series          string     `json:"series"`
	Documents       []Document `json:"documents"`
	Status          Status     `json:"status"`
	Sequence        int        `json:"sequence"`
	ReplayID        string     `json:"replay_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	CancelledAt     *time.Time `json:"cancelled_at"`
	NextOccurrence  *time.Time `json:"next_occurrence,omitempty"`
	Links           Links      `json:"links"`

	deletedAt *time.Time
	sourceUID string
	// spanFirst and spanLast are span() as stored (first_start, last_end) when spanKnown: the
	// feed reads them instead of expanding every series again.
	spanFirst, spanLast time.Time
	spanKnown           bool
}

// Links are the URLs the API returns with a workshop.
type Links struct {
	ICS    string `json:"ics"`
	Webcal string `json:"webcal"`
	Replay string `json:"replay,omitempty"`
}

// Input is the body of POST /api/workshops and, with every field optional, of PATCH.
type Input struct {
	Title           *string     `json:"title"`
	Description     *string     `json:"description"`
	StartsAt        *string     `json:"starts_at"`
	EndsAt          *string     `json:"ends_at"` // alternative to duration
	Timezone        *string     `json:"timezone"`
	Duration        *string     `json:"duration"`
	Recurrence      *string     `json:"recurrence"`
	ExDates         *[]string   `json:"exdates"`
	RDates          *[]string   `json:"rdates"`
	Location        *string     `json:"location"`
	Language        *string     `json:"language"`
	Animator        *string     `json:"animator"`
	Capacity        *int        `json:"capacity"`
	RegistrationURL *string     `json:"registration_url"`
	Series          *string     `json:"series"`
	Documents       *[]Document `json:"documents"`
	Status          *Status     `json:"status"`
}

// apply copies the fields set in in onto w. It reports whether anything changed.
func (in Input) apply(w *Workshop) bool {
	changed := false
	setS := func(dst *string, src *string) {
		if src != nil && *dst != *src {
			*dst, changed = *src, true
		}
	}
	setS(&w.Title, in.Title)
	setS(&w.Description, in.Description)
	setS(&w.StartsAt, in.StartsAt)
	setS(&w.Timezone, in.Timezone)
	setS(&w.Duration, in.Duration)
	setS(&w.Recurrence, in.Recurrence)
	setS(&w.Location, in.Location)
	setS(&w.Language, in.Language)
	setS(&w.Animator, in.Animator)
	setS(&w.RegistrationURL, in.RegistrationURL)
	setS(&w.Series, in.Series)
	if in.Capacity != nil && *in.Capacity != w.Capacity {
		w.Capacity, changed = *in.Capacity, true
	}
	if in.ExDates != nil && strings.Join(*in.ExDates, ",") != strings.Join(w.ExDates, ",") {
		w.ExDates, changed = append([]string(nil), *in.ExDates...), true
	}
	if in.RDates != nil && strings.Join(*in.RDates, ",") != strings.Join(w.RDates, ",") {
		w.RDates, changed = append([]string(nil), *in.RDates...), true
	}
	if in.Documents != nil && fmt.Sprint(*in.Documents) != fmt.Sprint(w.Documents) {
		w.Documents, changed = append([]Document(nil), *in.Documents...), true
	}
	if in.Status != nil && *in.Status != w.Status {
		w.Status, changed = *in.Status, true
	}
	return changed
}

// recurs reports whether the workshop has more than one occurrence: an RRULE, RDATEs or both.
func (w *Workshop) recurs() bool { return w.Recurrence != "" || len(w.RDates) > 0 }

// location loads the workshop's time zone (validated before storing).
func (w *Workshop) location() (*time.Location, error) {
	return loadLocation(w.Timezone)
}

// locations caches loaded zones: time.LoadLocation reads and parses the tz file on every call,
// and a feed resolves a zone several times per event.
var locations sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsAny(name, `"\`) {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// start returns the first occurrence's start in the workshop's zone.
func (w *Workshop) start() (time.Time, error) {
	loc, err := w.location()
	if err != nil {
		return time.Time{}, err
	}
	return parseLocal(w.StartsAt, loc)
}

func (w *Workshop) duration() time.Duration {
	d, _ := parseDuration(w.Duration)
	return d
}

// parseLocal parses a local date-time in loc, refusing wall-clock times that do not exist there
// (skipped by a change to summer time).
func parseLocal(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{LocalLayout, "2006-01-02T15:04"} {
		t, err := time.ParseInLocation(layout, s, loc)
		if err != nil {
			continue
		}
		if t.Format(layout) != s {
			return time.Time{}, fmt.Errorf("%s does not exist in %s (the clocks change then)", s, loc)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want a local date-time like 2026-03-03T18:00:00 (no offset: the timezone field gives it)")
}

// ParseDuration parses an RFC 5545 / ISO 8601 duration such as PT1H30M, P1D or P1W.
func ParseDuration(s string) (time.Duration, error) {
	d, ok := parseDuration(s)
	if !ok {
		return 0, fmt.Errorf("invalid duration %q: want ISO 8601 like PT1H30M", s)
	}
	return d, nil
}

// parseDuration is ParseDuration without the error, which a feed, parsing the duration of every
// event, would build for nothing.
func parseDuration(s string) (time.Duration, bool) {
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, false
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	units := 0
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return 0, false
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return 0, false
		}
		n, _ := strconv.Atoi(s[:i])
		var unit time.Duration
		switch c := s[i]; {
		case !inTime && c == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && c == 'D':
			unit = 24 * time.Hour
		case inTime && c == 'H':
			unit = time.Hour
		case inTime && c == 'M':
			unit = time.Minute
		case inTime && c == 'S':
			unit = time.Second
		default:
			return 0, false
		}
		d += time.Duration(n) * unit
		units++
		s = s[i+1:]
	}
	if units == 0 {
		return 0, false
	}
	return d, true
}

// FormatDuration writes d as an RFC 5545 duration (PT1H30M).
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("P")
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		d -= days * 24 * time.Hour
	}
	if d > 0 {
		b.WriteString("T")
		if h := d / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			d -= h * time.Hour
		}
		if m := d / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			d -= m * time.Minute
		}
		if s := d / time.Second; s > 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}

// maxSeriesYears bounds UNTIL.
const maxSeriesYears = 20

// maxDuration bounds one occurrence: a workshop is not a week-long conference.
const maxDuration = 7 * 24 * time.Hour

// normalize validates w (checking software tags with tags, which may be nil) and puts its fields
// in canonical form. Errors are *httpapi.InvalidError naming the field. One step per concern:
// text, time, recurrence, details, software.
func (w *Workshop) normalize(ctx context.Context, tags TagChecker, endsAt *string) error {
	if err := w.normalizeText(); err != nil {
		return err
	}
	start, loc, err := w.normalizeTime(endsAt)
	if err != nil {
		return err
	}
	if err := w.normalizeRecurrence(start, loc); err != nil {
		return err
	}
	if err := w.normalizeDetails(); err != nil {
		return err
	}
	return w.normalizeDocuments(ctx, tags)
}

// normalizeText checks the free text: title, description, location, animator.
func (w *Workshop) normalizeText() error {
	w.Title = strings.TrimSpace(w.Title)
	if w.Title == "" {
		return httpapi.Invalid("title", "a title is required")
	}
	if utf8.RuneCountInString(w.Title) > 200 {
		return httpapi.Invalid("title", "at most 200 characters")
	}
	if len(w.Description) > 20000 {
		return httpapi.Invalid("description", "at most 20000 bytes")
	}
	for name, v := range map[string]string{"title": w.Title, "description": w.Description, "location": w.Location, "animator": w.Animator} {
		if !utf8.ValidString(v) {
			return httpapi.Invalid(name, "not valid UTF-8")
		}
	}
	return nil
}

// normalizeTime checks the zone, the start and the length (duration, or ends_at when given) and
// derives EndsAt; it returns the start in its zone.
func (w *Workshop) normalizeTime(endsAt *string) (time.Time, *time.Location, error) {
	if w.Timezone == "" {
		return time.Time{}, nil, httpapi.Invalid("timezone", "an IANA time zone is required, e.g. Europe/Paris")
	}
	loc, err := loadLocation(w.Timezone)
	if err != nil {
		return time.Time{}, nil, httpapi.Invalid("timezone", "unknown time zone %q: use an IANA name such as Europe/Paris", w.Timezone)
	}
	if w.StartsAt == "" {
		return time.Time{}, nil, httpapi.Invalid("starts_at", "a start is required, e.g. 2026-03-03T18:00:00")
	}
	start, err := parseLocal(w.StartsAt, loc)
	if err != nil {
		return time.Time{}, nil, httpapi.Invalid("starts_at", "%v", err)
	}
	if start.Year() < 1970 || start.Year() > 2200 {
		return time.Time{}, nil, httpapi.Invalid("starts_at", "year out of range")
	}
	w.StartsAt = start.Format(LocalLayout)
	if endsAt != nil && *endsAt != "" {
		end, err := parseLocal(*endsAt, loc)
		if err != nil {
			return time.Time{}, nil, httpapi.Invalid("ends_at", "%v", err)
		}
		if !end.After(start) {
			return time.Time{}, nil, httpapi.Invalid("ends_at", "the end %s is not after the start %s", *endsAt, w.StartsAt)
		}
		w.Duration = FormatDuration(end.Sub(start))
	}
	if w.Duration == "" {
		return time.Time{}, nil, httpapi.Invalid("duration", "a duration (e.g. PT1H30M) or ends_at is required")
	}
	d, err := ParseDuration(w.Duration)
	if err != nil {
		return time.Time{}, nil, httpapi.Invalid("duration", "%v", err)
	}
	if d <= 0 {
		return time.Time{}, nil, httpapi.Invalid("duration", "the duration must be positive: the end would not be after the start")
	}
	if d > maxDuration {
		return time.Time{}, nil, httpapi.Invalid("duration", "at most 7 days")
	}
	w.Duration = FormatDuration(d)
	w.EndsAt = start.Add(d).In(loc).Format(LocalLayout)
	return start, loc, nil
}

// normalizeRecurrence checks the RRULE (bounded: see normalizeRRule and series), the RDATEs and
// the EXDATEs, and that at least one occurrence is left.
func (w *Workshop) normalizeRecurrence(start time.Time, loc *time.Location) error {
	var err error
	if w.Recurrence != "" {
		if w.Recurrence, err = normalizeRRule(w.Recurrence, loc); err != nil {
			return err
		}
		// Bound the work one series costs (its span is expanded when stored).
		for _, part := range strings.Split(w.Recurrence, ";") {
			if v, ok := strings.CutPrefix(part, "UNTIL="); ok {
				if until, _ := parseUntil(v, loc); until.After(start.AddDate(maxSeriesYears, 0, 0)) {
					return httpapi.Invalid("recurrence", "UNTIL is more than %d years after the start: leave UNTIL out for a series without end", maxSeriesYears)
				}
			}
		}
	}
	// RDATEs are bounded like UNTIL, and come after the start: starts_at is the first occurrence
	// of a season, which keeps the stored span (first_start) and every expansion simple.
	if len(w.RDates) > maxRDates {
		return httpapi.Invalid("rdates", "at most %d dates", maxRDates)
	}
	rdates := w.RDates[:0:0]
	for i, s := range w.RDates {
		t, err := parseLocal(strings.TrimSpace(s), loc)
		if err != nil {
			return httpapi.Invalid(fmt.Sprintf("rdates[%d]", i), "%v", err)
		}
		if t.Equal(start) { // the start is an occurrence already (exports often repeat it)
			continue
		}
		if t.Before(start) {
			return httpapi.Invalid(fmt.Sprintf("rdates[%d]", i), "%s is before the start %s: the start is the first session, give the later ones", s, w.StartsAt)
		}
		if t.After(start.AddDate(maxSeriesYears, 0, 0)) {
			return httpapi.Invalid(fmt.Sprintf("rdates[%d]", i), "%s is more than %d years after the start", s, maxSeriesYears)
		}
		rdates = append(rdates, s)
	}
	if w.RDates, err = normalizeDates("rdates", rdates, loc, maxRDates, true); err != nil {
		return err
	}
	if len(w.ExDates) > 0 && !w.recurs() {
		return httpapi.Invalid("exdates", "exdates only apply to a recurring workshop (set recurrence or rdates)")
	}
	if w.ExDates, err = normalizeDates("exdates", w.ExDates, loc, 1000, false); err != nil {
		return err
	}
	if !w.recurs() {
		return nil
	}
	s, err := w.series()
	if err != nil {
		return httpapi.Invalid("recurrence", "%v", err)
	}
	if s.hasRule && len(s.rdates) == 0 {
		if empty, err := s.empty(); err != nil || empty {
			return httpapi.Invalid("recurrence", "the rule gives no occurrence at all (a day that does not exist, such as 30 February?)")
		}
	}
	if !s.endless() { // finite: the EXDATEs may remove every occurrence
		if first, err := s.after(start); err != nil || first.IsZero() {
			return httpapi.Invalid("recurrence", "the rule, rdates and exdates leave no occurrence at all")
		}
	}
	return nil
}

// maxRDates bounds the dates of a season: RDATEs are listed in every feed, one line each.
const maxRDates = 500

// normalizeDates checks a list of local times (exdates, rdates) and drops duplicates; sorted
// sorts it (exdates keep the order they were given in, as they always did).
func normalizeDates(field string, dates []string, loc *time.Location, max int, sorted bool) ([]string, error) {
	if len(dates) > max {
		return nil, httpapi.Invalid(field, "at most %d dates", max)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(dates))
	for i, s := range dates {
		t, err := parseLocal(strings.TrimSpace(s), loc)
		if err != nil {
			return nil, httpapi.Invalid(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		if k := t.Format(LocalLayout); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if sorted {
		sort.Strings(out) // LocalLayout orders like time
	}
	return out, nil
}

// normalizeDetails checks the practical fields: location, language, capacity, registration,
// series, status.
func (w *Workshop) normalizeDetails() error {
	w.Location = strings.TrimSpace(w.Location)
	w.Language = strings.TrimSpace(w.Language)
	if len(w.Language) > 35 || strings.ContainsAny(w.Language, " ,;") {
		return httpapi.Invalid("language", "want a language tag such as fr or en-GB")
	}
	if w.Capacity < 0 {
		return httpapi.Invalid("capacity", "must be 0 (unlimited) or more")
	}
	if w.RegistrationURL != "" {
		u, err := url.Parse(w.RegistrationURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return httpapi.Invalid("registration_url", "want an absolute http(s) URL")
		}
	}
	w.Series = strings.TrimSpace(w.Series)
	if w.Series != "" && !validSlug(w.Series) {
		return httpapi.Invalid("series", "a series is a slug: lowercase letters, digits, '-', '.' and '_'")
	}
	if w.Status == "" {
		w.Status = StatusConfirmed
	}
	if !w.Status.valid() {
		return httpapi.Invalid("status", "status is tentative, confirmed or cancelled")
	}
	return nil
}

// normalizeDocuments trims the software tags and checks them with tags (nil: not checked).
func (w *Workshop) normalizeDocuments(ctx context.Context, tags TagChecker) error {
	if w.Documents == nil {
		w.Documents = []Document{}
	}
	for i := range w.Documents {
		w.Documents[i].Software = strings.TrimSpace(w.Documents[i].Software)
		w.Documents[i].Version = strings.TrimSpace(w.Documents[i].Version)
		if w.Documents[i].Software == "" {
			return httpapi.Invalid(fmt.Sprintf("documents[%d].software", i), "a software slug is required")
		}
	}
	if len(w.Documents) > 0 && tags != nil {
		return tags.CheckTags(ctx, "documents", w.Documents)
	}
	return nil
}

func validSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}
