package auth

import (
	"codeberg.org/atelier/atelier/internal/sqldb"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Session is a signed-in browser: who opened it and until when. Its id is a random secret held
// only by the browser's cookie; the database keeps its SHA-256, as for tokens.
type Session struct {
	Principal Principal
	ExpiresAt time.Time
}

// ErrNoSession is returned for a session id that is unknown, expired or ended.
var ErrNoSession = fmt.Errorf("auth: no such session: %w", httpapi.ErrUnauthorized)

// OpenSession starts a session for p that lasts ttl and returns its id, to be kept in a cookie.
// Expired sessions are removed on the way, so the table only holds live ones.
func (s *Store) OpenSession(ctx context.Context, p Principal, ttl time.Duration) (string, Session, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Session{}, fmt.Errorf("auth: open session: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	// Whole seconds, in UTC, like the tokens' times.
	now := time.Now().UTC().Truncate(time.Second)
	sess := Session{Principal: p, ExpiresAt: now.Add(ttl)}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, sqldb.FormatTime(now)); err != nil {
		return "", Session{}, fmt.Errorf("auth: open session: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, token_id, name, role, admin_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		hash(id), p.TokenID, p.Name, string(p.Role), s.adminHash(p), sqldb.FormatTime(now), sqldb.FormatTime(sess.ExpiresAt))
	if err != nil {
		return "", Session{}, fmt.Errorf("auth: open session: %w", err)
	}
	return id, sess, nil
}

// adminHash ties a session of the bootstrap admin (token id 0) to the admin token it was opened
// with: a new ATELIER_ADMIN_TOKEN ends those sessions. Sessions of stored tokens end with
// the token's revocation instead.
func (s *Store) adminHash(p Principal) string {
	if p.TokenID != 0 || s.adminToken == "" {
		return ""
	}
	return hash(s.adminToken)
}

// Session returns the live session with the given id: known, not expired, not ended, and opened
// with a token that is still valid. Anything else is ErrNoSession.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	if id == "" {
		return Session{}, ErrNoSession
	}
	var (
		sess    Session
		adminFP string
		tokenID sql.NullInt64
		revoked sql.NullTime
	)
	err := s.db.QueryRowContext(ctx, `SELECT s.token_id, s.name, s.role, s.admin_hash, s.expires_at, t.id, t.revoked_at
		FROM sessions s LEFT JOIN tokens t ON t.id = s.token_id WHERE s.hash = $1`, hash(id)).
		Scan(&sess.Principal.TokenID, &sess.Principal.Name, &sess.Principal.Role, &adminFP, &sess.ExpiresAt, &tokenID, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: session: %w", err)
	}
	switch {
	case !time.Now().Before(sess.ExpiresAt):
		return Session{}, ErrNoSession
	case sess.Principal.TokenID == 0 && (adminFP == "" || adminFP != s.adminHash(sess.Principal)):
		return Session{}, ErrNoSession // the bootstrap admin token changed (or is gone)
	case sess.Principal.TokenID != 0 && (!tokenID.Valid || revoked.Valid):
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// CloseSession ends the session with the given id (signing out). Ending an unknown session is
// not an error: the outcome is the same.
func (s *Store) CloseSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1`, hash(id)); err != nil {
		return fmt.Errorf("auth: close session: %w", err)
	}
	return nil
}
