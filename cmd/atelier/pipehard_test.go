package main

import (
	"bytes"
	"encoding/json"
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
