package web

import (
	"codeberg.org/atelier/atelier/assets/layout"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/schedule"
)

// workshopView is a workshop as the pages show it: times resolved in its own zone.
type workshopView struct {
	*schedule.Workshop
	Start    time.Time // next (or first) occurrence, in the workshop's zone
	Duration time.Duration
	ICS      string // add to my calendar
	Software []softwareLink
}

type softwareLink struct {
	Slug, Name, Version string
	Webcal              template.URL
}

// webcal is the subscription link of a feed path. html/template only trusts http(s) and mailto
// links, so the type says this one was built here, from the configured public URL.
func (s *Site) webcal(path string) template.URL {
	u := s.publicURL
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	return template.URL("webcal://" + u + path)
}

func (s *Site) softwareNames(ctx context.Context) map[string]string {
	names := map[string]string{}
	if s.catalog == nil {
		return names
	}
	list, err := s.catalog.ListSoftware(ctx)
	if err != nil {
		return names
	}
	for _, sw := range list {
		names[sw.Slug] = sw.Name
	}
	return names
}

func nameOf(names map[string]string, slug string) string {
	if n := names[slug]; n != "" {
		return n
	}
	return slug
}

func (s *Site) viewWorkshop(w *schedule.Workshop, names map[string]string) workshopView {
	v := workshopView{Workshop: w, ICS: "/workshops/" + w.ID + ".ics"}
	loc, err := time.LoadLocation(w.Timezone)
	if err != nil {
		loc = time.UTC
	}
	if w.NextOccurrence != nil {
		v.Start = w.NextOccurrence.In(loc)
	} else if t, err := time.ParseInLocation(schedule.LocalLayout, w.StartsAt, loc); err == nil {
		v.Start = t
	}
	v.Duration, _ = schedule.ParseDuration(w.Duration)
	for _, d := range w.Documents {
		v.Software = append(v.Software, softwareLink{Slug: d.Software, Name: nameOf(names, d.Software), Version: d.Version,
			Webcal: s.webcal("/calendar/software/" + d.Software + ".ics")})
	}
	return v
}

