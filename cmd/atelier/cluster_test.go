package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// These tests run an installation of several processes with the real binary: one
// `atelier serve -workers 0` and `atelier worker`s, each with a data directory of its own (as on
// separate machines), sharing one database and one S3 bucket (versitygw). The database is
// SQLite in WAL mode, which several processes on one machine share; PostgreSQL serves several
// machines the same way.

// syncBuffer is a process's output, read while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines returns the JSON log lines whose msg is msg and whose recording_id is id.
func (s *syncBuffer) logLines(msg, id string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil && l["msg"] == msg && (id == "" || l["recording_id"] == id) {
			out = append(out, l)
		}
	}
	return out
}

// node is one running process of the installation.
type node struct {
	name    string
	base    string // public listener (serve) or metrics listener (worker)
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan struct{}
	stopped bool // SIGSTOP sent and not yet SIGCONT
}

// startNode runs `bin command` with env and waits until base answers /healthz.
func startNode(t *testing.T, bin, name, command string, env ...string) *node {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	n := &node{name: name, base: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(bin, command)
	n.cmd.Env = append(os.Environ(), "ATELIER_DATA_DIR="+filepath.Join(t.TempDir(), name), "ATELIER_LOG_FORMAT=json")
	if command == "serve" {
		n.cmd.Env = append(n.cmd.Env, "ATELIER_ADDR="+addr)
	} else {
		n.cmd.Env = append(n.cmd.Env, "ATELIER_METRICS_ADDR="+addr)
	}
	n.cmd.Env = append(n.cmd.Env, env...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		if n.stopped {
			n.cmd.Process.Signal(syscall.SIGCONT)
		}
		n.cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			t.Logf("logs of %s:\n%s", n.name, n.logs)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(n.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return n
		}
		select {
		case <-n.done:
			t.Fatalf("atelier %s (%s) exited early (%v):\n%s", command, name, n.cmd.ProcessState, n.logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("atelier %s (%s) did not start: %v\n%s", command, name, err, n.logs)
		}
	}
}

// cluster is an API node and two workers over one SQLite file and one bucket.
type cluster struct {
	api     *node
	workers []*node
}

// jobLease is the workers' lease in these tests: short, so that a dead worker's job moves soon.
// 6 s was too short on a loaded 2-core CI machine: a live worker's heartbeat came late and its
// job was taken over (run twice), which is what the lease must not do to a live worker.
const jobLease = 15 * time.Second

// clusterDB is a new database of kind ("sqlite", "postgres") for an installation's processes.
func clusterDB(t *testing.T, kind string) string {
	t.Helper()
	if kind == "postgres" {
		return testenv.Postgres(t)
	}
	return filepath.Join(t.TempDir(), "atelier.db")
}

// eachDB runs test on SQLite (processes of one machine sharing the file) and on PostgreSQL.
func eachDB(t *testing.T, test func(t *testing.T, db string)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { test(t, clusterDB(t, kind)) })
	}
}

func startCluster(t *testing.T, db string, workers int) *cluster {
	t.Helper()
	testenv.FFmpeg(t)
	s3 := testenv.S3(t)
	bin := buildAtelier(t)
	env := []string{
		"ATELIER_DB=" + db,
		"ATELIER_S3_ENDPOINT=" + s3.Endpoint, "ATELIER_S3_ACCESS_KEY=" + s3.AccessKey, "ATELIER_S3_SECRET_KEY=" + s3.SecretKey,
		"ATELIER_S3_SECURE=false", "ATELIER_STREAM_MODE=proxy",
		"ATELIER_ADMIN_TOKEN=" + hardAdmin, "ATELIER_SECRET=cluster-secret-0123456789abcdef0123456789",
		"ATELIER_RELEASE_SYNC_INTERVAL=0", "ATELIER_JOB_LEASE=" + jobLease.String(),
	}
	c := &cluster{api: startNode(t, bin, "api", "serve", append(env, "ATELIER_WORKERS=0")...)}
	for i := range workers {
		c.workers = append(c.workers, startNode(t, bin, fmt.Sprintf("worker%d", i+1), "worker", append(env, "ATELIER_WORKERS=1")...))
	}
	return c
}

