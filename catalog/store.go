package catalog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// Sentinels callers branch on (errors.Is). Like every package's, they wrap httpapi's, which pick
// the HTTP status.
var (
	ErrNotFound = fmt.Errorf("catalog: %w", httpapi.ErrNotFound)
	ErrConflict = fmt.Errorf("catalog: already exists: %w", httpapi.ErrConflict)
	// ErrBusy: the database stayed locked longer than a request should wait; retry later (503).
	ErrBusy = fmt.Errorf("catalog: busy with other changes: %w", httpapi.ErrBusy)
)

// Times are stored as sqldb.TimeFormat: fixed-width UTC text, so that text order is time order.
func fmtTime(t time.Time) string { return sqldb.FormatTime(t) }

func parseTime(s string) time.Time {
	t, _ := sqldb.ParseTime(s)
	return t
}

func parseNullTime(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t := parseTime(s.String)
	return &t
}

// migrations is the catalog's schema, append-only. Every version is stored next to its
// version_key (Version.Key), whose text order is the version order, so that SQL compares versions
// with < and > and the indexes on (software_id, version_key) answer the freshness questions.
// Schema is the catalog schema: goose files under migrations/, after the legacy steps on SQLite.
var Schema = sqldb.Schema{Name: "catalog", FS: migrationFiles, Legacy: legacySteps}

//go:embed migrations
var migrationFiles embed.FS

