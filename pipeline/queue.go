package pipeline

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// queueRunner is the client that works jobs.
type queueRunner interface {
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// newQueue migrates River's tables and makes the job queue's clients for the database's dialect:
//
//   - SQLite: one riversqlite client on Config.QueueDB (one connection, as River advises) both
//     inserts jobs, in the transactions of the recordings' rows, and works them. Processes on
//     one machine share the file; River polls it (no LISTEN/NOTIFY in SQLite).
//   - PostgreSQL (Config.QueuePool set): a riverpgxv5 client on the pgx pool works the jobs,
//     with what PostgreSQL gives River: LISTEN/NOTIFY wakes an idle worker when a job is
//     inserted anywhere, elects the leader that runs maintenance and periodic jobs, and carries
//     a cancel to the process running the job. Inserts go through an insert-only
//     riverdatabasesql client on QueueDB, because the recordings' rows are written through
//     database/sql (internal/sqldb) and a job must be inserted in their transaction.
//
// Both clients share rc (MaxAttempts and the workers' kinds are checked at insert).
func newQueue(ctx context.Context, cfg Config, rc *river.Config) (*river.Client[*sql.Tx], queueRunner, error) {
	if cfg.QueuePool == nil {
		cfg.QueueDB.SetMaxOpenConns(1)
		driver := riversqlite.New(cfg.QueueDB)
		if err := migrateRiver(ctx, driver); err != nil {
			return nil, nil, err
		}
		c, err := river.NewClient(driver, rc)
		if err != nil {
			return nil, nil, fmt.Errorf("pipeline: river client: %w", err)
		}
		cfg.Log.Info("job queue", "driver", "riversqlite")
		return c, c, nil
	}
	driver := riverpgxv5.New(cfg.QueuePool)
	if err := migrateRiver(ctx, driver); err != nil {
		return nil, nil, err
	}
	runner, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: river client: %w", err)
	}
	ic := *rc
	ic.Queues, ic.PeriodicJobs = nil, nil // insert-only: it never works a job
	inserter, err := river.NewClient(riverdatabasesql.New(cfg.QueueDB), &ic)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: river client: %w", err)
	}
	cfg.Log.Info("job queue", "driver", "riverpgxv5", "inserts", "riverdatabasesql")
	return inserter, runner, nil
}

// migrateRiver brings River's own tables up to date (rivermigrate), for either driver.
func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("pipeline: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("pipeline: river migrations: %w", err)
	}
	return nil
}
