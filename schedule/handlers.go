package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/sync/singleflight"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// API serves the workshop endpoints and the calendar feeds.
type API struct {
	store     *Store
	cat       Catalog // nil: tags are not checked, replays are unknown
	publicURL string
	timezone  string // default zone of imports and reschedules
	now       func() time.Time
	feeds     feedCache

	validation FeedValidation
	validators validatorCache
	events     eventCache
	rendering  singleflight.Group // renders in progress, by feed and ETag
	rendered   atomic.Int64       // renders done, for tests

	text            *texts // the instance's language
	siteName        string
	defaultDuration time.Duration // of imported events without DTEND or DURATION, and of reschedules
	feedPast        time.Duration // < 0: feeds keep every past workshop
}

// DefaultFeedPast is how long past workshops stay in the calendar feeds by default.
const DefaultFeedPast = 365 * 24 * time.Hour

// feedSince is the rolling window of feed f: workshops whose last occurrence ended before it are
// left out, so that a feed does not grow forever. It moves by whole days (UTC), as the feed salt
// does, so a validator kept in memory for the day matches what a render reads. The file of one
// workshop has no window: its link keeps working.
func (a *API) feedSince(f Feed) time.Time {
	if a.feedPast < 0 || f.Kind == "workshop" {
		return time.Time{}
	}
	return a.now().UTC().Truncate(24 * time.Hour).Add(-a.feedPast)
}

// Options configure an API; the zero value means defaults.
type Options struct {
	// DefaultTimezone is used for floating/UTC times in imports and for reschedules (UTC if empty).
	DefaultTimezone string
	// Now is the clock (time.Now if nil); tests fix it.
	Now func() time.Time
	// FeedValidation says how feed validators are kept; the zero value, ValidateWatch, suits
	// SQLite whoever writes to it.
	FeedValidation FeedValidation
	// Language is the instance's language, one of Languages ("" is English): calendar and feed
	// names, labels in event descriptions. An unknown one is English.
	Language string
	// SiteName is the collective's name in calendar and feed names ("Atelier" if empty).
	SiteName string
	// FeedPast is how long past workshops stay in the calendar feeds (DefaultFeedPast if zero;
	// negative keeps them all).
	FeedPast time.Duration
	// DefaultDuration is the length given to an imported event that has neither DTEND nor
	// DURATION (with a warning in the answer), and to rescheduled drafts (DefaultDuration if zero).
	DefaultDuration time.Duration
}

// DefaultDuration is a workshop's length when nothing says otherwise: an evening session.
const DefaultDuration = 90 * time.Minute

// NewAPI returns the handlers over store. cat may be nil in tests of schedule alone.
func NewAPI(store *Store, cat Catalog, publicURL string, opt Options) *API {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.DefaultTimezone == "" {
		opt.DefaultTimezone = "UTC"
	}
	text, err := textsFor(opt.Language)
	if err != nil {
		text = allTexts["en"] // cmd/atelier validates -language before
	}
	if opt.SiteName == "" {
		opt.SiteName = "Atelier"
	}
	if opt.FeedPast == 0 {
		opt.FeedPast = DefaultFeedPast
	}
	if opt.DefaultDuration <= 0 {
		opt.DefaultDuration = DefaultDuration
	}
	return &API{store: store, cat: cat, publicURL: strings.TrimSuffix(publicURL, "/"), timezone: opt.DefaultTimezone, now: opt.Now,
		validation: opt.FeedValidation, text: text, siteName: opt.SiteName, feedPast: opt.FeedPast,
		defaultDuration: opt.DefaultDuration}
}

func (a *API) tags() TagChecker {
	if a.cat == nil {
		return nil
	}
	return a.cat
}

