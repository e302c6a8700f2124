// Package pipeline turns uploaded workshop recordings into replays: it takes the upload and its
// meta (what to keep, chapters), runs durable jobs (River) that cut and render the recording with
// pipeline/media, stores the outputs through assets, and reports progress over HTTP.
//
// One upload passes each step once, in order (API.Upload): the meta is validated, the source is
// stored and spooled, probed once, and the request is resolved against the probed duration into
// a Plan, stored with the recording. The job (processWorker) reads only that plan and the
// source: cut, render, store the outputs (keys from assets/layout), publish the subtitle tracks
// (subtitle.Tracks, called directly), and hand the result to the catalog through writeCatalog,
// the one place that writes it. Routes: cmd/atelier/routes.go.
//
// Each run of the job writes a new render generation of the replay (render.go): learners keep
// streaming the current one until the catalog switches to the new one in one write, after which
// the old one is removed. A re-cut (recut.go: API.Edits, Service.Recut) stores a new plan,
// resolved like an upload's meta, and runs the job again from the stored source; API.Retry
// requeues a failed or cancelled recording. The cut editor reads the source's waveform,
// storyboard and raw bytes (editor.go), computed once per recording.
//
// The switch happens as soon as the replay is playable (playable.go): the cut output streamed
// as it is, by stream copy, with its poster, chapters and subtitles (a source the cut must
// re-encode: one fast rung from the source, before the cut); the job then stores the MP4,
// audio.m4a and the storyboard and encodes the lower rungs into the same generation, replacing
// the master as each is added (in turns with subtitle changes, master.go), and the recording
// becomes ready after the last. A job whose replay is playable goes back to the queue while
// other recordings wait for their first rendition.
//
// A recording belongs to the token that uploaded it (Recording.Owner): every animator sees every
// recording, but only its owner or an admin may cancel, retry, re-cut or delete it (CheckOwner,
// called by every handler that changes one).
//
// Several processes may share the database and the store: API nodes queue jobs without working
// them (Config.InsertOnly), workers work them; progress and cancels cross between processes
// through the database (progress.go), and a worker that dies loses its jobs to another once its
// lease expires, while a slow one keeps them (lease.go says how, and why not River's rescuer).
package pipeline

