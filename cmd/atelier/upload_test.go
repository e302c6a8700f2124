package main

import (
	"bytes"
	"context"
	"errors"
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
	err = run(ctx, []string{"upload", src, "--meta", bad, "--server", base, "--token", testAdminToken}, &stdout, &stderr)
	var ee *exitError
	if err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), "edits.keep[1]: cut past the end: range 2 ends at 00:00:09") {
		t.Fatalf("bad cut: err = %v", err)
	}
}
