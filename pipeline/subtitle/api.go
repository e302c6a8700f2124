package subtitle

import (
	"codeberg.org/atelier/atelier/pipeline/media"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/asticode/go-astisub"
	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// API is the HTTP side of subtitle tracks:
//
//	PUT /api/recordings/{id}/subtitles/{lang}   (animator) body: the file, in source time
//	GET /api/recordings/{id}/subtitles/{lang}   (animator) the source-time file, to correct it (?format=vtt: as WebVTT)
//	GET /api/recordings/{id}/subtitles          (animator) the tracks: kind, status, cue count, author
//	PATCH /api/recordings/{id}/subtitles/{lang} (animator) {"status": "reviewed"|"draft", "visible": bool}
//
// The published replay-time track is served by the web package at /replays/{id}/subtitles/{lang}.vtt.
type API struct {
	tracks     *Tracks
	recordings Recordings
}

// Recordings is what the API asks about recordings (*pipeline.Service has it).
type Recordings interface {
	// KeptSpans tells whether a recording exists (an error wrapping httpapi.ErrNotFound when
	// not) and, once its replay is ready, the source spans the replay really kept (the actual
	// cut points).
	KeptSpans(ctx context.Context, id string) (keep []media.Span, ready bool, err error)
}

// NewAPI returns the subtitle routes over tracks, asking recs about recordings. Both are
// required: the routes have what they need from the start, never a 503 until late wiring.
func NewAPI(tracks *Tracks, recs Recordings) *API {
	return &API{tracks: tracks, recordings: recs}
}

// TrackReply is a track as the API lists it.
type TrackReply struct {
	Lang      string    `json:"lang"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"` // draft | reviewed | pending (published when the recording is ready)
	CueCount  int       `json:"cue_count"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	URL       string    `json:"url"` // the published WebVTT
	// Visible, ReviewedBy, ReviewedAt: see catalog.Track. Learners are offered a track once
	// reviewed, or a draft made visible on purpose.
	Visible    bool       `json:"visible"`
	ReviewedBy string     `json:"reviewed_by"`
	ReviewedAt *time.Time `json:"reviewed_at"`
}

func trackReply(id string, tr catalog.Track) TrackReply {
	return TrackReply{Lang: tr.Lang, Kind: tr.Kind, Status: tr.Status, CueCount: tr.CueCount, UpdatedBy: tr.UpdatedBy,
		UpdatedAt: tr.UpdatedAt, URL: "/replays/" + id + "/subtitles/" + tr.Lang + ".vtt",
		Visible: tr.Visible, ReviewedBy: tr.ReviewedBy, ReviewedAt: tr.ReviewedAt}
}

// publishedTrack is the catalog's record of a recording's track in lang, if published.
func (a *API) publishedTrack(ctx context.Context, id, lang string) (catalog.Track, bool, error) {
	rp, err := a.tracks.Catalog.Replay(ctx, id)
	if errors.Is(err, httpapi.ErrNotFound) {
		return catalog.Track{}, false, nil
	}
	if err != nil {
		return catalog.Track{}, false, fmt.Errorf("subtitle: tracks of %s: %w", id, err)
	}
	for _, tr := range rp.Tracks {
		if tr.Lang == lang {
			return tr, true, nil
		}
	}
	return catalog.Track{}, false, nil
}

// PutReply is the JSON answer of a PUT: the track, and Warnings that say what the parser skipped
// ("line 3: ...", a WebVTT block a browser would skip too); empty when the whole file was read.
type PutReply struct {
	TrackReply
	Warnings []string `json:"warnings"`
}

// Put stores a track sent by an animator and, when the replay is ready, publishes it re-timed
// through the cuts at once (WebVTT, HLS rendition, master playlist, catalog). The track becomes
// reviewed, by the sender, now (?status=draft keeps it a draft). It keeps its provenance: a
// corrected automatic track stays kind "auto" (?kind=manual says the file replaces it with one
// made by hand); any other track is manual. A draft keeps its "visible" switch. A file that does not parse gets 422 with
// field "file" and the line at fault; blocks skipped as a browser skips them are listed in the
// answer's "warnings".
func (a *API) Put(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, lang := mux.Vars(r)["id"], mux.Vars(r)["lang"]
	lang, err := CanonicalLang(lang)
	if err != nil {
		return httpapi.Invalid("lang", "%s", strings.TrimPrefix(err.Error(), "subtitle: "))
	}
	status := StatusReviewed
	switch s := r.URL.Query().Get("status"); s {
	case "", StatusReviewed:
	case StatusDraft:
		status = StatusDraft
	default:
		return httpapi.Invalid("status", "status %q: use draft or reviewed", s)
	}
	keep, ready, err := a.recordings.KeptSpans(ctx, id)
	if err != nil {
		return err
	}
	kind, prev, err := a.putKind(ctx, id, lang, r.URL.Query().Get("kind"))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFileSize))
	if err != nil {
		return err
	}
	subs, lang, warnings, err := a.tracks.SaveSource(ctx, id, lang, data, hintFrom(r))
	var pe *ParseError
	if errors.As(err, &pe) {
		return httpapi.Invalid("file", "%s", pe.Where())
	}
	if err != nil {
		return err
	}
	by := ""
	if p, ok := auth.FromContext(ctx); ok {
		by = p.Name
	}
	reply := PutReply{TrackReply: TrackReply{Lang: lang, Kind: kind, Status: "pending", CueCount: len(subs.Items), UpdatedBy: by,
		UpdatedAt: a.tracks.now(), URL: "/replays/" + id + "/subtitles/" + lang + ".vtt"}, Warnings: []string{}}
	for _, w := range warnings {
		reply.Warnings = append(reply.Warnings, w.String())
	}
	if !ready {
		// Asked again now that the file is stored: the pipeline publishes every stored track
		// (PublishAll) when it switches the replay to a new cut, and a switch since the first
		// question may have listed the tracks before this one was stored.
		if keep, ready, err = a.recordings.KeptSpans(ctx, id); err != nil {
			return err
		}
	}
	if !ready {
		httpapi.WriteJSON(w, http.StatusAccepted, reply)
		return nil
	}
	info := Info{Kind: kind, Status: status, UpdatedBy: by, Visible: prev.Visible}
	if status == StatusReviewed {
		now := a.tracks.now()
		info.ReviewedBy, info.ReviewedAt = by, &now
	}
	tr, err := a.tracks.PublishOne(ctx, id, lang, subs, keep, info)
	if err != nil {
		return err
	}
	reply.TrackReply = trackReply(id, tr)
	httpapi.WriteJSON(w, http.StatusOK, reply)
	return nil
}

// putKind decides the kind of a track an animator sends in lang: "auto" when it replaces an
// automatic track (a draft, or one corrected before), unless kindParam is "manual"; else
// "manual". It also returns the catalog's record of the track (zero when not published).
func (a *API) putKind(ctx context.Context, id, lang, kindParam string) (string, catalog.Track, error) {
	prev, published, err := a.publishedTrack(ctx, id, lang)
	if err != nil {
		return "", catalog.Track{}, err
	}
	srcs, err := a.tracks.sources(ctx, id)
	if err != nil {
		return "", catalog.Track{}, err
	}
	f, stored := srcs[lang]
	kind := KindManual
	if stored && (f.auto || published && prev.Kind == KindAuto) {
		kind = KindAuto
	}
	switch kindParam {
	case "":
	case KindManual:
		kind = KindManual
	case KindAuto:
		if kind != KindAuto {
			return "", catalog.Track{}, httpapi.Invalid("kind", "the %s track is not automatic: leave kind out, or send kind=manual", lang)
		}
	default:
		return "", catalog.Track{}, httpapi.Invalid("kind", "kind %q: use manual (or leave it out to keep the track's provenance)", kindParam)
	}
	return kind, prev, nil
}

// PatchBody is the body of a PATCH: either field or both.
type PatchBody struct {
	Status  *string `json:"status"`  // "reviewed" | "draft"
	Visible *bool   `json:"visible"` // offer a draft to learners anyway
}

// Patch changes a published track's review status or visibility without a new file:
// PATCH /api/recordings/{id}/subtitles/{lang} (animator). "reviewed" records who and when and
// keeps the kind (an approved automatic track stays "auto"); "draft" clears the review. An
// automatic draft approved here is kept as the animator's file from then on, so that a later
// render re-times it instead of transcribing it again. The track is published again at once
// (WebVTT, HLS rendition, master playlist): learners see what the track's state allows.
func (a *API) Patch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	lang, err := CanonicalLang(mux.Vars(r)["lang"])
	if err != nil {
		return httpapi.Invalid("lang", "%s", strings.TrimPrefix(err.Error(), "subtitle: "))
	}
	var body PatchBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return httpapi.Invalid("body", "a JSON object such as {\"status\": \"reviewed\"} or {\"visible\": true}: %v", err)
	}
	if body.Status == nil && body.Visible == nil {
		return httpapi.Invalid("status", "nothing to change: send status (draft or reviewed) or visible (true or false)")
	}
	if body.Status != nil && *body.Status != StatusDraft && *body.Status != StatusReviewed {
		return httpapi.Invalid("status", "status %q: use draft or reviewed", *body.Status)
	}
	keep, ready, err := a.recordings.KeptSpans(ctx, id)
	if err != nil {
		return err
	}
	srcs, err := a.tracks.sources(ctx, id)
	if err != nil {
		return err
	}
	f, ok := srcs[lang]
	if !ok {
		return fmt.Errorf("subtitle: recording %s has no %s track: %w", id, lang, httpapi.ErrNotFound)
	}
	prev, published, err := a.publishedTrack(ctx, id, lang)
	if err != nil {
		return err
	}
	if !ready || !published {
		return httpapi.Errorf(http.StatusConflict, "recording %s is still processing: review its %s track once the replay is ready", id, lang)
	}
	info := infoOf(prev)
	by := ""
	if p, ok := auth.FromContext(ctx); ok {
		by = p.Name
	}
	if body.Status != nil {
		switch {
		case *body.Status == StatusDraft:
			info.ReviewedBy, info.ReviewedAt = "", nil
		case prev.Status != StatusReviewed:
			now := a.tracks.now()
			info.ReviewedBy, info.ReviewedAt = by, &now
		}
		info.Status = *body.Status
	}
	if body.Visible != nil {
		info.Visible = *body.Visible
	}
	data, err := a.tracks.read(ctx, f.key)
	if err != nil {
		return fmt.Errorf("subtitle: read %s: %w", f.key, err)
	}
	var subs *astisub.Subtitles
	if f.auto && info.Status == StatusReviewed {
		subs, _, _, err = a.tracks.SaveSource(ctx, id, lang, data, ".vtt")
	} else {
		subs, err = Parse(data, f.key)
	}
	if err != nil {
		return fmt.Errorf("subtitle: %s: %w", f.key, err)
	}
	tr, err := a.tracks.PublishOne(ctx, id, lang, subs, keep, info)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, trackReply(id, tr))
	return nil
}

// hintFrom is the Content-Type of the request, unless it says nothing (then the content decides),
// or the file name of a Content-Disposition header.
func hintFrom(r *http.Request) string {
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		return params["filename"]
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		switch mt {
		case "application/octet-stream", "text/plain":
			return ""
		}
	}
	return ct
}

// List answers the tracks of a recording: GET /api/recordings/{id}/subtitles (animator), as
// {"items": [TrackReply...], "total": N}. Published tracks come from the catalog; a stored track
// not published yet (the recording is still processing) is listed with status "pending".
func (a *API) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	if _, _, err := a.recordings.KeptSpans(ctx, id); err != nil {
		return err
	}
	items := []TrackReply{}
	seen := map[string]bool{}
	rp, err := a.tracks.Catalog.Replay(ctx, id)
	if err != nil && !errors.Is(err, httpapi.ErrNotFound) {
		return err
	}
	for _, tr := range rp.Tracks {
		seen[tr.Lang] = true
		items = append(items, trackReply(id, tr))
	}
	srcs, err := a.tracks.sources(ctx, id)
	if err != nil {
		return err
	}
	for _, lang := range slices.Sorted(maps.Keys(srcs)) {
		if seen[lang] {
			continue
		}
		kind := KindManual
		if srcs[lang].auto {
			kind = KindAuto
		}
		items = append(items, TrackReply{Lang: lang, Kind: kind, Status: "pending", URL: "/replays/" + id + "/subtitles/" + lang + ".vtt"})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "total": len(items)})
	return nil
}

// GetSource answers the source-time file of a track (manual, else the automatic draft), for an
// animator to correct and PUT back; ?format=vtt converts it to WebVTT.
func (a *API) GetSource(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	lang, err := CanonicalLang(mux.Vars(r)["lang"])
	if err != nil {
		return httpapi.Invalid("lang", "%s", strings.TrimPrefix(err.Error(), "subtitle: "))
	}
	if _, _, err := a.recordings.KeptSpans(ctx, id); err != nil {
		return err
	}
	srcs, err := a.tracks.sources(ctx, id)
	if err != nil {
		return err
	}
	f, ok := srcs[lang]
	if !ok {
		return fmt.Errorf("subtitle: recording %s has no %s track: %w", id, lang, httpapi.ErrNotFound)
	}
	data, err := a.tracks.read(ctx, f.key)
	if errors.Is(err, assets.ErrNotExist) {
		return fmt.Errorf("subtitle: %s: %w", f.key, httpapi.ErrNotFound)
	}
	if err != nil {
		return err
	}
	ct := extContentType[f.ext]
	if f.auto {
		ct = extContentType[".vtt"]
	}
	switch format := r.URL.Query().Get("format"); format {
	case "":
	case "vtt":
		// The same cues as WebVTT, whatever the stored format: what the studio's caption
		// editor reads (and saves back with PUT).
		subs, err := Parse(data, f.key)
		if err != nil {
			return fmt.Errorf("subtitle: %s: %w", f.key, err)
		}
		if data, err = VTT(subs); err != nil {
			return err
		}
		ct, f.ext = extContentType[".vtt"], ".vtt"
	default:
		return httpapi.Invalid("format", "format %q: use vtt, or leave it out for the file as stored", format)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": lang + strings.TrimPrefix(f.ext, ".auto")}))
	_, err = w.Write(data)
	return err
}
