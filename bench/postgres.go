package main

import "context"

// benchDB is the database an in-process case runs on: the same testing.B benchmark, with
// ATELIER_TEST_DB naming the database (internal/testenv).
type benchDB struct {
	label string   // added to the case's name ("" for SQLite, the default)
	env   []string // for the benchmark's process
}

var (
	onSQLite   = benchDB{}
	onPostgres = benchDB{label: " on PostgreSQL", env: []string{"ATELIER_TEST_DB=postgres"}}
)

// benchFeedPG is the feed case on PostgreSQL: a server the benchmark starts from Debian's
// postgresql package on 127.0.0.1 (testenv.Postgres), the same targets as on SQLite.
func benchFeedPG(ctx context.Context, c config, _ string, rep *report) error {
	return benchFeedOn(ctx, c, rep, onPostgres)
}

// benchCatalogPG is the catalog case on PostgreSQL. Nothing keeps a seeded PostgreSQL database
// between runs (the test server lives as long as the benchmark's process): each run seeds its
// 100 000 replays, which takes minutes.
func benchCatalogPG(ctx context.Context, c config, _ string, rep *report) error {
	return benchCatalogOn(ctx, c, rep, onPostgres)
}
