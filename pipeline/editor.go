package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// The cut editor's previews of a recording's source, in source time: its waveform
// (media.MakeWaveform) and storyboard (media.SourceStoryboard), stored beside the source
// (layout.Recording.WaveformKey, StoryboardKey) and computed once per recording.
//
// The job computes them once its replay is switched (the source is on local disk then, and
// learners wait for nothing), unless they are stored already: a re-cut reads the same source.
// Recordings processed before this existed get them on the editor's first request instead
// (editorPreviews): the source is fetched once, previews stored, and every later request reads
// the stored files. Failures never fail a job: the editor asks again.

// previewKeys are the stored previews of a recording, all of which must exist.
func previewKeys(id string) []string {
	rec := layout.Recording(id)
	return []string{rec.WaveformKey(), rec.StoryboardKey(".jpg"), rec.StoryboardKey(".vtt")}
}

// hasPreviews tells whether every preview of id is stored.
func (s *Service) hasPreviews(ctx context.Context, id string) (bool, error) {
	for _, k := range previewKeys(id) {
		_, err := s.cfg.Store.Stat(ctx, k)
		if errors.Is(err, assets.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// storePreviews computes the previews of the source at src (a local file) and stores them.
func (s *Service) storePreviews(ctx context.Context, id, src string) error {
	p, err := media.ProbeFile(ctx, src)
	if err != nil {
		return err
	}
	wf, err := media.MakeWaveform(ctx, src, p)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(s.cfg.WorkDir, "previews-")
	if err != nil {
		return fmt.Errorf("pipeline: previews of %s: %w", id, err)
	}
	defer os.RemoveAll(dir)
	jpg := filepath.Join(dir, "storyboard.jpg")
	vtt, err := media.SourceStoryboard(ctx, src, p, jpg, "storyboard.jpg")
	if err != nil {
		return err
	}
	data, err := json.Marshal(wf)
	if err != nil {
		return fmt.Errorf("pipeline: waveform of %s: %w", id, err)
	}
	rec := layout.Recording(id)
	f, err := os.Open(jpg)
	if err != nil {
		return fmt.Errorf("pipeline: storyboard of %s: %w", id, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("pipeline: storyboard of %s: %w", id, err)
	}
	// The waveform last: hasPreviews then finds the three only once all are stored.
	for _, put := range []struct {
		key string
		r   io.Reader
		n   int64
		ct  string
	}{
		{rec.StoryboardKey(".jpg"), f, fi.Size(), "image/jpeg"},
		{rec.StoryboardKey(".vtt"), bytes.NewReader(vtt), int64(len(vtt)), "text/vtt; charset=utf-8"},
		{rec.WaveformKey(), bytes.NewReader(data), int64(len(data)), "application/json"},
	} {
		if _, err := s.cfg.Store.Put(ctx, put.key, put.r, put.n, put.ct); err != nil {
			return fmt.Errorf("pipeline: store previews of %s: %w", id, err)
		}
	}
	return nil
}

// jobPreviews is the job's step: compute the previews from the local source unless stored.
func (s *Service) jobPreviews(ctx context.Context, id, src string) {
	if ok, err := s.hasPreviews(ctx, id); ok || err != nil {
		return
	}
	if err := s.storePreviews(ctx, id, src); err != nil && ctx.Err() == nil {
		s.log.Warn("the editor's waveform and storyboard of the source failed; the editor asks again", "recording_id", id, "error", err)
	}
}

// editorPreviews makes sure the previews of rec are stored, computing them from the stored
// source when missing (recordings processed before they existed). Concurrent requests for one
// recording share one computation, which goes on when the asking request ends: the next finds
// them stored.
func (s *Service) editorPreviews(ctx context.Context, rec Recording) error {
	if ok, err := s.hasPreviews(ctx, rec.ID); ok || err != nil {
		return err
	}
	ch := s.previews.DoChan(rec.ID, func() (any, error) {
		bg := context.WithoutCancel(ctx)
		if ok, err := s.hasPreviews(bg, rec.ID); ok || err != nil {
			return nil, err
		}
		src, cleanup, err := s.localSource(bg, rec)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		s.log.Info("computing the editor's previews of a source", "recording_id", rec.ID)
		return nil, s.storePreviews(bg, rec.ID, src)
	})
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res := <-ch:
		return res.Err
	}
}

// localSource returns a local path of rec's source: its file when the store keeps local files,
// else a download into the work directory, removed by cleanup.
func (s *Service) localSource(ctx context.Context, rec Recording) (string, func(), error) {
	if fo, ok := s.cfg.Store.(assets.FileOpener); ok {
		f, _, err := fo.OpenFile(ctx, rec.SourceKey)
		if err != nil {
			return "", nil, fmt.Errorf("pipeline: source of %s: %w", rec.ID, err)
		}
		// The object's own file, checked by OpenFile: no copy of a source of gigabytes. The source
		// is never overwritten (a re-cut reads the same one).
		return f.Name(), func() { f.Close() }, nil
	}
	dir, err := os.MkdirTemp(s.cfg.WorkDir, "previews-")
	if err != nil {
		return "", nil, fmt.Errorf("pipeline: source of %s: %w", rec.ID, err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	rc, _, err := s.cfg.Store.Open(ctx, rec.SourceKey, nil)
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("pipeline: source of %s: %w", rec.ID, err)
	}
	defer rc.Close()
	p := filepath.Join(dir, "source")
	f, err := os.Create(p)
	if err == nil {
		_, err = io.Copy(f, rc)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("pipeline: download source of %s: %w", rec.ID, err)
	}
	return p, cleanup, nil
}

// servePreview answers GET of one stored preview of the recording of the request.
func (a *API) servePreview(w http.ResponseWriter, r *http.Request, key func(layout.Recording) string, ct string) error {
	rec, err := a.s.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	if err := a.s.editorPreviews(r.Context(), rec); err != nil {
		if errors.Is(err, assets.ErrNotExist) || errors.Is(err, media.ErrNotMedia) {
			return fmt.Errorf("pipeline: previews of %s: the source is missing or unreadable: %w", rec.ID, httpapi.ErrNotFound)
		}
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	return assets.Serve(w, r, a.s.cfg.Store, key(layout.Recording(rec.ID)), ct)
}

// Waveform answers GET /api/recordings/{id}/waveform.json: the source's audio peaks,
// audiowaveform JSON v2 (media.Waveform), 10 min/max pairs per second of source.
func (a *API) Waveform(w http.ResponseWriter, r *http.Request) error {
	return a.servePreview(w, r, layout.Recording.WaveformKey, "application/json")
}

// StoryboardVTT answers GET /api/recordings/{id}/storyboard.vtt: the source's thumbnails index,
// source time, cues "storyboard.jpg#xywh=x,y,w,h".
func (a *API) StoryboardVTT(w http.ResponseWriter, r *http.Request) error {
	return a.servePreview(w, r, func(rec layout.Recording) string { return rec.StoryboardKey(".vtt") }, "text/vtt; charset=utf-8")
}

// StoryboardJPG answers GET /api/recordings/{id}/storyboard.jpg: the source's thumbnail sprite.
func (a *API) StoryboardJPG(w http.ResponseWriter, r *http.Request) error {
	return a.servePreview(w, r, func(rec layout.Recording) string { return rec.StoryboardKey(".jpg") }, "image/jpeg")
}

// Source answers GET /api/recordings/{id}/source: the raw upload as stored, with Range requests,
// for the editor's player. Its type is the upload's when that is audio or video, else a
// download: an uploaded file must never render as a page of this origin.
func (a *API) Source(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.s.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	info, err := a.s.cfg.Store.Stat(r.Context(), rec.SourceKey)
	if errors.Is(err, assets.ErrNotExist) {
		return fmt.Errorf("pipeline: source of %s is missing from storage: %w", rec.ID, httpapi.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("pipeline: source of %s: %w", rec.ID, err)
	}
	ct := info.ContentType
	if !strings.HasPrefix(ct, "video/") && !strings.HasPrefix(ct, "audio/") {
		ct = "application/octet-stream"
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	return assets.Serve(w, r, a.s.cfg.Store, rec.SourceKey, ct)
}
