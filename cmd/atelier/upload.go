package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"codeberg.org/atelier/atelier/internal/formupload"
)

// cmdUpload sends a recording to a server and follows its processing:
//
//	atelier upload FILE --meta meta.json [--subtitles fr.srt] --server URL --token T
//
// The file streams from disk (never read whole into memory), with a progress bar on stderr for
// the upload and then for the processing. It goes as a resumable upload (upload_resume.go): a
// run after an interrupted one resumes it. It exits 1 with the server's reason when refused or
// when processing fails.
func cmdUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("upload", "upload FILE --meta meta.json [--subtitles fr.srt ...] [--server URL] [--token T]", stderr)
	meta := fs.String("meta", "", "the recording's JSON description: title, language, edits, chapters... (required)")
	server := fs.String("server", env("SERVER", "http://127.0.0.1:8080"), "Atelier's URL (env ATELIER_SERVER)")
	token := fs.String("token", env("TOKEN", ""), "an animator token (env ATELIER_TOKEN or ATELIER_TOKEN_FILE)")
	var subs multiFlag
	fs.Var(&subs, "subtitles", "a subtitle file named after its language (fr.srt); repeat for more")
	noFollow := fs.Bool("no-follow", false, "return once uploaded, without following the processing")
	resume := fs.Bool("resume", true, "send the file as a resumable upload (tus, /api/uploads/): after a dropped connection, a crash or Ctrl-C, the same command resumes where the server stands (state in the user cache dir); false sends it in one request")
	// Flags may come after FILE: parse, take the positional argument, parse the rest.
	var files []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return usageErr("upload takes exactly one FILE, got %d", len(files))
	}
	if *meta == "" {
		return usageErr("upload: --meta meta.json is required")
	}
	if *token == "" {
		if p := os.Getenv("ATELIER_TOKEN_FILE"); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return usageErr("ATELIER_TOKEN_FILE: %v", err)
			}
			*token = strings.TrimSpace(string(b))
		}
	}
	if *token == "" {
		return usageErr("upload: --token (or ATELIER_TOKEN) is required: create one with `atelier token create -role animator`")
	}
	base := strings.TrimSuffix(*server, "/")
	metaJSON, err := os.ReadFile(*meta)
	if err != nil {
		return usageErr("upload: --meta: %v", err)
	}
	if !json.Valid(metaJSON) {
		return usageErr("upload: --meta %s is not valid JSON", *meta)
	}
	src, err := os.Open(files[0])
	if err != nil {
		return usageErr("upload: %v", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return usageErr("upload: %s is not a regular file", files[0])
	}
	for _, s := range subs {
		if _, err := os.Stat(s); err != nil {
			return usageErr("upload: --subtitles: %v", err)
		}
	}

	bar := newProgressBar(stderr, "upload")
	// The recording goes out by sendfile(2) on plain TCP (formupload.Transport), the bar moving
	// between slices: read through a counting reader, every byte went through user space.
	tr := formupload.Transport(nil)
	defer tr.CloseIdleConnections()
	sender := &http.Client{Transport: tr}
	var resp *http.Response
	if *resume {
		c := &tusClient{base: base, token: *token, client: sender}
		resp, err = resumableUpload(ctx, c, src, fi, func(uploadURL string) (*http.Response, error) {
			body, err := createBody(uploadURL, metaJSON, subs)
			if err != nil {
				return nil, err
			}
			req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/recordings", body)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+*token)
			return http.DefaultClient.Do(req)
		}, bar, stderr)
	} else {
		form, ferr := formupload.New(metaJSON, src, fi.Size(), filepath.Base(files[0]), subs)
		if ferr != nil {
			return usageErr("upload: --subtitles: %v", ferr)
		}
		form.Progress = func(n int64) { bar.update(n, fi.Size(), "") }
		req, rerr := form.Request(ctx, base+"/api/recordings")
		if rerr != nil {
			return usageErr("upload: --server %q: %v", *server, rerr)
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		resp, err = sender.Do(req)
	}
	if err != nil {
		bar.done()
		return fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusAccepted {
		bar.update(fi.Size(), fi.Size(), "")
	}
	bar.done()
	var answer struct {
		ID     string            `json:"id"`
		Status string            `json:"status"`
		Links  map[string]string `json:"links"`
		Error  string            `json:"error"`
		Field  string            `json:"field"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer)
	if resp.StatusCode != http.StatusAccepted {
		return refused(resp.StatusCode, answer.Field, answer.Error)
	}
	fmt.Fprintf(stderr, "uploaded: recording %s is %s\n", answer.ID, answer.Status)
	if *noFollow {
		fmt.Fprintln(stdout, answer.ID)
		return nil
	}
	return followRecording(ctx, base, *token, answer.ID, stdout, stderr)
}

func refused(status int, field, msg string) error {
	if msg == "" {
		msg = http.StatusText(status)
	}
	if field != "" {
		msg = field + ": " + msg
	}
	return &refusedStatus{status: status, msg: msg}
}

// refusedStatus is a refusal by the server: its status and what it said.
type refusedStatus struct {
	status int
	msg    string
}

func (e *refusedStatus) Error() string {
	return fmt.Sprintf("upload refused (%d): %s", e.status, e.msg)
}

// recordingEvent is the part of the recording's JSON the command shows.
type recordingEvent struct {
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	Stage      string            `json:"stage"`
	Progress   float64           `json:"progress"`
	Speed      float64           `json:"speed"`
	ETASeconds *int64            `json:"eta_seconds"`
	Error      string            `json:"error"`
	Links      map[string]string `json:"links"`
}

// followRecording reads the recording's Server-Sent Events until it is finished, reconnecting
// when the stream drops (a server restarting finishes the job after its restart).
func followRecording(ctx context.Context, base, token, id string, stdout, stderr io.Writer) error {
	bar := newProgressBar(stderr, "processing")
	defer bar.done()
	var last recordingEvent
	for attempt := 0; ; attempt++ {
		ev, err := readEvents(ctx, base, token, id, func(ev recordingEvent) {
			last = ev
			label := ev.Status
			if ev.Stage != "" && ev.Stage != ev.Status {
				label += " " + ev.Stage
			}
			if ev.Speed > 0 {
				label += fmt.Sprintf(" %.1fx", ev.Speed)
			}
			if ev.ETASeconds != nil {
				label += " ETA " + fmtETA(time.Duration(*ev.ETASeconds)*time.Second)
			}
			bar.fraction(ev.Progress, label)
		})
		if err == nil {
			last = ev
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var re *refusedError
		if errors.As(err, &re) || attempt >= 30 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	bar.done()
	switch last.Status {
	case "ready":
		fmt.Fprintf(stderr, "ready: %s\n", last.Links["page"])
		fmt.Fprintln(stdout, id)
		return nil
	case "cancelled":
		return fmt.Errorf("recording %s was cancelled", id)
	default:
		return fmt.Errorf("recording %s failed: %s", id, last.Error)
	}
}

type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }

// readEvents reads one events stream; it returns the final event, or an error when the stream
// ended before one.
func readEvents(ctx context.Context, base, token, id string, fn func(recordingEvent)) (recordingEvent, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/recordings/"+id+"/events", nil)
	if err != nil {
		return recordingEvent{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return recordingEvent{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body struct{ Error, Field string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body)
		err := fmt.Errorf("following recording %s: %d %s", id, resp.StatusCode, body.Error)
		if resp.StatusCode < 500 {
			return recordingEvent{}, &refusedError{err}
		}
		return recordingEvent{}, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev recordingEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return ev, fmt.Errorf("following recording %s: bad event: %w", id, err)
		}
		fn(ev)
		switch ev.Status {
		case "ready", "failed", "cancelled":
			return ev, nil
		}
	}
	if err := sc.Err(); err != nil {
		return recordingEvent{}, err
	}
	return recordingEvent{}, fmt.Errorf("following recording %s: the stream ended early", id)
}

// progressBar draws one line on stderr: redrawn in place on a terminal, a line every 10%
// otherwise (logs of a CI job).
type progressBar struct {
	mu       sync.Mutex
	w        io.Writer
	name     string
	tty      bool
	start    time.Time
	lastDraw time.Time
	lastTen  int
	drawn    bool
}

func newProgressBar(w io.Writer, name string) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressBar{w: w, name: name, tty: tty, start: time.Now(), lastTen: -1}
}

// update shows bytes sent out of total, the rate and the time left.
func (b *progressBar) update(n, total int64, _ string) {
	f := 0.0
	if total > 0 {
		f = float64(n) / float64(total)
	}
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el
	}
	label := fmt.Sprintf("%s / %s  %s/s", fmtBytes(n), fmtBytes(total), fmtBytes(int64(rate)))
	if rate > 0 && n < total {
		label += "  ETA " + fmtETA(time.Duration(float64(total-n)/rate*float64(time.Second)))
	}
	b.fraction(f, label)
}

func (b *progressBar) fraction(f float64, label string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f = min(max(f, 0), 1)
	now := time.Now()
	ten := int(f * 10)
	if b.tty {
		if now.Sub(b.lastDraw) < 100*time.Millisecond && f < 1 {
			return
		}
		const width = 30
		full := int(f * width)
		fmt.Fprintf(b.w, "\r%-10s [%s%s] %3.0f%%  %s\x1b[K", b.name, strings.Repeat("#", full), strings.Repeat(" ", width-full), f*100, label)
		b.lastDraw, b.drawn = now, true
		return
	}
	if ten == b.lastTen {
		return
	}
	b.lastTen = ten
	fmt.Fprintf(b.w, "%s %3.0f%%  %s\n", b.name, f*100, label)
}

// done ends the bar's line.
func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func fmtETA(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
