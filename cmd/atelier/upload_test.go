package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestUploadCommand sends a generated clip through `atelier upload` to a real `atelier serve`
// and follows it to the end; a refused cut exits with the server's reason.
func TestUploadCommand(t *testing.T) {
	testenv.FFmpeg(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the resumable upload's state
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 4 * time.Second, Audio: true})
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("meta.json", `{"title": "Essai", "language": "fr", "edits": {"remove": [["00:00:01", "00:00:02"]]},
		"chapters": [{"start": "00:00:02.5", "title": "Suite"}]}`)
	subs := write("fr.srt", "1\n00:00:00,500 --> 00:00:01,500\nBonjour\n")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"upload", src, "--meta", good, "--subtitles", subs, "--server", base, "--token", testAdminToken}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("upload: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(stdout.String())
	if len(id) != 16 {
		t.Fatalf("stdout %q, want the recording id", stdout.String())
	}
	for _, want := range []string{"upload 100%", "processing", "ready: /replays/" + id} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	bad := write("bad.json", `{"title": "Essai", "language": "fr", "edits": {"keep": [[0, 1], [2, "00:00:09"]]}}`)
	stdout.Reset()
	stderr.Reset()
	// In one request (the multipart form) this time.
	err = run(ctx, []string{"upload", src, "--meta", bad, "--resume=false", "--server", base, "--token", testAdminToken}, &stdout, &stderr)
	var ee *exitError
	if err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), "edits.keep[1]: cut past the end: range 2 ends at 00:00:09") {
		t.Fatalf("bad cut: err = %v", err)
	}

	// The same form, accepted: the source and the subtitles arrive whole in one request of known
	// length.
	stdout.Reset()
	stderr.Reset()
	err = run(ctx, []string{"upload", src, "--meta", good, "--subtitles", subs, "--resume=false", "--no-follow", "--server", base, "--token", testAdminToken}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("upload --resume=false: %v\n%s", err, stderr.String())
	}
	id = strings.TrimSpace(stdout.String())
	code, rec := call(t, "GET", base+"/api/recordings/"+id, testAdminToken, "")
	if code != http.StatusOK {
		t.Fatalf("GET recording %q: %d %v", id, code, rec)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	source, _ := rec["source"].(map[string]any)
	if sum := sha256.Sum256(want); source["sha256"] != hex.EncodeToString(sum[:]) || source["size"] != float64(len(want)) {
		t.Errorf("source %v, want %d bytes of sha256 %x", source, len(want), sum)
	}
	if subs, _ := rec["subtitles"].([]any); len(subs) != 1 {
		t.Errorf("subtitles %v, want the fr track", rec["subtitles"])
	}
}

// TestUploadCommandResumes: a run of `atelier upload` after one that was interrupted half-way
// (its state left in the cache dir) resumes that very upload, and the recording is made of it.
func TestUploadCommandResumes(t *testing.T) {
	testenv.FFmpeg(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 4 * time.Second, Audio: true})
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})
	meta := filepath.Join(t.TempDir(), "meta.json")
	if err := os.WriteFile(meta, []byte(`{"title": "Resumed", "language": "fr"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// The interrupted run: half the file sent, the state saved.
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	c := &tusClient{base: base, token: testAdminToken, client: http.DefaultClient}
	url, err := c.create(ctx, fi.Size(), "clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	half := fi.Size() / 2
	req, _ := http.NewRequest("PATCH", url, io.NewSectionReader(f, 0, half))
	req.ContentLength = half
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first half: %v %v", resp, err)
	}
	abs, _ := filepath.Abs(src)
	state, err := resumeFile(base, abs, fi)
	if err != nil {
		t.Fatal(err)
	}
	if err := saveResumeState(state, resumeState{URL: url, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"upload", abs, "--meta", meta, "--server", base, "--token", testAdminToken}, &stdout, &stderr); err != nil {
		t.Fatalf("upload: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "resuming the upload") {
		t.Errorf("stderr does not say it resumes:\n%s", stderr.String())
	}
	// The half-sent upload is the one that became the recording: it is used up.
	if off, err := c.offset(ctx, url); !errors.Is(err, errGone) {
		t.Errorf("the interrupted upload is still there (offset %d, %v): the command started another", off, err)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the state file is still there: %v", err)
	}
}
