package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// call sends a JSON request to the pipeline's routes and decodes the answer.
func (e *env) call(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestRecut re-cuts a ready recording through PUT /api/recordings/{id}/edits: refused edits
// name their field (422), a second re-cut while one is queued is a 409 that says to wait or
// cancel, and the re-cut replay keeps its id and publication while its duration, chapters and
// subtitle cue follow the new cut (the cue as learners are served it).
func TestRecut(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	status, out := e.upload(`{"title": "t", "language": "fr", "publication": "published",
		"chapters": [{"start": 0, "title": "Intro"}, {"start": "00:00:04", "title": "Partage"}]}`, clip(t, 6*time.Second),
		map[string]string{"fr.srt": "1\n00:00:04,000 --> 00:00:04,500\nBonjour\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	if v := e.waitFor(id, "ready", final); v.Status != StatusReady || v.Links["edits"] == "" {
		t.Fatalf("first render: %+v", v)
	} else if v.Source.FrameRate != 25 { // the clip's rate: the editor snaps its cuts to frames
		t.Errorf("source frame_rate = %v, want 25", v.Source.FrameRate)
	}
	if _, err := e.replayReaches(id, catalog.Ready); err != nil {
		t.Fatal(err)
	}
	path := "/api/recordings/" + id + "/edits"

	for _, tt := range []struct{ body, field, says string }{
		{`{"edits": {"keep": [[0, 100]]}}`, "edits.keep[0]", "past the end"},
		{`{"edits": {"keep": [[0, 3], [2, 4]]}}`, "edits.keep[1]", "overlap"},
		{`{"edits": {"remove": [[0, 6]]}}`, "edits.remove", "whole recording"},
		{`{"edits": {"remove": [[3, 5]]}}`, "chapters[1].start", "outside the kept material"},
		{`{"edits": {"keep": [[0, 3]]}, "cut": "slow"}`, "cut", "fast, accurate or reencode"},
		{`{"edits": {"keep": [[0, 3]]}, "title": "x"}`, "title", ""},
	} {
		st, got := e.call("PUT", path, tt.body)
		if st != http.StatusUnprocessableEntity || got["field"] != tt.field || !strings.Contains(got["error"].(string), tt.says) {
			t.Errorf("PUT edits %s: %d %v; want 422 on %s saying %q", tt.body, st, got, tt.field, tt.says)
		}
	}
	if v := e.get(id); v.Status != StatusReady {
		t.Fatalf("a refused re-cut changed the recording: %+v", v)
	}

	// Hold the workers so that the re-cut stays queued while a second one is asked for.
	e.shutdown()
	st, got := e.call("PUT", path, `{"edits": {"remove": [[1, 3]]}, "cut": "reencode"}`)
	if st != http.StatusAccepted || got["status"] != string(StatusQueued) || got["id"] != id {
		t.Fatalf("PUT edits: %d %v", st, got)
	}
	st, got = e.call("PUT", path, `{"edits": {"remove": [[0, 1]]}}`)
	if msg, _ := got["error"].(string); st != http.StatusConflict || !strings.Contains(msg, "cancel it first") {
		t.Errorf("PUT edits while queued: %d %v; want 409 saying to wait or cancel", st, got)
	}
	if st, got := e.call("POST", "/api/recordings/"+id+"/retry", ""); st != http.StatusConflict {
		t.Errorf("retry while queued: %d %v", st, got)
	}
	// Cancelling the queued re-cut leaves the replay served as it was.
	if st, got := e.call("POST", "/api/recordings/"+id+"/cancel", ""); st != http.StatusAccepted || got["status"] != string(StatusCancelled) {
		t.Fatalf("cancel the queued re-cut: %d %v", st, got)
	}
	if rp, err := e.catalog.Replay(ctx, id); err != nil || rp.Processing != catalog.Ready || rp.DurationMS < 5900 {
		t.Errorf("replay after a cancelled re-cut: %+v %v", rp, err)
	}
	if st, _, _ := fetch(t, learner(t, e).URL+"/replays/"+id+"/video.mp4"); st != http.StatusOK {
		t.Errorf("video after a cancelled re-cut: %d", st)
	}
	// A cancelled recording may be re-cut.
	st, got = e.call("PUT", path, `{"edits": {"remove": [[1, 3]]}, "cut": "reencode"}`)
	if st != http.StatusAccepted || got["status"] != string(StatusQueued) {
		t.Fatalf("PUT edits after cancel: %d %v", st, got)
	}
	e.start()
	v := e.waitFor(id, "re-cut", final)
	if v.Status != StatusReady {
		t.Fatalf("re-cut: %+v", v)
	}
	// The replay: same id and publication, 4 s long, chapter 2 at 2 s, the cue at 2 s.
	rp, err := e.catalog.Replay(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Publication != catalog.Published || rp.ID != id || rp.Processing != catalog.Ready {
		t.Errorf("replay after the re-cut: %+v", rp)
	}
	if len(rp.Chapters) != 2 || rp.Chapters[1].StartMS != 2000 {
		t.Errorf("chapters after the re-cut: %+v", rp.Chapters)
	}
	if rp.DurationMS < 3900 || rp.DurationMS > 4100 {
		t.Errorf("catalog duration %d ms, want 4000", rp.DurationMS)
	}
	lrn := learner(t, e)
	resp, err := http.Get(lrn.URL + "/replays/" + id + "/video.mp4")
	if err != nil {
		t.Fatal(err)
	}
	video := filepath.Join(t.TempDir(), "served.mp4")
	f, _ := os.Create(video)
	io.Copy(f, resp.Body)
	f.Close()
	resp.Body.Close()
	probe, err := media.ProbeFile(ctx, video)
	if err != nil {
		t.Fatal(err)
	}
	if d := probe.Duration; d < 3900*time.Millisecond || d > 4100*time.Millisecond {
		t.Errorf("served video lasts %s after removing 2 s of 6 s", d)
	}
	if st, _, vtt := fetch(t, lrn.URL+"/replays/"+id+"/subtitles/fr.vtt"); st != 200 || !strings.Contains(vtt, "00:00:02.000 --> 00:00:02.500\nBonjour") {
		t.Errorf("served subtitles after the re-cut (%d), want the cue at 2 s:\n%s", st, vtt)
	}
	if v.Cut != media.CutReencode || len(v.Requested) != 2 {
		t.Errorf("recording after the re-cut: cut %s, requested %v", v.Cut, v.Requested)
	}
}

// TestRetry: a recording whose job failed (its source vanished from storage) is queued again by
// POST /api/recordings/{id}/retry once the cause is fixed, and becomes ready; a ready recording
// cannot be retried.
func TestRetry(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	e := newEnv(t, envOptions{noRun: true})
	src := clip(t, 2*time.Second)
	status, out := e.upload(`{"title": "t", "language": "fr"}`, src, nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	key := layout.Recording(id).SourceKey()
	if err := e.store.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(e.svc.workDir(id)) // no spool: the job must download the source
	e.start()
	v := e.waitFor(id, "failed", final)
	if v.Status != StatusFailed || v.Links["retry"] == "" {
		t.Fatalf("without its source: %+v", v)
	}
	if _, err := e.store.Put(ctx, key, strings.NewReader(string(src)), int64(len(src)), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	st, got := e.call("POST", "/api/recordings/"+id+"/retry", "")
	if st != http.StatusAccepted || got["status"] != string(StatusQueued) || got["error"] != nil {
		t.Fatalf("retry: %d %v", st, got)
	}
	if v := e.waitFor(id, "ready", final); v.Status != StatusReady {
		t.Fatalf("after retry: %+v", v)
	}
	if _, err := e.replayReaches(id, catalog.Ready); err != nil {
		t.Fatal(err)
	}
	st, got = e.call("POST", "/api/recordings/"+id+"/retry", "")
	if msg, _ := got["error"].(string); st != http.StatusConflict || !strings.Contains(msg, "only a failed or cancelled") {
		t.Errorf("retry of a ready recording: %d %v", st, got)
	}
	if st, _ := e.call("POST", "/api/recordings/nope/retry", ""); st != http.StatusNotFound {
		t.Errorf("retry of an unknown recording: %d", st)
	}
}
