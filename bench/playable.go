package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"codeberg.org/atelier/atelier/internal/formupload"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// benchPlayable measures, through a real `atelier serve` (embedded storage), the time from the
// end of an upload (its 202) to the first moment /replays/{id}/hls/master.m3u8 answers with a
// rendition (first playable), and to status ready, for an accurate cut of 3 ranges of src;
// against "transcode everything first": bare ffmpeg commands that cut by stream copy and
// encode the whole ladder before anything is playable. On the bench's media and on the
// screen-capture profile.
func benchPlayable(ctx context.Context, c config, src string, rep *report) error {
	bin := filepath.Join(c.Cache, "bin", "atelier")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/atelier")
	build.Dir = c.Root
	if _, _, err := runCmd(build); err != nil {
		return err
	}
	return eachProfile(ctx, c, src, func(name string, m mediaSpec, file string) error {
		if err := playableCase(ctx, c, bin, name, m, file, rep); err != nil {
			return fmt.Errorf("playable (%s): %w", name, err)
		}
		return nil
	})
}

// eachProfile calls fn with each media profile of the cut and playable cases and its file: the
// bench's media (src) and the screen capture, generated once into the cache.
func eachProfile(ctx context.Context, c config, src string, fn func(name string, m mediaSpec, file string) error) error {
	screen := c.Media
	screen.Screen = true
	for _, pr := range []struct {
		name string
		spec mediaSpec
	}{{"testsrc2", c.Media}, {"screen capture", screen}} {
		file := src
		if pr.spec.Screen {
			var err error
			if file, err = pr.spec.ensure(ctx, c.Cache); err != nil {
				return err
			}
		}
		if err := fn(pr.name, pr.spec, file); err != nil {
			return err
		}
	}
	return nil
}

// keepRanges are the 3 kept ranges of the cut cases, in seconds.
func keepRanges(m mediaSpec) [][2]float64 {
	d := float64(m.Seconds)
	return [][2]float64{{d*0.05 + 0.23, d*0.25 + 0.43}, {d*0.33 + 0.7, d*0.63 + 1.47}, {d*0.70 + 0.1, d*0.93 + 0.97}}
}