// uidDomain is the right-hand side of new UIDs (RFC 5545 suggests a domain), fixed at creation so
// UIDs stay stable whatever the public URL becomes later.
func (a *API) uidDomain() string {
	if u, err := url.Parse(a.publicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "atelier"
}

// LinksFor returns the URLs of w under publicURL: its .ics file, the webcal:// form calendar
// apps subscribe to, and its published replay if any. The web pages use it too.
func LinksFor(publicURL string, w *Workshop) Links {
	publicURL = strings.TrimSuffix(publicURL, "/")
	l := Links{ICS: publicURL + "/workshops/" + w.ID + ".ics", Webcal: webcal(publicURL + "/workshops/" + w.ID + ".ics")}
	if w.ReplayID != "" {
		l.Replay = ReplayURL(publicURL, w.ReplayID)
	}
	return l
}

// FeedLinks returns the URLs of a feed: kind is "all", "software" or "series".
func FeedLinks(publicURL, kind, slug string) Links {
	u := strings.TrimSuffix(publicURL, "/") + "/calendar.ics"
	if (kind == "software" || kind == "series") && validSlug(slug) {
		u = strings.TrimSuffix(publicURL, "/") + "/calendar/" + kind + "/" + slug + ".ics"
	}
	return Links{ICS: u, Webcal: webcal(u)}
}

// links fills the workshop's URLs and next occurrence.
func (a *API) links(w *Workshop) {
	w.Links = LinksFor(a.publicURL, w)
	w.NextOccurrence = w.nextOccurrence(a.now())
}

// webcal turns an http(s) feed URL into the webcal:// form calendar apps subscribe to.
func webcal(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return "webcal" + u[i:]
	}
	return u
}

// Create handles POST /api/workshops.
func (a *API) Create(w http.ResponseWriter, r *http.Request) error {
	var in Input
	if err := httpapi.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ws := &Workshop{}
	in.apply(ws)
	if err := ws.normalize(r.Context(), a.tags(), in.EndsAt); err != nil {
		return err
	}
	if err := a.store.Create(r.Context(), ws, a.uidDomain()); err != nil {
		return err
	}
	a.links(ws)
	w.Header().Set("Location", "/api/workshops/"+ws.ID)
	httpapi.WriteJSON(w, http.StatusCreated, ws)
	return nil
}

// maxPreview bounds the occurrences one preview lists.
const maxPreview = 50

// Occurrence is one start of a workshop in a preview, in its time zone.
type Occurrence struct {
	StartsAt string    `json:"starts_at"` // local wall-clock time, as exdates and the cancel route take it
	EndsAt   string    `json:"ends_at"`   // local
	Start    time.Time `json:"start"`     // with its UTC offset (RFC 3339)
}

// Preview handles POST /api/workshops/preview: the body is a draft workshop (the fields of a
// POST); nothing is stored. It answers the draft in normalized form (recurrence, duration,
// rdates as they would be saved) and its next occurrences (?count=, 10 by default, at most 50)
// from now, in the workshop's zone, computed by the same code as the feeds and the API (DST,
// EXDATEs, RDATEs), or the 422 a save would get. The studio shows it before saving.
func (a *API) Preview(w http.ResponseWriter, r *http.Request) error {
	count := 10
	if v := r.URL.Query().Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPreview {
			return httpapi.Invalid("count", "count is a number from 1 to %d", maxPreview)
		}
		count = n
	}
	var in Input
	if err := httpapi.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ws := &Workshop{}
	in.apply(ws)
	if ws.Title == "" {
		ws.Title = "-" // a draft may have no title yet; the schedule is what is previewed
	}
	if err := ws.normalize(r.Context(), a.tags(), in.EndsAt); err != nil {
		return err
	}
	now := a.now()
	starts, err := ws.Occurrences(now.Add(-ws.duration()).Add(time.Second), farFuture, count+1)
	if err != nil {
		return httpapi.Invalid("recurrence", "%v", err)
	}
	more := len(starts) > count
	if more {
		starts = starts[:count]
	}
	occ := make([]Occurrence, 0, len(starts))
	loc, _ := ws.location()
	for _, t := range starts {
		occ = append(occ, Occurrence{StartsAt: t.Format(LocalLayout), EndsAt: t.Add(ws.duration()).In(loc).Format(LocalLayout), Start: t})
	}
	s, _ := ws.series()
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"workshop": ws, "occurrences": occ, "more": more, "endless": s != nil && s.endless(),
	})
	return nil
}

