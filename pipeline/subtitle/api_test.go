package subtitle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/auth"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/sqldb"
	"codeberg.org/atelier/atelier/pipeline/media"
)

type apiEnv struct {
	srv     *httptest.Server
	media   *assets.Dir
	catalog *catalog.Store
	tracks  *Tracks
	ready   bool
}

// KeptSpans makes the env the API's Recordings: one recording, rec1, ready when env.ready.
func (e *apiEnv) KeptSpans(ctx context.Context, id string) ([]media.Span, bool, error) {
	if id != "rec1" {
		return nil, false, httpapi.ErrNotFound
	}
	return goldenKeep, e.ready, nil
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqldb.Open(ctx, filepath.Join(dir, "atelier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := catalog.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateReplay(ctx, catalog.NewReplay{ID: "rec1", Title: "Nextcloud", Language: "fr"}); err != nil {
		t.Fatal(err)
	}
	store, err := assets.NewDir(filepath.Join(dir, "media"), "http://127.0.0.1/media/", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	env := &apiEnv{media: store, catalog: cat}
	env.tracks = &Tracks{Store: store, Catalog: cat, Now: func() time.Time { return time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC) }}
	api := NewAPI(env.tracks, env)
	r := mux.NewRouter()
	withUser := func(next httpapi.HandlerFunc) http.Handler {
		return httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return next(w, r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Name: "camille", Role: auth.RoleAnimator})))
		})
	}
	r.Handle("/api/recordings/{id}/subtitles/{lang}", withUser(api.Put)).Methods("PUT")
	r.Handle("/api/recordings/{id}/subtitles/{lang}", withUser(api.GetSource)).Methods("GET")
	r.Handle("/api/recordings/{id}/subtitles", withUser(api.List)).Methods("GET")
	r.Handle("/api/recordings/{id}/subtitles/{lang}", withUser(api.Patch)).Methods("PATCH")
	env.srv = httptest.NewServer(r)
	t.Cleanup(env.srv.Close)
	// What a render leaves: the variants of the master playlist.
	vj, _ := json.Marshal([]media.Variant{{URI: "360p/index.m3u8", Width: 640, Height: 360, Bandwidth: 800000, Codecs: "avc1.64001e,mp4a.40.2"}})
	if _, err := store.Put(ctx, "replays/rec1/hls/variants.json", bytes.NewReader(vj), int64(len(vj)), "application/json"); err != nil {
		t.Fatal(err)
	}
	return env
}

func (e *apiEnv) do(t *testing.T, method, path, ct string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var compact bytes.Buffer
	if json.Compact(&compact, b) == nil {
		b = compact.Bytes()
	}
	return resp.StatusCode, string(b)
}

