package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := newFlagSet("serve", "serve [flags]", stderr)
	cfg.registerServe(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.finishServe(); err != nil {
		return &exitError{code: 2, err: err}
	}
	log := newLogger(&cfg, stderr)
	a, err := openApp(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if err := a.serveMetrics(ctx); err != nil {
		ln.Close()
		return err
	}
	a.announceFirstRun(stderr)
	return a.serve(ctx, ln)
}

// serve runs the HTTP server and the background workers until ctx ends, then shuts down
// gracefully: in-flight requests get a grace period, workers stop taking jobs.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	// Shutdown waits for requests in flight, but an event stream never ends by itself: streams
	// are told to end as soon as shutdown begins, and their clients reconnect elsewhere.
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	srv := &http.Server{
		Handler:           httpapi.BodyDeadline(a.cfg.BodyTimeout, endStreamsOnShutdown(streams, a.routes())),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: replays and uploads stream for as long as they need.
	}
	var wg sync.WaitGroup
	for _, w := range a.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("worker stopped", "error", err)
			}
		}()
	}
	srv.RegisterOnShutdown(endStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("atelier listening", "addr", ln.Addr().String(), "public_url", a.cfg.PublicURL)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// endStreamsOnShutdown ends the context of every event stream (a request that accepts
// text/event-stream, or a reply that is one) when shutdown ends; other requests keep theirs
// and get the grace period.
func endStreamsOnShutdown(shutdown context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		sw := &streamWriter{ResponseWriter: w, shutdown: shutdown, cancel: cancel}
		if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			sw.stream.Store(true)
		}
		stop := context.AfterFunc(shutdown, func() {
			if sw.stream.Load() {
				cancel()
			}
		})
		defer stop()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// streamWriter notices a reply that turns out to be an event stream.
type streamWriter struct {
	http.ResponseWriter
	shutdown context.Context
	cancel   context.CancelFunc
	stream   atomic.Bool
	wrote    bool
}

func (w *streamWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
			w.stream.Store(true)
			if w.shutdown.Err() != nil { // shutdown began before the stream did
				w.cancel()
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Flush and Unwrap keep streaming and http.ResponseController working through the wrapper.
func (w *streamWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
