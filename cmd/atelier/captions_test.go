package main

import (
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// uploadReady uploads a short generated clip through the real router as srv's admin, published
// when ready, and waits until its replay is ready; it returns the recording's id.
func uploadReady(t *testing.T, srv *e2eServer, seconds time.Duration) string {
	t.Helper()
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: seconds, Width: 320, Height: 180, Audio: true})
	f, err := os.Open(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	ct := make(chan string, 1)
	go func() {
		mw := multipart.NewWriter(pw)
		ct <- mw.FormDataContentType()
		w, _ := mw.CreateFormField("meta")
		io.WriteString(w, `{"title": "Share files with Nextcloud", "language": "en", "publication": "published"}`)
		w, _ = mw.CreateFormFile("source", "clip.mp4")
		io.Copy(w, f)
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", srv.url+"/api/recordings", pr)
	req.Header.Set("Content-Type", <-ct)
	req.Header.Set("Authorization", "Bearer "+srv.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode >= 300 || out.ID == "" {
		t.Fatalf("upload: %d %+v", resp.StatusCode, out)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		// Ready for the catalog (the replay) and for the pipeline (its kept spans), which the
		// subtitle API asks; the two are not written in one step.
		st, body := srv.api(t, "GET", "/api/replays/"+out.ID, "")
		stRec, rec := srv.api(t, "GET", "/api/recordings/"+out.ID, "")
		if st == 200 && strings.Contains(body, `"processing":"ready"`) && stRec == 200 && strings.Contains(rec, `"status":"ready"`) {
			return out.ID
		}
		if strings.Contains(body, `"processing":"failed"`) || time.Now().After(deadline) {
			t.Fatalf("recording %s not ready: %d %s", out.ID, st, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// publicGet is an anonymous GET: what a learner's browser gets.
func publicGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDraftTracksNotOffered goes through the real router: a draft track (?status=draft) is kept
// from learners — not on the replay page, not in the HLS master, its WebVTT and HLS rendition
// "not found" — while animators read it; the visible switch offers it on purpose, a review
// offers it for good and records who reviewed it.
func TestDraftTracksNotOffered(t *testing.T) {
	srv := startE2E(t)
	id := uploadReady(t, srv, 2*time.Second)
	base := srv.url + "/replays/" + id

	vtt := "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nA draft caption\n"
	req, _ := http.NewRequest("PUT", srv.url+"/api/recordings/"+id+"/subtitles/en?status=draft", strings.NewReader(vtt))
	req.Header.Set("Authorization", "Bearer "+srv.admin)
	req.Header.Set("Content-Type", "text/vtt")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status":"draft"`) {
		t.Fatalf("PUT draft: %d %s", resp.StatusCode, b)
	}

	offered := func(want bool) {
		t.Helper()
		st, _ := publicGet(t, base+"/subtitles/en.vtt")
		_, master := publicGet(t, base+"/hls/master.m3u8")
		stHLS, _ := publicGet(t, base+"/hls/subs/en/index.m3u8")
		_, page := publicGet(t, base)
		_, api := publicGet(t, srv.url+"/api/replays/"+id)
		got := map[string]bool{
			"WebVTT":        st == 200,
			"HLS rendition": stHLS == 200,
			"HLS master":    strings.Contains(master, `TYPE=SUBTITLES`) && strings.Contains(master, `LANGUAGE="en"`),
			"page <track>":  strings.Contains(page, `<track kind="subtitles"`),
			"API link":      strings.Contains(api, "/subtitles/en.vtt"),
		}
		for what, g := range got {
			if g != want {
				t.Errorf("offered to learners through %s: %v, want %v", what, g, want)
			}
		}
		if !want && st != 404 {
			t.Errorf("public WebVTT of a draft: %d, want 404", st)
		}
	}
	offered(false)
	// Animators still read the draft (the studio's editor plays it).
	if st, body := srv.api(t, "GET", "/replays/"+id+"/subtitles/en.vtt", ""); st != 200 || !strings.Contains(body, "A draft caption") {
		t.Errorf("animator reading the draft: %d %s", st, body)
	}

	if st, body := srv.api(t, "PATCH", "/api/recordings/"+id+"/subtitles/en", `{"visible": true}`); st != 200 || !strings.Contains(body, `"visible":true`) {
		t.Fatalf("PATCH visible: %d %s", st, body)
	}
	offered(true)
	if st, body := srv.api(t, "PATCH", "/api/recordings/"+id+"/subtitles/en", `{"visible": false}`); st != 200 {
		t.Fatalf("PATCH hidden: %d %s", st, body)
	}
	offered(false)
	st, body := srv.api(t, "PATCH", "/api/recordings/"+id+"/subtitles/en", `{"status": "reviewed"}`)
	if st != 200 || !strings.Contains(body, `"status":"reviewed"`) || !strings.Contains(body, `"kind":"manual"`) ||
		!strings.Contains(body, `"reviewed_by":"admin"`) || strings.Contains(body, `"reviewed_at":null`) {
		t.Fatalf("PATCH reviewed: %d %s", st, body)
	}
	offered(true)
	// Bad input names the field.
	if st, body := srv.api(t, "PATCH", "/api/recordings/"+id+"/subtitles/en", `{"status": "approved"}`); st != 422 || !strings.Contains(body, `"field":"status"`) {
		t.Errorf("PATCH bad status: %d %s", st, body)
	}
}
