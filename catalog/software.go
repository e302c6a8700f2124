package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Software is a program the replays teach.
type Software struct {
	Slug        string     `json:"slug"`
	Name        string     `json:"name"`
	Homepage    string     `json:"homepage"`
	ReleaseFeed string     `json:"release_feed"`
	CreatedAt   time.Time  `json:"created_at"`
	SyncedAt    *time.Time `json:"synced_at"`
	// Latest is the newest release that is not a pre-release (the newest pre-release when there
	// is nothing else), nil when none is known.
	Latest *Release `json:"latest_release"`
	// Releases, newest first, only in GET /api/software/{slug}.
	Releases []Release `json:"releases,omitempty"`
}

// Release sources.
const (
	SourceAPI  = "api"  // added by an animator: reviewed
	SourceFeed = "feed" // added by the release-feed sync: not reviewed yet
)

// Release is one published version of a software.
type Release struct {
	Software   string    `json:"software"`
	Version    string    `json:"version"`
	ReleasedAt time.Time `json:"released_at"`
	// InterfaceChange marks a release that changed what learners see: every replay documenting
	// an older version is outdated by it.
	InterfaceChange bool      `json:"interface_change"`
	Notes           string    `json:"notes"`
	Reviewed        bool      `json:"reviewed"`
	Source          string    `json:"source"`
	CreatedAt       time.Time `json:"created_at"`
}

// NewSoftware is what POST /api/software takes.
type NewSoftware struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Homepage    string `json:"homepage"`
	ReleaseFeed string `json:"release_feed"`
}

// NewRelease is what POST /api/software/{slug}/releases takes.
type NewRelease struct {
	Version string `json:"version"`
	// ReleasedAt: a date (2023-12-12) or an RFC 3339 time; empty means now.
	ReleasedAt string `json:"released_at"`
	// InterfaceChange nil means the default rule, see DefaultInterfaceChange.
	InterfaceChange *bool  `json:"interface_change"`
	Notes           string `json:"notes"`
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func validURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return httpapi.Invalid(field, "want an absolute http(s) URL")
	}
	return nil
}

// CreateSoftware adds a software; its slug is what tags name.
func (s *Store) CreateSoftware(ctx context.Context, n NewSoftware) (Software, error) {
	if !slugRE.MatchString(n.Slug) {
		return Software{}, httpapi.Invalid("slug", "slug %q: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. nextcloud)", n.Slug)
	}
	if n.Name == "" {
		return Software{}, httpapi.Invalid("name", "name is required")
	}
	if err := validURL("homepage", n.Homepage); err != nil {
		return Software{}, err
	}
	if err := checkFeedURL("release_feed", n.ReleaseFeed); err != nil {
		return Software{}, err
	}
	now := s.now()
	_, err := s.exec(ctx, `INSERT INTO software (slug, name, homepage, release_feed, created_at)
		VALUES ($1, $2, $3, $4, $5)`, n.Slug, n.Name, n.Homepage, n.ReleaseFeed, fmtTime(now))
	if isUnique(err) {
		return Software{}, fmt.Errorf("software %q: %w", n.Slug, ErrConflict)
	}
	if err != nil {
		return Software{}, fmt.Errorf("catalog: create software %q: %w", n.Slug, err)
	}
	return s.Software(ctx, n.Slug)
}

const softwareCols = `s.id, s.slug, s.name, s.homepage, s.release_feed, s.created_at, s.synced_at`

func scanSoftware(sc interface{ Scan(...any) error }) (int64, Software, error) {
	var (
		id      int64
		sw      Software
		created string
		synced  sql.NullString
	)
	err := sc.Scan(&id, &sw.Slug, &sw.Name, &sw.Homepage, &sw.ReleaseFeed, &created, &synced)
	sw.CreatedAt = parseTime(created)
	sw.SyncedAt = parseNullTime(synced)
	return id, sw, err
}

