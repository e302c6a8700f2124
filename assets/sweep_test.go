package assets

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestDirRemoveStale: temp files a crashed Put left are removed once untouched since the bound;
// fresh ones stay.
func TestDirRemoveStale(t *testing.T) {
	d := newTestDir(t)
	old, fresh := filepath.Join(d.tmpDir(), "put-crashed"), filepath.Join(d.tmpDir(), "put-recent")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	twoHoursAgo := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, twoHoursAgo, twoHoursAgo); err != nil {
		t.Fatal(err)
	}
	n, err := d.RemoveStale(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("RemoveStale = %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the stale temp file stayed: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the fresh temp file went: %v", err)
	}
}

// TestS3RemoveStale: a multipart upload a crashed process left is aborted once its newest part is
// older than the bound; before that it stays.
func TestS3RemoveStale(t *testing.T) {
	srv := testenv.S3(t)
	s := newTestS3(t, srv, minPartSize)
	ctx := t.Context()
	// What a process killed mid-Put leaves: an upload with a part, never completed.
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, "recordings/0123456789abcdef/source", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte("x"), minPartSize)
	if _, err := s.core.PutObjectPart(ctx, s.bucket, "recordings/0123456789abcdef/source", id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RemoveStale(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("RemoveStale of a fresh upload = %d, %v; want 0", n, err)
	}
	if got := incompleteUploads(t, s); !slices.Contains(got, "recordings/0123456789abcdef/source") {
		t.Fatalf("the fresh upload went: %v", got)
	}
	// A bound in the future stands for "an hour later".
	if n, err := s.RemoveStale(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("RemoveStale of a stale upload = %d, %v; want 1", n, err)
	}
	if got := incompleteUploads(t, s); len(got) != 0 {
		t.Fatalf("unfinished uploads left: %v", got)
	}
}
