package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// The catalog at the scale of the issue: 100 000 replays, 50 software, 2 000 releases
// (ATELIER_BENCH_REPLAYS changes the first). Seeding takes a while, so the seeded SQLite file is
// cached under testenv.BenchCacheDir, keyed by the schema and the seed; each benchmark run works
// on a copy.
const (
	benchSoftware        = 50
	benchReleasesPerSoft = 40 // 2 000 releases
	benchSeedVersion     = "1"
)

var benchWords = strings.Fields(`partage fichiers agenda contacts visioconférence messagerie
	tableur traitement texte présentation sauvegarde synchronisation mobile administration
	utilisateurs groupes droits sécurité chiffrement formulaire sondage tâches notes kanban
	share files calendar contacts video chat spreadsheet writer slides backup sync mobile admin
	users groups permissions security encryption forms poll tasks notes board premiers pas
	installation mise à jour migration modèle import export recherche étiquettes`)

// benchCatalogDB returns the DSN of a seeded database with n replays: a copy of the cached SQLite
// file or, in a run on PostgreSQL (ATELIER_TEST_DB=postgres), a database on the test server
// seeded by the process's first call (the server lives as long as the process: nothing to
// cache it in across runs). Benchmarks only read it.
func benchCatalogDB(b *testing.B, n int) string {
	b.Helper()
	if testenv.DBName() == "postgres" {
		url, created := testenv.PostgresKept(b, fmt.Sprintf("bench_catalog_%d", n))
		if created {
			start := time.Now()
			if err := seedCatalog(context.Background(), url, n); err != nil {
				b.Fatalf("seed catalog: %v", err)
			}
			b.Logf("seeded %d replays into PostgreSQL in %s", n, time.Since(start).Round(time.Millisecond))
		}
		return url
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%d|%d|", benchSeedVersion, n, benchSoftware, benchReleasesPerSoft)
	for _, m := range legacySteps {
		io.WriteString(h, m)
	}
	// And every migration: a file seeded under an older schema would be migrated on each run's
	// copy, and measured with whatever the migration leaves (indexes built after the rows).
	files, err := fs.Glob(migrationFiles, "migrations/sqlite/*.sql")
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range files {
		sql, err := migrationFiles.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		h.Write(sql)
	}
	cached := filepath.Join(testenv.BenchCacheDir(b), fmt.Sprintf("catalog-%d-%s.db", n, hex.EncodeToString(h.Sum(nil))[:12]))
	if _, err := os.Stat(cached); err != nil {
		start := time.Now()
		// Several benchmarks may seed at once (the seed is deterministic): each in a file of its
		// own, renamed into place.
		tmp := fmt.Sprintf("%s.%d.tmp", cached, os.Getpid())
		defer func() {
			for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
				os.Remove(f)
			}
		}()
		if err := seedCatalog(context.Background(), tmp, n); err != nil {
			b.Fatalf("seed catalog: %v", err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d replays into %s in %s", n, cached, time.Since(start).Round(time.Millisecond))
		// Databases seeded for older schemas are of no use any more.
		old, _ := filepath.Glob(filepath.Join(filepath.Dir(cached), fmt.Sprintf("catalog-%d-*.db", n)))
		for _, f := range old {
			if f != cached {
				os.Remove(f)
			}
		}
	}
	// A copy, streamed (the file is hundreds of MB: the peak memory make bench reports is the
	// queries', not the copy's).
	dst := filepath.Join(b.TempDir(), "catalog.db")
	in, err := os.Open(cached)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return dst
}

// seedCatalog writes the benchmark catalog into a new database at path (a SQLite file or a
// PostgreSQL URL), in one transaction with prepared statements, then checkpoints SQLite's WAL so
// that the file stands alone, or has PostgreSQL gather its planner statistics.
func seedCatalog(ctx context.Context, path string, n int) error {
	db, err := sqldb.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := Open(ctx, db)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	type rel struct{ version, key string }
	versions := make([][]rel, benchSoftware)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	insSoft := prep(`INSERT INTO software (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`)
	insRel := prep(`INSERT INTO releases (software_id, version, version_key, released_at, interface_change, reviewed, source, created_at)
		VALUES ($1, $2, $3, $4, $5, 1, 'api', $6)`)
	insReplay := prep(`INSERT INTO replays (seq, id, title, description, language, publication, processing, duration_ms, created_at, published_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'ready', $7, $8, $9)`)
	insChapter := prep(`INSERT INTO replay_chapters (replay_id, idx, start_ms, title) VALUES ($1, $2, $3, $4)`)
	insTag := prep(`INSERT INTO replay_tags (replay_id, chapter, software_id, version, version_key) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`)
	insTrack := prep(`INSERT INTO replay_tracks (replay_id, lang, kind, status, cue_count, text, updated_at) VALUES ($1, $2, 'auto', 'draft', $3, $4, $5)`)
	pg := s.dialect == sqldb.Postgres
	ftsSQL := `INSERT INTO replay_fts (rowid, title, description, chapters, subtitles) VALUES ($1, $2, $3, $4, $5)`
	if pg { // the searchable form, as writeFTS makes it ($6: the language, the track's too)
		ftsSQL = `INSERT INTO replay_fts (rowid, doc) VALUES ($1,
			replay_doc($6::text, $2::text, $3::text, $4::text, $5::text, CASE WHEN $6 = 'fr' THEN $5 ELSE '' END, CASE WHEN $6 = 'en' THEN $5 ELSE '' END))`
	}
	insFTS := prep(ftsSQL)
	if err != nil {
		return err
	}
	now := fmtTime(base)
	for sw := range benchSoftware {
		if _, err := insSoft.ExecContext(ctx, sw+1, benchSlug(sw), fmt.Sprintf("Software %d", sw), now); err != nil {
			return err
		}
		for i := range benchReleasesPerSoft {
			major, minor := 1+i/5, i%5 // 8 majors of 5 minors: a new major changes the interface
			v := fmt.Sprintf("%d.%d.0", major, minor)
			pv, err := ParseVersion(v)
			if err != nil {
				return err
			}
			versions[sw] = append(versions[sw], rel{v, pv.Key()})
			at := fmtTime(base.AddDate(0, 0, i*45))
			if _, err := insRel.ExecContext(ctx, sw+1, v, pv.Key(), at, minor == 0, at); err != nil {
				return err
			}
		}
	}
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = benchWords[rng.IntN(len(benchWords))]
		}
		return strings.Join(w, " ")
	}
	langs := []string{"fr", "fr", "fr", "en", "en", "de", "es"}
	for i := range n {
		id := fmt.Sprintf("r%015d", i+1)
		title, desc := words(5), words(20)
		created := base.Add(time.Duration(i) * 20 * time.Minute)
		pub, publishedAt := string(Published), sql.NullString{String: fmtTime(created.Add(time.Hour)), Valid: true}
		switch i % 20 {
		case 0:
			pub, publishedAt = string(Draft), sql.NullString{}
		case 1:
			pub = string(Unlisted)
		}
		if _, err := insReplay.ExecContext(ctx, i+1, id, title, desc, langs[i%len(langs)], pub,
			int64(20+rng.IntN(70))*60000, fmtTime(created), publishedAt); err != nil {
			return err
		}
		tag := func(chapter int) error {
			sw := rng.IntN(benchSoftware)
			v := versions[sw][rng.IntN(benchReleasesPerSoft)]
			_, err := insTag.ExecContext(ctx, id, chapter, sw+1, v.version, v.key)
			return err
		}
		for range 1 + rng.IntN(2) {
			if err := tag(-1); err != nil {
				return err
			}
		}
		var chapters []string
		for c := range 3 {
			t := words(3)
			chapters = append(chapters, t)
			if _, err := insChapter.ExecContext(ctx, id, c, int64(c)*600000, t); err != nil {
				return err
			}
			if rng.IntN(2) == 0 {
				if err := tag(c); err != nil {
					return err
				}
			}
		}
		subs := ""
		if i%5 == 0 {
			subs = words(120)
			if _, err := insTrack.ExecContext(ctx, id, langs[i%len(langs)], 40, subs, fmtTime(created)); err != nil {
				return err
			}
		}
		fts := []any{i + 1, title, desc, strings.Join(chapters, "\n"), subs}
		if pg {
			fts = append(fts, langs[i%len(langs)])
		}
		if _, err := insFTS.ExecContext(ctx, fts...); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// The rows went in around the store: derive what the store would have (status, full text).
	if err := s.Reindex(ctx); err != nil {
		return err
	}
	if pg {
		_, err = db.ExecContext(ctx, `VACUUM ANALYZE`)
		return err
	}
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// benchAPI is the catalog API over the cached benchmark database (ATELIER_BENCH_REPLAYS
// replays, 100 000 by default), closed when b ends.
func benchAPI(b *testing.B) *API {
	ctx := context.Background()
	n := testenv.BenchInt(b, "ATELIER_BENCH_REPLAYS", 100000)
	db, err := sqldb.Open(ctx, benchCatalogDB(b, n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	return &API{Store: s, PublicURL: "https://atelier.example.org"}
}

func benchSlug(i int) string { return fmt.Sprintf("soft%02d", i) }

// BenchmarkCatalogQueries times GET /api/replays through the catalog's real handler, as the
// public asks it (published replays only), at 100 000 replays: the plain list, filters, for=
// and full-text search. Each op is one request; p50-ms and p99-ms are per request.
func BenchmarkCatalogQueries(b *testing.B) {
	api := benchAPI(b)

	var list, filter, forQ, search []string
	for i := range 8 {
		sw := benchSlug(i * 6)
		list = append(list, fmt.Sprintf("/api/replays?offset=%d", i*50), fmt.Sprintf("/api/replays?sort=title&offset=%d", i*1000))
		filter = append(filter,
			"/api/replays?software="+sw+"&status=outdated",
			"/api/replays?software="+sw+"&version=3.0.0",
			"/api/replays?language=de&status=current",
			"/api/replays?software="+sw+"&language=fr")
		forQ = append(forQ, fmt.Sprintf("/api/replays?for=%s@%d.2.0", sw, 1+i))
		search = append(search, "/api/replays?q="+benchWords[i*5], "/api/replays?q=partage+fich", "/api/replays?q=security+backup")
	}
	for _, c := range []struct {
		name    string
		queries []string
	}{{"list", list}, {"filter", filter}, {"for", forQ}, {"q", search}} {
		b.Run(c.name, func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				req := httptest.NewRequest(http.MethodGet, c.queries[i%len(c.queries)], nil)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				err := api.ListReplays(rec, req)
				d = append(d, time.Since(t0))
				if err != nil || rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %v", req.URL, rec.Code, err)
				}
			}
			testenv.ReportLatency(b, d)
		})
	}
}
