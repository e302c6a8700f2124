package catalog

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// API is the catalog's HTTP handlers; cmd/atelier wires them into the route table.
type API struct {
	Store *Store
	// PublicURL prefixes the links in replies and feeds ("" gives root-relative links).
	PublicURL string
	// IsAnimator reports whether a request on a public route carries an animator (or admin)
	// credential: such requests also see drafts. Nil means nobody does.
	IsAnimator func(r *http.Request) bool
	// Media gives the enclosures of the replay feeds their byte length; nil leaves them out.
	Media MediaStat
	// Language (en, fr) is the instance's language: the words inside the feeds. SiteName is
	// the collective's name in their titles (default Atelier).
	Language, SiteName string
	// AllowPrivateFeeds lets POST /api/software/{slug}/sync read feeds on private addresses,
	// as the periodic sync does with -allow-private-feeds (SyncOptions.AllowPrivate).
	AllowPrivateFeeds bool
}

func (a *API) animator(r *http.Request) bool { return a.IsAnimator != nil && a.IsAnimator(r) }

// list is the shape of every list reply.
type list[T any] struct {
	Items      []T  `json:"items"`
	Total      int  `json:"total"`
	Limit      int  `json:"limit"`
	Offset     int  `json:"offset"`
	NextOffset *int `json:"next_offset"`
}

func paginate[T any](items []T, p httpapi.Page) list[T] {
	l := list[T]{Items: []T{}, Total: len(items), Limit: p.Limit, Offset: p.Offset, NextOffset: p.NextOffset(len(items))}
	if p.Offset < len(items) {
		l.Items = items[p.Offset:min(len(items), p.Offset+p.Limit)]
	}
	return l
}

// CreateSoftware handles POST /api/software.
func (a *API) CreateSoftware(w http.ResponseWriter, r *http.Request) error {
	var n NewSoftware
	if err := httpapi.DecodeJSON(w, r, &n); err != nil {
		return err
	}
	sw, err := a.Store.CreateSoftware(r.Context(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/software/"+url.PathEscape(sw.Slug))
	httpapi.WriteJSON(w, http.StatusCreated, sw)
	return nil
}

// ListSoftware handles GET /api/software.
func (a *API) ListSoftware(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.ParsePage(r)
	if err != nil {
		return err
	}
	all, err := a.Store.ListSoftware(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, paginate(all, p))
	return nil
}

// GetSoftware handles GET /api/software/{slug}: the software with every release, newest first.
func (a *API) GetSoftware(w http.ResponseWriter, r *http.Request) error {
	sw, err := a.Store.Software(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, sw)
	return nil
}

// AddRelease handles POST /api/software/{slug}/releases.
func (a *API) AddRelease(w http.ResponseWriter, r *http.Request) error {
	var n NewRelease
	if err := httpapi.DecodeJSON(w, r, &n); err != nil {
		return err
	}
	rel, err := a.Store.AddRelease(r.Context(), mux.Vars(r)["slug"], n)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, rel)
	return nil
}

// UpdateSoftware handles PATCH /api/software/{slug}: name, homepage, release_feed.
func (a *API) UpdateSoftware(w http.ResponseWriter, r *http.Request) error {
	var u SoftwareUpdate
	if err := httpapi.DecodeJSON(w, r, &u); err != nil {
		return err
	}
	sw, err := a.Store.UpdateSoftware(r.Context(), mux.Vars(r)["slug"], u)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, sw)
	return nil
}

// ReviewRelease handles PATCH /api/software/{slug}/releases/{version}: an animator confirms or
// corrects interface_change (and notes, released_at); the release becomes reviewed.
func (a *API) ReviewRelease(w http.ResponseWriter, r *http.Request) error {
	var u ReleaseUpdate
	if err := httpapi.DecodeJSON(w, r, &u); err != nil {
		return err
	}
	rel, err := a.Store.ReviewRelease(r.Context(), mux.Vars(r)["slug"], mux.Vars(r)["version"], u)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rel)
	return nil
}

// SyncSoftware handles POST /api/software/{slug}/sync (animators): read this software's release
// feed now, as the periodic sync does, and answer what it added ({"software", "added", "skipped"}).
// A feed that cannot be read is a 502 naming the cause; nothing is added then.
func (a *API) SyncSoftware(w http.ResponseWriter, r *http.Request) error {
	slug := mux.Vars(r)["slug"]
	sw, err := a.Store.Software(r.Context(), slug)
	if err != nil {
		return err
	}
	if sw.ReleaseFeed == "" {
		return httpapi.Invalid("release_feed", "%s has no release feed to read: set one first (PATCH /api/software/%s)", sw.Name, slug)
	}
	results, err := a.Store.SyncReleases(r.Context(), SyncOptions{Software: slug, AllowPrivate: a.AllowPrivateFeeds, Log: httpapi.Logger(r.Context())})
	if len(results) != 1 {
		if err == nil {
			err = fmt.Errorf("catalog: sync %s: no result", slug)
		}
		return err
	}
	if res := results[0]; res.Err != nil {
		return &httpapi.PublicError{Status: http.StatusBadGateway, Err: res.Err,
			Msg: fmt.Sprintf("the release feed %s could not be read (%v); check its URL", sw.ReleaseFeed, errors.Unwrap(res.Err))}
	}
	httpapi.WriteJSON(w, http.StatusOK, results[0])
	return nil
}

