package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestUploadRefusesBrokenSubtitles goes through the real route table: a subtitles part that does
// not parse gets 422 naming the part and the line, and nothing of the upload stays stored (the
// source, its spool, and the valid subtitle part before the broken one).
func TestUploadRefusesBrokenSubtitles(t *testing.T) {
	testenv.FFmpeg(t)
	src, err := os.ReadFile(testenv.Clip(t, testenv.ClipOptions{Duration: 2 * time.Second, Audio: true}))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})
	dataDir := os.Getenv("ATELIER_DATA_DIR")

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part := func(field, name, text string) {
		var w io.Writer
		if name == "" {
			w, _ = mw.CreateFormField(field)
		} else {
			w, _ = mw.CreateFormFile(field, name)
		}
		io.WriteString(w, text)
	}
	part("meta", "", `{"title": "Essai", "language": "fr"}`)
	part("source", "recording.mp4", string(src))
	part("subtitles", "fr.srt", "1\n00:00:00,500 --> 00:00:01,500\nBonjour\n")
	part("subtitles", "en.srt", "1\n00:00:00,500 --> 00:00:01,500\nHello\n\n2\n00:00:01,000 -> 00:00:01,800\nThere\n")
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/recordings", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Error, Field string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || out.Field != "subtitles[1]" || !strings.HasPrefix(out.Error, "en.srt: line 6: expected the timing line of cue 2") {
		t.Fatalf("got %d %+v; want 422 subtitles[1] naming en.srt line 6", resp.StatusCode, out)
	}
	// An absent folder has no leftovers: make sure the media store really lives where the walk
	// looks, or a change of layout would let this check pass without looking at anything.
	if fi, err := os.Stat(filepath.Join(dataDir, "media")); err != nil || !fi.IsDir() {
		t.Fatalf("no media store at %s: %v", filepath.Join(dataDir, "media"), err)
	}
	for _, dir := range []string{filepath.Join(dataDir, "media", "recordings"), filepath.Join(dataDir, "work")} {
		var left []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && p != dir {
				left = append(left, p)
			}
			return nil
		})
		if len(left) > 0 {
			t.Errorf("left after a refused upload: %v", left)
		}
	}
}

// A WebVTT part that browsers read with a block skipped is accepted; the answer lists the skipped
// block (finding 15 of issue 14: it was refused with 422).
func TestUploadWarnsOfSkippedSubtitleBlocks(t *testing.T) {
	testenv.FFmpeg(t)
	src, err := os.ReadFile(testenv.Clip(t, testenv.ClipOptions{Duration: 2 * time.Second, Audio: true}))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormField("meta")
	io.WriteString(w, `{"title": "Essai", "language": "fr"}`)
	w, _ = mw.CreateFormFile("source", "recording.mp4")
	w.Write(src)
	w, _ = mw.CreateFormFile("subtitles", "fr.vtt")
	io.WriteString(w, "WEBVTT\n\nintro-->\n00:00:00.500 --> 00:00:01.500\nBonjour\n")
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/recordings", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID       string
		Error    string
		Warnings []string
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || len(out.Warnings) != 1 || !strings.HasPrefix(out.Warnings[0], `fr.vtt: line 3: cue id "intro-->" dropped`) {
		t.Fatalf("got %d %+v; want 202 with one warning naming fr.vtt line 3", resp.StatusCode, out)
	}
}

// TestSubtitleRoutesWired: the subtitle API is built with the pipeline it asks about recordings,
// so its routes answer from the server's first request: 404 for an unknown recording, never the
// 503 of a dependency wired late.
func TestSubtitleRoutesWired(t *testing.T) {
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": testAdminToken, "ATELIER_RELEASE_SYNC_INTERVAL": "0"})
	for _, path := range []string{"/api/recordings/0123456789abcdef/subtitles", "/api/recordings/0123456789abcdef/subtitles/fr"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
}
