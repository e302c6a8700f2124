package catalog

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// FreshnessReport is the animators' to-do list: outdated replays grouped by software.
type FreshnessReport struct {
	Software []SoftwareReport `json:"software"`
	// Total is the number of outdated (replay, software) pairs.
	Total int `json:"total"`
}

// SoftwareReport is one software's outdated replays, most long-outdated first.
type SoftwareReport struct {
	Slug          string           `json:"slug"`
	Name          string           `json:"name"`
	LatestRelease string           `json:"latest_release"`
	Replays       []OutdatedReplay `json:"replays"`
}

// OutdatedReplay is a replay that an interface change of one software has outdated.
type OutdatedReplay struct {
	ID          string      `json:"id"`
	Title       string      `json:"title"`
	Publication Publication `json:"publication"`
	// OutdatedBy is the first interface-changing release after the oldest documented version.
	OutdatedBy Release `json:"outdated_by"`
	// OutdatedDays is how long ago OutdatedBy was released, in whole days.
	OutdatedDays int `json:"outdated_days"`
	// Since is when the catalog learnt of it: the later of the release's and the replay's creation.
	Since time.Time `json:"since"`
	// WholeReplay: the replay's own documents are outdated, not only some chapters.
	WholeReplay bool `json:"whole_replay"`
	// DocumentedVersions are the outdated versions the replay itself documents.
	DocumentedVersions []string          `json:"documented_versions"`
	Chapters           []OutdatedChapter `json:"chapters"`
}

// OutdatedChapter is a chapter whose documented version is outdated.
type OutdatedChapter struct {
	Index   int    `json:"index"`
	Title   string `json:"title"`
	StartMS int64  `json:"start_ms"`
	Version string `json:"version"`
}

// outdatedQuery lists every outdated tag with its replay, chapter and first outdating release.
// {{JOIN}} is crossJoin: SQLite reads the software first, from its CROSS JOIN.
const outdatedQuery = `SELECT s.slug, s.name, rp.id, rp.title, rp.publication, rp.created_at, t.chapter,
	COALESCE(c.title, ''), COALESCE(c.start_ms, 0), t.version,
	ob.version, ob.version_key, ob.released_at, ob.notes, ob.reviewed, ob.source, ob.created_at
FROM software s
{{JOIN}} replay_tags t ON t.software_id = s.id
	AND t.version_key < (SELECT MAX(r.version_key) FROM releases r WHERE r.software_id = s.id AND r.interface_change = 1)
JOIN replays rp ON rp.seq = t.replay_seq
LEFT JOIN replay_chapters c ON c.replay_id = t.replay_id AND c.idx = t.chapter
JOIN releases ob ON ob.id = (SELECT r.id FROM releases r
	WHERE r.software_id = s.id AND r.interface_change = 1 AND r.version_key > t.version_key
	ORDER BY r.version_key LIMIT 1)
WHERE %s
ORDER BY s.slug, rp.id, t.chapter`

// outdatedSQL is outdatedQuery with its conditions and the store's join.
func (s *Store) outdatedSQL(conds string) string {
	return strings.Replace(fmt.Sprintf(outdatedQuery, conds), "{{JOIN}}", s.crossJoin(), 1)
}