// holder returns the worker whose log says it started processing recording id, waiting for one.
func (c *cluster) holder(t *testing.T, id string) *node {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, w := range c.workers {
			if len(w.logs.logLines("processing recording", id)) > 0 {
				return w
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no worker took recording %s", id)
	return nil
}

// attempts counts, over every worker, the attempts at recording id that started, and that ended
// with the recording ready.
func (c *cluster) attempts(id string) (started, ready int) {
	for _, w := range c.workers {
		// A job whose ladder waits for the first playable of recordings queued after it goes
		// back to the queue and starts again (pipeline/playable.go): that resumption is the
		// same attempt, not a second one.
		resumed := len(w.logs.logLines(ladderWaitsMsg, id))
		started += len(w.logs.logLines("processing recording", id)) - resumed
		ready += len(w.logs.logLines("recording ready", id))
	}
	return started, ready
}

// ladderWaitsMsg is what pipeline's worker logs when it puts a playable job's ladder back in the queue.
const ladderWaitsMsg = "replay playable; its ladder waits for the first playable rendition of recordings queued before it"

func (c *cluster) attemptsStarted(id string) int {
	started, _ := c.attempts(id)
	return started
}

// waitProgress waits until recording id is processing past progress p, as the API node says.
func (c *cluster) waitProgress(t *testing.T, id string, p float64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, rec := call(t, "GET", c.api.base+"/api/recordings/"+id, hardAdmin, "")
		if prog, _ := rec["progress"].(float64); rec["status"] == "processing" && prog > p {
			return
		}
		if rec["status"] == "ready" || rec["status"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("recording %s never processing past %g: %v", id, p, rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const clusterMeta = `{"title": "Grappe", "language": "fr", "cut": "reencode", "edits": {"remove": [[5, 6]]}}`

// TestClusterProgressAcrossProcesses: a job worked by an `atelier worker` shows its progress in
// the event stream of the API node (serve -workers 0), which runs no job itself; the worker
// downloads the source from storage (the API node keeps no spool) and leaves no scratch behind.
func TestClusterProgressAcrossProcesses(t *testing.T) { eachDB(t, testClusterProgress) }

func testClusterProgress(t *testing.T, db string) {
	c := startCluster(t, db, 1)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 20 * time.Second, Audio: true})
	code, out := uploadRecording(t, c.api.base, hardAdmin, clusterMeta, clip)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %v", code, out)
	}
	id := out["id"].(string)
	req, _ := http.NewRequest("GET", c.api.base+"/api/recordings/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+hardAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var (
		progress []float64
		stages   = map[string]bool{}
		final    string
		worst    time.Duration // from the worker's write (updated_at) to the event here
	)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var v struct {
			Status    string
			Stage     string
			Progress  float64
			UpdatedAt time.Time `json:"updated_at"`
		}
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatal(err)
		}
		if v.Status == "processing" && v.Progress > 0 && v.Progress < 1 {
			progress = append(progress, v.Progress)
			stages[v.Stage] = true
			worst = max(worst, time.Since(v.UpdatedAt))
		}
		if v.Status == "ready" || v.Status == "failed" || v.Status == "cancelled" {
			final = v.Status
		}
	}
	if final != "ready" {
		t.Fatalf("the event stream ended on %q, want ready", final)
	}
	// The job ran in the worker, never in the API node, and its progress reached the stream as
	// it went: several values, through the stages.
	if started, ready := c.attempts(id); started != 1 || ready != 1 {
		t.Fatalf("attempts in the worker: %d started, %d ready; want 1 and 1", started, ready)
	}
	if n := len(c.api.logs.logLines("processing recording", id)); n != 0 {
		t.Fatalf("the API node (-workers 0) processed the recording %d times", n)
	}
	if len(progress) < 3 || !stages["cut"] || !stages["render"] {
		t.Fatalf("progress seen on the API node: %v in stages %v; want several values through cut and render", progress, stages)
	}
	t.Logf("progress events on the API node: %d; longest delay from the worker's write to the event: %s", len(progress), worst)
	// The worker downloaded the source (no spool of the API node's) and removed its scratch.
	if len(c.workers[0].logs.logLines("recording ready", id)) != 1 {
		t.Fatal("the worker did not log the recording ready")
	}
	scratch := filepath.Join(envOf(c.workers[0].cmd, "ATELIER_DATA_DIR"), "work", id)
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("the worker's scratch %s is still there: %v", scratch, err)
	}
	apiSpool := filepath.Join(envOf(c.api.cmd, "ATELIER_DATA_DIR"), "work", id)
	if _, err := os.Stat(apiSpool); !os.IsNotExist(err) {
		t.Errorf("the API node kept a spool %s though it runs no job: %v", apiSpool, err)
	}
	rec := waitFinal(t, c.api.base, hardAdmin, id)
	if d, _ := rec["replay_duration_ms"].(float64); d < 18900 || d > 19100 {
		t.Errorf("replay lasts %g ms, want 19000", d)
	}
}

