package pipeline

import (
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline/media"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Status is where a recording is in its life.
type Status string

const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusReady      Status = "ready"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
)

// Final reports whether nothing more will happen to a recording in this status.
func (s Status) Final() bool {
	return s == StatusReady || s == StatusFailed || s == StatusCancelled
}

var (
	// ErrNotFound is returned for an unknown recording id.
	ErrNotFound = fmt.Errorf("pipeline: recording %w", httpapi.ErrNotFound)
	// ErrFinal is returned when cancelling a recording that is already finished.
	ErrFinal = fmt.Errorf("pipeline: recording already finished: %w", httpapi.ErrConflict)
)

// Schema is the pipeline's own tables (recordings; River's tables are River's): goose files under
// migrations/, after the legacy steps on SQLite.
var Schema = sqldb.Schema{Name: "pipeline", FS: migrationFiles, Legacy: legacySteps}

//go:embed migrations
var migrationFiles embed.FS

// legacySteps are the steps of the schema before goose (sqldb.Schema.Legacy): frozen, never edit
// or append; a change is a new goose file in migrations/sqlite and migrations/postgres.
var legacySteps = []string{
	`CREATE TABLE recordings (
		id TEXT PRIMARY KEY,
		status TEXT NOT NULL,
		meta TEXT NOT NULL,             -- the client's meta part, re-validated by the job
		cut_mode TEXT NOT NULL,
		source_key TEXT NOT NULL,
		source_size INTEGER NOT NULL DEFAULT 0,
		source_sha256 TEXT NOT NULL DEFAULT '',
		source_ms INTEGER NOT NULL DEFAULT 0,   -- probed duration of the source
		requested TEXT NOT NULL DEFAULT '[]',   -- kept spans asked for, source time, [[start_ms, end_ms]]
		actual TEXT NOT NULL DEFAULT '[]',      -- kept spans really cut (keyframes in fast mode)
		replay_ms INTEGER NOT NULL DEFAULT 0,
		subtitles TEXT NOT NULL DEFAULT '[]',   -- storage keys of the subtitle files uploaded with it
		stage TEXT NOT NULL DEFAULT '',
		progress REAL NOT NULL DEFAULT 0,
		speed REAL NOT NULL DEFAULT 0,
		eta_seconds INTEGER,
		error TEXT NOT NULL DEFAULT '',
		outputs TEXT NOT NULL DEFAULT '[]',     -- storage keys under replays/{id}/, set when ready
		job_id INTEGER NOT NULL DEFAULT 0,      -- the River job working on it
		attempts INTEGER NOT NULL DEFAULT 0,
		cancel_requested INTEGER NOT NULL DEFAULT 0,
		created_by TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		heartbeat_at TEXT NOT NULL DEFAULT '',
		finished_at TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX recordings_status ON recordings (status)`,
	// The resolved plan (JSON of Plan) the job reads, so that it never parses meta, probes or
	// resolves again; it supersedes requested (the plan's spans) and the job's use of meta
	// (kept as the client sent it). Rows from before are given one by backfillPlans.
	`ALTER TABLE recordings ADD COLUMN plan TEXT NOT NULL DEFAULT ''`,
	// Timestamps were RFC 3339 with trimmed fractions, which sorts wrong as text below one
	// second (ORDER BY created_at): now sqldb.TimeFormat, like every component's.
	sqldb.NormalizeTimes("recordings", "created_at", "updated_at", "heartbeat_at", "finished_at"),
	// The token that uploaded the recording: only it (or an admin) may cancel, retry, re-cut or
	// delete it (CheckOwner). created_by holds its name, which tokens do not keep unique. Rows
	// from before have 0: admins only.
	`ALTER TABLE recordings ADD COLUMN owner_token_id INTEGER NOT NULL DEFAULT 0`,
}

