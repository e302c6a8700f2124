package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

// env is one "server": database, storage, catalog, the pipeline and its routes.
type env struct {
	t       *testing.T
	dir     string
	store   assets.Store
	catalog *catalog.Store
	svc     *Service
	srv     *httptest.Server
	stop    context.CancelFunc
	done    chan error
}

type envOptions struct {
	dir       string       // reuse a data directory (restart)
	store     assets.Store // default: a Dir under dir
	maxUpload int64
	noRun     bool // do not start the workers
	workers   int
	gate      *renderGate                  // holds the switch to a new render generation when armed
	catalog   func(*catalog.Store) Catalog // wraps the catalog the service sees
	ladder    []int
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	appDB, err := sqldb.Open(ctx, filepath.Join(o.dir, "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	queueDB, err := sqldb.Open(ctx, filepath.Join(o.dir, "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	if o.store == nil {
		d, err := assets.NewDir(filepath.Join(o.dir, "media"), "", []byte("0123456789abcdef0123"))
		if err != nil {
			t.Fatal(err)
		}
		o.store = d
	}
	cat, err := catalog.Open(ctx, appDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateSoftware(ctx, catalog.NewSoftware{Slug: "nextcloud", Name: "Nextcloud"}); err != nil && !errors.Is(err, catalog.ErrConflict) {
		t.Fatal(err)
	}
	var pcat Catalog = cat
	if o.gate != nil {
		o.gate.Store = cat
		pcat = o.gate
	}
	if o.catalog != nil {
		pcat = o.catalog(cat)
	}
	svc, err := New(ctx, Config{
		DB: appDB, QueueDB: queueDB, Store: o.store, Catalog: pcat, WorkDir: filepath.Join(o.dir, "work"),
		MaxUpload: o.maxUpload, Workers: max(o.workers, 1), Ladder: o.ladder, Log: testLogger(), PollInterval: 100 * time.Millisecond, StaleAfter: time.Second,
		RetryDelay: 300 * time.Millisecond,
		Tracks:     &subtitle.Tracks{Store: o.store, Catalog: cat},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: o.dir, store: o.store, catalog: cat, svc: svc}
	r := mux.NewRouter()
	api := svc.API()
	r.Handle("/api/recordings", httpapi.HandlerFunc(api.Upload)).Methods("POST")
	r.Handle("/api/recordings", httpapi.HandlerFunc(api.List)).Methods("GET")
	r.Handle("/api/recordings/{id}", httpapi.HandlerFunc(api.Get)).Methods("GET")
	r.Handle("/api/recordings/{id}/events", httpapi.HandlerFunc(api.Events)).Methods("GET")
	r.Handle("/api/recordings/{id}/cancel", httpapi.HandlerFunc(api.Cancel)).Methods("POST")
	r.Handle("/api/recordings/{id}/edits", httpapi.HandlerFunc(api.Edits)).Methods("PUT")
	r.Handle("/api/recordings/{id}/retry", httpapi.HandlerFunc(api.Retry)).Methods("POST")
	r.Handle("/api/recordings/{id}/waveform.json", httpapi.HandlerFunc(api.Waveform)).Methods("GET")
	r.Handle("/api/recordings/{id}/storyboard.vtt", httpapi.HandlerFunc(api.StoryboardVTT)).Methods("GET")
	r.Handle("/api/recordings/{id}/storyboard.jpg", httpapi.HandlerFunc(api.StoryboardJPG)).Methods("GET")
	r.Handle("/api/recordings/{id}/source", httpapi.HandlerFunc(api.Source)).Methods("GET")
	// The routes as an admin calls them (cmd/atelier's route table checks tokens).
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Name: "test", Role: auth.RoleAdmin})))
	}))
	if !o.noRun {
		e.start()
	}
	t.Cleanup(func() {
		e.shutdown()
		e.srv.Close()
		queueDB.Close()
		appDB.Close()
	})
	return e
}

// replayKey is the storage key of rel in the current render generation of replay id.
func (e *env) replayKey(id, rel string) string {
	e.t.Helper()
	rp, err := e.catalog.Replay(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return layout.Replay(id).Render(rp.Render).Key(rel)
}

// testLogger shows the service's log with -v.
func testLogger() *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan error, 1)
	go func() {
		err := e.svc.Run(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			e.t.Errorf("workers: %v", err)
		}
		e.done <- err
	}()
}

