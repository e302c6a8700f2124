package tusstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"codeberg.org/atelier/atelier/assets"
)

// DefaultExpiry is how long an upload may go without receiving a byte before it expires.
const DefaultExpiry = 24 * time.Hour

// Sentinels, wrapped by Take and Lookup.
var (
	// ErrNotFound: no such upload, or it expired.
	ErrNotFound = errors.New("tusstore: no such upload (unknown, expired or already used)")
	// ErrUnfinished: the upload has not received all its bytes yet.
	ErrUnfinished = errors.New("tusstore: upload not finished")
)

// Config tunes a Store. The zero value means defaults.
type Config struct {
	// Expiry: an upload that receives no byte for this long is removed by RemoveExpired
	// (0: DefaultExpiry).
	Expiry time.Duration
	// Owner names who creates an upload, from the request's context (the token id); Take
	// reports it so that only its creator turns it into a recording. nil: nobody.
	Owner func(ctx context.Context) int64
	// PartSize is the S3 part size (0: 8 MiB) and PartThreads how many parts go up at once
	// (0: 4): an S3 upload holds PartSize × (PartThreads+1) bytes in memory while a PATCH runs.
	PartSize    int64
	PartThreads int
	// Key names the media object a finished upload will be taken into, from its id. On S3 the
	// multipart upload then builds that very object and Take only records it (no copy); nil:
	// a key under assets.ResumablePrefix, and Take copies server-side into the key it is given.
	// Dir ignores it: its uploads become objects by a rename anyway.
	Key func(id string) string
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Store is a tusd data store over Atelier's media storage (see the package doc).
type Store struct {
	b      backend
	cfg    Config
	locker *memorylocker.MemoryLocker

	mu      sync.Mutex
	expires map[string]time.Time // last known expiry per upload, for the Upload-Expires header
}

var (
	_ handler.DataStore           = (*Store)(nil)
	_ handler.TerminaterDataStore = (*Store)(nil)
)

// backend is where the bytes and the state of uploads live: a directory on the media disk or
// multipart uploads in the media bucket.
type backend interface {
	// create prepares the data of a new upload (S3: starts the multipart upload, whose id it
	// records in st) and writes st.
	create(ctx context.Context, st *state) error
	readState(ctx context.Context, id string) (*state, error) // ErrNotFound
	writeState(ctx context.Context, st *state) error
	// offset is how many bytes of the upload are stored, whatever a crash interrupted.
	offset(ctx context.Context, st *state) (int64, error)
	// write appends src at offset; h (may be nil) hashes every byte taken from src.
	write(ctx context.Context, st *state, offset int64, src io.Reader, h hash.Hash) (int64, error)
	// finish seals a complete upload (S3: completes the multipart upload).
	finish(ctx context.Context, st *state) error
	// open reads the complete data (to hash it when a crash lost the running hash).
	open(ctx context.Context, st *state) (io.ReadCloser, error)
	// adopt makes the complete data the object key of the media store, without a copy through
	// this process.
	adopt(ctx context.Context, st *state, key, sum, contentType string) (assets.Info, error)
	// release removes what is left of an upload taken into key: its state, and its data unless
	// it is the object now.
	release(ctx context.Context, st *state, key string) error
	// remove removes the data and the state.
	remove(ctx context.Context, st *state) error
	// ids lists the uploads present.
	ids(ctx context.Context) ([]string, error)
}

// state is what survives a restart, stored beside the data (id.info).
type state struct {
	ID       string            `json:"id"`
	Size     int64             `json:"size"`
	MetaData map[string]string `json:"metadata,omitempty"`
	Owner    int64             `json:"owner,omitempty"`
	Created  time.Time         `json:"created"`
	Expires  time.Time         `json:"expires"`
	Finished bool              `json:"finished,omitempty"`
	// HashState is the running SHA-256 (encoding.BinaryMarshaler) of the first HashOffset
	// bytes. When a crash leaves it behind the stored offset, Take hashes the data again.
	HashOffset int64  `json:"hash_offset"`
	HashState  []byte `json:"hash_state,omitempty"`
	// UploadID is the S3 multipart upload.
	UploadID string `json:"upload_id,omitempty"`
}

func newStore(b backend, cfg Config) *Store {
	if cfg.Expiry <= 0 {
		cfg.Expiry = DefaultExpiry
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = assets.DefaultPartSize
	}
	if cfg.PartThreads <= 0 {
		cfg.PartThreads = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{b: b, cfg: cfg, locker: memorylocker.New(), expires: map[string]time.Time{}}
}

// UseIn makes s the composer's data store, terminater and locker.
func (s *Store) UseIn(c *handler.StoreComposer) {
	c.UseCore(s)
	c.UseTerminater(s)
	s.locker.UseIn(c)
}

// NewUpload starts an upload of a declared size (creation-defer-length is not offered).
func (s *Store) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	if info.SizeIsDeferred || info.IsPartial || info.IsFinal {
		return nil, handler.ErrNotImplemented
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	st := &state{ID: id, Size: info.Size, MetaData: info.MetaData, Created: now, Expires: now.Add(s.cfg.Expiry)}
	if s.cfg.Owner != nil {
		st.Owner = s.cfg.Owner(ctx)
	}
	if err := s.b.create(ctx, st); err != nil {
		return nil, fmt.Errorf("tusstore: create upload: %w", err)
	}
	s.noteExpiry(st)
	return &upload{s: s, st: st, offset: 0}, nil
}

// GetUpload finds an upload by id; an expired one is not found (RemoveExpired removes it).
func (s *Store) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	st, off, err := s.lookup(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, handler.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &upload{s: s, st: st, offset: off}, nil
}

func (s *Store) lookup(ctx context.Context, id string) (*state, int64, error) {
	if !validID(id) {
		return nil, 0, ErrNotFound
	}
	st, err := s.b.readState(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if !s.cfg.Now().Before(st.Expires) {
		return nil, 0, ErrNotFound
	}
	s.noteExpiry(st)
	if st.Finished {
		return st, st.Size, nil
	}
	off, err := s.b.offset(ctx, st)
	if err != nil {
		return nil, 0, fmt.Errorf("tusstore: offset of %s: %w", id, err)
	}
	return st, off, nil
}

// AsTerminatableUpload offers termination (DELETE).
func (s *Store) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	return u.(*upload)
}

func (s *Store) noteExpiry(st *state) {
	s.mu.Lock()
	s.expires[st.ID] = st.Expires
	s.mu.Unlock()
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.expires, id)
	s.mu.Unlock()
}

// Expires is when upload id expires, as last seen by this process.
func (s *Store) Expires(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.expires[id]
	return t, ok
}

// Upload describes an upload for whoever turns it into something else (Lookup, Take).
type Upload struct {
	ID       string
	Size     int64
	Offset   int64
	Finished bool
	Owner    int64
	MetaData map[string]string
}

// Lookup describes upload id; ErrNotFound when unknown or expired.
func (s *Store) Lookup(ctx context.Context, id string) (Upload, error) {
	st, off, err := s.lookup(ctx, id)
	if err != nil {
		return Upload{}, fmt.Errorf("tusstore: upload %s: %w", id, err)
	}
	return st.describe(off), nil
}

func (st *state) describe(off int64) Upload {
	return Upload{ID: st.ID, Size: st.Size, Offset: off, Finished: st.Finished, Owner: st.Owner, MetaData: st.MetaData}
}

// Take makes the finished upload id the media object key (a rename on disk, a server-side copy
// in S3: never a copy through this process), then forgets the upload: it can be taken once.
// Its SHA-256, computed as the bytes arrived, goes to the object's sidecar. It fails with
// ErrNotFound or ErrUnfinished (wrapped) when there is nothing to take yet.
func (s *Store) Take(ctx context.Context, id, key, contentType string) (Upload, assets.Info, error) {
	if !validID(id) {
		return Upload{}, assets.Info{}, fmt.Errorf("tusstore: upload %s: %w", id, ErrNotFound)
	}
	lock, err := s.locker.NewLock(id)
	if err != nil {
		return Upload{}, assets.Info{}, err
	}
	// A PATCH still holding the lock (a client that lost its connection) is asked to let go.
	if err := lock.Lock(ctx, func() {}); err != nil {
		return Upload{}, assets.Info{}, fmt.Errorf("tusstore: upload %s is busy: %w", id, err)
	}
	defer lock.Unlock()
	st, off, err := s.lookup(ctx, id)
	if err != nil {
		return Upload{}, assets.Info{}, fmt.Errorf("tusstore: upload %s: %w", id, err)
	}
	if !st.Finished {
		return st.describe(off), assets.Info{}, fmt.Errorf("tusstore: upload %s has %d of %d bytes: %w", id, off, st.Size, ErrUnfinished)
	}
	sum, err := s.sum(ctx, st)
	if err != nil {
		return Upload{}, assets.Info{}, fmt.Errorf("tusstore: hash upload %s: %w", id, err)
	}
	info, err := s.b.adopt(ctx, st, key, sum, contentType)
	if err != nil {
		return Upload{}, assets.Info{}, fmt.Errorf("tusstore: take upload %s: %w", id, err)
	}
	if err := s.b.release(context.WithoutCancel(ctx), st, key); err != nil {
		// The data is the object's now; a state left behind expires like any other.
		return st.describe(off), info, nil
	}
	s.forget(id)
	return st.describe(off), info, nil
}

// sum is the upload's SHA-256: the running hash when it covers every byte, else a new read.
func (s *Store) sum(ctx context.Context, st *state) (string, error) {
	if h, ok := restoreHash(st, st.Size); ok {
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	rc, err := s.b.open(ctx, st)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, rc, make([]byte, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RemoveExpired removes the uploads past their expiry (unfinished ones, and finished ones that
// nobody took), and says how many.
func (s *Store) RemoveExpired(ctx context.Context) (int, error) {
	ids, err := s.b.ids(ctx)
	if err != nil {
		return 0, fmt.Errorf("tusstore: list uploads: %w", err)
	}
	n := 0
	var errs []error
	for _, id := range ids {
		st, err := s.b.readState(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.cfg.Now().Before(st.Expires) {
			continue
		}
		lock, _ := s.locker.NewLock(id)
		if err := lock.Lock(ctx, func() {}); err != nil {
			continue
		}
		err = s.b.remove(ctx, st)
		lock.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("upload %s: %w", id, err))
			continue
		}
		s.forget(id)
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("tusstore: remove expired uploads: %w", err)
	}
	return n, nil
}

// upload is one upload as tusd handles it within a request.
type upload struct {
	s      *Store
	st     *state
	offset int64
}

func (u *upload) GetInfo(ctx context.Context) (handler.FileInfo, error) {
	return handler.FileInfo{ID: u.st.ID, Size: u.st.Size, Offset: u.offset, MetaData: u.st.MetaData}, nil
}

// WriteChunk appends src, hashing it on the way when the running hash is where the data ends,
// then pushes the expiry back.
func (u *upload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	st := u.st
	if st.Finished {
		return 0, handler.ErrNotFound
	}
	h, hashing := restoreHash(st, offset)
	var hw hash.Hash // nil: the running hash is lost, Take reads the data again
	if hashing {
		hw = h
	}
	n, err := u.s.b.write(ctx, st, offset, src, hw)
	u.offset = offset + n
	if err != nil {
		return n, fmt.Errorf("tusstore: write upload %s: %w", st.ID, err)
	}
	if hashing {
		if b, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
			st.HashOffset, st.HashState = offset+n, b
		}
	}
	st.Expires = u.s.cfg.Now().UTC().Add(u.s.cfg.Expiry)
	if err := u.s.b.writeState(context.WithoutCancel(ctx), st); err != nil {
		return n, fmt.Errorf("tusstore: write upload %s: %w", st.ID, err)
	}
	u.s.noteExpiry(st)
	return n, nil
}

func (u *upload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	return nil, handler.ErrNotImplemented
}

// FinishUpload seals the upload once its last byte is stored.
func (u *upload) FinishUpload(ctx context.Context) error {
	if err := u.s.b.finish(ctx, u.st); err != nil {
		return fmt.Errorf("tusstore: finish upload %s: %w", u.st.ID, err)
	}
	u.st.Finished = true
	if err := u.s.b.writeState(ctx, u.st); err != nil {
		return fmt.Errorf("tusstore: finish upload %s: %w", u.st.ID, err)
	}
	return nil
}

// Terminate removes the upload (DELETE).
func (u *upload) Terminate(ctx context.Context) error {
	if err := u.s.b.remove(ctx, u.st); err != nil {
		return fmt.Errorf("tusstore: terminate upload %s: %w", u.st.ID, err)
	}
	u.s.forget(u.st.ID)
	return nil
}

// restoreHash returns the running hash of st if it covers exactly the first offset bytes.
func restoreHash(st *state, offset int64) (hash.Hash, bool) {
	h := sha256.New()
	if offset == 0 && st.HashOffset == 0 {
		return h, true
	}
	if st.HashOffset != offset || len(st.HashState) == 0 {
		return nil, false
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.HashState); err != nil {
		return nil, false
	}
	return h, true
}

// newID is 64 random bits in hex, the form of a recording's id (Config.Key may name the
// recording's source after it); the upload's URL is guarded by the token besides.
func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// validID accepts only ids newID makes: they name files and objects.
func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && id == strings.ToLower(id)
}

func marshalState(st *state) ([]byte, error) { return json.Marshal(st) }

func unmarshalState(b []byte, id string) (*state, error) {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state of upload %s: %w", id, err)
	}
	if st.ID != id {
		return nil, fmt.Errorf("state of upload %s names %q", id, st.ID)
	}
	return &st, nil
}
