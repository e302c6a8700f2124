package schedule

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
)

// Times are stored as fixed-width UTC text so that MAX() and comparisons order them correctly:
// sqldb.TimeFormat, the one format of every component's tables (schedule's was already it).
const dbTime = sqldb.TimeFormat

// Schema is the schedule schema: goose files under migrations/, after the legacy steps on SQLite.
var Schema = sqldb.Schema{Name: "schedule", FS: migrationFiles, Legacy: legacySteps}

//go:embed migrations
var migrationFiles embed.FS

// legacySteps are the steps of the schema before goose (sqldb.Schema.Legacy): frozen, never edit
// or append; a change is a new goose file in migrations/sqlite and migrations/postgres.
var legacySteps = []string{
	`CREATE TABLE workshops (
		id TEXT PRIMARY KEY,
		uid TEXT NOT NULL UNIQUE,
		title TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '',
		starts_at TEXT NOT NULL,
		timezone TEXT NOT NULL,
		duration TEXT NOT NULL,
		recurrence TEXT NOT NULL DEFAULT '',
		exdates TEXT NOT NULL DEFAULT '[]',
		location TEXT NOT NULL DEFAULT '',
		language TEXT NOT NULL DEFAULT '',
		animator TEXT NOT NULL DEFAULT '',
		capacity INTEGER NOT NULL DEFAULT 0,
		registration_url TEXT NOT NULL DEFAULT '',
		series TEXT NOT NULL DEFAULT '',
		documents TEXT NOT NULL DEFAULT '[]',
		status TEXT NOT NULL,
		sequence INTEGER NOT NULL DEFAULT 0,
		replay_id TEXT NOT NULL DEFAULT '',
		source_uid TEXT NOT NULL DEFAULT '',
		first_start TEXT NOT NULL,
		last_end TEXT,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		cancelled_at TEXT,
		deleted_at TEXT
	)`,
	`CREATE INDEX workshops_first_start ON workshops (first_start)`,
	`CREATE INDEX workshops_series ON workshops (series, updated_at)`,
	`CREATE INDEX workshops_source_uid ON workshops (source_uid)`,
	`CREATE TABLE workshop_software (
		workshop_id TEXT NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
		software TEXT NOT NULL,
		PRIMARY KEY (software, workshop_id)
	)`,
	// Rewriting a workshop's software list, and ON DELETE CASCADE, look rows up by workshop.
	`CREATE INDEX workshop_software_workshop ON workshop_software (workshop_id)`,
	// The feed validator (COUNT, MAX(updated_at), SUM(sequence) of the rows still in the feeds)
	// reads this narrow covering index instead of the wide rows.
	`CREATE INDEX workshops_feed_validator ON workshops (cancelled_at, updated_at, sequence, series, id)`,
	// The list of a feed's versions (FeedEntries: id, sequence, updated_at in feed order) reads
	// this covering index instead of looking each row up in the table.
	`CREATE INDEX workshops_feed_entries ON workshops (first_start, id, cancelled_at, sequence, updated_at)`,
	// The feeds keep a rolling window of past workshops (last_end after a cutoff): both covering
	// indexes carry last_end too.
	`DROP INDEX workshops_feed_validator`,
	`CREATE INDEX workshops_feed_validator ON workshops (cancelled_at, updated_at, sequence, series, id, last_end)`,
	`DROP INDEX workshops_feed_entries`,
	`CREATE INDEX workshops_feed_entries ON workshops (first_start, id, cancelled_at, sequence, updated_at, last_end)`,
	// A season on chosen dates is one series: its extra occurrences (RDATE), local times in JSON
	// like exdates.
	`ALTER TABLE workshops ADD COLUMN rdates TEXT NOT NULL DEFAULT '[]'`,
}

// Store keeps the workshops in the SQL database.
type Store struct {
	db    *sql.DB
	now   func() time.Time
	newID func() string // tests make ids predictable for golden files

	// gen grows after every committed write through this Store: the API keeps feed validators
	// in memory and recomputes them when it moves (see FeedValidation).
	gen     atomic.Uint64
	watch   dataVersionWatch
	dialect sqldb.Dialect
}

// Generation is the count of writes this Store has committed; a validator computed before a
// commit has a lower generation than one computed after it.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// committed marks a write as visible: called after its commit, never before, so that a validator
// read in between is recomputed.
func (s *Store) committed() { s.gen.Add(1) }

