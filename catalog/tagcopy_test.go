package catalog

import (
	"context"
	"slices"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// checkTagCopies checks that every tag carries its replay's publication, language, stored status
// and publication time: the copies that lists selected by tags filter and order by.
func checkTagCopies(t *testing.T, s *Store) {
	t.Helper()
	var n, off int
	if err := s.db.QueryRowContext(context.Background(), `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN t.publication = rp.publication AND t.language = rp.language AND t.freshness = rp.freshness
			AND t.published_at IS NOT DISTINCT FROM rp.published_at THEN 0 ELSE 1 END), 0)
		FROM replay_tags t JOIN replays rp ON rp.id = t.replay_id`).Scan(&n, &off); err != nil {
		t.Fatal(err)
	}
	if n == 0 || off != 0 {
		t.Errorf("%d of %d tags differ from their replay", off, n)
	}
}

// checkTagSpans checks that every tag carries the lowest and highest version its replay documents
// for the tag's software, chapters included: the span for= filters on.
func checkTagSpans(t *testing.T, s *Store) {
	t.Helper()
	var n, off int
	if err := s.db.QueryRowContext(context.Background(), `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN t.min_version_key = g.lo AND t.max_version_key = g.hi THEN 0 ELSE 1 END), 0)
		FROM replay_tags t JOIN (SELECT replay_id, software_id, MIN(version_key) AS lo, MAX(version_key) AS hi
			FROM replay_tags GROUP BY replay_id, software_id) g ON g.replay_id = t.replay_id AND g.software_id = t.software_id`).Scan(&n, &off); err != nil {
		t.Fatal(err)
	}
	if n == 0 || off != 0 {
		t.Errorf("%d of %d tags carry a version span other than their replay's", off, n)
	}
}

// TestTagCopiesInStep: publishing, unpublishing, a new language, new documents or chapters and a
// new release keep every tag's copies equal to its replay's, and the lists the tags answer follow.
func TestTagCopiesInStep(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx := context.Background()
	checkTagCopies(t, f.store)
	checkTagSpans(t, f.store)
	str := func(s string) *string { return &s }
	steps := []struct {
		name string
		do   func() error
	}{
		{"unpublish a", func() error { return f.store.UpdateReplay(ctx, "a", ReplayUpdate{Publication: str("draft")}) }},
		{"publish e", func() error { return f.store.UpdateReplay(ctx, "e", ReplayUpdate{Publication: str("published")}) }},
		{"language of b", func() error { return f.store.UpdateReplay(ctx, "b", ReplayUpdate{Language: str("fr")}) }},
		{"documents of d", func() error { return f.store.SetDocuments(ctx, "d", []Tag{{"nextcloud", "27.0.0"}}) }},
		{"chapters of c", func() error {
			return f.store.SetChapters(ctx, "c", []Chapter{{StartMS: 0, Title: "Intro", Documents: []Tag{{"nextcloud", "26.0.0"}}}})
		}},
		// g's chapter at 26.0.0 kept it out of for=nextcloud@28.0.1: without it, g's span is
		// 28.0.0 alone.
		{"chapters of g", func() error {
			return f.store.SetChapters(ctx, "g", []Chapter{{StartMS: 0, Title: "Overview", Documents: []Tag{{"nextcloud", "28.0.1"}}}})
		}},
		{"release 29.0.0", func() error {
			f.json("POST", "/api/software/nextcloud/releases", true, `{"version":"29.0.0","released_at":"2025-03-01"}`, 201, nil)
			return nil
		}},
	}
	for _, st := range steps {
		f.now = f.now.Add(time.Minute)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		checkTagCopies(t, f.store)
		checkTagSpans(t, f.store)
	}
	// e was published last, a is a draft again; b is French now; d and c are outdated by 29.0.0
	// and 28.0.0.
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"software=nextcloud", []string{"e", "g", "d", "c", "b"}},
		{"software=nextcloud&sort=published_at", []string{"b", "c", "d", "g", "e"}},
		{"software=nextcloud&language=fr", []string{"e", "d", "b"}},
		{"software=nextcloud&status=outdated", []string{"e", "g", "d", "c", "b"}},
		{"for=nextcloud@27.0.5", []string{"e", "d"}},
		{"for=nextcloud@28.0.1", []string{"g", "b"}},
	} {
		var l list[ReplayJSON]
		f.json("GET", "/api/replays?"+tt.query, false, "", 200, &l)
		if got := ids(l); !slices.Equal(got, tt.want) || l.Total != len(tt.want) {
			t.Errorf("%s: ids %v total %d, want %v", tt.query, got, l.Total, tt.want)
		}
	}
}

