package web

import (
	"codeberg.org/atelier/atelier/assets/layout"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// StreamMode says how replay bytes reach the browser when the media store can hand out URLs of
// its own (S3): through Atelier (proxy) or straight from the object store or its CDN (redirect).
type StreamMode string

const (
	StreamProxy    StreamMode = "proxy"
	StreamRedirect StreamMode = "redirect"
)

// ParseStreamMode validates a -stream-mode value.
func ParseStreamMode(s string) (StreamMode, error) {
	switch StreamMode(s) {
	case StreamProxy, StreamRedirect:
		return StreamMode(s), nil
	}
	return "", fmt.Errorf("web: stream mode %q: use proxy or redirect", s)
}

// redirectTTL is how long a presigned URL handed to a browser stays valid: long enough to start
// a download, short enough that a shared link soon dies. Players ask again for every segment.
const redirectTTL = 10 * time.Minute

var (
	replayIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	langPattern     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$`)
	hlsPathPattern  = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}){0,3}$`)
)

// kind of streamed file: decides the content type and whether a redirect is allowed. Text files
// (playlists, WebVTT) are always answered by Atelier: they are small, a playlist's relative URIs
// must resolve against Atelier (each segment then passes the publication check), and a <track>
// must stay same-origin to load without CORS on the bucket. Cache headers do not depend on the kind but on the replay's publication
// (setVisibilityHeaders): every file of a replay can be unpublished at any time.
type fileKind struct {
	contentType string
	redirect    bool
}

var kinds = map[string]fileKind{
	".mp4":  {contentType: "video/mp4", redirect: true},
	".m4s":  {contentType: "video/iso.segment", redirect: true},
	".m4a":  {contentType: "audio/mp4", redirect: true},
	".ts":   {contentType: "video/mp2t", redirect: true},
	".m3u8": {contentType: "application/vnd.apple.mpegurl"},
	".vtt":  {contentType: "text/vtt; charset=utf-8"},
	".jpg":  {contentType: "image/jpeg", redirect: true},
}

// streamKey maps a stream route to the storage key it serves in the replay's render generation
// render ("" for the flat layout), or "" when the request names no file Atelier would have
// written.
func streamKey(r *http.Request, render string) (id, key string) {
	v := mux.Vars(r)
	id = v["id"]
	if !replayIDPattern.MatchString(id) {
		return "", ""
	}
	rp := layout.Replay(id).Render(render)
	switch file := v["file"]; file {
	case "video.mp4", "audio.m4a", "poster.jpg", "storyboard.jpg", "storyboard.vtt", "chapters.vtt":
		return id, rp.Key(file)
	case "subtitles":
		if !langPattern.MatchString(v["lang"]) {
			return "", ""
		}
		return id, rp.SubtitleKey(v["lang"])
	case "burnin":
		// The MP4 with one language's subtitles burned in, for players that cannot show tracks.
		if !langPattern.MatchString(v["lang"]) {
			return "", ""
		}
		return id, rp.BurnInKey(v["lang"])
	case "hls":
		p := v["path"]
		if !hlsPathPattern.MatchString(p) || strings.Contains(p, "..") {
			return "", ""
		}
		if _, ok := kinds[path.Ext(p)]; !ok {
			return "", ""
		}
		return id, rp.HLSKey(p)
	}
	return "", ""
}

// streamTrackLang is the language of the subtitle track a stream request reads (its WebVTT or a
// file of its HLS rendition, hls/subs/{lang}/...), or "".
func streamTrackLang(r *http.Request) string {
	v := mux.Vars(r)
	switch v["file"] {
	case "subtitles":
		return v["lang"]
	case "hls":
		if rest, ok := strings.CutPrefix(v["path"], "subs/"); ok {
			lang, _, _ := strings.Cut(rest, "/")
			return lang
		}
	}
	return ""
}

// trackVisibility narrows vis, the replay's visibility, to one of its subtitle tracks: a track
// not offered to learners (a draft neither reviewed nor made visible, catalog.Track.Offered) is
// "not found" to the public, as a draft replay is, and readable by animators only.
func (s *Site) trackVisibility(r *http.Request, id, lang string, vis visibility) (visibility, error) {
	if vis == visibleDraft || s.trackOffered == nil {
		return vis, nil
	}
	offered, err := s.trackOffered(r.Context(), id, lang)
	if err != nil {
		return 0, err
	}
	if offered {
		return vis, nil
	}
	_, ok, err := s.animator(r)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("web: track %s of %s is not offered: %w", lang, id, httpapi.ErrNotFound)
	}
	return visibleDraft, nil
}

