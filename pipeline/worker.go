package pipeline

import (
	"codeberg.org/atelier/atelier/assets/layout"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// ProcessArgs is the River job that turns a recording into a replay.
type ProcessArgs struct {
	RecordingID string `json:"recording_id"`
	// Rerender is set when the replay was ready before: a failure leaves it as it was.
	Rerender bool `json:"rerender,omitempty"`
}

func (ProcessArgs) Kind() string { return "pipeline.process" }

func (ProcessArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueName} }

type processWorker struct {
	river.WorkerDefaults[ProcessArgs]
	s *Service
}

// Timeout: none from River; Work bounds each attempt from the source's duration
// (Config.JobTimeoutFactor, JobTimeoutBase), which River does not know, and fails it for good.
func (w *processWorker) Timeout(*river.Job[ProcessArgs]) time.Duration { return -1 }

// NextRetry backs off from RetryDelay (10 s), doubling up to 64 times it, for transient faults
// (storage unreachable).
func (w *processWorker) NextRetry(job *river.Job[ProcessArgs]) time.Time {
	d := w.s.cfg.RetryDelay << min(max(job.Attempt-1, 0), 6)
	return time.Now().Add(d)
}

// jobError is a failure with a reason safe to show the animator. Permanent failures (bad
// input) are not retried.
type jobError struct {
	reason    string
	permanent bool
	err       error
}

func (e *jobError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *jobError) Unwrap() error { return e.err }

func permanent(err error, format string, args ...any) error {
	return &jobError{reason: fmt.Sprintf(format, args...), permanent: true, err: err}
}

func transient(err error, format string, args ...any) error {
	return &jobError{reason: fmt.Sprintf(format, args...), err: err}
}

// mediaError classifies an error of the media package.
func mediaError(err error, what string) error {
	var me *media.Error
	switch {
	case errors.Is(err, media.ErrNotMedia):
		return permanent(err, "the source is not a readable audio or video file")
	case errors.As(err, &me) && me.Hint != "":
		return permanent(err, "%s failed: %s", what, me.Hint)
	case errors.Is(err, media.ErrOutOfRange):
		return permanent(err, "%s failed: a kept range lies outside the recording", what)
	}
	return permanent(err, "%s failed; the server log has the details", what)
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	s := w.s
	id := job.Args.RecordingID
	log := s.log.With("recording_id", id, "job_id", job.ID, "attempt", job.Attempt)
	rec, err := s.store.get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if rec.JobID != job.ID || rec.Status.Final() {
		log.Info("job superseded, nothing to do", "current_job_id", rec.JobID, "status", rec.Status)
		return nil
	}
	if rec.Cancel {
		return river.JobCancel(s.finish(ctx, id, StatusCancelled, "cancelled by request", nil, job.Args.Rerender))
	}
	ok, err := s.store.start(ctx, id, job.ID, job.Attempt)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	s.changes.notify()
	if job.AttemptedAt != nil {
		s.metrics.waited(job.Kind, job.AttemptedAt.Sub(job.ScheduledAt))
	}

	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit := s.jobTimeout(rec.SourceLen)
	jobCtx, stopTimer := context.WithTimeoutCause(jobCtx, limit, errJobTimeout)
	defer stopTimer()
	s.mu.Lock()
	s.running[id] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
	}()

	go s.heartbeats(jobCtx, id, job.ID, cancel)
	log.Info("processing recording")
	started := time.Now()
	outputs, err := s.process(jobCtx, rec)
	// Final bookkeeping must happen even though jobCtx (or the River context) has ended.
	bg := context.WithoutCancel(ctx)
	if (err == nil || errors.Is(err, errLadderLater)) && !s.stillHolds(bg, id, job.ID) {
		log.Warn("attempt abandoned at its end: the lease was lost")
		return nil
	}
	if errors.Is(err, errLadderLater) {
		// Playable; the ladder goes after the recordings queued meanwhile (playable.go).
		log.Info("replay playable; its ladder waits for the first playable rendition of recordings queued before it")
		_ = s.store.backToQueue(bg, id, "ladder", "")
		s.changes.notify()
		return river.JobSnooze(time.Millisecond)
	}
	if err == nil {
		log.Info("recording ready", "duration", time.Since(started).Round(time.Millisecond), "outputs", len(outputs))
		_ = os.RemoveAll(s.workDir(id))
		return s.finish(bg, id, StatusReady, "", outputs, job.Args.Rerender)
	}
	if errors.Is(context.Cause(jobCtx), errJobTimeout) && ctx.Err() == nil {
		// Not retried: the same file on the same machine would take as long again.
		err = permanent(errJobTimeout, "processing took longer than its limit of %s (%g × the source's duration + %s; -job-timeout-factor, -job-timeout-base)",
			limit.Round(time.Second), s.cfg.JobTimeoutFactor, s.cfg.JobTimeoutBase)
	} else if errors.Is(err, errLeaseLost) || errors.Is(context.Cause(jobCtx), errLeaseLost) {
		// Another worker has the recording now (lease.go): touch nothing of it.
		log.Warn("attempt abandoned: the lease was lost", "error", err)
		return nil
	} else if jobCtx.Err() != nil {
		cur, gerr := s.store.get(bg, id)
		if gerr == nil && cur.Cancel || errors.Is(context.Cause(jobCtx), errCancelRequested) {
			log.Info("recording cancelled")
			_ = os.RemoveAll(s.workDir(id))
			s.pruneRenders(bg, id) // its own generation; the current one stays served
			return river.JobCancel(errors.Join(errCancelRequested, s.finish(bg, id, StatusCancelled, "cancelled by request", nil, job.Args.Rerender)))
		}
		// The server is stopping: back to the queue, to start again at the next start
		// without using up an attempt. The spooled source stays for the next run.
		log.Info("recording interrupted by shutdown; it restarts with the server")
		_ = s.store.backToQueue(bg, id, "interrupted", "")
		s.metrics.ended(job.Kind, "interrupted")
		return river.JobSnooze(0)
	}
	var je *jobError
	if !errors.As(err, &je) {
		je = &jobError{reason: "processing failed; the server log has the details", err: err}
	}
	if je.permanent || job.Attempt >= job.MaxAttempts {
		log.Error("recording failed", "error", err, "permanent", je.permanent)
		_ = os.RemoveAll(s.workDir(id))
		s.pruneRenders(bg, id) // its own generation; the current one stays served
		if ferr := s.finish(bg, id, StatusFailed, je.reason, nil, job.Args.Rerender); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	log.Warn("recording failed, will retry", "error", err)
	s.metrics.ended(job.Kind, "retry")
	_ = s.store.backToQueue(bg, id, "waiting to retry", fmt.Sprintf("%s; retrying (attempt %d of %d)", je.reason, job.Attempt, job.MaxAttempts))
	s.changes.notify()
	return err
}

