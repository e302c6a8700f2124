package web

import (
	"codeberg.org/atelier/atelier/assets/layout"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
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
	if vis == visibleDraft || s.catalog == nil {
		return vis, nil
	}
	rp, err := s.catalog.Replay(r.Context(), id)
	if err != nil {
		return 0, err
	}
	for _, t := range rp.Tracks {
		if t.Lang == lang && t.Offered() {
			return vis, nil
		}
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
	if file != nil {
		http.ServeContent(w, r, "", info.ModTime, file)
		return nil
	}
	rs := &objectReader{ctx: ctx, store: s.media, key: key, info: info, hint: singleRange(r.Header.Get("Range"), info.Size)}
	defer rs.Close()
	http.ServeContent(w, r, "", info.ModTime, rs)
	return nil
}

// objectReader is an io.ReadSeeker over a stored object that opens it lazily, at the position
// read from, so that ServeContent's Seek(0, io.SeekEnd) (to learn the size) costs nothing and a
// range request reads only its bytes.
type objectReader struct {
	ctx   context.Context
	store assets.Store
	key   string
	info  assets.Info
	hint  *assets.Range // the request's single range, to open exactly that much

	off   int64         // position of the next Read
	rc    io.ReadCloser // open body, positioned at rcOff
	rcOff int64
}

func (o *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.info.Size
	default:
		return 0, errors.New("web: seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("web: seek: negative position")
	}
	o.off = offset
	return offset, nil
}

func (o *objectReader) Read(p []byte) (int, error) {
	if o.off >= o.info.Size {
		return 0, io.EOF
	}
	if o.rc == nil || o.rcOff != o.off {
		o.Close()
		rng := &assets.Range{Offset: o.off, Length: -1}
		if o.hint != nil && o.hint.Offset == o.off {
			rng.Length = o.hint.Length
		}
		rc, info, err := o.store.Open(o.ctx, o.key, rng)
		if err != nil {
			return 0, err
		}
		if info.SHA256 != o.info.SHA256 {
			// Replaced since Stat: the headers already promise the old version.
			rc.Close()
			return 0, fmt.Errorf("web: %s changed while being served", o.key)
		}
		o.rc, o.rcOff = rc, o.off
	}
	n, err := o.rc.Read(p)
	o.off += int64(n)
	o.rcOff += int64(n)
	if err == io.EOF && o.off < o.info.Size {
		// The hinted range ended: the next Read reopens from here.
		o.Close()
		err = nil
	}
	return n, err
}

func (o *objectReader) Close() error {
	if o.rc == nil {
		return nil
	}
	err := o.rc.Close()
	o.rc = nil
	return err
}

// singleRange parses a Range header naming one satisfiable byte range; anything else (none,
// several, malformed) gives nil and the reader opens to the end of the object.
func singleRange(h string, size int64) *assets.Range {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return nil
		}
		n = min(n, size)
		return &assets.Range{Offset: size - n, Length: n}
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return nil
	}
	if b == "" {
		return &assets.Range{Offset: start, Length: size - start}
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return nil
	}
	end = min(end, size-1)
	return &assets.Range{Offset: start, Length: end - start + 1}
}
