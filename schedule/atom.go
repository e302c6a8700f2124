package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// maxAtomEntries bounds the Atom feeds of upcoming workshops: the bridges that post them
// (Mastodon, Matrix) only need what is coming soon.
const maxAtomEntries = 100

// Atom 1.0 (RFC 4287), only what the feeds of upcoming workshops write.
type atomFeed struct {
	XMLName  xml.Name     `xml:"http://www.w3.org/2005/Atom feed"`
	Lang     string       `xml:"xml:lang,attr"`
	Title    string       `xml:"title"`
	ID       string       `xml:"id"`
	Updated  string       `xml:"updated"`
	Links    []atomLink   `xml:"link"`
	Author   atomPerson   `xml:"author"`
	Entries  []atomEntry  `xml:"entry"`
	Generate atomGenerate `xml:"generator"`
}

type atomGenerate struct {
	Name string `xml:",chardata"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
	Content    atomText       `xml:"content"`
}

// WorkshopsAtom handles GET /workshops.atom: the upcoming workshops as an Atom feed, for the
// bridges that post them to Mastodon or Matrix and for feed readers.
func (a *API) WorkshopsAtom(w http.ResponseWriter, r *http.Request) error {
	return a.serveAtom(w, r, "")
}

// SoftwareWorkshopsAtom handles GET /software/{slug}/workshops.atom: the upcoming workshops
// about one software.
func (a *API) SoftwareWorkshopsAtom(w http.ResponseWriter, r *http.Request) error {
	slug := mux.Vars(r)["slug"]
	if !validSlug(slug) {
		return fmt.Errorf("schedule: software %q: %w", slug, ErrNotFound)
	}
	return a.serveAtom(w, r, slug)
}

// serveAtom answers the Atom feed of upcoming workshops (of one software if slug is set), with
// an ETag of its bytes: it is small (at most maxAtomEntries entries) and read from the upcoming
// list, so it is built on each request rather than cached.
func (a *API) serveAtom(w http.ResponseWriter, r *http.Request, slug string) error {
	// The soonest are wanted, but the store orders by first start: an old endless series comes
	// first there while its next occurrence may be far. Read more, then sort on what is next.
	list, _, err := a.store.Upcoming(r.Context(), ListFilter{Software: slug, Limit: 4 * maxAtomEntries})
	if err != nil {
		return err
	}
	body, err := a.atom(list, slug)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=300")
	if notModified(r, Validator{ETag: etag}) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/atom+xml; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// atom renders the feed of the upcoming workshops list, soonest first.
func (a *API) atom(list []*Workshop, slug string) ([]byte, error) {
	now := a.now()
	type item struct {
		w    *Workshop
		next time.Time
	}
	var items []item
	for _, w := range list {
		if next := w.nextOccurrence(now); next != nil {
			items = append(items, item{w, *next})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].next.Before(items[j].next) })
	if len(items) > maxAtomEntries {
		items = items[:maxAtomEntries]
	}
	self, page, title := a.publicURL+"/workshops.atom", a.publicURL+"/workshops", fmt.Sprintf(a.text.atomAll, a.siteName)
	if slug != "" {
		self = a.publicURL + "/software/" + slug + "/workshops.atom"
		page = a.publicURL + "/software/" + slug
		title = fmt.Sprintf(a.text.atomSoftware, a.siteName, slug)
	}
	feed := atomFeed{
		Lang:  a.text.lang,
		Title: title,
		ID:    self,
		Links: []atomLink{{Href: self, Rel: "self", Type: "application/atom+xml"}, {Href: page, Rel: "alternate", Type: "text/html"},
			{Href: FeedLinks(a.publicURL, map[bool]string{true: "software", false: "all"}[slug != ""], slug).ICS, Rel: "related", Type: "text/calendar"}},
		Author:   atomPerson{Name: a.siteName},
		Generate: atomGenerate{Name: "Atelier"},
	}
	// An empty feed is as old as the clock's day, so that its ETag holds through the day.
	updated := now.UTC().Truncate(24 * time.Hour)
	if len(items) > 0 {
		updated = time.Time{}
	}
	for _, it := range items {
		w := it.w
		if w.UpdatedAt.After(updated) {
			updated = w.UpdatedAt
		}
		e := atomEntry{
			Title:     w.Title,
			ID:        "urn:atelier:workshop:" + url.PathEscape(w.UID),
			Published: w.CreatedAt.UTC().Format(time.RFC3339),
			Updated:   w.UpdatedAt.UTC().Format(time.RFC3339),
			Links: []atomLink{{Href: a.publicURL + "/workshops/" + url.PathEscape(w.ID), Rel: "alternate", Type: "text/html"},
				{Href: LinksFor(a.publicURL, w).ICS, Rel: "related", Type: "text/calendar"}},
			Summary: atomText{Type: "text", Body: a.atomSummary(w, it.next)},
			Content: atomText{Type: "text", Body: a.atomContent(w, it.next)},
		}
		seen := map[string]bool{}
		for _, d := range w.Documents {
			if !seen[d.Software] {
				seen[d.Software] = true
				e.Categories = append(e.Categories, atomCategory{Term: d.Software})
			}
		}
		feed.Entries = append(feed.Entries, e)
	}
	feed.Updated = updated.UTC().Format(time.RFC3339)
	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(feed); err != nil {
		return nil, fmt.Errorf("schedule: atom: %w", err)
	}
	b.WriteString("\n")
	return []byte(b.String()), nil
}

// atomSummary is one line a bridge can post: when, and where.
func (a *API) atomSummary(w *Workshop, next time.Time) string {
	s := a.text.starts + a.text.when(next, w.duration())
	if w.Location != "" {
		s += " · " + a.text.location + w.Location
	}
	return s
}

// atomContent is the whole announcement: when, where, the description and the practical
// details, with the labels of the instance's language.
func (a *API) atomContent(w *Workshop, next time.Time) string {
	lines := []string{a.atomSummary(w, next)}
	if d := strings.TrimSpace(w.Description); d != "" {
		lines = append(lines, "", d, "")
	}
	if w.Animator != "" {
		lines = append(lines, a.text.animator+w.Animator)
	}
	if w.Language != "" {
		lines = append(lines, a.text.language+w.Language)
	}
	if len(w.Documents) > 0 {
		lines = append(lines, a.text.software+documentList(w.Documents))
	}
	if w.RegistrationURL != "" {
		lines = append(lines, a.text.registration+w.RegistrationURL)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
