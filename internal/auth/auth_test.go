package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

func TestMain(m *testing.M) { testenv.MainEachDB(m) }

func newStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(ctx, db, "bootstrap-admin")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequire(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	anim, animTok, err := s.Create(ctx, "Camille", RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	revoked, revTok, err := s.Create(ctx, "Old", RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, revTok.ID); err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		w.Write([]byte(p.Name))
	})
	animatorOnly := s.Require(RoleAnimator, ok)
	adminOnly := s.Require(RoleAdmin, ok)
	tests := []struct {
		name    string
		h       http.Handler
		header  string
		status  int
		wantWho string
	}{
		{"no token", animatorOnly, "", 401, ""},
		{"wrong token", animatorOnly, "Bearer nope", 401, ""},
		{"not bearer", animatorOnly, "Basic " + anim, 401, ""},
		{"revoked", animatorOnly, "Bearer " + revoked, 401, ""},
		{"animator ok", animatorOnly, "Bearer " + anim, 200, "Camille"},
		{"animator on admin route", adminOnly, "Bearer " + anim, 403, ""},
		{"bootstrap admin", adminOnly, "Bearer bootstrap-admin", 200, "admin"},
		{"admin on animator route", animatorOnly, "bearer bootstrap-admin", 200, "admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/x", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if tc.wantWho != "" && rec.Body.String() != tc.wantWho {
				t.Fatalf("principal = %q, want %q", rec.Body, tc.wantWho)
			}
		})
	}
	for _, tc := range []struct {
		id   int64
		want bool
	}{{animTok.ID, true}, {revTok.ID, false}, {999, false}} {
		if got, err := s.Active(ctx, tc.id); err != nil || got != tc.want {
			t.Errorf("Active(%d) = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
}

func TestTokensStoredOnlyAsHash(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	secret, _, err := s.Create(ctx, "x", RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE hash = $1`, secret).Scan(&n); err != nil || n != 0 {
		t.Fatalf("secret found in clear: n=%d err=%v", n, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "x" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, _, err := s.Create(ctx, "y", "root"); err == nil {
		t.Fatal("unknown role accepted")
	} else if status, body := httpapi.Classify(err); status != 422 || body.Field != "role" {
		t.Fatalf("classify = %d %+v", status, body)
	}
}

// TestHas: the role check of public routes that show more to animators agrees with Require.
func TestHas(t *testing.T) {
	s := newStore(t)
	anim, _, err := s.Create(context.Background(), "Camille", RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	session := func(r *http.Request) (Principal, bool, error) {
		if r.Header.Get("Cookie") == "session=admin" {
			return Principal{Name: "studio", Role: RoleAdmin}, true, nil
		}
		return Principal{}, false, nil
	}
	tests := []struct {
		header, cookie string
		need           Role
		want           bool
	}{
		{"", "", RoleAnimator, false},
		{"Bearer nope", "", RoleAnimator, false},
		{"Bearer " + anim, "", RoleAnimator, true},
		{"Bearer " + anim, "", RoleAdmin, false},
		{"Bearer bootstrap-admin", "", RoleAnimator, true},
		{"", "session=admin", RoleAnimator, true},
		{"", "session=other", RoleAnimator, false},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("GET", "/x", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		if got := s.Has(req, tc.need, session); got != tc.want {
			t.Errorf("Has(%q, %q, %s) = %v, want %v", tc.header, tc.cookie, tc.need, got, tc.want)
		}
	}
}

// TestTimesMigrated: tokens stored with the driver's text of a time.Time (before
// sqldb.TimeFormat) are rewritten in place by New and still read as the same times.
func TestTimesMigrated(t *testing.T) {
	testenv.SQLiteOnly(t, "a database as the SQLite code before sqldb.TimeFormat left it")
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqldb.MigrateLegacy(ctx, db, "auth", legacySteps[:1]); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 16, 5, 1, 0, time.UTC)
	if _, err := db.Exec(`INSERT INTO tokens (name, role, hash, created_at, revoked_at) VALUES ('old', 'animator', 'h', $1, $2)`,
		at, at.Add(time.Hour)); err != nil { // bound as time.Time, as New stored them before
		t.Fatal(err)
	}
	s, err := New(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	var created, revoked string
	if err := db.QueryRow(`SELECT CAST(created_at AS TEXT), CAST(revoked_at AS TEXT) FROM tokens`).Scan(&created, &revoked); err != nil {
		t.Fatal(err)
	}
	if created != "2026-11-30T16:05:01.000000Z" || revoked != "2026-11-30T17:05:01.000000Z" {
		t.Errorf("stored %q, %q", created, revoked)
	}
	toks, err := s.List(ctx)
	if err != nil || len(toks) != 1 || !toks[0].CreatedAt.Equal(at) || toks[0].RevokedAt == nil || !toks[0].RevokedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("List = %+v, %v", toks, err)
	}
}