// ListSoftware returns every software by slug, each with its latest release.
func (s *Store) ListSoftware(ctx context.Context) ([]Software, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+softwareCols+` FROM software s ORDER BY s.slug`)
	if err != nil {
		return nil, fmt.Errorf("catalog: list software: %w", err)
	}
	var list []Software
	for rows.Next() {
		_, sw, err := scanSoftware(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("catalog: list software: %w", err)
		}
		list = append(list, sw)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list software: %w", err)
	}
	for i := range list {
		if list[i].Latest, err = s.latest(ctx, list[i].Slug); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// Software returns one software with all its releases, newest first.
func (s *Store) Software(ctx context.Context, slug string) (Software, error) {
	id, sw, err := scanSoftware(s.db.QueryRowContext(ctx, `SELECT `+softwareCols+` FROM software s WHERE s.slug = $1`, slug))
	if err != nil {
		return Software{}, notFound(err, "software %q", slug)
	}
	sw.Releases, err = s.releases(ctx, `WHERE r.software_id = $1 ORDER BY r.version_key DESC`, id)
	if err != nil {
		return Software{}, err
	}
	for i := range sw.Releases {
		if v, err := ParseVersion(sw.Releases[i].Version); err == nil && !v.PreRelease() {
			sw.Latest = &sw.Releases[i]
			break
		}
	}
	if sw.Latest == nil && len(sw.Releases) > 0 {
		sw.Latest = &sw.Releases[0]
	}
	return sw, nil
}

const releaseCols = `s.slug, r.version, r.released_at, r.interface_change, r.notes, r.reviewed, r.source, r.created_at`

func scanRelease(sc interface{ Scan(...any) error }) (Release, error) {
	var rel Release
	var released, created string
	err := sc.Scan(&rel.Software, &rel.Version, &released, &rel.InterfaceChange, &rel.Notes, &rel.Reviewed, &rel.Source, &created)
	rel.ReleasedAt, rel.CreatedAt = parseTime(released), parseTime(created)
	return rel, err
}

func (s *Store) releases(ctx context.Context, where string, args ...any) ([]Release, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+releaseCols+` FROM releases r JOIN software s ON s.id = r.software_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list releases: %w", err)
	}
	defer rows.Close()
	list := []Release{}
	for rows.Next() {
		rel, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list releases: %w", err)
		}
		list = append(list, rel)
	}
	return list, rows.Err()
}

func (s *Store) latest(ctx context.Context, slug string) (*Release, error) {
	rel, err := scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases r JOIN software s ON s.id = r.software_id
		WHERE s.slug = $1 ORDER BY (r.version_key LIKE '%~') DESC, r.version_key DESC LIMIT 1`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: latest release of %q: %w", slug, err)
	}
	return &rel, nil
}

// LatestRelease returns the newest known release of software that is not a pre-release (the
// newest pre-release when there is nothing else). ErrNotFound when the software is unknown or has
// no release.
func (s *Store) LatestRelease(ctx context.Context, software string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT r.version FROM releases r JOIN software s ON s.id = r.software_id
		WHERE s.slug = $1 ORDER BY (r.version_key LIKE '%~') DESC, r.version_key DESC LIMIT 1`, software).Scan(&v)
	if err != nil {
		return "", notFound(err, "latest release of %q", software)
	}
	return v, nil
}

// softwareID returns the id of slug, or a 422 naming the closest known slug. A slug keeps its id
// for good (nothing renames or deletes software), so ids found are remembered: the filters of
// GET /api/replays (software=, for=) then make one statement fewer per request.
func (s *Store) softwareID(ctx context.Context, field, slug string) (int64, error) {
	if id, ok := s.softwareIDs.Load(slug); ok {
		return id.(int64), nil
	}
	var id int64
	err := s.queryRow(ctx, `SELECT id FROM software WHERE slug = $1`, slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, s.unknownSoftware(ctx, field, slug)
	}
	if err != nil {
		return 0, fmt.Errorf("catalog: look up software %q: %w", slug, err)
	}
	s.softwareIDs.Store(slug, id)
	return id, nil
}

func (s *Store) unknownSoftware(ctx context.Context, field, slug string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT slug FROM software`)
	if err != nil {
		return fmt.Errorf("catalog: look up software %q: %w", slug, err)
	}
	defer rows.Close()
	var slugs []string
	for rows.Next() {
		var sl string
		if err := rows.Scan(&sl); err != nil {
			return fmt.Errorf("catalog: look up software %q: %w", slug, err)
		}
		slugs = append(slugs, sl)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: look up software %q: %w", slug, err)
	}
	if best, ok := closest(slug, slugs); ok {
		return httpapi.Invalid(field, "unknown software %q; did you mean %q?", slug, best)
	}
	return httpapi.Invalid(field, "unknown software %q; add it first with POST /api/software", slug)
}

