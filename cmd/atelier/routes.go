package main

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// h adapts an error-returning handler; its errors are mapped in httpapi.WriteError, the one place.
type h = httpapi.HandlerFunc

// routes is the route table: every URL Atelier answers, in one place.
func (a *app) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = h(func(w http.ResponseWriter, r *http.Request) error {
		return httpapi.Errorf(http.StatusNotFound, "no route for %s %s", r.Method, r.URL.Path)
	})
	r.MethodNotAllowedHandler = h(func(w http.ResponseWriter, r *http.Request) error {
		return httpapi.Errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
	})
	animator := func(next http.Handler) http.Handler {
		return a.auth.Require(auth.RoleAnimator, next, a.principalResolvers...)
	}
	admin := func(next http.Handler) http.Handler {
		return a.auth.Require(auth.RoleAdmin, next, a.principalResolvers...)
	}

	// Health.
	r.Handle("/healthz", h(a.healthz)).Methods("GET", "HEAD")
	r.Handle("/readyz", h(a.readyz)).Methods("GET", "HEAD")

	// Tokens: anyone may ask who their token is; only admins manage tokens.
	r.Handle("/api/whoami", animator(h(a.whoami))).Methods("GET")
	tokens := auth.API{Store: a.auth}
	r.Handle("/api/tokens", admin(h(tokens.List))).Methods("GET")
	r.Handle("/api/tokens", admin(h(tokens.Create))).Methods("POST")
	r.Handle("/api/tokens/{id:[0-9]+}", admin(h(tokens.Revoke))).Methods("DELETE")

	// Media served from local disk through signed, expiring URLs (Dir backend only).
	if a.dir != nil {
		r.PathPrefix("/media/").Handler(a.dir)
	}

	// schedule: workshops (writes need an animator token) and the iCalendar feeds.
	sc := a.schedule
	r.Handle("/api/workshops", h(sc.List)).Methods("GET", "HEAD")
	r.Handle("/api/workshops", animator(h(sc.Create))).Methods("POST")
	r.Handle("/api/workshops/import", animator(h(sc.Import))).Methods("POST")
	r.Handle("/api/workshops/preview", animator(h(sc.Preview))).Methods("POST")
	r.Handle("/api/workshops/{id}", h(sc.Get)).Methods("GET", "HEAD")
	r.Handle("/api/workshops/{id}", animator(h(sc.Update))).Methods("PATCH")
	r.Handle("/api/workshops/{id}", animator(h(sc.Delete))).Methods("DELETE")
	r.Handle("/api/workshops/{id}/cancel", animator(h(sc.Cancel))).Methods("POST")
	r.Handle("/api/freshness/{replay_id}/reschedule", animator(h(sc.Reschedule))).Methods("POST")
	r.Handle("/calendar.ics", h(sc.CalendarAll)).Methods("GET", "HEAD")
	r.Handle("/calendar/software/{slug}.ics", h(sc.CalendarSoftware)).Methods("GET", "HEAD")
	r.Handle("/calendar/series/{slug}.ics", h(sc.CalendarSeries)).Methods("GET", "HEAD")
	r.Handle("/workshops/{id}.ics", h(sc.WorkshopICS)).Methods("GET", "HEAD")
	r.Handle("/workshops.atom", h(sc.WorkshopsAtom)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}/workshops.atom", h(sc.SoftwareWorkshopsAtom)).Methods("GET", "HEAD")

	// catalog: software, releases, replays and their freshness (reads public, writes animator).
	cat := a.catalogAPI
	r.Handle("/api/software", h(cat.ListSoftware)).Methods("GET")
	r.Handle("/api/software", animator(h(cat.CreateSoftware))).Methods("POST")
	r.Handle("/api/software/{slug}", h(cat.GetSoftware)).Methods("GET")
	r.Handle("/api/software/{slug}", animator(h(cat.UpdateSoftware))).Methods("PATCH")
	r.Handle("/api/software/{slug}/releases", animator(h(cat.AddRelease))).Methods("POST")
	r.Handle("/api/software/{slug}/releases/{version}", animator(h(cat.ReviewRelease))).Methods("PATCH")
	r.Handle("/api/software/{slug}/sync", animator(h(cat.SyncSoftware))).Methods("POST")
	r.Handle("/api/replays", h(cat.ListReplays)).Methods("GET")
	r.Handle("/api/replays/{id}", h(cat.GetReplay)).Methods("GET")
	r.Handle("/api/replays/{id}", animator(h(cat.PatchReplay))).Methods("PATCH")
	r.Handle("/api/freshness", h(cat.Freshness)).Methods("GET")
	r.Handle("/freshness.atom", h(cat.FreshnessAtom)).Methods("GET", "HEAD")
	// catalog: feeds of new published replays (?language= on each; ?software= and ?media=audio
	// on the podcast).
	r.Handle("/replays.atom", h(cat.ReplaysAtom)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}/replays.atom", h(cat.ReplaysAtom)).Methods("GET", "HEAD")
	r.Handle("/podcast.rss", h(cat.PodcastRSS)).Methods("GET", "HEAD")

	// pipeline: recording uploads (multipart: meta, source, subtitles) and their processing jobs.
	rec := a.pipeline.API().WithUploads(a.uploads)
	// Uploads may take hours: their bodies get an idle timeout instead of the server's body deadline.
	upload := func(next http.Handler) http.Handler { return httpapi.IdleBody(a.cfg.UploadIdleTimeout, next) }
	// Resumable uploads (tus 1.0: POST to create, HEAD for the offset, PATCH to append, DELETE);
	// a finished one becomes a recording by POST /api/recordings {"upload": id, ...}.
	r.PathPrefix(uploadsPath).Handler(animator(upload(a.tus))).Methods("POST", "HEAD", "PATCH", "DELETE", "OPTIONS")
	r.Handle("/api/recordings", animator(upload(h(rec.Upload)))).Methods("POST")
	r.Handle("/api/recordings", animator(h(rec.List))).Methods("GET")
	r.Handle("/api/recordings/{id}", animator(h(rec.Get))).Methods("GET")
	r.Handle("/api/recordings/{id}/events", animator(h(rec.Events))).Methods("GET")
	r.Handle("/api/recordings/{id}/cancel", animator(h(rec.Cancel))).Methods("POST")
	// pipeline: re-cut a finished recording from its source (same fields as the upload meta's
	// edits, chapters, cut), retry a failed or cancelled one (owner or admin).
	r.Handle("/api/recordings/{id}/edits", animator(h(rec.Edits))).Methods("PUT")
	r.Handle("/api/recordings/{id}/retry", animator(h(rec.Retry))).Methods("POST")
	// pipeline: what the cut editor shows of the source, in source time: audio peaks
	// (audiowaveform JSON v2), thumbnails (sprite + WebVTT), and the raw upload (Range requests).
	r.Handle("/api/recordings/{id}/waveform.json", animator(h(rec.Waveform))).Methods("GET", "HEAD")
	r.Handle("/api/recordings/{id}/storyboard.vtt", animator(h(rec.StoryboardVTT))).Methods("GET", "HEAD")
	r.Handle("/api/recordings/{id}/storyboard.jpg", animator(h(rec.StoryboardJPG))).Methods("GET", "HEAD")
	r.Handle("/api/recordings/{id}/source", animator(h(rec.Source))).Methods("GET", "HEAD")

	// subtitles: tracks in source time (animator); the published replay-time tracks are served
	// by the web stream routes below (/replays/{id}/subtitles/{lang}.vtt, hls/subs/...).
	sub := a.subtitleAPI
	r.Handle("/api/recordings/{id}/subtitles/{lang}", animator(upload(h(sub.Put)))).Methods("PUT")
	r.Handle("/api/recordings/{id}/subtitles/{lang}", animator(h(sub.GetSource))).Methods("GET")
	r.Handle("/api/recordings/{id}/subtitles", animator(h(sub.List))).Methods("GET")
	// subtitles: review without a new file ({"status": "reviewed"|"draft"}, {"visible": bool}).
	r.Handle("/api/recordings/{id}/subtitles/{lang}", animator(h(sub.Patch))).Methods("PATCH")

	// web: replay streams (drafts only for animators: bearer token or studio session).
	stream := h(a.web.Stream)
	r.Handle(`/replays/{id}/{file:video\.mp4|audio\.m4a|poster\.jpg|storyboard\.jpg|storyboard\.vtt|chapters\.vtt}`, stream).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:subtitles}/{lang}.vtt`, stream).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:burnin}/{lang}.mp4`, stream).Methods("GET", "HEAD")
	r.Handle(`/replays/{id}/{file:hls}/{path:.+}`, stream).Methods("GET", "HEAD")
	// The same, pinned to one render generation (the page's player: web.Stream).
	r.Handle(`/replays/{id}/r/{render:[0-9a-f]{8}}/{file:hls}/{path:.+}`, stream).Methods("GET", "HEAD")
	// web: pages (errors as HTML in the visitor's language) and static files.
	page := a.web.Page
	r.Handle("/", page(a.web.Home)).Methods("GET", "HEAD")
	r.Handle("/workshops", page(a.web.Workshops)).Methods("GET", "HEAD")
	r.Handle("/workshops/{id:[A-Za-z0-9_-]+}", page(a.web.Workshop)).Methods("GET", "HEAD")
	r.Handle("/replays", page(a.web.Replays)).Methods("GET", "HEAD")
	r.Handle("/replays/{id:[A-Za-z0-9_-]+}", page(a.web.Replay)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}", page(a.web.Software)).Methods("GET", "HEAD")
	// web: reach beyond the site: the embeddable player (the one page other origins may frame,
	// -embed-origins), oEmbed for forums and wikis, and the link preview cards (og:image).
	r.Handle("/replays/{id:[A-Za-z0-9_-]+}/embed", page(a.web.Embed)).Methods("GET", "HEAD")
	r.Handle("/oembed", h(a.web.OEmbed)).Methods("GET", "HEAD")
	r.Handle("/card.png", h(a.web.SiteCard)).Methods("GET", "HEAD")
	r.Handle("/workshops/{id:[A-Za-z0-9_-]+}/card.png", h(a.web.WorkshopCard)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}/card.png", h(a.web.SoftwareCard)).Methods("GET", "HEAD")
	r.Handle("/studio", page(a.web.Studio)).Methods("GET", "HEAD")
	r.Handle("/studio/login", page(a.web.SignIn)).Methods("POST")
	r.Handle("/studio/logout", page(a.web.SignOut)).Methods("POST")
	r.Handle("/studio/workshops", page(a.web.StudioWorkshops)).Methods("GET", "HEAD")
	// studio: first-run sign-in link (printed by `atelier serve` when nobody can act as admin;
	// GET asks for a click, POST uses the one-time code), people (admins), software and releases.
	r.Handle("/studio/first-run", page(a.web.FirstRun)).Methods("GET", "HEAD")
	r.Handle("/studio/first-run", page(a.web.FirstRunUse)).Methods("POST")
	r.Handle("/studio/people", page(a.web.People)).Methods("GET", "HEAD")
	r.Handle("/studio/software", page(a.web.SoftwareList)).Methods("GET", "HEAD")
	r.Handle("/studio/software/{slug}", page(a.web.SoftwareEdit)).Methods("GET", "HEAD")
	// studio: the caption editor of a recording's tracks (its script drives the subtitle API).
	r.Handle("/studio/recordings/{id}/captions", page(a.web.StudioCaptions)).Methods("GET", "HEAD")
	// studio: a recording's job and its cut editor on a timeline (its script drives the
	// recording API: source, waveform, storyboard, edits, cancel, retry).
	r.Handle("/studio/recordings/{id}", page(a.web.StudioRecording)).Methods("GET", "HEAD")
	r.PathPrefix("/static/").Handler(a.web.Static()).Methods("GET", "HEAD")

	r.Use(a.metrics.route) // names the matched route for the counts
	return a.metrics.count(httpapi.Middleware(a.log, r))
}

// metricsRoutes is the table of the metrics listener (-metrics-addr), apart from the public one:
// the Prometheus scrape, and liveness for a worker that has no other listener.
func (a *app) metricsRoutes() http.Handler {
	mx := http.NewServeMux()
	mx.Handle("GET /metrics", a.metrics.handler())
	mx.Handle("GET /healthz", h(a.healthz))
	return mx
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) error {
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	return nil
}

// readyz reports whether the database and the media storage answer, so that a load balancer or
// an orchestrator only sends traffic to an instance that can serve it.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "storage": "ok"}
	status := http.StatusOK
	if err := a.db.PingContext(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := a.media.Ping(ctx); err != nil {
		checks["storage"], status = err.Error(), http.StatusServiceUnavailable
	}
	if status != http.StatusOK {
		httpapi.Logger(ctx).Warn("not ready", "checks", checks)
	}
	httpapi.WriteJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
	return nil
}

func (a *app) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}