func playableCase(ctx context.Context, c config, bin, profile string, m mediaSpec, file string, rep *report) error {
	name := "first playable, accurate cut of 3 ranges (" + profile + ")"
	work, err := os.MkdirTemp(filepath.Join(c.Cache, "work"), "playable-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	token := testenv.RandHex(32)
	logFile, err := os.Create(filepath.Join(c.Out, "playable-atelier-"+strings.ReplaceAll(profile, " ", "-")+".log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "-addr", addr, "-data-dir", filepath.Join(work, "data"))
	cmd.Env = append(os.Environ(), "ATELIER_ADMIN_TOKEN="+token, "ATELIER_LOG_FORMAT=json", "ATELIER_WORKERS=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	server := "http://" + addr
	if err := testenv.WaitHTTP(ctx, server+"/healthz", done, 30*time.Second); err != nil {
		return fmt.Errorf("atelier serve: %w (log in %s)", err, logFile.Name())
	}
	var keep [][]string
	var kept float64
	for _, r := range keepRanges(m) {
		keep = append(keep, []string{strconv.FormatFloat(r[0], 'f', 3, 64), strconv.FormatFloat(r[1], 'f', 3, 64)})
		kept += r[1] - r[0]
	}
	meta, _ := json.Marshal(map[string]any{"title": "Benchmark playable", "language": "fr", "publication": "published",
		"edits": map[string]any{"keep": keep}, "cut": "accurate"})
	status, body, err := postMeta(ctx, server, token, file, string(meta))
	if err != nil {
		return err
	}
	t0 := time.Now()
	if status != http.StatusAccepted {
		return fmt.Errorf("POST /api/recordings: %d %s", status, body)
	}
	var rec struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return err
	}
	var playable, ready time.Duration
	var fallback string
	for ready == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Since(t0) > 40*time.Minute {
			return fmt.Errorf("not ready after 40 minutes (log in %s)", logFile.Name())
		}
		if playable == 0 {
			if st, text := get(ctx, server+"/replays/"+rec.ID+"/hls/master.m3u8", ""); st == http.StatusOK && strings.Contains(text, "#EXT-X-STREAM-INF") {
				playable = time.Since(t0)
				if !strings.Contains(text, "source/index.m3u8") {
					fallback = "the first rendition was encoded (the cut output could not be copied)"
				}
			}
		}
		_, text := get(ctx, server+"/api/recordings/"+rec.ID, token)
		var v struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		_ = json.Unmarshal([]byte(text), &v)
		switch v.Status {
		case "ready":
			ready = time.Since(t0)
		case "failed", "cancelled":
			return fmt.Errorf("recording %s: %s", v.Status, v.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if playable == 0 {
		playable = ready
	}
	steps := jobSteps(logFile.Name())
	logf("%s: playable %s, ready %s; the job's steps: %s; the baseline transcodes the ladder", name, fmtDur(playable), fmtDur(ready), steps)
	base, bsteps, err := transcodeFirst(ctx, work, file, m)
	if err != nil {
		return err
	}
	limit := time.Duration(float64(m.Seconds) / 30 * float64(time.Second))
	ok := playable <= limit
	rep.Rows = append(rep.Rows, row{Case: name, Atelier: fmtDur(playable), Baseline: fmtDur(base),
		Ratio:  fmt.Sprintf("%.1f× sooner; ready at %s (playable at %.0f %% of it)", base.Seconds()/playable.Seconds(), fmtDur(ready), 100*playable.Seconds()/ready.Seconds()),
		Target: fmt.Sprintf("≤ 1/30 of the source (%s); moonshot 1/60", fmtDur(limit)), Result: passMiss(ok),
		Note: fmt.Sprintf("%s: from the 202 of the upload (%.0f s kept of %d s) to the first 200 of the HLS master with a rendition, "+
			"then to status ready, through `atelier serve` (embedded storage, 1 worker); baseline: bare ffmpeg, stream-copy cut + "+
			"concat, then every rung encoded (%s)%s. The job's steps (its log: until playable, then to the end of the ladder): %s",
			name, kept, m.Seconds, stageLine(bsteps), fallbackNote(fallback), steps)})
	return nil
}

// jobSteps reads the steps of the job from the server's JSON log: those until playable ("replay
// playable") and the whole timeline at the end of the ladder ("ladder done").
func jobSteps(logPath string) string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	var playable, all string
	for _, line := range strings.Split(string(data), "\n") {
		var l struct {
			Msg   string `json:"msg"`
			Steps string `json:"steps"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		switch l.Msg {
		case "replay playable":
			playable = l.Steps
		case "ladder done":
			all = l.Steps
		}
	}
	if all == "" {
		return playable
	}
	return all
}

// transcodeFirst is "transcode everything first" with bare ffmpeg: the kept ranges copied and
// joined, then each rung of the default ladder (1080, 720, 360, capped at the source) encoded
// to fMP4 HLS like Atelier's rungs, one after the other.
func transcodeFirst(ctx context.Context, work, src string, m mediaSpec) (time.Duration, []stageTime, error) {
	ff := func(args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...)
	}
	var total time.Duration
	var steps []stageTime
	var list strings.Builder
	for i, r := range keepRanges(m) {
		part := filepath.Join(work, fmt.Sprintf("part%d.mp4", i))
		d, _, err := runCmd(ff("-ss", strconv.FormatFloat(r[0], 'f', 3, 64), "-to", strconv.FormatFloat(r[1], 'f', 3, 64), "-i", src,
			"-c", "copy", "-avoid_negative_ts", "make_zero", part))
		if err != nil {
			return 0, nil, err
		}
		total += d
		fmt.Fprintf(&list, "file '%s'\n", part)
	}
	lst := filepath.Join(work, "list.txt")
	if err := os.WriteFile(lst, []byte(list.String()), 0o644); err != nil {
		return 0, nil, err
	}
	cut := filepath.Join(work, "cut.mp4")
	d, _, err := runCmd(ff("-f", "concat", "-safe", "0", "-i", lst, "-c", "copy", "-movflags", "+faststart", cut))
	if err != nil {
		return 0, nil, err
	}
	total += d
	steps = append(steps, stageTime{"cut", total.Seconds()})
	for _, h := range []int{1080, 720, 360} {
		if h > m.Height && !(h == 1080 && m.Height < 1080 && m.Height > 720) {
			continue // Atelier's ladder caps heights at the source's and drops duplicates
		}
		h = min(h, m.Height)
		dir := filepath.Join(work, "hls", strconv.Itoa(h))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, nil, err
		}
		d, _, err := runCmd(ff("-i", cut, "-map", "0:v:0", "-map", "0:a:0", "-vf", fmt.Sprintf("scale=-2:%d,format=yuv420p", h),
			"-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-profile:v", "high", "-force_key_frames", "expr:gte(t,n_forced*4)",
			"-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
			"-hls_segment_type", "fmp4", "-hls_segment_filename", filepath.Join(dir, "seg_%04d.m4s"), filepath.Join(dir, "index.m3u8")))
		if err != nil {
			return 0, nil, err
		}
		total += d
		steps = append(steps, stageTime{fmt.Sprintf("%dp", h), d.Seconds()})
	}
	return total, steps, nil
}

// get fetches url (with the bearer token if any) and returns the status and the body.
func get(ctx context.Context, url, token string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// postMeta streams a multipart upload of file with the given meta, as a form of known length.
func postMeta(ctx context.Context, server, token, file, meta string) (int, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	// With its length, as browsers and curl send a form (see formupload).
	form, err := formupload.New([]byte(meta), f, fi.Size(), "recording.mp4", nil)
	if err != nil {
		return 0, "", err
	}
	req, err := form.Request(ctx, server+"/api/recordings")
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := formClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// formClient sends the form's source file by sendfile(2) (formupload.Transport), as net/http
// already sends the tus client's PATCH of an *os.File.
var formClient = &http.Client{Transport: formupload.Transport(nil)}
