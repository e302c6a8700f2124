package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the process's one Prometheus registry and the counters cmd/atelier keeps itself
// (HTTP, S3); the pipeline registers its own (jobs, queue wait, ffmpeg stages) in the same
// registry. It is served only on -metrics-addr, never on the public listener (see README,
// "Metrics").
type metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec   // by route template, method and status
	duration  *prometheus.HistogramVec // by route template
	bodyBytes *prometheus.CounterVec   // request bodies read (uploads), by route template
	sentBytes *prometheus.CounterVec   // response bodies written (streams, pages), by route template
	s3Errors  *prometheus.CounterVec   // failed S3 requests, by method and kind
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_http_requests_total",
			Help: "HTTP requests answered, by route template (as in routes.go; \"unmatched\" for none), method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atelier_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template (streams and uploads last as long as they transfer).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60, 600},
		}, []string{"route"}),
		bodyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_http_request_body_bytes_total",
			Help: "Bytes of request bodies read (uploads of recordings and subtitles), by route template.",
		}, []string{"route"}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_http_response_body_bytes_total",
			Help: "Bytes of response bodies written (replays streamed through Atelier, pages, feeds), by route template. Replays sent by redirect go from S3 and are not counted.",
		}, []string{"route"}),
		s3Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_s3_errors_total",
			Help: "S3 requests that failed: kind network (no answer), server (5xx) or refused (4xx other than 404 and 412, which are answers the store expects).",
		}, []string{"method", "kind"}),
	}
	reg.MustRegister(m.requests, m.duration, m.bodyBytes, m.sentBytes, m.s3Errors)
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// routeKey carries, through a request's context, the route template that mux matched, from the
// router's middleware (which knows it) out to the counting wrapper (which sees every request,
// the unmatched ones too).
type routeKey struct{}

type routeLabel struct{ template string }

// route is a mux middleware: it names the matched route for the counting wrapper. Labels are
// templates ("/api/recordings/{id}"), never raw paths, so that series stay few.
func (m *metrics) route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l, ok := r.Context().Value(routeKey{}).(*routeLabel); ok {
			if cur := mux.CurrentRoute(r); cur != nil {
				if t, err := cur.GetPathTemplate(); err == nil {
					l.template = t
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// count wraps the whole handler: it counts every request with the route that route named, and
// the bytes read from its body and written to its reply.
func (m *metrics) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		label := &routeLabel{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, label))
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			route := label.template
			if route == "" {
				route = "unmatched"
			}
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(cw.status)).Inc()
			m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			if body.n > 0 {
				m.bodyBytes.WithLabelValues(route).Add(float64(body.n))
			}
			if cw.n > 0 {
				m.sentBytes.WithLabelValues(route).Add(float64(cw.n))
			}
		}()
		next.ServeHTTP(cw, r)
	})
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom keeps sendfile for files served from local disk (http.ServeContent copies through it).
func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	n, err := io.Copy(w.ResponseWriter, r)
	w.n += n
	return n, err
}

// Flush and Unwrap keep event streams and http.ResponseController working through the wrapper.
func (w *countingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// s3Transport counts the S3 requests that fail, beside passing them on (minio-go's transport
// is ours to give: assets.S3Config.Transport).
func (m *metrics) s3Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		switch {
		case err != nil:
			// A request cut short by its own context (a client gone, a cancelled job) is no
			// fault of S3's.
			if req.Context().Err() == nil && !errors.Is(err, context.Canceled) {
				m.s3Errors.WithLabelValues(req.Method, "network").Inc()
			}
		case resp.StatusCode >= 500:
			m.s3Errors.WithLabelValues(req.Method, "server").Inc()
		case resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusPreconditionFailed &&
			resp.StatusCode != http.StatusRequestedRangeNotSatisfiable:
			m.s3Errors.WithLabelValues(req.Method, "refused").Inc()
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serveMetrics starts the metrics listener when -metrics-addr is set; it runs until ctx ends.
func (a *app) serveMetrics(ctx context.Context) error {
	if a.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on -metrics-addr %s: %w", a.cfg.MetricsAddr, err)
	}
	srv := &http.Server{Handler: a.metricsRoutes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "error", err)
		}
	}()
	a.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}
