package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"codeberg.org/atelier/atelier/internal/formupload"
)

// resumeState is what `atelier upload` keeps in the user cache dir while a file is on its way:
// the URL of its tus upload, so that the next run of the same command, after a crash, a
// Ctrl-C or a dropped connection, resumes where the server stands.
type resumeState struct {
	URL     string `json:"url"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
}

// resumeFile is where the state of the upload of file to server lives: named by the server, the
// absolute path, the size and the modification time, so that a changed file starts afresh.
func resumeFile(server, file string, fi os.FileInfo) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\n%s\n%d\n%d", server, abs, fi.Size(), fi.ModTime().UnixNano()))
	return filepath.Join(dir, "atelier", "uploads", hex.EncodeToString(sum[:16])+".json"), nil
}

// tusClient speaks the parts of tus 1.0 the command needs.
type tusClient struct {
	base, token string
	client      *http.Client
}

func (c *tusClient) do(ctx context.Context, method, url string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if r, ok := body.(interface{ Len() int64 }); ok {
		req.ContentLength = r.Len()
	}
	return c.client.Do(req)
}

// serverError reads Atelier's JSON error body.
func serverError(resp *http.Response) error {
	var body struct{ Error, Field string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
	return refused(resp.StatusCode, body.Field, body.Error)
}

// create starts an upload of size bytes and returns its URL.
func (c *tusClient) create(ctx context.Context, size int64, name string) (string, error) {
	resp, err := c.do(ctx, "POST", c.base+"/api/uploads/", nil, map[string]string{
		"Upload-Length":   strconv.FormatInt(size, 10),
		"Upload-Metadata": "filename " + base64.StdEncoding.EncodeToString([]byte(name)),
	})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", serverError(resp)
	}
	loc := resp.Header.Get("Location")
	if strings.HasPrefix(loc, "/") {
		loc = c.base + loc
	}
	return loc, nil
}

// errGone: the upload is unknown to the server (expired, or already a recording).
var errGone = errors.New("upload gone")

// offset asks where the upload stands.
func (c *tusClient) offset(ctx context.Context, url string) (int64, error) {
	resp, err := c.do(ctx, "HEAD", url, nil, nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	case http.StatusNotFound, http.StatusGone:
		return 0, errGone
	}
	return 0, refused(resp.StatusCode, "upload", "asking the upload's offset")
}

// patch sends src's bytes from off to the end in one request.
func (c *tusClient) patch(ctx context.Context, url string, src *os.File, off, size int64, progress func(int64)) error {
	// From the file's own offset, which sendfile goes on from (formupload.Transport).
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	body := formupload.Source(src, size-off)
	body.Progress = func(n int64) { progress(off + n) }
	resp, err := c.do(ctx, "PATCH", url, body, map[string]string{
		"Upload-Offset": strconv.FormatInt(off, 10),
		"Content-Type":  "application/offset+octet-stream",
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return serverError(resp)
	}
	return nil
}

// maxResumeTries bounds the resumes within one run after network errors.
const maxResumeTries = 20

// resumableUpload sends src with tus, resuming the upload a previous run left (state in the
// user cache dir), and after network errors within this run; then it makes the recording of it
// and returns the server's answer. The state goes once the recording exists or the server has
// forgotten the upload.
func resumableUpload(ctx context.Context, c *tusClient, src *os.File, fi os.FileInfo, create func(uploadURL string) (*http.Response, error),
	bar *progressBar, stderr io.Writer) (*http.Response, error) {
	stateFile, err := resumeFile(c.base, src.Name(), fi)
	if err != nil {
		return nil, fmt.Errorf("upload: no cache dir to keep the upload's state in (use --resume=false): %w", err)
	}
	size := fi.Size()
	var st resumeState
	if b, err := os.ReadFile(stateFile); err == nil && json.Unmarshal(b, &st) == nil && st.Size == size && st.ModTime == fi.ModTime().UnixNano() {
		fmt.Fprintf(stderr, "resuming the upload of %s\n", filepath.Base(src.Name()))
	} else {
		st = resumeState{}
	}
	for try := 0; ; try++ {
		if st.URL == "" {
			url, err := c.create(ctx, size, filepath.Base(src.Name()))
			if err != nil {
				return nil, err
			}
			st = resumeState{URL: url, Size: size, ModTime: fi.ModTime().UnixNano()}
			if err := saveResumeState(stateFile, st); err != nil {
				fmt.Fprintf(stderr, "warning: the upload cannot be resumed by a later run: %v\n", err)
			}
		}
		off, err := c.offset(ctx, st.URL)
		if errors.Is(err, errGone) {
			os.Remove(stateFile)
			st.URL = ""
			if try < maxResumeTries {
				continue
			}
		}
		if err == nil && off < size {
			err = c.patch(ctx, st.URL, src, off, size, func(n int64) { bar.update(n, size, "") })
		}
		if err == nil {
			break
		}
		var re *refusedStatus
		if ctx.Err() != nil || errors.As(err, &re) && re.status < 500 && re.status != http.StatusConflict || try >= maxResumeTries {
			return nil, err
		}
		fmt.Fprintf(stderr, "\nupload interrupted (%v): resuming\n", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(min(try+1, 5)) * time.Second):
		}
	}
	bar.update(size, size, "")
	resp, err := create(st.URL)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusAccepted {
		os.Remove(stateFile)
	}
	return resp, nil
}

func saveResumeState(path string, st resumeState) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	return os.WriteFile(path, b, 0o600)
}

// createBody is the JSON of POST /api/recordings after a resumable upload.
func createBody(uploadURL string, meta []byte, subs []string) (io.Reader, error) {
	texts := map[string]string{}
	for _, s := range subs {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		texts[filepath.Base(s)] = string(b)
	}
	b, err := json.Marshal(map[string]any{"upload": uploadURL[strings.LastIndexByte(uploadURL, '/')+1:], "meta": json.RawMessage(meta), "subtitles": texts})
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}
