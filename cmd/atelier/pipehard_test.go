package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// The pipeline findings of issue #14, over `atelier serve` and its real route table.

// hardAdmin is the bootstrap admin token of these tests (32 characters at least, as serve asks).
const hardAdmin = "pipehard-admin-token-0123456789abcdef"

// hardEnv is the environment of a test server, plus extra.
func hardEnv(extra map[string]string) map[string]string {
	env := map[string]string{"ATELIER_ADMIN_TOKEN": hardAdmin, "ATELIER_RELEASE_SYNC_INTERVAL": "0", "ATELIER_WORKERS": "1"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// call sends a JSON request with token and decodes the JSON answer.
func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(b) > 0 && json.Unmarshal(b, &out) != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// uploadRecording posts meta and the file at src to POST /api/recordings.
func uploadRecording(t *testing.T, base, token, meta, src string) (int, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormField("meta")
	io.WriteString(w, meta)
	w, _ = mw.CreateFormFile("source", "recording.mp4")
	w.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/recordings", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitFinal polls the recording until it reaches a final status, and returns it.
func waitFinal(t *testing.T, base, token, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, rec := call(t, "GET", base+"/api/recordings/"+id, token, "")
		if code != http.StatusOK {
			t.Fatalf("GET recording %s: %d %v", id, code, rec)
		}
		switch rec["status"] {
		case "ready", "failed", "cancelled":
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s not finished after 3 min: %v", id, rec)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newToken creates a token of role through the admin API and returns its secret.
func newToken(t *testing.T, base, name, role string) string {
	t.Helper()
	code, out := call(t, "POST", base+"/api/tokens", hardAdmin, fmt.Sprintf(`{"name": %q, "role": %q}`, name, role))
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create token %s: %d %v", name, code, out)
	}
	tok, _ := out["token"].(string)
	if tok == "" {
		t.Fatalf("create token %s: no token in %v", name, out)
	}
	return tok
}

// TestExplicitPublicationWinsOverPending (finding 4): an upload asks for "published" (or
// "unlisted") once ready; an animator sets "draft" while it is processing; when ready the replay
// is still a draft, and stays out of the public list and API. Without an explicit change the
// pending publication still applies.
func TestExplicitPublicationWinsOverPending(t *testing.T) {
	testenv.FFmpeg(t)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Audio: true})
	base, _ := startServer(t, hardEnv(nil))
	for _, tc := range []struct {
		asked, patch, want string
	}{
		{"published", "draft", "draft"},
		{"unlisted", "draft", "draft"},
		{"published", "", "published"},
		{"unlisted", "", "unlisted"},
	} {
		t.Run(tc.asked+"_then_"+tc.patch, func(t *testing.T) {
			code, out := uploadRecording(t, base, hardAdmin, fmt.Sprintf(`{"title": "Essai", "language": "fr", "publication": %q}`, tc.asked), clip)
			if code != http.StatusAccepted {
				t.Fatalf("upload: %d %v", code, out)
			}
			id := out["id"].(string)
			if tc.patch != "" {
				code, rp := call(t, "PATCH", base+"/api/replays/"+id, hardAdmin, fmt.Sprintf(`{"publication": %q}`, tc.patch))
				if code != http.StatusOK {
					t.Fatalf("PATCH: %d %v", code, rp)
				}
				// The finding is about a choice made while processing: make sure it was.
				if rp["processing"] != "processing" {
					t.Fatalf("the replay was %v when PATCHed; this test needs it still processing", rp["processing"])
				}
				if rp["pending_publication"] != "" {
					t.Errorf("after an explicit %q the pending publication is %v, want none", tc.patch, rp["pending_publication"])
				}
			}
			if rec := waitFinal(t, base, hardAdmin, id); rec["status"] != "ready" {
				t.Fatalf("recording ended %v: %v", rec["status"], rec["error"])
			}
			_, rp := call(t, "GET", base+"/api/replays/"+id, hardAdmin, "")
			if rp["publication"] != tc.want {
				t.Fatalf("ready replay is %v, want %s", rp["publication"], tc.want)
			}
			// What the public sees: a draft answers 404 to anonymous visitors.
			code, _ = call(t, "GET", base+"/api/replays/"+id, "", "")
			if wantPublic := tc.want != "draft"; (code == http.StatusOK) != wantPublic {
				t.Errorf("anonymous GET of the %s replay: %d", tc.want, code)
			}
		})
	}
}

// TestOnlyOwnerCancels (per-owner rules): every animator sees every recording, but only the
// token that uploaded it, or an admin, may cancel it; another animator gets a 403 that says so.
func TestOnlyOwnerCancels(t *testing.T) {
	testenv.FFmpeg(t)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second})
	base, _ := startServer(t, hardEnv(nil))
	alice, bob := newToken(t, base, "alice", "animator"), newToken(t, base, "bob", "animator")

	upload := func(token string) string {
		code, out := uploadRecording(t, base, token, `{"title": "Essai", "language": "fr"}`, clip)
		if code != http.StatusAccepted {
			t.Fatalf("upload: %d %v", code, out)
		}
		return out["id"].(string)
	}
	first, second := upload(alice), upload(alice)

	// Bob sees Alice's recordings, one by one and in the list.
	if code, rec := call(t, "GET", base+"/api/recordings/"+first, bob, ""); code != http.StatusOK || rec["created_by"] != "alice" {
		t.Fatalf("bob GET alice's recording: %d %v", code, rec)
	}
	if code, list := call(t, "GET", base+"/api/recordings", bob, ""); code != http.StatusOK || list["total"] != float64(2) {
		t.Fatalf("bob lists recordings: %d %v", code, list)
	}
	// He may not cancel them: 403 saying who may.
	code, out := call(t, "POST", base+"/api/recordings/"+first+"/cancel", bob, "")
	if msg, _ := out["error"].(string); code != http.StatusForbidden || !strings.Contains(msg, "only the token that uploaded") || !strings.Contains(msg, `"alice"`) {
		t.Fatalf("bob cancels alice's recording: %d %v; want 403 naming the owner", code, out)
	}
	if _, rec := call(t, "GET", base+"/api/recordings/"+first, bob, ""); rec["status"] == "cancelled" {
		t.Fatal("a refused cancel cancelled the recording")
	}
	// The owner may, and so may an admin.
	for _, c := range []struct{ who, token, id string }{{"alice", alice, first}, {"admin", hardAdmin, second}} {
		code, out := call(t, "POST", base+"/api/recordings/"+c.id+"/cancel", c.token, "")
		if code != http.StatusAccepted && !(code == http.StatusConflict && strings.Contains(fmt.Sprint(out["error"]), "already finished")) {
			t.Fatalf("%s cancels: %d %v", c.who, code, out)
		}
	}
}

