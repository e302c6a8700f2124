package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// fakeClock is moved by the test: no sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFirstRunCodeIsSingleUse(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)}
	c, code, err := NewFirstRunCode(clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) < 40 {
		t.Fatalf("code %q is too short to be unguessable", code)
	}
	if err := c.Use("wrong" + code); !errors.Is(err, httpapi.ErrUnauthorized) {
		t.Fatalf("a wrong code: %v, want unauthorized", err)
	}
	if err := c.Check(code); err != nil {
		t.Fatalf("Check before use: %v", err)
	}
	clock.add(59 * time.Minute)
	if err := c.Use(code); err != nil {
		t.Fatalf("first use within the hour: %v", err)
	}
	if err := c.Use(code); !errors.Is(err, httpapi.ErrUnauthorized) {
		t.Fatalf("second use: %v, want unauthorized", err)
	}
	if err := c.Check(code); err == nil {
		t.Fatal("Check after use accepts the code")
	}
}

func TestFirstRunCodeExpires(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)}
	c, code, err := NewFirstRunCode(clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.now().Add(time.Hour); !c.Expires().Equal(want) {
		t.Fatalf("expires %v, want %v", c.Expires(), want)
	}
	clock.add(time.Hour)
	if err := c.Use(code); !errors.Is(err, httpapi.ErrUnauthorized) {
		t.Fatalf("use after an hour: %v, want unauthorized", err)
	}
}

func TestFirstRunCodeConcurrentUseOnce(t *testing.T) {
	c, code, err := NewFirstRunCode(nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Use(code) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d uses succeeded, want exactly 1", ok)
	}
}

func TestHasAdmin(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	check := func(want bool) {
		t.Helper()
		got, err := s.HasAdmin(ctx)
		if err != nil || got != want {
			t.Fatalf("HasAdmin = %v %v, want %v", got, err, want)
		}
	}
	check(false)
	if _, _, err := s.Create(ctx, "Camille", RoleAnimator); err != nil {
		t.Fatal(err)
	}
	check(false)
	_, admin, err := s.Create(ctx, "Root", RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	check(true)
	if err := s.Revoke(ctx, admin.ID); err != nil {
		t.Fatal(err)
	}
	check(false)
	configured, err := New(ctx, db, "bootstrap-token")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := configured.HasAdmin(ctx); !ok {
		t.Fatal("a configured admin token is an admin")
	}
}
