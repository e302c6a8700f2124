package pipeline

import (
	"context"
	"fmt"
	"time"
)

// watchChanges wakes this process's waiters (event streams, the heartbeat loops' cancel check)
// when another process changes an unfinished recording: a worker on another machine writes the
// progress of its job to the database, an API node records a cancel. It polls one cheap
// aggregate over the unfinished recordings (the status index keeps it to those) every
// Config.ChangePoll, so that a job's progress reaches the event streams of every API node within
// ChangePoll of its write; the job writes progress at most twice a second (reporter).
//
// Polling works the same on SQLite (several processes on one machine, WAL) and PostgreSQL;
// LISTEN/NOTIFY would save the queries on PostgreSQL but not the code path for SQLite.
func (s *Service) watchChanges(ctx context.Context) {
	t := time.NewTicker(s.cfg.ChangePoll)
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var n int
		var latest string
		err := s.cfg.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(updated_at), '') FROM recordings
			WHERE status IN ('queued', 'processing')`).Scan(&n, &latest)
		if err != nil {
			continue // the database is away for a moment; streams still poll on their own
		}
		stamp := fmt.Sprintf("%d/%s", n, latest)
		if last != "" && stamp != last {
			s.changes.notify()
		}
		last = stamp
	}
}
