package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// Tag says which version of a software a replay (or a chapter) shows.
type Tag struct {
	Software string `json:"software"`
	Version  string `json:"version"`
}

// Chapter is a part of a replay; StartMS is in replay time.
type Chapter struct {
	StartMS   int64  `json:"start_ms"`
	Title     string `json:"title"`
	Documents []Tag  `json:"documents"`
}

// Publication is who may see a replay.
type Publication string

const (
	Draft     Publication = "draft"     // animators only
	Published Publication = "published" // listed and reachable
	Unlisted  Publication = "unlisted"  // reachable by its link, never listed
)

// ParsePublication validates a publication state.
func ParsePublication(s string) (Publication, error) {
	switch p := Publication(s); p {
	case Draft, Published, Unlisted:
		return p, nil
	}
	return "", httpapi.Invalid("publication", "unknown publication %q: use draft, published or unlisted", s)
}

// Processing states, set by the pipeline.
const (
	Processing = "processing"
	Ready      = "ready"
	Failed     = "failed"
	Cancelled  = "cancelled"
)

// NewReplay is what the pipeline creates when a recording arrives.
type NewReplay struct {
	ID, Title, Description, Language, WorkshopID string
	Documents                                    []Tag
	Chapters                                     []Chapter
	// Pending is the publication the replay takes as soon as its processing succeeds: Published
	// or Unlisted; "" (or Draft) leaves it a draft. An explicit publication change before then
	// (UpdateReplay) replaces it.
	Pending Publication
	// PublishWhenReady is short for Pending: Published.
	PublishWhenReady bool
}

// Track is a subtitle track of a replay.
type Track struct {
	Lang      string    `json:"lang"`
	Kind      string    `json:"kind"`   // manual | auto
	Status    string    `json:"status"` // draft | reviewed
	UpdatedBy string    `json:"updated_by"`
	CueCount  int       `json:"cue_count"`
	Text      string    `json:"-"` // plain text of all cues, for full-text search
	UpdatedAt time.Time `json:"updated_at"`
	// Visible offers a draft to learners anyway: an animator publishes it on purpose.
	Visible bool `json:"visible"`
	// ReviewedBy and ReviewedAt say who marked the track reviewed and when (empty, nil while a
	// draft). A reviewed automatic track keeps Kind "auto": the review is recorded, not hidden.
	ReviewedBy string     `json:"reviewed_by"`
	ReviewedAt *time.Time `json:"reviewed_at"`
}

// Offered tells whether learners are offered the track (replay page, HLS master, its WebVTT):
// once reviewed, or a draft the animator made visible on purpose. A draft, automatic or not,
// stays with the animators until then.
func (t Track) Offered() bool { return t.Status == "reviewed" || t.Visible }

// Replay is a published (or to-be-published) recording with what it documents and how fresh it is.
type Replay struct {
	ID               string      `json:"id"`
	Title            string      `json:"title"`
	Description      string      `json:"description"`
	Language         string      `json:"language"`
	WorkshopID       string      `json:"workshop_id"`
	Publication      Publication `json:"publication"`
	Processing       string      `json:"processing"`
	PublishWhenReady bool        `json:"publish_when_ready"`
	// PendingPublication is what the replay becomes once ready ("published", "unlisted"), as
	// asked at upload and until an explicit publication change replaces it; "" for nothing.
	PendingPublication Publication `json:"pending_publication"`
	DurationMS         int64       `json:"duration_ms"`
	// Render is the render generation its files are served from (assets/layout.Replay.Render);
	// "" for the flat layout of replays rendered before generations. Storage detail: not in JSON.
	Render      string     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	PublishedAt *time.Time `json:"published_at"`
	// Documents are the versions the whole replay shows.
	Documents []Tag `json:"documents"`
	// Freshness is the worst of its own documents' and every chapter's; Freshness.Tags details
	// the replay's own documents.
	Freshness Freshness       `json:"freshness"`
	Chapters  []ReplayChapter `json:"chapters"`
	Tracks    []Track         `json:"tracks"`
}

// ReplayChapter is a chapter with its own freshness.
type ReplayChapter struct {
	Chapter
	Freshness Freshness `json:"freshness"`
}

// CheckTags validates tags: every software must be known (422 naming the closest known slug) and
// every version parseable (422). field is the JSON path prefix, e.g. "documents" or
// "chapters[2].documents".
func (s *Store) CheckTags(ctx context.Context, field string, tags []Tag) error {
	_, err := s.resolveTags(ctx, field, tags)
	return err
}

