package catalog

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// BenchmarkCatalogQueryShapes times each URL of BenchmarkCatalogQueries on its own (one
// sub-benchmark per query shape), so that a p99 made by one slow shape shows which one it is.
// ATELIER_BENCH_SHAPES restricts it to the sub-benchmarks whose name contains the given text.
func BenchmarkCatalogQueryShapes(b *testing.B) {
	api := benchAPI(b)
	shapes := []string{
		"/api/replays?offset=0",
		"/api/replays?offset=350",
		"/api/replays?sort=title&offset=0",
		"/api/replays?sort=title&offset=7000",
		"/api/replays?software=soft00&status=outdated",
		"/api/replays?software=soft42&status=outdated",
		"/api/replays?software=soft00&version=3.0.0",
		"/api/replays?language=de&status=current",
		"/api/replays?software=soft00&language=fr",
		"/api/replays?for=soft00@1.2.0",
		"/api/replays?for=soft24@5.2.0",
		"/api/replays?for=soft42@8.2.0",
		"/api/replays?q=partage",
		"/api/replays?q=" + url.QueryEscape(benchWords[35]),
		"/api/replays?q=partage+fich",
		"/api/replays?q=security+backup",
		"/api/replays?q=partage+kanban+sondage",    // three words, still 17 950 matches
		"/api/replays?q=synchronisation",           // a last word longer than the prefix indexes
		"/api/replays?q=partage&offset=3000",       // past the bounded count
		"/api/replays?software=soft00&offset=3000", // a deep page of a large tag-selected set
	}
	for _, u := range shapes {
		b.Run(url.PathEscape(u[len("/api/replays?"):]), func(b *testing.B) {
			d := make([]time.Duration, 0, b.N)
			var total string
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, u, nil)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				err := api.ListReplays(rec, req)
				d = append(d, time.Since(t0))
				if err != nil || rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %v", u, rec.Code, err)
				}
				total = rec.Body.String()
			}
			if i := len(total) - 80; i > 0 {
				total = total[i:]
			}
			b.Logf("%s … %s", u, total)
			testenv.ReportLatency(b, d)
		})
	}
}
