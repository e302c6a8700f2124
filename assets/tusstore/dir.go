package tusstore

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/atelier/atelier/assets"
)

// NewDir keeps uploads in the Dir's root/.uploads/ (assets.Dir.ResumableDir): each is a data file
// {id} that PATCHes append to and a state file {id}.info; a finished one becomes an object by a
// rename.
func NewDir(d *assets.Dir, cfg Config) (*Store, error) {
	dir, err := d.ResumableDir()
	if err != nil {
		return nil, fmt.Errorf("tusstore: %w", err)
	}
	return newStore(&dirBackend{media: d, dir: dir}, cfg), nil
}

type dirBackend struct {
	media *assets.Dir
	dir   string
}

func (b *dirBackend) dataPath(id string) string { return filepath.Join(b.dir, id) }
func (b *dirBackend) infoPath(id string) string { return filepath.Join(b.dir, id+".info") }

func (b *dirBackend) create(ctx context.Context, st *state) error {
	f, err := os.OpenFile(b.dataPath(st.ID), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return b.writeState(ctx, st)
}

func (b *dirBackend) readState(ctx context.Context, id string) (*state, error) {
	data, err := os.ReadFile(b.infoPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return unmarshalState(data, id)
}

// writeState replaces the state file atomically (temp file, fsync, rename).
func (b *dirBackend) writeState(ctx context.Context, st *state) error {
	data, err := marshalState(st)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(b.dir, st.ID+".info-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), b.infoPath(st.ID))
}

// offset is the data file's size: a write interrupted by a crash keeps what reached the disk.
func (b *dirBackend) offset(ctx context.Context, st *state) (int64, error) {
	fi, err := os.Stat(b.dataPath(st.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// write appends src to the data file through a 1 MiB buffer and fsyncs it, so that the offset
// the client is told survives a crash.
func (b *dirBackend) write(ctx context.Context, st *state, offset int64, src io.Reader, h hash.Hash) (int64, error) {
	if h != nil {
		src = io.TeeReader(src, h)
	}
	f, err := os.OpenFile(b.dataPath(st.ID), os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() != offset {
		return 0, fmt.Errorf("data file holds %d bytes, not %d", fi.Size(), offset)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	// struct{io.Writer} hides ReadFrom so that the buffer is used (the body comes 4 KiB per
	// read otherwise).
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, io.LimitReader(src, st.Size-offset), make([]byte, 1<<20))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	return n, err
}

func (b *dirBackend) finish(ctx context.Context, st *state) error { return nil }

func (b *dirBackend) open(ctx context.Context, st *state) (io.ReadCloser, error) {
	return os.Open(b.dataPath(st.ID))
}

func (b *dirBackend) adopt(ctx context.Context, st *state, key, sum, contentType string) (assets.Info, error) {
	return b.media.AdoptFile(ctx, key, b.dataPath(st.ID), sum, contentType)
}

func (b *dirBackend) release(ctx context.Context, st *state, key string) error {
	return b.remove(ctx, st) // the data file was renamed away
}

func (b *dirBackend) remove(ctx context.Context, st *state) error {
	var errs []error
	for _, p := range []string{b.dataPath(st.ID), b.infoPath(st.ID)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *dirBackend) ids(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".info"); ok && validID(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// LocalPath is where a Dir-kept upload's bytes are, for a reader that wants a file (ffprobe)
// before Take; ok is false for S3.
func (s *Store) LocalPath(id string) (string, bool) {
	b, ok := s.b.(*dirBackend)
	if !ok || !validID(id) {
		return "", false
	}
	return b.dataPath(id), true
}
