package tusstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/internal/parthash"
)

// minPart is S3's smallest part but the last.
const minPart = 5 << 20

// NewS3 keeps uploads in the bucket under assets.ResumablePrefix: each upload is an S3
// multipart upload of ".uploads/{id}", its state the object ".uploads/{id}.info", and the tail
// of a PATCH too short to be a part (under 5 MiB, not the end) the object ".uploads/{id}.part",
// which the next PATCH sends first. The offset is read from S3 itself (the parts, plus that
// tail), so a crash between a part and the state loses nothing. A finished upload becomes an
// object by a server-side copy (assets.S3.AdoptObject).
func NewS3(s *assets.S3, cfg Config) (*Store, error) {
	core, bucket := s.Core()
	st := newStore(nil, cfg)
	b := &s3Backend{media: s, core: core, bucket: bucket, partSize: st.cfg.PartSize, threads: st.cfg.PartThreads, key: cfg.Key}
	st.b = b
	// The media store's sweep of unfinished multipart uploads leaves ours to RemoveExpired.
	s.KeepUnfinished(b.owns)
	return st, nil
}

// owns tells whether key is the data of one of the uploads (when in doubt, yes).
func (b *s3Backend) owns(ctx context.Context, key string) bool {
	if strings.HasPrefix(key, assets.ResumablePrefix) {
		return true
	}
	ids, err := b.ids(ctx)
	if err != nil {
		return true
	}
	for _, id := range ids {
		if b.dataKey(id) == key {
			return true
		}
	}
	return false
}

type s3Backend struct {
	media    *assets.S3
	core     minio.Core
	bucket   string
	partSize int64
	threads  int
	key      func(id string) string // Config.Key
}

func (b *s3Backend) dataKey(id string) string {
	if b.key != nil {
		return b.key(id)
	}
	return assets.ResumablePrefix + id
}
func (b *s3Backend) infoKey(id string) string { return assets.ResumablePrefix + id + ".info" }
func (b *s3Backend) tailKey(id string) string { return assets.ResumablePrefix + id + ".part" }

// tailPartMeta is the metadata of the tail object: the number of the part it will begin. A tail
// whose bytes already went into that part (a crash before its removal) is stale.
const tailPartMeta = "Atelier-Part"

func (b *s3Backend) create(ctx context.Context, st *state) error {
	id, err := b.core.NewMultipartUpload(ctx, b.bucket, b.dataKey(st.ID), minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return err
	}
	st.UploadID = id
	return b.writeState(ctx, st)
}

