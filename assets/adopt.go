package assets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
)

// ResumablePrefix is the reserved prefix (never a key: ValidKey refuses a first segment starting
// with ".") under which a resumable upload service keeps the uploads it receives over several
// requests (assets/tusstore): Dir in root/.uploads/, S3 under ".uploads/" in the bucket. Its
// owner expires them itself, after a day rather than the sweep's hour, so RemoveStale leaves
// this prefix alone, and Adopt* turn a finished one into an object without copying it through
// this process.
const ResumablePrefix = ".uploads/"

// Root is the directory that holds the store's files.
func (d *Dir) Root() string { return d.root }

// ResumableDir is root/.uploads, created if missing: it is on the root's file system, so a file
// written there can become an object by a rename (AdoptFile).
func (d *Dir) ResumableDir() (string, error) {
	dir := filepath.Join(d.root, filepath.FromSlash(strings.TrimSuffix(ResumablePrefix, "/")))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("assets: dir: %w", err)
	}
	return dir, nil
}

// AdoptFile makes the file at path, complete and on the root's file system (ResumableDir), the
// object key by a rename, with sum (hex SHA-256 of its bytes, computed by the caller as they
// arrived) in its sidecar. The file is fsynced first. On success path no longer exists; on
// failure it is left in place.
func (d *Dir) AdoptFile(ctx context.Context, key, path, sum, contentType string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	info, err := d.adoptFile(ctx, key, path, sum, contentType)
	if err != nil {
		return Info{}, opErr("adopt", key, err)
	}
	return info, nil
}

func (d *Dir) adoptFile(ctx context.Context, key, path, sum, contentType string) (Info, error) {
	ct, err := normContentType(contentType)
	if err != nil {
		return Info{}, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Info{}, err
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return Info{}, err
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%s is not a regular file", path)
	}
	info, _, err := d.commit(ctx, key, path, fi, sum, ct)
	return info, err
}

// Core is the bucket's low-level S3 client, for a resumable upload service that builds its
// uploads as multipart uploads under ResumablePrefix (assets/tusstore).
func (s *S3) Core() (minio.Core, string) { return s.core, s.bucket }

// AdoptObject makes the complete object src (under ResumablePrefix, or key itself, without a
// sidecar) the object key: a server-side copy (the bytes do not pass through this process) when
// src is elsewhere, then the sidecar with sum, the hex SHA-256 the caller computed as the bytes
// arrived. src is left for the caller to remove.
func (s *S3) AdoptObject(ctx context.Context, key, src, sum, contentType string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	if !strings.HasPrefix(src, ResumablePrefix) && src != key {
		return Info{}, opErr("adopt", key, fmt.Errorf("source %q is not under %s", src, ResumablePrefix))
	}
	defer s.writing(key)()
	info, err := s.adoptObject(ctx, key, src, sum, contentType)
	if err != nil {
		return Info{}, opErr("adopt", key, err)
	}
	return info, nil
}

func (s *S3) adoptObject(ctx context.Context, key, src, sum, contentType string) (Info, error) {
	ct, err := normContentType(contentType)
	if err != nil {
		return Info{}, err
	}
	var up minio.UploadInfo
	if src != key {
		// ComposeObject copies an object of up to 5 GiB with one CopyObject and a larger one
		// part by part (UploadPartCopy), all on the server (yet a copy: 55 s for 2 GiB on a
		// loaded versitygw; a multipart upload built at its final key needs none).
		up, err = s.client.ComposeObject(ctx,
			minio.CopyDestOptions{Bucket: s.bucket, Object: key, ReplaceMetadata: true, ContentType: ct},
			minio.CopySrcOptions{Bucket: s.bucket, Object: src})
		if err != nil {
			return Info{}, fmt.Errorf("copying %s: %w", src, s3Err(err))
		}
	}
	keep := src == key // in place: the object was never ours to remove
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
		return Info{}, fmt.Errorf("checking copy: %w", err)
	}
	sc := sidecar{Key: key, SHA256: sum, ContentType: ct, Size: oi.Size, ETag: oi.ETag}
	if err := s.putSidecar(ctx, sc); err != nil {
		return Info{}, err
	}
	keep = true
	return Info{Key: key, Size: oi.Size, ContentType: ct, ModTime: oi.LastModified, SHA256: sum}, nil
}

// KeepUnfinished tells RemoveStale which unfinished multipart uploads belong to a resumable
// upload service that expires them itself (assets/tusstore, whose uploads may be built at their
// final key, outside ResumablePrefix): keep(ctx, key) true leaves the upload of key alone.
func (s *S3) KeepUnfinished(keep func(ctx context.Context, key string) bool) {
	s.mu.Lock()
	s.keep = keep
	s.mu.Unlock()
}

// LinkFile makes dst, a path on the root's file system, a hard link to the object's data file:
// a program that wants a file (ffprobe, ffmpeg) reads the object without a copy. Like a file
// from OpenFile, the link keeps the bytes of this version whatever later happens to the key.
func (d *Dir) LinkFile(ctx context.Context, key, dst string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	f, _, err := d.openFile(key) // checks the data file against its sidecar, under the key's lock
	if err != nil {
		return opErr("link", key, err)
	}
	defer f.Close()
	mu := d.lock(key)
	mu.RLock()
	defer mu.RUnlock()
	if err := os.Link(d.dataPath(key), dst); err != nil {
		return opErr("link", key, err)
	}
	// An overwrite between the check and the link would link another version: compare.
	fi, err1 := f.Stat()
	li, err2 := os.Stat(dst)
	if err1 != nil || err2 != nil || !os.SameFile(fi, li) {
		os.Remove(dst)
		return opErr("link", key, fmt.Errorf("the object changed while being linked"))
	}
	return nil
}