// envOf is the value of the variable name in cmd's environment (the last one set wins).
func envOf(cmd *exec.Cmd, name string) string {
	v := ""
	for _, kv := range cmd.Env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// TestClusterLeases: a worker paused (SIGSTOP) for less than its lease keeps its job, which runs
// once; a worker killed (kill -9) mid-job loses it to the other worker once its lease expires,
// and every recording ends ready, its outputs stored by one finished attempt, frame-exact.
func TestClusterLeases(t *testing.T) { eachDB(t, testClusterLeases) }

func testClusterLeases(t *testing.T, db string) {
	c := startCluster(t, db, 2)
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 20 * time.Second, Audio: true})
	upload := func() string {
		code, out := uploadRecording(t, c.api.base, hardAdmin, clusterMeta, clip)
		if code != http.StatusAccepted {
			t.Fatalf("upload: %d %v", code, out)
		}
		return out["id"].(string)
	}
	checkReady := func(id string) map[string]any {
		t.Helper()
		rec := waitFinal(t, c.api.base, hardAdmin, id)
		if rec["status"] != "ready" {
			t.Fatalf("recording %s: %v", id, rec)
		}
		if d, _ := rec["replay_duration_ms"].(float64); d < 18900 || d > 19100 {
			t.Errorf("recording %s: replay lasts %g ms, want 19000", id, d)
		}
		return rec
	}
	requeued := func(id string) int {
		n := len(c.api.logs.logLines("requeued a recording whose worker's lease expired", id))
		for _, w := range c.workers {
			n += len(w.logs.logLines("requeued a recording whose worker's lease expired", id))
		}
		return n
	}

	t.Run("paused shorter than the lease: run once", func(t *testing.T) {
		id := upload()
		w := c.holder(t, id)
		c.waitProgress(t, id, 0.1)
		if err := w.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		w.stopped = true
		time.Sleep(jobLease / 3) // the pause under test, not a wait for a result
		if err := w.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		w.stopped = false
		checkReady(id)
		if started, ready := c.attempts(id); started != 1 || ready != 1 {
			t.Errorf("attempts: %d started, %d ready; want 1 and 1 (a paused worker keeps its job)", started, ready)
		}
		if n := requeued(id); n != 0 {
			t.Errorf("requeued %d times while its worker was only paused", n)
		}
	})

	t.Run("paused past the lease: taken over, the paused one stops", func(t *testing.T) {
		id := upload()
		w := c.holder(t, id)
		c.waitProgress(t, id, 0.1)
		if err := w.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		w.stopped = true
		// Resumed once the other worker has started the job again.
		for deadline := time.Now().Add(2 * time.Minute); c.attemptsStarted(id) < 2; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("not taken over while its worker was paused past the lease")
			}
		}
		if err := w.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		w.stopped = false
		checkReady(id)
		if started, ready := c.attempts(id); started != 2 || ready != 1 {
			t.Errorf("attempts: %d started, %d ready; want 2 and 1 (the paused attempt stops when it wakes)", started, ready)
		}
		if len(w.logs.logLines("recording ready", id)) != 0 {
			t.Errorf("the worker paused past its lease recorded the recording ready")
		}
		if n := requeued(id); n != 1 {
			t.Errorf("requeued %d times, want once", n)
		}
	})

	t.Run("killed: the other worker takes the job", func(t *testing.T) {
		a, b := upload(), upload()
		victim := c.holder(t, a)
		c.waitProgress(t, a, 0.1)
		var survivor *node
		for _, w := range c.workers {
			if w != victim {
				survivor = w
			}
		}
		c.holder(t, b) // the survivor works b meanwhile
		if err := victim.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-victim.done
		killed := time.Now()
		recA, recB := checkReady(a), checkReady(b)
		if started, ready := c.attempts(a); started != 2 || ready != 1 {
			t.Errorf("attempts at the killed job: %d started, %d ready; want 2 (killed, then taken over) and 1", started, ready)
		}
		if len(survivor.logs.logLines("recording ready", a)) != 1 {
			t.Errorf("the surviving worker did not finish the killed job")
		}
		if started, ready := c.attempts(b); started != 1 || ready != 1 {
			t.Errorf("attempts at the other job: %d started, %d ready; want 1 and 1", started, ready)
		}
		if n := requeued(a); n != 1 {
			t.Errorf("the killed job was requeued %d times, want once", n)
		}
		if la, lb := len(recA["outputs"].([]any)), len(recB["outputs"].([]any)); la != lb || la == 0 {
			t.Errorf("outputs: %d for the job taken over, %d for the other; want the same set", la, lb)
		}
		if l := survivor.logs.logLines("processing recording", a); len(l) == 1 {
			at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(l[0]["time"]))
			t.Logf("the killed job restarted on the other worker %s after kill -9 (lease %s)", at.Sub(killed).Round(100*time.Millisecond), jobLease)
		}
	})
}

