package assets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNotExist is returned (wrapped) when an object does not exist or is not
// complete yet.
var ErrNotExist = errors.New("assets: object does not exist")

// ErrInvalidKey is returned (wrapped) by every method given a key that
// ValidKey refuses.
var ErrInvalidKey = errors.New("assets: invalid key")

// ErrInvalidRange is returned (wrapped) by Open when the range does not fit
// the object: a negative offset or an offset past its end.
var ErrInvalidRange = errors.New("assets: invalid range")

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
	SHA256      string // hex
}

// Range selects bytes [Offset, Offset+Length); Length < 0 means to the end.
type Range struct{ Offset, Length int64 }

// Store keeps media objects under keys made by Atelier.
type Store interface {
	// Put streams r into key. size may be -1 (unknown). The object is visible only once complete.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error)
	// Open reads the object, or the given range of it when rng != nil. Info describes the whole object.
	Open(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error)
	Stat(ctx context.Context, key string) (Info, error)
	Delete(ctx context.Context, key string) error            // deleting a missing key is not an error
	List(ctx context.Context, prefix string) ([]Info, error) // sorted by key
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)
	Ping(ctx context.Context) error // used by /readyz
}

// FileOpener is implemented by stores that keep each object in a local file
// (Dir). OpenFile returns the object's file, open and checked against its
// sidecar, with the Info that describes that very file: a server can send it
// with sendfile(2) (http.ServeContent does, given an *os.File), where a
// reader from Open copies every byte through user space. The caller closes
// the file and must not write to it. Like Open's reader, the open file is
// undisturbed by a later overwrite or Delete of the key.
type FileOpener interface {
	OpenFile(ctx context.Context, key string) (*os.File, Info, error)
}

// StaleRemover is implemented by stores where a Put cut short by a crash leaves something behind
// that no key names (Dir: temp files; S3: unfinished multipart uploads). RemoveStale removes
// such leftovers untouched since before, and says how many; a Put still in progress is never
// one of them.
type StaleRemover interface {
	RemoveStale(ctx context.Context, before time.Time) (int, error)
}

var (
	_ Store        = (*Dir)(nil)
	_ Store        = (*S3)(nil)
	_ FileOpener   = (*Dir)(nil)
	_ StaleRemover = (*Dir)(nil)
	_ StaleRemover = (*S3)(nil)
)

// MaxKeyLen is the longest key ValidKey accepts, in bytes.
const MaxKeyLen = 1024

// defaultContentType is stored when Put is given an empty content type.
const defaultContentType = "application/octet-stream"

// ValidKey reports whether key may name an object. Keys are made by Atelier,
// never taken from user file names; this is the last line of defence against
// path traversal and against keys that clash with a store's own bookkeeping.
//
// A key is 1 to MaxKeyLen bytes of UTF-8, made of "/"-separated segments that
// are neither empty (no leading, trailing or doubled "/"), "." nor "..", with no
// NUL, backslash or control character. Its first segment must not start with
// "." : that namespace (".meta/", ".tmp/") belongs to the stores.
func ValidKey(key string) error {
	if key == "" {
		return invalidKey(key, "empty")
	}
	if len(key) > MaxKeyLen {
		return invalidKey(key, fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	}
	if !utf8.ValidString(key) {
		return invalidKey(key, "not valid UTF-8")
	}
	if key[0] == '/' {
		return invalidKey(key, `leading "/"`)
	}
	for _, r := range key {
		switch {
		case r == 0:
			return invalidKey(key, "NUL byte")
		case r == '\\':
			return invalidKey(key, "backslash")
		case unicode.IsControl(r):
			return invalidKey(key, "control character")
		}
	}
	for i, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return invalidKey(key, `empty segment (leading, trailing or doubled "/")`)
		case seg == "." || seg == "..":
			return invalidKey(key, fmt.Sprintf("segment %q", seg))
		case i == 0 && seg[0] == '.':
			return invalidKey(key, `first segment starts with "." (reserved)`)
		}
	}
	return nil
}

func invalidKey(key, why string) error {
	if len(key) > 64 {
		key = key[:64] + "..."
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
}

// validPrefix accepts "" (everything) or a prefix that would be a valid key
// once a trailing "/" is removed.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidKey(strings.TrimSuffix(prefix, "/"))
}

// hiddenKey reports whether a name found while listing a backend is not an
// object key: the stores' reserved prefixes, or anything ValidKey refuses.
func hiddenKey(key string) bool {
	return ValidKey(key) != nil
}

// normContentType checks a content type and fills in the default.
func normContentType(ct string) (string, error) {
	if ct == "" {
		return defaultContentType, nil
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return "", fmt.Errorf("invalid content type %q: %w", ct, err)
	}
	return ct, nil
}

