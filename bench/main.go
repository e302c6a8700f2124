// Command bench measures Atelier against the bare tools it drives, side by side in the same run
// on the same machine (`make bench`, or `go run ./bench` from the repository root). Shared
// machines are noisy: ratios count, not absolute times.
//
// It generates its media with ffmpeg (cached under .cache/bench/), runs every case several
// times, prints one table (case, Atelier's median, the baseline's median, ratio, peak memory,
// target, result) and writes it to bench/results.md with the date and the machine. Whole
// processes (ffmpeg cuts, the atelier server) are timed here; in-process parts (catalog
// queries, iCal feeds, streaming) are the testing.B benchmarks of their packages, which this
// command compiles and runs. A case that misses its target gets the profile that explains it.
//
// BENCH_QUICK=1 runs the reduced version (60 s 720p media, 200 MiB upload, fewer runs).
// BENCH_RUNS=N overrides the number of runs, BENCH_CASES=cut,upload,feed,catalog,stream,feed-pg,catalog-pg,playable,workers
// picks cases. The workers case runs an installation of several processes (serve -workers 0
// and 1, then 2 `atelier worker`s) and reports the throughput ratio.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what a run measures, derived from BENCH_QUICK and friends.
type config struct {
	Quick   bool
	Runs    int    // runs of process cases (cuts, upload)
	Root    string // repository root
	Cache   string // .cache/bench: generated media, seeded databases, binaries
	Out     string // bench/out: logs and profiles of this run (git-ignored)
	Media   mediaSpec
	Upload  int64         // bytes
	Feed    time.Duration // time per run of the full feed render (the 304 path gets a third)
	Queries time.Duration // time per run of each catalog query kind
	Ranges  int           // range requests per streaming run
	Cases   map[string]bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "cut" {
		// The Atelier side of the cut cases runs in a child process of its own, so that its
		// peak memory (with its ffmpeg children) is measured apart from the bench's.
		os.Exit(cutChild(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "serve-upload" {
		os.Exit(serveUpload(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "media" {
		// Only make (or find) the cached media of this mode, e.g. ahead of a run.
		c, err := loadConfig()
		if err == nil {
			var src string
			if src, err = c.Media.ensure(context.Background(), c.Cache); err == nil {
				_, err = bigVideo(context.Background(), c.Cache, src, c.Upload)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench   (BENCH_QUICK=1 for the reduced run; see `go doc ./bench`)")
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func loadConfig() (config, error) {
	root, err := repoRoot()
	if err != nil {
		return config{}, err
	}
	c := config{Quick: os.Getenv("BENCH_QUICK") == "1", Root: root,
		Cache: filepath.Join(root, ".cache", "bench"), Out: filepath.Join(root, "bench", "out")}
	if c.Quick {
		c.Runs, c.Media, c.Upload = 2, mediaSpec{Seconds: 60, Width: 1280, Height: 720, FPS: 30, GOP: 2}, 200<<20
		c.Feed, c.Queries, c.Ranges = 8*time.Second, 4*time.Second, 1000
	} else {
		c.Runs, c.Media, c.Upload = 3, mediaSpec{Seconds: 600, Width: 1920, Height: 1080, FPS: 30, GOP: 2}, 2<<30
		c.Feed, c.Queries, c.Ranges = 20*time.Second, 15*time.Second, 3000
	}
	if s := os.Getenv("BENCH_RUNS"); s != "" {
		if c.Runs, err = strconv.Atoi(s); err != nil || c.Runs < 1 {
			return config{}, fmt.Errorf("BENCH_RUNS=%q: want a positive integer", s)
		}
	}
	c.Cases = map[string]bool{}
	all := []string{"cut", "upload", "feed", "catalog", "stream", "feed-pg", "catalog-pg", "playable", "workers"}
	if s := os.Getenv("BENCH_CASES"); s != "" {
		for _, k := range strings.Split(s, ",") {
			if !slices.Contains(all, k) {
				return config{}, fmt.Errorf("BENCH_CASES: unknown case %q (want %s)", k, strings.Join(all, ","))
			}
			c.Cases[k] = true
		}
	} else {
		for _, k := range all {
			c.Cases[k] = true
		}
	}
	for _, d := range []string{c.Cache, c.Out, filepath.Join(c.Cache, "bin"), filepath.Join(c.Cache, "work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return config{}, err
		}
	}
	return c, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the repository (no go.mod found)")
		}
		dir = parent
	}
}

func run(ctx context.Context) error {
	c, err := loadConfig()
	if err != nil {
		return err
	}
	started := time.Now()
	mach := describeMachine(ctx)
	logf("%s run on %s", map[bool]string{true: "quick", false: "full"}[c.Quick], mach.oneLine())

	var src string
	if c.Cases["cut"] || c.Cases["upload"] || c.Cases["stream"] || c.Cases["playable"] {
		if src, err = c.Media.ensure(ctx, c.Cache); err != nil {
			return err
		}
	}
	var rep report
	rep.Config, rep.Machine, rep.Source = c, mach, src
	steps := []struct {
		name string
		fn   func(context.Context, config, string, *report) error
	}{
		{"cut", benchCuts},
		{"upload", benchUpload},
		{"feed", benchFeed},
		{"catalog", benchCatalog},
		{"stream", benchStream},
		{"feed-pg", benchFeedPG},
		{"catalog-pg", benchCatalogPG},
		{"playable", benchPlayable},
		{"workers", benchWorkers},
	}
	for _, s := range steps {
		if !c.Cases[s.name] {
			continue
		}
		if err := s.fn(ctx, c, src, &rep); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rep.Rows = append(rep.Rows, row{Case: s.name, Result: "error", Note: err.Error()})
			logf("%s: %v", s.name, err)
		}
	}
	rep.Elapsed = time.Since(started)
	fmt.Println()
	fmt.Print(rep.table())
	md := rep.markdown()
	if len(c.Cases) < len(steps) || os.Getenv("BENCH_NO_WRITE") == "1" {
		path := filepath.Join(c.Out, "results.md")
		logf("partial run: results written to %s (bench/results.md is kept)", path)
		return os.WriteFile(path, md, 0o644)
	}
	path := filepath.Join(c.Root, "bench", "results.md")
	logf("results written to %s in %s", path, rep.Elapsed.Round(time.Second))
	return os.WriteFile(path, md, 0o644)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// machine describes where the numbers come from.
type machine struct {
	NProc  int
	CPU    string
	FFmpeg string
	Go     string
	Load   string // load average when the run started
}

func describeMachine(ctx context.Context) machine {
	m := machine{NProc: runtime.NumCPU(), CPU: "unknown", Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-version").Output(); err == nil {
		m.FFmpeg, _, _ = strings.Cut(string(out), "\n")
		m.FFmpeg = strings.TrimSpace(strings.TrimPrefix(m.FFmpeg, "ffmpeg version "))
		m.FFmpeg, _, _ = strings.Cut(m.FFmpeg, " Copyright")
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}

func (m machine) oneLine() string {
	return fmt.Sprintf("%d cores (%s), ffmpeg %s, %s, load %s", m.NProc, m.CPU, m.FFmpeg, m.Go, m.Load)
}

// runCmd runs a process to the end and returns its wall time and peak RSS in bytes (the
// largest of the process and its waited-for descendants, from wait4's rusage).
func runCmd(cmd *exec.Cmd) (time.Duration, int64, error) {
	var stderr bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	if err != nil {
		tail := stderr.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return d, rss, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail)
	}
	return d, rss, nil
}

func median[T int64 | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
