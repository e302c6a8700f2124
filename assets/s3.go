package assets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"codeberg.org/atelier/atelier/assets/internal/parthash"
)

const (
	// DefaultPartSize is the S3 multipart part size when S3Config.PartSize
	// is 0. A Put of unknown size holds uploadThreads+1 parts in memory.
	DefaultPartSize = 8 << 20
	// minPartSize is S3's smallest part (but the last).
	minPartSize = 5 << 20
	// metaPrefix holds the sidecars; ValidKey keeps keys out of it.
	metaPrefix = ".meta/"
	// maxSidecar bounds the read of a sidecar object.
	maxSidecar = 64 << 10
	// listWorkers is how many sidecars List fetches at once.
	listWorkers = 8
	// uploadThreads is how many parts of a body of unknown size are in
	// flight at once (in memory: one more, the part being read).
	uploadThreads = 4
	// smallBody is how much of a body of unknown size Put reads ahead to
	// send a small one in a single PUT rather than in parallel parts.
	smallBody = 1 << 20
)

// mismatchRetries is how many more times a reader looks again when it finds
// an object and its sidecar from different Puts: an overwrite in progress
// has written the data and not yet the sidecar.
var mismatchRetries = []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond}

// S3Config configures an S3 store. Zero PartSize means DefaultPartSize.
type S3Config struct {
	Endpoint, Bucket, AccessKey, SecretKey, Region string
	// Secure selects https. PathStyle selects path-style requests
	// (endpoint/bucket/key); false selects virtual-host style
	// (bucket.endpoint/key).
	Secure, PathStyle bool
	PartSize          uint64 /* 0 = 8 MiB */
	// WrapTransport, when set, wraps minio-go's transport: the caller watches the requests
	// (cmd/atelier counts the failed ones for its metrics) without assets knowing of metrics.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// S3 is a Store in an S3 bucket.
//
// The SHA-256 of an object is known only once its last byte has gone up, so
// it cannot travel as metadata of the object itself (that is fixed when the
// upload starts; copying the object onto itself to add it would rewrite
// gigabytes). Instead each object key has a small JSON sidecar object,
// ".meta/<sha256(key)>.json" ("metaName"), written after the data object
// and holding the key, the hash, the content type, the size and the ETag of
// the data object. The sidecar is the commit record: an object is visible
// (to Stat, Open, List) only when the sidecar exists and its ETag and size
// match the data object, and reads ask for the data with If-Match on that
// ETag, so a reader never pairs bytes with the hash of another version.
// Hence:
//   - a failed or cancelled upload leaves nothing visible (minio-go aborts a
//     failed multipart upload; a half-sent single PUT is never stored);
//   - a crash between the data and the sidecar leaves an invisible data
//     object, removed by the next Put or Delete of that key;
//   - during an overwrite the key reads as missing for the moment between
//     the data and the sidecar (readers retry briefly first);
//   - Delete removes the sidecar (the object vanishes) and then the data.
//
// Links made by URL are presigned GETs of the data object.
type S3 struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	partSize uint64

	// putting counts the Puts in progress per key in this process: RemoveStale leaves their
	// multipart uploads alone however long their writer pauses.
	mu      sync.Mutex
	putting map[string]int
	// keep names the unfinished multipart uploads a resumable upload service owns (KeepUnfinished).
	keep func(ctx context.Context, key string) bool
}

// NewS3 connects to the bucket, creating it when missing.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	s, err := newS3(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.ensureBucket(ctx, cfg.Region); err != nil {
		return nil, fmt.Errorf("assets: s3 %s bucket %s: %w", cfg.Endpoint, cfg.Bucket, err)
	}
	return s, nil
}

// newS3 checks cfg and makes the client, without a request.
func newS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("assets: s3: endpoint and bucket are required")
	}
	ps := cfg.PartSize
	if ps == 0 {
		ps = DefaultPartSize
	}
	if ps < minPartSize {
		return nil, fmt.Errorf("assets: s3: part size %d is below S3's minimum of %d", ps, minPartSize)
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	var transport http.RoundTripper
	if cfg.WrapTransport != nil {
		t, err := minio.DefaultTransport(cfg.Secure)
		if err != nil {
			return nil, fmt.Errorf("assets: s3 %s: %w", cfg.Endpoint, err)
		}
		transport = cfg.WrapTransport(t)
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.Secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    transport,
	})
	if err != nil {
		return nil, fmt.Errorf("assets: s3 %s: %w", cfg.Endpoint, err)
	}
	return &S3{client: c, core: minio.Core{Client: c}, bucket: cfg.Bucket, partSize: ps, putting: map[string]int{}}, nil
}