// OpenStore migrates the schedule schema and returns a store. now is the clock (time.Now when nil).
func OpenStore(ctx context.Context, db *sql.DB, now func() time.Time) (*Store, error) {
	if err := sqldb.Migrate(ctx, db, Schema); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, newID: newID, dialect: sqldb.DialectOf(db)}, nil
}

func newID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

const cols = `id, uid, title, description, starts_at, timezone, duration, recurrence, exdates, location,
	language, animator, capacity, registration_url, series, documents, status, sequence, replay_id,
	source_uid, created_at, updated_at, cancelled_at, deleted_at, rdates`

type scanner interface{ Scan(...any) error }

func scanWorkshop(s scanner) (*Workshop, error) {
	var w Workshop
	var exdates, rdates, docs, created, updated string
	var cancelled, deleted sql.NullString
	err := s.Scan(&w.ID, &w.UID, &w.Title, &w.Description, &w.StartsAt, &w.Timezone, &w.Duration, &w.Recurrence,
		&exdates, &w.Location, &w.Language, &w.Animator, &w.Capacity, &w.RegistrationURL, &w.Series, &docs,
		&w.Status, &w.Sequence, &w.ReplayID, &w.sourceUID, &created, &updated, &cancelled, &deleted, &rdates)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(exdates), &w.ExDates); err != nil {
		return nil, fmt.Errorf("schedule: workshop %s exdates: %w", w.ID, err)
	}
	if err := json.Unmarshal([]byte(rdates), &w.RDates); err != nil {
		return nil, fmt.Errorf("schedule: workshop %s rdates: %w", w.ID, err)
	}
	if err := json.Unmarshal([]byte(docs), &w.Documents); err != nil {
		return nil, fmt.Errorf("schedule: workshop %s documents: %w", w.ID, err)
	}
	w.CreatedAt, _ = time.Parse(dbTime, created)
	w.UpdatedAt, _ = time.Parse(dbTime, updated)
	if cancelled.Valid {
		t, _ := time.Parse(dbTime, cancelled.String)
		w.CancelledAt = &t
	}
	if deleted.Valid {
		t, _ := time.Parse(dbTime, deleted.String)
		w.deletedAt = &t
	}
	if d, err := ParseDuration(w.Duration); err == nil {
		if s, err := w.start(); err == nil {
			w.EndsAt = s.Add(d).Format(LocalLayout)
		}
	}
	return &w, nil
}

func nullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(dbTime)
}

// Create stores a new, already normalized workshop, giving it an id, a UID and timestamps.
func (s *Store) Create(ctx context.Context, w *Workshop, uidDomain string) error {
	now := s.now().UTC()
	w.ID = s.newID()
	w.UID = w.ID + "@" + uidDomain
	w.CreatedAt, w.UpdatedAt = now, now
	if w.Status == StatusCancelled {
		w.CancelledAt = &now
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schedule: create workshop: %w", err)
	}
	defer tx.Rollback()
	if err := insert(ctx, tx, w); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("schedule: create workshop: %w", err)
	}
	s.committed()
	return nil
}

func insert(ctx context.Context, tx *sql.Tx, w *Workshop) error {
	first, last, err := w.span()
	if err != nil {
		return fmt.Errorf("schedule: workshop span: %w", err)
	}
	ex, _ := json.Marshal(w.ExDates)
	rd := []byte("[]")
	if len(w.RDates) > 0 {
		rd, _ = json.Marshal(w.RDates)
	}
	docs, _ := json.Marshal(w.Documents)
	_, err = tx.ExecContext(ctx, `INSERT INTO workshops (`+cols+`, first_start, last_end)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`,
		w.ID, w.UID, w.Title, w.Description, w.StartsAt, w.Timezone, w.Duration, w.Recurrence, string(ex), w.Location,
		w.Language, w.Animator, w.Capacity, w.RegistrationURL, w.Series, string(docs), string(w.Status), w.Sequence, w.ReplayID,
		w.sourceUID, w.CreatedAt.UTC().Format(dbTime), w.UpdatedAt.UTC().Format(dbTime), nullTime(w.CancelledAt), nullTime(w.deletedAt),
		string(rd), first.Format(dbTime), nullTime(&last))
	if err != nil {
		return fmt.Errorf("schedule: insert workshop: %w", err)
	}
	return setSoftware(ctx, tx, w)
}

