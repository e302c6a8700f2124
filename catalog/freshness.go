package catalog

import (
	"context"
	"database/sql"
	"fmt"

	"codeberg.org/atelier/atelier/internal/sqldb"
)

// Status says whether what a tag documents still matches the software learners get. It is
// computed from the releases at query time: adding a release changes every answer at once.
type Status string

const (
	// Current: no interface-changing release after the documented version.
	Current Status = "current"
	// Unknown: the documented version is newer than any known release (or none is known).
	Unknown Status = "unknown"
	// Outdated: an interface-changing release came after the documented version.
	Outdated Status = "outdated"
)

func (s Status) rank() int {
	switch s {
	case Outdated:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

func worst(a, b Status) Status {
	if b.rank() > a.rank() {
		return b
	}
	if a == "" {
		return Current
	}
	return a
}

// freshnessExpr computes a replay's overall status rank (2 outdated, 1 unknown, 0 current) from
// its tags and the releases, by primary-key and index seeks. It is the same rule as tagStatuses.
const freshnessExpr = `CASE
	WHEN EXISTS (SELECT 1 FROM replay_tags t WHERE t.replay_id = replays.id
		AND t.version_key < (SELECT MAX(r.version_key) FROM releases r WHERE r.software_id = t.software_id AND r.interface_change = 1)) THEN 2
	WHEN EXISTS (SELECT 1 FROM replay_tags t WHERE t.replay_id = replays.id
		AND t.version_key > COALESCE((SELECT MAX(r.version_key) FROM releases r WHERE r.software_id = t.software_id), '')) THEN 1
	ELSE 0 END`

var statusRank = map[Status]int{Current: 0, Unknown: 1, Outdated: 2}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// refreshReplayFreshness rewrites the stored status of one replay, after its tags changed.
func refreshReplayFreshness(ctx context.Context, tx execer, replayID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE replays SET freshness = `+freshnessExpr+` WHERE id = $1`, replayID)
	return err
}

// refreshSoftwareFreshness rewrites the stored status of every replay tagged with a software,
// after its releases changed.
func refreshSoftwareFreshness(ctx context.Context, tx execer, softwareID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE replays SET freshness = `+freshnessExpr+`
		WHERE seq IN (SELECT replay_seq FROM replay_tags WHERE software_id = $1)`, softwareID)
	return err
}

// Reindex rewrites what the store derives from the rows: the replay seq of tags, every replay's
// stored status, the copies of publication, language, status and publication time its tags
// carry, and the publication its full-text row carries. The store keeps them current by itself;
// this is for data loaded around the store (benchmarks' bulk seeding).
func (s *Store) Reindex(ctx context.Context) error {
	if _, err := s.exec(ctx, `UPDATE replay_tags SET replay_seq = (SELECT seq FROM replays WHERE replays.id = replay_tags.replay_id)
		WHERE replay_seq = 0`); err != nil {
		return fmt.Errorf("catalog: reindex tags: %w", err)
	}
	if _, err := s.exec(ctx, `UPDATE replays SET freshness = `+freshnessExpr); err != nil {
		return fmt.Errorf("catalog: reindex freshness: %w", err)
	}
	if _, err := s.exec(ctx, `UPDATE replay_tags SET (publication, language, freshness, published_at) =
		(SELECT publication, language, freshness, published_at FROM replays WHERE replays.id = replay_tags.replay_id)`); err != nil {
		return fmt.Errorf("catalog: reindex tags: %w", err)
	}
	if _, err := s.exec(ctx, `UPDATE replay_fts SET publication = (SELECT publication FROM replays WHERE seq = replay_fts.rowid)
		WHERE publication IS DISTINCT FROM (SELECT publication FROM replays WHERE seq = replay_fts.rowid)`); err != nil {
		return fmt.Errorf("catalog: reindex full text: %w", err)
	}
	return nil
}

// Freshness is the status of a replay or chapter, with the status of each of its own tags.
type Freshness struct {
	Status Status         `json:"status"`
	Tags   []TagFreshness `json:"tags"`
}

// TagFreshness is one tag's status; OutdatedBy is the first interface-changing release after the
// documented version.
type TagFreshness struct {
	Software   string   `json:"software"`
	Version    string   `json:"version"`
	Status     Status   `json:"status"`
	OutdatedBy *Release `json:"outdated_by,omitempty"`
}

// tagRow is a tag with its computed status.
type tagRow struct {
	replayID string
	chapter  int
	TagFreshness
}

// tagStatusQuery returns the tags of a set of replays with, computed in SQL, the first
// interface-changing release after each tag's version (if any) and whether any release is at or
// after it. Both are index seeks on releases (software_id, interface_change, version_key) and
// (software_id, version_key). %[1]s joins the first release and %[3]s tells whether a release is
// at or after the tag: SQLite seeks both by subqueries; PostgreSQL plans the first as a hash join
// over every release, read whole for each page (1 336 buffers and 14 ms of the 21 ms per page of
// 50 replays, at load 14), and takes a LATERAL join as the seeks it is meant to be (977 buffers,
// no scan). The second is on PostgreSQL the software's newest release, one seek per software of
// the page (its Memoize remembers it) instead of one per tag: 829 -> 645 buffers for a page of 50
// replays with 138 tags of 46 software.
const tagStatusQuery = `SELECT t.replay_id, t.chapter, s.slug, t.version,
	ob.version, ob.released_at, ob.notes, ob.reviewed, ob.source, ob.created_at,
	%[3]s
FROM replay_tags t
JOIN software s ON s.id = t.software_id
%[1]s
WHERE t.replay_id IN (%[2]s)
ORDER BY t.replay_id, t.chapter, s.slug, t.version_key`

const (
	firstChangeSQLite = `LEFT JOIN releases ob ON ob.id = (SELECT r.id FROM releases r
	WHERE r.software_id = t.software_id AND r.interface_change = 1 AND r.version_key > t.version_key
	ORDER BY r.version_key LIMIT 1)`
	knownSQLite         = `EXISTS (SELECT 1 FROM releases k WHERE k.software_id = t.software_id AND k.version_key >= t.version_key)`
	firstChangePostgres = `LEFT JOIN LATERAL (SELECT r.version, r.released_at, r.notes, r.reviewed, r.source, r.created_at
	FROM releases r WHERE r.software_id = t.software_id AND r.interface_change = 1 AND r.version_key > t.version_key
	ORDER BY r.version_key LIMIT 1) ob ON TRUE
LEFT JOIN LATERAL (SELECT MAX(k.version_key) AS newest FROM releases k WHERE k.software_id = t.software_id) k ON TRUE`
	knownPostgres = `COALESCE(k.newest >= t.version_key, FALSE)`
)

// tagStatusSQL is tagStatusQuery for n replay ids ($1…$n) in the store's dialect.
func (s *Store) tagStatusSQL(n int) string {
	firstChange, known := firstChangeSQLite, knownSQLite
	if s.dialect == sqldb.Postgres {
		firstChange, known = firstChangePostgres, knownPostgres
	}
	return fmt.Sprintf(tagStatusQuery, firstChange, placeholders(1, n), known)
}

func (s *Store) tagStatuses(ctx context.Context, ids []string) ([]tagRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.query(ctx, s.tagStatusSQL(len(ids)), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: tag freshness: %w", err)
	}
	defer rows.Close()
	var out []tagRow
	for rows.Next() {
		var (
			t                              tagRow
			obVersion, obReleased, obNotes sql.NullString
			obSource, obCreated            sql.NullString
			obReviewed                     sql.NullBool
			known                          bool
		)
		if err := rows.Scan(&t.replayID, &t.chapter, &t.Software, &t.Version,
			&obVersion, &obReleased, &obNotes, &obReviewed, &obSource, &obCreated, &known); err != nil {
			return nil, fmt.Errorf("catalog: tag freshness: %w", err)
		}
		switch {
		case obVersion.Valid:
			t.Status = Outdated
			t.OutdatedBy = &Release{Software: t.Software, Version: obVersion.String, ReleasedAt: parseTime(obReleased.String),
				InterfaceChange: true, Notes: obNotes.String, Reviewed: obReviewed.Bool, Source: obSource.String,
				CreatedAt: parseTime(obCreated.String)}
		case !known:
			t.Status = Unknown
		default:
			t.Status = Current
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// fill loads the documents and freshness of list (and, when detail, the chapters and tracks).
// Chapter freshness always counts towards the replay's status.
func (s *Store) fill(ctx context.Context, list []Replay, detail bool) error {
	ids := make([]string, len(list))
	byID := make(map[string]*Replay, len(list))
	for i := range list {
		ids[i] = list[i].ID
		byID[ids[i]] = &list[i]
		list[i].Documents = []Tag{}
		list[i].Freshness = Freshness{Status: Current, Tags: []TagFreshness{}}
		list[i].Chapters = []ReplayChapter{}
		list[i].Tracks = []Track{}
	}
	if len(list) == 0 {
		return nil
	}
	tags, err := s.tagStatuses(ctx, ids)
	if err != nil {
		return err
	}
	chapterTags := map[string]map[int][]TagFreshness{}
	for _, t := range tags {
		r := byID[t.replayID]
		r.Freshness.Status = worst(r.Freshness.Status, t.Status)
		if t.chapter < 0 {
			r.Documents = append(r.Documents, Tag{Software: t.Software, Version: t.Version})
			r.Freshness.Tags = append(r.Freshness.Tags, t.TagFreshness)
			continue
		}
		if chapterTags[t.replayID] == nil {
			chapterTags[t.replayID] = map[int][]TagFreshness{}
		}
		chapterTags[t.replayID][t.chapter] = append(chapterTags[t.replayID][t.chapter], t.TagFreshness)
	}
	if !detail {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, `SELECT replay_id, idx, start_ms, title FROM replay_chapters
		WHERE replay_id IN (`+placeholders(1, len(ids))+`) ORDER BY replay_id, idx`, args...)
	if err != nil {
		return fmt.Errorf("catalog: load chapters: %w", err)
	}
	for rows.Next() {
		var id string
		var idx int
		var c ReplayChapter
		if err := rows.Scan(&id, &idx, &c.StartMS, &c.Title); err != nil {
			rows.Close()
			return fmt.Errorf("catalog: load chapters: %w", err)
		}
		c.Documents = []Tag{}
		c.Freshness = Freshness{Status: Current, Tags: []TagFreshness{}}
		for _, t := range chapterTags[id][idx] {
			c.Documents = append(c.Documents, Tag{Software: t.Software, Version: t.Version})
			c.Freshness.Tags = append(c.Freshness.Tags, t)
			c.Freshness.Status = worst(c.Freshness.Status, t.Status)
		}
		byID[id].Chapters = append(byID[id].Chapters, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: load chapters: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT replay_id, lang, kind, status, updated_by, cue_count, updated_at,
		visible, reviewed_by, reviewed_at FROM replay_tracks
		WHERE replay_id IN (`+placeholders(1, len(ids))+`) ORDER BY replay_id, lang`, args...)
	if err != nil {
		return fmt.Errorf("catalog: load tracks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, updated string
		var reviewed sql.NullString
		var t Track
		if err := rows.Scan(&id, &t.Lang, &t.Kind, &t.Status, &t.UpdatedBy, &t.CueCount, &updated,
			&t.Visible, &t.ReviewedBy, &reviewed); err != nil {
			return fmt.Errorf("catalog: load tracks: %w", err)
		}
		t.UpdatedAt, t.ReviewedAt = parseTime(updated), parseNullTime(reviewed)
		byID[id].Tracks = append(byID[id].Tracks, t)
	}
	return rows.Err()
}