// heartbeatEvery is how often a running job marks its recording alive (more often when
// Config.StaleAfter is short).
const heartbeatEvery = 15 * time.Second

func (s *Service) workDir(id string) string { return filepath.Join(s.cfg.WorkDir, id) }

// spoolPath is where the upload handler copies the source as it streams to storage, and where
// the job reads it; a job on another start (or machine) downloads it again.
func (s *Service) spoolPath(id string) string { return filepath.Join(s.workDir(id), "source") }

// Stages and their share of the whole job's progress. There is no probe stage: the upload probed
// the source once and the plan carries what the job needs.
// The replay is playable at the end of "subtitles" (playable.go); "video" (the full-quality cut
// of a source whose first rendition was encoded from it, playable.go), "extras" (audio.m4a, the
// storyboard), "ladder" and "captions" (the automatic draft, when a transcriber is configured)
// make the rest. The studio names each stage in French and English (web/i18n.go, job.stage.*).
var stages = map[string]stageSpan{
	"download":  {0, 0.04, true},
	"cut":       {0.04, 0.20, true},
	"render":    {0.20, 0.27, true},
	"upload":    {0.27, 0.31, true},
	"subtitles": {0.31, 0.33, true},
	"video":     {0.33, 0.45, true},
	"extras":    {0.45, 0.47, true},
	"ladder":    {0.47, 0.96, true},
	// A transcription's length has nothing to do with the share of stages done: no guess.
	"captions": {0.96, 1, false},
}

// stageSpan is a stage's share of the job's progress, and whether the share of stages done
// says anything about the time left while it runs.
type stageSpan struct {
	from, to float64
	eta      bool
}

// shareETA guesses the time left from the share of the job done after elapsed: the rest at the
// same pace. Too early (under 2 %) the guess is noise.
func (s stageSpan) shareETA(total float64, elapsed time.Duration) (time.Duration, bool) {
	if !s.eta || total <= 0.02 || total >= 1 {
		return 0, false
	}
	return time.Duration(float64(elapsed) * (1 - total) / total), true
}

