// Package pipeline turns uploaded workshop recordings into replays: it takes the upload and its
// meta (what to keep, chapters), runs durable jobs (River) that cut and render the recording with
// pipeline/media, stores the outputs through assets, and reports progress over HTTP.
package pipeline

import (
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
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

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
	// UpdateReplay sets a publication other than published (unlisted) once the replay is ready:
	// the catalog takes only "publish when ready" at creation.
	UpdateReplay(ctx context.Context, id string, u catalog.ReplayUpdate) error
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
	Media   assets.Store
	Catalog Catalog
	// WorkDir holds one directory per recording being processed (the spooled source, the
	// cut, the renders). On local disk, never in memory.
	WorkDir   string
	MaxUpload int64 // bytes; 0: 20 GiB
	Workers   int   // concurrent jobs; 0: 1
	Log       *slog.Logger

	// Optional.
	// Subtitles publishes a recording's subtitle tracks, re-timed through keep (the actual kept
	// spans), once its outputs are stored and before it is marked ready; sourcePath is the local
	// source (for automatic captions) and lang the replay's language. cmd/atelier adapts
	// subtitle.Tracks.PublishReplay. An error is taken for transient (retried).
	Subtitles func(ctx context.Context, rec Recording, lang, sourcePath string, keep []Span) error
	// BurnIn writes the subtitle track of lang, re-timed through keep, to dst (WebVTT) for the
	// burned-in rendition a recording's meta may ask for ("burn_in"). cmd/atelier adapts
	// subtitle.Tracks.BurnInFile; an error wrapping assets.ErrNotExist (no such track) fails the
	// job, any other is taken for transient. nil: burn-in requests fail the job.
	BurnIn       func(ctx context.Context, recordingID, lang string, keep []Span, dst string) error
	Ladder       []int         // rendition heights; nil: the media package's default
	MaxAttempts  int           // tries for transient faults; 0: 5
	RetryDelay   time.Duration // first wait before retrying a transient fault, doubling; 0: 10s
	PollInterval time.Duration // how often idle workers look for jobs; 0: 500ms
	// StaleAfter is how long a processing recording may go without a heartbeat before Run
	// takes it for orphaned (its server died) and restarts it; 0: 1 minute. Run looks for
	// such recordings at start and every StaleAfter/3.
	StaleAfter time.Duration
}

const queueName = "media"

// Service is the recording pipeline: upload handling, the job queue and its workers.
type Service struct {
	cfg     Config
	store   *store
	log     *slog.Logger
	river   *river.Client[*sql.Tx]
	changes *broadcaster

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc // recording id -> cancel of its job in this process
}

// New migrates the pipeline's tables and River's, and builds the service. Call Run to work jobs.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.QueueDB == nil || cfg.Media == nil || cfg.Catalog == nil || cfg.WorkDir == "" {
		return nil, errors.New("pipeline: DB, QueueDB, Media, Catalog and WorkDir are required")
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
	if err := sqldb.Migrate(ctx, cfg.DB, "pipeline", migrations); err != nil {
		return nil, err
	}
	cfg.QueueDB.SetMaxOpenConns(1)
	driver := riversqlite.New(cfg.QueueDB)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("pipeline: river migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("pipeline: river migrations: %w", err)
	}
	s := &Service{
		cfg:     cfg,
		store:   &store{db: cfg.DB, now: time.Now},
		log:     cfg.Log.With("component", "pipeline"),
		changes: newBroadcaster(),
		running: map[string]context.CancelCauseFunc{},
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &processWorker{s: s}); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	s.river, err = river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{queueName: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
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
		return nil, fmt.Errorf("pipeline: river client: %w", err)
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
	s.removeStaleWorkDirs(ctx)
	s.removeOrphanedUploads(ctx)
	if err := s.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("pipeline: start workers: %w", err)
	}
	// A job whose server died stays "processing" with a heartbeat that stops; sweep for those
	// while running too: right after a crash and restart the heartbeat still looks fresh.
	sweep := time.NewTicker(s.cfg.StaleAfter / 3)
	defer sweep.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-sweep.C:
			if err := s.recoverOrphans(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("restarting interrupted recordings", "error", err)
			}
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.river.StopAndCancel(stopCtx); err != nil {
		return fmt.Errorf("pipeline: stop workers: %w", err)
	}
	return ctx.Err()
}

// recoverOrphans restarts recordings whose job a dead process left behind: processing, with
// no heartbeat for StaleAfter and not running here. Their River job stays "running" until
// River's rescuer sees it; the worker then ignores it, the recording having a new job.
func (s *Service) recoverOrphans(ctx context.Context) error {
	recs, err := s.store.unfinished(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Status != StatusProcessing || s.isRunning(r.ID) || s.store.now().Sub(r.Heartbeat) < s.cfg.StaleAfter {
			continue
		}
		s.log.Warn("restarting a recording whose job was interrupted", "recording_id", r.ID, "job_id", r.JobID,
			"last_heartbeat", r.Heartbeat)
		if err := s.enqueue(ctx, r.ID, false); err != nil {
			return err
		}
	}
	return nil
}

