package catalog

import (
	"context"
	"strings"
	"testing"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// queryPlan returns SQLite's plan of query, one detail line per step.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestListPlansUseIndexes checks that the list, filter, for= and search queries never scan the
// replays, tags or releases tables: at 100 000 replays only index searches stay fast.
func TestListPlansUseIndexes(t *testing.T) {
	testenv.SQLiteOnly(t, "SQLite's query plans")
	f := newFixture(t)
	f.seed()
	for _, o := range []ListOptions{
		{Public: true},
		{Public: true, Language: "fr"},
		{Public: true, Software: "nextcloud"},
		{Public: true, Software: "nextcloud", Version: "28.0.1"},
		{Public: true, Software: "nextcloud", Status: "outdated"},
		{Public: true, Software: "nextcloud", Language: "fr", Status: "current"},
		{Public: true, Status: "outdated"},
		{Public: true, Status: "unknown"},
		{Public: true, Status: "current", Language: "en"},
		{Public: true, For: "nextcloud@28.0.2"},
		{Public: true, Q: "share button"},
		{Public: true, Q: "share", Sort: "newest"},
		{Public: true, Q: "share", Sort: "-published_at", Language: "en"},
		{Publication: "draft"},
		{},
	} {
		o.Page.Limit = 50
		if err := f.store.resolveListFor(context.Background(), &o); err != nil {
			t.Fatal(err)
		}
		count, page, args, err := f.store.listStatements(context.Background(), o, false)
		if err != nil {
			t.Fatal(err)
		}
		statements := []struct {
			sql  string
			args []any
		}{{count, args[:len(args)-2]}, {page, args}}
		if drivesBySet(o) {
			countSet, pageSet, _, err := f.store.listStatements(context.Background(), o, true)
			if err != nil {
				t.Fatal(err)
			}
			statements = append(statements, statements[0], statements[1])
			statements[2].sql, statements[3].sql = countSet, pageSet
		}
		for _, q := range statements {
			plan := queryPlan(t, f.store, q.sql, q.args...)
			for _, step := range plan {
				if isTableScan(step) {
					t.Errorf("%+v: table scan %q in plan:\n%s\nof %s", o, step, strings.Join(plan, "\n"), q.sql)
				}
				// The per-replay check of for= must seek by replay, not read a software's every tag.
				// So must the software check of a walk in order (t): a seek by replay, not an index
				// of the software's tags read whole for every replay.
				if (strings.HasPrefix(step, "SEARCH x ") || strings.HasPrefix(step, "SEARCH t ")) &&
					!strings.Contains(step, "replay_id=?") && !strings.Contains(step, "replay_seq=?") {
					t.Errorf("%+v: per-replay tag check does not seek by replay: %q", o, step)
				}
			}
		}
	}
	// The per-page freshness query seeks releases by index for every tag.
	plan := queryPlan(t, f.store, f.store.tagStatusSQL(2), "a", "b")
	plan = append(plan, queryPlan(t, f.store, f.store.outdatedSQL("rp.publication = 'published'"))...)
	for _, step := range plan {
		if isTableScan(step) {
			t.Errorf("tag freshness: table scan %q in plan:\n%s", step, strings.Join(plan, "\n"))
		}
	}
}

// isTableScan reports a plan step that reads a whole big table or index: any SCAN of tags or
// releases, and a SCAN of replays that is not an in-order index walk (which ORDER BY ... LIMIT
// stops early). Scanning software is fine: there are tens of them.
func isTableScan(step string) bool {
	if !strings.HasPrefix(step, "SCAN ") || strings.Contains(step, "VIRTUAL TABLE") {
		return false
	}
	name := strings.Fields(step)[1]
	if strings.HasPrefix(name, "(subquery") || name == "m" {
		return false // the rows of a subquery planned on its own lines (the bounded count)
	}
	switch name {
	case "s", "software":
		return false
	case "rp", "replays":
		return !strings.Contains(step, " INDEX ")
	}
	return true
}