// DefaultInterfaceChange is the rule applied when a release does not say whether it changed the
// interface: true for the first release of a new major version, false otherwise (and for every
// pre-release). Animators correct it per release.
//
// A release starts a new major version when no known (non-pre-release) release shares its first
// component, and either an older major is known (28.0.1 after 27.x; for calendar versions
// 2024.04 after 2023.10, while 24.10 after 24.04 is no new major) or it is itself an N.0.0
// release. So the first release ever recorded counts only when it is an N.0.0: the oldest
// entry of a release feed (often some 26.0.5) must not outdate every replay of 26.x.
func (s *Store) DefaultInterfaceChange(ctx context.Context, softwareID int64, v Version) (bool, error) {
	return defaultInterfaceChange(ctx, s.db, softwareID, v)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func defaultInterfaceChange(ctx context.Context, q queryer, softwareID int64, v Version) (bool, error) {
	if v.PreRelease() {
		return false, nil
	}
	lo, hi := majorRange(v.Major())
	var same, older int
	err := q.QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN version_key >= $2 AND version_key < $3 THEN 1 END),
		COUNT(CASE WHEN version_key < $2 THEN 1 END)
		FROM releases WHERE software_id = $1 AND version_key LIKE '%~'`, softwareID, lo, hi).Scan(&same, &older)
	if err != nil {
		return false, fmt.Errorf("catalog: default interface change: %w", err)
	}
	return same == 0 && (older > 0 || v.MajorOnly()), nil
}

// majorRange returns the version_key range [lo, hi) of every version whose first component is major.
func majorRange(major int64) (string, string) {
	return fmt.Sprintf("%0*d.", maxDigits, major), fmt.Sprintf("%0*d.", maxDigits, major+1)
}

// parseDate reads a release date: 2023-12-12 or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, httpapi.Invalid("released_at", "released_at %q: want a date (2023-12-12) or an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// AddRelease records a release an animator reports (reviewed).
func (s *Store) AddRelease(ctx context.Context, slug string, n NewRelease) (Release, error) {
	v, err := ParseVersion(n.Version)
	if err != nil {
		return Release{}, httpapi.Invalid("version", "%v", err)
	}
	released := s.now()
	if n.ReleasedAt != "" {
		if released, err = parseDate(n.ReleasedAt); err != nil {
			return Release{}, err
		}
	}
	var id int64
	err = s.db.QueryRowContext(ctx, `SELECT id FROM software WHERE slug = $1`, slug).Scan(&id)
	if err != nil {
		return Release{}, notFound(err, "software %q", slug)
	}
	if _, err := s.insertRelease(ctx, id, n.Version, v, released, n.InterfaceChange, n.Notes, true, SourceAPI); err != nil {
		if errors.Is(err, ErrConflict) {
			return Release{}, fmt.Errorf("catalog: release %s of %q: %w", n.Version, slug, err)
		}
		return Release{}, err
	}
	return scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases r JOIN software s ON s.id = r.software_id
		WHERE r.software_id = $1 AND r.version_key = $2`, id, v.Key()))
}

