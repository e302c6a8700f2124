package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// Limits of a release-feed fetch. A forge's releases.atom is tens of KiB; a feed larger than
// maxFeedBytes is not a release feed (or is an attack on memory), and one that takes longer than
// feedTimeout holds a sync worker for nothing.
const (
	maxFeedBytes     = 4 << 20
	feedTimeout      = 20 * time.Second
	maxFeedRedirects = 5
)

// ErrFeedRefused marks a release feed the sync refused to read: an address that is not public,
// a scheme other than http(s), too many redirects, or a body over the size cap.
var ErrFeedRefused = errors.New("release feed refused")

// FeedClientOptions tune NewFeedClient; the zero value is the safe default.
type FeedClientOptions struct {
	// AllowPrivate lets the client reach loopback, private and link-local addresses: for an
	// operator whose forge is on the local network (-allow-private-feeds).
	AllowPrivate bool
	// Timeout bounds a whole fetch, redirects and body included (default 20 s).
	Timeout time.Duration

	// treatAsPublic is one address the check lets through as if it were public: tests have no
	// public host, so a loopback server stands for one (to test a redirect from it).
	treatAsPublic netip.AddrPort
}

// NewFeedClient returns the HTTP client the release-feed sync uses. Release feeds are URLs that
// any animator sets and the server fetches, and whose text comes back publicly as release notes,
// so the client refuses to connect to anything but public unicast addresses. The check runs in
// the dialer's Control hook, on the address actually connected to after DNS resolution: a
// redirect to 127.0.0.1, a host name resolving to 10.0.0.1, or DNS rebinding between a check
// and the connection all meet it. No proxy from the environment is used, since the check would
// then see the proxy's address instead of the feed's.
func NewFeedClient(o FeedClientOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = feedTimeout
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			if o.treatAsPublic.IsValid() && address == o.treatAsPublic.String() {
				return nil
			}
			return refusePrivate(address)
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxFeedRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrFeedRefused, maxFeedRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to scheme %q (http and https only)", ErrFeedRefused, req.URL.Scheme)
			}
			return nil
		},
	}
}

// refusePrivate fails unless address, the resolved ip:port about to be connected to, is public.
func refusePrivate(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot check address %q: %v", ErrFeedRefused, address, err)
	}
	if why := notPublic(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is a %s address; only public addresses are fetched (an operator may allow private feeds with -allow-private-feeds)",
			ErrFeedRefused, ap.Addr(), why)
	}
	return nil
}

// nonPublicPrefixes are ranges netip's predicates do not name but that reach no public host, or
// that embed an IPv4 address (NAT64, 6to4) which would let a private one through.
var nonPublicPrefixes = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64"},
	{netip.MustParsePrefix("2002::/16"), "6to4"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// notPublic says why addr is not a public unicast address, or "" when it is. IPv4-mapped IPv6
// addresses (::ffff:127.0.0.1) are judged as the IPv4 address they carry.
func notPublic(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, r := range nonPublicPrefixes {
		if r.p.Contains(addr) {
			return r.why
		}
	}
	return ""
}

// fetchFeed GETs a release feed and returns its body, capped: reading stops at maxFeedBytes
// with an error, so that a huge or endless feed costs a bounded amount of memory. The caller
// closes the body.
func fetchFeed(ctx context.Context, client *http.Client, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q (http and https only)", ErrFeedRefused, req.URL.Scheme)
	}
	req.Header.Set("User-Agent", "Atelier release sync")
	req.Header.Set("Accept", "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.1")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, fmt.Errorf("http status %s", resp.Status)
	}
	if resp.ContentLength > maxFeedBytes {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, over the %d MiB limit of a release feed", ErrFeedRefused, resp.ContentLength, maxFeedBytes>>20)
	}
	return &cappedBody{rc: resp.Body, left: maxFeedBytes}, nil
}

// cappedBody reads at most left bytes and then fails, rather than truncating silently: a cut
// feed would parse as a shorter, wrong list of releases.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := io.ReadFull(c.rc, one[:]); n > 0 {
			return 0, fmt.Errorf("%w: larger than the %d MiB limit of a release feed", ErrFeedRefused, maxFeedBytes>>20)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// checkFeedURL validates a release_feed value: an absolute http(s) URL (422 naming field).
func checkFeedURL(field, s string) error {
	if err := validURL(field, s); err != nil {
		return httpapi.Invalid(field, "want an absolute http or https URL of an Atom or RSS feed, e.g. https://github.com/nextcloud/server/releases.atom")
	}
	return nil
}
