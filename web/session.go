package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
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

// session is a signed-in studio browser. The cookie holds only a random id; the session itself
// lives in the database (auth.Store), so that signing out, revoking the token, or changing the
// bootstrap admin token ends it at once, whoever still holds a copy of the cookie.
type session struct {
	ID        string
	Principal auth.Principal
}

func (s *Site) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.secret)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// startSession opens a session for p and sets its cookie.
func (s *Site) startSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if s.auth == nil {
		return fmt.Errorf("web: session: no token store: %w", httpapi.ErrUnavailable)
	}
	id, _, err := s.auth.OpenSession(r.Context(), p, sessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.publicURL, "https://"),
	})
	return nil
}

// endSession ends the request's session on the server and clears its cookie.
func (s *Site) endSession(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	if c, err := r.Cookie(sessionCookie); err == nil && s.auth != nil {
		return s.auth.CloseSession(r.Context(), c.Value)
	}
	return nil
}

// sessionOf returns the live session the request carries, if any.
func (s *Site) sessionOf(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || s.auth == nil {
		return session{}, false
	}
	sess, err := s.auth.Session(r.Context(), c.Value)
	if err != nil {
		return session{}, false
	}
	return session{ID: c.Value, Principal: sess.Principal}, true
}

// csrfToken is the token forms and API calls of this session must send back.
func (s *Site) csrfToken(sess session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.ID))
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
		p, err := s.auth.AuthenticateRequest(r, tok)
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
	visiblePublic   visibility = iota // published: listed, anyone
	visibleUnlisted                   // unlisted: anyone with the link, but never indexed or shared-cached
	visibleDraft                      // only animators
)

// visibility decides whether the request may see replay id, and where its current files are: published and unlisted replays are
// public; anything else needs an animator. A draft asked for without credentials is "not
// found", exactly as a replay that does not exist, so that its existence does not leak.
//
// The publication state is read from the catalog on every request, never cached: unpublishing
// must take effect at the next segment a player asks for.
func (s *Site) visibility(r *http.Request, id string) (vis visibility, render string, err error) {
	if s.serving == nil {
		return 0, "", fmt.Errorf("web: no catalog to check replay %s: %w", id, httpapi.ErrUnavailable)
	}
	pub, render, err := s.serving(r.Context(), id)
	if err != nil {
		return 0, "", err
	}
	vis, err = s.visibilityOf(r, id, pub)
	return vis, render, err
}

// visibilityOf decides for a replay whose publication state is known.
func (s *Site) visibilityOf(r *http.Request, id, pub string) (visibility, error) {
	switch pub {
	case "published":
		return visiblePublic, nil
	case "unlisted":
		return visibleUnlisted, nil
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

// setVisibilityHeaders marks a reply about a replay (its page or one of its files): what is not
// published stays out of shared caches and search engines; what is published may be cached but
// must be revalidated, since it can be unpublished at any time.
func setVisibilityHeaders(h http.Header, vis visibility) {
	switch vis {
	case visiblePublic:
		h.Set("Cache-Control", "public, no-cache")
	default:
		h.Set("Cache-Control", "private, no-store")
		h.Set("X-Robots-Tag", "noindex, nofollow")
	}
}