import (
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/pipeline/media"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"golang.org/x/sync/singleflight"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// Catalog is what the pipeline needs from the catalog: the recording id is the replay id.
type Catalog interface {
	CheckTags(ctx context.Context, field string, tags []catalog.Tag) error
	CreateReplay(ctx context.Context, r catalog.NewReplay) error
	SetChapters(ctx context.Context, replayID string, chapters []catalog.Chapter) error
	SetProcessing(ctx context.Context, replayID, state string, durationMS int64) error
	SetRender(ctx context.Context, replayID, render string) error
	Replay(ctx context.Context, id string) (catalog.Replay, error)
}

var _ Catalog = (*catalog.Store)(nil)

// Config is what New needs. The zero values of the optional fields mean defaults.
type Config struct {
	// DB is the application's database, where the recordings table lives.
	DB *sql.DB
	// QueueDB is a second pool on the same database for River. River runs several
	// maintenance loops in parallel; on SQLite its documentation advises a pool of one
	// connection, which New sets. Sharing DB would serialise every request behind the queue.
	QueueDB *sql.DB
	// QueuePool, set when the database is PostgreSQL, is the pgx pool River works jobs
	// through (riverpgxv5: LISTEN/NOTIFY, leader election); see queue.go.
	QueuePool *pgxpool.Pool
	// Store keeps the uploaded originals and the rendered replays (see assets/layout).
	Store   assets.Store
	Catalog Catalog
	// WorkDir holds one directory per recording being processed (the spooled source, the
	// cut, the renders). On local disk, never in memory.
	WorkDir   string
	MaxUpload int64 // bytes; 0: 20 GiB
	Workers   int   // concurrent jobs; 0: 1
	Log       *slog.Logger

	// Optional.
	// Tracks publishes a recording's subtitle tracks (and automatic captions) once its outputs
	// are stored, and writes the track a burned-in rendition shows. nil: no subtitles are
	// published and burn-in requests fail the job.
	Tracks       *subtitle.Tracks
	Ladder       []int         // rendition heights; nil: the media package's default
	MaxAttempts  int           // tries for transient faults; 0: 5
	RetryDelay   time.Duration // first wait before retrying a transient fault, doubling; 0: 10s
	PollInterval time.Duration // how often idle workers look for jobs; 0: 500ms
	// Limits of an uploaded source; a source past one is refused with 422 (field "source").
	Limits Limits
	// JobTimeoutFactor and JobTimeoutBase bound one attempt of a job: factor × the source's
	// duration + base (0: 6 and 10 minutes). Past it the job fails for good, with the reason:
	// a job that hangs (a stuck ffmpeg, a pathological file) must not hold a worker forever.
	JobTimeoutFactor float64
	JobTimeoutBase   time.Duration
	// SweepInterval is how often Run removes what interrupted uploads and jobs left behind
	// (at start too): work directories no unfinished recording needs, stored uploads with no
	// recording, and the store's own leftovers (assets.StaleRemover: temp files, unfinished
	// multipart uploads). 0: DefaultSweepInterval.
	SweepInterval time.Duration
	// SweepAge is how long such leftovers must have gone untouched before a sweep takes them
	// for abandoned; uploads in progress in this process are never taken. 0: DefaultSweepAge.
	SweepAge time.Duration
	// StaleAfter is the lease of a running job (see lease.go): how long a processing
	// recording's heartbeat may stay unchanged before Run takes its worker for dead and
	// requeues it; 0: 1 minute. Run looks for such recordings at start and every StaleAfter/3.
	StaleAfter time.Duration
	// InsertOnly makes a service that takes uploads and queues their jobs but works none
	// (atelier serve -workers 0): other processes (atelier worker) run them. It still works
	// the Periodic tasks.
	InsertOnly bool
	// Periodic are tasks run once per interval across all the processes sharing the database
	// (periodic.go).
	Periodic []Periodic
	// ChangePoll is how often Run looks in the database for changes to unfinished recordings
	// made by other processes (progress of a job on a worker), for event streams and cancels;
	// 0: 250ms.
	ChangePoll time.Duration
	// Metrics, when set, receives the pipeline's Prometheus metrics (pipeline/metrics.go).
	Metrics prometheus.Registerer
}

const queueName = "media"

// Service is the recording pipeline: upload handling, the job queue and its workers.
type Service struct {
	cfg     Config
	store   *store
	log     *slog.Logger
	river   *river.Client[*sql.Tx] // inserts jobs in the recordings' transactions; cancels, reads them
	runner  queueRunner            // works them (the same client on SQLite; see queue.go)
	changes *broadcaster
	metrics *jobMetrics // nil: not counted

	mu        sync.Mutex
	running   map[string]context.CancelCauseFunc // recording id -> cancel of its job in this process
	uploading map[string]bool                    // ids of the uploads in progress in this process
	previews  singleflight.Group                 // editor previews computed on request (editor.go)

	leaseMu sync.Mutex
	leases  map[string]leaseSeen // heartbeats of processing recordings, as last seen (lease.go)

	masters    masterLocks     // master playlist writers of this process (master.go)
	masterWait func(id string) // tests: called when a master writer has to wait its turn
}

// New migrates the pipeline's tables and River's, and builds the service. Call Run to work jobs.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.QueueDB == nil || cfg.Store == nil || cfg.Catalog == nil || cfg.WorkDir == "" {
		return nil, errors.New("pipeline: DB, QueueDB, Store, Catalog and WorkDir are required")
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 20 << 30
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = time.Minute
	}
	if cfg.ChangePoll <= 0 {
		cfg.ChangePoll = 250 * time.Millisecond
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.JobTimeoutFactor <= 0 && cfg.JobTimeoutBase <= 0 {
		cfg.JobTimeoutFactor, cfg.JobTimeoutBase = DefaultJobTimeoutFactor, DefaultJobTimeoutBase
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.SweepAge <= 0 {
		cfg.SweepAge = DefaultSweepAge
	}
	if err := sqldb.Migrate(ctx, cfg.DB, Schema); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:       cfg,
		store:     &store{db: cfg.DB, now: time.Now},
		log:       cfg.Log.With("component", "pipeline"),
		changes:   newBroadcaster(),
		running:   map[string]context.CancelCauseFunc{},
		uploading: map[string]bool{},
	}
	if cfg.Tracks != nil && cfg.Tracks.LockMaster == nil {
		// Subtitle changes rewrite the master too: they take turns with the ladder (master.go).
		cfg.Tracks.LockMaster = s.lockMaster
	}
	var err error
	if s.metrics, err = newJobMetrics(cfg.Metrics, cfg.DB); err != nil {
		return nil, fmt.Errorf("pipeline: metrics: %w", err)
	}
	if err := s.backfillPlans(ctx); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &processWorker{s: s}); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	periodic, err := periodicJobs(workers, cfg.Periodic, s.log)
	if err != nil {
		return nil, err
	}
	// Every process works the periodic tasks; only workers work the media jobs.
	queues := map[string]river.QueueConfig{periodicQueue: {MaxWorkers: 1}}
	if !cfg.InsertOnly {
		queues[queueName] = river.QueueConfig{MaxWorkers: cfg.Workers}
	}
	s.river, s.runner, err = newQueue(ctx, cfg, &river.Config{
		Queues:            queues,
		Workers:           workers,
		PeriodicJobs:      periodic,
		Logger:            cfg.Log.With("component", "pipeline.river"),
		MaxAttempts:       cfg.MaxAttempts,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 100*time.Millisecond),
		// Jobs run as long as ffmpeg needs: no timeout. River's own rescue of jobs left
		// "running" by a dead process is a last resort (Run restarts orphans much sooner from
		// the recordings' heartbeats), so it only needs to exceed any real job.
		JobTimeout:           -1,
		RescueStuckJobsAfter: 24 * time.Hour,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Run works jobs until ctx ends. On start it restarts recordings orphaned by a server that
// died mid-job. When ctx ends, running jobs are interrupted and put back in the queue,
// to start again on the next Run.
func (s *Service) Run(ctx context.Context) error {
	if err := s.recoverOrphans(ctx); err != nil {
		return err
	}
	s.sweep(ctx)
	go s.watchChanges(ctx)
	if err := s.runner.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("pipeline: start workers: %w", err)
	}
	// A job whose worker died stays "processing" with a heartbeat that stops; requeue it once
	// its lease expires (lease.go).
	orphans := time.NewTicker(s.cfg.StaleAfter / 3)
	defer orphans.Stop()
	// The leftovers of a crash are swept while running too: after a crash and an immediate
	// restart they are still fresh at start, and would otherwise wait for the next restart.
	leftovers := time.NewTicker(s.cfg.SweepInterval)
	defer leftovers.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-orphans.C:
			if err := s.recoverOrphans(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("restarting interrupted recordings", "error", err)
			}
		case <-leftovers.C:
			s.sweep(ctx)
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.runner.StopAndCancel(stopCtx); err != nil {
		return fmt.Errorf("pipeline: stop workers: %w", err)
	}
	return ctx.Err()
}

