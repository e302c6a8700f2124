package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// benchWorkers measures processing throughput (jobs per minute) of an installation of several
// processes, with the real binary: one `atelier serve -workers 0` and N `atelier worker`
// processes (N = 1, then 2), each running one job at a time, sharing one SQLite file (processes
// of one machine share it in WAL mode) and one local media directory (DATA_DIR is the same for
// every process, as on one machine; -storage-shared is only asked for with PostgreSQL). The K
// recordings are uploaded while no worker runs, so the clock measures processing only: it
// starts when the workers answer /healthz and stops when the last recording is ready. The
// issue gives no target: the case reports both rates and their ratio. On this machine the
// ratio is bound by its cores (ffmpeg already uses more than one thread per job), not by
// Atelier's queue.
func benchWorkers(ctx context.Context, c config, _ string, rep *report) error {
	k, spec := 6, mediaSpec{Seconds: 20, Width: 1280, Height: 720, FPS: 30, GOP: 2}
	if c.Quick {
		k, spec = 4, mediaSpec{Seconds: 10, Width: 1280, Height: 720, FPS: 30, GOP: 2}
	}
	clip, err := spec.ensure(ctx, c.Cache)
	if err != nil {
		return err
	}
	bin := filepath.Join(c.Cache, "bin", "atelier")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/atelier")
	build.Dir = c.Root
	if _, _, err := runCmd(build); err != nil {
		return err
	}
	var rates [2]float64
	var walls [2]time.Duration
	var split string
	for i, n := range []int{1, 2} {
		wall, err := workersRun(ctx, c, bin, clip, spec, k, n)
		if err != nil {
			return fmt.Errorf("workers (%d): %w", n, err)
		}
		walls[i], rates[i] = wall, float64(k)/wall.Minutes()
		if n == 2 {
			split = readySplit(c, n)
		}
		logf("workers: %d worker process(es): %d recordings ready in %s, %.2f jobs/min", n, k, fmtDur(wall), rates[i])
	}
	rep.Rows = append(rep.Rows, row{Case: "throughput, 1 → 2 worker processes",
		Atelier:  fmt.Sprintf("%.2f jobs/min with 2 workers", rates[1]),
		Baseline: fmt.Sprintf("%.2f jobs/min with 1 worker", rates[0]),
		Ratio:    fmt.Sprintf("%.2f× the throughput", rates[1]/rates[0]),
		Target:   "none (report the ratio)", Result: "—",
		Note: fmt.Sprintf("%d recordings (%s, cut fast to one range) uploaded to `atelier serve -workers 0`, then processed by "+
			"1, then 2 `atelier worker` processes (one job each at a time) sharing one SQLite file and one local media directory; "+
			"from the workers' start to the last `ready`: %s with 1 worker, %s with 2 (recordings each worker brought to ready: %s). This machine has %d cores, which bound the "+
			"ratio: each job's ffmpeg already uses more than one thread, so a second worker mostly competes for the same cores; "+
			"on separate machines (PostgreSQL + S3) workers add their own cores",
			k, spec.describe(), fmtDur(walls[0]), fmtDur(walls[1]), split, rep.Machine.NProc)})
	return nil
}

// readySplit says how many recordings each of the n workers of the last run brought to ready,
// from their logs: a ratio near 1 with one worker doing everything would be a queue problem,
// not a machine limit.
func readySplit(c config, n int) string {
	var parts []string
	for i := range n {
		b, err := os.ReadFile(workersLog(c, n, "worker"+strconv.Itoa(i+1)))
		if err != nil {
			return "unknown (" + err.Error() + ")"
		}
		parts = append(parts, strconv.Itoa(bytes.Count(b, []byte(`"msg":"recording ready"`))))
	}
	return strings.Join(parts, " + ")
}

func workersLog(c config, n int, name string) string {
	return filepath.Join(c.Out, "workers-"+strconv.Itoa(n)+"-"+name+".log")
}

// workersProc is one process of the installation.
type workersProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *workersProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// workersRun starts a fresh installation, uploads k copies of clip, starts n workers and
// returns the time from their start to the last recording ready.
func workersRun(ctx context.Context, c config, bin, clip string, m mediaSpec, k, n int) (time.Duration, error) {
	work, err := os.MkdirTemp(filepath.Join(c.Cache, "work"), "workers-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	token := testenv.RandHex(32)
	env := append(os.Environ(), "ATELIER_DATA_DIR="+data, "ATELIER_DB="+filepath.Join(data, "atelier.db"),
		"ATELIER_ADMIN_TOKEN="+token, "ATELIER_SECRET="+testenv.RandHex(32), "ATELIER_LOG_FORMAT=json",
		"ATELIER_RELEASE_SYNC_INTERVAL=0", "ATELIER_JOB_LEASE=30s")
	start := func(name, command string, extra ...string) (*workersProc, string, error) {
		port, err := testenv.FreePort()
		if err != nil {
			return nil, "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		logFile, err := os.Create(workersLog(c, n, name))
		if err != nil {
			return nil, "", err
		}
		cmd := exec.CommandContext(ctx, bin, command)
		cmd.Env = append(append(env, extra...), map[bool]string{true: "ATELIER_ADDR=", false: "ATELIER_METRICS_ADDR="}[command == "serve"]+addr)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			logFile.Close()
			return nil, "", err
		}
		p := &workersProc{cmd: cmd, done: make(chan struct{})}
		go func() { cmd.Wait(); logFile.Close(); close(p.done) }()
		if err := testenv.WaitHTTP(ctx, "http://"+addr+"/healthz", p.done, 60*time.Second); err != nil {
			p.stop()
			return nil, "", fmt.Errorf("atelier %s (%s): %w (log in %s)", command, name, err, logFile.Name())
		}
		return p, "http://" + addr, nil
	}
	api, server, err := start("api", "serve", "ATELIER_WORKERS=0")
	if err != nil {
		return 0, err
	}
	defer api.stop()
	meta, _ := json.Marshal(map[string]any{"title": "Benchmark throughput", "language": "fr", "publication": "published",
		"edits": map[string]any{"keep": [][]string{{"0.5", strconv.FormatFloat(float64(m.Seconds)-0.5, 'f', 1, 64)}}}, "cut": "fast"})
	ids := make([]string, 0, k)
	for range k {
		status, body, err := postMeta(ctx, server, token, clip, string(meta))
		if err != nil {
			return 0, err
		}
		if status != http.StatusAccepted {
			return 0, fmt.Errorf("POST /api/recordings: %d %s", status, body)
		}
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			return 0, err
		}
		ids = append(ids, rec.ID)
	}
	t0 := time.Now()
	for i := range n {
		w, _, err := start("worker"+strconv.Itoa(i+1), "worker", "ATELIER_WORKERS=1")
		if err != nil {
			return 0, err
		}
		defer w.stop()
	}
	pending := map[string]bool{}
	for _, id := range ids {
		pending[id] = true
	}
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if time.Since(t0) > 30*time.Minute {
			return 0, fmt.Errorf("%d of %d recordings not ready after 30 minutes (logs in %s)", len(pending), k, c.Out)
		}
		for id := range pending {
			_, text := get(ctx, server+"/api/recordings/"+id, token)
			var v struct {
				Status string `json:"status"`
				Error  string `json:"error"`
			}
			_ = json.Unmarshal([]byte(text), &v)
			switch v.Status {
			case "ready":
				delete(pending, id)
			case "failed", "cancelled":
				return 0, fmt.Errorf("recording %s: %s %s", id, v.Status, v.Error)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(t0), nil
}