// List handles GET /api/workshops: upcoming workshops (not cancelled, not over), filtered by
// ?software=, ?series=, ?language=, paginated.
func (a *API) List(w http.ResponseWriter, r *http.Request) error {
	page, err := httpapi.ParsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ListFilter{Software: q.Get("software"), Series: q.Get("series"), Language: q.Get("language"), Limit: page.Limit, Offset: page.Offset}
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse("2006-01-02", v); err != nil {
				return httpapi.Invalid("from", "want a date like 2026-03-01 or a time like 2026-03-01T18:00:00Z")
			}
		}
		f.From = t
	}
	items, total, err := a.store.Upcoming(r.Context(), f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*Workshop{}
	}
	for _, it := range items {
		a.links(it)
	}
	feed := FeedLinks(a.publicURL, "all", "")
	switch {
	case f.Software != "":
		feed = FeedLinks(a.publicURL, "software", f.Software)
	case f.Series != "":
		feed = FeedLinks(a.publicURL, "series", f.Series)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"items": items, "total": total, "limit": page.Limit, "offset": page.Offset, "next_offset": page.NextOffset(total),
		"links": feed,
	})
	return nil
}

// Get handles GET /api/workshops/{id}.
func (a *API) Get(w http.ResponseWriter, r *http.Request) error {
	ws, err := a.store.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	a.links(ws)
	httpapi.WriteJSON(w, http.StatusOK, ws)
	return nil
}

// Update handles PATCH /api/workshops/{id}: the fields given replace the stored ones; any change
// raises SEQUENCE so that subscribed calendars take it.
func (a *API) Update(w http.ResponseWriter, r *http.Request) error {
	var in Input
	if err := httpapi.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	ws, err := a.store.Update(ctx, mux.Vars(r)["id"], func(ws *Workshop) (bool, error) {
		before := *ws
		changed := in.apply(ws)
		if in.EndsAt != nil {
			changed = true
		}
		if !changed {
			return false, nil
		}
		var tags TagChecker
		if in.Documents != nil {
			tags = a.tags() // check only what the request changes: old tags stay valid
		}
		if err := ws.normalize(ctx, tags, in.EndsAt); err != nil {
			return false, err
		}
		return !sameWorkshop(&before, ws), nil
	})
	if err != nil {
		return err
	}
	a.links(ws)
	httpapi.WriteJSON(w, http.StatusOK, ws)
	return nil
}

func sameWorkshop(a, b *Workshop) bool {
	return fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v", a.Title, a.Description, a.StartsAt, a.Timezone, a.Duration,
		a.Recurrence, a.ExDates, a.RDates, a.Location, a.Language, a.Animator, a.Capacity, a.RegistrationURL, a.Series, a.Documents, a.Status, a.ReplayID) ==
		fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v", b.Title, b.Description, b.StartsAt, b.Timezone, b.Duration,
			b.Recurrence, b.ExDates, b.RDates, b.Location, b.Language, b.Animator, b.Capacity, b.RegistrationURL, b.Series, b.Documents, b.Status, b.ReplayID)
}