func (b *s3Backend) readState(ctx context.Context, id string) (*state, error) {
	body, _, _, err := b.core.GetObject(ctx, b.bucket, b.infoKey(id), minio.GetObjectOptions{})
	if err != nil {
		if notFound(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		if notFound(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return unmarshalState(data, id)
}

func (b *s3Backend) writeState(ctx context.Context, st *state) error {
	data, err := marshalState(st)
	if err != nil {
		return err
	}
	_, err = b.core.Client.PutObject(ctx, b.bucket, b.infoKey(st.ID), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/json", DisableMultipart: true})
	return err
}

// parts lists the uploaded parts 1..n without a gap (a part after a gap, left by a PATCH whose
// earlier part failed, is overwritten by the next PATCH).
func (b *s3Backend) parts(ctx context.Context, st *state) ([]minio.ObjectPart, error) {
	var all []minio.ObjectPart
	marker := 0
	for {
		res, err := b.core.ListObjectParts(ctx, b.bucket, b.dataKey(st.ID), st.UploadID, marker, 1000)
		if err != nil {
			if code := minio.ToErrorResponse(err).Code; code == "NoSuchUpload" || notFound(err) {
				return nil, ErrNotFound
			}
			return nil, err
		}
		all = append(all, res.ObjectParts...)
		if !res.IsTruncated {
			break
		}
		marker = res.NextPartNumberMarker
	}
	slices.SortFunc(all, func(a, b minio.ObjectPart) int { return a.PartNumber - b.PartNumber })
	for i, p := range all {
		if p.PartNumber != i+1 {
			return all[:i], nil
		}
	}
	return all, nil
}

// tail returns the size of the valid tail object (0 when none) given the next part number.
func (b *s3Backend) tail(ctx context.Context, st *state, next int) (int64, error) {
	oi, err := b.core.Client.StatObject(ctx, b.bucket, b.tailKey(st.ID), minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return 0, nil
		}
		return 0, err
	}
	if n, _ := strconv.Atoi(oi.UserMetadata[tailPartMeta]); n != next {
		return 0, nil // stale: its bytes are in a part already
	}
	return oi.Size, nil
}

func (b *s3Backend) offset(ctx context.Context, st *state) (int64, error) {
	parts, err := b.parts(ctx, st)
	if err != nil {
		return 0, err
	}
	var off int64
	for _, p := range parts {
		off += p.Size
	}
	t, err := b.tail(ctx, st, len(parts)+1)
	return off + t, err
}

// write sends the tail left by the previous PATCH followed by src as parts of partSize,
// threads at a time (each in its own buffer: memory is partSize × (threads+1)). What is left at
// the end becomes a part when it finishes the upload, or the new tail object otherwise.
//
// h, when not nil, hashes the bytes taken from src (not the old tail's: the running hash has
// them already). It runs in a goroutine of its own over the filled part buffers, in order, and a
// buffer is reused once both its part is sent and it is hashed: the read path only reads, and
// the SHA-256 of every byte overlaps the reading and the sending rather than adding to them.
func (b *s3Backend) write(ctx context.Context, st *state, offset int64, src io.Reader, h hash.Hash) (int64, error) {
	parts, err := b.parts(ctx, st)
	if err != nil {
		return 0, err
	}
	next := len(parts) + 1
	tailSize, err := b.tail(ctx, st, next)
	if err != nil {
		return 0, err
	}
	var stored int64
	for _, p := range parts {
		stored += p.Size
	}
	if stored+tailSize != offset {
		return 0, fmt.Errorf("stored %d bytes, not %d", stored+tailSize, offset)
	}
	counted := &countReader{r: io.LimitReader(src, st.Size-offset)}
	var r io.Reader = counted
	if tailSize > 0 {
		body, _, _, err := b.core.GetObject(ctx, b.bucket, b.tailKey(st.ID), minio.GetObjectOptions{})
		if err != nil {
			return 0, err
		}
		defer body.Close()
		r = io.MultiReader(io.LimitReader(body, tailSize), counted)
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		upErr   error
		sem     = make(chan []byte, b.threads+1)
		written = offset - tailSize // bytes in parts
		hasher  = parthash.New(h, tailSize, b.threads+1)
	)
	defer hasher.Wait() // on every return: no goroutine outlives the PATCH
	for range b.threads + 1 {
		sem <- nil
	}
	fail := func(err error) {
		mu.Lock()
		if upErr == nil {
			upErr = err
		}
		mu.Unlock()
	}
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return upErr != nil }
	var rest []byte
	var readErr error
	for !failed() {
		buf := <-sem
		if buf == nil {
			buf = make([]byte, b.partSize)
		}
		n, err := io.ReadFull(r, buf)
		if err == nil || (n > 0 && written+int64(n) == st.Size) {
			// A whole part, or the last bytes of the upload: send it.
			num := next
			next++
			written += int64(n)
			release := hasher.Add(buf[:n], func() { sem <- buf })
			wg.Go(func() {
				defer release()
				// UNSIGNED-PAYLOAD: see assets.S3's Put (no second SHA-256 of every byte).
				_, perr := b.core.PutObjectPart(ctx, b.bucket, b.dataKey(st.ID), st.UploadID, num,
					bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{DisableContentSha256: true})
				if perr != nil {
					fail(fmt.Errorf("part %d: %w", num, perr))
				}
			})
			if err == nil && written < st.Size {
				continue
			}
			break
		}
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			readErr = err
		}
		rest = buf[:n]
		hasher.Add(rest, func() {})()
		break
	}
	wg.Wait()
	hasher.Wait()
	if upErr != nil {
		return 0, upErr
	}
	// The parts are up: the old tail's bytes are in them, or in the new tail written now (an
	// object under 5 MiB, replacing the old one with the number of the part it will begin).
	switch {
	case len(rest) > 0:
		_, err := b.core.Client.PutObject(ctx, b.bucket, b.tailKey(st.ID), bytes.NewReader(rest), int64(len(rest)),
			minio.PutObjectOptions{DisableMultipart: true, DisableContentSha256: true, UserMetadata: map[string]string{tailPartMeta: strconv.Itoa(next)}})
		if err != nil {
			return 0, fmt.Errorf("tail: %w", err)
		}
	case tailSize > 0:
		_ = b.core.Client.RemoveObject(ctx, b.bucket, b.tailKey(st.ID), minio.RemoveObjectOptions{})
	}
	if readErr != nil && counted.n == 0 {
		return 0, readErr
	}
	return counted.n, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (b *s3Backend) finish(ctx context.Context, st *state) error {
	parts, err := b.parts(ctx, st)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		// S3 completes no upload without a part: an empty upload is an empty object.
		if _, err := b.core.Client.PutObject(ctx, b.bucket, b.dataKey(st.ID), bytes.NewReader(nil), 0,
			minio.PutObjectOptions{DisableContentSha256: true}); err != nil {
			return err
		}
		return b.core.AbortMultipartUpload(ctx, b.bucket, b.dataKey(st.ID), st.UploadID)
	}
	complete := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		complete[i] = minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag}
	}
	_, err = b.core.CompleteMultipartUpload(ctx, b.bucket, b.dataKey(st.ID), st.UploadID, complete, minio.PutObjectOptions{})
	return err
}