// Sweep defaults: every 10 minutes, what has been untouched for an hour.
const (
	DefaultSweepInterval = 10 * time.Minute
	DefaultSweepAge      = time.Hour
)

// sweep removes what interrupted uploads and jobs left, untouched for SweepAge: work directories,
// stored uploads with no recording, and the store's own leftovers (temp files, unfinished
// multipart uploads).
func (s *Service) sweep(ctx context.Context) {
	before := s.store.now().Add(-s.cfg.SweepAge)
	s.removeStaleWorkDirs(ctx, before)
	s.removeOrphanedUploads(ctx, before)
	if sr, ok := s.cfg.Store.(assets.StaleRemover); ok {
		n, err := sr.RemoveStale(ctx, before)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("removing the storage's leftovers of interrupted uploads", "error", err)
		}
		if n > 0 {
			s.log.Info("removed leftovers of interrupted uploads from the storage", "count", n)
		}
	}
}

func (s *Service) isUploading(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploading[id]
}

// removeStaleWorkDirs removes work directories that no unfinished recording needs: left by an
// upload cut short by a crash, or by a job whose clean-up did not run. Only those with nothing
// written since before, and none of an upload in progress here (its spool grows all along, but
// a client may pause).
func (s *Service) removeStaleWorkDirs(ctx context.Context, before time.Time) {
	ents, err := os.ReadDir(s.cfg.WorkDir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		dir := filepath.Join(s.cfg.WorkDir, ent.Name())
		if !ent.IsDir() || s.isUploading(ent.Name()) || !lastWrite(dir).Before(before) {
			continue
		}
		r, err := s.store.get(ctx, ent.Name())
		if err == nil && !r.Status.Final() {
			continue
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			continue
		}
		s.log.Info("removing a stale work directory", "path", dir)
		_ = os.RemoveAll(dir)
	}
}