func (s *Site) upcoming(ctx context.Context, f schedule.ListFilter) ([]workshopView, int, error) {
	if s.schedule == nil {
		return nil, 0, nil
	}
	list, total, err := s.schedule.Upcoming(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	names := s.softwareNames(ctx)
	out := make([]workshopView, 0, len(list))
	for _, w := range list {
		out = append(out, s.viewWorkshop(w, names))
	}
	return out, total, nil
}

// Home is / : the next workshops and the latest replays.
func (s *Site) Home(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path != "/" {
		return fmt.Errorf("web: %s: %w", r.URL.Path, httpapi.ErrNotFound)
	}
	ctx := r.Context()
	ws, _, err := s.upcoming(ctx, schedule.ListFilter{Limit: 6})
	if err != nil {
		return err
	}
	latest, _, _, err := s.listReplays(ctx, replayQuery{Limit: 6})
	if err != nil {
		return err
	}
	return s.renderHead(w, r, http.StatusOK, "home", "", map[string]any{
		"Workshops": ws, "Replays": latest, "Webcal": s.webcal("/calendar.ics"), "Names": s.softwareNames(ctx),
	}, func(l Lang) head {
		return head{Preview: s.newPreview(l, "website", s.siteName, l.T("site.tagline"), "/"), Feeds: s.siteFeeds(l)}
	})
}

// Workshops is /workshops: every upcoming workshop and the subscriptions.
func (s *Site) Workshops(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	pg, err := httpapi.ParsePage(r)
	if err != nil {
		return err
	}
	ws, total, err := s.upcoming(ctx, schedule.ListFilter{Software: q.Get("software"), Limit: pg.Limit, Offset: pg.Offset})
	if err != nil {
		return err
	}
	names := s.softwareNames(ctx)
	var subs []softwareLink
	for slug, name := range names {
		subs = append(subs, softwareLink{Slug: slug, Name: name, Webcal: s.webcal("/calendar/software/" + slug + ".ics")})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	return s.renderHead(w, r, http.StatusOK, "workshops", "ws.title", map[string]any{
		"Workshops": ws, "Total": total, "Webcal": s.webcal("/calendar.ics"), "Subscriptions": subs,
		"Next": nextLink(r, pg, total),
	}, func(l Lang) head {
		return head{Preview: s.newPreview(l, "website", l.T("ws.title")+" · "+s.siteName, l.T("ws.subscribe.help"), "/workshops"),
			Feeds: s.siteFeeds(l)}
	})
}

// workshopOf reads the workshop of the route's {id} and its view, for its page and its card.
func (s *Site) workshopOf(r *http.Request) (*schedule.Workshop, workshopView, error) {
	if s.schedule == nil {
		return nil, workshopView{}, fmt.Errorf("web: no schedule: %w", httpapi.ErrNotFound)
	}
	ctx := r.Context()
	ws, err := s.schedule.Get(ctx, mux.Vars(r)["id"])
	if err != nil {
		return nil, workshopView{}, err
	}
	return ws, s.viewWorkshop(ws, s.softwareNames(ctx)), nil
}

// Workshop is /workshops/{id}.
func (s *Site) Workshop(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ws, v, err := s.workshopOf(r)
	if err != nil {
		return err
	}
	replayID := ws.ReplayID
	if replayID == "" && s.catalog != nil {
		if id, ok, err := s.catalog.PublishedReplayForWorkshop(ctx, ws.ID); err == nil && ok {
			replayID = id
		}
	}
	return s.renderHead(w, r, http.StatusOK, "workshop", "", map[string]any{
		"W": v, "ReplayID": replayID, "Webcal": s.webcal("/calendar.ics"),
	}, func(l Lang) head {
		desc := ""
		if !v.Start.IsZero() {
			desc = formatDateTime(l, v.Start) + ". "
		}
		p := s.newPreview(l, "event", ws.Title, desc+ws.Description, "/workshops/"+ws.ID)
		p.Image = withLang(s.abs("/workshops/"+ws.ID+"/card.png"), l)
		hd := head{Title: ws.Title, Preview: p, Feeds: s.siteFeeds(l)}
		for _, sw := range v.Software {
			hd.Feeds = append(hd.Feeds, feedLink{Type: "text/calendar", Title: l.T("ws.subscribe.sw", sw.Name),
				Href: s.abs("/calendar/software/" + sw.Slug + ".ics")})
		}
		return hd
	})
}

// trackView is a subtitle track for the <track> element.
type trackView struct {
	Lang, Label string
	Default     bool
}

// tagView explains one outdated tag: what the replay shows and which release changed it.
type tagView struct {
	Software, Name, Version string
	By                      *catalog.Release
	Newer                   []catalog.Replay
}

// Replay is /replays/{id}: the player, tracks, chapters and the freshness banner.
func (s *Site) Replay(w http.ResponseWriter, r *http.Request) error {
	v, err := s.replayView(w, r)
	if err != nil {
		return err
	}
	return s.renderHead(w, r, http.StatusOK, "replay", "", v.data, v.head)
}

// replayPage is what the replay page and its embed show.
type replayPage struct {
	site   *Site
	rp     catalog.Replay
	vis    visibility
	shows  []softwareLink
	poster bool
	data   map[string]any // the template's
}

// head is the replay's link preview: none for a draft, noindex for an unlisted replay.
func (v *replayPage) head(l Lang) head {
	s, rp := v.site, v.rp
	if v.vis == visibleDraft {
		return head{Title: rp.Title, NoIndex: true}
	}
	hd := head{Title: rp.Title, Feeds: s.siteFeeds(l), NoIndex: rp.Publication == catalog.Unlisted,
		OEmbed: s.abs("/oembed?format=json&url=" + url.QueryEscape(s.abs("/replays/"+rp.ID)))}
	desc := rp.Description
	if desc == "" {
		var shows []string
		for _, sh := range v.shows {
			shows = append(shows, sh.Name+" "+sh.Version)
		}
		desc = l.T("site.tagline")
		if len(shows) > 0 {
			desc = l.T("card.replay.desc", strings.Join(shows, ", "))
		}
	}
	p := s.newPreview(l, "video.other", rp.Title, desc, "/replays/"+rp.ID)
	if v.poster {
		p.Image, p.ImageType, p.ImageWidth, p.ImageHeight = s.abs("/replays/"+rp.ID+"/poster.jpg"), "image/jpeg", 0, 0
	}
	p.Video = s.abs("/replays/" + rp.ID + "/video.mp4")
	p.Player = s.abs("/replays/" + rp.ID + "/embed")
	hd.Preview = p
	for _, sh := range v.shows {
		hd.Feeds = append(hd.Feeds, feedLink{Type: "application/atom+xml", Title: l.T("feed.software", sh.Name),
			Href: s.abs("/software/" + sh.Slug + "/replays.atom")})
	}
	if rp.Language != "" {
		hd.Feeds = append(hd.Feeds, feedLink{Type: "application/atom+xml", Title: l.T("feed.language", l.LangName(rp.Language)),
			Href: s.abs("/replays.atom?language=" + url.QueryEscape(rp.Language))})
	}
	return hd
}

// replayView reads replay {id} and everything its page and embed show, for a visitor allowed
// to see it.
func (s *Site) replayView(w http.ResponseWriter, r *http.Request) (*replayPage, error) {
	if s.catalog == nil {
		return nil, fmt.Errorf("web: no catalog: %w", httpapi.ErrNotFound)
	}
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	if !replayIDPattern.MatchString(id) {
		return nil, fmt.Errorf("web: replay %q: %w", id, httpapi.ErrNotFound)
	}
	// Fresh from the catalog, not the streams' cache: a replay just published from the studio
	// must open at once.
	rp, err := s.catalog.Replay(ctx, id)
	if err != nil {
		return nil, err
	}
	vis, err := s.visibilityOf(r, id, string(rp.Publication))
	if err != nil {
		return nil, err
	}
	l := pickLang(w, r)
	names := s.softwareNames(ctx)
	base := "/replays/" + id
	has := func(file string) bool {
		_, err := s.media.Stat(ctx, layout.Replay(id).Render(rp.Render).Key(file))
		return err == nil
	}
	var tracks []trackView
	def := -1
	for _, t := range rp.Tracks {
		if !t.Offered() { // a draft stays in the studio until reviewed or made visible
			continue
		}
		label := l.LangName(t.Lang)
		if t.Kind == "auto" {
			label += " " + l.T("rp.auto")
		}
		tracks = append(tracks, trackView{Lang: t.Lang, Label: label})
		if def < 0 && primary(t.Lang) == l.Code {
			def = len(tracks) - 1
		}
	}
	if def >= 0 {
		tracks[def].Default = true
	}
	var outdated []tagView
	seen := map[string]bool{}
	addOutdated := func(tags []catalog.TagFreshness) {
		for _, t := range tags {
			if t.Status != catalog.Outdated || t.OutdatedBy == nil || seen[t.Software+"@"+t.Version] {
				continue
			}
			seen[t.Software+"@"+t.Version] = true
			tv := tagView{Software: t.Software, Name: nameOf(names, t.Software), Version: t.Version, By: t.OutdatedBy}
			// Newer replays: those still right for the software's latest release.
			latest, err := s.catalog.LatestRelease(ctx, t.Software)
			var newer []catalog.Replay
			if err == nil && latest != "" {
				newer, _, _, err = s.listReplays(ctx, replayQuery{For: t.Software + "@" + latest, Limit: 5})
			}
			if err == nil {
				for _, n := range newer {
					if n.ID != rp.ID {
						tv.Newer = append(tv.Newer, n)
					}
				}
			}
			outdated = append(outdated, tv)
		}
	}
	addOutdated(rp.Freshness.Tags)
	for _, c := range rp.Chapters {
		addOutdated(c.Freshness.Tags)
	}
	var workshopTitle string
	if rp.WorkshopID != "" && s.schedule != nil {
		if ws, err := s.schedule.Get(ctx, rp.WorkshopID); err == nil {
			workshopTitle = ws.Title
		}
	}
	var shows []softwareLink
	for _, d := range rp.Documents {
		shows = append(shows, softwareLink{Slug: d.Software, Name: nameOf(names, d.Software), Version: d.Version})
	}
	// Cache-Control follows the publication (noindex also comes from the head).
	setVisibilityHeaders(w.Header(), vis)
	poster, hls := has("poster.jpg"), has("hls/master.m3u8")
	data := map[string]any{
		"R": rp, "Base": base, "Draft": vis == visibleDraft, "HLSBase": pinnedBase(base, rp.Render),
		"HLS": hls, "HLSJS": hasHLSJS(), "Poster": poster, "LadderGrowing": hls && s.ladderGrowing(r, id),
		"ChaptersTrack": len(rp.Chapters) > 0 && has("chapters.vtt"), "Storyboard": has("storyboard.vtt"),
		"Tracks": tracks, "Outdated": outdated, "Shows": shows, "WorkshopTitle": workshopTitle,
		"Chapters": chapterViews(rp, names), "Yours": yoursViews(rp, names),
	}
	return &replayPage{site: s, rp: rp, vis: vis, shows: shows, poster: poster, data: data}, nil
}

// pinnedBase is where the player reads the HLS of the replay's generation render: pinned to it
// (web.Stream), unless the replay has the flat layout of the first versions.
func pinnedBase(base, render string) string {
	if render == "" {
		return base
	}
	return base + "/r/" + render
}

// chapterView is a chapter with the freshness a learner reads next to it: up to date, not
// checked, or which release outdated it.
type chapterView struct {
	StartMS int64
	Title   string
	Status  catalog.Status
	By      []string // "Nextcloud 28.0.0": the releases that outdated what the chapter shows
}

// chapterViews gives each chapter its freshness. A chapter that documents nothing of its own
// shows what the replay shows, so it takes the replay's own tags.
func chapterViews(rp catalog.Replay, names map[string]string) []chapterView {
	var out []chapterView
	for _, c := range rp.Chapters {
		tags := c.Freshness.Tags
		if len(c.Documents) == 0 {
			tags = rp.Freshness.Tags
		}
		v := chapterView{StartMS: c.StartMS, Title: c.Title, Status: catalog.Current}
		seen := map[string]bool{}
		for _, t := range tags {
			switch {
			case t.Status == catalog.Outdated:
				v.Status = catalog.Outdated
				if t.OutdatedBy != nil && !seen[t.Software+t.OutdatedBy.Version] {
					seen[t.Software+t.OutdatedBy.Version] = true
					v.By = append(v.By, nameOf(names, t.Software)+" "+t.OutdatedBy.Version)
				}
			case t.Status == catalog.Unknown && v.Status == catalog.Current:
				v.Status = catalog.Unknown
			}
		}
		out = append(out, v)
	}
	return out
}

// yourView lets the page's script speak of the learner's own version of a software the
// replay shows (remembered on their device): the versions this replay is right for are
// [Max, Until): Max is the newest version it shows, Until the first interface change after the
// oldest ("" if none yet).
type yourView struct {
	Slug, Name, Max, Until string
}

func yoursViews(rp catalog.Replay, names map[string]string) []yourView {
	bySlug := map[string]*yourView{}
	var order []string
	add := func(tags []catalog.TagFreshness) {
		for _, t := range tags {
			v := bySlug[t.Software]
			if v == nil {
				v = &yourView{Slug: t.Software, Name: nameOf(names, t.Software), Max: t.Version}
				bySlug[t.Software] = v
				order = append(order, t.Software)
			}
			if c, err := catalog.CompareVersions(t.Version, v.Max); err == nil && c > 0 {
				v.Max = t.Version
			}
			if t.OutdatedBy != nil {
				if v.Until == "" {
					v.Until = t.OutdatedBy.Version
				} else if c, err := catalog.CompareVersions(t.OutdatedBy.Version, v.Until); err == nil && c < 0 {
					v.Until = t.OutdatedBy.Version
				}
			}
		}
	}
	add(rp.Freshness.Tags)
	for _, c := range rp.Chapters {
		add(c.Freshness.Tags)
	}
	out := make([]yourView, 0, len(order))
	for _, slug := range order {
		out = append(out, *bySlug[slug])
	}
	return out
}

// primary is the language subtag of a BCP 47 code: "fr-CA" -> "fr".
func primary(code string) string {
	p, _, _ := strings.Cut(strings.ToLower(code), "-")
	return p
}

// Software is /software/{slug}: the releases as a timeline and the replays per version.
func (s *Site) Software(w http.ResponseWriter, r *http.Request) error {
	if s.catalog == nil {
		return fmt.Errorf("web: no catalog: %w", httpapi.ErrNotFound)
	}
	ctx := r.Context()
	sw, err := s.catalog.Software(ctx, mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	replays, _, _, err := s.listReplays(ctx, replayQuery{Software: sw.Slug, Limit: 200})
	if err != nil {
		return err
	}
	// Group the replays by the version of this software they show.
	byVersion := map[string][]catalog.Replay{}
	var versions []string
	for _, rp := range replays {
		for _, d := range rp.Documents {
			if d.Software != sw.Slug {
				continue
			}
			if _, ok := byVersion[d.Version]; !ok {
				versions = append(versions, d.Version)
			}
			byVersion[d.Version] = append(byVersion[d.Version], rp)
		}
	}
	sort.Slice(versions, func(i, j int) bool {
		c, err := catalog.CompareVersions(versions[i], versions[j])
		return err == nil && c > 0
	})
	type group struct {
		Version string
		Replays []catalog.Replay
	}
	var groups []group
	for _, v := range versions {
		groups = append(groups, group{Version: v, Replays: byVersion[v]})
	}
	return s.renderHead(w, r, http.StatusOK, "software", "", map[string]any{
		"S": sw, "Groups": groups, "Webcal": s.webcal("/calendar/software/" + sw.Slug + ".ics"),
	}, func(l Lang) head {
		p := s.newPreview(l, "website", sw.Name+" · "+s.siteName, l.T("card.software.desc", sw.Name), "/software/"+sw.Slug)
		p.Image = withLang(s.abs("/software/"+sw.Slug+"/card.png"), l)
		return head{Title: sw.Name, Preview: p, Feeds: append([]feedLink{
			{Type: "application/atom+xml", Title: l.T("feed.software", sw.Name), Href: s.abs("/software/" + sw.Slug + "/replays.atom")},
			{Type: "application/atom+xml", Title: l.T("feed.software.workshops", sw.Name), Href: s.abs("/software/" + sw.Slug + "/workshops.atom")},
			{Type: "text/calendar", Title: l.T("ws.subscribe.sw", sw.Name), Href: s.abs("/calendar/software/" + sw.Slug + ".ics")},
		}, s.siteFeeds(l)...)}
	})
}

func nextLink(r *http.Request, pg httpapi.Page, total int) string {
	n := pg.NextOffset(total)
	if n == nil {
		return ""
	}
	q := r.URL.Query()
	q.Set("offset", fmt.Sprint(*n))
	return r.URL.Path + "?" + q.Encode()
}

// filterLanguages are offered in the catalog's language filter.
var filterLanguages = []string{"fr", "en", "de", "es", "it"}

// Replays is /replays: the catalog with its filters, full-text search and pages. "I use
// Nextcloud 28" is software=nextcloud&version=28, asked of the catalog as for=nextcloud@28.
func (s *Site) Replays(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	pg, err := httpapi.ParsePage(r)
	if err != nil {
		return err
	}
	if q.Get("limit") == "" {
		pg.Limit = 24 // a grid of cards, not an API page
	}
	rq := replayQuery{Software: q.Get("software"), Status: q.Get("status"), Language: q.Get("language"),
		Q: strings.TrimSpace(q.Get("q")), Limit: pg.Limit, Offset: pg.Offset}
	version := strings.TrimSpace(q.Get("version"))
	if version != "" && rq.Software != "" {
		rq.For = rq.Software + "@" + version
	}
	list, total, exact, err := s.listReplays(ctx, rq)
	if err != nil {
		return err
	}
	var sw []catalog.Software
	if s.catalog != nil {
		if sw, err = s.catalog.ListSoftware(ctx); err != nil {
			return err
		}
	}
	var prev string
	if pg.Offset > 0 {
		pq := r.URL.Query()
		pq.Set("offset", fmt.Sprint(max(0, pg.Offset-pg.Limit)))
		prev = r.URL.Path + "?" + pq.Encode()
	}
	return s.renderHead(w, r, http.StatusOK, "replays", "rp.title", map[string]any{
		"Q": rq, "Version": version, "Replays": list, "Total": total, "TotalExact": exact, "Software": sw, "Names": s.softwareNames(ctx),
		"Statuses": []catalog.Status{catalog.Current, catalog.Outdated, catalog.Unknown}, "Languages": filterLanguages,
		"Next": nextLink(r, pg, total), "Prev": prev,
	}, func(l Lang) head {
		hd := head{Preview: s.newPreview(l, "website", l.T("rp.title")+" · "+s.siteName, l.T("card.replays.desc"), "/replays"),
			Feeds: s.siteFeeds(l)}
		if rq.Software != "" {
			hd.Feeds = append([]feedLink{{Type: "application/atom+xml", Title: l.T("feed.software", nameOf(s.softwareNames(ctx), rq.Software)),
				Href: s.abs("/software/" + url.PathEscape(rq.Software) + "/replays.atom")}}, hd.Feeds...)
		}
		return hd
	})
}
