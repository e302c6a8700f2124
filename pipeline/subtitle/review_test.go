package subtitle

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"codeberg.org/atelier/atelier/pipeline/media"
)

// TestAPIReview: an automatic draft is kept from learners until an animator makes it visible or
// approves it (PATCH, no new file); the review keeps the kind "auto" and records who and when,
// survives a new render (no new transcription over it), and so does a correction sent as a file.
func TestAPIReview(t *testing.T) {
	env := newAPIEnv(t)
	ctx := context.Background()
	draft := []byte("WEBVTT\n\n00:00:11.000 --> 00:00:13.000\nhelo automatic\n")
	if _, err := env.media.Put(ctx, "recordings/rec1/subtitles/en.auto.vtt", bytes.NewReader(draft), int64(len(draft)), ""); err != nil {
		t.Fatal(err)
	}
	patch := func(body string) (int, string) {
		t.Helper()
		return env.do(t, "PATCH", "/api/recordings/rec1/subtitles/en", "application/json", []byte(body))
	}
	// Not rendered yet: nothing to review.
	if code, body := patch(`{"status":"reviewed"}`); code != 409 || !strings.Contains(body, "still processing") {
		t.Errorf("review while processing: %d %s", code, body)
	}
	env.ready = true
	if _, err := env.tracks.PublishAll(ctx, "rec1", goldenKeep, "dominique"); err != nil {
		t.Fatal(err)
	}
	inMaster := func() bool {
		return strings.Contains(env.get(t, "replays/rec1/hls/master.m3u8"), `LANGUAGE="en"`)
	}
	if inMaster() {
		t.Error("an automatic draft is in the HLS master")
	}

	for _, tt := range []struct{ body, field string }{
		{`{}`, "status"}, {`{"status":"approved"}`, "status"}, {`{"visible":"yes"}`, "body"}, {`{"kind":"manual"}`, "body"}, {`[`, "body"},
	} {
		if code, body := patch(tt.body); code != 422 || !strings.Contains(body, `"field":"`+tt.field+`"`) {
			t.Errorf("PATCH %s: %d %s, want 422 on %s", tt.body, code, body, tt.field)
		}
	}
	if code, _ := env.do(t, "PATCH", "/api/recordings/rec1/subtitles/de", "", []byte(`{"status":"reviewed"}`)); code != 404 {
		t.Errorf("PATCH of a missing track: %d", code)
	}

	code, body := patch(`{"visible":true}`)
	if code != 200 || !strings.Contains(body, `"kind":"auto","status":"draft"`) || !strings.Contains(body, `"visible":true`) ||
		!strings.Contains(env.get(t, "replays/rec1/hls/master.m3u8"), `NAME="English (automatic)",LANGUAGE="en"`) {
		t.Errorf("visible draft: %d %s (in master: %v)", code, body, inMaster())
	}
	code, body = patch(`{"visible":false,"status":"reviewed"}`)
	if code != 200 || !strings.Contains(body, `"kind":"auto","status":"reviewed"`) ||
		!strings.Contains(body, `"reviewed_by":"camille","reviewed_at":"2026-11-24T15:00:00Z"`) || !inMaster() {
		t.Errorf("approved: %d %s (in master: %v)", code, body, inMaster())
	}
	// Approved, the draft is the animators' file: a new render re-times it, no transcription
	// replaces it, and the review stays.
	if _, err := env.media.Stat(ctx, "recordings/rec1/subtitles/en.auto.vtt"); err == nil {
		t.Error("the approved draft is still stored as a draft a transcription would overwrite")
	}
	env.tracks.Transcriber = &fakeTranscriber{}
	env.tracks.ExtractAudio = func(ctx context.Context, src, dst string, keep ...media.Span) error { return nil }
	if made, err := env.tracks.AutoCaption(ctx, "rec1", "en", "/nonexistent", goldenKeep); err != nil || made {
		t.Errorf("transcribed again over an approved track: %v %v", made, err)
	}
	tracks, err := env.tracks.PublishAll(ctx, "rec1", goldenKeep, "dominique")
	if err != nil {
		t.Fatal(err)
	}
	if len(tracks) != 1 || tracks[0].Kind != KindAuto || tracks[0].Status != StatusReviewed || tracks[0].ReviewedBy != "camille" ||
		tracks[0].ReviewedAt == nil || !tracks[0].Offered() {
		t.Errorf("after a new render: %+v", tracks)
	}
	if got := env.get(t, "replays/rec1/subtitles/en.vtt"); !strings.Contains(got, "00:00:01.000 --> 00:00:03.000\nhelo automatic") {
		t.Errorf("published:\n%s", got)
	}

	// A corrected automatic track keeps its provenance; a draft has no reviewer.
	fixed := []byte("WEBVTT\n\n00:00:11.000 --> 00:00:13.000\nhello automatic\n")
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/en?status=draft", "text/vtt", fixed)
	if code != 200 || !strings.Contains(body, `"kind":"auto","status":"draft"`) || !strings.Contains(body, `"reviewed_by":"","reviewed_at":null`) {
		t.Errorf("corrected draft: %d %s", code, body)
	}
	if inMaster() {
		t.Error("a draft is in the HLS master")
	}
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/en", "text/vtt", fixed)
	if code != 200 || !strings.Contains(body, `"kind":"auto","status":"reviewed"`) || !strings.Contains(body, `"reviewed_by":"camille"`) {
		t.Errorf("corrected and reviewed: %d %s", code, body)
	}
	code, body = env.do(t, "GET", "/api/recordings/rec1/subtitles", "", nil)
	if code != 200 || !strings.Contains(body, `"kind":"auto","status":"reviewed"`) || !strings.Contains(body, `"reviewed_by":"camille"`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/en?kind=robot", "text/vtt", fixed); code != 422 || !strings.Contains(body, `"field":"kind"`) {
		t.Errorf("bad kind: %d %s", code, body)
	}
	if code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/fr?kind=auto", "text/vtt", fixed); code != 422 || !strings.Contains(body, `"field":"kind"`) {
		t.Errorf("kind auto for a new track: %d %s", code, body)
	}
	// kind=manual: the file replaces the automatic track with one made by hand.
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/en?kind=manual", "text/vtt", fixed)
	if code != 200 || !strings.Contains(body, `"kind":"manual","status":"reviewed"`) {
		t.Errorf("replaced by hand: %d %s", code, body)
	}
}
