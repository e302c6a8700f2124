package tusstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// HandlerConfig configures Handler.
type HandlerConfig struct {
	BasePath string // e.g. "/api/uploads/"
	MaxSize  int64  // bytes; larger uploads are refused with 413
	// LimitName names the setting behind MaxSize in the 413's message.
	LimitName string
	// IdleTimeout: a PATCH whose body sends nothing for this long ends (0: tusd's 60 s).
	IdleTimeout time.Duration
	Log         *slog.Logger
}

// Handler serves tus 1.0 (core, creation, termination, and expiration, which tusd leaves to
// the server: every answer about an upload carries Upload-Expires) over s. Errors keep tusd's
// status codes (409 wrong offset, 413 too large, 404 unknown or expired) with Atelier's JSON
// body {"error","field"} instead of tusd's text.
func (s *Store) Handler(cfg HandlerConfig) (http.Handler, error) {
	composer := handler.NewStoreComposer()
	s.UseIn(composer)
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	h, err := handler.NewUnroutedHandler(handler.Config{
		StoreComposer:        composer,
		MaxSize:              cfg.MaxSize,
		BasePath:             cfg.BasePath,
		DisableDownload:      true, // the bytes are read back as a recording's source, not here
		DisableConcatenation: true,
		Cors:                 &handler.CorsConfig{Disable: true}, // same origin: the studio and the CLI
		NetworkTimeout:       cfg.IdleTimeout,
		// tusd logs every request at Info; Atelier's middleware logs requests already.
		Logger: xslog.New(bridge{h: log.Handler(), min: slog.LevelWarn}),
	})
	if err != nil {
		return nil, fmt.Errorf("tusstore: handler: %w", err)
	}
	mux := http.NewServeMux()
	base := strings.TrimSuffix(cfg.BasePath, "/")
	mux.Handle("POST "+base+"/{$}", h.Middleware(http.HandlerFunc(h.PostFile)))
	// tusd reads the upload id as the whole path: the base goes first.
	byID := func(f http.HandlerFunc) http.Handler { return http.StripPrefix(base+"/", h.Middleware(f)) }
	mux.Handle("HEAD "+base+"/{id}", byID(h.HeadFile))
	mux.Handle("PATCH "+base+"/{id}", byID(h.PatchFile))
	mux.Handle("DELETE "+base+"/{id}", byID(h.DelFile))
	mux.Handle("OPTIONS "+base+"/", h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &tusWriter{ResponseWriter: w, r: r, s: s, cfg: cfg}
		mux.ServeHTTP(rw, r)
		rw.finish()
	}), nil
}

// tusWriter adds the expiration extension's headers and turns tusd's error replies into JSON.
type tusWriter struct {
	http.ResponseWriter
	r      *http.Request
	s      *Store
	cfg    HandlerConfig
	status int
	errBuf *bytes.Buffer // the body of an error reply, rewritten by finish
}

func (w *tusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	hd := w.Header()
	if ext := hd.Get("Tus-Extension"); ext != "" {
		hd.Set("Tus-Extension", ext+",expiration")
	}
	if code < 400 {
		id := strings.TrimPrefix(w.r.URL.Path, strings.TrimSuffix(w.cfg.BasePath, "/")+"/")
		if id == "" {
			if loc := hd.Get("Location"); loc != "" {
				id = loc[strings.LastIndexByte(loc, '/')+1:]
			}
		}
		if t, ok := w.s.Expires(id); ok && id != "" {
			hd.Set("Upload-Expires", t.UTC().Format(http.TimeFormat))
		}
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.errBuf = &bytes.Buffer{}
}

func (w *tusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.errBuf != nil {
		return w.errBuf.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *tusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes a buffered error reply as {"error","field":"upload"}.
func (w *tusWriter) finish() {
	if w.errBuf == nil {
		return
	}
	code, text, _ := strings.Cut(strings.TrimSpace(w.errBuf.String()), ": ")
	msg := w.message(code, text)
	level := slog.LevelInfo
	if w.status >= 500 {
		level = slog.LevelError
	}
	httpapi.Logger(w.r.Context()).Log(w.r.Context(), level, "tus request failed", "status", w.status, "code", code, "error", text)
	w.Header().Del("Content-Length")
	if w.r.Method == http.MethodHead {
		w.ResponseWriter.WriteHeader(w.status)
		return
	}
	httpapi.WriteJSON(w.ResponseWriter, w.status, httpapi.Body{Error: msg, Field: "upload"})
}

func (w *tusWriter) message(code, text string) string {
	switch code {
	case "ERR_MISMATCHED_OFFSET":
		return "Upload-Offset is not where the upload stands: ask with HEAD and resume from the offset it gives"
	case "ERR_MAX_SIZE_EXCEEDED", "ERR_UPLOAD_SIZE_EXCEEDED":
		return fmt.Sprintf("the recording is larger than the upload limit of %d bytes (%s)", w.cfg.MaxSize, w.cfg.LimitName)
	case "ERR_UPLOAD_NOT_FOUND":
		return "no such upload: it is unknown, expired (a day without data) or already a recording; start a new upload"
	case "404 page not found":
		return "no such upload URL: uploads are created by POST " + w.cfg.BasePath + " and live at " + w.cfg.BasePath + "{id}"
	case "ERR_INTERNAL_SERVER_ERROR", "ERR_LOCK_TIMEOUT", "ERR_READ_TIMEOUT", "ERR_CONNECTION_RESET", "":
		if w.status >= 500 {
			return "internal error; the server log has the details (request id in X-Request-Id)"
		}
	}
	if text == "" {
		return http.StatusText(w.status)
	}
	return text
}

// bridge sends tusd's records (golang.org/x/exp/slog) to Atelier's log/slog handler, from min up.
type bridge struct {
	h     slog.Handler
	min   slog.Level
	attrs []slog.Attr
	group string
}

func (b bridge) Enabled(ctx context.Context, l xslog.Level) bool {
	return slog.Level(l) >= b.min && b.h.Enabled(ctx, slog.Level(l))
}

func (b bridge) Handle(ctx context.Context, r xslog.Record) error {
	rec := slog.NewRecord(r.Time, slog.Level(r.Level), "tusd: "+r.Message, r.PC)
	rec.AddAttrs(b.attrs...)
	r.Attrs(func(a xslog.Attr) bool {
		rec.AddAttrs(slog.Any(a.Key, a.Value.Any()))
		return true
	})
	return b.h.Handle(ctx, rec)
}

func (b bridge) WithAttrs(as []xslog.Attr) xslog.Handler {
	n := b
	n.attrs = append([]slog.Attr(nil), b.attrs...)
	for _, a := range as {
		n.attrs = append(n.attrs, slog.Any(a.Key, a.Value.Any()))
	}
	return n
}

func (b bridge) WithGroup(name string) xslog.Handler { return b }