// Recording is the stored state of one upload and its processing.
type Recording struct {
	ID     string
	Status Status
	// Meta is the meta part as the client sent it (kept for reference; nothing parses it again).
	Meta []byte
	// Plan is what the job does, resolved when the upload was accepted.
	Plan         Plan
	SourceKey    string
	SourceSize   int64
	SourceSHA256 string
	SourceLen    time.Duration
	Actual       []media.Span
	ReplayLen    time.Duration
	Subtitles    []string
	Stage        string
	Progress     float64
	Speed        float64
	ETA          *time.Duration
	Error        string
	Outputs      []string
	JobID        int64
	Attempts     int
	Cancel       bool
	CreatedBy    string // the name of the token that uploaded it
	// Owner is the id of the token that uploaded it (auth.Principal.TokenID); 0 for the
	// bootstrap admin token and for recordings from before owners were kept.
	Owner      int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Heartbeat  time.Time
	FinishedAt time.Time
	// PlayableAt is when the replay became playable (zero while it is not): its first
	// rendition is served before the rest of the ladder is encoded.
	PlayableAt time.Time
}

// msSpans is how spans are stored: [[start_ms, end_ms], ...].
type msSpans []media.Span

func (s msSpans) MarshalJSON() ([]byte, error) {
	out := make([][2]int64, len(s))
	for i, sp := range s {
		out[i] = [2]int64{sp.Start.Milliseconds(), sp.End.Milliseconds()}
	}
	return json.Marshal(out)
}

func (s *msSpans) UnmarshalJSON(b []byte) error {
	var in [][2]int64
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*s = make(msSpans, len(in))
	for i, p := range in {
		(*s)[i] = media.Span{Start: time.Duration(p[0]) * time.Millisecond, End: time.Duration(p[1]) * time.Millisecond}
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled here
	}
	return string(b)
}

// parseTime reads a stored timestamp; "" (never set) is the zero time.
func parseTime(s string) time.Time {
	t, _ := sqldb.ParseTime(s)
	return t
}

const recordingColumns = `id, status, meta, plan, source_key, source_size, source_sha256, source_ms,
	actual, replay_ms, subtitles, stage, progress, speed, eta_seconds, error, outputs, job_id, attempts,
	cancel_requested, created_by, owner_token_id, created_at, updated_at, heartbeat_at, finished_at, playable_at`

func scanRecording(sc interface{ Scan(...any) error }) (Recording, error) {
	var (
		r                                     Recording
		meta, plan, actual, subs, outputs     string
		sourceMS, replayMS                    int64
		eta                                   sql.NullInt64
		created, updated, heartbeat, finished string
		playable                              string
	)
	err := sc.Scan(&r.ID, &r.Status, &meta, &plan, &r.SourceKey, &r.SourceSize, &r.SourceSHA256, &sourceMS,
		&actual, &replayMS, &subs, &r.Stage, &r.Progress, &r.Speed, &eta, &r.Error, &outputs, &r.JobID, &r.Attempts,
		&r.Cancel, &r.CreatedBy, &r.Owner, &created, &updated, &heartbeat, &finished, &playable)
	if err != nil {
		return r, err
	}
	r.Meta = []byte(meta)
	r.SourceLen = time.Duration(sourceMS) * time.Millisecond
	r.ReplayLen = time.Duration(replayMS) * time.Millisecond
	if plan != "" {
		if err := json.Unmarshal([]byte(plan), &r.Plan); err != nil {
			return r, fmt.Errorf("plan of %s: %w", r.ID, err)
		}
	}
	var act msSpans
	_ = json.Unmarshal([]byte(actual), &act)
	r.Actual = act
	_ = json.Unmarshal([]byte(subs), &r.Subtitles)
	_ = json.Unmarshal([]byte(outputs), &r.Outputs)
	if eta.Valid {
		d := time.Duration(eta.Int64) * time.Second
		r.ETA = &d
	}
	r.CreatedAt, r.UpdatedAt, r.Heartbeat, r.FinishedAt = parseTime(created), parseTime(updated), parseTime(heartbeat), parseTime(finished)
	r.PlayableAt = parseTime(playable)
	return r, nil
}

// store is the SQL side of the pipeline.
type store struct {
	db  *sql.DB
	now func() time.Time
}

