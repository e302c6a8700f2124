package pipeline

// Liveness of jobs across processes and machines: leases.
//
// A worker that takes a recording's job holds a lease on it: the recording's heartbeat_at,
// which the job's heartbeat loop renews every min(15 s, lease/4) while the process lives,
// however long ffmpeg takes (Service.heartbeats). Every process (API nodes and workers) sweeps
// the processing recordings every lease/3 (Service.recoverOrphans) and requeues one only when
// its lease has expired: its heartbeat has not changed for a whole lease (Config.StaleAfter,
// -job-lease) as this process's own monotonic clock measures it. The comparison never mixes
// two machines' clocks, so a worker whose clock is off is not robbed of its jobs; only a
// heartbeat already older than expiredLongAgo leases when first seen (a restart after a long
// stop) is taken without waiting a lease.
//
// The requeue is a compare-and-swap on (job_id, heartbeat_at): of several sweepers, one wins,
// and a worker that renews its lease meanwhile keeps its job. The lease is fenced by job_id: a
// worker that was paused (SIGSTOP, a VM frozen, a network partition) past its lease finds at its
// next heartbeat that the recording has another job, stops its own at once (errLeaseLost) and
// writes nothing more to the recording. Outputs it stored meanwhile are overwritten by the new
// job's. A pause shorter than the lease costs nothing: the heartbeat resumes, nobody requeued.
//
// Why not River's rescuer alone: it only sees a job "running" since attempted_at, so it
// cannot tell a dead worker from a long ffmpeg run, and must wait past the longest job
// (RescueStuckJobsAfter, 24 h here) before it runs the job again. The lease tells the two
// apart within a minute or two, and the rescuer stays as the last resort for the River row
// itself: the dead worker's job row stays "running" until it rescues it, then its retry finds
// the recording on another job and ends ("superseded"). Splitting a job into River jobs per
// stage (cut, each rung, finalize) would bound each job's length but not tell dead from slow
// either; it is left for the first-playable work.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
)

// errLeaseLost ends a job whose recording another process requeued: this worker's lease expired.
var errLeaseLost = errors.New("pipeline: lease lost: the recording was requeued while this worker did not renew its lease")

// expiredLongAgo is, in leases, how old a heartbeat seen for the first time must be (by the
// wall clocks of its writer and of this process) to be taken as expired without watching it
// for a lease: larger than any clock skew NTP leaves, small enough to restart a single
// server's interrupted jobs soon after a start.
const expiredLongAgo = 10

// leaseSeen is a processing recording's heartbeat as this process last saw it.
type leaseSeen struct {
	jobID int64
	beat  string
	since time.Time // when this process first saw this (job, heartbeat), on its monotonic clock
}

