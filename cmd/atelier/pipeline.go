package main

import (
	"context"
	"path/filepath"

	"codeberg.org/atelier/atelier/pipeline/subtitle"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline"
)

// openPipeline builds the recording pipeline: its own connection pool for the job queue
// (River on SQLite wants one connection of its own), the workers that serve runs, and the
// subtitle API's view of recordings.
func (a *app) openPipeline(ctx context.Context) error {
	queueDB, err := sqldb.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	a.queueDB = queueDB
	a.pipeline, err = pipeline.New(ctx, pipeline.Config{
		DB: a.db, QueueDB: queueDB, Media: a.media, Catalog: a.catalog,
		WorkDir:   filepath.Join(a.cfg.DataDir, "work"),
		MaxUpload: a.cfg.MaxUpload, Workers: a.cfg.Workers, Log: a.log,
		Subtitles: publishSubtitles(a.subtitles),
		BurnIn:    burnIn(a.subtitles),
	})
	if err != nil {
		return err
	}
	a.workers = append(a.workers, a.pipeline.Run)
	a.recordings = subtitleRecordings(a.pipeline)
	return nil
}

// publishSubtitles lets the pipeline publish a recording's tracks (the files uploaded with it,
// automatic captions when enabled) once its render is stored.
func publishSubtitles(t *subtitle.Tracks) func(ctx context.Context, rec pipeline.Recording, lang, src string, keep []pipeline.Span) error {
	if t == nil {
		return nil
	}
	return func(ctx context.Context, rec pipeline.Recording, lang, src string, keep []pipeline.Span) error {
		spans := make([]subtitle.Span, len(keep))
		for i, s := range keep {
			spans[i] = subtitle.Span{Start: s.Start, End: s.End}
		}
		_, err := t.PublishReplay(ctx, rec.ID, lang, src, spans, rec.CreatedBy)
		return err
	}
}

// burnIn lets the pipeline write the re-timed track that a recording's burned-in rendition shows.
func burnIn(t *subtitle.Tracks) func(ctx context.Context, id, lang string, keep []pipeline.Span, dst string) error {
	if t == nil {
		return nil
	}
	return func(ctx context.Context, id, lang string, keep []pipeline.Span, dst string) error {
		spans := make([]subtitle.Span, len(keep))
		for i, s := range keep {
			spans[i] = subtitle.Span(s)
		}
		return t.BurnInFile(ctx, id, lang, spans, dst)
	}
}