func (s *store) get(ctx context.Context, id string) (Recording, error) {
	r, err := scanRecording(s.db.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return r, fmt.Errorf("pipeline: get recording %s: %w", id, err)
	}
	return r, nil
}

// insert records a new queued recording inside tx (with its job, inserted in the same tx).
func (s *store) insert(ctx context.Context, tx *sql.Tx, r Recording) error {
	now := sqldb.FormatTime(s.now())
	_, err := tx.ExecContext(ctx, `INSERT INTO recordings (id, status, meta, plan, cut_mode, source_key, source_size,
		source_sha256, source_ms, subtitles, created_by, owner_token_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		r.ID, StatusQueued, string(r.Meta), mustJSON(r.Plan), r.Plan.Cut, r.SourceKey, r.SourceSize, r.SourceSHA256,
		r.SourceLen.Milliseconds(), mustJSON(nonNil(r.Subtitles)), r.CreatedBy, r.Owner, now, now)
	if err != nil {
		return fmt.Errorf("pipeline: insert recording %s: %w", r.ID, err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *store) setJob(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, id string, jobID int64) error {
	_, err := q.ExecContext(ctx, `UPDATE recordings SET job_id = $1, updated_at = $2 WHERE id = $3`, jobID, sqldb.FormatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("pipeline: set job of %s: %w", id, err)
	}
	return nil
}

// start marks the recording processing for job jobID. It returns false when the recording
// is already final or belongs to another job.
func (s *store) start(ctx context.Context, id string, jobID int64, attempt int) (bool, error) {
	now := sqldb.FormatTime(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE recordings SET status = $1, stage = 'starting', error = '', attempts = $2,
		updated_at = $3, heartbeat_at = $3 WHERE id = $4 AND job_id = $5 AND status IN ('queued', 'processing')`,
		StatusProcessing, attempt, now, id, jobID)
	if err != nil {
		return false, fmt.Errorf("pipeline: start %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// progress records how far the job is; it doubles as the heartbeat.
func (s *store) progress(ctx context.Context, id string, stage string, fraction, speed float64, eta *time.Duration) error {
	var etaS any
	if eta != nil {
		etaS = int64(eta.Round(time.Second) / time.Second)
	}
	now := sqldb.FormatTime(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET stage = $1, progress = $2, speed = $3, eta_seconds = $4,
		updated_at = $5, heartbeat_at = $5 WHERE id = $6 AND status = 'processing'`,
		stage, fraction, speed, etaS, now, id)
	if err != nil {
		return fmt.Errorf("pipeline: progress of %s: %w", id, err)
	}
	return nil
}

func (s *store) setActual(ctx context.Context, id string, actual []media.Span, replayLen time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET actual = $1, replay_ms = $2, updated_at = $3 WHERE id = $4`,
		mustJSON(msSpans(actual)), replayLen.Milliseconds(), sqldb.FormatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("pipeline: set cut points of %s: %w", id, err)
	}
	return nil
}

// setPlayable records that the replay of a processing recording is playable from now.
func (s *store) setPlayable(ctx context.Context, id string) error {
	now := sqldb.FormatTime(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET playable_at = $1, updated_at = $1 WHERE id = $2 AND status = 'processing'`, now, id)
	if err != nil {
		return fmt.Errorf("pipeline: playable %s: %w", id, err)
	}
	return nil
}

// waitingForPlayable counts the recordings other than id queued for their first playable
// rendition (not those whose ladder waits).
func (s *store) waitingForPlayable(ctx context.Context, id string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings WHERE status = 'queued' AND playable_at = '' AND id <> $1`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pipeline: waiting recordings: %w", err)
	}
	return n, nil
}

// heartbeat tells other servers that the job of a processing recording is alive.
func (s *store) heartbeat(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET heartbeat_at = $1 WHERE id = $2 AND status = 'processing'`,
		sqldb.FormatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("pipeline: heartbeat of %s: %w", id, err)
	}
	return nil
}

// backToQueue puts a processing recording back to queued at stage, with reason shown as its
// error ("" for none): its job waits for a retry or for the next start of the server.
func (s *store) backToQueue(ctx context.Context, id, stage, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET status = 'queued', stage = $1, error = $2, speed = 0,
		eta_seconds = NULL, updated_at = $3 WHERE id = $4 AND status = 'processing'`, stage, reason, sqldb.FormatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	return nil
}

// setPlan stores the plan of a recording.
func (s *store) setPlan(ctx context.Context, id string, p Plan) error {
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET plan = $1, cut_mode = $2 WHERE id = $3`, mustJSON(p), p.Cut, id)
	if err != nil {
		return fmt.Errorf("pipeline: set plan of %s: %w", id, err)
	}
	return nil
}

// withoutPlan lists the recordings stored before plans were (their plan is empty).
func (s *store) withoutPlan(ctx context.Context) ([]Recording, error) {
	out, err := s.query(ctx, `WHERE plan = '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pipeline: list recordings without plan: %w", err)
	}
	return out, nil
}

// query returns the recordings that rest (a WHERE clause and more, with args) selects.
func (s *store) query(ctx context.Context, rest string, args ...any) ([]Recording, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordingColumns+` FROM recordings `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// finish moves a recording that is still running to a final status. It returns false when it
// was already final (e.g. cancelled meanwhile). keepOutputs leaves the stored outputs (those of
// the replay's current render) as they are.
func (s *store) finish(ctx context.Context, id string, st Status, reason string, outputs []string, keepOutputs bool) (bool, error) {
	now := sqldb.FormatTime(s.now())
	set := `status = $1, error = $2, stage = $3, updated_at = $4, finished_at = $4, eta_seconds = NULL, speed = 0`
	args := []any{st, reason, string(st), now}
	out := mustJSON(nonNil(outputs))
	if st == StatusReady {
		set += `, progress = 1, outputs = $6`
	} else {
		set += `, outputs = CASE WHEN $6 = '' THEN outputs ELSE $6 END`
		if keepOutputs {
			out = "" // a failed re-render: the replay goes on being served from its current render
		} else {
			set += `, playable_at = ''` // its outputs go
		}
	}
	args = append(args, id, out)
	res, err := s.db.ExecContext(ctx, `UPDATE recordings SET `+set+` WHERE id = $5 AND status IN ('queued', 'processing')`, args...)
	if err != nil {
		return false, fmt.Errorf("pipeline: finish %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *store) requestCancel(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE recordings SET cancel_requested = 1, updated_at = $1 WHERE id = $2`, sqldb.FormatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("pipeline: cancel %s: %w", id, err)
	}
	return nil
}

// requeue puts a final or orphaned recording back in the queue under a new job.
func (s *store) requeue(ctx context.Context, tx *sql.Tx, id string, jobID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE recordings SET status = 'queued', job_id = $1, stage = '', progress = 0, speed = 0,
		eta_seconds = NULL, error = '', cancel_requested = 0, finished_at = '', updated_at = $2 WHERE id = $3`,
		jobID, sqldb.FormatTime(s.now()), id)
	if err != nil {
		return fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	return nil
}

// unfinished lists recordings that are queued or processing.
func (s *store) unfinished(ctx context.Context) ([]Recording, error) {
	out, err := s.query(ctx, `WHERE status IN ('queued', 'processing') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pipeline: list unfinished: %w", err)
	}
	return out, nil
}

// list returns recordings newest first, a page at a time, and how many there are.
func (s *store) list(ctx context.Context, status Status, limit, offset int) ([]Recording, int, error) {
	where, args := "", []any{}
	if status != "" {
		where, args = ` WHERE status = $1`, append(args, status)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recordings`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("pipeline: list recordings: %w", err)
	}
	n := len(args)
	out, err := s.query(ctx, fmt.Sprintf(`%s ORDER BY created_at DESC, id LIMIT $%d OFFSET $%d`, where, n+1, n+2), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("pipeline: list recordings: %w", err)
	}
	return out, total, nil
}