// insertRelease adds a release, applying the default interface-change rule when ic is nil.
// It returns false (no error) when sync finds the release already known; ErrConflict otherwise.
func (s *Store) insertRelease(ctx context.Context, softwareID int64, raw string, v Version, released time.Time,
	ic *bool, notes string, reviewed bool, source string) (bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		change := false
		if ic != nil {
			change = *ic
		} else {
			var err error
			if change, err = defaultInterfaceChange(ctx, tx, softwareID, v); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO releases (software_id, version, version_key, released_at,
			interface_change, notes, reviewed, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			softwareID, raw, v.Key(), fmtTime(released), change, notes, reviewed, source, fmtTime(s.now()))
		if err != nil {
			return err
		}
		return refreshSoftwareFreshness(ctx, tx, softwareID)
	})
	if isUnique(err) {
		return false, ErrConflict
	}
	if err != nil {
		return false, fmt.Errorf("catalog: add release %s: %w", raw, err)
	}
	return true, nil
}

// SoftwareUpdate is what PATCH /api/software/{slug} takes; nil fields stay as they are.
type SoftwareUpdate struct {
	Name        *string `json:"name"`
	Homepage    *string `json:"homepage"`
	ReleaseFeed *string `json:"release_feed"`
}

// UpdateSoftware changes a software's name, homepage or release feed (the slug is what tags
// name: it does not change).
func (s *Store) UpdateSoftware(ctx context.Context, slug string, u SoftwareUpdate) (Software, error) {
	if u.Name != nil && *u.Name == "" {
		return Software{}, httpapi.Invalid("name", "name must not be empty")
	}
	if u.Homepage != nil {
		if err := validURL("homepage", *u.Homepage); err != nil {
			return Software{}, err
		}
	}
	if u.ReleaseFeed != nil {
		if err := checkFeedURL("release_feed", *u.ReleaseFeed); err != nil {
			return Software{}, err
		}
	}
	res, err := s.exec(ctx, `UPDATE software SET name = COALESCE($1, name), homepage = COALESCE($2, homepage),
		release_feed = COALESCE($3, release_feed) WHERE slug = $4`, u.Name, u.Homepage, u.ReleaseFeed, slug)
	if err != nil {
		return Software{}, fmt.Errorf("catalog: update software %q: %w", slug, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Software{}, fmt.Errorf("catalog: software %q: %w", slug, ErrNotFound)
	}
	return s.Software(ctx, slug)
}

// ReleaseUpdate is what PATCH /api/software/{slug}/releases/{version} takes: an animator's
// review of a release. It marks the release reviewed.
type ReleaseUpdate struct {
	InterfaceChange *bool   `json:"interface_change"`
	Notes           *string `json:"notes"`
	ReleasedAt      *string `json:"released_at"`
}

// ReviewRelease applies an animator's review: the interface-change flag (which immediately
// changes every affected replay's freshness), notes, date; the release becomes reviewed.
// version may be written any equivalent way (v28.0.0 finds 28.0.0).
func (s *Store) ReviewRelease(ctx context.Context, slug, version string, u ReleaseUpdate) (Release, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return Release{}, fmt.Errorf("catalog: release %q of %q: %w", version, slug, ErrNotFound)
	}
	var released *string
	if u.ReleasedAt != nil {
		t, err := parseDate(*u.ReleasedAt)
		if err != nil {
			return Release{}, err
		}
		f := fmtTime(t)
		released = &f
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM software WHERE slug = $1`, slug).Scan(&id); err != nil {
			return notFound(err, "software %q", slug)
		}
		res, err := tx.ExecContext(ctx, `UPDATE releases SET interface_change = COALESCE($1, interface_change),
			notes = COALESCE($2, notes), released_at = COALESCE($3, released_at), reviewed = 1
			WHERE software_id = $4 AND version_key = $5`,
			u.InterfaceChange, u.Notes, released, id, v.Key())
		if err != nil {
			return fmt.Errorf("catalog: review release %s of %q: %w", version, slug, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("catalog: release %s of %q: %w", version, slug, ErrNotFound)
		}
		if err := refreshSoftwareFreshness(ctx, tx, id); err != nil {
			return fmt.Errorf("catalog: review release %s of %q: %w", version, slug, err)
		}
		return nil
	})
	if err != nil {
		return Release{}, err
	}
	return scanRelease(s.db.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases r JOIN software s ON s.id = r.software_id
		WHERE s.slug = $1 AND r.version_key = $2`, slug, v.Key()))
}
