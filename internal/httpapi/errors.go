// Package httpapi holds what every HTTP handler of Atelier shares: the handler type that returns
// an error, the errors that carry an HTTP meaning, and the one place that turns errors into replies.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Sentinels that domain packages wrap (fmt.Errorf("catalog: video %s: %w", id, httpapi.ErrNotFound))
// so that WriteError can pick the status without knowing the domain.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnauthorized = errors.New("missing or invalid token")
	ErrForbidden    = errors.New("forbidden")
	ErrUnavailable  = errors.New("temporarily unavailable")
	// ErrBusy: the database is locked by other writes; the client should retry shortly
	// (503 with Retry-After, never 500).
	ErrBusy = errors.New("busy")
)

// NotFoundMessage is the body of every 404 built from ErrNotFound.
const NotFoundMessage = "not found"

// busyRetryAfter is the Retry-After, in seconds, of an ErrBusy reply.
const busyRetryAfter = "2"

// InvalidError is a validation failure: the field at fault and a message a person can act on.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Invalid returns an *InvalidError for field with a formatted message.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// PublicError carries a status and a text that is safe to show the client, apart from the wrapped
// error that goes to the log.
type PublicError struct {
	Status int
	Msg    string
	Err    error
}

func (e *PublicError) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}
func (e *PublicError) Unwrap() error { return e.Err }

// Errorf returns a *PublicError with the given status and client-safe message.
func Errorf(status int, format string, args ...any) error {
	return &PublicError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// ThrottledError refuses a client that has to wait before asking again (429 with Retry-After).
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts: retry in %s", e.seconds())
}

// seconds is the wait rounded up to whole seconds, at least 1, as Retry-After carries it.
func (e *ThrottledError) seconds() string {
	return strconv.Itoa(max(1, int((e.RetryAfter+time.Second-1)/time.Second)))
}

// SetHeaders adds the headers that err's reply needs beside its status (Retry-After,
// WWW-Authenticate); page handlers that render their own error bodies call it too.
func SetHeaders(w http.ResponseWriter, err error) {
	var th *ThrottledError
	if errors.As(err, &th) {
		w.Header().Set("Retry-After", th.seconds())
	}
	if errors.Is(err, ErrBusy) {
		w.Header().Set("Retry-After", busyRetryAfter)
	}
	if status, _ := Classify(err); status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="atelier"`)
	}
}

// Body is the JSON shape of every error reply.
type Body struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// Classify maps err onto a status code and a client-safe body. It is the single place where
// errors become HTTP semantics.
func Classify(err error) (int, Body) {
	var inv *InvalidError
	var pub *PublicError
	var maxBytes *http.MaxBytesError
	var throttled *ThrottledError
	switch {
	case errors.As(err, &throttled):
		return http.StatusTooManyRequests, Body{Error: "too many failed authentications from your address: retry in " + throttled.seconds() + " s"}
	case errors.As(err, &inv):
		return http.StatusUnprocessableEntity, Body{Error: inv.Message, Field: inv.Field}
	case errors.As(err, &pub):
		return pub.Status, Body{Error: pub.Msg}
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge, Body{Error: fmt.Sprintf("request body larger than the limit of %d bytes", maxBytes.Limit)}
	case errors.Is(err, ErrNotFound):
		// One body for every 404: the chain may say why (a draft, a revoked token), and a
		// hidden thing must answer exactly as a missing one does. The URL says what was asked.
		return http.StatusNotFound, Body{Error: NotFoundMessage}
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, Body{Error: err.Error()}
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, Body{Error: "missing or invalid token: send Authorization: Bearer TOKEN"}
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, Body{Error: err.Error()}
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable, Body{Error: "the server is busy with other changes; retry in a few seconds"}
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, Body{Error: err.Error()}
	case errors.Is(err, context.Canceled):
		return 499, Body{Error: "request cancelled"}
	default:
		return http.StatusInternalServerError, Body{Error: "internal error; the server log has the details (request id in X-Request-Id)"}
	}
}

// WriteError logs err once with the request's logger and writes the mapped JSON reply.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := Classify(err)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	Logger(r.Context()).Log(r.Context(), level, "request failed", "status", status, "error", err.Error())
	SetHeaders(w, err)
	WriteJSON(w, status, body)
}

// HandlerFunc is an HTTP handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		WriteError(w, r, err)
	}
}
