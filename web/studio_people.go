package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// firstRunTokenName names the admin token the first-run link creates.
const firstRunTokenName = "first admin"

// studioSession returns the studio session of r; without one it answers the sign-in form and
// ok=false (the caller returns err).
func (s *Site) studioSession(w http.ResponseWriter, r *http.Request) (sess session, ok bool, err error) {
	sess, ok = s.sessionOf(r)
	if !ok {
		return session{}, false, s.signInForm(w, r, http.StatusOK, "")
	}
	return sess, true, nil
}

// People is /studio/people (admins): the access tokens, with forms that create an animator's
// token (its secret shown once, with a copy button) and revoke one, through /api/tokens.
func (s *Site) People(w http.ResponseWriter, r *http.Request) error {
	sess, ok, err := s.studioSession(w, r)
	if !ok {
		return err
	}
	if sess.Principal.Role != auth.RoleAdmin {
		return httpapi.Errorf(http.StatusForbidden, "only an administrator manages access tokens")
	}
	if s.auth == nil {
		return fmt.Errorf("web: no token store: %w", httpapi.ErrUnavailable)
	}
	tokens, err := s.auth.List(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "studio_people", "people.title", map[string]any{
		"Who": sess.Principal, "Tokens": tokens,
	})
}

// FirstRun is GET /studio/first-run?code=…, the link `atelier serve` prints when nobody can
// act as admin. It does not use the code: a link preview or a mail scanner that fetches the
// URL must not spend it. The page asks for one click, which POSTs the code (FirstRunUse).
func (s *Site) FirstRun(w http.ResponseWriter, r *http.Request) error {
	if s.firstRun == nil {
		return fmt.Errorf("web: no first-run link on this server: %w", httpapi.ErrNotFound)
	}
	code := r.URL.Query().Get("code")
	if err := s.firstRun.Check(code); err != nil {
		httpapi.Logger(r.Context()).Info("first-run link refused", "error", err.Error())
		return s.render(w, r, http.StatusGone, "studio_first_run", "firstrun.title", map[string]any{"State": "invalid"})
	}
	v, err := s.setLoginCSRF(w)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "studio_first_run", "firstrun.title", map[string]any{
		"State": "confirm", "Code": code, "LoginCSRF": v, "Expires": s.firstRun.Expires(),
	})
}

// FirstRunUse is POST /studio/first-run: the code is used (once), an admin token named "first
// admin" is created and a studio session opened with it. The page shows the token once: the
// session lasts hours, the token is how the admin signs in again.
func (s *Site) FirstRunUse(w http.ResponseWriter, r *http.Request) error {
	if s.firstRun == nil || s.auth == nil {
		return fmt.Errorf("web: no first-run link on this server: %w", httpapi.ErrNotFound)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return httpapi.Errorf(http.StatusBadRequest, "unreadable form")
	}
	if err := s.checkLoginCSRF(r); err != nil {
		return err
	}
	// An admin made meanwhile (atelier token create -role admin) closes the first-run door.
	if has, err := s.auth.HasAdmin(r.Context()); err != nil {
		return err
	} else if has {
		return s.render(w, r, http.StatusGone, "studio_first_run", "firstrun.title", map[string]any{"State": "invalid"})
	}
	if err := s.firstRun.Use(strings.TrimSpace(r.PostForm.Get("code"))); err != nil {
		if errors.Is(err, httpapi.ErrUnauthorized) {
			httpapi.Logger(r.Context()).Info("first-run link refused", "error", err.Error())
			return s.render(w, r, http.StatusGone, "studio_first_run", "firstrun.title", map[string]any{"State": "invalid"})
		}
		return err
	}
	secret, tok, err := s.auth.Create(r.Context(), firstRunTokenName, auth.RoleAdmin)
	if err != nil {
		return err
	}
	p := auth.Principal{TokenID: tok.ID, Name: tok.Name, Role: tok.Role}
	if err := s.startSession(w, r, p); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/studio", MaxAge: -1})
	httpapi.Logger(r.Context()).Info("first-run link used: admin token created", "token_id", tok.ID)
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "studio_first_run", "firstrun.title", map[string]any{
		"State": "done", "Token": secret, "Created": tok.CreatedAt.Format(time.DateOnly),
	})
}
