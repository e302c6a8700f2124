// Package sqldb opens Atelier's database and applies each component's schema migrations.
//
// Two databases are supported: SQLite (modernc.org/sqlite, no cgo), the embedded default, and
// PostgreSQL (github.com/jackc/pgx/v5 through database/sql) for several machines sharing one
// database. Components write one SQL for both where they can: $1-style placeholders, INTEGER 0/1
// for booleans (a Go bool argument is bound as 0/1 on both), fixed-width UTC text for times
// (TimeFormat), ON CONFLICT, IS DISTINCT FROM, RETURNING. Where the SQL differs (full text,
// triggers, auto-increment keys) a component asks DialectOf.
//
// Schemas are migrated by goose (see Migrate): each component embeds its SQL files per dialect
// and keeps its own version table, goose_<component>.
package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Dialect names the SQL a database speaks.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// IsPostgres reports whether dsn names a PostgreSQL database (a postgres:// or postgresql:// URL).
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL (PostgreSQL), else a
// file path (SQLite) or a "sqlite:" / "file:" URL.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn)
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

// DialectOf tells which database db is, from its driver.
func DialectOf(db *sql.DB) Dialect {
	switch db.Driver().(type) {
	case *stdlib.Driver:
		return Postgres
	case *sqlite.Driver:
		return SQLite
	}
	return SQLite
}

// Redact returns dsn without its password, for logs and error messages.
func Redact(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}