func setSoftware(ctx context.Context, tx *sql.Tx, w *Workshop) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM workshop_software WHERE workshop_id = $1`, w.ID); err != nil {
		return fmt.Errorf("schedule: workshop software: %w", err)
	}
	seen := map[string]bool{}
	for _, d := range w.Documents {
		if seen[d.Software] {
			continue
		}
		seen[d.Software] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO workshop_software (workshop_id, software) VALUES ($1, $2)`, w.ID, d.Software); err != nil {
			return fmt.Errorf("schedule: workshop software: %w", err)
		}
	}
	return nil
}

// Get returns the workshop with id; deleted ones are not found.
func (s *Store) Get(ctx context.Context, id string) (*Workshop, error) {
	w, err := scanWorkshop(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM workshops WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("schedule: workshop %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule: get workshop %s: %w", id, err)
	}
	return w, nil
}

// Update runs fn on the stored workshop inside a transaction and saves the result. fn reports
// whether a subscriber-visible change happened; then SEQUENCE grows and updated_at moves.
func (s *Store) Update(ctx context.Context, id string, fn func(w *Workshop) (changed bool, err error)) (*Workshop, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("schedule: update workshop %s: %w", id, err)
	}
	defer tx.Rollback()
	w, err := scanWorkshop(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM workshops WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("schedule: workshop %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule: update workshop %s: %w", id, err)
	}
	wasCancelled := w.Status == StatusCancelled
	changed, err := fn(w)
	if err != nil || !changed {
		return w, err
	}
	now := s.now().UTC()
	w.Sequence++
	w.UpdatedAt = now
	switch {
	case w.Status == StatusCancelled && !wasCancelled:
		w.CancelledAt = &now
	case w.Status != StatusCancelled:
		w.CancelledAt = nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM workshops WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("schedule: update workshop %s: %w", id, err)
	}
	if err := insert(ctx, tx, w); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("schedule: update workshop %s: %w", id, err)
	}
	s.committed()
	return w, nil
}

// Delete removes a workshop from the API. Subscribers must still learn it is gone, so it stays in
// the feeds as cancelled (with a higher SEQUENCE) for the usual 30 days.
func (s *Store) Delete(ctx context.Context, id string) error {
	now := s.now().UTC()
	_, err := s.Update(ctx, id, func(w *Workshop) (bool, error) {
		w.Status = StatusCancelled
		w.deletedAt = &now
		return true, nil
	})
	return err
}

// ListFilter selects workshops for the API list.
type ListFilter struct {
	Software string
	Series   string
	Language string
	// From lists the workshops not over at that time instead of now (zero: now), so that the
	// studio can link a recording to a workshop that just ended.
	From   time.Time
	Limit  int
	Offset int
}

