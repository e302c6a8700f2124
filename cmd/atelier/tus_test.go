package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestResumableUploadLive sends a recording through tus to the real binary, with the
// connection killed half-way and the server restarted before the second half, and checks that
// the recording made of it (by the JSON create, or the multipart form's upload field) holds
// the file byte for byte and gets processed. Both storage backends.
func TestResumableUploadLive(t *testing.T) {
	testenv.FFmpeg(t)
	bin := buildAtelier(t)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second, Width: 640, Height: 360, Audio: true})
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	meta := `{"title": "Resumed", "language": "en"}`

	t.Run("dir", func(t *testing.T) {
		dataDir := t.TempDir()
		id := resumeAcrossRestart(t, bin, dataDir, nil, data, func(base, upload string) (int, map[string]any) {
			return call(t, "POST", base+"/api/recordings", hardAdmin,
				fmt.Sprintf(`{"upload": %q, "meta": %s, "subtitles": {"en.vtt": "WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n"}}`, upload, meta))
		})
		got, err := os.ReadFile(filepath.Join(dataDir, "media", "recordings", id, "source"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("stored source: %d bytes, not the file's %d", len(got), len(data))
		}
		if left, _ := os.ReadDir(filepath.Join(dataDir, "media", ".uploads")); len(left) != 0 {
			t.Errorf("left in .uploads: %v", left)
		}
	})

	t.Run("s3", func(t *testing.T) {
		s3 := testenv.S3(t)
		env := []string{"ATELIER_S3_ENDPOINT=" + s3.Endpoint, "ATELIER_S3_BUCKET=tus-live", "ATELIER_S3_ACCESS_KEY=" + s3.AccessKey,
			"ATELIER_S3_SECRET_KEY=" + s3.SecretKey, "ATELIER_S3_SECURE=false"}
		id := resumeAcrossRestart(t, bin, t.TempDir(), env, data, func(base, upload string) (int, map[string]any) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("meta", meta)
			mw.WriteField("upload", upload)
			mw.Close()
			req, _ := http.NewRequest("POST", base+"/api/recordings", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+hardAdmin)
			return decodeResp(t, req)
		})
		mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: s3.Region})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := mc.GetObject(t.Context(), "tus-live", "recordings/"+id+"/source", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("stored source: %d bytes, not the file's %d", len(got), len(data))
		}
	})
}

