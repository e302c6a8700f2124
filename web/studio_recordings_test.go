package web

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
)

// TestStudioRecordingScriptMessages: every text the cut editor, the jobs list and the recording
// page ask for (t("…") and tr(M, "…")) is handed over by the pages (timelineScriptKeys,
// jobScriptKeys, recordingScriptKeys) and exists in both languages, so that no key shows as
// itself.
func TestStudioRecordingScriptMessages(t *testing.T) {
	keys := slices.Concat(timelineScriptKeys, jobScriptKeys, recordingScriptKeys)
	// Every "tl.…", "job.…" or "rec.…" string in the scripts is a message key (t, say, tr, and
	// the toolbar's button table pass them on).
	used := regexp.MustCompile(`"((?:tl|job|rec)\.[a-z.]+[a-z])"()`)
	for _, f := range []string{"timeline.js", "jobs.js", "recording.js"} {
		js, err := staticFS.ReadFile("static/studio/" + f)
		if err != nil {
			t.Fatal(err)
		}
		found := used.FindAllStringSubmatch(string(js), -1)
		if len(found) < 3 {
			t.Fatalf("found %d texts in %s: the pattern no longer matches the script", len(found), f)
		}
		for _, m := range found {
			if k := m[1] + m[2]; !slices.Contains(keys, k) {
				t.Errorf("%s uses %q, which no page hands over", f, k)
			}
		}
	}
	// Texts built from a status: "job." + v.status.
	for _, st := range []string{"queued", "processing", "ready", "failed", "cancelled"} {
		if !slices.Contains(jobScriptKeys, "job."+st) {
			t.Errorf("jobScriptKeys lacks job.%s", st)
		}
	}
	// And from a stage: "job.stage." + v.stage, every stage the pipeline writes (pipeline/worker.go
	// stages, the store's "starting", the worker's "interrupted" and "waiting to retry").
	for _, st := range []string{"starting", "download", "cut", "render", "upload", "subtitles", "video", "extras", "ladder",
		"captions", "interrupted", "waiting to retry"} {
		if !slices.Contains(jobScriptKeys, "job.stage."+st) {
			t.Errorf("jobScriptKeys lacks job.stage.%s", st)
		}
	}
	for _, lang := range []string{"en", "fr"} {
		for _, k := range keys {
			if messages[lang][k] == "" {
				t.Errorf("%s: no message %s", lang, k)
			}
		}
	}
}

// TestStudioRecordingPage: without a session the page is the sign-in form; with one, it is the
// editor's shell: the script's messages in the page's language and the replay's chapters in
// data attributes (no inline script), and the source it plays; an unknown recording is a 404.
func TestStudioRecordingPage(t *testing.T) {
	ctx := context.Background()
	f := newSiteFixture(t)
	err := f.cat.CreateReplay(ctx, catalog.NewReplay{ID: "r1", Title: "Partager des fichiers", Language: "fr",
		Chapters: []catalog.Chapter{{StartMS: 1500, Title: "Le partage", Documents: []catalog.Tag{}}}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, session bool) (*httptest.ResponseRecorder, error) {
		req := httptest.NewRequest("GET", path, nil)
		req = mux.SetURLVars(req, map[string]string{"id": strings.Split(strings.TrimPrefix(path, "/studio/recordings/"), "?")[0]})
		if session {
			p, err := f.auth.Authenticate(ctx, f.token)
			if err != nil {
				t.Fatal(err)
			}
			login := httptest.NewRecorder()
			if err := f.site.startSession(login, httptest.NewRequest("POST", "/studio/login", nil), p); err != nil {
				t.Fatal(err)
			}
			for _, c := range login.Result().Cookies() {
				req.AddCookie(c)
			}
		}
		rec := httptest.NewRecorder()
		return rec, f.site.StudioRecording(rec, req)
	}
	rec, err := get("/studio/recordings/r1?lang=fr", false)
	if err != nil || !strings.Contains(rec.Body.String(), `name="token"`) {
		t.Fatalf("without a session: %v %.300s", err, rec.Body)
	}
	rec, err = get("/studio/recordings/r1?lang=fr", true)
	if err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if strings.Contains(body, "<script>") || !strings.Contains(body, `src="/api/recordings/r1/source"`) ||
		!strings.Contains(body, `src="/static/studio/recording.js"`) {
		t.Fatalf("the page: %.800s", body)
	}
	attr := func(name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s: %.500s", name, body)
		}
		return html.UnescapeString(m[1])
	}
	var msgs map[string]string
	if err := json.Unmarshal([]byte(attr("data-msgs")), &msgs); err != nil {
		t.Fatal(err)
	}
	if msgs["tl.split"] != messages["fr"]["tl.split"] || msgs["job.retry"] != messages["fr"]["job.retry"] ||
		len(msgs) != len(timelineScriptKeys)+len(jobScriptKeys)+len(recordingScriptKeys) {
		t.Errorf("messages handed to the script: %v", msgs)
	}
	var chapters []catalog.Chapter
	if err := json.Unmarshal([]byte(attr("data-chapters")), &chapters); err != nil {
		t.Fatal(err)
	}
	if len(chapters) != 1 || chapters[0].StartMS != 1500 || chapters[0].Title != "Le partage" {
		t.Errorf("chapters handed to the script: %+v", chapters)
	}
	if _, err := get("/studio/recordings/nope", true); !errors.Is(err, httpapi.ErrNotFound) {
		t.Errorf("an unknown recording: %v, want not found", err)
	}
}