// Upcoming lists the workshops, not cancelled, that have an occurrence ending after now, sorted
// by first start.
func (s *Store) Upcoming(ctx context.Context, f ListFilter) ([]*Workshop, int, error) {
	where := []string{"deleted_at IS NULL", "status <> 'cancelled'", "(last_end IS NULL OR last_end > $1)"}
	from := s.now()
	if !f.From.IsZero() {
		from = f.From
	}
	args := []any{from.UTC().Format(dbTime)}
	if f.Software != "" {
		args = append(args, f.Software)
		where = append(where, fmt.Sprintf("id IN (SELECT workshop_id FROM workshop_software WHERE software = $%d)", len(args)))
	}
	if f.Series != "" {
		args = append(args, f.Series)
		where = append(where, fmt.Sprintf("series = $%d", len(args)))
	}
	if f.Language != "" {
		args = append(args, f.Language)
		where = append(where, fmt.Sprintf("language = $%d", len(args)))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM workshops WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("schedule: list workshops: %w", err)
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols+` FROM workshops WHERE `+cond+
		fmt.Sprintf(` ORDER BY first_start, id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("schedule: list workshops: %w", err)
	}
	defer rows.Close()
	var out []*Workshop
	for rows.Next() {
		w, err := scanWorkshop(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("schedule: list workshops: %w", err)
		}
		w.NextOccurrence = w.nextOccurrence(s.now()) // the pages show it; bounded (see series.each)
		out = append(out, w)
	}
	return out, total, rows.Err()
}

// Feed selects the workshops of one feed.
type Feed struct {
	Kind string // "all", "software", "series" or "workshop"
	Key  string // the slug or workshop id
}

// CancelledRetention is how long a cancelled workshop stays in the feeds, so that every
// subscribed calendar sees STATUS:CANCELLED and removes the event.
const CancelledRetention = 30 * 24 * time.Hour

// feedWhere selects the rows of feed f: cancelled ones for CancelledRetention, and, when since is
// not zero, only workshops whose last occurrence ends after since (endless series always).
func (s *Store) feedWhere(f Feed, since time.Time) (string, []any) {
	cutoff := s.now().UTC().Add(-CancelledRetention).Format(dbTime)
	where := "(cancelled_at IS NULL OR cancelled_at > $1)"
	args := []any{cutoff}
	if !since.IsZero() {
		args = append(args, since.UTC().Format(dbTime))
		where += fmt.Sprintf(" AND (last_end IS NULL OR last_end > $%d)", len(args))
	}
	switch f.Kind {
	case "software":
		args = append(args, f.Key)
		where += fmt.Sprintf(" AND id IN (SELECT workshop_id FROM workshop_software WHERE software = $%d)", len(args))
	case "series":
		args = append(args, f.Key)
		where += fmt.Sprintf(" AND series = $%d", len(args))
	case "workshop":
		args = append(args, f.Key)
		where += fmt.Sprintf(" AND id = $%d", len(args))
	}
	return where, args
}

// Validator is what a feed's ETag and Last-Modified derive from, read with one small aggregate
// query instead of rendering the feed. The replay links are part of each row's updated_at (see
// SyncReplays), so they are covered too.
type Validator struct {
	Count        int
	LastModified time.Time
	ETag         string
	// Expires is when the oldest cancellation in the feed passes CancelledRetention and leaves
	// it, changing the feed without any write; zero if none.
	Expires time.Time
}

// FeedValidator computes the validator of feed f (past workshops ended before since left out).
func (s *Store) FeedValidator(ctx context.Context, f Feed, since time.Time, salt string) (Validator, error) {
	where, args := s.feedWhere(f, since)
	var n int
	var maxUpdated sql.NullString
	var seqSum sql.NullInt64
	var minCancelled sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(updated_at), SUM(sequence), MIN(cancelled_at) FROM workshops WHERE `+where, args...).
		Scan(&n, &maxUpdated, &seqSum, &minCancelled)
	if err != nil {
		return Validator{}, fmt.Errorf("schedule: feed validator: %w", err)
	}
	v := Validator{Count: n}
	if maxUpdated.Valid {
		v.LastModified, _ = time.Parse(dbTime, maxUpdated.String)
	}
	if minCancelled.Valid {
		if t, err := time.Parse(dbTime, minCancelled.String); err == nil {
			v.Expires = t.Add(CancelledRetention)
		}
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%d|%s|%d", salt, f.Kind, f.Key, n, maxUpdated.String, seqSum.Int64))
	v.ETag = `"` + hex.EncodeToString(h[:12]) + `"`
	return v, nil
}

// feedCols are the columns a feed renders, with the span stored at write time.
const feedCols = `id, uid, title, description, starts_at, timezone, duration, recurrence, exdates, location,
	language, animator, registration_url, documents, status, sequence, replay_id, created_at, updated_at,
	first_start, last_end, rdates`

// feedScan reads rows of feedCols. The JSON lists repeat from row to row (the same software,
// no EXDATE), so each distinct text is decoded once per feed; the decoded slices are shared
// between workshops, which a feed only reads.
type feedScan struct {
	docs    map[string][]Document
	exdates map[string][]string
}

func (fs *feedScan) scan(s scanner) (*Workshop, error) {
	w := &Workshop{}
	var first string
	var exdates, rdates, docs, created, updated string
	var last sql.NullString
	err := s.Scan(&w.ID, &w.UID, &w.Title, &w.Description, &w.StartsAt, &w.Timezone, &w.Duration, &w.Recurrence,
		&exdates, &w.Location, &w.Language, &w.Animator, &w.RegistrationURL, &docs,
		&w.Status, &w.Sequence, &w.ReplayID, &created, &updated, &first, &last, &rdates)
	if err != nil {
		return nil, err
	}
	if rdates != "[]" {
		if err := json.Unmarshal([]byte(rdates), &w.RDates); err != nil {
			return nil, fmt.Errorf("schedule: workshop %s rdates: %w", w.ID, err)
		}
	}
	if exdates != "[]" {
		ex, ok := fs.exdates[exdates]
		if !ok {
			if err := json.Unmarshal([]byte(exdates), &ex); err != nil {
				return nil, fmt.Errorf("schedule: workshop %s exdates: %w", w.ID, err)
			}
			fs.exdates[exdates] = ex
		}
		w.ExDates = ex
	}
	if docs != "[]" {
		d, ok := fs.docs[docs]
		if !ok {
			if err := json.Unmarshal([]byte(docs), &d); err != nil {
				return nil, fmt.Errorf("schedule: workshop %s documents: %w", w.ID, err)
			}
			fs.docs[docs] = d
		}
		w.Documents = d
	}
	w.CreatedAt = parseDBTime(created)
	w.UpdatedAt = parseDBTime(updated)
	w.spanFirst = parseDBTime(first)
	w.spanKnown = !w.spanFirst.IsZero()
	if last.Valid {
		w.spanLast = parseDBTime(last.String)
		w.spanKnown = w.spanKnown && !w.spanLast.IsZero()
	}
	return w, nil
}

// parseDBTime reads a time stored as dbTime ("2006-01-02T15:04:05.000000Z") without
// time.Parse's generic layout walk; anything else goes through time.Parse. Zero if invalid.
func parseDBTime(s string) time.Time {
	if len(s) == len(dbTime) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[26] == 'Z' {
		n := func(from, to int) int {
			v := 0
			for i := from; i < to; i++ {
				c := s[i]
				if c < '0' || c > '9' {
					return -1
				}
				v = v*10 + int(c-'0')
			}
			return v
		}
		y, mo, d, h, mi, sec, us := n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19), n(20, 26)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60 && us >= 0 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, us*1000, time.UTC)
			if t.Day() == d { // not 31 April
				return t
			}
		}
	}
	t, _ := time.Parse(dbTime, s)
	return t
}