// legacySteps are the steps of the schema before goose (sqldb.Schema.Legacy): frozen, never edit
// or append; a change is a new goose file in migrations/sqlite and migrations/postgres.
var legacySteps = []string{
	`CREATE TABLE software (
		id INTEGER PRIMARY KEY,
		slug TEXT NOT NULL UNIQUE,
		name TEXT NOT NULL,
		homepage TEXT NOT NULL DEFAULT '',
		release_feed TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL,
		synced_at TEXT
	)`,
	`CREATE TABLE releases (
		id INTEGER PRIMARY KEY,
		software_id INTEGER NOT NULL REFERENCES software(id) ON DELETE CASCADE,
		version TEXT NOT NULL,
		version_key TEXT NOT NULL,
		released_at TEXT NOT NULL,
		interface_change INTEGER NOT NULL,
		notes TEXT NOT NULL DEFAULT '',
		reviewed INTEGER NOT NULL,
		source TEXT NOT NULL,
		created_at TEXT NOT NULL,
		UNIQUE (software_id, version_key)
	)`,
	`CREATE INDEX releases_interface_change ON releases (software_id, interface_change, version_key)`,
	`CREATE TABLE replays (
		seq INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		title TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '',
		language TEXT NOT NULL DEFAULT '',
		workshop_id TEXT NOT NULL DEFAULT '',
		publication TEXT NOT NULL,
		processing TEXT NOT NULL,
		publish_when_ready INTEGER NOT NULL DEFAULT 0,
		duration_ms INTEGER NOT NULL DEFAULT 0,
		created_at TEXT NOT NULL,
		published_at TEXT
	)`,
	`CREATE INDEX replays_publication ON replays (publication, published_at)`,
	`CREATE INDEX replays_language ON replays (publication, language, published_at)`,
	`CREATE INDEX replays_created ON replays (created_at)`,
	`CREATE INDEX replays_workshop ON replays (workshop_id, publication, published_at)`,
	`CREATE TABLE replay_chapters (
		replay_id TEXT NOT NULL REFERENCES replays(id) ON DELETE CASCADE,
		idx INTEGER NOT NULL,
		start_ms INTEGER NOT NULL,
		title TEXT NOT NULL,
		PRIMARY KEY (replay_id, idx)
	)`,
	// chapter is -1 for the replay's own documents, else the chapter's idx.
	`CREATE TABLE replay_tags (
		replay_id TEXT NOT NULL REFERENCES replays(id) ON DELETE CASCADE,
		chapter INTEGER NOT NULL,
		software_id INTEGER NOT NULL REFERENCES software(id),
		version TEXT NOT NULL,
		version_key TEXT NOT NULL,
		PRIMARY KEY (replay_id, chapter, software_id, version_key)
	)`,
	`CREATE INDEX replay_tags_software ON replay_tags (software_id, version_key, replay_id)`,
	`CREATE TABLE replay_tracks (
		replay_id TEXT NOT NULL REFERENCES replays(id) ON DELETE CASCADE,
		lang TEXT NOT NULL,
		kind TEXT NOT NULL,
		status TEXT NOT NULL,
		updated_by TEXT NOT NULL DEFAULT '',
		cue_count INTEGER NOT NULL DEFAULT 0,
		text TEXT NOT NULL DEFAULT '',
		updated_at TEXT NOT NULL,
		PRIMARY KEY (replay_id, lang)
	)`,
	// Full text over what a learner searches; rowid = replays.seq. Kept in step by the store.
	`CREATE VIRTUAL TABLE replay_fts USING fts5(title, description, chapters, subtitles,
		tokenize = 'unicode61 remove_diacritics 2')`,
	// freshness is the replay's overall status (0 current, 1 unknown, 2 outdated) as an index
	// for the status filter: rewritten from the releases and tags in the same transaction as every
	// change to them, so it never lags (see freshness.go).
	`ALTER TABLE replays ADD COLUMN freshness INTEGER NOT NULL DEFAULT 0`,
	`CREATE INDEX replays_freshness ON replays (publication, freshness, published_at)`,
	`CREATE INDEX replays_title ON replays (publication, title)`,
	`CREATE INDEX replays_duration ON replays (publication, duration_ms)`,
	`UPDATE replays SET freshness = ` + freshnessExpr,
	// The full text also knows each replay's publication, so that a public search is counted by
	// the full-text index alone (user words are matched in the content columns only).
	`DROP TABLE replay_fts`,
	`CREATE VIRTUAL TABLE replay_fts USING fts5(title, description, chapters, subtitles, publication,
		tokenize = 'unicode61 remove_diacritics 2')`,
	`INSERT INTO replay_fts (rowid, title, description, chapters, subtitles, publication)
		SELECT rp.seq, rp.title, rp.description,
			COALESCE((SELECT group_concat(title, char(10)) FROM (SELECT title FROM replay_chapters c WHERE c.replay_id = rp.id ORDER BY idx)), ''),
			COALESCE((SELECT group_concat(text, char(10)) FROM (SELECT text FROM replay_tracks k WHERE k.replay_id = rp.id ORDER BY lang)), ''),
			rp.publication
		FROM replays rp`,
	// Tags also carry the replay's seq, so that the tag index leads to replays by their integer
	// primary key (one seek instead of two through the id index).
	`ALTER TABLE replay_tags ADD COLUMN replay_seq INTEGER NOT NULL DEFAULT 0`,
	`UPDATE replay_tags SET replay_seq = (SELECT seq FROM replays WHERE replays.id = replay_tags.replay_id)`,
	`DROP INDEX replay_tags_software`,
	`CREATE INDEX replay_tags_software_seq ON replay_tags (software_id, version_key, replay_seq)`,
	// A search's last word is a prefix (search-as-you-type). Without a prefix index FTS5 answers
	// "fich"* by reading and merging the whole doclist of every term that starts so — 5-9 ms for a
	// common word at 100 000 replays, even for LIMIT 50, and 60 ms for a single letter. Prefix
	// indexes of 1 to 12 characters let such a query stream its matches like a plain word
	// (0.1 ms), for an index about 4 times larger; a longer last word still merges.
	`DROP TABLE replay_fts`,
	`CREATE VIRTUAL TABLE replay_fts USING fts5(title, description, chapters, subtitles, publication,
		tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10 11 12')`,
	`INSERT INTO replay_fts (rowid, title, description, chapters, subtitles, publication)
		SELECT rp.seq, rp.title, rp.description,
			COALESCE((SELECT group_concat(title, char(10)) FROM (SELECT title FROM replay_chapters c WHERE c.replay_id = rp.id ORDER BY idx)), ''),
			COALESCE((SELECT group_concat(text, char(10)) FROM (SELECT text FROM replay_tracks k WHERE k.replay_id = rp.id ORDER BY lang)), ''),
			rp.publication
		FROM replays rp`,
	// Tags carry a copy of their replay's publication, language and stored status, so that the
	// software filter (alone or with status=, language=) is answered from the tag index: counting
	// a software's 5 000 replays by seeking each replay's row cost 8-20 ms at 100 000 replays.
	// Triggers keep the copies in step with every write to the replay or its tags.
	`ALTER TABLE replay_tags ADD COLUMN publication TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE replay_tags ADD COLUMN language TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE replay_tags ADD COLUMN freshness INTEGER NOT NULL DEFAULT 0`,
	`UPDATE replay_tags SET (publication, language, freshness) =
		(SELECT publication, language, freshness FROM replays WHERE replays.id = replay_tags.replay_id)`,
	`CREATE TRIGGER replay_tags_copy AFTER INSERT ON replay_tags BEGIN
		UPDATE replay_tags SET (publication, language, freshness) =
			(SELECT publication, language, freshness FROM replays WHERE replays.id = NEW.replay_id)
		WHERE rowid = NEW.rowid;
	END`,
	`CREATE TRIGGER replays_tag_copies AFTER UPDATE OF publication, language, freshness ON replays
	WHEN OLD.publication IS NOT NEW.publication OR OLD.language IS NOT NEW.language OR OLD.freshness IS NOT NEW.freshness
	BEGIN
		UPDATE replay_tags SET publication = NEW.publication, language = NEW.language, freshness = NEW.freshness
		WHERE replay_id = NEW.id;
	END`,
	`CREATE INDEX replay_tags_filter ON replay_tags (software_id, publication, freshness, language, replay_seq)`,
	// for= reads the tags of a software in a version range (with the publication copy) and checks
	// each candidate's other tags of that software: both from indexes alone, instead of seeking
	// the replay's row and its tags through the text id (two table seeks per candidate).
	`CREATE INDEX replay_tags_for ON replay_tags (software_id, version_key, publication, replay_seq)`,
	`CREATE INDEX replay_tags_replay ON replay_tags (replay_seq, software_id, version_key)`,
	// Timestamps were fixed-width milliseconds: now sqldb.TimeFormat (microseconds), the one
	// format of every component's tables.
	sqldb.NormalizeTimes("software", "created_at", "synced_at"),
	sqldb.NormalizeTimes("releases", "released_at", "created_at"),
	sqldb.NormalizeTimes("replays", "created_at", "published_at"),
	sqldb.NormalizeTimes("replay_tracks", "updated_at"),
	// The publication a replay takes when its processing succeeds ("published" or "unlisted"; ""
	// for none), asked for at upload. An explicit publication change (PATCH) replaces it, so that
	// a "draft" chosen while processing stays a draft (issue 14, finding 4). It supersedes
	// publish_when_ready, which nothing reads any more; only unfinished replays still wait.
	`ALTER TABLE replays ADD COLUMN pending_publication TEXT NOT NULL DEFAULT ''`,
	`UPDATE replays SET pending_publication = 'published' WHERE publish_when_ready = 1 AND processing <> 'ready'`,
	// A track's review (who, when) and whether a draft is offered to learners anyway (visible):
	// a draft is no longer public at once.
	`ALTER TABLE replay_tracks ADD COLUMN visible INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE replay_tracks ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE replay_tracks ADD COLUMN reviewed_at TEXT`,
	// The full text indexes only the tracks learners are offered (refreshFTS): drafts became
	// hidden with the step above, so their words leave the index of existing replays.
	`DELETE FROM replay_fts`,
	`INSERT INTO replay_fts (rowid, title, description, chapters, subtitles, publication)
		SELECT rp.seq, rp.title, rp.description,
			COALESCE((SELECT group_concat(title, char(10)) FROM (SELECT title FROM replay_chapters c WHERE c.replay_id = rp.id ORDER BY idx)), ''),
			COALESCE((SELECT group_concat(text, char(10)) FROM (SELECT text FROM replay_tracks k
				WHERE k.replay_id = rp.id AND (k.status = 'reviewed' OR k.visible = 1) ORDER BY lang)), ''),
			rp.publication
		FROM replays rp`,
	// The render generation a replay is served from (assets/layout: replays/{id}/r/{render}/):
	// a re-render writes a new one beside it and SetRender switches in one write. '' is the flat
	// layout of replays rendered before generations.
	`ALTER TABLE replays ADD COLUMN render TEXT NOT NULL DEFAULT ''`,
}

