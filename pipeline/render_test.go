package pipeline

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/catalog"
	"codeberg.org/atelier/atelier/internal/httpapi"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/web"
)

// renderGate is the real catalog whose switch to a new render generation (SetRender) waits,
// once armed, until the test releases it: the moment between a complete new generation and the
// switch, which a learner could hit during any re-cut.
type renderGate struct {
	*catalog.Store
	reached chan string   // the render about to become current
	release chan struct{} // closed by the test
}

func (g *renderGate) arm() {
	g.reached, g.release = make(chan string, 1), make(chan struct{})
}

func (g *renderGate) SetRender(ctx context.Context, id, render string) error {
	if g.reached != nil {
		g.reached <- render
		<-g.release
		g.reached = nil
	}
	return g.Store.SetRender(ctx, id, render)
}

// learner serves the replay streams as cmd/atelier routes them, to anonymous visitors.
func learner(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	site, err := web.New(web.Options{Media: e.store, Catalog: e.catalog, Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	stream := httpapi.HandlerFunc(site.Stream)
	r.Handle(`/replays/{id}/{file:video\.mp4|audio\.m4a|poster\.jpg|storyboard\.jpg|storyboard\.vtt|chapters\.vtt}`, stream)
	r.Handle(`/replays/{id}/{file:subtitles}/{lang}.vtt`, stream)
	r.Handle(`/replays/{id}/{file:hls}/{path:.+}`, stream)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// fetch GETs url and returns the status and the SHA-256 of the body, and the body if it is text.
func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	text := ""
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/") || strings.Contains(resp.Header.Get("Content-Type"), "mpegurl") {
		text = string(b)
	}
	return resp.StatusCode, fmt.Sprintf("%x", sha256.Sum256(b)), text
}

// TestRerenderSwitchesGenerations: while a re-cut renders, learners keep streaming the previous
// outputs, whole (video, HLS, subtitles), even once the new generation is complete; the switch
// is one catalog write, after which they get the new outputs and the previous generation is
// gone from storage. On both storage backends (listing and deleting differ).
func TestRerenderSwitchesGenerations(t *testing.T) {
	testenv.FFmpeg(t)
	for _, backend := range []string{"dir", "s3"} {
		t.Run(backend, func(t *testing.T) {
			o := envOptions{gate: &renderGate{}}
			if backend == "s3" {
				s3 := testenv.S3(t)
				st, err := assets.NewS3(context.Background(), assets.S3Config{Endpoint: s3.Endpoint, Bucket: "gen" + fmt.Sprint(time.Now().UnixNano()%1e6),
					AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region, PathStyle: true})
				if err != nil {
					t.Fatal(err)
				}
				o.store = st
			}
			e := newEnv(t, o)
			testGenerations(t, e, o.gate)
		})
	}
}

func testGenerations(t *testing.T, e *env, gate *renderGate) {
	ctx := context.Background()
	status, out := e.upload(`{"title": "t", "language": "fr", "publication": "published"}`, clip(t, 4*time.Second),
		map[string]string{"fr.srt": "1\n00:00:03,000 --> 00:00:03,500\nBonjour\n"})
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	if v := e.waitFor(id, "ready", final); v.Status != StatusReady {
		t.Fatalf("first render: %+v", v)
	}
	if _, err := e.replayReaches(id, catalog.Ready); err != nil {
		t.Fatal(err)
	}
	first, err := e.catalog.Replay(ctx, id)
	if err != nil || first.Render == "" {
		t.Fatalf("first render: generation %q, %v", first.Render, err)
	}
	lrn := learner(t, e)
	files := []string{"video.mp4", "hls/master.m3u8", "subtitles/fr.vtt", "poster.jpg"}
	before := map[string]string{}
	for _, f := range files {
		st, sum, _ := fetch(t, lrn.URL+"/replays/"+id+"/"+f)
		if st != http.StatusOK {
			t.Fatalf("GET %s before the re-cut: %d", f, st)
		}
		before[f] = sum
	}
	if _, _, vtt := fetch(t, lrn.URL+"/replays/"+id+"/subtitles/fr.vtt"); !strings.Contains(vtt, "00:00:03.000 --> 00:00:03.500") {
		t.Fatalf("subtitles before the re-cut:\n%s", vtt)
	}

	// Re-cut: drop the first 2 s; hold the switch once the new generation is complete.
	gate.arm()
	rec, err := e.svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	plan := rec.Plan
	plan.Spans = TimecodeSpans{{Start: 2 * time.Second, End: rec.SourceLen}}
	if err := e.svc.store.setPlan(ctx, id, plan); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Rerender(ctx, id); err != nil {
		t.Fatal(err)
	}
	var next string
	select {
	case next = <-gate.reached:
	case <-time.After(90 * time.Second):
		t.Fatal("the re-render never reached its switch")
	}
	if next == first.Render {
		t.Fatalf("the re-render reuses generation %q", next)
	}
	// An animator corrects the track meanwhile (what the subtitle API does while the recording
	// is not ready: store it in source time, leave publishing to the job).
	if _, _, _, err := e.svc.cfg.Tracks.SaveSource(ctx, id, "fr", []byte("1\n00:00:03,000 --> 00:00:03,500\nSalut\n"), "fr.srt"); err != nil {
		t.Fatal(err)
	}
	// The new generation is complete in storage, and learners still get the old one, whole.
	newGen := layout.Replay(id).Render(next)
	for _, f := range files {
		if _, err := e.store.Stat(ctx, newGen.Key(f)); err != nil {
			t.Errorf("new generation lacks %s before the switch: %v", f, err)
		}
		st, sum, _ := fetch(t, lrn.URL+"/replays/"+id+"/"+f)
		if st != http.StatusOK || sum != before[f] {
			t.Errorf("GET %s during the re-render: %d, same bytes %v; want the previous outputs", f, st, sum == before[f])
		}
	}
	close(gate.release)
	if v := e.waitFor(id, "ready again", final); v.Status != StatusReady {
		t.Fatalf("re-render: %+v", v)
	}

	// After the switch: the new outputs, and nothing left of the previous generation.
	cur, err := e.catalog.Replay(ctx, id)
	if err != nil || cur.Render != next {
		t.Fatalf("current generation %q (%v), want %q", cur.Render, err, next)
	}
	st, sum, _ := fetch(t, lrn.URL+"/replays/"+id+"/video.mp4")
	if st != http.StatusOK || sum == before["video.mp4"] {
		t.Errorf("GET video.mp4 after the switch: %d, same bytes as before: %v", st, sum == before["video.mp4"])
	}
	if _, _, vtt := fetch(t, lrn.URL+"/replays/"+id+"/subtitles/fr.vtt"); !strings.Contains(vtt, "00:00:01.000 --> 00:00:01.500\nSalut") {
		t.Errorf("subtitles after the re-cut, want the correction sent during the render, re-timed to 1 s:\n%s", vtt)
	}
	objs, err := e.store.List(ctx, layout.Replay(id).AllPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if !newGen.Owns(o.Key) {
			t.Errorf("left after the switch: %s", o.Key)
		}
	}
	if len(objs) < len(files) {
		t.Errorf("only %d objects in the new generation", len(objs))
	}
}
