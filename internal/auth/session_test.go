package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(ctx, db, "bootstrap-admin-token-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := s.Create(ctx, "Camille", RoleAnimator)
	if err != nil {
		t.Fatal(err)
	}
	animator := Principal{TokenID: tok.ID, Name: tok.Name, Role: RoleAnimator}
	admin := Principal{Name: "admin", Role: RoleAdmin}
	open := func(p Principal, ttl time.Duration) string {
		t.Helper()
		id, _, err := s.OpenSession(ctx, p, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	live := func(st *Store, id string) bool {
		t.Helper()
		_, err := st.Session(ctx, id)
		if err != nil && !errors.Is(err, ErrNoSession) {
			t.Fatal(err)
		}
		return err == nil
	}

	a, b := open(animator, time.Hour), open(animator, time.Hour)
	if got, err := s.Session(ctx, a); err != nil || got.Principal != animator {
		t.Fatalf("Session = %+v, %v; want the animator", got, err)
	}
	if err := s.CloseSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	if live(s, a) || !live(s, b) {
		t.Fatal("signing out must end that session only")
	}
	if err := s.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if live(s, b) {
		t.Fatal("a session outlived the revocation of its token")
	}

	ad := open(admin, time.Hour)
	if !live(s, ad) {
		t.Fatal("admin session not live")
	}
	rotated, err := New(ctx, db, "another-admin-token-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if live(rotated, ad) {
		t.Fatal("a session of the bootstrap admin outlived a new admin token")
	}
	if unset, _ := New(ctx, db, ""); live(unset, ad) {
		t.Fatal("a session of the bootstrap admin outlived the removal of the admin token")
	}

	if live(s, open(admin, -time.Second)) {
		t.Fatal("an expired session is live")
	}
	if live(s, "") || live(s, "forged") {
		t.Fatal("an unknown session id is live")
	}
}

func TestThrottle(t *testing.T) {
	th := NewThrottle(3, time.Hour)
	for i := range 3 {
		if err := th.Check("192.0.2.1:1000"); err != nil {
			t.Fatalf("failure %d refused: %v", i, err)
		}
		th.Fail("192.0.2.1:1000")
	}
	err := th.Check("192.0.2.1:2000") // another port, same client
	var te *httpapi.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > time.Hour {
		t.Fatalf("after the budget: %v, want a ThrottledError with a wait", err)
	}
	if status, _ := httpapi.Classify(err); status != 429 {
		t.Fatalf("status %d, want 429", status)
	}
	if err := th.Check("192.0.2.2:1000"); err != nil {
		t.Fatalf("another address throttled: %v", err)
	}
	// IPv6 clients are counted per /64.
	for range 3 {
		th.Fail("[2001:db8:1:2::1]:1")
	}
	if th.Check("[2001:db8:1:2::ffff]:1") == nil || th.Check("[2001:db8:1:3::1]:1") != nil {
		t.Fatal("IPv6: want the same /64 throttled, another /64 not")
	}
}

// TestAuthenticateRequestCountsOnlyFailures: a client that authenticates correctly is never
// refused, however often; wrong tokens spend the budget, then even a right one waits.
func TestAuthenticateRequestCountsOnlyFailures(t *testing.T) {
	s := newStore(t)
	r := httptest.NewRequest("GET", "/api/whoami", nil)
	r.RemoteAddr = "198.51.100.7:5555"
	for i := range 100 {
		if _, err := s.AuthenticateRequest(r, "bootstrap-admin"); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
	}
	var last error
	for range DefaultFailBurst + 1 {
		_, last = s.AuthenticateRequest(r, "wrong")
	}
	if status, _ := httpapi.Classify(last); status != 429 {
		t.Fatalf("after %d failures: %d, want 429", DefaultFailBurst+1, status)
	}
	if _, err := s.AuthenticateRequest(r, "bootstrap-admin"); err == nil {
		t.Fatal("a throttled address may still try tokens")
	}
}