func (s *S3) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil || ok {
		return err
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	switch minio.ToErrorResponse(err).Code {
	case "BucketAlreadyOwnedByYou":
		return nil // made meanwhile
	}
	return err
}

func metaKey(key string) string { return metaPrefix + metaName(key) }

// writing marks key as being written until the returned func is called, so that the sweep
// (RemoveStale) spares its multipart upload.
func (s *S3) writing(key string) func() {
	s.mu.Lock()
	s.putting[key]++
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.putting[key]--; s.putting[key] == 0 {
			delete(s.putting, key)
		}
		s.mu.Unlock()
	}
}

// Put uploads r in parts of the configured size (uploadThreads in flight at a
// time), hashing it on the way, then records the sidecar.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	defer s.writing(key)()
	info, err := s.put(ctx, key, r, size, contentType)
	if err != nil {
		return Info{}, opErr("put", key, err)
	}
	return info, nil
}

func (s *S3) put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	ct, err := normContentType(contentType)
	if err != nil {
		return Info{}, err
	}
	pr := newPutReader(ctx, r, size)
	up, err := s.upload(ctx, key, pr, size, ct)
	if err != nil {
		s.abortIncomplete(ctx, key)
		return Info{}, pr.cause(err)
	}
	// The data object is stored but invisible until the sidecar is. On any
	// failure from here, remove it (it is ours: no sidecar names it).
	keep := false
	defer func() {
		if !keep {
			s.removeQuietly(ctx, key)
		}
	}()
	var opts minio.StatObjectOptions
	if up.ETag != "" {
		opts.SetMatchETag(up.ETag)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, opts)
	if err != nil {
		if isPreconditionFailed(err) {
			keep = true // overwritten meanwhile: not ours to remove
		}
		return Info{}, fmt.Errorf("checking upload: %w", err)
	}
	if err := pr.finish(); err != nil {
		return Info{}, err
	}
	if oi.Size != pr.n {
		return Info{}, fmt.Errorf("stored %d bytes, read %d", oi.Size, pr.n)
	}
	sc := sidecar{Key: key, SHA256: pr.sum(), ContentType: ct, Size: oi.Size, ETag: oi.ETag}
	if err := s.putSidecar(ctx, sc); err != nil {
		return Info{}, err
	}
	keep = true
	return Info{Key: key, Size: oi.Size, ContentType: ct, ModTime: oi.LastModified, SHA256: sc.SHA256}, nil
}

// putEmpty stores a zero-length object without minio-go's streaming payload signature. Over
// plain HTTP that signature sends an empty object as one signed final chunk, which versitygw
// v1.8.0 does not always read: the leftover bytes come back as a 400 on the next request of the
// kept-alive connection (6 of 200 empty Puts failed in a loop; 0 of 600 without it). An empty
// body has no payload to protect.
func (s *S3) putEmpty(ctx context.Context, key string, r io.Reader, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	opts.DisableContentSha256 = true
	return s.client.PutObject(ctx, s.bucket, key, r, 0, opts)
}