// Freshness builds the report. Without allPublications only published replays count; software
// (optional) restricts it to one software.
func (s *Store) Freshness(ctx context.Context, software string, allPublications bool) (FreshnessReport, error) {
	var conds []string
	var args []any
	if !allPublications {
		conds = append(conds, "rp.publication = 'published'")
	}
	if software != "" {
		if _, err := s.softwareID(ctx, "software", software); err != nil {
			return FreshnessReport{}, err
		}
		args = append(args, software)
		conds = append(conds, fmt.Sprintf("s.slug = $%d", len(args)))
	}
	if len(conds) == 0 {
		conds = append(conds, "1 = 1")
	}
	rows, err := s.db.QueryContext(ctx, s.outdatedSQL(strings.Join(conds, " AND ")), args...)
	if err != nil {
		return FreshnessReport{}, fmt.Errorf("catalog: freshness report: %w", err)
	}
	defer rows.Close()
	now := s.now()
	rep := FreshnessReport{Software: []SoftwareReport{}}
	var cur *SoftwareReport
	var item *OutdatedReplay
	var itemKey string
	for rows.Next() {
		var (
			slug, name, id, title, created, chTitle, version string
			pub                                              Publication
			chapter                                          int
			startMS                                          int64
			obKey, obReleased, obCreated                     string
			ob                                               Release
		)
		if err := rows.Scan(&slug, &name, &id, &title, &pub, &created, &chapter, &chTitle, &startMS, &version,
			&ob.Version, &obKey, &obReleased, &ob.Notes, &ob.Reviewed, &ob.Source, &obCreated); err != nil {
			return FreshnessReport{}, fmt.Errorf("catalog: freshness report: %w", err)
		}
		ob.Software, ob.InterfaceChange = slug, true
		ob.ReleasedAt, ob.CreatedAt = parseTime(obReleased), parseTime(obCreated)
		if cur == nil || cur.Slug != slug {
			rep.Software = append(rep.Software, SoftwareReport{Slug: slug, Name: name, Replays: []OutdatedReplay{}})
			cur = &rep.Software[len(rep.Software)-1]
			item = nil
		}
		if item == nil || item.ID != id {
			cur.Replays = append(cur.Replays, OutdatedReplay{ID: id, Title: title, Publication: pub, OutdatedBy: ob,
				DocumentedVersions: []string{}, Chapters: []OutdatedChapter{}})
			item = &cur.Replays[len(cur.Replays)-1]
			itemKey = obKey
			item.Since = later(ob.CreatedAt, parseTime(created))
			rep.Total++
		} else if obKey < itemKey {
			item.OutdatedBy, itemKey = ob, obKey
			item.Since = later(ob.CreatedAt, parseTime(created))
		}
		if chapter < 0 {
			item.WholeReplay = true
			item.DocumentedVersions = append(item.DocumentedVersions, version)
		} else {
			item.Chapters = append(item.Chapters, OutdatedChapter{Index: chapter, Title: chTitle, StartMS: startMS, Version: version})
		}
	}
	if err := rows.Err(); err != nil {
		return FreshnessReport{}, fmt.Errorf("catalog: freshness report: %w", err)
	}
	for i := range rep.Software {
		sr := &rep.Software[i]
		if v, err := s.LatestRelease(ctx, sr.Slug); err == nil {
			sr.LatestRelease = v
		}
		for j := range sr.Replays {
			sr.Replays[j].OutdatedDays = max(0, int(now.Sub(sr.Replays[j].OutdatedBy.ReleasedAt)/(24*time.Hour)))
		}
		sort.SliceStable(sr.Replays, func(a, b int) bool {
			return sr.Replays[a].OutdatedBy.ReleasedAt.Before(sr.Replays[b].OutdatedBy.ReleasedAt)
		})
	}
	return rep, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Freshness handles GET /api/freshness[?software=slug]. Animators see every publication; the
// public only published replays.
func (a *API) Freshness(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.Store.Freshness(r.Context(), r.URL.Query().Get("software"), a.animator(r))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// Atom 1.0, only what the feed writes.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href   string `xml:"href,attr"`
	Rel    string `xml:"rel,attr,omitempty"`
	Type   string `xml:"type,attr,omitempty"`
	Title  string `xml:"title,attr,omitempty"`
	Length string `xml:"length,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary string   `xml:"summary"`
}

// maxFeedEntries bounds the Atom feed: feed readers only need what is new.
const maxFeedEntries = 100

// FreshnessAtom handles GET /freshness.atom: an entry per (published replay, software) outdated,
// newest first, dated when the catalog learnt of it.
func (a *API) FreshnessAtom(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.Store.Freshness(r.Context(), r.URL.Query().Get("software"), false)
	if err != nil {
		return err
	}
	type pair struct {
		sw SoftwareReport
		rp OutdatedReplay
	}
	var all []pair
	for _, sw := range rep.Software {
		for _, rp := range sw.Replays {
			all = append(all, pair{sw, rp})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].rp.Since.After(all[j].rp.Since) })
	if len(all) > maxFeedEntries {
		all = all[:maxFeedEntries]
	}
	self := a.PublicURL + "/freshness.atom"
	feed := atomFeed{
		Title:  "Atelier: outdated replays",
		ID:     self,
		Links:  []atomLink{{Href: self, Rel: "self", Type: "application/atom+xml"}},
		Author: atomAuthor{Name: "Atelier"},
	}
	updated := time.Unix(0, 0).UTC()
	for _, p := range all {
		updated = later(updated, p.rp.Since)
		var where []string
		if p.rp.WholeReplay {
			where = append(where, "the whole replay documents "+strings.Join(p.rp.DocumentedVersions, ", "))
		}
		for _, c := range p.rp.Chapters {
			where = append(where, fmt.Sprintf("chapter %d %q documents %s", c.Index+1, c.Title, c.Version))
		}
		feed.Entries = append(feed.Entries, atomEntry{
			Title: fmt.Sprintf("%s: outdated by %s %s", p.rp.Title, p.sw.Name, p.rp.OutdatedBy.Version),
			ID:    "urn:atelier:outdated:" + url.PathEscape(p.rp.ID) + ":" + url.PathEscape(p.sw.Slug) + ":" + url.PathEscape(p.rp.OutdatedBy.Version),
			// Since is when it became outdated here; the feed reader orders on it.
			Updated: p.rp.Since.Format(time.RFC3339),
			Link:    atomLink{Href: a.PublicURL + "/replays/" + url.PathEscape(p.rp.ID), Rel: "alternate"},
			Summary: fmt.Sprintf("%s %s (released %s) changed the interface: %s.", p.sw.Name, p.rp.OutdatedBy.Version,
				p.rp.OutdatedBy.ReleasedAt.Format(time.DateOnly), strings.Join(where, "; ")),
		})
	}
	feed.Updated = updated.Format(time.RFC3339)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	if _, err := w.Write([]byte(xml.Header)); err != nil {
		return nil
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	_ = enc.Encode(feed) // the client may have gone
	return nil
}
