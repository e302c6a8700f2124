package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Embed is /replays/{id}/embed: the player alone, for an <iframe> in another site (a
// documentation page, a forum post), with the compact outdated banner: wherever the video goes,
// its reader learns that the interface it shows has changed. It is the only page other origins
// may frame (Options.EmbedOrigins); a start time comes as ?t=90 or #t=1m30s (embed.js).
func (s *Site) Embed(w http.ResponseWriter, r *http.Request) error {
	v, err := s.replayView(w, r)
	if err != nil {
		return err
	}
	return s.renderHead(w, r, http.StatusOK, "embed", "", v.data, func(l Lang) head {
		hd := v.head(l)
		hd.Embed = true
		hd.Feeds = nil
		if hd.Preview != nil {
			// The embed is not the page to share or index: crawlers are pointed at the replay.
			hd.NoIndex = true
		}
		return hd
	})
}

// ValidEmbedOrigin checks one -embed-origins entry: a CSP source that names who may frame the
// embeds: * (anyone), 'self', a scheme (https:) or an origin with an optional *. host prefix
// (https://docs.example.org, https://*.example.org:8443). Paths are refused: frame-ancestors
// matches origins only.
func ValidEmbedOrigin(o string) error {
	switch {
	case o == "*" || o == "'self'":
		return nil
	case o == "https:" || o == "http:":
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		strings.ContainsAny(o, " ;,'\"") {
		return fmt.Errorf("web: embed origin %q: want *, 'self', https: or an origin such as https://docs.example.org", o)
	}
	if strings.Contains(strings.TrimPrefix(u.Host, "*."), "*") {
		return fmt.Errorf("web: embed origin %q: a wildcard may only start the host (https://*.example.org)", o)
	}
	return nil
}