// ladderHeader, on an HLS master, says whether renditions are still being added to it
// ("pending": the recording is playable, not ready) or not ("done"). The player watches the
// master while the page said the ladder was growing (data-hls-growing), until "done".
const ladderHeader = "Atelier-Ladder"

// ladderGrowing tells whether renditions are still being added to replay id's master. When
// that cannot be known it says yes: the player then watches the master a little longer, which
// costs a conditional GET, where a wrong no would leave learners on the first rendition.
func (s *Site) ladderGrowing(r *http.Request, id string) bool {
	if s.ladderPending == nil {
		return false
	}
	pending, err := s.ladderPending(r.Context(), id)
	if err != nil {
		httpapi.Logger(r.Context()).Warn("is the ladder of a replay done?", "replay_id", id, "error", err)
		return true
	}
	return pending
}

// Stream serves one file of a replay: the MP4, the HLS playlists and segments, subtitles,
// poster, storyboard and chapters. Range and conditional requests are answered by
// http.ServeContent: over the object's open file when the store keeps local files
// (assets.FileOpener), so that the bytes go out with sendfile(2) and never through user space;
// otherwise over a reader that opens only the ranges asked for.
func (s *Site) Stream(w http.ResponseWriter, r *http.Request) error {
	id, key := streamKey(r, "")
	if key == "" {
		return fmt.Errorf("web: stream %s: %w", r.URL.Path, httpapi.ErrNotFound)
	}
	// The key is resolved through the render generation current at this request: during a
	// re-render the previous generation stays whole until the switch (one catalog write).
	vis, render, err := s.visibility(r, id)
	if err != nil {
		return err
	}
	if pinned := mux.Vars(r)["render"]; pinned != "" {
		// A URL pinned to a generation (/replays/{id}/r/{render}/hls/...), as the page hands
		// its player: the relative URIs of its playlists stay in that generation, so that a
		// re-cut never feeds a playing learner segments of the new cut in place of the old
		// ones. Once the switch has pruned it, it answers 404 and the player starts again from
		// the current master (player.js).
		render = pinned
	}
	_, key = streamKey(r, render)
	if lang := streamTrackLang(r); lang != "" {
		if vis, err = s.trackVisibility(r, id, lang, vis); err != nil {
			return err
		}
	}
	ctx := r.Context()
	kind := kinds[path.Ext(key)]
	redirect := s.streamMode == StreamRedirect && kind.redirect
	var (
		info assets.Info
		file *os.File // the object's file, from a store of local files
	)
	if fo, ok := s.media.(assets.FileOpener); ok && !redirect {
		file, info, err = fo.OpenFile(ctx, key)
		if file != nil {
			defer file.Close()
		}
	} else {
		info, err = s.media.Stat(ctx, key)
	}
	if errors.Is(err, assets.ErrNotExist) {
		return fmt.Errorf("web: stream %s: %w", key, httpapi.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("web: stream %s: %w", key, err)
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if redirect {
		u, err := s.media.URL(ctx, key, redirectTTL)
		if err != nil {
			return fmt.Errorf("web: stream %s: %w", key, err)
		}
		// The redirect is per viewer, and must not outlive the replay's publication: a browser
		// that kept it would go on reaching the bucket after an unpublish.
		h.Set("Cache-Control", "private, no-store")
		if vis != visiblePublic {
			h.Set("X-Robots-Tag", "noindex, nofollow")
		}
		http.Redirect(w, r, u, http.StatusFound)
		return nil
	}
	ct := kind.contentType
	if ct == "" {
		ct = info.ContentType
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", `"`+info.SHA256+`"`)
	h.Set("Accept-Ranges", "bytes")
	setVisibilityHeaders(h, vis)
	if v := mux.Vars(r); v["file"] == "hls" && v["path"] == "master.m3u8" && s.ladderPending != nil {
		// Always one of the two values: a 304 updates the header a browser cached with the
		// master, and a stale "pending" would keep the player watching forever.
		h.Set(ladderHeader, "done")
		if s.ladderGrowing(r, id) {
			h.Set(ladderHeader, "pending")
		}
	}
	if file != nil {
		http.ServeContent(w, r, "", info.ModTime, file)
		return nil
	}
	rs := assets.NewObjectReader(ctx, s.media, key, info, r.Header.Get("Range"))
	defer rs.Close()
	http.ServeContent(w, r, "", info.ModTime, rs)
	return nil
}