// reporter writes progress to the recording, at most twice a second.
type reporter struct {
	s       *Service
	id      string
	start   time.Time
	last    time.Time
	lastPct float64
	// inLadder: only the ladder's progress counts now (its uploads are part of it).
	inLadder bool
	// eta, when set, estimates the time left instead of the share of stages done (the
	// ladder's, from measured encode speeds).
	eta func(f, speed float64) (time.Duration, bool)

	cur      string    // the stage being timed for metrics (enterStage)
	curStart time.Time // when it began

	lap  time.Time // when the last step of the timeline ended (done)
	laps []string  // the timeline: "cut 12.30s", ..., logged when the replay is playable
}

// done ends a step of the job's timeline (logged with "replay playable"): the time since the
// previous step ended, or since the job began.
func (r *reporter) done(step string) {
	now := time.Now()
	if r.lap.IsZero() {
		r.lap = r.start
	}
	r.laps = append(r.laps, fmt.Sprintf("%s %.2fs", step, now.Sub(r.lap).Seconds()))
	r.lap = now
}

func (r *reporter) stage(name string, f, speed float64) {
	if r == nil || r.inLadder && name != "ladder" {
		return
	}
	span := stages[name]
	total := span.from + (span.to-span.from)*min(max(f, 0), 1)
	now := time.Now()
	r.enterStage(name, now)
	if now.Sub(r.last) < 500*time.Millisecond && f < 1 && f > 0 {
		return
	}
	r.last, r.lastPct = now, total
	var eta *time.Duration
	if r.eta != nil {
		if d, ok := r.eta(f, speed); ok {
			eta = &d
		}
	} else if d, ok := span.shareETA(total, now.Sub(r.start)); ok {
		eta = &d
	}
	if err := r.s.store.progress(context.Background(), r.id, name, total, speed, eta); err != nil {
		r.s.log.Warn("progress not recorded", "recording_id", r.id, "error", err)
	}
	r.s.changes.notify()
}

func (r *reporter) media(stage string) func(media.Progress) {
	return func(p media.Progress) { r.stage(stage, p.Fraction, p.Speed) }
}

// process runs the whole job from the recording's stored plan and source, and returns the
// storage keys of the outputs: cut, render (and the burned-in rendition), store the outputs,
// publish the subtitles, then the catalog.
func (s *Service) process(ctx context.Context, rec Recording) ([]string, error) {
	id, plan := rec.ID, rec.Plan
	if len(plan.Spans) == 0 {
		return nil, permanent(errors.New("pipeline: no plan"), "the recording has no plan: upload it again")
	}
	rep := &reporter{s: s, id: id, start: time.Now()}
	dir := s.workDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, transient(err, "the server could not create its work directory")
	}
	cutPath := filepath.Join(dir, "cut.mp4")
	if st, ok := s.resumeLadder(ctx, rec); ok { // playable already: the ladder (playable.go)
		return s.ladderPhase(ctx, rec, st, cutPath, filepath.Join(dir, "out"), rep)
	}
	src, err := s.ensureSource(ctx, rec, rep)
	if err != nil {
		return nil, err
	}
	rep.done("source")
	rep.stage("cut", 0, 0)
	if fast, why, err := media.FastFirst(ctx, src, plan.Cut); err == nil && fast {
		// The cut would re-encode the whole source before anything plays: one fast rung from
		// the source first, the cut after (playable.go).
		keys, err := s.renderFastFirst(ctx, rec, src, why, cutPath, filepath.Join(dir, "out"), rep)
		return s.afterPlayable(ctx, id, src, keys, err, rep)
	}
	res, err := media.Cut(ctx, src, plan.Spans, plan.Cut, cutPath, rep.media("cut"))
	if err != nil {
		return nil, mediaError(err, "cutting")
	}
	rep.done("cut " + string(res.Mode))
	if err := s.store.setActual(ctx, id, res.Actual, res.Duration); err != nil {
		return nil, transient(err, "the database is unavailable")
	}
	// The replay is playable first, then the rest of the ladder is added (playable.go).
	keys, err := s.renderPlayable(ctx, rec, src, res, cutPath, filepath.Join(dir, "out"), rep)
	return s.afterPlayable(ctx, id, src, keys, err, rep)
}

// afterPlayable ends process once the replay was made playable and its ladder encoded or put
// off (errLadderLater): the editor's previews, once per recording.
func (s *Service) afterPlayable(ctx context.Context, id, src string, keys []string, err error, rep *reporter) ([]string, error) {
	if errors.Is(err, errLadderLater) {
		s.jobPreviews(ctx, id, src) // the resumed job may no longer read the source
	}
	if err != nil {
		return nil, err
	}
	rep.enterStage("", time.Now())
	s.jobPreviews(ctx, id, src) // the editor's waveform and storyboard, once per recording (editor.go)
	return keys, nil
}