// Store is the catalog's database side.
type Store struct {
	db      *sql.DB
	dialect sqldb.Dialect // the full text differs (search.go)
	now     func() time.Time
	stmts   stmtCache // prepared read statements of the list path
	// softwareIDs remembers the id of each slug found (softwareID): slug -> int64.
	softwareIDs sync.Map
	// writes is the store's write turn (a semaphore of one): SQLite has one writer at a time,
	// and its busy handler is no queue — under 40 concurrent PATCHes some waiters kept losing
	// the lock until busy_timeout and failed with "database is locked". Waiting for the turn
	// here is fair, honours the request's context, and leaves SQLite's timeout for writers of
	// other components.
	writes chan struct{}
}

// maxWriteWait bounds how long a write waits for its turn before answering ErrBusy (503 with
// Retry-After), so that a stuck writer does not pile up requests forever.
const maxWriteWait = 15 * time.Second

// Open migrates the catalog's schema and returns the store.
func Open(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := sqldb.Migrate(ctx, db, Schema); err != nil {
		return nil, err
	}
	return &Store{db: db, dialect: sqldb.DialectOf(db), now: time.Now, writes: make(chan struct{}, 1)}, nil
}

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// DB returns the database the store uses (benchmarks seed it directly).
func (s *Store) DB() *sql.DB { return s.db }

