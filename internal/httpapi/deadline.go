package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// Request bodies: http.Server's ReadHeaderTimeout only covers the headers, so that a client
// trickling a body one byte at a time would hold a connection and a handler for as long as it
// likes. BodyDeadline bounds the whole body of every request; IdleBody replaces that bound, on
// the upload routes, by a bound on the time without progress, since a recording may rightly
// take an hour to arrive.
//
// A deadline on the connection also bounds the server's own background read, which watches
// for the client going away once the body is read, and which cancels the request when it fails.
// net/http lifts the deadline when it starts that read at the end of a body; for a request
// without a body it starts before the handler, so such requests get no deadline at all (else a
// long reply, a replay or an event stream, would be cancelled when it expires).

// BodyDeadline gives the body of each request timeout to arrive in full.
func BodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			next.ServeHTTP(w, r) // a connection without deadlines (e.g. a test recorder)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r)
	})
}

// IdleBody lets the body of a request take as long as it needs, as long as no idle period
// without a byte lasts more than idle.
func IdleBody(idle time.Duration, next http.Handler) http.Handler {
	if idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(idle)); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, idle: idle}
		next.ServeHTTP(w, r)
	})
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && (r.ContentLength != 0 || len(r.TransferEncoding) > 0)
}

// ErrBodyTimeout is what a handler reads when the body did not arrive in time; it maps to 408.
var ErrBodyTimeout = Errorf(http.StatusRequestTimeout, "the request body arrived too slowly; send it again")

type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration // 0: one deadline for the whole body
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.idle > 0 {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil && isTimeout(err) {
		return n, errors.Join(ErrBodyTimeout, err)
	}
	return n, err
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
