package pipeline

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// playableGate is the real catalog that, once armed, holds the first read of a replay after
// its switch to a new render generation: the job reads it right after publishing the replay
// as playable, before the ladder. The test looks at the replay there, then releases it.
type playableGate struct {
	*catalog.Store
	mu       sync.Mutex
	switched bool
	reached  chan struct{}
	release  chan struct{}
}

func (g *playableGate) SetRender(ctx context.Context, id, render string) error {
	err := g.Store.SetRender(ctx, id, render)
	g.mu.Lock()
	g.switched = true
	g.mu.Unlock()
	return err
}

func (g *playableGate) Replay(ctx context.Context, id string) (catalog.Replay, error) {
	g.mu.Lock()
	hold := g.switched && g.reached != nil
	if hold {
		g.switched = false
		close(g.reached)
		g.reached = nil
	}
	g.mu.Unlock()
	if hold {
		<-g.release
	}
	return g.Store.Replay(ctx, id)
}

// probeFrames counts the video frames ffprobe decodes from url (an HLS master: the variant
// it picks, the first listed): at 25 fps, the played duration.
func probeFrames(t *testing.T, url string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "default=nw=1:nk=1", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	// A master lists its variant's streams once per program: the first line counts.
	n, err := strconv.Atoi(strings.Fields(string(out) + " x")[0])
	if err != nil {
		t.Fatalf("ffprobe %s: %q", url, out)
	}
	return n
}

// TestPlayableBeforeReady: the replay is served, whole and frame-exact, from its stream-copied
// rendition while the recording is still processing (playable, not ready); the lower rungs are
// added to the master afterwards, and each plays the same frames.
func TestPlayableBeforeReady(t *testing.T) {
	testenv.FFmpeg(t)
	gate := &playableGate{}
	e := newEnv(t, envOptions{ladder: []int{240, 120}, catalog: func(c *catalog.Store) Catalog { gate.Store = c; return gate }})
	gate.mu.Lock()
	gate.reached, gate.release = make(chan struct{}), make(chan struct{})
	reached := gate.reached
	gate.mu.Unlock()
	released := false
	defer func() {
		if !released {
			close(gate.release)
		}
	}()
	// 25 fps, keyframe every second; kept: [1.2, 4.6) and [5.4, 7.0) = 85 + 40 frames.
	status, out := e.upload(`{"title": "t", "language": "fr", "publication": "published", "cut": "accurate",
		"edits": {"keep": [["1.2", "4.6"], ["5.4", "7"]]}}`, clip(t, 8*time.Second),
		map[string]string{"fr.srt": "1\n00:00:01,500 --> 00:00:02,500\nBonjour\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	select {
	case <-reached:
	case <-time.After(90 * time.Second):
		t.Fatalf("the replay never became playable: %+v", e.get(id))
	}
	v := e.get(id)
	if !v.Playable || v.PlayableAt == nil || v.Status != StatusProcessing || v.Links["hls"] != "/replays/"+id+"/hls/master.m3u8" {
		t.Fatalf("at the playable point: playable %v at %v, status %s, links %v", v.Playable, v.PlayableAt, v.Status, v.Links)
	}
	lrn := learner(t, e)
	master := lrn.URL + "/replays/" + id + "/hls/master.m3u8"
	st, _, text := fetch(t, master)
	if st != http.StatusOK || strings.Count(text, "#EXT-X-STREAM-INF") != 1 || !strings.Contains(text, "source/index.m3u8") ||
		!strings.Contains(text, "TYPE=SUBTITLES") {
		t.Fatalf("master while playable: %d\n%s", st, text)
	}
	if n := probeFrames(t, master); n != 125 {
		t.Errorf("the playable master plays %d frames, want 125 (5 s at 25 fps)", n)
	}
	close(gate.release)
	released = true

	v = e.waitFor(id, "ready", final)
	if v.Status != StatusReady || !v.Playable || v.FinishedAt == nil || !v.PlayableAt.Before(*v.FinishedAt) {
		t.Fatalf("ready: %+v", v)
	}
	_, _, text = fetch(t, master)
	if strings.Count(text, "#EXT-X-STREAM-INF") != 2 || !strings.Contains(text, "120p/index.m3u8") || !strings.Contains(text, "TYPE=SUBTITLES") {
		t.Fatalf("master once ready:\n%s", text)
	}
	for _, rend := range []string{"source", "120p"} {
		if n := probeFrames(t, lrn.URL+"/replays/"+id+"/hls/"+rend+"/index.m3u8"); n != 125 {
			t.Errorf("%s plays %d frames, want 125", rend, n)
		}
	}
}

// TestPlayableWorkOrder: with one worker and two recordings queued, the second becomes playable
// before the first is ready: the first's ladder waits for the second's first rendition.
func TestPlayableWorkOrder(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{ladder: []int{240, 120}, noRun: true, workers: 1})
	var ids []string
	for range 2 {
		status, out := e.upload(`{"title": "t", "language": "fr", "cut": "fast"}`, clip(t, 6*time.Second), nil)
		if status != http.StatusAccepted {
			t.Fatalf("upload: %d %v", status, out)
		}
		ids = append(ids, out["id"].(string))
	}
	e.start()
	var vs []View
	for _, id := range ids {
		v := e.waitFor(id, "ready", final)
		if v.Status != StatusReady || v.PlayableAt == nil || v.FinishedAt == nil {
			t.Fatalf("%s: %+v", id, v)
		}
		vs = append(vs, v)
	}
	first, second := vs[0], vs[1]
	if first.PlayableAt.After(*second.PlayableAt) {
		first, second = second, first // whichever the worker took first
	}
	if !second.PlayableAt.Before(*first.FinishedAt) {
		t.Errorf("the second recording became playable at %s, after the first was ready at %s", second.PlayableAt, first.FinishedAt)
	}
}

