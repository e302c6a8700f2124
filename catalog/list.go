package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// ListOptions filters and orders GET /api/replays. The zero value lists every replay (the API
// sets Public for requests without an animator token).
type ListOptions struct {
	// Public restricts the list to published replays; otherwise Publication may filter.
	Public      bool
	Publication string
	Software    string // replays tagged (themselves or a chapter) with this software
	Version     string // ... at this version (needs Software)
	Status      string // current | outdated | unknown: the replay's overall freshness (stored column)
	Language    string
	Q           string // full text over title, description, chapter titles and subtitles
	// For is "slug@version": replays still valid for a learner on that version: every tag of that
	// software documents a version ≤ theirs with no interface change in between.
	For string
	// Sort: published_at, created_at, title, duration_ms, each optionally prefixed by "-" for
	// descending, newest (most recently added first) or relevance (with Q). Default: relevance
	// with Q (newest when more than searchMax replays match), else -published_at for the public
	// and -created_at for animators.
	Sort string
	Page httpapi.Page

	// forRange is For resolved, by resolveListFor: once for all the statements of one list.
	forRange *forRange
}

// ReplayList is one page of replays, in the shape of every list reply.
type ReplayList struct {
	Items []Replay `json:"items"`
	Total int      `json:"total"`
	// TotalExact is false when more than countMax replays match (searchMax for a search):
	// Total then counts the first countMax (searchMax), or up to the end of the page asked
	// for, and NextOffset says there are more.
	TotalExact bool `json:"total_exact"`
	Limit      int  `json:"limit"`
	Offset     int  `json:"offset"`
	NextOffset *int `json:"next_offset"`
}

var sortColumns = map[string]string{
	"published_at": "rp.published_at",
	"created_at":   "rp.created_at",
	"title":        "rp.title",
	"duration_ms":  "rp.duration_ms",
}

