package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Schema is one component's schema: its migrations, run by goose with a version table of its own
// (goose_<Name>), so that components migrate independently and in dependency order.
type Schema struct {
	Name string // auth, catalog, schedule, pipeline
	// FS holds the migrations as goose SQL files, under migrations/sqlite/ and
	// migrations/postgres/ (the same file in both where the SQL is the same), numbered from 2 on
	// SQLite: see Legacy. A package embeds its migrations directory.
	FS fs.FS
	// Legacy are the steps that Atelier applied before goose, recorded per step in the
	// schema_migrations table. They are goose version 1 on SQLite: a database made by that code
	// gets only the steps it lacks, a new one gets them all, and both continue with goose's
	// files. They are frozen: never edit or append; new changes are goose files.
	Legacy []string
}

// Table is the name of the schema's goose version table.
func (s Schema) Table() string { return "goose_" + s.Name }

// provider builds the goose provider of s for db's dialect.
func (s Schema) provider(db *sql.DB) (*goose.Provider, error) {
	d := DialectOf(db)
	sub, err := fs.Sub(s.FS, "migrations/"+string(d))
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrations of %s: %w", s.Name, err)
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(s.Table()),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()),
	}
	gd := goose.DialectSQLite3
	switch d {
	case SQLite:
		legacy := s.Legacy
		opts = append(opts, goose.WithGoMigrations(goose.NewGoMigration(1,
			&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error { return migrateLegacy(ctx, db, s.Name, legacy) }},
			nil)))
	case Postgres:
		gd = goose.DialectPostgres
		// Several processes (an API and its workers) may start at once: one migrates, the
		// others wait for PostgreSQL's advisory lock.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("sqldb: migrations of %s: %w", s.Name, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrations of %s: %w", s.Name, err)
	}
	return p, nil
}

// Migrate applies the migrations of s that db has not seen yet.
func Migrate(ctx context.Context, db *sql.DB, s Schema) error {
	p, err := s.provider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", s.Name, err)
	}
	return nil
}

// MigrationState is one migration of a schema and whether db has it.
type MigrationState struct {
	Schema    string
	Version   int64
	Source    string // the file, or "legacy steps" for SQLite's version 1
	Applied   bool
	AppliedAt time.Time
}

// Status lists the migrations of s and which ones db has.
func Status(ctx context.Context, db *sql.DB, s Schema) ([]MigrationState, error) {
	p, err := s.provider(db)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqldb: status of %s: %w", s.Name, err)
	}
	out := make([]MigrationState, len(st))
	for i, m := range st {
		src := m.Source.Path
		if src == "" {
			src = "legacy steps (schema_migrations)"
		}
		out[i] = MigrationState{Schema: s.Name, Version: m.Source.Version, Source: src,
			Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt}
	}
	return out, nil
}

// migrateLegacy applies, in order, the steps of component that the database has not seen yet,
// as Atelier did before goose. Each step runs in its own transaction.
func migrateLegacy(ctx context.Context, db *sql.DB, component string, steps []string) error {
	if len(steps) == 0 {
		return errors.New("sqldb: no legacy steps for " + component)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	var done int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`,
		component).Scan(&done); err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	for i := done; i < len(steps); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqldb: migrate %s: %w", component, err)
		}
		if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqldb: migrate %s step %d: %w", component, i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version) VALUES ($1, $2)`,
			component, i+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqldb: migrate %s step %d: %w", component, i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqldb: migrate %s step %d: %w", component, i+1, err)
		}
	}
	return nil
}

// MigrateLegacy applies steps as Atelier did before goose (see Schema.Legacy): for tests that
// build a database as that code left it.
func MigrateLegacy(ctx context.Context, db *sql.DB, component string, steps []string) error {
	return migrateLegacy(ctx, db, component, steps)
}

// MigrateTo applies the migrations of s up to version (included): for tests that build a
// database as an older release left it, before Migrate upgrades it in place.
func MigrateTo(ctx context.Context, db *sql.DB, s Schema, version int64) error {
	p, err := s.provider(db)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("sqldb: migrate %s to %d: %w", s.Name, version, err)
	}
	return nil
}