// lastWrite is the newest modification time in the tree at dir (the directory's own time changes
// only when entries come and go, not when the spool in it grows).
func lastWrite(dir string) time.Time {
	var newest time.Time
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
		return nil
	})
	return newest
}

// removeOrphanedUploads removes what an upload cut short by a crash left in storage: objects
// under recordings/{id}/ of an id that has no recording row and no upload in progress here, all
// stored before before. A refused upload cleans up after itself; only a server that died
// mid-upload leaves these.
// Caveat: S3 dates a multipart object from the start of its upload, so a source that took longer
// than SweepAge looks old at once; an upload in progress on another server sharing the bucket
// could then lose its source in the moments between storing it and inserting its row (its
// subtitles, stored meanwhile, are recent and keep it). Uploads in this process are never taken.
func (s *Service) removeOrphanedUploads(ctx context.Context, before time.Time) {
	objs, err := s.cfg.Store.List(ctx, layout.RecordingsPrefix)
	if err != nil {
		s.log.Warn("listing stored uploads to find orphans", "error", err)
		return
	}
	byID := map[string][]assets.Info{}
	for _, o := range objs {
		if rec, ok := layout.RecordingOf(o.Key); ok {
			byID[string(rec)] = append(byID[string(rec)], o)
		}
	}
	for id, objs := range byID {
		if s.isUploading(id) || slices.ContainsFunc(objs, func(o assets.Info) bool { return !o.ModTime.Before(before) }) {
			continue // maybe an upload still going on
		}
		if _, err := s.store.get(ctx, id); !errors.Is(err, ErrNotFound) {
			continue // a recording, or the database could not tell: keep
		}
		for _, o := range objs {
			if err := s.cfg.Store.Delete(ctx, o.Key); err != nil && !errors.Is(err, assets.ErrNotExist) {
				s.log.Warn("removing an upload with no recording", "recording_id", id, "key", o.Key, "error", err)
				continue
			}
			s.log.Info("removed an upload with no recording (a server stopped mid-upload)", "recording_id", id, "key", o.Key,
				"size", o.Size, "mod_time", o.ModTime)
		}
	}
}

// enqueue gives a recording a new job, and puts it back to queued.
func (s *Service) enqueue(ctx context.Context, id string, rerender bool) error {
	tx, err := s.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pipeline: enqueue %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := s.river.InsertTx(ctx, tx, ProcessArgs{RecordingID: id, Rerender: rerender}, nil)
	if err != nil {
		return fmt.Errorf("pipeline: enqueue %s: %w", id, err)
	}
	if err := s.store.requeue(ctx, tx, id, res.Job.ID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pipeline: enqueue %s: %w", id, err)
	}
	s.changes.notify()
	return nil
}

// Get returns a recording.
func (s *Service) Get(ctx context.Context, id string) (Recording, error) {
	return s.store.get(ctx, id)
}

