package main

import (
	"codeberg.org/atelier/atelier/internal/testenv"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// startS3 starts the versitygw that internal/testenv starts for tests (the same start-up), with
// its backend in dir; its output goes to versitygw.log in the results directory when it stops.
func startS3(c config, dir string) (*testenv.S3Server, func(), error) {
	bin := os.Getenv("ATELIER_VERSITYGW")
	if bin == "" {
		bin = filepath.Join(c.Root, ".cache", "bin", "versitygw")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, fmt.Errorf("versitygw (S3 server) not found at %s: `make deps-test` builds it: %w", bin, err)
	}
	s3, err := testenv.StartS3(bin, dir)
	if err != nil {
		return nil, nil, err
	}
	return s3, func() {
		s3.Stop()
		_ = os.WriteFile(filepath.Join(c.Out, "versitygw.log"), []byte(s3.Logs()+"\n"), 0o644)
	}, nil
}

// benchUpload sends a large video through POST /api/recordings of a real `atelier serve` with S3
// storage, against minio-go's PutObject of the same file to the same server.
func benchUpload(ctx context.Context, c config, src string, rep *report) error {
	name := fmt.Sprintf("upload %s to S3", fmtBytes(c.Upload))
	file, err := bigVideo(ctx, c.Cache, src, c.Upload)
	if err != nil {
		return err
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	size := fi.Size()
	work, err := os.MkdirTemp(filepath.Join(c.Cache, "work"), "upload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(c.Cache, "bin", "atelier")
	logf("%s: building the atelier binary", name)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/atelier")
	build.Dir = c.Root
	if _, _, err := runCmd(build); err != nil {
		return err
	}
	s3, stopS3, err := startS3(c, filepath.Join(work, "s3"))
	if err != nil {
		return err
	}
	defer stopS3()
	mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		return err
	}
	if err := mc.MakeBucket(ctx, "baseline", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		return err
	}

	s3pid := s3.Cmd.Process.Pid
	baseline := func() (time.Duration, cpuUse, error) {
		f, err := os.Open(file)
		if err != nil {
			return 0, cpuUse{}, err
		}
		defer f.Close()
		c0, s0 := selfCPU(), procCPU(s3pid)
		t0 := time.Now()
		_, err = mc.PutObject(ctx, "baseline", "recording.mp4", f, size, minio.PutObjectOptions{ContentType: "video/mp4"})
		d := time.Since(t0)
		cpu := cpuUse{Client: selfCPU() - c0, S3: procCPU(s3pid) - s0}
		if err != nil {
			return 0, cpuUse{}, err
		}
		return d, cpu, mc.RemoveObject(ctx, "baseline", "recording.mp4", minio.RemoveObjectOptions{})
	}
	// Until cmd/atelier routes POST /api/recordings, the bench serves the same handler itself.
	harness := false
	self, err := os.Executable()
	if err != nil {
		return err
	}
	prof := filepath.Join(c.Out, "upload.cpu.prof")
	var uploadOnce func(run int, file string) (time.Duration, int64, cpuUse, error)
	atelier := func(run int) (time.Duration, int64, cpuUse, error) {
		return uploadOnce(run, file)
	}
	post := postRecording
	uploadOnce = func(run int, file string) (time.Duration, int64, cpuUse, error) {
		data := filepath.Join(work, "data-"+strconv.Itoa(run))
		port, err := testenv.FreePort()
		if err != nil {
			return 0, 0, cpuUse{}, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		token := testenv.RandHex(32)
		logFile, err := os.Create(filepath.Join(c.Out, "upload-atelier.log"))
		if err != nil {
			return 0, 0, cpuUse{}, err
		}
		defer logFile.Close()
		cmd := exec.CommandContext(ctx, bin, "serve", "-addr", addr, "-data-dir", data)
		if harness {
			cmd = exec.CommandContext(ctx, self, "serve-upload", "-addr", addr, "-data-dir", data, "-cpuprofile", prof)
		}
		cmd.Env = append(os.Environ(), "ATELIER_S3_ENDPOINT="+s3.Endpoint, "ATELIER_S3_SECURE=false", "ATELIER_S3_BUCKET=atelier",
			"ATELIER_S3_ACCESS_KEY="+s3.AccessKey, "ATELIER_S3_SECRET_KEY="+s3.SecretKey, "ATELIER_ADMIN_TOKEN="+token,
			"ATELIER_LOG_FORMAT=json", "ATELIER_WORKERS=1")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return 0, 0, cpuUse{}, err
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
			os.RemoveAll(data)
			os.RemoveAll(filepath.Join(s3.Dir, "atelier", "recordings"))
		}()
		if err := testenv.WaitHTTP(ctx, "http://"+addr+"/healthz", done, 30*time.Second); err != nil {
			return 0, 0, cpuUse{}, fmt.Errorf("atelier serve: %w (log in %s)", err, logFile.Name())
		}
		pid := cmd.Process.Pid
		a0, c0, s0 := procCPU(pid), selfCPU(), procCPU(s3pid)
		t0 := time.Now()
		status, body, err := post(ctx, "http://"+addr, token, file)
		d := time.Since(t0)
		cpu := cpuUse{Server: procCPU(pid) - a0, Client: selfCPU() - c0, S3: procCPU(s3pid) - s0}
		hwm := vmHWM(pid)
		if err != nil {
			return 0, 0, cpuUse{}, err
		}
		if status == http.StatusNotFound && !harness && strings.Contains(body, "no route") {
			return 0, 0, cpuUse{}, errNoUploadRoute
		}
		if status != http.StatusAccepted {
			return 0, 0, cpuUse{}, fmt.Errorf("POST /api/recordings: %d %s", status, body)
		}
		return d, hwm, cpu, nil
	}

	// A first, small upload (the recording itself) finds out whether atelier serve routes uploads.
	if _, _, _, err := uploadOnce(-1, src); errors.Is(err, errNoUploadRoute) {
		logf("%s: `atelier serve` has no POST /api/recordings route yet: serving pipeline.API.Upload from the bench's own process", name)
		harness = true
	} else if err != nil {
		return err
	} // else: a warm-up run, not counted
	for _, mode := range []struct {
		name string
		post func(ctx context.Context, server, token, file string) (int, string, error)
		prof string // the harness's CPU profile of this transport
	}{{"multipart form", postRecording, "upload.cpu.prof"}, {"tus", postResumable, "upload-tus.cpu.prof"}} {
		if harness && mode.name == "tus" {
			break // the harness serves the multipart route only (atelier serve had no upload route)
		}
		post, prof = mode.post, filepath.Join(c.Out, mode.prof)
		if err := measureUpload(ctx, c, name+", "+mode.name, size, atelier, baseline, rep, &harness, self, prof); err != nil {
			return err
		}
	}
	return nil
}

// measureUpload runs atelier and baseline c.Runs times each, interleaved, and reports the
// throughput ratio and the server's peak memory.
func measureUpload(ctx context.Context, c config, name string, size int64, atelier func(run int) (time.Duration, int64, cpuUse, error),
	baseline func() (time.Duration, cpuUse, error), rep *report, harnessed *bool, self, prof string) error {
	var at, bt []time.Duration
	var acpu, bcpu []cpuUse
	var hwm int64
	var err error
	for i := range c.Runs {
		logf("%s: run %d/%d", name, i+1, c.Runs)
		var d time.Duration
		var h int64
		var cpu cpuUse
		if i%2 == 0 {
			if d, h, cpu, err = atelier(i); err != nil {
				return err
			}
			at, hwm, acpu = append(at, d), max(hwm, h), append(acpu, cpu)
		}
		bd, bc, err := baseline()
		if err != nil {
			return err
		}
		bt, bcpu = append(bt, bd), append(bcpu, bc)
		if i%2 == 1 {
			if d, h, cpu, err = atelier(i); err != nil {
				return err
			}
			at, hwm, acpu = append(at, d), max(hwm, h), append(acpu, cpu)
		}
	}
	am, bm := median(at), median(bt)
	mbps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	ratio := mbps(am) / mbps(bm)
	ok := ratio >= 0.9 && hwm > 0 && hwm <= 150<<20
	server := "a real `atelier serve`"
	if *harnessed {
		server = "the bench's own process serving pipeline.API.Upload over SQLite and the S3 store (`atelier serve` did not route POST /api/recordings at the time of this run)"
	}
	rep.Rows = append(rep.Rows, row{Case: name,
		Atelier: fmt.Sprintf("%.0f MiB/s (%s)", mbps(am), fmtDur(am)), Baseline: fmt.Sprintf("%.0f MiB/s (%s)", mbps(bm), fmtDur(bm)),
		Ratio: fmt.Sprintf("%.2f× throughput", ratio), PeakMem: fmtBytes(hwm) + " (VmHWM)",
		Target: "≥ 0.9× throughput; RSS ≤ 150 MiB", Result: passMiss(ok),
		Note: fmt.Sprintf("a %s MP4 through `POST /api/recordings` of %s (S3 storage: versitygw on 127.0.0.1), "+
			"timed until the 202 answer (which includes the ffprobe of the upload); tus: POST /api/uploads/, one PATCH of the whole "+
			"file, then POST /api/recordings {\"upload\"}, timed from the first request to the 202; baseline: minio-go `PutObject` "+
			"of the same file to the same server; peak memory is the server process's VmHWM. CPU time (user+sys) of each "+
			"process per run, which a loaded machine moves less than wall time: Atelier %s; PutObject %s",
			fmtBytes(size), server, cpuList(acpu), cpuList(bcpu))})
	if !ok {
		profile := "(no profile)"
		if !*harnessed {
			// The atelier binary has no profiling endpoint: profile the same handler once more in
			// the bench's own server process.
			*harnessed = true
			defer func() { *harnessed = false }() // the next transport runs on atelier serve again
			logf("%s: profiling one more upload through pipeline.API.Upload in the bench's process", name)
			if _, _, _, err := atelier(-2); err != nil {
				profile = "(profiling failed: " + err.Error() + ")"
			} else {
				profile = pprofTop(ctx, self, prof, 12, uploadShow)
			}
		} else {
			profile = pprofTop(ctx, self, prof, 12, uploadShow)
		}
		rep.Findings = append(rep.Findings, finding{Case: name, Summary: fmt.Sprintf(
			"Atelier %.0f MiB/s against %.0f MiB/s for PutObject (%.2f×), peak RSS %s. Unlike the baseline, every byte makes "+
				"one more hop (client → Atelier → S3): the server reads it from a socket, hashes it (the sidecar's SHA-256, "+
				"in a goroutine of its own) and writes it to another, 8 MiB parts 4 in flight; then ffprobe reads the source's "+
				"ends. The CPU time of each process is in the row's note. "+
				"CPU profile of one upload through the same handlers served by the bench's own process (%s; ffprobe, a "+
				"child process, is not in it), as the atelier binary has no profiling endpoint:",
			mbps(am), mbps(bm), ratio, fmtBytes(hwm), filepath.Base(prof)),
			Profile: profile})
	}
	logf("%s: Atelier %.0f MiB/s, baseline %.0f MiB/s, peak RSS %s; CPU Atelier %s, PutObject %s", name, mbps(am), mbps(bm),
		fmtBytes(hwm), cpuList(acpu), cpuList(bcpu))
	return nil
}

// cpuUse is the CPU time (user+sys) that one upload cost each process: the server (Atelier's;
// none for the baseline), the sending client (the bench process itself) and the S3 server.
type cpuUse struct{ Server, Client, S3 time.Duration }

func (c cpuUse) String() string {
	total := c.Server + c.Client + c.S3
	if c.Server == 0 {
		return fmt.Sprintf("%.2f s (client %.2f + S3 %.2f)", total.Seconds(), c.Client.Seconds(), c.S3.Seconds())
	}
	return fmt.Sprintf("%.2f s (server %.2f + client %.2f + S3 %.2f)", total.Seconds(), c.Server.Seconds(), c.Client.Seconds(), c.S3.Seconds())
}

func cpuList(cs []cpuUse) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the user+system CPU time process pid and its waited-for children have used so far, or 0.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may hold spaces: the
	// state is the first of them, then utime, stime, cutime and cstime are the 12th to 15th
	// (the children's: ffprobe, which the server waits for).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, v := range f[11:15] {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * clockTick
}

// selfCPU is the CPU time the bench process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const uploadShow = `codeberg.org/atelier|minio-go/v7\.\(\*Client\)\.(PutObject|putObjectMultipartStreamNoLength|uploadPart)|sha256|Syscall6|ffprobe`

var errNoUploadRoute = errors.New("atelier serve does not route POST /api/recordings")

// postRecording streams a multipart upload of file, as the studio and `atelier upload` do.
func postRecording(ctx context.Context, server, token, file string) (int, string, error) {
	meta, _ := json.Marshal(map[string]any{"title": "Benchmark upload", "language": "fr",
		"edits": map[string]any{"keep": [][]string{{"00:00:01", "00:00:10"}}}, "cut": "fast"})
	return postMeta(ctx, server, token, file, string(meta))
}

// vmHWM is the peak resident set of process pid, in bytes, or 0.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// postResumable sends file as the studio and `atelier upload` do by default: a tus upload (one
// PATCH of the whole file), then POST /api/recordings {"upload", "meta"}.
func postResumable(ctx context.Context, server, token, file string) (int, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	do := func(method, url string, body io.Reader, size int64, hdr map[string]string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return nil, err
		}
		req.ContentLength = size
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Tus-Resumable", "1.0.0")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return http.DefaultClient.Do(req)
	}
	answer := func(resp *http.Response) (int, string) {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	resp, err := do("POST", server+"/api/uploads/", nil, 0, map[string]string{"Upload-Length": strconv.FormatInt(fi.Size(), 10)})
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusCreated {
		code, body := answer(resp)
		return code, "POST /api/uploads/: " + body, nil
	}
	loc := resp.Header.Get("Location")
	answer(resp)
	if strings.HasPrefix(loc, "/") {
		loc = server + loc
	}
	t0 := time.Now()
	resp, err = do("PATCH", loc, f, fi.Size(), map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
	if err != nil {
		return 0, "", err
	}
	if code, body := answer(resp); code != http.StatusNoContent {
		return code, "PATCH: " + body, nil
	}
	t1 := time.Now()
	meta, _ := json.Marshal(map[string]any{"upload": loc[strings.LastIndexByte(loc, '/')+1:], "meta": map[string]any{
		"title": "Benchmark upload", "language": "fr", "edits": map[string]any{"keep": [][]string{{"00:00:01", "00:00:10"}}}, "cut": "fast"}})
	resp, err = do("POST", server+"/api/recordings", strings.NewReader(string(meta)), int64(len(meta)), map[string]string{"Content-Type": "application/json"})
	if err != nil {
		return 0, "", err
	}
	code, body := answer(resp)
	// Where the time goes: the PATCH (the bytes to S3 parts) against the create (server-side
	// copy into the recording's key, the probe of the source's ends, the database).
	logf("tus: PATCH %s, POST /api/recordings %s", fmtDur(t1.Sub(t0)), fmtDur(time.Since(t1)))
	return code, body, nil
}