// TestTagPublishedAtMigrated: a catalog made before the tags carried published_at (migration 5)
// gets the copy filled in place, and its lists by tag keep their order.
func TestTagPublishedAtMigrated(t *testing.T) {
	ctx := context.Background()
	s := migratedStore(t, 4,
		`INSERT INTO software (id, slug, name, created_at) VALUES (1, 'gimp', 'GIMP', '2026-01-01T00:00:00.000000Z')`,
		`INSERT INTO replays (seq, id, title, language, publication, processing, created_at, published_at) VALUES
			(1, 'a', 'A', 'fr', 'published', 'ready', '2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z'),
			(2, 'b', 'B', 'fr', 'published', 'ready', '2026-01-01T00:00:00.000000Z', '2026-01-03T00:00:00.000000Z'),
			(3, 'c', 'C', 'fr', 'draft', 'ready', '2026-01-01T00:00:00.000000Z', NULL)`,
		`INSERT INTO replay_tags (replay_id, replay_seq, chapter, software_id, version, version_key) VALUES
			('a', 1, -1, 1, '2.10', '2.10'), ('b', 2, -1, 1, '2.10', '2.10'), ('c', 3, -1, 1, '2.10', '2.10')`,
	)
	checkTagCopies(t, s)
	l, err := s.ListReplays(ctx, ListOptions{Public: true, Software: "gimp"})
	if err != nil {
		t.Fatal(err)
	}
	if got := replayIDs(l.Items); !slices.Equal(got, []string{"b", "a"}) || l.Total != 2 {
		t.Errorf("software=gimp: %v total %d, want [b a]", got, l.Total)
	}
}

// TestTagVersionSpanMigrated: a catalog made before the tags carried their replay's version span
// (migration 6) gets it filled in place, and for= answers from it: a replay whose chapter shows
// an older interface than its own tag is still left out.
func TestTagVersionSpanMigrated(t *testing.T) {
	ctx := context.Background()
	key := func(v string) string {
		pv, err := ParseVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		return pv.Key()
	}
	s := migratedStore(t, 5,
		`INSERT INTO software (id, slug, name, created_at) VALUES (1, 'gimp', 'GIMP', '2026-01-01T00:00:00.000000Z'),
			(2, 'inkscape', 'Inkscape', '2026-01-01T00:00:00.000000Z')`,
		`INSERT INTO releases (software_id, version, version_key, released_at, interface_change, reviewed, source, created_at) VALUES
			(1, '2.10', '`+key("2.10")+`', '2026-01-01T00:00:00.000000Z', 1, 1, 'api', '2026-01-01T00:00:00.000000Z'),
			(1, '3.0', '`+key("3.0")+`', '2026-01-01T00:00:00.000000Z', 1, 1, 'api', '2026-01-01T00:00:00.000000Z')`,
		`INSERT INTO replays (seq, id, title, language, publication, processing, created_at, published_at) VALUES
			(1, 'a', 'A', 'fr', 'published', 'ready', '2026-01-01T00:00:00.000000Z', '2026-01-02T00:00:00.000000Z'),
			(2, 'b', 'B', 'fr', 'published', 'ready', '2026-01-01T00:00:00.000000Z', '2026-01-03T00:00:00.000000Z'),
			(3, 'c', 'C', 'fr', 'published', 'ready', '2026-01-01T00:00:00.000000Z', '2026-01-04T00:00:00.000000Z')`,
		`INSERT INTO replay_tags (replay_id, replay_seq, chapter, software_id, version, version_key) VALUES
			('a', 1, -1, 1, '3.0', '`+key("3.0")+`'),
			('b', 2, -1, 1, '3.0', '`+key("3.0")+`'), ('b', 2, 0, 1, '2.10', '`+key("2.10")+`'),
			('c', 3, -1, 1, '3.0', '`+key("3.0")+`'), ('c', 3, 0, 2, '1.0', '`+key("1.0")+`')`,
	)
	checkTagSpans(t, s)
	for _, tt := range []struct {
		o    ListOptions
		want []string
	}{
		{ListOptions{Public: true, For: "gimp@3.0"}, []string{"c", "a"}},
		{ListOptions{Public: true, For: "gimp@2.10"}, nil},
		{ListOptions{Public: true, For: "gimp@3.0", Sort: "title"}, []string{"a", "c"}},
		{ListOptions{Public: true, For: "gimp@3.0", Software: "inkscape"}, []string{"c"}},
	} {
		l, err := s.ListReplays(ctx, tt.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := replayIDs(l.Items); !slices.Equal(got, tt.want) || l.Total != len(tt.want) {
			t.Errorf("%+v: %v total %d, want %v", tt.o, got, l.Total, tt.want)
		}
	}
}

// migratedStore opens a catalog whose schema stopped at migration version, with the rows the
// inserts write under that schema, then lets Open migrate it the rest of the way.
func migratedStore(t *testing.T, version int64, inserts ...string) *Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqldb.MigrateTo(ctx, db, Schema, version); err != nil {
		t.Fatal(err)
	}
	for _, q := range inserts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func replayIDs(items []Replay) []string {
	var out []string
	for _, r := range items {
		out = append(out, r.ID)
	}
	return out
}