// removeStaleWorkDirs removes work directories that no unfinished recording needs: left by an
// upload cut short by a crash, or by a job whose clean-up did not run. Only old ones, so that an
// upload starting beside this sweep keeps its spool.
func (s *Service) removeStaleWorkDirs(ctx context.Context) {
	ents, err := os.ReadDir(s.cfg.WorkDir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		info, err := ent.Info()
		if err != nil || time.Since(info.ModTime()) < time.Hour {
			continue
		}
		r, err := s.store.get(ctx, ent.Name())
		if err == nil && !r.Status.Final() {
			continue
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			continue
		}
		s.log.Info("removing a stale work directory", "path", filepath.Join(s.cfg.WorkDir, ent.Name()))
		_ = os.RemoveAll(filepath.Join(s.cfg.WorkDir, ent.Name()))
	}
}

// orphanAge is how old the stored objects of a recording id with no recording row must be before
// removeOrphanedUploads takes them for the leftovers of a crash. An upload in progress stores its
// source, then its subtitles, then probes and inserts the row within moments; an hour leaves
// room for slow subtitle parts and a slow probe, and for clocks that disagree a little.
// Caveat: S3 dates a multipart object from the start of its upload, so a source that took over an
// hour to send looks old at once; only a server starting in the seconds between that upload's end
// and its row (another server's upload: a starting server has none of its own) could take it.
const orphanAge = time.Hour

// removeOrphanedUploads removes what an upload cut short by a crash left in storage: objects
// under recordings/{id}/ of an id that has no recording row, all older than orphanAge. A refused
// upload cleans up after itself; only a server that died mid-upload leaves these.
func (s *Service) removeOrphanedUploads(ctx context.Context) {
	objs, err := s.cfg.Media.List(ctx, "recordings/")
	if err != nil {
		s.log.Warn("listing stored uploads to find orphans", "error", err)
		return
	}
	byID := map[string][]assets.Info{}
	for _, o := range objs {
		id, _, ok := strings.Cut(strings.TrimPrefix(o.Key, "recordings/"), "/")
		if ok && id != "" {
			byID[id] = append(byID[id], o)
		}
	}
	now := s.store.now()
	for id, objs := range byID {
		if slices.ContainsFunc(objs, func(o assets.Info) bool { return now.Sub(o.ModTime) < orphanAge }) {
			continue // maybe an upload still going on
		}
		if _, err := s.store.get(ctx, id); !errors.Is(err, ErrNotFound) {
			continue // a recording, or the database could not tell: keep
		}
		for _, o := range objs {
			if err := s.cfg.Media.Delete(ctx, o.Key); err != nil && !errors.Is(err, assets.ErrNotExist) {
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

// KeptSpans returns the source ranges a ready recording's replay is made of: the actual cut
// points (keyframes in fast mode). Subtitles in source time map onto the replay through them
// (see ToReplayTime).
func (s *Service) KeptSpans(ctx context.Context, id string) ([]Span, error) {
	r, err := s.store.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusReady {
		return nil, fmt.Errorf("pipeline: recording %s is %s, its cut points are known once ready: %w", id, r.Status, ErrNotReady)
	}
	return r.Actual, nil
}

// ErrNotReady is returned for operations that need a finished recording.
var ErrNotReady = fmt.Errorf("pipeline: recording not finished: %w", httpapi.ErrConflict)

// Rerender queues a finished recording for processing again (e.g. after its subtitles changed).
// The replay stays as it is until the new outputs replace it; a failed re-render leaves it.
func (s *Service) Rerender(ctx context.Context, id string) error {
	r, err := s.store.get(ctx, id)
	if err != nil {
		return err
	}
	if !r.Status.Final() {
		return fmt.Errorf("pipeline: recording %s is %s: %w", id, r.Status, ErrNotReady)
	}
	return s.enqueue(ctx, id, r.Status == StatusReady)
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
			if err := s.finish(ctx, id, StatusCancelled, "cancelled by request", nil, false); err != nil {
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
	ok, err := s.store.finish(ctx, id, st, reason, outputs)
	if err != nil {
		return err
	}
	s.changes.notify()
	if !ok || keepReplay || st == StatusReady {
		return nil // the worker sets "ready" in the catalog itself, before this
	}
	if err := s.cfg.Catalog.SetProcessing(ctx, id, string(st), 0); err != nil {
		return fmt.Errorf("pipeline: %s: %w", id, err)
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
