package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/pipeline"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
	"codeberg.org/atelier/atelier/pipeline/transcribe"
)

// openSubtitles builds the subtitle tracks (stored, re-timed, published through a.media and the
// catalog), the automatic-caption backend that -transcribe names, and the subtitle API. The API
// learns about recordings through a.recordings, which the pipeline's wiring sets with
// subtitleRecordings(a.pipeline); until then its routes answer 503.
func (a *app) openSubtitles(ctx context.Context) error {
	tr, err := transcribe.New(a.cfg.Transcribe, a.cfg.TranscribeCmd)
	if err != nil {
		return err
	}
	log := a.log.With("component", "subtitles")
	a.subtitles = &subtitle.Tracks{Media: a.media, Catalog: a.catalog, Log: log}
	if tr != nil {
		a.subtitles.Transcriber, a.subtitles.ExtractAudio = tr, transcribe.ExtractAudio
		if a.cfg.Transcribe == transcribe.BackendPocketsphinx {
			_, err1 := exec.LookPath("pocketsphinx")
			_, err2 := exec.LookPath("pocketsphinx_continuous")
			if err1 != nil && err2 != nil {
				log.Warn("automatic captions need pocketsphinx: install the pocketsphinx and pocketsphinx-en-us packages")
			}
		}
	}
	a.subtitleAPI = &subtitle.API{Tracks: a.subtitles, Recording: func(ctx context.Context, id string) ([]subtitle.Span, bool, error) {
		if a.recordings == nil {
			return nil, false, fmt.Errorf("subtitle: no recording pipeline in this server: %w", httpapi.ErrUnavailable)
		}
		return a.recordings(ctx, id)
	}}
	return nil
}

// subtitleRecordings adapts the pipeline to what the subtitle API needs: whether a recording
// exists and, once its replay is ready, the source spans it really kept (the actual cut points).
func subtitleRecordings(p *pipeline.Service) func(ctx context.Context, id string) ([]subtitle.Span, bool, error) {
	return func(ctx context.Context, id string) ([]subtitle.Span, bool, error) {
		spans, err := p.KeptSpans(ctx, id)
		if errors.Is(err, pipeline.ErrNotReady) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		out := make([]subtitle.Span, len(spans))
		for i, s := range spans {
			out[i] = subtitle.Span{Start: s.Start, End: s.End}
		}
		return out, true, nil
	}
}