// upload sends the data object. A body of known size goes up as minio-go
// chooses (one PUT, or parts in parallel). A body of unknown size is read
// smallBody bytes ahead: if it ends there it goes up in one PUT; otherwise
// putStream fills part buffers in turn and sends uploadThreads of them in
// parallel, so the upload does not wait for each part's answer before
// reading the next (with one part in flight, a 2 GiB upload ran at 0.37×
// the throughput of a PutObject of known size). Memory: (uploadThreads+1) ×
// partSize, allocated for this Put. A failed upload is aborted.
func (s *S3) upload(ctx context.Context, key string, pr *putReader, size int64, ct string) (minio.UploadInfo, error) {
	opts := minio.PutObjectOptions{
		ContentType: ct,
		// Explicit: with size -1, minio-go's default would hold a
		// ~576 MiB part in memory.
		PartSize: s.partSize,
		// UNSIGNED-PAYLOAD, as minio-go sends over https anyway. Over plain http it would
		// otherwise sign every 64 KiB chunk of the body (aws-chunked): a second SHA-256 of
		// every byte here, beside putReader's, and a third in the S3 server that checks the
		// signatures (issue #12 §3: SHA-256 was 42-60 % of the upload's CPU). The request
		// itself stays signed; what the chunk signatures added on plain http is that nobody
		// on the path altered the bytes, which no GET (unsigned answers) has either: a store
		// reached over an untrusted network needs https.
		DisableContentSha256: true,
	}
	if size == 0 {
		return s.putEmpty(ctx, key, pr, opts)
	}
	if size >= 0 {
		return s.client.PutObject(ctx, s.bucket, key, pr, size, opts)
	}
	head := make([]byte, min(smallBody, s.partSize))
	n, err := io.ReadFull(pr, head)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		if n == 0 {
			return s.putEmpty(ctx, key, pr, opts)
		}
		return s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(head[:n]), int64(n), opts)
	case nil:
	default:
		return minio.UploadInfo{}, err
	}
	return s.putStream(ctx, key, pr, head, opts)
}

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// putStream sends a body of unknown size, whose first bytes (head) pr has read already, as a
// multipart upload: part buffers filled in turn from the body, uploadThreads parts sent at a time
// while the next buffer fills (memory: (uploadThreads+1) × partSize), and the SHA-256 of the
// body computed by a goroutine of its own over the filled buffers (parthash) rather than in the
// read path. minio-go's own parallel stream (ConcurrentStreamParts) does the sending alike but
// owns its buffers, so the hash had to be in the read path, serial with reading the body.
func (s *S3) putStream(ctx context.Context, key string, pr *putReader, head []byte, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, opts)
	if err != nil {
		return minio.UploadInfo{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr.hashLater = true // head is hashed; the hasher takes every byte after it
	hasher := parthash.New(pr.h, int64(len(head)), uploadThreads+1)
	defer hasher.Wait()
	r := io.MultiReader(bytes.NewReader(head), pr)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		upErr error
		parts []minio.CompletePart
		sem   = make(chan []byte, uploadThreads+1)
	)
	for range uploadThreads + 1 {
		sem <- nil
	}
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return upErr != nil }
	for num := 1; !failed(); num++ {
		buf := <-sem
		if buf == nil {
			buf = make([]byte, s.partSize)
		}
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			err = rerr
			break
		}
		if n == 0 {
			break // the body ended with the previous part
		}
		if num > maxParts {
			err = fmt.Errorf("more than %d parts of %d bytes", maxParts, s.partSize)
			break
		}
		release := hasher.Add(buf[:n], func() { sem <- buf })
		wg.Go(func() {
			defer release()
			// UNSIGNED-PAYLOAD: see upload.
			p, perr := s.core.PutObjectPart(ctx, s.bucket, key, uploadID, num, bytes.NewReader(buf[:n]), int64(n),
				minio.PutObjectPartOptions{DisableContentSha256: true})
			mu.Lock()
			defer mu.Unlock()
			if perr != nil {
				if upErr == nil {
					upErr = fmt.Errorf("part %d: %w", num, perr)
				}
				cancel() // the other parts stop too
				return
			}
			parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		})
		if rerr != nil {
			break // a short last part
		}
	}
	wg.Wait()
	hasher.Wait()
	if err == nil {
		err = upErr
	}
	if err == nil {
		slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
		var up minio.UploadInfo
		if up, err = s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, minio.PutObjectOptions{}); err == nil {
			return up, nil
		}
	}
	actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer acancel()
	_ = s.core.AbortMultipartUpload(actx, s.bucket, key, uploadID)
	return minio.UploadInfo{}, err
}

