// Package auth keeps Atelier's access tokens and checks them on write APIs.
//
// Tokens are random, shown once at creation, and stored only as their SHA-256: they carry 256 bits
// of entropy, so a slow password hash would add cost without adding safety.
//
// It also keeps the studio's browser sessions (session.go), which end with sign-out, with the
// revocation of their token, or with a change of the bootstrap admin token, and throttles failed
// authentications per client address (throttle.go).
//
// When nobody can act as admin (HasAdmin), `atelier serve` prints a first-run sign-in link whose
// one-time code (FirstRunCode, firstrun.go) opens the studio as admin once, within an hour.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
)

// Role is what a token may do. Admin can do everything an animator can.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleAnimator Role = "animator"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleAdmin, RoleAnimator:
		return Role(s), nil
	}
	return "", httpapi.Invalid("role", "unknown role %q: use admin or animator", s)
}

func (r Role) allows(need Role) bool { return r == RoleAdmin || r == need }

// Principal is who made a request.
type Principal struct {
	TokenID int64  `json:"token_id"`
	Name    string `json:"name"`
	Role    Role   `json:"role"`
}

// Token is a stored token, without its secret.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Schema is the auth schema: goose files under migrations/, after the legacy steps on SQLite.
var Schema = sqldb.Schema{Name: "auth", FS: migrationFiles, Legacy: legacySteps}

//go:embed migrations
var migrationFiles embed.FS

// legacySteps are the steps of the schema before goose (sqldb.Schema.Legacy): frozen, never edit
// or append; a change is a new goose file in migrations/sqlite and migrations/postgres.
var legacySteps = []string{
	`CREATE TABLE tokens (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		role TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		created_at TIMESTAMP NOT NULL,
		revoked_at TIMESTAMP
	)`,
	// Studio sessions live here, not in the cookie alone, so that signing out, revoking the
	// token or changing the bootstrap admin token ends them at once (see session.go).
	`CREATE TABLE sessions (
		hash TEXT PRIMARY KEY,
		token_id INTEGER NOT NULL,
		name TEXT NOT NULL,
		role TEXT NOT NULL,
		admin_hash TEXT NOT NULL,
		created_at TIMESTAMP NOT NULL,
		expires_at TIMESTAMP NOT NULL
	)`,
	`CREATE INDEX sessions_expires ON sessions (expires_at)`,
	// Times were bound as time.Time, which the driver stores as Go's text ("2006-01-02
	// 15:04:05.999999999 +0000 UTC"): now sqldb.TimeFormat, like every component's. The
	// TIMESTAMP columns still scan into time.Time (the driver parses the text).
	sqldb.NormalizeTimes("tokens", "created_at", "revoked_at"),
	sqldb.NormalizeTimes("sessions", "created_at", "expires_at"),
}

// Store keeps tokens in the database; adminToken, when set, is the bootstrap admin token.
type Store struct {
	db         *sql.DB
	adminToken string
	throttle   *Throttle
}

// New migrates the tokens table and returns the store.
func New(ctx context.Context, db *sql.DB, adminToken string) (*Store, error) {
	if err := sqldb.Migrate(ctx, db, Schema); err != nil {
		return nil, err
	}
	return &Store{db: db, adminToken: adminToken, throttle: NewThrottle(DefaultFailBurst, DefaultFailRefill)}, nil
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create makes a new token and returns its secret, which is not stored and cannot be shown again.
func (s *Store) Create(ctx context.Context, name string, role Role) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Token{}, httpapi.Invalid("name", "a token needs a name, e.g. the animator's")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, fmt.Errorf("auth: create token: %w", err)
	}
	secret := "atl_" + base64.RawURLEncoding.EncodeToString(b[:])
	t := Token{Name: name, Role: role, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	err := s.db.QueryRowContext(ctx, `INSERT INTO tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		t.Name, string(t.Role), hash(secret), sqldb.FormatTime(t.CreatedAt)).Scan(&t.ID)
	if err != nil {
		return "", Token{}, fmt.Errorf("auth: create token: %w", err)
	}
	return secret, t, nil
}

// List returns all tokens, newest first.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &revoked); err != nil {
			return nil, fmt.Errorf("auth: list tokens: %w", err)
		}
		if revoked.Valid {
			t.RevokedAt = &revoked.Time
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Revoke disables the token with the given id.
func (s *Store) Revoke(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
		sqldb.FormatTime(time.Now()), id)
	if err != nil {
		return fmt.Errorf("auth: revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("auth: token %d (or it is already revoked): %w", id, httpapi.ErrNotFound)
	}
	return nil
}

// Active reports whether the token with the given id exists and is not revoked, so that sessions
// opened with a token end as soon as it is revoked.
func (s *Store) Active(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE id = $1 AND revoked_at IS NULL`, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("auth: check token %d: %w", id, err)
	}
	return n == 1, nil
}

// Authenticate returns who holds token, or an error wrapping httpapi.ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, fmt.Errorf("auth: no token: %w", httpapi.ErrUnauthorized)
	}
	if s.adminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.adminToken)) == 1 {
		return Principal{Name: "admin", Role: RoleAdmin}, nil
	}
	var p Principal
	err := s.db.QueryRowContext(ctx, `SELECT id, name, role FROM tokens WHERE hash = $1 AND revoked_at IS NULL`,
		hash(token)).Scan(&p.TokenID, &p.Name, &p.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, fmt.Errorf("auth: unknown or revoked token: %w", httpapi.ErrUnauthorized)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: check token: %w", err)
	}
	return p, nil
}

func isUnauthorized(err error) bool { return errors.Is(err, httpapi.ErrUnauthorized) }

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of an authenticated request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// BearerToken extracts the token of an "Authorization: Bearer TOKEN" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Resolver finds the principal of a request other than by bearer token (e.g. a session cookie of
// the web pages). It returns ok=false when the request carries no such credential.
type Resolver func(r *http.Request) (p Principal, ok bool, err error)

// Require wraps next so that only a request holding a token of role need (or admin) reaches it:
// no or unknown token -> 401, wrong role -> 403.
func (s *Store) Require(need Role, next http.Handler, others ...Resolver) http.Handler {
	return httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.principal(r, others)
		if err != nil {
			return err
		}
		if !p.Role.allows(need) {
			return fmt.Errorf("auth: this needs the %s role, the token has %s: %w", need, p.Role, httpapi.ErrForbidden)
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		return nil
	})
}

// Has reports whether a request holds a credential of role need (or admin): a bearer token, or
// what one of others finds. Missing or bad credentials are just false, for public routes that
// show more to animators.
func (s *Store) Has(r *http.Request, need Role, others ...Resolver) bool {
	p, err := s.principal(r, others)
	return err == nil && p.Role.allows(need)
}

func (s *Store) principal(r *http.Request, others []Resolver) (Principal, error) {
	if tok := BearerToken(r); tok != "" {
		return s.AuthenticateRequest(r, tok)
	}
	for _, res := range others {
		p, ok, err := res(r)
		if err != nil {
			return Principal{}, err
		}
		if ok {
			return p, nil
		}
	}
	return Principal{}, fmt.Errorf("auth: no credentials: %w", httpapi.ErrUnauthorized)
}
