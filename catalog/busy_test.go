package catalog

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestBusyDatabaseAnswers503: when another component holds SQLite's write lock longer than the
// busy timeout, a catalog write answers 503 with Retry-After (the client may retry), not 500,
// and changes nothing.
func TestBusyDatabaseAnswers503(t *testing.T) {
	testenv.SQLiteOnly(t, "SQLite's file lock")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atelier.db")
	other, err := sqldb.Open(ctx, path) // creates the file; stands for another component
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The catalog's own pool with a short busy timeout, so that the test need not wait 10 s.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateReplay(ctx, NewReplay{ID: "r", Title: "before"}); err != nil {
		t.Fatal(err)
	}
	api := &API{Store: st}
	r := mux.NewRouter()
	r.Handle("/api/replays/{id}", httpapi.HandlerFunc(api.PatchReplay)).Methods("PATCH")
	patch := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("PATCH", "/api/replays/r", strings.NewReader(`{"title":"after"}`)))
		return w
	}

	hold, err := other.BeginTx(ctx, nil) // _txlock=immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.ExecContext(ctx, `CREATE TABLE other_component (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	w := patch()
	hold.Rollback()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "retry") {
		t.Fatalf("PATCH while the database is locked = %d (Retry-After %q) %s, want 503 with Retry-After",
			w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	if rp, _ := st.Replay(ctx, "r"); rp.Title != "before" {
		t.Fatalf("title %q after a refused update", rp.Title)
	}
	if w := patch(); w.Code != http.StatusOK {
		t.Fatalf("PATCH once the lock is gone = %d %s", w.Code, w.Body.String())
	}
}