// vp9Clip is what browsers record (MediaRecorder): VP9 + Opus in WebM, 640x360 at 25 fps, a
// keyframe every second.
func vp9Clip(t *testing.T, d time.Duration) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rec.webm")
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration="+secs,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+secs,
		"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k", "-g", "25",
		"-c:a", "libopus", "-f", "webm", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make a VP9 clip: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlayableFastFirstFromVP9: a source the cut must re-encode (VP9/Opus WebM) is playable
// from one fast rung encoded straight from it — 360p here, the source's height, never above —
// frame-exact, before the full-quality cut exists (no video.mp4 yet) and before ready; the
// master then gains the rest of the ladder, aligned on it, and video.mp4 comes.
func TestPlayableFastFirstFromVP9(t *testing.T) {
	testenv.FFmpeg(t)
	gate := &playableGate{}
	e := newEnv(t, envOptions{ladder: []int{1080, 180}, catalog: func(c *catalog.Store) Catalog { gate.Store = c; return gate }})
	gate.mu.Lock()
	gate.reached, gate.release = make(chan struct{}), make(chan struct{})
	reached := gate.reached
	gate.mu.Unlock()
	released := false
	defer func() {
		if !released {
			close(gate.release)
		}
	}()
	status, out := e.upload(`{"title": "t", "language": "fr", "publication": "published", "cut": "accurate",
		"edits": {"keep": [["1.2", "4.6"], ["5.4", "7"]]}}`, vp9Clip(t, 8*time.Second), nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	select {
	case <-reached:
	case <-time.After(90 * time.Second):
		t.Fatalf("the replay never became playable: %+v", e.get(id))
	}
	v := e.get(id)
	if !v.Playable || v.Status != StatusProcessing {
		t.Fatalf("at the playable point: playable %v, status %s", v.Playable, v.Status)
	}
	lrn := learner(t, e)
	base := lrn.URL + "/replays/" + id
	master := base + "/hls/master.m3u8"
	st, _, text := fetch(t, master)
	if st != http.StatusOK || strings.Count(text, "#EXT-X-STREAM-INF") != 1 || !strings.Contains(text, "360p/index.m3u8") ||
		!strings.Contains(text, "RESOLUTION=640x360") {
		t.Fatalf("master while playable: %d\n%s", st, text)
	}
	if n := probeFrames(t, master); n != 125 {
		t.Errorf("the playable master plays %d frames, want 125 (5 s at 25 fps)", n)
	}
	if _, err := e.store.Stat(context.Background(), e.replayKey(id, "video.mp4")); err == nil {
		t.Error("video.mp4 is stored at the playable point: the full-quality cut was not left for after it")
	}
	close(gate.release)
	released = true

	v = e.waitFor(id, "ready", final)
	if v.Status != StatusReady || v.Links["video"] == "" {
		t.Fatalf("ready: %+v", v)
	}
	_, _, text = fetch(t, master)
	if strings.Count(text, "#EXT-X-STREAM-INF") != 2 || !strings.Contains(text, "180p/index.m3u8") || !strings.Contains(text, "360p/index.m3u8") {
		t.Fatalf("master once ready:\n%s", text)
	}
	for _, rend := range []string{"360p", "180p"} {
		if n := probeFrames(t, base+"/hls/"+rend+"/index.m3u8"); n != 125 {
			t.Errorf("%s plays %d frames, want 125", rend, n)
		}
	}
	if n := probeFrames(t, base+"/video.mp4"); n != 125 {
		t.Errorf("video.mp4 has %d frames, want 125", n)
	}
}
