package main

import (
	"context"
	"path/filepath"

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
	})
	if err != nil {
		return err
	}
	a.workers = append(a.workers, a.pipeline.Run)
	a.recordings = subtitleRecordings(a.pipeline)
	return nil
}
