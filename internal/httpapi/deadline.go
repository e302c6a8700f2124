package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Request bodies: http.Server's ReadHeaderTimeout only covers the headers, so that a client
// trickling a body one byte at a time would hold a connection and a handler for as long as it
// likes. BodyDeadline bounds the whole body of every request; IdleBody replaces that bound, on
// the upload routes, by a bound on the time without progress, since a recording may rightly
// take an hour to arrive.
//
// The deadline is cleared once the body is read to its end: the server then watches the same
// connection for the client going away, and a deadline left running would cancel the request
// (a long replay download, an event stream) when it expires. Requests without a body get no
// deadline for the same reason.

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

	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.idle > 0 {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.clear()
	}
	if err != nil && isTimeout(err) {
		return n, errors.Join(ErrBodyTimeout, err)
	}
	return n, err
}

// clear lifts the deadline once the body is in: see the note at the top of this file.
func (b *deadlineBody) clear() {
	b.once.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