// span resolves rng against an object of the given size into an offset and a
// length that fit it. A nil rng is the whole object.
func span(rng *Range, size int64) (off, n int64, err error) {
	if rng == nil {
		return 0, size, nil
	}
	if rng.Offset < 0 || rng.Offset > size {
		return 0, 0, fmt.Errorf("%w: offset %d of an object of %d bytes", ErrInvalidRange, rng.Offset, size)
	}
	n = size - rng.Offset
	if rng.Length >= 0 && rng.Length < n {
		n = rng.Length
	}
	return rng.Offset, n, nil
}

// sidecar is the small JSON record kept beside each object. Its presence, and
// its match with the data (Dir: size, mtime and inode; S3: size and ETag), is
// what makes an object visible. See doc.go.
type sidecar struct {
	Key         string `json:"key"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// Dir: identity of the data file.
	MTimeNS int64  `json:"mtime_ns,omitempty"`
	Inode   uint64 `json:"inode,omitempty"`
	// S3: ETag of the data object.
	ETag string `json:"etag,omitempty"`
}

// metaName is the name of key's sidecar below the reserved ".meta/" prefix.
// It is a hash so that it has a fixed length whatever the key (a 1024-byte
// key plus a prefix would pass S3's limit) and no segment can be too long
// for a file system; the key itself is kept inside the sidecar.
func metaName(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return h[:2] + "/" + h + ".json"
}

// putReader wraps the body of a Put: it stops at ctx's end, hashes and counts
// what passes, and holds the body to its declared size.
type putReader struct {
	ctx  context.Context
	r    io.Reader
	h    hash.Hash
	n    int64
	size int64 // -1: unknown
	err  error // first error returned, other than io.EOF
	eof  bool  // the body was read to its end
	// hashLater: from now on the caller hashes what passes (in a goroutine of its own,
	// S3.putStream) and h is its to write.
	hashLater bool
}

func newPutReader(ctx context.Context, r io.Reader, size int64) *putReader {
	return &putReader{ctx: ctx, r: r, h: sha256.New(), size: size}
}

func (p *putReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.read(b)
	switch {
	case err == io.EOF:
		p.eof = true
	case err != nil:
		p.err = err
	}
	return n, err
}

func (p *putReader) read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if p.size >= 0 {
		left := p.size - p.n
		if left == 0 {
			return 0, p.probe()
		}
		if int64(len(b)) > left {
			b = b[:left]
		}
	}
	n, err := p.r.Read(b)
	if !p.hashLater {
		p.h.Write(b[:n])
	}
	p.n += int64(n)
	if p.size < 0 {
		return n, err
	}
	switch {
	case err == io.EOF && p.n < p.size:
		return n, fmt.Errorf("body ended after %d of %d bytes: %w", p.n, p.size, io.ErrUnexpectedEOF)
	case err == nil && p.n == p.size:
		// Look for excess now: a consumer that stops at size bytes would
		// otherwise never see it.
		return n, p.probe()
	}
	return n, err
}

// probe returns io.EOF if the body is at its end, an error otherwise.
func (p *putReader) probe() error {
	var one [1]byte
	for {
		n, err := p.r.Read(one[:])
		if n > 0 {
			return fmt.Errorf("body longer than the declared %d bytes", p.size)
		}
		if err != nil {
			return err // io.EOF included
		}
	}
}

// finish checks, once the consumer is done, that the whole body was read:
// a consumer that stops at the declared size may not have asked for the end.
func (p *putReader) finish() error {
	if p.eof {
		return nil
	}
	if p.size >= 0 && p.n == p.size {
		if err := p.probe(); err != io.EOF {
			return err
		}
		p.eof = true
		return nil
	}
	return fmt.Errorf("body not read to its end (%d bytes read)", p.n)
}

// sum returns the hex SHA-256 of what was read.
func (p *putReader) sum() string { return hex.EncodeToString(p.h.Sum(nil)) }

// cause picks the most telling reason for a failed Put: the context's end,
// then the body's own error, then err.
func (p *putReader) cause(err error) error {
	if cerr := p.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if p.err != nil && !errors.Is(err, p.err) {
		return fmt.Errorf("reading body: %w (%v)", p.err, err)
	}
	return err
}

// opErr adds the operation and the key to err. The package's sentinels
// already read "assets: ...", so they get them as a suffix rather than a
// second prefix: "assets: object does not exist (stat videos/1.mp4)".
func opErr(op, key string, err error) error {
	for _, s := range []error{ErrNotExist, ErrInvalidKey, ErrInvalidRange} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w (%s %s)", err, op, key)
		}
	}
	return fmt.Errorf("assets: %s %s: %w", op, key, err)
}
