package pipeline

import (
	"context"
	"net/http"
	"os/exec"
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
