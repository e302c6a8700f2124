package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// TestBurnIn asks for a burned-in rendition: it is stored beside the normal outputs (which keep
// their tracks) at replays/{id}/burnin/fr.mp4, lasts as long as video.mp4, and shows the cue,
// re-timed through the cut, where video.mp4 does not.
func TestBurnIn(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{})
	// Source 1 s–4 s kept; the cue at 2 s–3.5 s in the source is at 1 s–2.5 s in the replay.
	status, out := e.upload(`{"title": "t", "language": "fr", "burn_in": "fr", "edits": {"keep": [[1, 4]]}}`, clip(t, 4*time.Second),
		map[string]string{"fr.srt": "1\n00:00:02,000 --> 00:00:03,500\nBONJOUR BONJOUR\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	v := e.waitFor(id, "a final status", final)
	if v.Status != StatusReady {
		t.Fatalf("recording: %+v", v)
	}
	key := e.replayKey(id, "burnin/fr.mp4")
	for _, k := range []string{key, e.replayKey(id, "video.mp4")} {
		if !slices.Contains(v.Outputs, k) {
			t.Errorf("outputs lack %s: %v", k, v.Outputs)
		}
		if _, err := e.store.Stat(context.Background(), k); err != nil {
			t.Errorf("stat %s: %v", k, err)
		}
	}
	if got, want := v.Links["burn_in"], "/replays/"+id+"/burnin/fr.mp4"; got != want {
		t.Errorf("links.burn_in = %q, want %q", got, want)
	}
	root := filepath.Join(e.dir, "media")
	burnt, plain := filepath.Join(root, filepath.FromSlash(key)), filepath.Join(root, filepath.FromSlash(e.replayKey(id, "video.mp4")))
	pb, err := media.ProbeFile(context.Background(), burnt)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := media.ProbeFile(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	if d := pb.Duration - pp.Duration; d < -50*time.Millisecond || d > 50*time.Millisecond || !pb.HasVideo || !pb.HasAudio {
		t.Errorf("burned-in rendition lasts %s (video %v, audio %v), video.mp4 %s", pb.Duration, pb.HasVideo, pb.HasAudio, pp.Duration)
	}
	// At 1.8 s (inside the cue) the pictures differ by the text; at 0.5 s (no cue) they hardly do.
	atCue, off := changedPixels(t, burnt, plain, 1800*time.Millisecond), changedPixels(t, burnt, plain, 500*time.Millisecond)
	t.Logf("pixels changed by the burn-in: %d at the cue, %d without cue", atCue, off)
	if atCue < 200 || atCue < 10*off {
		t.Errorf("pixels changed by the burn-in: %d at the cue, %d without cue", atCue, off)
	}
}

// changedPixels counts the luma samples that differ by more than 64 between the frames of a
// and b at t.
func changedPixels(t *testing.T, a, b string, at time.Duration) int {
	t.Helper()
	frame := func(path string) []byte {
		out, err := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.3f", at.Seconds()), "-i", path, "-frames:v", "1",
			"-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
		if err != nil || len(out) == 0 {
			t.Fatalf("frame of %s at %s: %v", path, at, err)
		}
		return out
	}
	fa, fb := frame(a), frame(b)
	if len(fa) != len(fb) {
		t.Fatalf("frame sizes %d and %d", len(fa), len(fb))
	}
	n := 0
	for i := range fa {
		if d := int(fa[i]) - int(fb[i]); d > 64 || d < -64 {
			n++
		}
	}
	return n
}

// TestUnlistedWhenReady: "publication": "unlisted" in the meta makes the replay unlisted once it is
// ready (the catalog refuses it before), and leaves it a draft until then.
func TestUnlistedWhenReady(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{noRun: true})
	status, out := e.upload(`{"title": "t", "language": "fr", "publication": "unlisted"}`, clip(t, 2*time.Second), nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	ctx := context.Background()
	if rp, err := e.catalog.Replay(ctx, id); err != nil || rp.Publication != catalog.Draft {
		t.Fatalf("before processing: %+v %v", rp.Publication, err)
	}
	e.start()
	if v := e.waitFor(id, "a final status", final); v.Status != StatusReady {
		t.Fatalf("recording: %+v", v)
	}
	if rp, err := e.catalog.Replay(ctx, id); err != nil || rp.Publication != catalog.Unlisted || rp.Processing != catalog.Ready {
		t.Fatalf("when ready: publication %s processing %s, %v", rp.Publication, rp.Processing, err)
	}
}
