// Package web serves Atelier's browser side: the public pages (agenda, replay catalog, player),
// the animators' studio, and the replay streams (MP4, HLS, subtitles, thumbnails). Templates and
// static files are embedded in the binary and parsed once.
//
// It also carries Atelier beyond its own pages (embed.go, oembed.go, preview.go, card.go): link
// previews (OpenGraph, Twitter cards, feed links) on every public page, the embeddable player with
// its outdated banner (the only page other origins may frame), oEmbed, and PNG preview cards.
// Drafts never show through any of them. Routes are in cmd/atelier/routes.go.
//
// The studio is one page per resource: studio.go (recordings, the freshness to-do list, sign-in),
// studio_recordings.go (a recording's job and its cut editor on a timeline, static/studio/
// timeline.js, shared with the upload form), studio_software.go (software, presets, release
// review), studio_people.go (tokens, for admins, and the first-run sign-in link). Pages render on the server; their scripts are small ES modules
// under static/studio/ that call the JSON API with the session's CSRF token (no inline script:
// the CSP stays strict).
package web

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"html/template"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/schedule"
)

// Options are what the site needs; the zero value of optional fields means "defaults".
type Options struct {
	Media  assets.Store // required
	Auth   *auth.Store  // required for the studio and drafts
	Secret []byte       // signs the session cookie; at least 16 bytes
	// PublicURL is the absolute URL of the site (webcal:// links, secure cookies).
	PublicURL string
	// StreamMode: proxy (default) or redirect to presigned URLs of Media.
	StreamMode StreamMode
	Catalog    *catalog.Store  // replays, software, freshness
	Schedule   *schedule.Store // workshops
	// Publication returns a replay's publication state (draft, published, unlisted), or an error
	// wrapping httpapi.ErrNotFound. nil: asked of Catalog.
	Publication func(ctx context.Context, replayID string) (string, error)
	Log         *slog.Logger
	// EmbedOrigins are the CSP frame-ancestors sources allowed to frame /replays/{id}/embed
	// (e.g. "https://docs.example.org"); empty means any origin ("*"). Every other page refuses
	// to be framed.
	EmbedOrigins []string
	// SiteName names the collective in link previews (og:site_name); empty: "Atelier".
	SiteName string
	// FirstRun, when set, is the code of the first-run sign-in link (/studio/first-run) that
	// `atelier serve` prints when nobody can act as admin.
	FirstRun *auth.FirstRunCode

	// LadderPending tells whether renditions are still being added to a replay's HLS master
	// (its recording is playable, not ready yet): the player then watches the master for new
	// rungs (static/player.js). nil: never.
	LadderPending func(ctx context.Context, replayID string) (bool, error)
}

// Site holds the parsed templates and the dependencies of every page and stream.
type Site struct {
	media      assets.Store
	auth       *auth.Store
	secret     []byte
	publicURL  string
	streamMode StreamMode
	// serving returns a replay's publication state and the render generation its files are
	// served from (catalog.Replay.Render), read together on every stream request.
	serving   func(ctx context.Context, replayID string) (pub, render string, err error)
	log       *slog.Logger
	catalog   *catalog.Store
	schedule  *schedule.Store
	templates map[string]*template.Template
	// embedAncestors is the frame-ancestors source list of the embed page's CSP.
	embedAncestors string
	siteName       string
	cards          cardCache
	firstRun       *auth.FirstRunCode

	// trackOffered tells whether a replay's subtitle track is offered to learners (nil: no
	// catalog, no tracks to hide); ladderPending is Options.LadderPending.
	trackOffered  func(ctx context.Context, replayID, lang string) (bool, error)
	ladderPending func(ctx context.Context, replayID string) (bool, error)
}

// New builds the site: templates are parsed here, once.
func New(opts Options) (*Site, error) {
	if opts.Media == nil {
		return nil, errors.New("web: no media store")
	}
	if len(opts.Secret) < 16 {
		return nil, errors.New("web: the session secret must be at least 16 bytes")
	}
	if opts.StreamMode == "" {
		opts.StreamMode = StreamProxy
	}
	if _, err := ParseStreamMode(string(opts.StreamMode)); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Site{
		media: opts.Media, auth: opts.Auth, secret: opts.Secret, publicURL: opts.PublicURL,
		streamMode: opts.StreamMode, log: opts.Log,
		catalog: opts.Catalog, schedule: opts.Schedule, ladderPending: opts.LadderPending,
	}
	s.embedAncestors = "*"
	if len(opts.EmbedOrigins) > 0 {
		for _, o := range opts.EmbedOrigins {
			if err := ValidEmbedOrigin(o); err != nil {
				return nil, err
			}
		}
		s.embedAncestors = strings.Join(opts.EmbedOrigins, " ")
	}
	s.siteName, s.firstRun = opts.SiteName, opts.FirstRun
	if s.siteName == "" {
		s.siteName = "Atelier"
	}
	switch {
	case opts.Publication != nil: // replays of the flat layout only
		s.serving = func(ctx context.Context, id string) (string, string, error) {
			pub, err := opts.Publication(ctx, id)
			return pub, "", err
		}
	case s.catalog != nil:
		// One row by its key, not the whole replay: players ask for every HLS segment.
		s.serving = func(ctx context.Context, id string) (string, string, error) {
			sv, err := s.catalog.ReplayServing(ctx, id)
			return string(sv.Publication), sv.Render, err
		}
	}
	if s.catalog != nil {
		s.trackOffered = s.catalog.TrackOffered
	}
	var err error
	if s.templates, err = parseTemplates(); err != nil {
		return nil, err
	}
	return s, nil
}
