// Package sqldb opens Atelier's database and applies each component's schema migrations.
//
// The embedded default is SQLite (modernc.org/sqlite, no cgo). Queries in the components use
// $1-style placeholders and portable SQL so that PostgreSQL can be added later.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrUnsupported is returned for database URLs whose driver Atelier does not ship yet.
var ErrUnsupported = errors.New("sqldb: unsupported database")

// Open opens the database named by dsn: a file path (SQLite) or a "sqlite:" / "file:" URL.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return nil, fmt.Errorf("%w: PostgreSQL is planned but not built in yet; use a SQLite path", ErrUnsupported)
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return nil, fmt.Errorf("sqldb: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqldb: create directory for %s: %w", path, err)
	}
	// busy_timeout lets concurrent writers wait instead of failing; _txlock=immediate takes the
	// write lock at BEGIN, because SQLite cannot wait on a read lock upgraded mid-transaction.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Reads through a memory map instead of a pread system call per page missing from SQLite's
	// small page cache: index seeks into a database of hundreds of MB (the catalog at 100 000
	// replays) cost a third less. Only address space: pages stay in the OS cache.
	q.Add("_pragma", "mmap_size(1073741824)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	return db, nil
}

// Migrate applies, in order, the steps of component that the database has not seen yet. Each step
// runs in its own transaction; steps are append-only: never edit one that has shipped.
func Migrate(ctx context.Context, db *sql.DB, component string, steps []string) error {
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