// Links are where a replay's media are served (by the web routes).
type Links struct {
	Page       string         `json:"page"`
	Video      string         `json:"video,omitempty"`
	HLS        string         `json:"hls,omitempty"`
	Poster     string         `json:"poster,omitempty"`
	Storyboard string         `json:"storyboard,omitempty"`
	Chapters   string         `json:"chapters,omitempty"`
	Subtitles  []SubtitleLink `json:"subtitles,omitempty"`
}

// SubtitleLink is one subtitle track's WebVTT URL.
type SubtitleLink struct {
	Lang string `json:"lang"`
	URL  string `json:"url"`
}

// ReplayJSON is a replay as the API shows it: with its links.
type ReplayJSON struct {
	Replay
	Links Links `json:"links"`
}

func (a *API) withLinks(rp Replay) ReplayJSON {
	base := a.PublicURL + "/replays/" + url.PathEscape(rp.ID)
	l := Links{Page: base}
	if rp.Processing == Ready {
		l.Video, l.HLS, l.Poster = base+"/video.mp4", base+"/hls/master.m3u8", base+"/poster.jpg"
		l.Storyboard = base + "/storyboard.vtt"
		if len(rp.Chapters) > 0 {
			l.Chapters = base + "/chapters.vtt"
		}
		for _, t := range rp.Tracks {
			if !t.Offered() { // a draft's WebVTT answers 404 to the public
				continue
			}
			l.Subtitles = append(l.Subtitles, SubtitleLink{Lang: t.Lang, URL: base + "/subtitles/" + url.PathEscape(t.Lang) + ".vtt"})
		}
	}
	return ReplayJSON{Replay: rp, Links: l}
}

// replayListJSON is the list shape with total_exact: beyond countMax matches (searchMax for a
// search), total is a lower bound (the replays counted) and total_exact false.
type replayListJSON struct {
	Items      []ReplayJSON `json:"items"`
	Total      int          `json:"total"`
	TotalExact bool         `json:"total_exact"`
	Limit      int          `json:"limit"`
	Offset     int          `json:"offset"`
	NextOffset *int         `json:"next_offset"`
}

// ListReplays handles GET /api/replays. Without an animator credential only published replays
// are listed; with one, ?publication= may pick drafts or unlisted ones.
func (a *API) ListReplays(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.ParsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	o := ListOptions{
		Public:   !a.animator(r),
		Software: q.Get("software"), Version: q.Get("version"), Status: q.Get("status"),
		Language: q.Get("language"), Q: q.Get("q"), For: q.Get("for"), Sort: q.Get("sort"), Page: p,
	}
	if pub := q.Get("publication"); pub != "" {
		if o.Public && pub != string(Published) {
			return httpapi.Invalid("publication", "only animators list unpublished replays")
		}
		o.Publication = pub
	}
	l, err := a.Store.ListReplays(r.Context(), o)
	if err != nil {
		return err
	}
	out := replayListJSON{Items: make([]ReplayJSON, len(l.Items)), Total: l.Total, TotalExact: l.TotalExact,
		Limit: l.Limit, Offset: l.Offset, NextOffset: l.NextOffset}
	for i, rp := range l.Items {
		out.Items[i] = a.withLinks(rp)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// GetReplay handles GET /api/replays/{id}: published and unlisted replays for everyone, drafts
// only for animators (404 for the others, so that drafts do not leak their existence).
func (a *API) GetReplay(w http.ResponseWriter, r *http.Request) error {
	rp, err := a.Store.Replay(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	if rp.Publication == Draft && !a.animator(r) {
		return ErrNotFound
	}
	httpapi.WriteJSON(w, http.StatusOK, a.withLinks(rp))
	return nil
}

// PatchReplay handles PATCH /api/replays/{id} (animators): publication, title, description,
// language, documents, chapters.
func (a *API) PatchReplay(w http.ResponseWriter, r *http.Request) error {
	var u ReplayUpdate
	if err := httpapi.DecodeJSON(w, r, &u); err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if err := a.Store.UpdateReplay(r.Context(), id, u); err != nil {
		return err
	}
	rp, err := a.Store.Replay(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a.withLinks(rp))
	return nil
}