// Delete handles DELETE /api/workshops/{id}. The workshop leaves the API at once but stays in
// the feeds as cancelled for 30 days, so that subscribers' calendars drop it too.
func (a *API) Delete(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.Delete(r.Context(), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Cancel handles POST /api/workshops/{id}/cancel. Without a body (or with {}) the whole workshop
// is cancelled: STATUS:CANCELLED, higher SEQUENCE, kept in the feeds 30 days. With
// {"occurrence": "2026-03-10T18:00:00"} (local time) only that occurrence of a series is
// cancelled, as an EXDATE: every client honours EXDATE, while cancelled overrides
// (RECURRENCE-ID + STATUS:CANCELLED) are handled unevenly.
func (a *API) Cancel(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Occurrence string `json:"occurrence"`
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpapi.MaxJSONBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := httpapi.DecodeJSONReader(bytes.NewReader(raw), &body); err != nil {
			return err
		}
	}
	ws, err := a.store.Update(r.Context(), mux.Vars(r)["id"], func(ws *Workshop) (bool, error) {
		if body.Occurrence == "" {
			if ws.Status == StatusCancelled {
				return false, nil
			}
			ws.Status = StatusCancelled
			return true, nil
		}
		if !ws.recurs() {
			return false, httpapi.Invalid("occurrence", "this workshop does not recur: cancel it whole (no occurrence)")
		}
		loc, err := ws.location()
		if err != nil {
			return false, err
		}
		t, err := parseLocal(body.Occurrence, loc)
		if err != nil {
			return false, httpapi.Invalid("occurrence", "%v", err)
		}
		if !ws.isOccurrence(t) {
			return false, httpapi.Invalid("occurrence", "%s is not an occurrence of this workshop (already cancelled, or not on its schedule)", body.Occurrence)
		}
		ws.ExDates = append(ws.ExDates, t.Format(LocalLayout))
		return true, nil
	})
	if err != nil {
		return err
	}
	a.links(ws)
	httpapi.WriteJSON(w, http.StatusOK, ws)
	return nil
}

// MaxImportBody bounds a text/calendar import.
const MaxImportBody = 4 << 20

// Import handles POST /api/workshops/import with a text/calendar body. Query parameters give
// what the file lacks: timezone (for floating/UTC times), series, language, animator, status.
// The reply lists the created ids and, per event, what was refused.
func (a *API) Import(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/calendar" && mt != "application/octet-stream" && mt != "text/plain") {
			return httpapi.Errorf(http.StatusUnsupportedMediaType, "send the calendar as text/calendar")
		}
	}
	q := r.URL.Query()
	def := ImportDefaults{Timezone: q.Get("timezone"), Series: q.Get("series"), Language: q.Get("language"),
		Animator: q.Get("animator"), Status: Status(q.Get("status")), Duration: a.defaultDuration}
	if def.Timezone == "" {
		def.Timezone = a.timezone
	}
	if _, err := loadLocation(def.Timezone); err != nil {
		return httpapi.Invalid("timezone", "unknown time zone %q", def.Timezone)
	}
	if def.Status != "" && !def.Status.valid() {
		return httpapi.Invalid("status", "status is tentative, confirmed or cancelled")
	}
	created, errs, warnings, err := a.importCalendar(r.Context(), http.MaxBytesReader(w, r.Body, MaxImportBody), def)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(created) > 0 {
		status = http.StatusCreated
	} else if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	httpapi.WriteJSON(w, status, map[string]any{"created": created, "errors": errs, "warnings": warnings})
	return nil
}

// Reschedule handles POST /api/freshness/{replay_id}/reschedule: it creates a tentative workshop
// to re-record an outdated replay, pre-filled with its title, language and software at the latest
// version (and the place, series, animator and time of day of the workshop it came from). An
// optional JSON body overrides any field.
func (a *API) Reschedule(w http.ResponseWriter, r *http.Request) error {
	if a.cat == nil {
		return fmt.Errorf("schedule: reschedule: %w", httpapi.ErrUnavailable)
	}
	ctx := r.Context()
	var in Input
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpapi.MaxJSONBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := httpapi.DecodeJSONReader(bytes.NewReader(raw), &in); err != nil {
			return err
		}
	}
	rp, err := a.cat.Replay(ctx, mux.Vars(r)["replay_id"])
	if err != nil {
		return err
	}
	ws, err := a.draftFor(ctx, rp)
	if err != nil {
		return err
	}
	in.apply(ws)
	if err := ws.normalize(ctx, a.tags(), in.EndsAt); err != nil {
		return err
	}
	if err := a.store.Create(ctx, ws, a.uidDomain()); err != nil {
		return err
	}
	a.links(ws)
	w.Header().Set("Location", "/api/workshops/"+ws.ID)
	httpapi.WriteJSON(w, http.StatusCreated, ws)
	return nil
}