func (e *apiEnv) get(t *testing.T, key string) string {
	t.Helper()
	rc, _, err := e.media.Open(context.Background(), key, nil)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func TestAPIPut(t *testing.T) {
	env := newAPIEnv(t)
	latin1, err := os.ReadFile("testdata/retime_latin1.srt")
	if err != nil {
		t.Fatal(err)
	}

	// Malformed: 422 naming the line.
	code, body := env.do(t, "PUT", "/api/recordings/rec1/subtitles/fr", "application/x-subrip",
		[]byte("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:0x,000\nbad\n"))
	if code != 422 || !strings.Contains(body, `"field":"file"`) || !strings.Contains(body, "line 6:") {
		t.Errorf("malformed: %d %s", code, body)
	}
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/xx_--", "", latin1)
	if code != 422 || !strings.Contains(body, `"field":"lang"`) {
		t.Errorf("bad lang: %d %s", code, body)
	}
	code, _ = env.do(t, "PUT", "/api/recordings/nope/subtitles/fr", "", latin1)
	if code != 404 {
		t.Errorf("unknown recording: %d", code)
	}

	// Before the replay is ready: stored, published later.
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/fr", "application/octet-stream", latin1)
	if code != 202 || !strings.Contains(body, `"status":"pending"`) {
		t.Errorf("not ready: %d %s", code, body)
	}

	code, body = env.do(t, "GET", "/api/recordings/rec1/subtitles", "", nil)
	if code != 200 || !strings.Contains(body, `{"items":[{"lang":"fr","kind":"manual","status":"pending"`) {
		t.Errorf("list before publishing: %d %s", code, body)
	}

	// Ready: published at once, re-timed through the cuts.
	env.ready = true
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/fr", "", latin1)
	if code != 200 || !strings.Contains(body, `"kind":"manual"`) || !strings.Contains(body, `"status":"reviewed"`) ||
		!strings.Contains(body, `"cue_count":5`) || !strings.Contains(body, `"updated_by":"camille"`) {
		t.Fatalf("ready: %d %s", code, body)
	}
	want, _ := os.ReadFile("testdata/retime_latin1.golden.vtt")
	if got := env.get(t, "replays/rec1/subtitles/fr.vtt"); got != string(want) {
		t.Errorf("published track:\n%s\nwant:\n%s", got, want)
	}
	if pl := env.get(t, "replays/rec1/hls/subs/fr/index.m3u8"); !strings.Contains(pl, "#EXT-X-ENDLIST") || !strings.Contains(pl, "00000.vtt") {
		t.Errorf("rendition playlist:\n%s", pl)
	}
	if seg := env.get(t, "replays/rec1/hls/subs/fr/00000.vtt"); !strings.Contains(seg, "X-TIMESTAMP-MAP") || !strings.Contains(seg, "Café crème") {
		t.Errorf("segment:\n%s", seg)
	}
	master := env.get(t, "replays/rec1/hls/master.m3u8")
	if !strings.Contains(master, `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr"`) ||
		!strings.Contains(master, `URI="subs/fr/index.m3u8"`) || !strings.Contains(master, `SUBTITLES="subs"`) {
		t.Errorf("master:\n%s", master)
	}
	rp, err := env.catalog.Replay(context.Background(), "rec1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Tracks) != 1 || rp.Tracks[0].Lang != "fr" || rp.Tracks[0].CueCount != 5 || rp.Tracks[0].UpdatedBy != "camille" {
		t.Errorf("catalog tracks: %+v", rp.Tracks)
	}

	code, body = env.do(t, "GET", "/api/recordings/rec1/subtitles", "", nil)
	if code != 200 || !strings.Contains(body, `"lang":"fr","kind":"manual","status":"reviewed","cue_count":5,"updated_by":"camille"`) || !strings.Contains(body, `"total":1`) {
		t.Errorf("list: %d %s", code, body)
	}

	// The source-time file comes back for correction, as UTF-8.
	code, body = env.do(t, "GET", "/api/recordings/rec1/subtitles/fr", "", nil)
	if code != 200 || !strings.Contains(body, "00:00:28,000 --> 00:00:42,000") || !strings.Contains(body, "Coupé") {
		t.Errorf("get source: %d %s", code, body)
	}
	if code, _ = env.do(t, "GET", "/api/recordings/rec1/subtitles/de", "", nil); code != 404 {
		t.Errorf("missing track: %d", code)
	}
}

// A WebVTT file that browsers read with blocks skipped is stored with what was kept, and the
// answer lists the skipped blocks; one with nothing usable left is refused with the first reason.
func TestAPIPutWarnings(t *testing.T) {
	env := newAPIEnv(t)
	ids, err := os.ReadFile("testdata/webvtt/ids-arrows.vtt")
	if err != nil {
		t.Fatal(err)
	}
	code, body := env.do(t, "PUT", "/api/recordings/rec1/subtitles/fr", "text/vtt", ids)
	var reply PutReply
	if err := json.Unmarshal([]byte(body), &reply); err != nil {
		t.Fatalf("%d %s: %v", code, body, err)
	}
	if code != 202 || reply.CueCount != 6 || len(reply.Warnings) != 5 || !strings.HasPrefix(reply.Warnings[0], `line 3: cue id "-->" dropped`) {
		t.Errorf("ids with arrows: %d %s", code, body)
	}
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/en", "text/vtt", []byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nClean\n"))
	if code != 202 || !strings.Contains(body, `"warnings":[]`) {
		t.Errorf("clean file: %d %s", code, body)
	}
	code, body = env.do(t, "PUT", "/api/recordings/rec1/subtitles/de", "text/vtt", []byte("WEBVTT\n\n-->\n\n00:01,000 --> 00:02,000\nx\n"))
	if code != 422 || !strings.Contains(body, `"field":"file"`) || !strings.Contains(body, `no cues found: line 3: `) {
		t.Errorf("nothing usable: %d %s", code, body)
	}
}

// a fake transcriber: one cue per call, in source time.
type fakeTranscriber struct{ calls int }