type resolvedTag struct {
	softwareID int64
	version    string
	key        string
}

func (s *Store) resolveTags(ctx context.Context, field string, tags []Tag) ([]resolvedTag, error) {
	out := make([]resolvedTag, 0, len(tags))
	seen := map[resolvedTag]bool{}
	for i, t := range tags {
		if t.Software == "" {
			return nil, httpapi.Invalid(fmt.Sprintf("%s[%d].software", field, i), "software is required (a slug such as nextcloud)")
		}
		id, err := s.softwareID(ctx, fmt.Sprintf("%s[%d].software", field, i), t.Software)
		if err != nil {
			return nil, err
		}
		v, err := ParseVersion(t.Version)
		if err != nil {
			return nil, httpapi.Invalid(fmt.Sprintf("%s[%d].version", field, i), "%v", err)
		}
		rt := resolvedTag{softwareID: id, version: strings.TrimSpace(t.Version), key: v.Key()}
		if seen[rt] {
			continue
		}
		seen[rt] = true
		out = append(out, rt)
	}
	return out, nil
}

func (s *Store) resolveChapters(ctx context.Context, chapters []Chapter) ([][]resolvedTag, error) {
	out := make([][]resolvedTag, len(chapters))
	var last int64
	for i, c := range chapters {
		if c.StartMS < 0 || c.StartMS < last {
			return nil, httpapi.Invalid(fmt.Sprintf("chapters[%d].start_ms", i), "chapters must start at or after 0 and in order (%d after %d)", c.StartMS, last)
		}
		last = c.StartMS
		var err error
		if out[i], err = s.resolveTags(ctx, fmt.Sprintf("chapters[%d].documents", i), c.Documents); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func insertTags(ctx context.Context, tx *sql.Tx, replayID string, chapter int, tags []resolvedTag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO replay_tags (replay_id, replay_seq, chapter, software_id, version, version_key)
			VALUES ($1, (SELECT seq FROM replays WHERE id = $1), $2, $3, $4, $5)`, replayID, chapter, t.softwareID, t.version, t.key); err != nil {
			return err
		}
	}
	return nil
}

func insertChapters(ctx context.Context, tx *sql.Tx, replayID string, chapters []Chapter, tags [][]resolvedTag) error {
	for i, c := range chapters {
		if _, err := tx.ExecContext(ctx, `INSERT INTO replay_chapters (replay_id, idx, start_ms, title) VALUES ($1, $2, $3, $4)`,
			replayID, i, c.StartMS, c.Title); err != nil {
			return err
		}
		if err := insertTags(ctx, tx, replayID, i, tags[i]); err != nil {
			return err
		}
	}
	return nil
}

// refreshFTS rewrites the replay's full-text row from its title, description, chapter titles and
// subtitle text.
func refreshFTS(ctx context.Context, tx *sql.Tx, dialect sqldb.Dialect, replayID string) error {
	var seq int64
	var title, desc, lang, pub string
	if err := tx.QueryRowContext(ctx, `SELECT seq, title, description, language, publication FROM replays WHERE id = $1`, replayID).
		Scan(&seq, &title, &desc, &lang, &pub); err != nil {
		return err
	}
	var chapters []string
	rows, err := tx.QueryContext(ctx, `SELECT title FROM replay_chapters WHERE replay_id = $1 ORDER BY idx`, replayID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		chapters = append(chapters, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Only the tracks learners are offered (Track.Offered): a hidden draft's words must not make
	// a replay findable by what nobody may read.
	rows, err = tx.QueryContext(ctx, `SELECT lang, text FROM replay_tracks WHERE replay_id = $1 AND (status = 'reviewed' OR visible = 1) ORDER BY lang`, replayID)
	if err != nil {
		return err
	}
	var tracks []offeredTrack
	for rows.Next() {
		var t offeredTrack
		if err := rows.Scan(&t.lang, &t.text); err != nil {
			rows.Close()
			return err
		}
		tracks = append(tracks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return writeFTS(ctx, tx, dialect, seq, title, desc, strings.Join(chapters, "\n"), lang, pub, tracks)
}

// CreateReplay records a new replay: processing state "processing", publication "draft".
func (s *Store) CreateReplay(ctx context.Context, r NewReplay) error {
	if r.ID == "" {
		return httpapi.Invalid("id", "a replay needs an id")
	}
	docs, err := s.resolveTags(ctx, "documents", r.Documents)
	if err != nil {
		return err
	}
	chTags, err := s.resolveChapters(ctx, r.Chapters)
	if err != nil {
		return err
	}
	pending := r.Pending
	if pending == "" && r.PublishWhenReady {
		pending = Published
	}
	switch pending {
	case "", Draft:
		pending = ""
	case Published, Unlisted:
	default:
		return fmt.Errorf("catalog: replay %s: pending publication %q: want published or unlisted", r.ID, pending)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO replays (id, title, description, language, workshop_id, publication,
			processing, pending_publication, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, r.Title, r.Description, r.Language, r.WorkshopID, Draft, Processing, pending, fmtTime(s.now())); err != nil {
			return err
		}
		if err := insertTags(ctx, tx, r.ID, -1, docs); err != nil {
			return err
		}
		if err := insertChapters(ctx, tx, r.ID, r.Chapters, chTags); err != nil {
			return err
		}
		if err := refreshReplayFreshness(ctx, tx, r.ID); err != nil {
			return err
		}
		return refreshFTS(ctx, tx, s.dialect, r.ID)
	})
	if isUnique(err) {
		return fmt.Errorf("replay %s: %w", r.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("catalog: create replay %s: %w", r.ID, err)
	}
	return nil
}

func replayExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM replays WHERE id = $1`, id).Scan(&one)
	if err != nil {
		return notFound(err, "replay %s", id)
	}
	return nil
}

// SetChapters replaces the replay's chapters and their tags.
func (s *Store) SetChapters(ctx context.Context, replayID string, chapters []Chapter) error {
	chTags, err := s.resolveChapters(ctx, chapters)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := replayExists(ctx, tx, replayID); err != nil {
			return err
		}
		if err := setChapters(ctx, tx, replayID, chapters, chTags); err != nil {
			return err
		}
		if err := refreshReplayFreshness(ctx, tx, replayID); err != nil {
			return err
		}
		return refreshFTS(ctx, tx, s.dialect, replayID)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("catalog: set chapters of %s: %w", replayID, err)
	}
	return err
}

