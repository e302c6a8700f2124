package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/assets/tusstore"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline"
)

// serveUpload is `bench serve-upload -addr A -data-dir D`: the upload routes of Atelier
// (pipeline.API.Upload and the tus handler over SQLite and the S3 store of ATELIER_S3_*), in a
// process of its own that writes a CPU profile (the atelier binary has no profiling endpoint).
// No job worker runs.
func serveUpload(args []string) int {
	fs := flag.NewFlagSet("serve-upload", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	data := fs.String("data-dir", "", "data directory")
	prof := fs.String("cpuprofile", "", "write a CPU profile until shutdown")
	fs.Parse(args)
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "serve-upload:", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := func() error {
		if err := os.MkdirAll(*data, 0o750); err != nil {
			return err
		}
		dbPath := filepath.Join(*data, "atelier.db")
		db, err := sqldb.Open(ctx, dbPath)
		if err != nil {
			return err
		}
		defer db.Close()
		qdb, err := sqldb.Open(ctx, dbPath)
		if err != nil {
			return err
		}
		defer qdb.Close()
		cat, err := catalog.Open(ctx, db)
		if err != nil {
			return err
		}
		store, err := assets.NewS3(ctx, assets.S3Config{Endpoint: os.Getenv("ATELIER_S3_ENDPOINT"), Bucket: os.Getenv("ATELIER_S3_BUCKET"),
			AccessKey: os.Getenv("ATELIER_S3_ACCESS_KEY"), SecretKey: os.Getenv("ATELIER_S3_SECRET_KEY"), Region: "us-east-1", PathStyle: true})
		if err != nil {
			return err
		}
		svc, err := pipeline.New(ctx, pipeline.Config{DB: db, QueueDB: qdb, Store: store, Catalog: cat,
			WorkDir: filepath.Join(*data, "work"), Log: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
		if err != nil {
			return err
		}
		// As cmd/atelier builds it: an upload is built at its recording's source key (no copy).
		uploads, err := tusstore.NewS3(store, tusstore.Config{Key: func(id string) string { return layout.Recording(id).SourceKey() }})
		if err != nil {
			return err
		}
		tus, err := uploads.Handler(tusstore.HandlerConfig{BasePath: "/api/uploads/", MaxSize: 1 << 40})
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("POST /api/recordings", httpapi.HandlerFunc(svc.API().WithUploads(uploads).Upload))
		mux.Handle("/api/uploads/", tus)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			return err
		}
		return nil
	}(); err != nil {
		fmt.Fprintln(os.Stderr, "serve-upload:", err)
		return 1
	}
	return 0
}
