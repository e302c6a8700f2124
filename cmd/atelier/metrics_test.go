package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// scrape reads the metrics listener at base and returns its samples: "name{labels}" -> value,
// labels as Prometheus writes them (sorted by name).
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sample is the value of name with exactly these labels (in Prometheus's order), 0 when absent.
func sample(m map[string]float64, name string, labels ...string) float64 {
	key := name
	if len(labels) > 0 {
		parts := make([]string, 0, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			parts = append(parts, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
		}
		key += "{" + strings.Join(parts, ",") + "}"
	}
	return m[key]
}

// TestMetrics: /metrics answers on -metrics-addr only, and its counters follow real requests, a
// real upload processed by ffmpeg into S3, a replay streamed, and S3 going away.
func TestMetrics(t *testing.T) { eachDB(t, testMetrics) }

func testMetrics(t *testing.T, db string) {
	testenv.FFmpeg(t)
	s3 := testenv.S3(t)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsBase := fmt.Sprintf("http://127.0.0.1:%d", port)
	base, _ := startServer(t, hardEnv(map[string]string{
		"ATELIER_METRICS_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "ATELIER_DB": db,
		"ATELIER_S3_ENDPOINT": s3.Endpoint, "ATELIER_S3_ACCESS_KEY": s3.AccessKey, "ATELIER_S3_SECRET_KEY": s3.SecretKey,
		"ATELIER_S3_SECURE": "false", "ATELIER_STREAM_MODE": "proxy",
	}))

	// Not on the public listener.
	if code := httpStatus(t, base+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("GET /metrics on the public listener: %d, want 404", code)
	}
	before := scrape(t, metricsBase)
	for range 3 {
		if code := httpStatus(t, base+"/api/replays"); code != http.StatusOK {
			t.Fatalf("GET /api/replays: %d", code)
		}
	}
	httpStatus(t, base+"/no/such/page")
	after := scrape(t, metricsBase)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"method", "GET", "route", "/api/replays", "status", "200"}, 3},
		{[]string{"method", "GET", "route", "unmatched", "status", "404"}, 1},
		{[]string{"method", "GET", "route", "/metrics", "status", "404"}, 0}, // /metrics is no route of the public table
	} {
		got := sample(after, "atelier_http_requests_total", c.labels...) - sample(before, "atelier_http_requests_total", c.labels...)
		if got != c.want {
			t.Errorf("atelier_http_requests_total%v moved by %g, want %g", c.labels, got, c.want)
		}
	}

	// A real upload, processed: bytes in, the job's stages, its queue wait, the counts by state.
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 3 * time.Second, Audio: true})
	fi, err := os.Stat(clip)
	if err != nil {
		t.Fatal(err)
	}
	code, out := uploadRecording(t, base, hardAdmin, `{"title": "Mesures", "language": "fr", "publication": "published"}`, clip)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %v", code, out)
	}
	id := out["id"].(string)
	if rec := waitFinal(t, base, hardAdmin, id); rec["status"] != "ready" {
		t.Fatalf("recording: %v", rec)
	}
	resp, err := http.Get(base + "/replays/" + id + "/video.mp4")
	if err != nil {
		t.Fatal(err)
	}
	streamed, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || streamed == 0 {
		t.Fatalf("GET video.mp4: %d, %d bytes", resp.StatusCode, streamed)
	}
	videoRoute := `/replays/{id}/{file:video\.mp4|audio\.m4a|poster\.jpg|storyboard\.jpg|storyboard\.vtt|chapters\.vtt}`
	// The counters are added when the handler returns, which can be just after the client read
	// the last byte: scrape again until they are in (or the deadline says they never come).
	m := scrape(t, metricsBase)
	for deadline := time.Now().Add(10 * time.Second); sample(m, "atelier_http_response_body_bytes_total", "route", videoRoute) < float64(streamed) &&
		time.Now().Before(deadline); m = scrape(t, metricsBase) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := sample(m, "atelier_http_request_body_bytes_total", "route", "/api/recordings"); got < float64(fi.Size()) {
		t.Errorf("request body bytes of /api/recordings: %g, want at least the clip's %d", got, fi.Size())
	}
	if got := sample(m, "atelier_http_response_body_bytes_total", "route", videoRoute); got < float64(streamed) {
		t.Errorf("response body bytes of the video route: %g, want at least the %d streamed", got, streamed)
	}
	for _, stage := range []string{"cut", "render", "upload", "subtitles"} {
		if got := sample(m, "atelier_job_stage_duration_seconds_count", "stage", stage); got != 1 {
			t.Errorf("stage %s timed %g times, want 1", stage, got)
		}
	}
	if got := sample(m, "atelier_job_queue_wait_seconds_count", "kind", "pipeline.process"); got != 1 {
		t.Errorf("queue waits observed: %g, want 1", got)
	}
	if got := sample(m, "atelier_jobs_finished_total", "kind", "pipeline.process", "outcome", "ready"); got != 1 {
		t.Errorf("jobs finished ready: %g, want 1", got)
	}
	if got := sample(m, "atelier_recordings", "status", "ready"); got != 1 {
		t.Errorf("recordings ready: %g, want 1", got)
	}
	// River marks the job completed a moment after the recording is ready (its completer batches).
	for deadline := time.Now().Add(10 * time.Second); sample(m, "atelier_jobs", "kind", "pipeline.process", "state", "completed") != 1; m = scrape(t, metricsBase) {
		if time.Now().After(deadline) {
			t.Errorf("jobs completed: %g, want 1", sample(m, "atelier_jobs", "kind", "pipeline.process", "state", "completed"))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	// S3 gone: readiness asks it, and the failure is counted.
	errs := func(m map[string]float64) float64 {
		var n float64
		for k, v := range m {
			if strings.HasPrefix(k, "atelier_s3_errors_total{") {
				n += v
			}
		}
		return n
	}
	e0 := errs(m)
	s3.Kill()
	if code := httpStatus(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with S3 down: %d", code)
	}
	if got := errs(scrape(t, metricsBase)) - e0; got < 1 {
		t.Errorf("S3 errors counted while S3 was down: %g, want at least 1", got)
	}
	s3.Restart(t)
}