func (b *s3Backend) open(ctx context.Context, st *state) (io.ReadCloser, error) {
	body, _, _, err := b.core.GetObject(ctx, b.bucket, b.dataKey(st.ID), minio.GetObjectOptions{})
	return body, err
}

func (b *s3Backend) adopt(ctx context.Context, st *state, key, sum, contentType string) (assets.Info, error) {
	return b.media.AdoptObject(ctx, key, b.dataKey(st.ID), sum, contentType)
}

// release removes the state and the tail, and the data unless it was adopted in place.
func (b *s3Backend) release(ctx context.Context, st *state, key string) error {
	keys := []string{b.tailKey(st.ID)}
	if b.dataKey(st.ID) != key {
		keys = append(keys, b.dataKey(st.ID))
	}
	for _, k := range append(keys, b.infoKey(st.ID)) {
		if err := b.core.Client.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
			return err
		}
	}
	return nil
}

// remove aborts the multipart upload (when unfinished) and removes the objects, state last, so
// that a failure leaves something RemoveExpired finds again.
func (b *s3Backend) remove(ctx context.Context, st *state) error {
	var errs []error
	if !st.Finished && st.UploadID != "" {
		if err := b.core.AbortMultipartUpload(ctx, b.bucket, b.dataKey(st.ID), st.UploadID); err != nil &&
			minio.ToErrorResponse(err).Code != "NoSuchUpload" && !notFound(err) {
			errs = append(errs, err)
		}
	}
	for _, k := range []string{b.tailKey(st.ID), b.dataKey(st.ID)} {
		if err := b.core.Client.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := b.core.Client.RemoveObject(ctx, b.bucket, b.infoKey(st.ID), minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return err
	}
	return nil
}

func (b *s3Backend) ids(ctx context.Context) ([]string, error) {
	var ids []string
	for oi := range b.core.Client.ListObjectsIter(ctx, b.bucket, minio.ListObjectsOptions{Prefix: assets.ResumablePrefix, Recursive: true}) {
		if oi.Err != nil {
			return nil, oi.Err
		}
		name := strings.TrimPrefix(oi.Key, assets.ResumablePrefix)
		if id, ok := strings.CutSuffix(name, ".info"); ok && validID(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func notFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == "NoSuchKey" || resp.Code == "NotFound" || resp.StatusCode == http.StatusNotFound
}