// FeedWorkshops returns the workshops of feed f, oldest first, with the fields a feed shows
// (past workshops ended before since left out; zero keeps them all).
func (s *Store) FeedWorkshops(ctx context.Context, f Feed, since time.Time) ([]*Workshop, error) {
	var out []*Workshop
	err := s.feedWorkshopsEach(ctx, f, since, 1024, func(batch []*Workshop) error {
		out = append(out, batch...)
		return nil
	})
	return out, err
}

// feedWorkshopsEach passes the workshops of feed f to fn in order, in batches of up to n, so
// that a render can encode a batch while the next is read.
func (s *Store) feedWorkshopsEach(ctx context.Context, f Feed, since time.Time, n int, fn func([]*Workshop) error) error {
	fs := feedScan{docs: map[string][]Document{}, exdates: map[string][]string{}}
	where, args := s.feedWhere(f, since)
	rows, err := s.db.QueryContext(ctx, `SELECT `+feedCols+` FROM workshops WHERE `+where+` ORDER BY first_start, id`, args...)
	if err != nil {
		return fmt.Errorf("schedule: feed: %w", err)
	}
	defer rows.Close()
	batch := make([]*Workshop, 0, n)
	for rows.Next() {
		w, err := fs.scan(rows)
		if err != nil {
			return fmt.Errorf("schedule: feed: %w", err)
		}
		if batch = append(batch, w); len(batch) == n {
			if err := fn(batch); err != nil {
				return err
			}
			batch = make([]*Workshop, 0, n)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("schedule: feed: %w", err)
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// FeedEntry identifies the version of one workshop of a feed: any write that changes a row a
// feed shows raises its sequence and moves its updated_at (Store.Update, SyncReplays), which the
// feed validator already relies on.
type FeedEntry struct {
	ID        string
	Sequence  int
	UpdatedAt time.Time
}

// FeedEntries lists the versions of the workshops of feed f, in feed order, without reading the
// rows themselves.
func (s *Store) FeedEntries(ctx context.Context, f Feed, since time.Time) ([]FeedEntry, error) {
	where, args := s.feedWhere(f, since)
	rows, err := s.db.QueryContext(ctx, `SELECT id, sequence, updated_at FROM workshops WHERE `+where+` ORDER BY first_start, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("schedule: feed entries: %w", err)
	}
	defer rows.Close()
	var out []FeedEntry
	for rows.Next() {
		var e FeedEntry
		var updated string
		if err := rows.Scan(&e.ID, &e.Sequence, &updated); err != nil {
			return nil, fmt.Errorf("schedule: feed entries: %w", err)
		}
		e.UpdatedAt = parseDBTime(updated)
		out = append(out, e)
	}
	return out, rows.Err()
}

// FeedWorkshop returns workshop id with the fields a feed shows, deleted or not; ok is false if
// there is no such row.
func (s *Store) FeedWorkshop(ctx context.Context, id string) (w *Workshop, ok bool, err error) {
	fs := feedScan{docs: map[string][]Document{}, exdates: map[string][]string{}}
	w, err = fs.scan(s.db.QueryRowContext(ctx, `SELECT `+feedCols+` FROM workshops WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("schedule: feed workshop %s: %w", id, err)
	}
	return w, true, nil
}

// BySourceUID returns the id of the live workshop imported from the event with uid, if any.
func (s *Store) BySourceUID(ctx context.Context, uid string) (string, bool, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM workshops WHERE source_uid = $1 AND deleted_at IS NULL`, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("schedule: find imported %s: %w", uid, err)
	}
	return id, true, nil
}

// SyncReplays asks the catalog for the published replay of every workshop that has started and
// records changes (replay_id, a higher SEQUENCE and updated_at), so that feeds carry the replay
// link and their cheap validator still changes. serve runs it every minute.
func (s *Store) SyncReplays(ctx context.Context, cat Catalog) (changed int, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, replay_id FROM workshops WHERE first_start <= $1 AND status <> 'cancelled'`,
		s.now().UTC().Format(dbTime))
	if err != nil {
		return 0, fmt.Errorf("schedule: sync replays: %w", err)
	}
	type row struct{ id, replay string }
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.replay); err != nil {
			rows.Close()
			return 0, fmt.Errorf("schedule: sync replays: %w", err)
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("schedule: sync replays: %w", err)
	}
	for _, r := range todo {
		id, ok, err := cat.PublishedReplayForWorkshop(ctx, r.id)
		if err != nil {
			return changed, fmt.Errorf("schedule: sync replay of %s: %w", r.id, err)
		}
		if !ok {
			id = ""
		}
		if id == r.replay {
			continue
		}
		_, err = s.db.ExecContext(ctx, `UPDATE workshops SET replay_id = $1, sequence = sequence + 1, updated_at = $2 WHERE id = $3`,
			id, s.now().UTC().Format(dbTime), r.id)
		s.committed() // even on error: the statement may have committed before failing
		if err != nil {
			return changed, fmt.Errorf("schedule: sync replay of %s: %w", r.id, err)
		}
		changed++
	}
	return changed, nil
}

// dataVersionWatch reads SQLite's PRAGMA data_version on one connection kept for it: the value
// changes whenever another connection, of this process or another, commits to the database file,
// which is how a write that did not go through this Store (another process, a bench or an
// operator's sqlite3 session) reaches the feed validators. It costs a few microseconds.
type dataVersionWatch struct {
	mu   sync.Mutex
	conn *sql.Conn
	stmt *sql.Stmt
}

// DataVersion returns SQLite's data_version as seen by the store's watch connection; on
// PostgreSQL, the count of writes to the workshops that a trigger keeps (schedule_changes), seen
// by every process sharing the database.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	if s.dialect == sqldb.Postgres {
		var v int64
		if err := s.db.QueryRowContext(ctx, `SELECT n FROM schedule_changes`).Scan(&v); err != nil {
			return 0, fmt.Errorf("schedule: data version: %w", err)
		}
		return v, nil
	}
	w := &s.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stmt == nil {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return 0, fmt.Errorf("schedule: data_version: %w", err)
		}
		stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
		if err != nil {
			conn.Close()
			return 0, fmt.Errorf("schedule: data_version: %w", err)
		}
		w.conn, w.stmt = conn, stmt
	}
	var v int64
	if err := w.stmt.QueryRowContext(ctx).Scan(&v); err != nil {
		// The connection may be gone (database closed): start afresh next time.
		w.stmt.Close()
		w.conn.Close()
		w.conn, w.stmt = nil, nil
		return 0, fmt.Errorf("schedule: data_version: %w", err)
	}
	return v, nil
}
