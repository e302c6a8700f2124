package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/assets"
	"codeberg.org/atelier/atelier/assets/layout"
	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/media"
)

// TestEditorPreviews: the job stores the source's waveform and storyboard beside it, the routes
// serve them and the raw source (with ranges); a recording without them (processed before they
// existed) gets them on the first request. On both storage backends.
func TestEditorPreviews(t *testing.T) {
	testenv.FFmpeg(t)
	for _, backend := range []string{"dir", "s3"} {
		t.Run(backend, func(t *testing.T) {
			o := envOptions{}
			if backend == "s3" {
				s3 := testenv.S3(t)
				st, err := assets.NewS3(context.Background(), assets.S3Config{Endpoint: s3.Endpoint, Bucket: "ed" + fmt.Sprint(time.Now().UnixNano()%1e6),
					AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Region: s3.Region, PathStyle: true})
				if err != nil {
					t.Fatal(err)
				}
				o.store = st
			}
			testEditorPreviews(t, newEnv(t, o))
		})
	}
}

func (e *env) fetch(path string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func testEditorPreviews(t *testing.T, e *env) {
	ctx := context.Background()
	src := clip(t, 4*time.Second)
	status, out := e.upload(`{"title": "t", "language": "fr", "edits": {"keep": [[1, 3]]}}`, src, nil)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %v", status, out)
	}
	id := out["id"].(string)
	if v := e.waitFor(id, "ready", final); v.Status != StatusReady {
		t.Fatalf("recording: %+v", v)
	}
	// Stored by the job, beside the source.
	for _, k := range previewKeys(id) {
		if _, err := e.store.Stat(ctx, k); err != nil {
			t.Errorf("after the job: %s: %v", k, err)
		}
	}
	check := func(when string) {
		base := "/api/recordings/" + id
		resp, body := e.fetch(base + "/waveform.json")
		var wf media.Waveform
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &wf) != nil {
			t.Fatalf("%s: waveform.json: %d %s %.200s", when, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		// Source time: the whole 4 s, not the 2 s kept.
		if wf.Version != 2 || wf.Channels != 1 || wf.Bits != 8 || wf.SampleRate/wf.SamplesPerPixel != 10 ||
			wf.Length < 39 || wf.Length > 41 || len(wf.Data) != 2*wf.Length {
			t.Errorf("%s: waveform %+v (%d values), want 40 pairs", when, wf, len(wf.Data))
		}
		loud := 0
		for _, v := range wf.Data {
			if v > 8 || v < -8 { // lavfi's sine is at 1/8 of full scale: about ±16
				loud++
			}
		}
		if loud < wf.Length { // the clip's sine plays all along
			t.Errorf("%s: waveform of a 440 Hz sine has only %d loud values of %d", when, loud, len(wf.Data))
		}
		resp, body = e.fetch(base + "/storyboard.vtt")
		if resp.StatusCode != 200 || !strings.Contains(string(body), "00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,") {
			t.Errorf("%s: storyboard.vtt: %d\n%s", when, resp.StatusCode, body)
		}
		resp, body = e.fetch(base + "/storyboard.jpg")
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(body)); resp.StatusCode != 200 || err != nil || cfg.Width != 320 {
			t.Errorf("%s: storyboard.jpg: %d %v %d px", when, resp.StatusCode, err, cfg.Width)
		}
	}
	check("stored by the job")

	// A recording from before previews: computed on the first request, then stored.
	for _, k := range previewKeys(id) {
		if err := e.store.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	check("computed on request")
	if _, err := e.store.Stat(ctx, layout.Recording(id).WaveformKey()); err != nil {
		t.Errorf("waveform not stored after the request: %v", err)
	}

	// The raw source, with ranges, as uploaded.
	resp, body := e.fetch("/api/recordings/"+id+"/source", "Range", "bytes=100-199")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, src[100:200]) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("source range: %d, %d bytes, same: %v", resp.StatusCode, len(body), bytes.Equal(body, src[100:200]))
	}
	resp, body = e.fetch("/api/recordings/" + id + "/source")
	if resp.StatusCode != 200 || !bytes.Equal(body, src) || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/") {
		t.Errorf("source: %d, %d bytes of %d, type %s", resp.StatusCode, len(body), len(src), resp.Header.Get("Content-Type"))
	}
	if resp, _ := e.fetch("/api/recordings/nope/waveform.json"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("waveform of an unknown recording: %d", resp.StatusCode)
	}
}