func setChapters(ctx context.Context, tx *sql.Tx, replayID string, chapters []Chapter, chTags [][]resolvedTag) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM replay_tags WHERE replay_id = $1 AND chapter >= 0`, replayID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM replay_chapters WHERE replay_id = $1`, replayID); err != nil {
		return err
	}
	return insertChapters(ctx, tx, replayID, chapters, chTags)
}

// SetDocuments replaces the versions the whole replay documents.
func (s *Store) SetDocuments(ctx context.Context, replayID string, docs []Tag) error {
	tags, err := s.resolveTags(ctx, "documents", docs)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := replayExists(ctx, tx, replayID); err != nil {
			return err
		}
		if err := setDocuments(ctx, tx, replayID, tags); err != nil {
			return err
		}
		return refreshReplayFreshness(ctx, tx, replayID)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("catalog: set documents of %s: %w", replayID, err)
	}
	return err
}

func setDocuments(ctx context.Context, tx *sql.Tx, replayID string, tags []resolvedTag) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM replay_tags WHERE replay_id = $1 AND chapter = -1`, replayID); err != nil {
		return err
	}
	return insertTags(ctx, tx, replayID, -1, tags)
}

// SetRender makes render the replay's current render generation (assets/layout): from this
// write on, its files are served from replays/{id}/r/{render}/. It is the atomic switch of a
// re-render: the previous generation stays complete until this write and is removed after it.
func (s *Store) SetRender(ctx context.Context, replayID, render string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE replays SET render = $1 WHERE id = $2`, render, replayID)
	if err != nil {
		return fmt.Errorf("catalog: set render of %s: %w", replayID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("catalog: replay %s: %w", replayID, ErrNotFound)
	}
	return nil
}

