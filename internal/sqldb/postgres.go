package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens a pool of connections to the PostgreSQL database at dsn.
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", Redact(dsn), err)
	}
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		m := c.TypeMap()
		m.TryWrapEncodePlanFuncs = append(m.TryWrapEncodePlanFuncs, tryBoolAsInt)
		return nil
	}))
	// The components' stores were written for one SQLite file: bounded pools keep a few
	// processes (API + workers) well under PostgreSQL's default max_connections of 100.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: open %s: %w", Redact(dsn), err)
	}
	return db, nil
}

// tryBoolAsInt lets a Go bool argument fill an INTEGER parameter as 0 or 1, as SQLite's driver
// does: booleans are INTEGER columns on both databases so that one SQL (`visible = 1`) serves
// both. pgx tries it only where no codec takes a bool as is: a boolean parameter still gets a
// boolean.
func tryBoolAsInt(v any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if _, ok := v.(bool); ok {
		return &boolAsInt{}, int64(0), true
	}
	return nil, nil, false
}

type boolAsInt struct{ next pgtype.EncodePlan }

func (p *boolAsInt) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *boolAsInt) Encode(v any, buf []byte) ([]byte, error) {
	var i int64
	if v.(bool) {
		i = 1
	}
	return p.next.Encode(i, buf)
}
