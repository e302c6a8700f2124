package pipeline

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// jobMetrics are what the pipeline counts for Prometheus (Config.Metrics). A nil *jobMetrics
// counts nothing, so the code that counts never asks whether metrics are on.
type jobMetrics struct {
	queueWait *prometheus.HistogramVec // from a job's scheduled time to a worker taking it
	stage     *prometheus.HistogramVec // time in each stage of a job (download, cut, render, …)
	finished  *prometheus.CounterVec   // jobs ended here, by outcome
}

// Stage durations run from under a second (a short cut) to hours (a long render).
var stageBuckets = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}

func newJobMetrics(reg prometheus.Registerer, db *sql.DB) (*jobMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &jobMetrics{
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atelier_job_queue_wait_seconds",
			Help:    "Time a job waited in the queue, from when it could run to when a worker took it, by job kind.",
			Buckets: stageBuckets,
		}, []string{"kind"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atelier_job_stage_duration_seconds",
			Help:    "Time a recording's job spent in each stage (download of the source, cut, render, upload of the outputs, subtitles), in this process.",
			Buckets: stageBuckets,
		}, []string{"stage"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atelier_jobs_finished_total",
			Help: "Attempts of jobs that ended in this process, by kind and outcome (ready, failed, cancelled, retry, interrupted, superseded, lease_lost).",
		}, []string{"kind", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.queueWait, m.stage, m.finished, &stateCollector{db: db}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *jobMetrics) waited(kind string, d time.Duration) {
	if m != nil {
		m.queueWait.WithLabelValues(kind).Observe(max(d, 0).Seconds())
	}
}

func (m *jobMetrics) stageDone(stage string, d time.Duration) {
	if m != nil && stage != "" {
		m.stage.WithLabelValues(stage).Observe(d.Seconds())
	}
}

func (m *jobMetrics) ended(kind, outcome string) {
	if m != nil {
		m.finished.WithLabelValues(kind, outcome).Inc()
	}
}

// enterStage times the stages of a job: the time since the previous stage began goes to that
// stage when the next one begins ("" when the job ends).
func (r *reporter) enterStage(name string, now time.Time) {
	if name == r.cur {
		return
	}
	if r.cur != "" {
		r.s.metrics.stageDone(r.cur, now.Sub(r.curStart))
	}
	r.cur, r.curStart = name, now
}

// stateCollector reads the counts of recordings and jobs from the database at each scrape: they
// are the cluster's, the same from every process (aggregate them with max, not sum).
type stateCollector struct{ db *sql.DB }

var (
	recordingsDesc = prometheus.NewDesc("atelier_recordings",
		"Recordings by status, in the database (the whole cluster's).", []string{"status"}, nil)
	jobsDesc = prometheus.NewDesc("atelier_jobs",
		"Jobs of the queue by kind and state (River's: available, running, retryable, scheduled, completed, cancelled, discarded), in the database (the whole cluster's).",
		[]string{"kind", "state"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- recordingsDesc
	ch <- jobsDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts := func(desc *prometheus.Desc, query string, labels int) {
		rows, err := c.db.QueryContext(ctx, query)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(desc, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]string, labels)
			var n float64
			dest := []any{}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(append(dest, &n)...); err != nil {
				ch <- prometheus.NewInvalidMetric(desc, err)
				return
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, n, vals...)
		}
		if err := rows.Err(); err != nil {
			ch <- prometheus.NewInvalidMetric(desc, err)
		}
	}
	counts(recordingsDesc, `SELECT status, COUNT(*) FROM recordings GROUP BY status`, 1)
	counts(jobsDesc, `SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state`, 2)
}