// writeTurn waits for the store's write turn; release it with s.done().
func (s *Store) writeTurn(ctx context.Context) error {
	t := time.NewTimer(maxWriteWait)
	defer t.Stop()
	select {
	case s.writes <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("catalog: waited %s for other changes to finish: %w", maxWriteWait, ErrBusy)
	}
}

func (s *Store) done() { <-s.writes }

// inTx runs fn in one transaction in the store's write turn, committing when it returns nil.
// Every write of the store goes through inTx or exec; fn must not call either (the turn is
// not reentrant).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.writeTurn(ctx); err != nil {
		return err
	}
	defer s.done()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return busy(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return busy(err)
	}
	return busy(tx.Commit())
}

// exec runs one write statement in the store's write turn.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.writeTurn(ctx); err != nil {
		return nil, err
	}
	defer s.done()
	res, err := s.db.ExecContext(ctx, query, args...)
	return res, busy(err)
}

// busy marks a write the database could not take now (SQLite's lock, PostgreSQL's
// serialization failure or deadlock) with ErrBusy, so that it answers 503 with Retry-After
// rather than 500.
func busy(err error) error {
	if sqldb.IsBusy(err) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

// placeholders returns "$from, $from+1, ..." n times.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

func isUnique(err error) bool { return sqldb.IsUnique(err) }

func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("catalog: "+format+": %w", append(args, ErrNotFound)...)
	}
	return fmt.Errorf("catalog: "+format+": %w", append(args, err)...)
}
