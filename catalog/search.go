package catalog

import (
	"context"
	"database/sql"
	"strings"
	"unicode"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// The full text (q=) is the one part of the catalog whose SQL differs by database: SQLite has
// an FTS5 table (replay_fts, rowid = replays.seq), PostgreSQL a table of the same name and key
// with a tsvector (doc) under a GIN index, built by replay_doc and matched by replay_query
// (migrations/postgres). Both match every word the learner typed, accents and case aside, the
// last one as a prefix; PostgreSQL also matches French and English stems.

// searchWords splits what a learner types into words: letters and digits; anything else
// (operators of either database's query syntax included) separates words.
func searchWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// fullText adds q= to q. For the sorts that read the full-text index in their own order
// (relevance, newest) it returns that order and done; otherwise the condition only.
func fullText(dialect sqldb.Dialect, q *query, o ListOptions, sort string) (order string, done bool, err error) {
	words := searchWords(o.Q)
	if len(words) == 0 {
		return "", false, httpapi.Invalid("q", "the search has no word to look for")
	}
	pub := ftsPublication(o)
	// With no filter but the publication, given as the match's own (not also as an argument of
	// its own), replay_fts alone selects the matches: a count of thousands of them then reads no
	// replay (a seek into replays per match cost a fifth of a broad search's count).
	ftsAlone := (o.Public || o.Publication == "") && o.Language == "" && o.Status == "" && o.Software == "" && o.For == ""
	if dialect == sqldb.Postgres {
		w, p := q.arg(strings.Join(words, " ")), ""
		if pub != "" {
			p = q.arg(pub)
		}
		match := func(f string) string { // the condition on the replay_fts row named f
			c := f + "doc @@ replay_query(" + w + ")"
			if p != "" {
				c += " AND " + f + "publication = " + p
			}
			return c
		}
		if ftsAlone {
			q.ftsSet = match("")
		}
		switch sort {
		case "relevance":
			q.from = "replays rp JOIN (SELECT rowid, ts_rank(doc, replay_query(" + w + ")) AS rank FROM replay_fts WHERE " +
				match("") + ") f ON f.rowid = rp.seq"
			return "f.rank DESC, rp.seq DESC", true, nil
		case "newest":
			q.from = "replay_fts f JOIN replays rp ON rp.seq = f.rowid"
			q.where = append(q.where, match("f."))
			return "f.rowid DESC", true, nil
		}
		q.where = append(q.where, "rp.seq IN (SELECT rowid FROM replay_fts WHERE "+match("")+")")
		return "", false, nil
	}
	match := q.arg(ftsQuery(words, pub))
	if ftsAlone {
		q.ftsSet = "replay_fts MATCH " + match
	}
	switch sort {
	case "relevance":
		q.from = "replays rp JOIN (SELECT rowid, rank FROM replay_fts WHERE replay_fts MATCH " + match + ") f ON f.rowid = rp.seq"
		return "f.rank, rp.seq DESC", true, nil
	case "newest":
		// The full-text index yields its matches newest first by itself: no set, no sort.
		q.from = "replay_fts f CROSS JOIN replays rp ON rp.seq = f.rowid"
		q.where = append(q.where, "f.replay_fts MATCH "+match)
		return "f.rowid DESC", true, nil
	}
	q.where = append(q.where, "rp.seq IN (SELECT rowid FROM replay_fts WHERE replay_fts MATCH "+match+")")
	return "", false, nil
}

// ftsQuery turns the words a learner typed into an FTS5 query over the content columns: every
// word must appear (the last one as a prefix, for search-as-you-type). publication, when set,
// restricts the matches to that publication.
func ftsQuery(words []string, publication string) string {
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = `"` + w + `"`
	}
	terms[len(terms)-1] += "*"
	match := "{title description chapters subtitles} : (" + strings.Join(terms, " ") + ")"
	if publication != "" {
		match = `publication : "` + publication + `" AND ` + match
	}
	return match
}

// offeredTrack is the text of a subtitle track learners are offered, in its language.
type offeredTrack struct{ lang, text string }

// writeFTS writes the full-text row of replay seq (after deleting the old one).
func writeFTS(ctx context.Context, tx *sql.Tx, dialect sqldb.Dialect, seq int64, title, desc, chapters, language, pub string, tracks []offeredTrack) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM replay_fts WHERE rowid = $1`, seq); err != nil {
		return err
	}
	var all, fr, en []string
	for _, t := range tracks {
		all = append(all, t.text)
		switch base, _, _ := strings.Cut(t.lang, "-"); base {
		case "fr":
			fr = append(fr, t.text)
		case "en":
			en = append(en, t.text)
		}
	}
	subs := strings.Join(all, "\n")
	if dialect == sqldb.Postgres {
		// Only doc is kept: the text goes into it (migrations/postgres/00004).
		_, err := tx.ExecContext(ctx, `INSERT INTO replay_fts (rowid, publication, doc)
			VALUES ($1, $2, replay_doc($3, $4, $5, $6, $7, $8, $9))`,
			seq, pub, language, title, desc, chapters, subs, strings.Join(fr, "\n"), strings.Join(en, "\n"))
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO replay_fts (rowid, title, description, chapters, subtitles, publication)
		VALUES ($1, $2, $3, $4, $5, $6)`, seq, title, desc, chapters, subs, pub)
	return err
}

// crossJoin is the join that, on SQLite, also fixes the order of the tables (CROSS JOIN … ON);
// PostgreSQL has no CROSS JOIN with a condition and plans the order itself.
func (s *Store) crossJoin() string {
	if s.dialect == sqldb.Postgres {
		return "JOIN"
	}
	return "CROSS JOIN"
}