func (a *API) draftFor(ctx context.Context, rp Replay) (*Workshop, error) {
	ws := &Workshop{
		Title:     rp.Title,
		Language:  rp.Language,
		Timezone:  a.timezone,
		Duration:  FormatDuration(a.defaultDuration),
		Status:    StatusTentative,
		Documents: []Document{},
	}
	if !rp.Published {
		ws.Title = "" // a draft's or unlisted replay's title is not public: see below
	}
	hour, minute := 18, 0
	if rp.WorkshopID != "" {
		if old, err := a.store.Get(ctx, rp.WorkshopID); err == nil {
			ws.Timezone, ws.Duration, ws.Location = old.Timezone, old.Duration, old.Location
			ws.Series, ws.Animator, ws.Capacity, ws.Description = old.Series, old.Animator, old.Capacity, old.Description
			if ws.Title == "" {
				ws.Title = old.Title // the workshop was public already
			}
			if s, err := old.start(); err == nil {
				hour, minute = s.Hour(), s.Minute()
			}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, d := range rp.Documents {
		if seen[d.Software] {
			continue
		}
		seen[d.Software] = true
		v, err := a.cat.LatestRelease(ctx, d.Software)
		if err != nil {
			if !errors.Is(err, httpapi.ErrNotFound) {
				return nil, err
			}
			v = d.Version
		}
		ws.Documents = append(ws.Documents, Document{Software: d.Software, Version: v})
	}
	// The workshop is public as soon as it exists (tentative workshops are in the feeds): only a
	// published replay may be named and linked.
	var note string
	if rp.Published {
		note = fmt.Sprintf(a.text.rescheduleNote, rp.Title, ReplayURL(a.publicURL, rp.ID))
	} else {
		note = a.text.rescheduleNotePrivate
		if ws.Title == "" {
			ws.Title = fmt.Sprintf(a.text.rescheduleTitle, documentList(ws.Documents))
		}
	}
	if ws.Description == "" {
		ws.Description = note
	} else {
		ws.Description = note + "\n\n" + ws.Description
	}
	loc, err := loadLocation(ws.Timezone)
	if err != nil {
		loc, ws.Timezone = time.UTC, "UTC"
	}
	day := a.now().In(loc).AddDate(0, 0, 14)
	start := time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, loc)
	ws.StartsAt = start.Format(LocalLayout)
	return ws, nil
}

// documentList writes software@version tags for people: "nextcloud 28.0.0, libreoffice 24.2".
func documentList(docs []Document) string {
	var b strings.Builder
	for i, d := range docs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strings.TrimSpace(d.Software + " " + d.Version))
	}
	return b.String()
}

// CalendarAll handles GET /calendar.ics.
func (a *API) CalendarAll(w http.ResponseWriter, r *http.Request) error {
	return a.serveFeed(w, r, Feed{Kind: "all"})
}

// CalendarSoftware handles GET /calendar/software/{slug}.ics.
func (a *API) CalendarSoftware(w http.ResponseWriter, r *http.Request) error {
	slug := mux.Vars(r)["slug"]
	if !validSlug(slug) {
		return fmt.Errorf("schedule: software %q: %w", slug, ErrNotFound)
	}
	return a.serveFeed(w, r, Feed{Kind: "software", Key: slug})
}

// CalendarSeries handles GET /calendar/series/{slug}.ics.
func (a *API) CalendarSeries(w http.ResponseWriter, r *http.Request) error {
	slug := mux.Vars(r)["slug"]
	if !validSlug(slug) {
		return fmt.Errorf("schedule: series %q: %w", slug, ErrNotFound)
	}
	return a.serveFeed(w, r, Feed{Kind: "series", Key: slug})
}

// WorkshopICS handles GET /workshops/{id}.ics, the "add to my calendar" file of one workshop.
func (a *API) WorkshopICS(w http.ResponseWriter, r *http.Request) error {
	return a.serveFeed(w, r, Feed{Kind: "workshop", Key: mux.Vars(r)["id"]})
}

