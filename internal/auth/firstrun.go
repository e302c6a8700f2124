package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// HasAdmin reports whether anyone can act as admin: a bootstrap admin token is configured or an
// admin token that is not revoked is stored. Without one, `atelier serve` offers a first-run
// sign-in link (see FirstRunCode).
func (s *Store) HasAdmin(ctx context.Context) (bool, error) {
	if s.adminToken != "" {
		return true, nil
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE role = $1 AND revoked_at IS NULL`, string(RoleAdmin)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("auth: look for an admin: %w", err)
	}
	return n > 0, nil
}

// FirstRunTTL is how long the first-run sign-in link works.
const FirstRunTTL = time.Hour

// FirstRunCode is the one-time code of the first-run sign-in link, the way Jupyter prints its
// token URL: it lets whoever started the server open the studio as admin once, within
// FirstRunTTL. Only its SHA-256 is kept, in memory: a restart prints a new link and the old one
// stops working. The zero value is not usable; make one with NewFirstRunCode.
type FirstRunCode struct {
	mu      sync.Mutex
	hash    [sha256.Size]byte
	expires time.Time
	used    bool
	now     func() time.Time
}

// NewFirstRunCode makes a code valid for FirstRunTTL from now() (time.Now when nil) and returns
// it with its secret, which is not kept.
func NewFirstRunCode(now func() time.Time) (*FirstRunCode, string, error) {
	if now == nil {
		now = time.Now
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", fmt.Errorf("auth: first-run code: %w", err)
	}
	code := base64.RawURLEncoding.EncodeToString(b[:])
	return &FirstRunCode{hash: sha256.Sum256([]byte(code)), expires: now().Add(FirstRunTTL), now: now}, code, nil
}

// Expires is when the code stops working.
func (c *FirstRunCode) Expires() time.Time { return c.expires }

// Check reports whether code would be accepted now, without using it (the page that asks for
// the confirming click).
func (c *FirstRunCode) Check(code string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.check(code)
}

func (c *FirstRunCode) check(code string) error {
	sum := sha256.Sum256([]byte(code))
	switch {
	case subtle.ConstantTimeCompare(sum[:], c.hash[:]) != 1:
		return fmt.Errorf("auth: not the first-run code: %w", httpapi.ErrUnauthorized)
	case c.used:
		return fmt.Errorf("auth: the first-run link was already used: %w", httpapi.ErrUnauthorized)
	case !c.now().Before(c.expires):
		return fmt.Errorf("auth: the first-run link expired at %s: %w", c.expires.UTC().Format(time.RFC3339), httpapi.ErrUnauthorized)
	}
	return nil
}

// Use accepts code once: the first valid call succeeds, every later one fails, as does any
// call after the expiry. Errors wrap httpapi.ErrUnauthorized.
func (c *FirstRunCode) Use(code string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(code); err != nil {
		return err
	}
	c.used = true
	return nil
}
