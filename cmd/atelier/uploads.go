package main

import (
	"context"
	"fmt"
	"time"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/assets/tusstore"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/pipeline"
)

// uploadsPath is where the tus protocol is served (routes.go mounts it).
const uploadsPath = "/api/uploads/"

// openUploads builds the resumable upload service over the media storage, its tus handler, and
// the worker that removes expired uploads at the sweep's interval.
func (a *app) openUploads() error {
	cfg := tusstore.Config{
		Owner: func(ctx context.Context) int64 {
			p, _ := auth.FromContext(ctx)
			return p.TokenID
		},
		// On S3 an upload is built at the source key of the recording it will become (which
		// takes the upload's id): taking it then copies nothing (a server-side copy of 2 GiB
		// took 55 s on a loaded versitygw).
		Key: func(id string) string { return layout.Recording(id).SourceKey() },
	}
	var err error
	switch m := a.media.(type) {
	case *assets.Dir:
		a.uploads, err = tusstore.NewDir(m, cfg)
	case *assets.S3:
		a.uploads, err = tusstore.NewS3(m, cfg)
	default:
		return fmt.Errorf("atelier: resumable uploads: no store for %T", a.media)
	}
	if err != nil {
		return err
	}
	a.tus, err = a.uploads.Handler(tusstore.HandlerConfig{
		BasePath: uploadsPath, MaxSize: a.cfg.MaxUpload, LimitName: "-max-upload, ATELIER_MAX_UPLOAD",
		IdleTimeout: a.cfg.UploadIdleTimeout, Log: a.log,
	})
	if err != nil {
		return err
	}
	a.workers = append(a.workers, a.expireUploads)
	return nil
}

// expireUploads removes the uploads that received nothing for a day, at start and at every
// -sweep-interval, like the pipeline's sweep of what interrupted uploads left.
func (a *app) expireUploads(ctx context.Context) error {
	every := a.cfg.SweepInterval
	if every <= 0 {
		every = pipeline.DefaultSweepInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := a.uploads.RemoveExpired(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("removing expired resumable uploads", "error", err)
		}
		if n > 0 {
			a.log.Info("removed expired resumable uploads", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
