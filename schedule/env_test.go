package schedule

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const testPublicURL = "https://atelier.example.org"

// testEnv is schedule over a real SQLite database and the real catalog store, with a clock the
// test moves and ids it can predict.
type testEnv struct {
	t      *testing.T
	ctx    context.Context
	store  *Store
	cat    *catalog.Store
	api    *API
	router http.Handler

	mu  sync.Mutex
	now time.Time
	ids int
}

func TestMain(m *testing.M) { testenv.MainEachDB(m) }

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &testEnv{t: t, ctx: ctx, now: time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)}
	if e.cat, err = catalog.Open(ctx, db); err != nil {
		t.Fatal(err)
	}
	e.cat.SetClock(e.clock)
	if e.store, err = OpenStore(ctx, db, e.clock); err != nil {
		t.Fatal(err)
	}
	e.store.newID = func() string {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.ids++
		return fmt.Sprintf("w%015d", e.ids)
	}
	e.api = NewAPI(e.store, FromCatalog(e.cat), testPublicURL, Options{DefaultTimezone: "Europe/Paris", Now: e.clock})
	e.router = testRouter(e.api)

	for _, sw := range []catalog.NewSoftware{{Slug: "nextcloud", Name: "Nextcloud"}, {Slug: "libreoffice", Name: "LibreOffice"}} {
		if _, err := e.cat.CreateSoftware(ctx, sw); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct{ sw, v, at string }{{"nextcloud", "27.0.0", "2023-06-12"}, {"nextcloud", "28.0.0", "2023-12-12"}, {"libreoffice", "24.2.0", "2024-01-31"}} {
		if _, err := e.cat.AddRelease(ctx, r.sw, catalog.NewRelease{Version: r.v, ReleasedAt: r.at}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *testEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// testRouter mirrors the schedule block of cmd/atelier/routes.go (without the token check).
func testRouter(a *API) http.Handler {
	r := mux.NewRouter()
	h := func(f httpapi.HandlerFunc) http.Handler { return f }
	r.Handle("/api/workshops", h(a.Create)).Methods("POST")
	r.Handle("/api/workshops", h(a.List)).Methods("GET")
	r.Handle("/api/workshops/import", h(a.Import)).Methods("POST")
	r.Handle("/api/workshops/preview", h(a.Preview)).Methods("POST")
	r.Handle("/api/workshops/{id}", h(a.Get)).Methods("GET")
	r.Handle("/api/workshops/{id}", h(a.Update)).Methods("PATCH")
	r.Handle("/api/workshops/{id}", h(a.Delete)).Methods("DELETE")
	r.Handle("/api/workshops/{id}/cancel", h(a.Cancel)).Methods("POST")
	r.Handle("/api/freshness/{replay_id}/reschedule", h(a.Reschedule)).Methods("POST")
	r.Handle("/calendar.ics", h(a.CalendarAll)).Methods("GET", "HEAD")
	r.Handle("/calendar/software/{slug}.ics", h(a.CalendarSoftware)).Methods("GET", "HEAD")
	r.Handle("/calendar/series/{slug}.ics", h(a.CalendarSeries)).Methods("GET", "HEAD")
	r.Handle("/workshops/{id}.ics", h(a.WorkshopICS)).Methods("GET", "HEAD")
	r.Handle("/workshops.atom", h(a.WorkshopsAtom)).Methods("GET", "HEAD")
	r.Handle("/software/{slug}/workshops.atom", h(a.SoftwareWorkshopsAtom)).Methods("GET", "HEAD")
	return r
}

// do sends a request through the router; body is JSON-encoded unless it is a string.
func (e *testEnv) do(method, path string, body any, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	req := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	return rec
}

// create posts a workshop and returns it, failing the test on any status but 201.
func (e *testEnv) create(body map[string]any) Workshop {
	e.t.Helper()
	rec := e.do("POST", "/api/workshops", body)
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var w Workshop
	if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil {
		e.t.Fatal(err)
	}
	return w
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

// parisSeries is a weekly Tuesday 18:00 Europe/Paris series spanning both changes of hour of 2026
// (29 March and 25 October).
func parisSeries() map[string]any {
	return map[string]any{
		"title":       "Nextcloud pour les associations : découverte 🚀",
		"description": "Atelier hebdomadaire; apportez vos questions, vos fichiers et votre café.\nDeuxième ligne, avec virgules, points-virgules; et barre \\ oblique.",
		"starts_at":   "2026-03-03T18:00:00",
		"timezone":    "Europe/Paris",
		"duration":    "PT1H30M",
		"recurrence":  "FREQ=WEEKLY;BYDAY=TU;UNTIL=20261110T235959Z",
		"exdates":     []string{"2026-04-14T18:00:00"},
		"location":    "https://visio.example.org/atelier-nextcloud",
		"language":    "fr",
		"animator":    "Zoé Lefèvre",
		"capacity":    12,
		"series":      "nextcloud-asso",
		"documents":   []map[string]string{{"software": "nextcloud", "version": "28.0.0"}},
		"status":      "confirmed",
	}
}
