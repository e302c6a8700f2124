package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// loginCookie holds the double-submit CSRF value of the sign-in form (there is no session yet to
// derive it from): the form must send back the value of the cookie, which another site cannot read.
const loginCookie = "atelier_login"

// Studio is /studio: the sign-in form, or the animators' desk.
func (s *Site) Studio(w http.ResponseWriter, r *http.Request) error {
	sess, ok := s.sessionOf(r)
	if !ok {
		return s.signInForm(w, r, http.StatusOK, "")
	}
	var report catalog.FreshnessReport
	if s.catalog != nil {
		var err error
		// Animators also see their drafts: a draft about an old version needs work too.
		if report, err = s.catalog.Freshness(r.Context(), "", true); err != nil {
			return err
		}
	}
	var recent []catalog.Replay
	if s.catalog != nil {
		l, err := s.catalog.ListReplays(r.Context(), catalog.ListOptions{Sort: "-created_at", Page: httpapi.Page{Limit: 20}})
		if err != nil {
			return err
		}
		recent = l.Items
		// The list leaves tracks out; the studio shows them for review (20 small queries).
		for i := range recent {
			if rp, err := s.catalog.Replay(r.Context(), recent[i].ID); err == nil {
				recent[i].Tracks = rp.Tracks
			}
		}
	}
	l := pickLang(w, r)
	cutMsgs, err := scriptMsgs(l, timelineScriptKeys)
	if err != nil {
		return err
	}
	jobMsgs, err := scriptMsgs(l, jobScriptKeys)
	if err != nil {
		return err
	}
	// The jobs list (jobs.js) names the recordings it reads from the pipeline by their titles.
	titles := map[string]string{}
	for _, rp := range recent {
		titles[rp.ID] = rp.Title
	}
	tb, err := json.Marshal(titles)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "studio", "studio.title", map[string]any{
		"Who": sess.Principal, "Todo": report.Software, "Recent": recent, "Languages": filterLanguages,
		"CutMsgs": cutMsgs, "JobMsgs": jobMsgs, "Titles": string(tb),
	})
}

func (s *Site) signInForm(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	v, err := s.setLoginCSRF(w)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, status, "studio_login", "studio.signin", map[string]any{"LoginCSRF": v, "Error": msg})
}

// SignIn is POST /studio/login: a token of an animator (or admin) opens a session.
func (s *Site) SignIn(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return httpapi.Errorf(http.StatusBadRequest, "unreadable form")
	}
	if err := s.checkLoginCSRF(r); err != nil {
		return err
	}
	if s.auth == nil {
		return fmt.Errorf("web: no token store: %w", httpapi.ErrUnavailable)
	}
	p, err := s.auth.AuthenticateRequest(r, strings.TrimSpace(r.PostForm.Get("token")))
	if err == nil && p.Role != auth.RoleAnimator && p.Role != auth.RoleAdmin {
		err = fmt.Errorf("web: role %s: %w", p.Role, httpapi.ErrForbidden)
	}
	var throttled *httpapi.ThrottledError
	if errors.As(err, &throttled) {
		httpapi.Logger(r.Context()).Info("studio sign-in throttled", "error", err.Error())
		httpapi.SetHeaders(w, err)
		return s.signInForm(w, r, http.StatusTooManyRequests, pickLang(w, r).T("studio.throttled"))
	}
	if err != nil {
		if errors.Is(err, httpapi.ErrUnauthorized) || errors.Is(err, httpapi.ErrForbidden) {
			httpapi.Logger(r.Context()).Info("studio sign-in refused", "error", err.Error())
			return s.signInForm(w, r, http.StatusUnauthorized, pickLang(w, r).T("studio.bad"))
		}
		return err
	}
	if err := s.startSession(w, r, p); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/studio", MaxAge: -1})
	http.Redirect(w, r, "/studio", http.StatusSeeOther)
	return nil
}

// SignOut is POST /studio/logout (with the session's CSRF token).
func (s *Site) SignOut(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if sess, ok := s.sessionOf(r); ok && !s.validCSRF(sess, r.PostFormValue(csrfField)) {
		return fmt.Errorf("web: sign-out without CSRF token: %w", httpapi.ErrForbidden)
	}
	if err := s.endSession(w, r); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// setLoginCSRF sets the double-submit cookie of a form posted before any session exists (sign
// in, first run) and returns the value the form must send back.
func (s *Site) setLoginCSRF(w http.ResponseWriter) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("web: sign-in form: %w", err)
	}
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v, Path: "/studio", MaxAge: 3600, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.publicURL, "https://")})
	return v, nil
}

// checkLoginCSRF checks that a parsed form sends back the value of the login cookie.
func (s *Site) checkLoginCSRF(r *http.Request) error {
	c, err := r.Cookie(loginCookie)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(r.PostForm.Get(csrfField))) {
		return fmt.Errorf("web: sign-in without the form's CSRF value: %w", httpapi.ErrForbidden)
	}
	return nil
}