// TestClusterAPINodes: two API nodes over one database. A periodic task (the release-feed sync)
// runs once per interval across both, not once per node; a workshop created through one node is
// in the other's calendar feed at once, under a new ETag.
func TestClusterAPINodes(t *testing.T) { eachDB(t, testClusterAPINodes) }

func testClusterAPINodes(t *testing.T, db string) {
	var mu sync.Mutex
	var hits []time.Time
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, time.Now())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/atom+xml")
		io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>r</title></feed>`)
	}))
	defer feed.Close()
	bin := buildAtelier(t)
	const interval = 2 * time.Second
	env := []string{"ATELIER_DB=" + db, "ATELIER_ADMIN_TOKEN=" + hardAdmin, "ATELIER_STORAGE_SHARED=true",
		"ATELIER_SECRET=cluster-secret-0123456789abcdef0123456789", "ATELIER_WORKERS=0",
		"ATELIER_RELEASE_SYNC_INTERVAL=" + interval.String(), "ATELIER_ALLOW_PRIVATE_FEEDS=true"}
	one := startNode(t, bin, "api1", "serve", env...)
	two := startNode(t, bin, "api2", "serve", env...)

	if code, out := call(t, "POST", one.base+"/api/software", hardAdmin,
		fmt.Sprintf(`{"slug": "nextcloud", "name": "Nextcloud", "release_feed": %q}`, feed.URL)); code != http.StatusCreated {
		t.Fatalf("create software: %d %v", code, out)
	}
	// Watch the feed being read for a number of intervals. Each node syncing on its own would
	// read it about twice per interval.
	mu.Lock()
	hits = nil
	mu.Unlock()
	const intervals = 6
	time.Sleep(intervals * interval) // the span observed, not a wait for a result
	mu.Lock()
	n := len(hits)
	mu.Unlock()
	t.Logf("release feed read %d times in %d intervals by two API nodes", n, intervals)
	if n < 2 || n > intervals+2 {
		t.Errorf("release feed read %d times in %d intervals by two nodes: want about one per interval", n, intervals)
	}

	etag := func(base string) string {
		resp, err := http.Get(base + "/calendar.ics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
			t.Fatalf("GET /calendar.ics: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
		}
		return resp.Header.Get("ETag")
	}
	before := etag(two.base)
	w := `{"title":"Atelier découverte","starts_at":"2036-03-04T18:00:00","timezone":"Europe/Paris","duration":"PT1H30M"}`
	if code, out := call(t, "POST", one.base+"/api/workshops", hardAdmin, w); code != http.StatusCreated {
		t.Fatalf("create workshop on node 1: %d %v", code, out)
	}
	if after := etag(two.base); after == before {
		t.Errorf("node 2's calendar ETag stayed %s after a workshop was created through node 1", after)
	}
}