// KeptSpans tells whether a recording exists and, once its replay is served from its current
// cut — ready, or playable by its running job while the ladder is encoded (playable.go) — the
// source ranges that replay is made of: the actual cut points (keyframes in fast mode).
// Subtitles in source time map onto the replay through them (see ToReplayTime), and a change
// is published at once, the master's writes taking turns with the ladder's (master.go). It makes
// the Service the subtitle API's subtitle.Recordings.
func (s *Service) KeptSpans(ctx context.Context, id string) ([]media.Span, bool, error) {
	r, err := s.store.get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if r.Status != StatusReady && !s.playableByItsJob(ctx, r) {
		return nil, false, nil
	}
	return r.Actual, true, nil
}

// playableByItsJob tells whether the job of r, still running (or waiting to run its ladder),
// made its replay playable: the catalog serves the render of r's current cut points. A re-cut
// that has not switched yet shows the previous playable_at, older than its job.
func (s *Service) playableByItsJob(ctx context.Context, r Recording) bool {
	if r.Status.Final() || r.PlayableAt.IsZero() {
		return false
	}
	job, err := s.river.JobGet(ctx, r.JobID)
	return err == nil && r.PlayableAt.After(job.CreatedAt)
}

var _ subtitle.Recordings = (*Service)(nil)

// ErrNotReady is returned for operations that need a finished recording.
var ErrNotReady = fmt.Errorf("pipeline: recording not finished: %w", httpapi.ErrConflict)

// Rerender queues a finished recording for processing again with its plan as it is. The
// replay stays served as it is until the new outputs replace it (render.go); a failed
// re-render leaves it.
func (s *Service) Rerender(ctx context.Context, id string) error {
	_, err := s.requeueFinished(ctx, id, nil, "render it again")
	return err
}

// Cancel stops a queued or running recording. It is final: the recording ends "cancelled".
func (s *Service) Cancel(ctx context.Context, id string) (Recording, error) {
	r, err := s.store.get(ctx, id)
	if err != nil {
		return r, err
	}
	if r.Status.Final() {
		return r, fmt.Errorf("%w: %s is %s", ErrFinal, id, r.Status)
	}
	if err := s.store.requestCancel(ctx, id); err != nil {
		return r, err
	}
	s.mu.Lock()
	cancel := s.running[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel(errCancelRequested) // the worker records "cancelled"
	}
	if r.JobID != 0 {
		job, err := s.river.JobCancel(ctx, r.JobID)
		if err != nil && !errors.Is(err, river.ErrNotFound) {
			return r, fmt.Errorf("pipeline: cancel job of %s: %w", id, err)
		}
		// A job that was not running is cancelled at once; a running one ends in its worker.
		if cancel == nil && (job == nil || job.State != "running") {
			// A cancelled re-cut leaves the served replay as it is.
			served, err := s.isServed(ctx, id)
			if err != nil {
				return r, err
			}
			if err := s.finish(ctx, id, StatusCancelled, "cancelled by request", nil, served); err != nil {
				return r, err
			}
		}
	}
	return s.store.get(ctx, id)
}

var errCancelRequested = errors.New("pipeline: cancelled by request")

func (s *Service) isRunning(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[id] != nil
}

// finish records a final status in the recordings table and in the catalog. keepReplay leaves
// the catalog alone (a failed re-render of a replay that is ready).
func (s *Service) finish(ctx context.Context, id string, st Status, reason string, outputs []string, keepReplay bool) error {
	ok, err := s.store.finish(ctx, id, st, reason, outputs, keepReplay)
	if err != nil {
		return err
	}
	// Event streams hear of the final state once the catalog says it too, so the studio never
	// shows "cancelled" beside a replay still "processing". (A poller can still see the two
	// writes a moment apart: they are two stores.)
	defer s.changes.notify()
	if ok {
		s.metrics.ended(ProcessArgs{}.Kind(), string(st))
	}
	if !ok || keepReplay || st == StatusReady {
		return nil // the worker sets "ready" in the catalog itself, before this
	}
	return s.writeCatalog(ctx, id, Plan{}, replayState{Processing: string(st)})
}

