package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// StudioRecording is /studio/recordings/{id}: a recording's job (state, progress, error, cancel
// and retry) and its cut editor on a timeline. The page is a shell; web/static/studio/recording.js
// reads the recording (GET /api/recordings/{id}: kept spans, source duration), plays the raw
// source (…/source), draws the server's waveform and storyboard (…/waveform.json,
// …/storyboard.vtt) and applies a new cut with PUT …/edits, so that the editor and `curl` meet
// the same rules. The replay's chapters (replay time) ride along in a data attribute for the
// script to map back to source time. Without a session it shows the sign-in form.
func (s *Site) StudioRecording(w http.ResponseWriter, r *http.Request) error {
	sess, rp, ok, err := s.studioRecordingOf(w, r)
	if !ok || err != nil {
		return err
	}
	l := pickLang(w, r)
	msgs, err := scriptMsgs(l, timelineScriptKeys, jobScriptKeys, recordingScriptKeys)
	if err != nil {
		return err
	}
	chapters := make([]catalog.Chapter, len(rp.Chapters))
	for i, c := range rp.Chapters {
		chapters[i] = c.Chapter
	}
	ch, err := json.Marshal(chapters)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "studio_recording", "rec.title", map[string]any{
		"Who": sess.Principal, "R": rp, "Msgs": msgs, "Chapters": string(ch),
	})
}

// scriptMsgs gathers the messages a studio script uses, in the page's language, as the JSON of
// one data attribute (no inline script under the strict CSP).
func scriptMsgs(l Lang, keys ...[]string) (string, error) {
	m := map[string]string{}
	for _, ks := range keys {
		for _, k := range ks {
			m[k] = l.T(k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("web: script messages: %w", err)
	}
	return string(b), nil
}

// timelineScriptKeys are the messages of web/static/studio/timeline.js (the cut editor).
var timelineScriptKeys = []string{
	"tl.in", "tl.out", "tl.split", "tl.delete", "tl.chapter", "tl.back", "tl.fwd", "tl.preview", "tl.zoom", "tl.keys",
	"tl.track", "tl.kept", "tl.chapters", "tl.chapters.none", "tl.remove", "tl.part.remove", "tl.seekto", "tl.result", "tl.edge.start",
	"tl.edge.end", "tl.chapter.title", "tl.chapter.tags", "tl.chapter.tags.help", "tl.chapter.remove",
	"tl.err.short", "tl.err.gap", "tl.err.edge", "tl.err.last", "tl.did.in", "tl.did.out", "tl.did.split", "tl.did.delete",
}

// jobScriptKeys are the messages of web/static/studio/jobs.js (a recording's job).
var jobScriptKeys = []string{
	"job.queued", "job.processing", "job.ready", "job.failed", "job.cancelled", "job.eta", "job.attempts",
	"job.progress", "job.cancel", "job.retry", "job.none", "job.open", "job.eta.min", "job.playable", "job.watch",
	"job.stage.starting", "job.stage.download", "job.stage.cut", "job.stage.render", "job.stage.upload", "job.stage.subtitles",
	"job.stage.video", "job.stage.extras", "job.stage.ladder", "job.stage.captions", "job.stage.interrupted",
	"job.stage.waiting to retry",
}

// recordingScriptKeys are the messages of web/static/studio/recording.js.
var recordingScriptKeys = []string{"rec.applying", "rec.done", "rec.failed"}

// studioRecordingOf starts a studio page about the recording {id}: its session and the
// recording's catalog replay. Without a session it answers with the sign-in form and ok false.
func (s *Site) studioRecordingOf(w http.ResponseWriter, r *http.Request) (session, catalog.Replay, bool, error) {
	sess, ok := s.sessionOf(r)
	if !ok {
		return sess, catalog.Replay{}, false, s.signInForm(w, r, http.StatusOK, "")
	}
	if s.catalog == nil {
		return sess, catalog.Replay{}, false, fmt.Errorf("web: no catalog: %w", httpapi.ErrUnavailable)
	}
	id := mux.Vars(r)["id"]
	if !replayIDPattern.MatchString(id) {
		return sess, catalog.Replay{}, false, fmt.Errorf("web: recording %q: %w", id, httpapi.ErrNotFound)
	}
	rp, err := s.catalog.Replay(r.Context(), id)
	return sess, rp, err == nil, err
}