// recoverOrphans requeues the processing recordings whose lease expired (see the top of this
// file). Jobs running in this process are never taken.
func (s *Service) recoverOrphans(ctx context.Context) error {
	rows, err := s.cfg.DB.QueryContext(ctx, `SELECT id, job_id, heartbeat_at FROM recordings WHERE status = 'processing'`)
	if err != nil {
		return fmt.Errorf("pipeline: leases: %w", err)
	}
	type lease struct {
		id    string
		jobID int64
		beat  string
	}
	var leases []lease
	for rows.Next() {
		var l lease
		if err := rows.Scan(&l.id, &l.jobID, &l.beat); err != nil {
			rows.Close()
			return fmt.Errorf("pipeline: leases: %w", err)
		}
		leases = append(leases, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pipeline: leases: %w", err)
	}
	now := time.Now()
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	seen := make(map[string]leaseSeen, len(leases))
	for _, l := range leases {
		if s.isRunning(l.id) {
			continue
		}
		prev, ok := s.leases[l.id]
		if !ok || prev.jobID != l.jobID || prev.beat != l.beat {
			prev = leaseSeen{jobID: l.jobID, beat: l.beat, since: now}
			seen[l.id] = prev
			beat, _ := sqldb.ParseTime(l.beat)
			if ok || s.store.now().Sub(beat) < expiredLongAgo*s.cfg.StaleAfter {
				continue // renewed since the last sweep, or too recent to judge by clocks
			}
		}
		seen[l.id] = prev
		if now.Sub(prev.since) < s.cfg.StaleAfter {
			continue
		}
		if err := s.requeueExpired(ctx, l.id, l.jobID, l.beat); err != nil {
			return err
		}
		delete(seen, l.id)
	}
	s.leases = seen
	return nil
}

// requeueExpired gives the recording id a new job with the arguments of its old one, unless its
// job or heartbeat changed since the sweep read them (another sweeper won, or the worker came
// back): compare-and-swap.
func (s *Service) requeueExpired(ctx context.Context, id string, oldJob int64, beat string) error {
	args := ProcessArgs{RecordingID: id}
	if row, err := s.river.JobGet(ctx, oldJob); err == nil {
		_ = json.Unmarshal(row.EncodedArgs, &args) // Rerender as the old job had it
	} else if served, err := s.isServed(ctx, id); err == nil {
		args.Rerender = served // an interrupted re-cut must not fail a served replay
	}
	tx, err := s.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := s.river.InsertTx(ctx, tx, args, nil)
	if err != nil {
		return fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	r, err := tx.ExecContext(ctx, `UPDATE recordings SET status = 'queued', job_id = $1, stage = 'requeued', speed = 0,
		eta_seconds = NULL, updated_at = $2 WHERE id = $3 AND job_id = $4 AND heartbeat_at = $5 AND status = 'processing'`,
		res.Job.ID, sqldb.FormatTime(s.store.now()), id, oldJob, beat)
	if err != nil {
		return fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return nil // someone else's move: the rollback drops the new job
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pipeline: requeue %s: %w", id, err)
	}
	s.log.Warn("requeued a recording whose worker's lease expired", "recording_id", id, "job_id", oldJob, "new_job_id", res.Job.ID,
		"last_heartbeat", beat, "lease", s.cfg.StaleAfter)
	s.changes.notify()
	return nil
}

// heartbeats renews the lease of the job jobID on recording id until ctx ends, and stops the job
// through cancel when the lease is lost (errLeaseLost) or when a cancel was requested through
// any process (errCancelRequested): the API node that took the request may not be this one.
// Changes seen in the database (watchChanges) trigger the cancel check at once; the lease is
// renewed on its own tick.
func (s *Service) heartbeats(ctx context.Context, id string, jobID int64, cancel context.CancelCauseFunc) {
	t := time.NewTicker(min(heartbeatEvery, s.cfg.StaleAfter/4))
	defer t.Stop()
	for {
		wake := s.changes.wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			alive, cancelled, err := s.store.renewLease(ctx, id, jobID)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					s.log.Warn("renewing the lease of a job", "recording_id", id, "job_id", jobID, "error", err)
				}
			case !alive:
				s.log.Warn("lease lost: the recording was requeued elsewhere; stopping this attempt", "recording_id", id, "job_id", jobID)
				s.metrics.ended(ProcessArgs{}.Kind(), "lease_lost")
				cancel(errLeaseLost)
				return
			case cancelled:
				cancel(errCancelRequested)
			}
		case <-wake:
			var c bool
			if err := s.cfg.DB.QueryRowContext(ctx, `SELECT cancel_requested FROM recordings WHERE id = $1`, id).Scan(&c); err == nil && c {
				cancel(errCancelRequested)
			}
		}
	}
}

// renewLease moves the heartbeat of recording id on, if job jobID still holds it (alive), and
// tells whether a cancel was requested.
func (s *store) renewLease(ctx context.Context, id string, jobID int64) (alive, cancelled bool, err error) {
	err = s.db.QueryRowContext(ctx, `UPDATE recordings SET heartbeat_at = $1 WHERE id = $2 AND job_id = $3 AND status = 'processing'
		RETURNING cancel_requested`, sqldb.FormatTime(s.now()), id, jobID).Scan(&cancelled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("pipeline: heartbeat of %s: %w", id, err)
	}
	return true, cancelled, nil
}

// stillHolds tells whether job jobID still holds the lease of recording id, renewing it: a job
// checks before it records its end, so that a worker that lost its lease while paused does not
// overwrite the state of the job that replaced it. A database error answers true: the end is
// then recorded as before leases (the final write is itself limited to unfinished recordings).
func (s *Service) stillHolds(ctx context.Context, id string, jobID int64) bool {
	alive, _, err := s.store.renewLease(ctx, id, jobID)
	return err != nil || alive
}
