package pipeline

import (
	"context"
	"database/sql"
	"fmt"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// queueDriver is River's driver for the job queue's database. Both work through database/sql
// (jobs are inserted in the same *sql.Tx as their recording): riversqlite on SQLite, which
// wants the pool to itself on one connection, and riverdatabasesql on PostgreSQL, River's
// driver for a database/sql pool over pgx, which polls for jobs (PollInterval) instead of
// LISTEN/NOTIFY.
func queueDriver(db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if sqldb.DialectOf(db) == sqldb.Postgres {
		return riverdatabasesql.New(db)
	}
	db.SetMaxOpenConns(1)
	return riversqlite.New(db)
}

// MigrateQueue applies River's own migrations (its job tables) to db, as New does at start:
// for `atelier migrate up`.
func MigrateQueue(ctx context.Context, db *sql.DB) error {
	m, err := rivermigrate.New(queueDriver(db), nil)
	if err != nil {
		return fmt.Errorf("pipeline: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("pipeline: river migrations: %w", err)
	}
	return nil
}

// QueueVersions returns how many of River's migrations db has and how many there are: for
// `atelier migrate status`.
func QueueVersions(ctx context.Context, db *sql.DB) (applied, all int, err error) {
	m, err := rivermigrate.New(queueDriver(db), nil)
	if err != nil {
		return 0, 0, fmt.Errorf("pipeline: river migrations: %w", err)
	}
	have, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("pipeline: river migrations: %w", err)
	}
	return len(have), len(m.AllVersions()), nil
}
