package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Throttle limits failed authentications per client address (bearer tokens and the studio's
// sign-in form). Only failures spend the budget: a client that authenticates correctly is never
// slowed, however often it asks. An address that has spent its budget is refused before its
// credential is checked, until the budget refills: checking first would let a guesser go on
// guessing at full speed and only learn of its success a little later.
//
// The client address is the TCP peer (r.RemoteAddr), never a forwarding header a client could
// forge; behind a reverse proxy every client shares the proxy's budget. IPv6 clients are counted
// per /64, the block a single host usually holds.
type Throttle struct {
	every rate.Limit
	burst int

	mu sync.Mutex
	m  map[netip.Prefix]*rate.Limiter
}

// Default budget: 10 failures at once, then one more every 6 seconds (10 a minute).
const (
	DefaultFailBurst  = 10
	DefaultFailRefill = 6 * time.Second
	throttleMaxKeys   = 100_000
)

// NewThrottle allows burst failures per address, refilled one per refill.
func NewThrottle(burst int, refill time.Duration) *Throttle {
	return &Throttle{every: rate.Every(refill), burst: burst, m: map[netip.Prefix]*rate.Limiter{}}
}

// clientKey is the address a request is counted under.
func clientKey(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // unknown peers (e.g. tests without RemoteAddr) share one budget
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// Check returns an error wrapping *httpapi.ThrottledError when the address has no failures left.
func (t *Throttle) Check(remoteAddr string) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	l, ok := t.m[clientKey(remoteAddr)]
	t.mu.Unlock()
	if !ok {
		return nil
	}
	now := time.Now()
	if l.TokensAt(now) >= 1 {
		return nil
	}
	r := l.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return fmt.Errorf("auth: too many failed authentications from %s: %w", remoteAddr,
		&httpapi.ThrottledError{RetryAfter: wait})
}

// Fail spends one failure of the address's budget.
func (t *Throttle) Fail(remoteAddr string) {
	if t == nil {
		return
	}
	key := clientKey(remoteAddr)
	now := time.Now()
	t.mu.Lock()
	l, ok := t.m[key]
	if !ok {
		if len(t.m) >= throttleMaxKeys {
			t.prune(now)
		}
		l = rate.NewLimiter(t.every, t.burst)
		t.m[key] = l
	}
	t.mu.Unlock()
	l.AllowN(now, 1)
}

// prune forgets addresses whose budget is full again: they are as if never seen. Called with mu
// held, when the map is at its cap, so that a flood of addresses cannot grow it without bound.
func (t *Throttle) prune(now time.Time) {
	for k, l := range t.m {
		if l.TokensAt(now) >= float64(t.burst) {
			delete(t.m, k)
		}
	}
	if len(t.m) >= throttleMaxKeys {
		// Every entry is still throttled: forget all rather than grow. An attacker with this
		// many addresses is not slowed by a per-address limit anyway.
		clear(t.m)
	}
}

// AuthenticateRequest authenticates token for a request from remoteAddr, counting a failure
// against the address and refusing addresses that failed too often (429 with Retry-After).
func (s *Store) AuthenticateRequest(r *http.Request, token string) (Principal, error) {
	if err := s.throttle.Check(r.RemoteAddr); err != nil {
		return Principal{}, err
	}
	p, err := s.Authenticate(r.Context(), token)
	if err != nil && isUnauthorized(err) {
		s.throttle.Fail(r.RemoteAddr)
	}
	return p, err
}
