package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// openPipeline builds the recording pipeline over the subtitle tracks (it publishes them, and
// writes the burned-in track, itself): its own connection pool for the job queue (River on
// SQLite wants one connection of its own), the workers that serve runs, and the subtitle API,
// which asks the pipeline about recordings from its first request on.
func (a *app) openPipeline(ctx context.Context) error {
	queueDB, err := sqldb.Open(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	a.queueDB = queueDB
	if isPostgresURL(a.cfg.DB) {
		// River works jobs through pgx on PostgreSQL (LISTEN/NOTIFY, leader election).
		if a.queuePool, err = pgxpool.New(ctx, a.cfg.DB); err != nil {
			return fmt.Errorf("pipeline: job queue pool: %w", err)
		}
	}
	a.pipeline, err = pipeline.New(ctx, pipeline.Config{
		DB: a.db, QueueDB: queueDB, QueuePool: a.queuePool, Store: a.media, Catalog: a.catalog,
		WorkDir:   filepath.Join(a.cfg.DataDir, "work"),
		MaxUpload: a.cfg.MaxUpload, Workers: a.cfg.Workers, Log: a.log,
		Tracks:           a.subtitles,
		Limits:           pipeline.Limits{Duration: a.cfg.MaxDuration, Width: a.cfg.MaxWidth, Height: a.cfg.MaxHeight, FrameRate: a.cfg.MaxFPS},
		JobTimeoutFactor: a.cfg.JobTimeoutFactor, JobTimeoutBase: a.cfg.JobTimeoutBase,
		SweepInterval: a.cfg.SweepInterval, SweepAge: a.cfg.SweepAge,
		Metrics: a.metrics.reg,
		// serve -workers 0: the jobs are queued here and worked by `atelier worker` processes.
		InsertOnly: a.cfg.Workers == 0, StaleAfter: a.cfg.JobLease,
		Periodic: a.periodic,
	})
	if err != nil {
		return err
	}
	a.workers = append(a.workers, a.pipeline.Run)
	a.subtitleAPI = subtitle.NewAPI(a.subtitles, a.pipeline)
	return nil
}