// query is a WHERE clause under construction with numbered placeholders.
type query struct {
	from  string
	where []string
	args  []any
	// tagSet, when set, is a condition on replay_tags that selects exactly the replays matching
	// the whole query (using every argument): they are counted from the tag index alone.
	tagSet string
	// tagOrder is the list's order in the columns of replay_tags, when the tags carry copies of
	// what it sorts by (published_at): with tagSet, the page is then taken from the tags.
	tagOrder string
	// tagWalk, when set, is tagSet as that page writes it: the same selection, with the
	// conditions that an index would start from but a walk in order only checks written so
	// that no index answers them (SQLite has no statistics to know a walk stops early).
	tagWalk string
	// ftsSet, likewise, is a condition on replay_fts alone that selects exactly the replays
	// matching the whole query: a search with no filter but the publication (which replay_fts
	// carries a copy of) is counted without reading replays.
	ftsSet string
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

// countMax is how far a list counts its matches (a variable for tests): up to countMax (or the
// end of the page asked for, when further) total is exact; beyond, total is the number of
// replays counted and TotalExact false. Counting every match of a broad query reads the whole
// index behind it — 90 000 published replays, or 47 000 matches of a common word — which alone
// costs 6-25 ms at 100 000 replays; counting a bounded number stops early.
var countMax = 2000

// searchMax is countMax for a search (q=), and the largest number of matches a search without
// sort= orders by relevance (a variable for tests). A search is counted lower than a list
// because its count tests the words on every replay it passes: PostgreSQL walks replay_fts
// and evaluates the query on each row (~2 µs a row at load), about 7 300 rows to find the
// first 2 001 matches of a broad two-word search ("partage fich": 787 buffers, 4-7 ms of the
// request's 8 ms), 1 800 rows to find 501 (190 buffers). Ranking needs the count to say the
// matches are few enough, so it follows the same bound.
var searchMax = 500

// ListReplays returns a page of replays matching o, each with its documents and freshness.
func (s *Store) ListReplays(ctx context.Context, o ListOptions) (ReplayList, error) {
	if o.Page.Limit <= 0 {
		o.Page.Limit = 50
	}
	if err := s.resolveListFor(ctx, &o); err != nil {
		return ReplayList{}, err
	}
	// SQLite has no statistics here to choose between walking replays in sort order (best when
	// many match: the LIMIT stops early) and starting from the replays the tag filters select
	// (best when few do). Counting always starts from the selected set; the page does when the
	// count says the set is small enough to sort.
	bySet := drivesBySet(o)
	counted := o
	if counted.Sort == "" || counted.Sort == "relevance" || counted.Q != "" {
		// The order does not matter to a count: skip ranking, and let a search stream its
		// matches from the full-text index instead of collecting them all first.
		counted.Sort = "created_at"
		if counted.Q != "" {
			counted.Sort = "newest"
		}
	}
	// Counting one past the bound tells whether there are more.
	bound := max(countMax, o.Page.Offset+o.Page.Limit) + 1
	if o.Q != "" {
		bound = max(searchMax, o.Page.Offset+o.Page.Limit) + 1
	}
	counted.Page.Limit = bound
	count, _, args, err := s.listStatements(ctx, counted, bySet)
	if err != nil {
		return ReplayList{}, err
	}
	// The page's statement when the count finds a small set, and when it finds a large one:
	// when they are the same the page does not wait for the count, and the two run at once on
	// two connections (a search ranks or not by the count, so it always waits).
	var page string
	var pageArgs []any
	if o.Q == "" || o.Sort != "" {
		_, small, smallArgs, err := s.listStatements(ctx, o, bySet)
		if err != nil {
			return ReplayList{}, err
		}
		page, pageArgs = small, smallArgs
		if bySet {
			if _, large, largeArgs, err := s.listStatements(ctx, o, false); err != nil || large != small || !slices.Equal(largeArgs, smallArgs) {
				page, pageArgs = "", nil
			}
		}
	}
	list := ReplayList{Items: []Replay{}, Limit: o.Page.Limit, Offset: o.Page.Offset, TotalExact: true}
	if page == "" {
		if err := s.queryRow(ctx, count, args[:len(args)-2]...).Scan(&list.Total); err != nil {
			return ReplayList{}, fmt.Errorf("catalog: count replays: %w", err)
		}
	} else {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		counted := make(chan error, 1)
		go func() {
			counted <- s.queryRow(ctx, count, args[:len(args)-2]...).Scan(&list.Total)
		}()
		items, err := s.listPage(ctx, page, pageArgs)
		if err != nil {
			cancel()
			<-counted
			return ReplayList{}, err
		}
		if err := <-counted; err != nil {
			return ReplayList{}, fmt.Errorf("catalog: count replays: %w", err)
		}
		list.Items = items
	}
	if list.Total >= bound {
		list.Total, list.TotalExact = bound-1, false
	}
	list.NextOffset = o.Page.NextOffset(list.Total)
	if !list.TotalExact && list.NextOffset == nil {
		next := o.Page.Offset + o.Page.Limit
		list.NextOffset = &next
	}
	if o.Page.Offset >= list.Total {
		// (A page read beside the count may have seen a replay published after the count.)
		list.Items = []Replay{}
		return list, nil
	}
	if page != "" {
		return list, nil
	}
	if o.Q != "" && o.Sort == "" && (!list.TotalExact || list.Total > searchMax) {
		// Ranking tens of thousands of matches costs hundreds of milliseconds and tells the
		// learner little: a search that broad lists the newest first, streamed from the index.
		o.Sort = "newest"
	}
	_, page, args, err = s.listStatements(ctx, o, bySet && list.TotalExact && list.Total <= sortSetMax)
	if err != nil {
		return ReplayList{}, err
	}
	if list.Items, err = s.listPage(ctx, page, args); err != nil {
		return ReplayList{}, err
	}
	return list, nil
}

// listPage runs a page statement of listStatements and fills the replays it finds.
func (s *Store) listPage(ctx context.Context, page string, args []any) ([]Replay, error) {
	rows, err := s.query(ctx, page, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list replays: %w", err)
	}
	defer rows.Close()
	items := []Replay{}
	for rows.Next() {
		r, err := scanReplay(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list replays: %w", err)
		}
		items = append(items, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list replays: %w", err)
	}
	if err := s.fill(ctx, items, false); err != nil {
		return nil, err
	}
	return items, nil
}

// drivesBySet reports whether o has a filter that selects replays through their tags, which a
// query can start from.
func drivesBySet(o ListOptions) bool {
	return o.Software != "" || o.For != ""
}

func defaultSort(o ListOptions) string {
	if o.Public || o.Publication == string(Published) {
		return "-published_at"
	}
	return "-created_at"
}

// ftsPublication is the publication a search is restricted to, "" for any.
func ftsPublication(o ListOptions) string {
	if o.Public {
		return string(Published)
	}
	return o.Publication
}

// existsWalkMax is the deepest page end (offset+limit) up to which a walk of the replays in
// order checks the software filter by a seek per replay rather than against the set read first.
// Measured at 100 000 replays (software with 6 000 tags): the first page 3.5-4.4 ms by seeks,
// 4.8-5.2 ms by the set; offset 3 000 73 ms by seeks, 12 ms by the set.
const existsWalkMax = 100

// sortSetMax is the largest filtered set whose page is found by sorting it rather than by walking
// the replays in order. Measured at 100 000 replays: a set of 139 or 412 sorts in under 5 ms
// where the walk takes 8-16 ms; a set of 2 255 takes 30 ms to sort where the walk takes 5 ms.
const sortSetMax = 1000

// listStatements returns the SQL that counts the replays matching o (at most o.Page.Limit of
// them) and the SQL that selects its page; the count takes args without the last two (limit and
// offset). bySet keeps the planner off the replays' own indexes, so that it starts from what the
// tag filters select. With o.For, o.forRange must be resolved (resolveListFor).
func (s *Store) listStatements(ctx context.Context, o ListOptions, bySet bool) (count, page string, args []any, err error) {
	q, order, err := s.listQuery(ctx, o, bySet)
	if err != nil {
		return "", "", nil, err
	}
	where := ""
	if len(q.where) > 0 {
		where = " WHERE " + strings.Join(q.where, " AND ")
	}
	// The count reads at most o.Page.Limit rows (ListReplays counts with the bound as limit).
	// (PostgreSQL before 16 wants a name for every subquery in FROM.)
	count = fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM %s%s LIMIT %d) AS m`, q.from, where, o.Page.Limit)
	switch {
	case q.tagSet != "":
		count = fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT DISTINCT replay_seq FROM replay_tags WHERE %s LIMIT %d) AS m`, q.tagSet, o.Page.Limit)
	case q.ftsSet != "":
		// In rowid order (newest first, as a broad search lists them): PostgreSQL then walks
		// the (publication, rowid) index instead of scanning the table, whose scan starts where
		// the last one stopped (synchronized scans of a large table) and may cross pages left
		// empty by rewritten rows before it finds its matches. On the benchmark catalog, whose
		// first half of replay_fts is such pages, the count of a broad search took 2.5-12 ms
		// (one in a thousand 90 ms) by the scan, 0.5-1.8 ms by the index. FTS5 yields its
		// matches in rowid order by itself.
		count = fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM replay_fts WHERE %s ORDER BY rowid DESC LIMIT %d) AS m`, q.ftsSet, o.Page.Limit)
	}
	limit := q.arg(o.Page.Limit)
	offset := q.arg(o.Page.Offset)
	page = `SELECT ` + replayCols + ` FROM ` + q.from + where + ` ORDER BY ` + order + ` LIMIT ` + limit + ` OFFSET ` + offset
	switch {
	case q.tagSet != "" && q.tagOrder != "":
		// The tags select the replays and carry the sort key: the page is a walk of the tag
		// index in order (a replay's several matching tags are one group, as they carry the
		// same copy), then the page's replay rows. Neither the set is sorted nor every
		// candidate's row read.
		walk := q.tagSet
		if q.tagWalk != "" {
			walk = q.tagWalk
		}
		page = `SELECT ` + replayCols + ` FROM replays rp WHERE rp.seq IN (SELECT replay_seq FROM replay_tags WHERE ` + walk +
			` GROUP BY published_at, replay_seq ORDER BY ` + q.tagOrder + ` LIMIT ` + limit + ` OFFSET ` + offset + `) ORDER BY ` + order
	case strings.HasPrefix(order, "rp."):
		// Find the page's replays first, then read their rows: a sort (or the rows an offset
		// skips) carries only the replay seq and the sort key, often straight from an index,
		// not every column of every candidate.
		page = `SELECT ` + replayCols + ` FROM replays rp WHERE rp.seq IN (SELECT rp.seq FROM ` + q.from + where +
			` ORDER BY ` + order + ` LIMIT ` + limit + ` OFFSET ` + offset + `) ORDER BY ` + order
	}
	return count, page, q.args, nil
}

// listQuery turns o into a FROM clause, conditions and an ORDER BY, validating every filter.
func (s *Store) listQuery(ctx context.Context, o ListOptions, bySet bool) (*query, string, error) {
	q := &query{from: "replays rp"}
	// || '' makes the column an expression, which no index answers (portable, unlike SQLite's +).
	pubCol, langCol := "rp.publication", "rp.language"
	if bySet {
		pubCol, langCol = "(rp.publication || '')", "(rp.language || '')"
	}
	// The tags carry copies of their replay's publication, language and status (tagCond), so
	// that the software filter selects its set from the tag index alone.
	var tagCond []string
	switch {
	case o.Public:
		q.where = append(q.where, pubCol+" = 'published'")
		tagCond = append(tagCond, "publication = 'published'")
	case o.Publication != "":
		p, err := ParsePublication(o.Publication)
		if err != nil {
			return nil, "", err
		}
		ph := q.arg(string(p))
		q.where = append(q.where, pubCol+" = "+ph)
		tagCond = append(tagCond, "publication = "+ph)
	}
	if o.Language != "" {
		ph := q.arg(o.Language)
		q.where = append(q.where, langCol+" = "+ph)
		tagCond = append(tagCond, "language = "+ph)
	}
	if o.Status != "" {
		rank, ok := statusRank[Status(o.Status)]
		if !ok {
			return nil, "", httpapi.Invalid("status", "unknown status %q: use current, outdated or unknown", o.Status)
		}
		ph := q.arg(rank)
		q.where = append(q.where, "rp.freshness = "+ph)
		tagCond = append(tagCond, "freshness = "+ph)
	}
	if o.Version != "" && o.Software == "" {
		return nil, "", httpapi.Invalid("version", "version filters a software: give software= too")
	}
	if o.Software != "" {
		if err := s.softwareFilter(ctx, q, o, tagCond, bySet); err != nil {
			return nil, "", err
		}
	}
	if o.For != "" {
		cond, tagOnly, tagWalk := forCondition(q, *o.forRange, tagCond)
		q.where = append(q.where, cond)
		q.tagSet = ""
		if o.Software == "" {
			q.tagSet, q.tagWalk = tagOnly, tagWalk
		}
	}
	return searchAndOrder(s.dialect, q, o)
}

// softwareFilter adds software= (and version=) to q: from the tag index alone when the page is
// deep or the caller selects by set, by a seek per replay otherwise.
func (s *Store) softwareFilter(ctx context.Context, q *query, o ListOptions, tagCond []string, bySet bool) error {
	id, err := s.softwareID(ctx, "software", o.Software)
	if err != nil {
		return err
	}
	cond := []string{"software_id = " + q.arg(id)}
	if o.Version != "" {
		v, err := ParseVersion(o.Version)
		if err != nil {
			return httpapi.Invalid("version", "%v", err)
		}
		cond = append(cond, "version_key = "+q.arg(v.Key()))
	}
	// The set, with the copies the tags carry: it is the whole query, counted from the tag
	// indexes (with a version, replay_tags_for has the version and the publication) and paged
	// from them in publication order.
	set := append(slices.Clip(cond), tagCond...)
	q.tagSet = strings.Join(set, " AND ")
	if bySet || o.Page.Offset+o.Page.Limit > existsWalkMax {
		// The set, read from the tag index alone: where the page starts, or what a long
		// walk of the replays in order checks each replay against.
		q.where = append(q.where, "rp.seq IN (SELECT replay_seq FROM replay_tags WHERE "+strings.Join(set, " AND ")+")")
	} else {
		// A short walk (first pages): a seek per replay into the tag primary key costs less
		// than reading the set first. (Not with the copies: they would lead the planner to
		// the filter index, read whole for each replay.)
		q.where = append(q.where, "EXISTS (SELECT 1 FROM replay_tags t WHERE t.replay_id = rp.id AND t."+strings.Join(cond, " AND t.")+")")
	}
	return nil
}

// searchAndOrder adds q= (full text) to q and returns the ORDER BY of sort= (or of the default
// sort): relevance and newest read the full-text index in their own order.
func searchAndOrder(dialect sqldb.Dialect, q *query, o ListOptions) (*query, string, error) {
	sort := o.Sort
	if sort == "" {
		sort = defaultSort(o)
		if o.Q != "" {
			sort = "relevance"
		}
	}
	if sort == "relevance" && o.Q == "" {
		return nil, "", httpapi.Invalid("sort", "sort=relevance needs a search (q=)")
	}
	if o.Q != "" {
		q.tagSet = ""
		order, done, err := fullText(dialect, q, o, sort)
		if err != nil || done {
			return q, order, err
		}
	}
	if sort == "newest" {
		return q, "rp.seq DESC", nil
	}
	dir := "ASC"
	if strings.HasPrefix(sort, "-") {
		dir, sort = "DESC", sort[1:]
	}
	col, ok := sortColumns[sort]
	if !ok {
		return nil, "", httpapi.Invalid("sort", "unknown sort %q: use published_at, created_at, title, duration_ms (prefix - for descending), newest or relevance", o.Sort)
	}
	if sort == "published_at" {
		q.tagOrder = "published_at " + dir + ", replay_seq " + dir
	}
	return q, col + " " + dir + ", rp.seq " + dir, nil
}

// forCondition is the SQL condition of for=slug@version: the replay documents slug, and every tag
// of slug lies in [B, L] where L is the learner's version and B the newest interface-changing
// release at or before L (no bound when there is none): a tag below B misses an interface change
// the learner has, a tag above L shows a newer interface than theirs. Each tag carries the lowest
// and highest version its replay documents for its software (min_version_key, max_version_key,
// kept by triggers), so "every tag in range" is a condition on any one tag of slug. tagCond (the
// copies of the replay's publication, language and status the tags carry) narrows the candidate
// tags. tagOnly is the same selection as a condition on replay_tags alone, for counting from the
// tag indexes (replay_tags_for: from the version range); tagWalk is tagOnly for a walk of the
// software's tags in publication order, which checks the range on each tag rather than start
// from it.
func forCondition(q *query, fr forRange, tagCond []string) (cond, tagOnly, tagWalk string) {
	sw, lo, hi := q.arg(fr.software), q.arg(fr.lower), q.arg(fr.upper)
	span := append([]string{"software_id = " + sw, "min_version_key >= " + lo, "max_version_key <= " + hi}, tagCond...)
	// The tag's own version lies in its span: the range on it says the same, and lets an index
	// on (software_id, version_key) start from it.
	inRange := append([]string{"version_key >= " + lo, "version_key <= " + hi}, span...)
	tagOnly = strings.Join(inRange, " AND ")
	return "rp.seq IN (SELECT replay_seq FROM replay_tags WHERE " + tagOnly + ")", tagOnly, strings.Join(span, " AND ")
}

// forRange is for=slug@L resolved: the software's id and the range [B, L] of version keys (B is
// "" when no interface-changing release is at or before L).
type forRange struct {
	software     int64
	lower, upper string
}

// resolveListFor resolves o.For into o.forRange, which listStatements needs when For is set.
func (s *Store) resolveListFor(ctx context.Context, o *ListOptions) error {
	if o.For == "" || o.forRange != nil {
		return nil
	}
	fr, err := s.resolveFor(ctx, o.For)
	if err != nil {
		return err
	}
	o.forRange = &fr
	return nil
}

func (s *Store) resolveFor(ctx context.Context, spec string) (forRange, error) {
	slug, version, ok := strings.Cut(spec, "@")
	if !ok || slug == "" || version == "" {
		return forRange{}, httpapi.Invalid("for", "want for=software@version, e.g. for=nextcloud@28.0.2")
	}
	id, err := s.softwareID(ctx, "for", slug)
	if err != nil {
		return forRange{}, err
	}
	v, err := ParseVersion(version)
	if err != nil {
		return forRange{}, httpapi.Invalid("for", "%v", err)
	}
	var lower sql.NullString
	if err := s.queryRow(ctx, `SELECT MAX(version_key) FROM releases WHERE software_id = $1
		AND interface_change = 1 AND version_key <= $2`, id, v.Key()).Scan(&lower); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return forRange{}, fmt.Errorf("catalog: for=%s: %w", spec, err)
	}
	return forRange{software: id, lower: lower.String, upper: v.Key()}, nil
}