// SetProcessing records the pipeline outcome: state "processing" | "ready" | "failed" |
// "cancelled". On "ready" a draft takes its pending publication (NewReplay.Pending), once.
// durationMS, when positive, is the replay's length.
func (s *Store) SetProcessing(ctx context.Context, replayID, state string, durationMS int64) error {
	switch state {
	case Processing, Ready, Failed, Cancelled:
	default:
		return fmt.Errorf("catalog: processing state %q: want processing, ready, failed or cancelled", state)
	}
	now := fmtTime(s.now())
	var res sql.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, `UPDATE replays SET processing = $1,
		duration_ms = CASE WHEN $2 > 0 THEN $2 ELSE duration_ms END,
		publication = CASE WHEN $1 = 'ready' AND pending_publication <> '' AND publication = 'draft' THEN pending_publication ELSE publication END,
		published_at = CASE WHEN $1 = 'ready' AND pending_publication = 'published' AND publication = 'draft' THEN COALESCE(published_at, $3) ELSE published_at END,
		pending_publication = CASE WHEN $1 = 'ready' THEN '' ELSE pending_publication END
		WHERE id = $4`, state, durationMS, now, replayID)
		if err != nil {
			return err
		}
		// Publishing when ready changes what a public search finds.
		_, err = tx.ExecContext(ctx, `UPDATE replay_fts SET publication = (SELECT publication FROM replays WHERE id = $1)
			WHERE rowid = (SELECT seq FROM replays WHERE id = $1)
			AND publication IS DISTINCT FROM (SELECT publication FROM replays WHERE id = $1)`, replayID)
		return err
	})
	if err != nil {
		return fmt.Errorf("catalog: set processing of %s: %w", replayID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("catalog: replay %s: %w", replayID, ErrNotFound)
	}
	return nil
}

// ReplayUpdate is what PATCH /api/replays/{id} takes; nil fields stay as they are.
type ReplayUpdate struct {
	Publication *string    `json:"publication"`
	Title       *string    `json:"title"`
	Description *string    `json:"description"`
	Language    *string    `json:"language"`
	Documents   *[]Tag     `json:"documents"`
	Chapters    *[]Chapter `json:"chapters"`
}