// feedName is the calendar name of f in the instance's language (the file of one workshop is
// named after it when rendered).
func (a *API) feedName(f Feed) string {
	switch f.Kind {
	case "software":
		return fmt.Sprintf(a.text.calendarSoftware, a.siteName, f.Key)
	case "series":
		return fmt.Sprintf(a.text.calendarSeries, a.siteName, f.Key)
	case "all":
		return fmt.Sprintf(a.text.calendarAll, a.siteName)
	}
	return ""
}

// Warm renders the feed of every workshop as a request would, so that the first requests after
// a start find its VEVENTs (which every feed shares) and the rendered feed in memory instead of
// each paying a cold render (hundreds of milliseconds for 10 000 events on a busy machine).
// serve runs it once at start, in the background; requests that arrive meanwhile wait for the
// same render rather than starting their own (see feedBody).
func (a *API) Warm(ctx context.Context) error {
	f := Feed{Kind: "all"}
	v, err := a.feedValidator(ctx, f)
	if err != nil {
		return err
	}
	_, err = a.feedBody(ctx, f, v)
	return err
}

// feedBody returns the rendered feed f for validator v: from the feed cache, or rendered once
// however many requests ask at the same time (a restart, then every subscribed client polling).
func (a *API) feedBody(ctx context.Context, f Feed, v Validator) ([]byte, error) {
	if body, ok := a.feeds.get(f, v.ETag); ok {
		return body, nil
	}
	ch := a.rendering.DoChan(f.Kind+"\x00"+f.Key+"\x00"+v.ETag, func() (any, error) {
		// Not the first caller's context: the others wait for this render too.
		a.rendered.Add(1)
		body, err := a.renderFeed(context.WithoutCancel(ctx), f, a.feedName(f), v.Count)
		if err == nil {
			a.feeds.put(f, v.ETag, body)
		}
		return body, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serveFeed answers a feed with conditional GET: the validator comes from memory while nothing
// changed (see FeedValidation), so a client polling an unchanged feed costs a 304 and no render.
func (a *API) serveFeed(w http.ResponseWriter, r *http.Request, f Feed) error {
	ctx := r.Context()
	v, err := a.feedValidator(ctx, f)
	if err != nil {
		return err
	}
	if f.Kind == "workshop" && v.Count == 0 {
		return fmt.Errorf("schedule: workshop %s: %w", f.Key, ErrNotFound)
	}
	h := w.Header()
	h.Set("ETag", v.ETag)
	if !v.LastModified.IsZero() {
		h.Set("Last-Modified", v.LastModified.UTC().Format(http.TimeFormat))
	}
	h.Set("Cache-Control", "public, max-age=300")
	if notModified(r, v) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body, err := a.feedBody(ctx, f, v)
	if err != nil {
		return err
	}
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if f.Kind == "workshop" {
		h.Set("Content-Disposition", `inline; filename="workshop-`+f.Key+`.ics"`)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// feedCache keeps the last rendering of each feed with the ETag it was made for, so that clients
// that poll without validators cost the validator query, not a render. The ETag comes from the
// database, so several Atelier instances never serve each other's stale copies.
type feedCache struct {
	mu sync.Mutex
	m  map[Feed]cachedFeed
}

type cachedFeed struct {
	etag string
	body []byte
}

const maxCachedFeeds = 256

func (c *feedCache) get(f Feed, etag string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[f]
	return e.body, ok && e.etag == etag
}

func (c *feedCache) put(f Feed, etag string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[Feed]cachedFeed{}
	}
	if _, ok := c.m[f]; !ok && len(c.m) >= maxCachedFeeds {
		for k := range c.m { // evict an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[f] = cachedFeed{etag: etag, body: body}
}

// notModified applies RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since is used only
// without it.
func notModified(r *http.Request, v Validator) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == v.ETag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !v.LastModified.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !v.LastModified.Truncate(time.Second).After(t)
	}
	return false
}