// renderBurnIn writes the burned-in rendition the plan asks for into outDir, beside the normal
// outputs (which keep their subtitle tracks), and returns its path relative to outDir. The track
// is re-timed through the actual kept spans, like the published ones.
func (s *Service) renderBurnIn(ctx context.Context, id string, plan Plan, actual []media.Span, cutPath, outDir string, progress func(media.Progress)) (string, error) {
	if s.cfg.Tracks == nil {
		return "", permanent(errors.New("pipeline: no Tracks in Config"), "this server cannot burn subtitles in")
	}
	vtt := filepath.Join(s.workDir(id), "burnin-"+plan.BurnIn+".vtt")
	if err := s.cfg.Tracks.BurnInFile(ctx, id, plan.BurnIn, actual, vtt); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if errors.Is(err, assets.ErrNotExist) {
			return "", permanent(err, "there is no %s subtitle track to burn in", plan.BurnIn)
		}
		return "", transient(err, "preparing the subtitles to burn in failed")
	}
	rel := layout.BurnInRel(plan.BurnIn)
	if _, err := media.RenderBurnIn(ctx, cutPath, vtt, filepath.Join(outDir, filepath.FromSlash(rel)), plan.Loudnorm, progress); err != nil {
		return "", mediaError(err, "burning the subtitles in")
	}
	return rel, nil
}

// ensureSource returns the local path of the source: the upload's spool when it is complete,
// else a fresh download of the stored original.
func (s *Service) ensureSource(ctx context.Context, rec Recording, rep *reporter) (string, error) {
	p := s.spoolPath(rec.ID)
	if fi, err := os.Stat(p); err == nil && fi.Size() == rec.SourceSize && rec.SourceSize > 0 {
		return p, nil
	}
	rep.stage("download", 0, 0)
	rc, info, err := s.cfg.Store.Open(ctx, rec.SourceKey, nil)
	if errors.Is(err, assets.ErrNotExist) {
		return "", permanent(err, "the original recording is missing from storage")
	}
	if err != nil {
		return "", transient(err, "the storage is unreachable")
	}
	defer rc.Close()
	tmp := p + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return "", transient(err, "the server could not write its work directory")
	}
	pr := &progressReader{r: rc, total: info.Size, fn: func(f float64) { rep.stage("download", f, 0) }}
	_, err = io.Copy(f, pr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", transient(err, "downloading the original from storage failed")
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", transient(err, "the server could not write its work directory")
	}
	return p, nil
}

// upload stores the rendered files in rp, the job's new render generation. stage is the job's
// stage the upload belongs to: "upload" (before the switch) reports its own progress; the
// uploads after the switch (video, extras, ladder) leave the progress and the stage timing to
// their stage, so the bar never goes back to "upload" and the metric times it once per job.
func (s *Service) upload(ctx context.Context, rp layout.Replay, outDir string, files []string, rep *reporter, stage string) ([]string, error) {
	var total, done int64
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(f))); err == nil {
			total += fi.Size()
		}
	}
	keys := make([]string, 0, len(files))
	for _, f := range files {
		key := rp.Key(f)
		if err := assets.ValidKey(key); err != nil || strings.HasPrefix(f, "/") {
			return nil, permanent(fmt.Errorf("output %q: %w", f, err), "rendering produced an unexpected file name")
		}
		fh, err := os.Open(filepath.Join(outDir, filepath.FromSlash(f)))
		if err != nil {
			return nil, transient(err, "reading a rendered file failed")
		}
		fi, _ := fh.Stat()
		base := done
		pr := &progressReader{r: fh, total: max(total, 1), done: base, fn: func(f float64) {
			if stage == "upload" {
				rep.stage("upload", f, 0)
			}
		}}
		_, err = s.cfg.Store.Put(ctx, key, pr, fi.Size(), contentType(f))
		fh.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, transient(err, "the storage is unreachable")
		}
		done += fi.Size()
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".m4s":
		return "video/iso.segment"
	case ".vtt":
		return "text/vtt; charset=utf-8"
	case ".mp4":
		return "video/mp4"
	case ".m4a":
		return "audio/mp4"
	case ".jpg":
		return "image/jpeg"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// progressReader reports the fraction read.
type progressReader struct {
	r           io.Reader
	total, done int64
	fn          func(float64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.total > 0 {
		p.fn(float64(p.done) / float64(p.total))
	}
	return n, err
}