// abortIncomplete aborts what a failed multipart upload of key left on the server. minio-go
// aborts it itself, but with the request's context: when that context is what cancelled the
// Put, the abort is cancelled too and the parts stay (seen under load in TestS3AbortsMultipart).
// A concurrent Put of the same key keeps its parts: the periodic sweep (RemoveStale) is the
// net for those.
func (s *S3) abortIncomplete(ctx context.Context, key string) {
	s.mu.Lock()
	alone := s.putting[key] <= 1
	s.mu.Unlock()
	if !alone {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = s.client.RemoveIncompleteUpload(ctx, s.bucket, key)
}

// removeQuietly deletes key's data object after a failed Put, even when ctx
// is cancelled.
func (s *S3) removeQuietly(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
}

// Stat describes the object.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	var info Info
	err := s.resolve(ctx, key, func(sc sidecar, opts minio.GetObjectOptions) error {
		oi, err := s.client.StatObject(ctx, s.bucket, key, opts)
		if err != nil {
			return err
		}
		if oi.ETag != sc.ETag || oi.Size != sc.Size {
			return errMismatch
		}
		info = Info{Key: key, Size: oi.Size, ContentType: oi.ContentType, ModTime: oi.LastModified, SHA256: sc.SHA256}
		return nil
	})
	if err != nil {
		return Info{}, opErr("stat", key, err)
	}
	return info, nil
}

// Open reads the object, or rng of it, in one GET bound to the sidecar's
// ETag.
func (s *S3) Open(ctx context.Context, key string, rng *Range) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	var (
		body io.ReadCloser
		info Info
	)
	err := s.resolve(ctx, key, func(sc sidecar, opts minio.GetObjectOptions) error {
		off, n, err := span(rng, sc.Size)
		if err != nil {
			return err
		}
		var oi minio.ObjectInfo
		if n == 0 {
			// Nothing to read, and S3 refuses empty ranges: check only.
			if oi, err = s.client.StatObject(ctx, s.bucket, key, opts); err != nil {
				return err
			}
			body = io.NopCloser(strings.NewReader(""))
		} else {
			if err := opts.SetRange(off, off+n-1); err != nil {
				return err
			}
			if body, oi, _, err = s.core.GetObject(ctx, s.bucket, key, opts); err != nil {
				return err
			}
		}
		if oi.ETag != sc.ETag {
			body.Close()
			return errMismatch
		}
		info = Info{Key: key, Size: sc.Size, ContentType: oi.ContentType, ModTime: oi.LastModified, SHA256: sc.SHA256}
		return nil
	})
	if err != nil {
		return nil, Info{}, opErr("open", key, err)
	}
	return body, info, nil
}

var errMismatch = errors.New("object and sidecar differ")

// resolve reads key's sidecar and runs op with options that require the
// sidecar's ETag. When they disagree (an overwrite in progress, or a crashed
// one), it looks again a few times and then reports ErrNotExist.
func (s *S3) resolve(ctx context.Context, key string, op func(sidecar, minio.GetObjectOptions) error) error {
	for attempt := 0; ; attempt++ {
		sc, err := s.getSidecar(ctx, key)
		if err != nil {
			return err
		}
		var opts minio.GetObjectOptions
		if err := opts.SetMatchETag(sc.ETag); err != nil {
			return err
		}
		err = op(sc, opts)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errMismatch) && !isPreconditionFailed(err) {
			return s3Err(err)
		}
		if attempt == len(mismatchRetries) {
			return ErrNotExist
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(mismatchRetries[attempt]):
		}
	}
}

// putSidecar records sc beside its object: the write that makes the object visible.
func (s *S3) putSidecar(ctx context.Context, sc sidecar) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	if _, err := s.client.PutObject(ctx, s.bucket, metaKey(sc.Key), bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "application/json", DisableMultipart: true}); err != nil {
		return fmt.Errorf("writing sidecar: %w", err)
	}
	return nil
}

func (s *S3) getSidecar(ctx context.Context, key string) (sidecar, error) {
	body, _, _, err := s.core.GetObject(ctx, s.bucket, metaKey(key), minio.GetObjectOptions{})
	if err != nil {
		return sidecar{}, s3Err(err)
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxSidecar))
	if err != nil {
		return sidecar{}, fmt.Errorf("reading sidecar: %w", err)
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return sidecar{}, fmt.Errorf("sidecar %s: %w", metaKey(key), err)
	}
	if sc.Key != key || sc.ETag == "" {
		return sidecar{}, fmt.Errorf("sidecar %s does not describe %q", metaKey(key), key)
	}
	return sc, nil
}