// TestSourceLimits (finding 13): a source longer, larger or faster than the configured limits gets
// 422 on the field "source", naming the limit and its setting; a portrait picture within the
// limits either way round is accepted.
func TestSourceLimits(t *testing.T) {
	testenv.FFmpeg(t)
	base, _ := startServer(t, hardEnv(map[string]string{
		"ATELIER_MAX_DURATION": "4s", "ATELIER_MAX_RESOLUTION": "640x480", "ATELIER_MAX_FPS": "30",
	}))
	for _, tc := range []struct {
		name string
		clip testenv.ClipOptions
		want []string // in the error; none: accepted
	}{
		{"too long", testenv.ClipOptions{Duration: 6 * time.Second}, []string{"00:00:04", "ATELIER_MAX_DURATION"}},
		{"too large", testenv.ClipOptions{Duration: 2 * time.Second, Width: 960, Height: 540}, []string{"960×540", "640×480", "ATELIER_MAX_RESOLUTION"}},
		{"too fast", testenv.ClipOptions{Duration: 2 * time.Second, FPS: 50}, []string{"50 frames per second", "30", "ATELIER_MAX_FPS"}},
		{"portrait within", testenv.ClipOptions{Duration: 2 * time.Second, Width: 480, Height: 640}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := uploadRecording(t, base, hardAdmin, `{"title": "Essai", "language": "fr"}`, testenv.Clip(t, tc.clip))
			if tc.want == nil {
				if code != http.StatusAccepted {
					t.Fatalf("upload: %d %v, want 202", code, out)
				}
				return
			}
			msg, _ := out["error"].(string)
			if code != http.StatusUnprocessableEntity || out["field"] != "source" {
				t.Fatalf("upload: %d %v, want 422 on source", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}

// TestJobTimeout (finding 13): a job past its time limit (factor × the source's duration + base)
// fails with a reason that says so, at its first attempt: it is not retried.
func TestJobTimeout(t *testing.T) {
	testenv.FFmpeg(t)
	base, _ := startServer(t, hardEnv(map[string]string{"ATELIER_JOB_TIMEOUT_FACTOR": "0", "ATELIER_JOB_TIMEOUT_BASE": "300ms"}))
	code, out := uploadRecording(t, base, hardAdmin, `{"title": "Essai", "language": "fr"}`, testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second}))
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %v", code, out)
	}
	rec := waitFinal(t, base, hardAdmin, out["id"].(string))
	if msg, _ := rec["error"].(string); rec["status"] != "failed" || !strings.Contains(msg, "took longer than its limit") || !strings.Contains(msg, "-job-timeout-factor") {
		t.Fatalf("recording: %v %q, want failed past its time limit", rec["status"], rec["error"])
	}
	if rec["attempts"] != float64(1) {
		t.Errorf("attempts = %v, want 1 (a timeout is not retried)", rec["attempts"])
	}
}

// TestPeriodicSweep (finding 8): what a crash left (a temp object of the local store, a spool)
// goes at the next periodic sweep, without a restart, once older than -sweep-age; fresh
// leftovers stay, and so does an upload in progress that pauses past the bound.
func TestPeriodicSweep(t *testing.T) {
	testenv.FFmpeg(t)
	base, _ := startServer(t, hardEnv(map[string]string{"ATELIER_SWEEP_INTERVAL": "100ms", "ATELIER_SWEEP_AGE": "1h"}))
	data := os.Getenv("ATELIER_DATA_DIR")
	tmp, work := data+"/media/.tmp", data+"/work"
	twoHoursAgo := time.Now().Add(-2 * time.Hour)
	plant := func(path string, old bool) {
		t.Helper()
		if err := os.MkdirAll(path[:strings.LastIndex(path, "/")], 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if old {
			for _, p := range []string{path, path[:strings.LastIndex(path, "/")]} {
				if p != tmp {
					os.Chtimes(p, twoHoursAgo, twoHoursAgo)
				}
			}
		}
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	waitGone := func(paths ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for _, p := range paths {
			for exists(p) {
				if time.Now().After(deadline) {
					t.Fatalf("%s still there 30 s after it became stale: no periodic sweep", p)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}

	// Left by a crash two hours ago, after this server started; and fresh ones.
	oldTemp, oldSpool := tmp+"/put-crashed", work+"/0123456789abcdef/source"
	freshTemp, freshSpool := tmp+"/put-recent", work+"/fedcba9876543210/source"
	plant(freshTemp, false)
	plant(freshSpool, false)
	plant(oldTemp, true)
	plant(oldSpool, true)
	waitGone(oldTemp, oldSpool)
	for _, p := range []string{freshTemp, freshSpool} {
		if !exists(p) {
			t.Errorf("fresh leftover %s was swept", p)
		}
	}

	// An upload that pauses mid-source, its spool and temp object made to look two hours old:
	// the sweep must know it is in progress.
	src, err := os.ReadFile(testenv.Clip(t, testenv.ClipOptions{Duration: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	type result struct {
		code int
		out  map[string]any
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/recordings", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+hardAdmin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{code: -1, out: map[string]any{"error": err.Error()}}
			return
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		done <- result{resp.StatusCode, out}
	}()
	w, _ := mw.CreateFormField("meta")
	io.WriteString(w, `{"title": "Slow", "language": "fr"}`)
	w, _ = mw.CreateFormFile("source", "recording.mp4")
	w.Write(src[:len(src)/2])
	// Wait for its temp object (the source streams to storage; the request keeps no spool of it
	// on the local store), then age everything it has written so far.
	deadline := time.Now().Add(30 * time.Second)
	for inProgress := false; !inProgress; {
		ents, _ := os.ReadDir(tmp)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "put-") && e.Name() != "put-recent" {
				if fi, err := e.Info(); err == nil && fi.Size() > 0 {
					inProgress = true
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload's temp object did not appear")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the first half reach the temp object
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if e.Name() != "put-recent" {
			os.Chtimes(tmp+"/"+e.Name(), twoHoursAgo, twoHoursAgo)
		}
	}
	// A sweep has run since when this marker, planted now, is gone.
	marker := tmp + "/put-marker"
	plant(marker, true)
	waitGone(marker)
	w.Write(src[len(src)/2:])
	mw.Close()
	pw.Close()
	res := <-done
	if res.code != http.StatusAccepted {
		t.Fatalf("the paused upload: %d %v, want 202", res.code, res.out)
	}
	if rec := waitFinal(t, base, hardAdmin, res.out["id"].(string)); rec["status"] != "ready" {
		t.Fatalf("the paused upload ended %v: %v", rec["status"], rec["error"])
	}
}

// TestPipelineLimitsConfig: bad limits, job timeouts and sweep settings stop serve with exit 2.
func TestPipelineLimitsConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-max-resolution", "8k"}, "-max-resolution"},
		{[]string{"-max-duration", "0s"}, "-max-duration"},
		{[]string{"-max-fps", "-1"}, "-max-fps"},
		{[]string{"-job-timeout-factor", "0", "-job-timeout-base", "0s"}, "-job-timeout-factor"},
		{[]string{"-sweep-age", "0s"}, "-sweep-age"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("ATELIER_DATA_DIR", t.TempDir())
			t.Setenv("ATELIER_ADMIN_TOKEN", hardAdmin)
			var out bytes.Buffer
			err := run(t.Context(), append([]string{"serve"}, tc.args...), &out, &out)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error()+out.String(), tc.want) {
				t.Fatalf("err = %v (%s), want exit 2 naming %s", err, out.String(), tc.want)
			}
		})
	}
}