// shutdown stops the workers hard, as a server receiving SIGTERM does.
func (e *env) shutdown() {
	if e.stop == nil {
		return
	}
	e.stop()
	select {
	case <-e.done:
	case <-time.After(40 * time.Second):
		e.t.Error("workers did not stop")
	}
	e.stop = nil
}

// multipartBody builds an upload: meta, then source (from a file or bytes), then subtitles.
func multipartBody(t *testing.T, meta string, source []byte, subs map[string]string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="meta"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	io.WriteString(pw, meta)
	if source != nil {
		fw, _ := mw.CreateFormFile("source", "recording.mp4")
		fw.Write(source)
	}
	for name, text := range subs {
		fw, _ := mw.CreateFormFile("subtitles", name)
		io.WriteString(fw, text)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func (e *env) upload(meta string, source []byte, subs map[string]string) (int, map[string]any) {
	e.t.Helper()
	body, ct := multipartBody(e.t, meta, source, subs)
	resp, err := http.Post(e.srv.URL+"/api/recordings", ct, body)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) get(id string) View {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/recordings/" + id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// waitFor polls the recording until cond holds.
func (e *env) waitFor(id string, what string, cond func(View) bool) View {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		v := e.get(id)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("recording %s: waited too long for %s; last: %+v", id, what, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func final(v View) bool { return v.Status.Final() }

func clip(t *testing.T, d time.Duration) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Clip(t, testenv.ClipOptions{Duration: d, Audio: true, GOP: 25}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadProcessReady(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{})
	id := runReady(t, e)

	// A re-render (what the subtitle step asks for) runs again from the stored original (the
	// spool is gone) and leaves the replay ready.
	if err := e.svc.Rerender(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if v := e.get(id); v.Status != StatusQueued || len(v.Outputs) != 0 {
		t.Fatalf("after Rerender: %+v", v)
	}
	v := e.waitFor(id, "ready again", final)
	if v.Status != StatusReady || v.Links["video"] == "" {
		t.Fatalf("re-render: %+v", v)
	}
	if _, err := e.store.Stat(context.Background(), e.replayKey(id, "subtitles/fr.vtt")); err != nil {
		t.Errorf("subtitles after re-render: %v", err)
	}
}

func TestUploadProcessReadyS3(t *testing.T) {
	testenv.FFmpeg(t)
	s3 := testenv.S3(t)
	st, err := assets.NewS3(context.Background(), assets.S3Config{Endpoint: s3.Endpoint, Bucket: "atelier",
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{store: st})
	runReady(t, e)
}

func runReady(t *testing.T, e *env) string {
	ctx := context.Background()
	src := clip(t, 6*time.Second)
	meta := `{"title": "Partager des fichiers", "language": "fr", "publication": "published",
		"documents": [{"software": "nextcloud", "version": "27.1.4"}],
		"edits": {"keep": [["00:00:03.5", "5"], [1, "00:00:02.5"]]},
		"chapters": [{"start": "1.2", "title": "Début"}, {"start": "00:00:04", "title": "Partage par lien",
			"documents": [{"software": "nextcloud", "version": "27.1.4"}]}]}`
	status, out := e.upload(meta, src, map[string]string{"fr.srt": "1\n00:00:01,000 --> 00:00:02,000\nBonjour\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id, _ := out["id"].(string)
	links, _ := out["links"].(map[string]any)
	if out["status"] != "queued" || links["events"] != "/api/recordings/"+id+"/events" || links["cancel"] == nil {
		t.Fatalf("upload answer: %v", out)
	}

	// Follow the events until the end: they stream the same JSON and stop at a final state.
	resp, err := http.Get(e.srv.URL + "/api/recordings/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	var events []View
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var v View
			if err := json.Unmarshal([]byte(data), &v); err != nil {
				t.Fatal(err)
			}
			events = append(events, v)
		}
	}
	resp.Body.Close()
	if len(events) < 2 {
		t.Fatalf("only %d events", len(events))
	}
	last := events[len(events)-1]
	if last.Status != StatusReady {
		t.Fatalf("last event: %+v", last)
	}
	sawProgress := false
	for _, v := range events {
		if v.Status == StatusProcessing && v.Progress > 0 && v.Progress < 1 {
			sawProgress = true
		}
	}
	if !sawProgress {
		t.Errorf("no progress event among %d", len(events))
	}

	v := e.get(id)
	if v.Status != StatusReady || v.Progress != 1 || v.Error != "" {
		t.Fatalf("recording: %+v", v)
	}
	if len(v.Actual) != 2 || v.Actual[0].Start != time.Second || v.Actual[1].End != 5*time.Second {
		// accurate mode: the actual cut points are the requested ones (frame-exact at 25 fps)
		t.Errorf("actual %v", v.Actual)
	}
	if d := v.ReplayMS; d < 2900 || d > 3100 {
		t.Errorf("replay lasts %d ms, want 3000", d)
	}
	for _, name := range []string{"video", "hls", "poster", "chapters", "page"} {
		if v.Links[name] == "" {
			t.Errorf("no %s link: %v", name, v.Links)
		}
	}
	if v.Links["cancel"] != "" {
		t.Errorf("a ready recording offers cancel")
	}
	for _, key := range []string{e.replayKey(id, "video.mp4"), e.replayKey(id, "hls/master.m3u8"), "recordings/" + id + "/source",
		"recordings/" + id + "/subtitles/fr.srt"} {
		if _, err := e.store.Stat(ctx, key); err != nil {
			t.Errorf("stat %s: %v", key, err)
		}
	}
	// The uploaded fr.srt (1 s–2 s in the source) is published in replay time (0 s–1 s).
	rc, _, err := e.store.Open(ctx, e.replayKey(id, "subtitles/fr.vtt"), nil)
	if err != nil {
		t.Errorf("published subtitles: %v", err)
	} else {
		vtt, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(vtt), "00:00:00.000 --> 00:00:01.000") || !strings.Contains(string(vtt), "Bonjour") {
			t.Errorf("published subtitles:\n%s", vtt)
		}
	}
	if len(v.Outputs) == 0 || v.Subtitles[0] != "recordings/"+id+"/subtitles/fr.srt" {
		t.Errorf("outputs %v subtitles %v", v.Outputs, v.Subtitles)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "work", id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir left behind: %v", err)
	}
	rp, err := e.catalog.Replay(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Processing != catalog.Ready || rp.Publication != catalog.Published || rp.DurationMS < 2900 {
		t.Errorf("replay: processing %s publication %s duration %d", rp.Processing, rp.Publication, rp.DurationMS)
	}
	// Chapters in replay time: 1.2 s -> 0.2 s; 4 s is 0.5 s into the second span (1.5 s long) -> 2 s.
	if len(rp.Chapters) != 2 || rp.Chapters[0].StartMS != 200 || rp.Chapters[1].StartMS != 2000 {
		t.Errorf("chapters %+v", rp.Chapters)
	}
	spans, ready, err := e.svc.KeptSpans(ctx, id)
	if err != nil || !ready || len(spans) != 2 {
		t.Errorf("KeptSpans = %v, %v, %v", spans, ready, err)
	}
	return id
}

func TestUploadRefused(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{noRun: true, maxUpload: 1 << 20})
	src := clip(t, 6*time.Second)
	big := bytes.Repeat([]byte("x"), 1200<<10)
	const ok = `"title":"t","language":"fr"`
	tests := []struct {
		name   string
		meta   string
		source []byte
		subs   map[string]string
		status int
		field  string
		msg    string
	}{
		{"not a video", `{` + ok + `}`, []byte("this is a text file, not a video\n"), nil, 422, "source", "not a video"},
		{"playlist", `{` + ok + `}`, []byte("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"), nil, 422, "source", "not a video"},
		{"cut past the end", `{` + ok + `,"edits":{"keep":[[0,1],[2,"00:00:09"]]}}`, src, nil, 422, "edits.keep[1]",
			"cut past the end: range 2 ends at 00:00:09 but the recording lasts 00:00:06"},
		{"overlap", `{` + ok + `,"edits":{"remove":[[0,2],[1,3]]}}`, src, nil, 422, "edits.remove[1]", "overlap"},
		{"chapter outside", `{` + ok + `,"edits":{"keep":[[0,2]]},"chapters":[{"start":3,"title":"x"}]}`, src, nil, 422,
			"chapters[0].start", "outside the kept material"},
		{"bad timecode", `{` + ok + `,"edits":{"keep":[["0:00:01","1:2"]]}}`, src, nil, 422, "edits.keep[0][1]", "bad timecode"},
		{"unknown software", `{` + ok + `,"documents":[{"software":"nextclod","version":"27"}]}`, src, nil, 422,
			"documents[0].software", "nextcloud"},
		{"bad subtitle name", `{` + ok + `}`, src, map[string]string{"subs.txt": "x"}, 422, "subtitles[0]", "language"},
		{"malformed subtitles", `{` + ok + `}`, src, map[string]string{"fr.srt": "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nno timing here\n"},
			422, "subtitles[0]", "fr.srt: line 6: expected the timing line of cue 2"},
		{"subtitles too large", `{` + ok + `}`, src, map[string]string{"fr.srt": strings.Repeat("x", subtitle.MaxFileSize+1)},
			413, "", "subtitles[0]: subtitle file \"fr.srt\" is larger than 10 MiB"},
		{"missing source", `{` + ok + `}`, nil, nil, 422, "source", "source"},
		{"burn in without its track", `{` + ok + `,"burn_in":"en"}`, src, map[string]string{"fr.srt": "1\n00:00:01,000 --> 00:00:02,000\nok\n"},
			422, "burn_in", "no subtitles file in en to burn in"},
		{"burn in no language", `{` + ok + `,"burn_in":"french!"}`, src, nil, 422, "burn_in", "not a language tag"},
		{"too large", `{` + ok + `}`, big, nil, 413, "", "larger than the upload limit of 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := e.upload(tt.meta, tt.source, tt.subs)
			if status != tt.status || out["field"] != nilIfEmpty(tt.field) || !strings.Contains(fmt.Sprint(out["error"]), tt.msg) {
				t.Fatalf("got %d %v; want %d field %q error containing %q", status, out, tt.status, tt.field, tt.msg)
			}
			// Nothing half-stored: no object, no spool.
			objs, err := e.store.List(context.Background(), "recordings/")
			if err != nil || len(objs) != 0 {
				t.Errorf("objects left: %v %v", objs, err)
			}
			if ents, _ := os.ReadDir(filepath.Join(e.dir, "work")); len(ents) != 0 {
				t.Errorf("work dirs left: %v", ents)
			}
		})
	}
}

// TestUploadMalformedForm: a form the parser refuses is the client's error (4xx), whatever part
// it breaks in, and nothing of it stays stored.
func TestUploadMalformedForm(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{noRun: true})
	src := clip(t, 2*time.Second)
	meta := "--b\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"title\":\"t\",\"language\":\"fr\"}\r\n"
	source := "--b\r\nContent-Disposition: form-data; name=\"source\"; filename=\"r.mp4\"\r\n\r\n" + string(src)
	for _, tc := range []struct {
		name, boundary, body string
		status               int
	}{
		{"no boundary line", "b", "just some text\r\n", 422},
		{"boundary over 70 bytes", strings.Repeat("b", 71), "--" + strings.Repeat("b", 71) + "\r\n\r\nx\r\n", 422},
		{"meta header too large", "b", "--b\r\nX-Big: " + strings.Repeat("x", 20<<10) + "\r\n\r\n{}\r\n--b--\r\n", 422},
		{"body ends in meta", "b", "--b\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"title\"", 422},
		{"body ends in source", "b", meta + source[:len(source)-1000], 422},
		{"junk after the source's boundary", "b", meta + source + "\r\n--b\tjunk\r\n--b--\r\n", 422},
		{"source header cut", "b", meta + "--b\r\nContent-Disposition: form-data; name=\"sou", 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(e.srv.URL+"/api/recordings", "multipart/form-data; boundary="+tc.boundary, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tc.status || out["error"] == nil {
				t.Fatalf("got %d %v, want %d with an error text", resp.StatusCode, out, tc.status)
			}
			if objs, err := e.store.List(context.Background(), "recordings/"); err != nil || len(objs) != 0 {
				t.Errorf("objects left: %v %v", objs, err)
			}
		})
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestCancel(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	e := newEnv(t, envOptions{noRun: true})
	src := clip(t, 20*time.Second)
	meta := `{"title":"t","language":"fr","cut":"reencode"}`

	// Queued: cancelled at once; its event stream keeps alive while waiting, then ends.
	status, out := e.upload(meta, src, nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	queued := out["id"].(string)
	defer func(d time.Duration) { heartbeat = d }(heartbeat)
	heartbeat = 20 * time.Millisecond
	events, err := http.Get(e.srv.URL + "/api/recordings/" + queued + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	sc := bufio.NewScanner(events.Body)
	for sc.Scan() && sc.Text() != ": keep-alive" {
	}
	resp, err := http.Post(e.srv.URL+"/api/recordings/"+queued+"/cancel", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	if v := e.get(queued); v.Status != StatusCancelled {
		t.Fatalf("after cancel: %+v", v)
	}
	var lastData string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			lastData = d
		}
	}
	if !strings.Contains(lastData, `"status":"cancelled"`) {
		t.Errorf("the event stream did not end on cancelled: %s", lastData)
	}
	// Cancelling again is a conflict.
	resp, _ = http.Post(e.srv.URL+"/api/recordings/"+queued+"/cancel", "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second cancel: %d", resp.StatusCode)
	}

	// Running: ffmpeg is stopped and the recording ends cancelled.
	_, out = e.upload(meta, src, nil)
	running := out["id"].(string)
	e.start()
	e.waitFor(running, "processing", func(v View) bool { return v.Status == StatusProcessing && v.Progress > 0.06 })
	resp, _ = http.Post(e.srv.URL+"/api/recordings/"+running+"/cancel", "", nil)
	resp.Body.Close()
	v := e.waitFor(running, "cancelled", final)
	if v.Status != StatusCancelled || len(v.Outputs) != 0 {
		t.Fatalf("after cancel: %+v", v)
	}
	if rp, err := e.replayReaches(running, catalog.Cancelled); err != nil || rp.Processing != catalog.Cancelled {
		t.Errorf("replay %+v %v", rp.Processing, err)
	}
	if objs, _ := e.store.List(ctx, "replays/"+running+"/"); len(objs) != 0 {
		t.Errorf("outputs of a cancelled recording: %v", objs)
	}
}

// TestRestart kills the workers mid-job and starts a new server on the same data: the job
// finishes there. It covers both a shutdown (the job goes back to the queue) and a crash (the
// job stays "running" in River; the new server sees the stale heartbeat and restarts it).
func TestRestart(t *testing.T) {
	testenv.FFmpeg(t)
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "shutdown", true: "crash"}[crash], func(t *testing.T) {
			dir := t.TempDir()
			e := newEnv(t, envOptions{dir: dir})
			src := clip(t, 20*time.Second)
			status, out := e.upload(`{"title":"t","language":"fr","cut":"reencode","edits":{"remove":[[5,6]]}}`, src, nil)
			if status != http.StatusAccepted {
				t.Fatalf("upload: %d %v", status, out)
			}
			id := out["id"].(string)
			e.waitFor(id, "processing", func(v View) bool { return v.Status == StatusProcessing && v.Progress > 0.06 })
			e.shutdown()
			if v := e.get(id); v.Status.Final() {
				t.Fatalf("finished before the stop: %+v", v)
			}
			if crash {
				// What a killed process leaves: the job "running", the recording "processing".
				db := e.svc.cfg.DB
				if _, err := db.Exec(`UPDATE river_job SET state = 'running', attempted_at = CURRENT_TIMESTAMP
					WHERE id = (SELECT job_id FROM recordings WHERE id = $1)`, id); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(`UPDATE recordings SET status = 'processing', heartbeat_at = '2020-01-01T00:00:00Z' WHERE id = $1`, id); err != nil {
					t.Fatal(err)
				}
			}
			e2 := newEnv(t, envOptions{dir: dir, store: e.store})
			v := e2.waitFor(id, "ready", final)
			if v.Status != StatusReady {
				t.Fatalf("after restart: %+v", v)
			}
			if d := v.ReplayMS; d < 18900 || d > 19100 {
				t.Errorf("replay lasts %d ms, want 19000", d)
			}
		})
	}
}

// TestBadSourceNotRetried: a source that turns out unreadable in the job (here: the stored
// original replaced by garbage and no spool, so the job downloads it) fails at once, with the
// reason, without using up the retries.
func TestBadSourceNotRetried(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	e := newEnv(t, envOptions{noRun: true})
	status, out := e.upload(`{"title":"t","language":"fr"}`, clip(t, 6*time.Second), nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	garbage := bytes.Repeat([]byte("not a video "), 1000)
	if _, err := e.store.Put(ctx, "recordings/"+id+"/source", bytes.NewReader(garbage), int64(len(garbage)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.cfg.DB.Exec(`UPDATE recordings SET source_size = $1 WHERE id = $2`, len(garbage), id); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(e.dir, "work", id)); err != nil {
		t.Fatal(err)
	}
	e.start()
	v := e.waitFor(id, "failed", final)
	if v.Status != StatusFailed || v.Attempts != 1 || !strings.Contains(v.Error, "not a readable audio or video file") {
		t.Fatalf("recording: %+v", v)
	}
	if rp, err := e.replayReaches(id, catalog.Failed); err != nil || rp.Processing != catalog.Failed {
		t.Errorf("replay: %v %v", rp.Processing, err)
	}
}

// replayReaches reads the replay of id until its processing state is want, for at most 10 s, and
// returns the last read. The recording and its replay are two stores written one after the
// other: a test that saw the recording final gives the replay a moment to follow (it must
// follow, never stay "processing").
func (e *env) replayReaches(id, want string) (catalog.Replay, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		rp, err := e.catalog.Replay(context.Background(), id)
		if (err == nil && rp.Processing == want) || time.Now().After(deadline) {
			return rp, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStorageDownRetried: the storage goes away while the job runs; the job is retried with
// backoff and finishes once the storage is back.
func TestStorageDownRetried(t *testing.T) {
	testenv.FFmpeg(t)
	s3 := testenv.S3(t)
	st, err := assets.NewS3(context.Background(), assets.S3Config{Endpoint: s3.Endpoint, Bucket: "atelier",
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{store: st, noRun: true})
	status, out := e.upload(`{"title":"t","language":"fr"}`, clip(t, 6*time.Second), nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	s3.Kill()
	e.start()
	v := e.waitFor(id, "a retry", func(v View) bool { return strings.Contains(v.Error, "retrying") || v.Status.Final() })
	if v.Status.Final() || !strings.Contains(v.Error, "storage is unreachable") {
		t.Fatalf("recording: %+v", v)
	}
	s3.Restart(t)
	v = e.waitFor(id, "ready", final)
	if v.Status != StatusReady || v.Attempts < 2 || v.Error != "" {
		t.Fatalf("recording: %+v", v)
	}
}

// TestConcurrentLoad runs uploads, jobs on two workers, status polls and event streams at once
// on one SQLite database: River's own pool and the app's must not trip over each other
// ("database is locked").
func TestConcurrentLoad(t *testing.T) {
	testenv.FFmpeg(t)
	e := newEnv(t, envOptions{workers: 2})
	src := clip(t, 3*time.Second)
	const n = 4
	ids := make(chan string, n)
	// Errors are collected under a lock, not sent on a channel: a poller can still be finishing
	// a request after the uploads are done, and on a loaded machine that request may be the one
	// that fails — it must be reported, not panic on a closed channel.
	var mu sync.Mutex
	var failures []error
	fail := func(err error) { mu.Lock(); failures = append(failures, err); mu.Unlock() }
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, ct := multipartBody(t, `{"title":"t","language":"fr","edits":{"remove":[[1,2]]}}`, src, nil)
			resp, err := http.Post(e.srv.URL+"/api/recordings", ct, body)
			if err != nil {
				fail(err)
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != http.StatusAccepted {
				fail(fmt.Errorf("upload: %d %v", resp.StatusCode, out))
				return
			}
			id := out["id"].(string)
			ids <- id
			// Poll hard while following the events.
			stop := make(chan struct{})
			polled := make(chan struct{})
			go func() {
				defer close(polled)
				for {
					select {
					case <-stop:
						return
					default:
					}
					r, err := http.Get(e.srv.URL + "/api/recordings/" + id)
					if err != nil {
						fail(err)
						return
					}
					b, _ := io.ReadAll(r.Body)
					r.Body.Close()
					if r.StatusCode != http.StatusOK {
						fail(fmt.Errorf("get: %d %s", r.StatusCode, b))
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
			defer func() { close(stop); <-polled }()
			r, err := http.Get(e.srv.URL + "/api/recordings/" + id + "/events")
			if err != nil {
				fail(err)
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}()
	}
	wg.Wait()
	close(ids)
	for _, err := range failures {
		t.Error(err)
	}
	for id := range ids {
		if v := e.get(id); v.Status != StatusReady {
			t.Errorf("recording %s: %+v", id, v)
		}
	}
	resp, err := http.Get(e.srv.URL + "/api/recordings?status=ready&limit=3")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items      []View `json:"items"`
		Total      int    `json:"total"`
		NextOffset *int   `json:"next_offset"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if list.Total != n || len(list.Items) != 3 || list.NextOffset == nil || *list.NextOffset != 3 {
		t.Errorf("list: total %d, %d items, next %v", list.Total, len(list.Items), list.NextOffset)
	}
}
