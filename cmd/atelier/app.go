package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/tusstore"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
	"codeberg.org/atelier/atelier/schedule"
	"codeberg.org/atelier/atelier/web"
)

// app holds the dependencies built once at start and shared by the routes and workers.
type app struct {
	cfg     *Config
	log     *slog.Logger
	metrics *metrics // the process's Prometheus registry, served on -metrics-addr
	db      *sql.DB
	auth    *auth.Store
	media   assets.Store // the recordings and replays (see assets/layout); pipeline.Config.Store
	dir     *assets.Dir  // set when media lives on local disk: it serves its own signed URLs

	// workers run beside the HTTP server until the context ends (job queue, feed sync).
	workers []func(ctx context.Context) error
	// periodic are the tasks run once per interval across the installation (the queue's
	// periodic jobs, pipeline.Periodic): release-feed sync, replays into workshops.
	periodic []pipeline.Periodic
	// principalResolvers let write APIs accept credentials other than a bearer token
	// (the web pages' session cookie).
	principalResolvers []auth.Resolver

	web *web.Site // pages and replay streams

	catalog    *catalog.Store // software, releases, replays, freshness
	catalogAPI *catalog.API

	schedule      *schedule.API   // workshops and iCalendar feeds
	scheduleStore *schedule.Store // shared by the API and the pages: it counts the writes feeds validate against

	subtitles   *subtitle.Tracks // subtitle tracks: re-timed through the cuts, published with the replay
	subtitleAPI *subtitle.API    // built with the pipeline, which it asks about recordings

	// firstRunURL is the first-run sign-in link when nobody can act as admin (see web.go).
	firstRunURL     string
	firstRunExpires time.Time

	pipeline *pipeline.Service // uploads, cuts and renders recordings (durable jobs)
	uploads  *tusstore.Store   // resumable uploads (tus) in the media storage (uploads.go)
	tus      http.Handler      // the tus protocol at /api/uploads/
	queueDB  *sql.DB           // the job queue's own pool on the same database
	// queuePool is the job queue's pgx pool on PostgreSQL, where River works jobs through pgx.
	queuePool *pgxpool.Pool
}

// openApp opens the database and media storage that cfg names and migrates the schema.
func openApp(ctx context.Context, cfg *Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, metrics: newMetrics()}
	db, err := sqldb.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	a.db = db
	if a.auth, err = auth.New(ctx, db, cfg.AdminToken); err != nil {
		a.Close()
		return nil, err
	}
	if cfg.Secret == "" {
		if isPostgresURL(cfg.DB) {
			// Several processes: each would sign with a key of its own, and a session opened on
			// one API node would not verify on the next (README, "Running on several machines").
			log.Warn("no -secret with a shared database: this process signs sessions and media URLs with a key of its own; give every process the same ATELIER_SECRET_FILE")
		}
		if cfg.Secret, err = loadOrCreateSecret(filepath.Join(cfg.DataDir, "secret.key")); err != nil {
			a.Close()
			return nil, err
		}
	}
	if cfg.S3Endpoint != "" {
		s3, err := assets.NewS3(ctx, assets.S3Config{
			Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			Region: cfg.S3Region, Secure: cfg.S3Secure, PathStyle: cfg.S3PathStyle,
			WrapTransport: a.metrics.s3Transport,
		})
		if err != nil {
			a.Close()
			return nil, err
		}
		a.media = s3
		log.Info("media storage", "backend", "s3", "endpoint", cfg.S3Endpoint, "bucket", cfg.S3Bucket)
	} else {
		root := filepath.Join(cfg.DataDir, "media")
		dir, err := assets.NewDir(root, cfg.PublicURL, []byte(cfg.Secret))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.media, a.dir = dir, dir
		log.Info("media storage", "backend", "dir", "path", root)
	}
	if err := a.openCatalog(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openSchedule(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openWeb(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openSubtitles(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openPipeline(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openUploads(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openDB opens only the database, for the administration commands.
func openDB(ctx context.Context, cfg *Config) (*sql.DB, *auth.Store, error) {
	db, err := sqldb.Open(ctx, cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	st, err := auth.New(ctx, db, "")
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

func (a *app) Close() {
	if a.queuePool != nil {
		a.queuePool.Close()
	}
	if a.queueDB != nil {
		a.queueDB.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// loadOrCreateSecret reads the signing key at path, creating a random one on first start so that
// signed URLs and sessions survive restarts without any configuration.
func loadOrCreateSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read secret: %w", err)
	}
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	s := hex.EncodeToString(k[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	return s, nil
}
