package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestReplayFeedsServeRealMedia: a recording uploaded through `atelier upload` and processed by
// the real pipeline appears in the replay feeds of a real `atelier serve` (titles in the
// instance's language and name); the podcast feed's enclosure downloads at the announced length
// and ffprobe reads it as a video. A draft uploaded beside it never appears.
func TestReplayFeedsServeRealMedia(t *testing.T) {
	testenv.FFmpeg(t)
	const token = "feeds-test-admin-token-0123456789abcdef"
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 3 * time.Second, Audio: true})
	base, _ := startServer(t, map[string]string{"ATELIER_ADMIN_TOKEN": token, "ATELIER_RELEASE_SYNC_INTERVAL": "0",
		"ATELIER_LANGUAGE": "fr", "ATELIER_SITE_NAME": "Atelier de Lyon"})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	upload := func(meta string) string {
		t.Helper()
		p := filepath.Join(dir, "meta.json")
		if err := os.WriteFile(p, []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if err := run(ctx, []string{"upload", src, "--meta", p, "--server", base, "--token", token}, &stdout, &stderr); err != nil {
			t.Fatalf("upload: %v\n%s", err, stderr.String())
		}
		return strings.TrimSpace(stdout.String())
	}
	id := upload(`{"title": "Premiers pas", "language": "fr", "publication": "published",
		"chapters": [{"start": "00:00:00", "title": "Début"}, {"start": "00:00:01.5", "title": "Suite"}]}`)
	draft := upload(`{"title": "Brouillon", "language": "fr", "publication": "draft"}`)

	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	parse := func(path string) *gofeed.Feed {
		t.Helper()
		body := get(path)
		if bytes.Contains(body, []byte(draft)) || bytes.Contains(body, []byte("Brouillon")) {
			t.Fatalf("%s lists the draft:\n%s", path, body)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
		if len(feed.Items) != 1 || feed.Items[0].Link != base+"/replays/"+id {
			t.Fatalf("%s items: %+v", path, feed.Items)
		}
		return feed
	}
	atom := parse("/replays.atom?language=fr")
	if atom.Title != "Atelier de Lyon : rediffusions (fr)" || len(atom.Items[0].Extensions["psc"]["chapters"]) != 1 {
		t.Fatalf("atom feed %q, item %+v", atom.Title, atom.Items[0])
	}
	podcast := parse("/podcast.rss")
	if podcast.Title != "Atelier de Lyon : rediffusions" || len(podcast.Items[0].Enclosures) != 1 {
		t.Fatalf("podcast %q enclosures %+v", podcast.Title, podcast.Items[0].Enclosures)
	}
	enc := podcast.Items[0].Enclosures[0]
	if enc.URL != base+"/replays/"+id+"/video.mp4" || enc.Type != "video/mp4" {
		t.Fatalf("enclosure %+v", enc)
	}

	// The enclosure downloads at its announced length and is a video.
	video := filepath.Join(dir, "enclosure.mp4")
	if err := os.WriteFile(video, get(strings.TrimPrefix(enc.URL, base)), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(video)
	if strconv.FormatInt(fi.Size(), 10) != enc.Length {
		t.Fatalf("enclosure length %s, downloaded %d bytes", enc.Length, fi.Size())
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_type:format=duration",
		"-of", "default=noprint_wrappers=1", "file:"+video).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "codec_type=video") || !strings.Contains(string(out), "codec_type=audio") {
		t.Fatalf("the enclosure is not a video with sound:\n%s", out)
	}

	// The audio variant encloses the M4A the pipeline made by stream copy: it downloads at its
	// announced length and holds sound only.
	audioFeed := parse("/podcast.rss?media=audio")
	if len(audioFeed.Items[0].Enclosures) != 1 {
		t.Fatalf("audio podcast enclosures %+v", audioFeed.Items[0].Enclosures)
	}
	aenc := audioFeed.Items[0].Enclosures[0]
	if aenc.URL != base+"/replays/"+id+"/audio.m4a" || aenc.Type != "audio/mp4" {
		t.Fatalf("audio enclosure %+v", aenc)
	}
	audio := filepath.Join(dir, "enclosure.m4a")
	if err := os.WriteFile(audio, get(strings.TrimPrefix(aenc.URL, base)), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(audio); strconv.FormatInt(fi.Size(), 10) != aenc.Length {
		t.Fatalf("audio enclosure length %s, downloaded %d bytes", aenc.Length, fi.Size())
	}
	out, err = exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_type",
		"-of", "default=noprint_wrappers=1", "file:"+audio).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "codec_type=audio" {
		t.Fatalf("the audio enclosure is not sound only: %v\n%s", err, out)
	}
}
