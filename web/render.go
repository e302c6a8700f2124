package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

//go:embed templates/*.html
var templateFS embed.FS

// static holds the CSS, the scripts and, when `make` fetched them, the vendored front-end
// libraries under static/vendor (git-ignored; the pages work without them).
//
//go:embed static
var staticFS embed.FS

// page is what every template gets; Data is the page's own.
type page struct {
	L      Lang
	Title  string
	Path   string // the request path, for aria-current
	Switch string // this page in the other language (query kept)
	Studio *session
	CSRF   string
	Data   any
	Head   head // link previews, feeds, robots: see preview.go
}

var funcs = template.FuncMap{
	"duration": func(ms int64) string {
		d := time.Duration(ms) * time.Millisecond
		h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
		if h > 0 {
			return fmt.Sprintf("%d:%02d:%02d", h, m, s)
		}
		return fmt.Sprintf("%d:%02d", m, s)
	},
	"timecode": func(ms int64) string {
		d := time.Duration(ms) * time.Millisecond
		return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	},
	"date": func(l Lang, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		if l.Code == "fr" {
			return fmt.Sprintf("%d %s %d", t.Day(), frMonths[t.Month()-1], t.Year())
		}
		return t.Format("January 2, 2006")
	},
	"datetime": formatDateTime,
	"iso":      func(t time.Time) string { return t.Format(time.RFC3339) },
	"join":     strings.Join,
	// chapterArgs passes a chapter and the page language to the "chapter" partial.
	"chapterArgs": func(l Lang, c chapterView) map[string]any { return map[string]any{"L": l, "C": c} },
	"add":         func(a, b int) int { return a + b },
	"lower":       strings.ToLower,
}

func formatDateTime(l Lang, t time.Time) string {
	if l.Code == "fr" {
		return fmt.Sprintf("%s %d %s %d, %s", frDays[t.Weekday()], t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04 MST"))
	}
	return t.Format("Monday, January 2, 2006, 15:04 MST")
}

var (
	frMonths = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	frDays   = []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
)

// parseTemplates parses each page together with the layout, once.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		files := []string{"templates/layout.html", "templates/partials.html", n}
		root := "layout.html"
		if strings.HasPrefix(base, "embed") {
			// The embed page is a document of its own: no site header, no footer.
			files, root = []string{n, "templates/partials.html"}, base
		}
		t, err := template.New(root).Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// render writes the page named name with no link preview (the error and studio pages).
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	return s.renderHead(w, r, status, name, title, data, nil)
}

// renderHead writes the page named name, with the <head> that mkHead builds in the page's
// language (nil: none). It renders into a buffer first, so that a template error becomes a clean
// 500 rather than half a page.
func (s *Site) renderHead(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, mkHead func(Lang) head) error {
	t, ok := s.templates[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	p := page{L: pickLang(w, r), Title: title, Path: r.URL.Path, Data: data}
	if mkHead != nil {
		p.Head = mkHead(p.L)
	}
	if title == "" {
		p.Title = p.Head.Title
	}
	hd := p.Head
	q := r.URL.Query()
	q.Set("lang", p.L.Other())
	p.Switch = r.URL.Path + "?" + q.Encode()
	if sess, ok := s.sessionOf(r); ok {
		p.Studio = &sess
		p.CSRF = s.csrfToken(sess)
	}
	if title != "" {
		p.Title = p.L.T(title)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", p.L.Code)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// Only the embed page may be framed, by the configured origins; every other page refuses
	// (frame-ancestors, and X-Frame-Options for browsers that predate it).
	ancestors := "'none'"
	if hd.Embed {
		ancestors = s.embedAncestors
	} else {
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https: http:; media-src 'self' blob: https: http:; connect-src 'self' https: http:; worker-src 'self' blob:; frame-ancestors "+ancestors+"; form-action 'self'")
	if hd.NoIndex {
		h.Set("X-Robots-Tag", "noindex")
	}
	if p.Studio != nil {
		h.Set("Cache-Control", "private, no-store")
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Page adapts a page handler: its errors are classified by httpapi.Classify (the one mapping of
// errors to statuses) and shown as an HTML page in the visitor's language.
func (s *Site) Page(fn httpapi.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		status, body := httpapi.Classify(err)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		httpapi.Logger(r.Context()).Log(r.Context(), level, "page failed", "status", status, "error", err.Error())
		msg := body.Error
		if status == http.StatusNotFound {
			msg = ""
		}
		if rerr := s.render(w, r, status, "error", "err.title", map[string]any{"Status": status, "Message": msg}); rerr != nil {
			httpapi.WriteError(w, r, err)
		}
	})
}

// Static serves the embedded static files under /static/. Their names carry no version, so
// they are cached for an hour and then revalidated with an ETag (their SHA-256, computed once).
func (s *Site) Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	etags := map[string]string{}
	_ = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[p] = `"` + hex.EncodeToString(sum[:16]) + `"`
		return nil
	})
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		etag, ok := etags[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// hasHLSJS reports whether the build vendored hls.js (make fetches it; plain go build does not).
func hasHLSJS() bool {
	_, err := fs.Stat(staticFS, "static/vendor/hls.min.js")
	return err == nil
}
