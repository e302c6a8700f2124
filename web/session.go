package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

const (
	sessionCookie = "atelier_session"
	sessionTTL    = 12 * time.Hour
	// csrfHeader carries the CSRF token on the studio's API calls; forms send the csrfField.
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf"
)

// session is what the studio cookie holds, signed with the site's secret (HMAC-SHA256). It keeps
// the principal, not the token: the token is shown once and never stored anywhere else.
type session struct {
	Principal auth.Principal `json:"p"`
	Expires   int64          `json:"exp"`
	Nonce     string         `json:"n"` // random per sign-in; the CSRF token derives from it
}

func (s *Site) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.secret)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// startSession sets the session cookie for p.
func (s *Site) startSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return fmt.Errorf("web: session: %w", err)
	}
	sess := session{Principal: p, Expires: time.Now().Add(sessionTTL).Unix(), Nonce: base64.RawURLEncoding.EncodeToString(n[:])}
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("web: session: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	sig := base64.RawURLEncoding.EncodeToString(s.mac("session", payload))
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: payload + "." + sig, Path: "/",
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.publicURL, "https://"),
	})
	return nil
}

func (s *Site) endSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// sessionOf returns the valid session the request carries, if any.
func (s *Site) sessionOf(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return session{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac("session", payload)) {
		return session{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, false
	}
	var sess session
	if json.Unmarshal(b, &sess) != nil || time.Now().Unix() > sess.Expires {
		return session{}, false
	}
	if !s.tokenLive(r.Context(), sess.Principal) {
		return session{}, false
	}
	return sess, true
}

// tokenLive reports whether the token a session was opened with is still valid: revoking a
// token ends its sessions at once. The bootstrap admin token (id 0) lives in the configuration.
func (s *Site) tokenLive(ctx context.Context, p auth.Principal) bool {
	if p.TokenID == 0 || s.auth == nil {
		return true
	}
	live, err := s.auth.Active(ctx, p.TokenID)
	return err == nil && live
}

// csrfToken is the token forms and API calls of this session must send back.
func (s *Site) csrfToken(sess session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.Nonce))
}

func (s *Site) validCSRF(sess session, got string) bool {
	want := s.csrfToken(sess)
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Resolver lets the studio's session cookie authorise API calls (auth.Store.Require tries it
// after the bearer token). Unsafe methods must also carry the session's CSRF token in the
// X-CSRF-Token header (or the csrf form field), so that no other site can make a signed-in
// browser write, even where SameSite=Strict is not enforced.
func (s *Site) Resolver() auth.Resolver {
	return func(r *http.Request) (auth.Principal, bool, error) {
		sess, ok := s.sessionOf(r)
		if !ok {
			return auth.Principal{}, false, nil
		}
		if !safeMethod(r.Method) {
			tok := r.Header.Get(csrfHeader)
			if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
				tok = r.PostFormValue(csrfField)
			}
			if !s.validCSRF(sess, tok) {
				return auth.Principal{}, false, fmt.Errorf("web: session without a valid CSRF token: %w", httpapi.ErrForbidden)
			}
		}
		return sess.Principal, true, nil
	}
}

// animator returns who is signed in as animator (or admin) through a bearer token or the
// studio session; ok=false when the request carries neither.
func (s *Site) animator(r *http.Request) (auth.Principal, bool, error) {
	if tok := auth.BearerToken(r); tok != "" && s.auth != nil {
		p, err := s.auth.Authenticate(r.Context(), tok)
		if err != nil {
			return auth.Principal{}, false, err
		}
		return p, true, nil
	}
	if sess, ok := s.sessionOf(r); ok {
		return sess.Principal, true, nil
	}
	return auth.Principal{}, false, nil
}

type visibility int

const (
	visiblePublic visibility = iota // published or unlisted: anyone with the link
	visibleDraft                    // only animators
)

// visibility decides whether the request may see replay id: published and unlisted replays are
// public; anything else needs an animator. A draft asked for without credentials is "not
// found", so that its existence does not leak.
func (s *Site) visibility(r *http.Request, id string) (visibility, error) {
	if s.publication == nil {
		return 0, fmt.Errorf("web: no catalog to check replay %s: %w", id, httpapi.ErrUnavailable)
	}
	pub, err := s.pubCache.get(r.Context(), id, s.publication)
	if err != nil {
		return 0, err
	}
	return s.visibilityOf(r, id, pub)
}

// visibilityOf decides for a replay whose publication state is known.
func (s *Site) visibilityOf(r *http.Request, id, pub string) (visibility, error) {
	if pub == "published" || pub == "unlisted" {
		return visiblePublic, nil
	}
	_, ok, err := s.animator(r)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("web: replay %s is not published: %w", id, httpapi.ErrNotFound)
	}
	return visibleDraft, nil
}

// pubCache remembers publication states for a few seconds: a player asks for a segment every
// few seconds per viewer, and the catalog's Replay also computes freshness, chapters and tracks.
// A change of publication reaches the streams within pubCacheTTL.
type pubCache struct {
	mu sync.Mutex
	m  map[string]pubEntry
}

type pubEntry struct {
	pub string
	exp time.Time
}

const (
	pubCacheTTL = 5 * time.Second
	pubCacheMax = 10_000
)

func (c *pubCache) get(ctx context.Context, id string, load func(context.Context, string) (string, error)) (string, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.pub, nil
	}
	pub, err := load(ctx, id)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= pubCacheMax {
		c.m = map[string]pubEntry{}
	}
	c.m[id] = pubEntry{pub: pub, exp: now.Add(pubCacheTTL)}
	c.mu.Unlock()
	return pub, nil
}