// s3Err maps S3's "no such key" to ErrNotExist.
func s3Err(err error) error {
	if errors.Is(err, ErrNotExist) || errors.Is(err, ErrInvalidRange) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey", resp.Code == "NotFound",
		resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return ErrNotExist
	}
	return err
}

func isPreconditionFailed(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed
}

// Delete removes the sidecar first, which hides the object at once, then
// the data.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	for _, k := range []string{metaKey(key), key} {
		err := s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{})
		if err != nil && s3Err(err) != ErrNotExist {
			return opErr("delete", key, err)
		}
	}
	return nil
}

// List lists the data objects under prefix and keeps those whose sidecar
// matches, fetching the sidecars listWorkers at a time.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	var objs []minio.ObjectInfo
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return nil, opErr("list", strconv.Quote(prefix), oi.Err)
		}
		if !hiddenKey(oi.Key) {
			objs = append(objs, oi)
		}
	}
	infos := make([]*Info, len(objs))
	errs := make([]error, len(objs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(listWorkers, len(objs)) {
		wg.Go(func() {
			for i := range work {
				oi := objs[i]
				sc, err := s.getSidecar(ctx, oi.Key)
				switch {
				case errors.Is(err, ErrNotExist):
				case err != nil:
					errs[i] = err
				case sc.ETag == oi.ETag && sc.Size == oi.Size:
					infos[i] = &Info{Key: oi.Key, Size: oi.Size, ContentType: sc.ContentType, ModTime: oi.LastModified, SHA256: sc.SHA256}
				}
			}
		})
	}
	for i := range objs {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, opErr("list", strconv.Quote(prefix), err)
	}
	out := make([]Info, 0, len(objs))
	for _, in := range infos {
		if in != nil {
			out = append(out, *in)
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// URL returns a presigned GET of the data object, valid for ttl (at most a
// week, S3's limit). It does not check that the object exists.
func (s *S3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("assets: url %s: %w", key, err)
	}
	return u.String(), nil
}

// Ping checks that the bucket answers.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("assets: ping %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("assets: ping: bucket %s does not exist", s.bucket)
	}
	return nil
}

// RemoveStale aborts the multipart uploads that a process which died mid-Put left unfinished:
// those started before before whose newest part also came before it (an upload still sending
// parts is left alone, however long ago it started, and so is any upload of a key this process is
// putting). Their parts are invisible but stored, and
// billed, until aborted. A bucket lifecycle rule (AbortIncompleteMultipartUpload) does the same
// on the S3 side; see the package doc. It returns how many it aborted.
func (s *S3) RemoveStale(ctx context.Context, before time.Time) (int, error) {
	n := 0
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if up.Err != nil {
			return n, fmt.Errorf("assets: s3: list unfinished uploads: %w", s3Err(up.Err))
		}
		if strings.HasPrefix(up.Key, ResumablePrefix) {
			continue // a resumable upload: its owner expires it (see ResumablePrefix)
		}
		s.mu.Lock()
		busy, keep := s.putting[up.Key] > 0, s.keep
		s.mu.Unlock()
		if busy || !up.Initiated.Before(before) || keep != nil && keep(ctx, up.Key) {
			continue
		}
		newest, err := s.newestPart(ctx, up.Key, up.UploadID)
		if err != nil {
			return n, fmt.Errorf("assets: s3: parts of the unfinished upload of %s: %w", up.Key, s3Err(err))
		}
		if !newest.Before(before) {
			continue
		}
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID); err != nil &&
			minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			return n, fmt.Errorf("assets: s3: abort the unfinished upload of %s: %w", up.Key, s3Err(err))
		}
		n++
	}
	return n, nil
}

// newestPart returns when the newest part of an unfinished upload arrived (zero when none has).
func (s *S3) newestPart(ctx context.Context, key, uploadID string) (time.Time, error) {
	var newest time.Time
	marker := 0
	for {
		res, err := s.core.ListObjectParts(ctx, s.bucket, key, uploadID, marker, 1000)
		if err != nil {
			return newest, err
		}
		for _, p := range res.ObjectParts {
			if p.LastModified.After(newest) {
				newest = p.LastModified
			}
		}
		if !res.IsTruncated {
			return newest, nil
		}
		marker = res.NextPartNumberMarker
	}
}