// UpdateReplay applies an animator's changes, all or nothing, in one transaction: concurrent
// updates apply one after the other, never interleaved. Publishing (published or unlisted)
// needs the replay to be ready: 409 while it is still processing or when it failed.
func (s *Store) UpdateReplay(ctx context.Context, id string, u ReplayUpdate) error {
	var pub Publication
	if u.Publication != nil {
		var err error
		if pub, err = ParsePublication(*u.Publication); err != nil {
			return err
		}
	}
	if u.Title != nil && strings.TrimSpace(*u.Title) == "" {
		return httpapi.Invalid("title", "title must not be empty")
	}
	// Validate everything before changing anything (software slugs only ever get added, so
	// resolving them outside the transaction is safe).
	var docs []resolvedTag
	if u.Documents != nil {
		var err error
		if docs, err = s.resolveTags(ctx, "documents", *u.Documents); err != nil {
			return err
		}
	}
	var chTags [][]resolvedTag
	if u.Chapters != nil {
		var err error
		if chTags, err = s.resolveChapters(ctx, *u.Chapters); err != nil {
			return err
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var processing string
		if err := tx.QueryRowContext(ctx, `SELECT processing FROM replays WHERE id = $1`, id).Scan(&processing); err != nil {
			return notFound(err, "replay %s", id)
		}
		if pub != "" && pub != Draft && processing != Ready {
			return httpapi.Errorf(409, "replay %s cannot be %s while its processing is %q; it can be once it is ready", id, pub, processing)
		}
		if u.Documents != nil {
			if err := setDocuments(ctx, tx, id, docs); err != nil {
				return err
			}
		}
		if u.Chapters != nil {
			if err := setChapters(ctx, tx, id, *u.Chapters, chTags); err != nil {
				return err
			}
		}
		if u.Documents != nil || u.Chapters != nil {
			if err := refreshReplayFreshness(ctx, tx, id); err != nil {
				return err
			}
		}
		if pub != "" {
			// An explicit choice replaces the publication asked for at upload (pending).
			if _, err := tx.ExecContext(ctx, `UPDATE replays SET publication = $1, pending_publication = '',
				published_at = CASE WHEN $1 = 'published' THEN COALESCE(published_at, $2) ELSE published_at END
				WHERE id = $3`, pub, fmtTime(s.now()), id); err != nil {
				return err
			}
		}
		set := func(col string, v *string) error {
			if v == nil {
				return nil
			}
			_, err := tx.ExecContext(ctx, `UPDATE replays SET `+col+` = $1 WHERE id = $2`, *v, id)
			return err
		}
		if err := set("title", u.Title); err != nil {
			return err
		}
		if err := set("description", u.Description); err != nil {
			return err
		}
		if err := set("language", u.Language); err != nil {
			return err
		}
		return refreshFTS(ctx, tx, s.dialect, id)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("catalog: update replay %s: %w", id, err)
	}
	return err
}

// PutTrack records (or replaces) the replay's subtitle track in t.Lang.
func (s *Store) PutTrack(ctx context.Context, replayID string, t Track) error {
	if t.Lang == "" {
		return httpapi.Invalid("lang", "a track needs a language")
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = s.now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := replayExists(ctx, tx, replayID); err != nil {
			return err
		}
		var reviewedAt sql.NullString
		if t.ReviewedAt != nil {
			reviewedAt = sql.NullString{String: fmtTime(*t.ReviewedAt), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO replay_tracks (replay_id, lang, kind, status, updated_by, cue_count, text, updated_at,
			visible, reviewed_by, reviewed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (replay_id, lang) DO UPDATE SET kind = excluded.kind, status = excluded.status,
			updated_by = excluded.updated_by, cue_count = excluded.cue_count, text = excluded.text, updated_at = excluded.updated_at,
			visible = excluded.visible, reviewed_by = excluded.reviewed_by, reviewed_at = excluded.reviewed_at`,
			replayID, t.Lang, t.Kind, t.Status, t.UpdatedBy, t.CueCount, t.Text, fmtTime(t.UpdatedAt),
			t.Visible, t.ReviewedBy, reviewedAt); err != nil {
			return err
		}
		return refreshFTS(ctx, tx, s.dialect, replayID)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("catalog: put track %s of %s: %w", t.Lang, replayID, err)
	}
	return err
}

// PublishedReplayForWorkshop returns the newest published replay recorded at workshopID.
func (s *Store) PublishedReplayForWorkshop(ctx context.Context, workshopID string) (string, bool, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM replays WHERE workshop_id = $1 AND publication = 'published'
		ORDER BY published_at DESC, seq DESC LIMIT 1`, workshopID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("catalog: replay of workshop %s: %w", workshopID, err)
	}
	return id, true, nil
}

const replayCols = `rp.id, rp.title, rp.description, rp.language, rp.workshop_id, rp.publication, rp.processing,
	rp.pending_publication, rp.duration_ms, rp.created_at, rp.published_at, rp.render`

func scanReplay(sc interface{ Scan(...any) error }) (Replay, error) {
	var r Replay
	var created string
	var published sql.NullString
	err := sc.Scan(&r.ID, &r.Title, &r.Description, &r.Language, &r.WorkshopID, &r.Publication, &r.Processing,
		&r.PendingPublication, &r.DurationMS, &created, &published, &r.Render)
	r.PublishWhenReady = r.PendingPublication == Published
	r.CreatedAt = parseTime(created)
	r.PublishedAt = parseNullTime(published)
	return r, err
}

// Replay returns one replay, whatever its publication (callers decide who may see it), with its
// documents, chapters, tracks and freshness.
func (s *Store) Replay(ctx context.Context, id string) (Replay, error) {
	r, err := scanReplay(s.db.QueryRowContext(ctx, `SELECT `+replayCols+` FROM replays rp WHERE rp.id = $1`, id))
	if err != nil {
		return Replay{}, notFound(err, "replay %s", id)
	}
	list := []Replay{r}
	if err := s.fill(ctx, list, true); err != nil {
		return Replay{}, err
	}
	return list[0], nil
}

// Serving is what a request for one of a replay's files needs of it: who may see it and which
// render generation its files are in.
type Serving struct {
	Publication Publication
	Render      string
}

// ReplayServing returns the publication state and render generation of replay id: one row by
// its key, through a prepared statement. The web stream handler asks on every request a player
// makes (each HLS segment), where Replay's documents, chapters, tracks and freshness would be
// read for nothing.
func (s *Store) ReplayServing(ctx context.Context, id string) (Serving, error) {
	var sv Serving
	err := s.queryRow(ctx, `SELECT publication, render FROM replays WHERE id = $1`, id).Scan(&sv.Publication, &sv.Render)
	if err != nil {
		return Serving{}, notFound(err, "replay %s", id)
	}
	return sv, nil
}

// TrackOffered tells whether replay id has a subtitle track in lang that learners are offered
// (Track.Offered), with one indexed read: the stream handler asks it for every file of a track.
func (s *Store) TrackOffered(ctx context.Context, id, lang string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM replay_tracks WHERE replay_id = $1 AND lang = $2
		AND (status = 'reviewed' OR visible = 1)`, id, lang).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("catalog: track %s of %s: %w", lang, id, err)
	}
	return n > 0, nil
}
