package web

import (
	"encoding/json"
	"net/http"
)

// StudioCaptions is /studio/recordings/{id}/captions: the caption editor. The page is a shell —
// the player, a track picker and an empty cue list; web/static/studio/captions.js reads the
// tracks through the subtitle API (GET …/subtitles/{lang}?format=vtt, source time), maps them
// onto the replay's time with the recording's kept spans (GET /api/recordings/{id}) and saves
// with PUT …/subtitles/{lang} (WebVTT, source time) and PATCH (reviewed, visible), so that the
// editor and `curl` meet the same rules. Without a session it shows the sign-in form.
func (s *Site) StudioCaptions(w http.ResponseWriter, r *http.Request) error {
	sess, rp, ok, err := s.studioRecordingOf(w, r)
	if !ok || err != nil {
		return err
	}
	l := pickLang(w, r)
	// The script's texts, in the page's language, in one data attribute (no inline script).
	msgs := map[string]string{}
	for _, k := range captionScriptKeys {
		msgs[k] = l.T("cap." + k)
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "studio_captions", "cap.title", map[string]any{
		"Who": sess.Principal, "R": rp, "Msgs": string(b), "Languages": filterLanguages,
	})
}

// captionScriptKeys are the cap.* messages captions.js uses.
var captionScriptKeys = []string{
	"loading", "none", "cue", "start", "end", "text", "fromhead", "head", "split", "merge", "delete", "add",
	"err.order", "err.negative", "err.empty", "warn.overlap", "saved", "savedreviewed", "unsaved",
	"replaced", "notfound", "status.draft", "status.reviewed", "status.pending", "kind.auto", "kind.manual",
	"visible", "hidden", "removed", "invalid", "reviewedby", "confirmleave",
}
