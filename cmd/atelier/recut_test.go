package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestRecutRoutes goes through the real route table: the re-cut, retry and editor routes need an
// animator token, only the recording's owner (or an admin) may re-cut or retry, and a re-cut of
// an uploaded clip serves its subtitle cue re-timed at /replays/{id}/subtitles/{lang}.vtt under
// the same replay id and publication. (pipeline's TestRecut, TestRetry, TestEditorPreviews and
// TestRerenderSwitchesGenerations cover the behaviour in depth.)
func TestRecutRoutes(t *testing.T) {
	testenv.FFmpeg(t)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 5 * time.Second, Audio: true})
	base, _ := startServer(t, hardEnv(nil))
	alice, bob := newToken(t, base, "alice", "animator"), newToken(t, base, "bob", "animator")
	code, out := uploadRecording(t, base, alice, `{"title": "Essai", "language": "fr", "publication": "published"}`, clip)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %v", code, out)
	}
	id := out["id"].(string)
	if rec := waitFinal(t, base, alice, id); rec["status"] != "ready" {
		t.Fatalf("recording: %v", rec)
	}
	cue := "1\n00:00:03,000 --> 00:00:04,000\nBonjour\n"
	req, _ := http.NewRequest("PUT", base+"/api/recordings/"+id+"/subtitles/fr", strings.NewReader(cue))
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Set("Content-Type", "application/x-subrip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("PUT subtitles: %d", resp.StatusCode)
	}

	rec := "/api/recordings/" + id
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"PUT", rec + "/edits", "", `{"edits": {"remove": [[0, 2]]}}`, http.StatusUnauthorized},
		{"POST", rec + "/retry", "", "", http.StatusUnauthorized},
		{"GET", rec + "/waveform.json", "", "", http.StatusUnauthorized},
		{"GET", rec + "/source", "", "", http.StatusUnauthorized},
		{"PUT", rec + "/edits", bob, `{"edits": {"remove": [[0, 2]]}}`, http.StatusForbidden},
		{"POST", rec + "/retry", bob, "", http.StatusForbidden},
		{"POST", rec + "/retry", alice, "", http.StatusConflict},
		{"PUT", rec + "/edits", alice, `{"edits": {"remove": [[0, 9]]}}`, http.StatusUnprocessableEntity},
		{"GET", rec + "/waveform.json", bob, "", http.StatusOK}, // every animator sees every recording
		{"GET", rec + "/storyboard.vtt", bob, "", http.StatusOK},
		{"GET", rec + "/storyboard.jpg", bob, "", http.StatusOK},
		{"GET", rec + "/source", bob, "", http.StatusOK},
	} {
		if code, out := call2(t, c.method, base+c.path, c.token, c.body); code != c.want {
			t.Errorf("%s %s as %q: %d %v; want %d", c.method, c.path, c.token, code, out, c.want)
		}
	}

	code, out = call(t, "PUT", base+rec+"/edits", alice, `{"edits": {"remove": [[0, 2]]}}`)
	if code != http.StatusAccepted || out["id"] != id {
		t.Fatalf("re-cut: %d %v", code, out)
	}
	if rec := waitFinal(t, base, alice, id); rec["status"] != "ready" {
		t.Fatalf("re-cut recording: %v", rec)
	}
	_, rp := call(t, "GET", base+"/api/replays/"+id, "", "")
	if rp["id"] != id || rp["publication"] != "published" || rp["duration_ms"].(float64) > 3100 {
		t.Errorf("replay after the re-cut: %v", rp)
	}
	if code, vtt := publicGet(t, base+"/replays/"+id+"/subtitles/fr.vtt"); code != 200 || !strings.Contains(vtt, "00:00:01.000 --> 00:00:02.000\nBonjour") {
		t.Errorf("served subtitles after the re-cut (%d), want the cue moved to 1 s:\n%s", code, vtt)
	}
}

// call2 is call for routes whose answer may not be JSON (media).
func call2(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 200)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n])
}