// replayState is where a recording stands, as the catalog shows it.
type replayState struct {
	// Processing is the catalog's processing state: catalog.Processing for a new recording
	// (the replay is created from the plan), catalog.Ready, Failed or Cancelled.
	Processing string
	// Actual and Duration describe the replay once ready: the spans really cut, its length.
	Actual   []media.Span
	Duration time.Duration
	// Render is the render generation holding the new outputs, complete: the replay switches
	// to it (render.go).
	Render string
}

// writeCatalog is the one place that turns a recording's plan and state into catalog state: the
// replay created from the plan (chapters mapped through the planned spans) with the plan's
// publication as its pending one, then its chapters mapped through the actual cut points and
// ready; or failed. The catalog applies the pending publication when the replay becomes ready,
// unless the animator chose one meanwhile (PATCH /api/replays/{id}): the pipeline never sets a
// publication itself, so it cannot override a later explicit choice.
func (s *Service) writeCatalog(ctx context.Context, id string, plan Plan, st replayState) error {
	cat := s.cfg.Catalog
	var err error
	switch st.Processing {
	case catalog.Processing:
		err = cat.CreateReplay(ctx, catalog.NewReplay{
			ID: id, Title: plan.Title, Description: plan.Description, Language: plan.Language, WorkshopID: plan.WorkshopID,
			Documents: plan.Documents, Chapters: catalogChapters(ReplayChapters(plan.Spans, plan.Chapters)),
			Pending: pendingPublication(plan.Publication),
		})
	case catalog.Ready:
		err = cat.SetChapters(ctx, id, catalogChapters(ReplayChapters(st.Actual, plan.Chapters)))
		if err == nil && st.Render != "" {
			err = cat.SetRender(ctx, id, st.Render) // the switch
		}
		if err == nil {
			err = cat.SetProcessing(ctx, id, catalog.Ready, st.Duration.Milliseconds())
		}
	default:
		err = cat.SetProcessing(ctx, id, st.Processing, 0)
	}
	if err != nil {
		return fmt.Errorf("pipeline: catalog of %s: %w", id, err)
	}
	return nil
}

// pendingPublication is the catalog's pending publication for what the upload asked.
func pendingPublication(p Publication) catalog.Publication {
	switch p {
	case PublishReady:
		return catalog.Published
	case PublishUnlisted:
		return catalog.Unlisted
	}
	return "" // draft: nothing to apply
}

// catalogChapters writes chapters in the catalog's form (milliseconds).
func catalogChapters(chapters []Chapter) []catalog.Chapter {
	out := make([]catalog.Chapter, len(chapters))
	for i, c := range chapters {
		out[i] = catalog.Chapter{StartMS: c.Start.Milliseconds(), Title: c.Title, Documents: nonNil(c.Documents)}
	}
	return out
}

// backfillPlans gives a plan to the recordings stored before plans were: their meta resolved
// against their probed duration, as their job did then. It runs once per old row (an upgrade);
// a meta that no longer validates leaves the row without plan, and its job fails with a reason.
func (s *Service) backfillPlans(ctx context.Context) error {
	recs, err := s.store.withoutPlan(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		req, err := ParseMeta(r.Meta)
		var plan Plan
		if err == nil {
			plan, err = req.Resolve(r.SourceLen)
		}
		if err != nil {
			s.log.Warn("a recording from before plans has a meta that no longer validates", "recording_id", r.ID, "error", err)
			continue
		}
		if err := s.store.setPlan(ctx, r.ID, plan); err != nil {
			return err
		}
	}
	return nil
}

// newID makes a recording id: 16 random hex characters.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// broadcaster wakes everyone waiting for a change.
type broadcaster struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcaster() *broadcaster { return &broadcaster{ch: make(chan struct{})} }

// wait returns a channel closed at the next notify.
func (b *broadcaster) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcaster) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
