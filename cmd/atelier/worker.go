package main

import (
	"context"
	"errors"
	"io"
)

// cmdWorker runs `atelier worker`: the recording pipeline's job workers and nothing of the HTTP
// side but the optional metrics listener (-metrics-addr, with /healthz). It reads the same flags
// and ATELIER_* variables as serve, so that one environment file describes every process of an
// installation; those of the HTTP side are read and unused. Any number of workers and of
// `serve` processes (with -workers 0 for API-only ones) share one database and one media store.
//
// A worker needs nothing from the API node's disk: it downloads the source from the media store
// into its own work directory (DATA_DIR/work) and removes it when the job ends.
func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := newFlagSet("worker", "worker [flags]", stderr)
	cfg.registerServe(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.finishServe(); err != nil {
		return &exitError{code: 2, err: err}
	}
	if cfg.Workers < 1 {
		return usageErr("-workers %d: a worker runs at least 1 job at a time", cfg.Workers)
	}
	log := newLogger(&cfg, stderr)
	a, err := openApp(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.serveMetrics(ctx); err != nil {
		return err
	}
	log.Info("atelier worker started", "workers", cfg.Workers, "job_lease", cfg.JobLease)
	// Only the pipeline: the periodic syncs of serve (release feeds, replays into workshops)
	// stay with the API nodes.
	if err := a.pipeline.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("atelier worker stopped")
	return nil
}