// resumeAcrossRestart uploads data with tus to a server on dataDir: the first PATCH's connection
// dies half-way, the server is stopped and started again, the upload resumes from the offset
// the new server gives, and create makes the recording of it. It checks the errors of the
// protocol on the way, waits for the recording to be ready and returns its id.
func resumeAcrossRestart(t *testing.T, bin, dataDir string, env []string, data []byte,
	create func(base, upload string) (int, map[string]any)) string {
	t.Helper()
	env = append(env, "ATELIER_ADMIN_TOKEN="+hardAdmin, "ATELIER_WORKERS=1", "ATELIER_MAX_UPLOAD=104857600")
	p := startAtelier(t, bin, dataDir, env...)
	loc := tusCreate(t, p.base, len(data))
	tusPatchKilled(t, p.base+loc, data, len(data)/2)
	if code := p.stop(t, 30*time.Second); code != 0 {
		t.Fatalf("serve exited with %d:\n%s", code, p.logs)
	}
	p = startAtelier(t, bin, dataDir, env...)
	off := tusOffset(t, p.base+loc)
	if off <= 0 || off > int64(len(data)/2) {
		t.Fatalf("offset after restart = %d, want in (0, %d]", off, len(data)/2)
	}
	// A wrong offset is refused with 409 and a JSON body, and changes nothing.
	if resp := tusPatch(t, p.base+loc, off+1, data[off+1:]); resp.StatusCode != http.StatusConflict || !isJSONError(resp) {
		t.Fatalf("PATCH at a wrong offset: %s", resp.Status)
	}
	// A recording cannot be made of an unfinished upload.
	if code, out := create(p.base, idOfLoc(loc)); code != http.StatusUnprocessableEntity || out["field"] != "upload" {
		t.Fatalf("create from an unfinished upload: %d %v", code, out)
	}
	if resp := tusPatch(t, p.base+loc, off, data[off:]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("resume: %s", resp.Status)
	}
	code, out := create(p.base, idOfLoc(loc))
	if code != http.StatusAccepted {
		t.Fatalf("create: %d %v", code, out)
	}
	id, _ := out["id"].(string)
	rec := waitFinal(t, p.base, hardAdmin, id)
	if rec["status"] != "ready" {
		t.Fatalf("recording %s: %v", id, rec)
	}
	src, _ := rec["source"].(map[string]any)
	want := sha256.Sum256(data)
	if src["sha256"] != hex.EncodeToString(want[:]) || src["size"] != float64(len(data)) {
		t.Errorf("recording source %v, want size %d sha256 %x", src, len(data), want)
	}
	// The upload is used up: it cannot make a second recording, and answers 404.
	if code, out := create(p.base, idOfLoc(loc)); code != http.StatusUnprocessableEntity || out["field"] != "upload" {
		t.Errorf("second create from the same upload: %d %v", code, out)
	}
	if resp := tusHead(t, p.base+loc); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of a used upload: %s", resp.Status)
	}
	// Larger than -max-upload: 413 with a JSON body naming the limit.
	req, _ := http.NewRequest("POST", p.base+"/api/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(100<<20+1))
	req.Header.Set("Authorization", "Bearer "+hardAdmin)
	if resp := tusDo(t, req); resp.StatusCode != http.StatusRequestEntityTooLarge || !isJSONError(resp) {
		t.Errorf("create over the limit: %s", resp.Status)
	}
	// Without a token: 401.
	req, _ = http.NewRequest("POST", p.base+"/api/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", "10")
	if resp := tusDo(t, req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("create without a token: %s", resp.Status)
	}
	return id
}

func tusCreate(t *testing.T, base string, size int) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(size))
	req.Header.Set("Authorization", "Bearer "+hardAdmin)
	resp := tusDo(t, req)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Upload-Expires") == "" {
		t.Fatalf("create: %s (Upload-Expires %q)", resp.Status, resp.Header.Get("Upload-Expires"))
	}
	loc := resp.Header.Get("Location")
	if i := strings.Index(loc, "/api/uploads/"); i >= 0 {
		loc = loc[i:]
	}
	return loc
}

func tusPatch(t *testing.T, loc string, off int64, b []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("PATCH", loc, bytes.NewReader(b))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(off, 10))
	req.Header.Set("Authorization", "Bearer "+hardAdmin)
	return tusDo(t, req)
}

func tusHead(t *testing.T, loc string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("HEAD", loc, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+hardAdmin)
	return tusDo(t, req)
}

func tusOffset(t *testing.T, loc string) int64 {
	t.Helper()
	resp := tusHead(t, loc)
	off, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("HEAD: %s, offset %q", resp.Status, resp.Header.Get("Upload-Offset"))
	}
	return off
}

// tusPatchKilled announces all of data, sends upto bytes and resets the connection.
func tusPatchKilled(t *testing.T, loc string, data []byte, upto int) {
	t.Helper()
	host, path, _ := strings.Cut(strings.TrimPrefix(loc, "http://"), "/")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PATCH /%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n", path, host, hardAdmin, len(data))
	w.Write(data[:upto])
	w.Flush()
	time.Sleep(300 * time.Millisecond) // the server reads what was sent before the connection dies
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	time.Sleep(300 * time.Millisecond)
}

func tusDo(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func isJSONError(resp *http.Response) bool {
	var body struct{ Error, Field string }
	err := json.NewDecoder(resp.Body).Decode(&body)
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && err == nil && body.Error != "" && body.Field == "upload"
}

func decodeResp(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp := tusDo(t, req)
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func idOfLoc(loc string) string { return loc[strings.LastIndexByte(loc, '/')+1:] }
