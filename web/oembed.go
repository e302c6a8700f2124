package web

import (
	"codeberg.org/atelier/atelier/assets/layout"
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	_ "image/jpeg" // poster.jpg sizes
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// oembedResponse is an oEmbed 1.0 "video" answer (https://oembed.com, section 2.3.4).
type oembedResponse struct {
	Version         string `json:"version"`
	Type            string `json:"type"`
	Title           string `json:"title"`
	ProviderName    string `json:"provider_name"`
	ProviderURL     string `json:"provider_url"`
	HTML            string `json:"html"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	ThumbnailURL    string `json:"thumbnail_url,omitempty"`
	ThumbnailWidth  int    `json:"thumbnail_width,omitempty"`
	ThumbnailHeight int    `json:"thumbnail_height,omitempty"`
	CacheAge        int    `json:"cache_age"`
}

// Default size of the embedded player, 16:9, within maxwidth/maxheight when the consumer asks.
const oembedWidth, oembedHeight = 640, 360

// OEmbed is /oembed?url=…&format=json: Discourse, WordPress, Nextcloud Text and others turn a
// pasted replay link into the embedded player. It answers for published replays, and for an
// unlisted replay too: the unlisted link is the only URL that names it, so whoever asks already
// holds the link and may share it (the page it embeds is the one that link opens, marked
// noindex). Drafts are 404, as on every public route. format=xml is 501: JSON is what every
// consumer we target reads.
func (s *Site) OEmbed(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch q.Get("format") {
	case "", "json":
	case "xml":
		return httpapi.Errorf(http.StatusNotImplemented, "format=xml is not supported: ask format=json")
	default:
		return httpapi.Invalid("format", "format %q: use json", q.Get("format"))
	}
	raw := q.Get("url")
	if raw == "" {
		return httpapi.Invalid("url", "url is required: the address of a replay, e.g. %s/replays/ID", s.publicURL)
	}
	id, err := s.replayOfURL(raw)
	if err != nil {
		return err
	}
	maxW, err := optionalInt(q, "maxwidth")
	if err != nil {
		return err
	}
	maxH, err := optionalInt(q, "maxheight")
	if err != nil {
		return err
	}
	if s.catalog == nil {
		return fmt.Errorf("web: no catalog: %w", httpapi.ErrNotFound)
	}
	ctx := r.Context()
	rp, err := s.catalog.Replay(ctx, id)
	if err != nil {
		return err
	}
	if rp.Publication != catalog.Published && rp.Publication != catalog.Unlisted {
		return fmt.Errorf("web: oembed: replay %s is a draft: %w", id, httpapi.ErrNotFound)
	}
	wd, ht := fitSize(oembedWidth, oembedHeight, maxW, maxH)
	embed := s.abs("/replays/" + id + "/embed")
	resp := oembedResponse{
		Version: "1.0", Type: "video", Title: rp.Title, ProviderName: s.siteName, ProviderURL: s.abs("/"),
		Width: wd, Height: ht, CacheAge: 3600,
		HTML: fmt.Sprintf(`<iframe src="%s" width="%d" height="%d" title="%s" frameborder="0" allow="fullscreen; picture-in-picture" allowfullscreen loading="lazy"></iframe>`,
			html.EscapeString(embed), wd, ht, html.EscapeString(rp.Title)),
	}
	if pw, ph, ok := s.posterSize(ctx, id, rp.Render); ok {
		resp.ThumbnailURL, resp.ThumbnailWidth, resp.ThumbnailHeight = s.abs("/replays/"+id+"/poster.jpg"), pw, ph
	} else {
		resp.ThumbnailURL, resp.ThumbnailWidth, resp.ThumbnailHeight = s.abs("/card.png"), cardWidth, cardHeight
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if rp.Publication == catalog.Unlisted {
		w.Header().Set("X-Robots-Tag", "noindex")
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// replayOfURL returns the replay id of a page or embed URL of this site; another site's URL,
// or one of ours that is no replay, is "not found" (oEmbed's answer for a URL it cannot embed).
func (s *Site) replayOfURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "", httpapi.Invalid("url", "url %q: want an absolute URL such as %s/replays/ID", raw, s.publicURL)
	}
	pub, err := url.Parse(s.publicURL)
	if err != nil || !strings.EqualFold(u.Host, pub.Host) || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("web: oembed: %s is not on this site: %w", raw, httpapi.ErrNotFound)
	}
	rest, ok := strings.CutPrefix(strings.TrimPrefix(u.Path, strings.TrimSuffix(pub.Path, "/")), "/replays/")
	rest = strings.TrimSuffix(strings.TrimSuffix(rest, "/"), "/embed")
	if !ok || !replayIDPattern.MatchString(rest) {
		return "", fmt.Errorf("web: oembed: %s is not a replay: %w", raw, httpapi.ErrNotFound)
	}
	return rest, nil
}

func optionalInt(q url.Values, field string) (int, error) {
	v := q.Get(field)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, httpapi.Invalid(field, "%s %q: want a positive number of pixels", field, v)
	}
	return n, nil
}

// fitSize scales w×h down, keeping its ratio, to fit maxW×maxH (0: no limit).
func fitSize(w, h, maxW, maxH int) (int, int) {
	if maxW > 0 && w > maxW {
		w, h = maxW, h*maxW/w
	}
	if maxH > 0 && h > maxH {
		w, h = w*maxH/h, maxH
	}
	return max(w, 1), max(h, 1)
}

// posterSize reads the size of a replay's poster from its JPEG header.
func (s *Site) posterSize(ctx context.Context, id, render string) (int, int, bool) {
	rc, _, err := s.media.Open(ctx, layout.Replay(id).Render(render).PosterKey(), nil)
	if err != nil {
		return 0, 0, false
	}
	defer rc.Close()
	cfg, _, err := image.DecodeConfig(rc)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Warn("poster size", "replay", id, "error", err.Error())
		}
		return 0, 0, false
	}
	return cfg.Width, cfg.Height, true
}