func (f *fakeTranscriber) Transcribe(ctx context.Context, wav, lang string) (*astisub.Subtitles, error) {
	f.calls++
	if lang == "de" {
		return nil, errors.New("model crashed")
	}
	if lang != "en" {
		return nil, ErrUnsupportedLang
	}
	// replay time: the audio given is the kept audio
	return Parse([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nhello automatic\n\n00:00:19.000 --> 00:00:21.000\nacross the join\n"), "")
}

func TestPublishAllAndAutoCaption(t *testing.T) {
	env := newAPIEnv(t)
	ctx := context.Background()
	// An upload's file, and an automatic draft in another language.
	srt := []byte("1\n00:00:15,000 --> 00:00:18,000\nbonjour\n")
	if _, err := env.media.Put(ctx, "recordings/rec1/subtitles/fr.srt", bytes.NewReader(srt), int64(len(srt)), ""); err != nil {
		t.Fatal(err)
	}
	ft := &fakeTranscriber{}
	env.tracks.Transcriber = ft
	env.tracks.ExtractAudio = func(ctx context.Context, src, dst string, keep ...media.Span) error {
		if len(keep) != 2 {
			t.Errorf("audio extracted with kept spans %v", keep)
		}
		return os.WriteFile(dst, []byte("RIFF"), 0o644)
	}
	if made, err := env.tracks.AutoCaption(ctx, "rec1", "fr", "/nonexistent", goldenKeep); err != nil || made {
		t.Errorf("auto caption over a manual track: %v %v", made, err)
	}
	if made, err := env.tracks.AutoCaption(ctx, "rec1", "es", "/nonexistent", goldenKeep); err != nil || made {
		t.Errorf("auto caption in an unsupported language: %v %v", made, err)
	}
	if made, err := env.tracks.AutoCaption(ctx, "rec1", "de", "/nonexistent", goldenKeep); err == nil || made {
		t.Errorf("failing transcriber: %v %v", made, err)
	}
	if made, err := env.tracks.AutoCaption(ctx, "rec1", "en", "/nonexistent", goldenKeep); err != nil || !made {
		t.Fatalf("auto caption: %v %v", made, err)
	}
	tracks, err := env.tracks.PublishAll(ctx, "rec1", goldenKeep, "dominique")
	if err != nil {
		t.Fatal(err)
	}
	if len(tracks) != 2 || tracks[0].Lang != "en" || tracks[0].Kind != KindAuto || tracks[0].Status != StatusDraft ||
		tracks[1].Lang != "fr" || tracks[1].Kind != KindManual || tracks[1].UpdatedBy != "dominique" {
		t.Errorf("tracks: %+v", tracks)
	}
	// Stored in source time (11-13 s; 39-41 s across the removed 30-40 s), published back in
	// replay time unchanged.
	if got := env.get(t, "recordings/rec1/subtitles/en.auto.vtt"); !strings.Contains(got, "00:00:11.000 --> 00:00:13.000\nhello automatic") ||
		!strings.Contains(got, "00:00:29.000 --> 00:00:41.000\nacross the join") {
		t.Errorf("auto draft not in source time:\n%s", got)
	}
	if got := env.get(t, "replays/rec1/subtitles/en.vtt"); !strings.Contains(got, "00:00:01.000 --> 00:00:03.000\nhello automatic") ||
		!strings.Contains(got, "00:00:19.000 --> 00:00:21.000\nacross the join") {
		t.Errorf("auto track not re-timed:\n%s", got)
	}
	master := env.get(t, "replays/rec1/hls/master.m3u8")
	// The automatic draft is not offered to learners until reviewed (or made visible).
	if strings.Contains(master, `LANGUAGE="en"`) || !strings.Contains(master, `NAME="Français"`) {
		t.Errorf("master:\n%s", master)
	}
	// Burn-in gets the replay-time track as a file.
	dst := filepath.Join(t.TempDir(), "burn.vtt")
	if err := env.tracks.BurnInFile(ctx, "rec1", "fr", goldenKeep, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); !strings.Contains(string(b), "00:00:05.000 --> 00:00:08.000\nbonjour") {
		t.Errorf("burn-in file:\n%s", b)
	}
	if err := env.tracks.BurnInFile(ctx, "rec1", "de", goldenKeep, dst); !errors.Is(err, assets.ErrNotExist) {
		t.Errorf("burn-in of a missing track: %v", err)
	}
}
