package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// goBench is a testing.B benchmark of a package, compiled once and run as a process of its own
// (so that its peak memory is its own).
type goBench struct {
	Pkg   string // ./catalog
	Bench string // BenchmarkCatalogQueries
	Env   []string
}

// benchResult holds, per sub-benchmark, the metrics of each -count run.
type benchResult struct {
	Runs    map[string][]map[string]float64 // "list" -> [{"p99-ms": 3.1, "ns/op": ...}, ...]
	PeakRSS int64
	Binary  string
}

func (r benchResult) median(sub, unit string) float64 {
	var v []float64
	for _, m := range r.Runs[sub] {
		if x, ok := m[unit]; ok {
			v = append(v, x)
		}
	}
	return median(v)
}

func (g goBench) binary(c config) string {
	return filepath.Join(c.Cache, "bin", strings.Trim(strings.ReplaceAll(g.Pkg, "/", "_"), "._")+".test")
}

// built are the test binaries compiled by this run (compiled once, then reused).
var built = map[string]bool{}

// run compiles the package's tests and runs g.Bench with a fixed number of iterations, count
// times; extra flags (e.g. a CPU profile) go to the test binary.
func (g goBench) run(ctx context.Context, c config, benchtime string, count int, filter string, extra ...string) (benchResult, error) {
	bin := g.binary(c)
	res := benchResult{Runs: map[string][]map[string]float64{}, Binary: bin}
	if !built[bin] {
		built[bin] = true
		build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, g.Pkg)
		build.Dir = c.Root
		if _, _, err := runCmd(build); err != nil {
			return res, err
		}
	}
	pattern := "^" + g.Bench + "$"
	if filter != "" {
		pattern += "/^" + filter + "$"
	}
	args := append([]string{"-test.run=^$", "-test.bench=" + pattern, "-test.benchtime=" + benchtime,
		"-test.count=" + strconv.Itoa(count), "-test.timeout=30m"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Join(c.Root, g.Pkg)
	cmd.Env = append(append(os.Environ(), "ATELIER_BENCH_CACHE="+c.Cache), g.Env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	_, rss, err := runCmd(cmd)
	res.PeakRSS = rss
	logName := filepath.Join(c.Out, strings.TrimPrefix(g.Bench, "Benchmark")+".log")
	if filter != "" {
		logName = strings.TrimSuffix(logName, ".log") + "-" + strings.Trim(strings.ReplaceAll(filter, "|", "-"), "()") + ".log"
	}
	os.WriteFile(logName, out.Bytes(), 0o644)
	if err != nil {
		return res, fmt.Errorf("%w\n%s", err, tail(out.String(), 3000))
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], g.Bench+"/") {
			continue
		}
		sub := strings.TrimPrefix(f[0], g.Bench+"/")
		if i := strings.LastIndex(sub, "-"); i > 0 {
			sub = sub[:i] // the GOMAXPROCS suffix
		}
		m := map[string]float64{}
		if n, err := strconv.ParseFloat(f[1], 64); err == nil {
			m["n"] = n // iterations
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		res.Runs[sub] = append(res.Runs[sub], m)
	}
	if len(res.Runs) == 0 {
		return res, fmt.Errorf("%s: no benchmark results in its output:\n%s", g.Bench, tail(out.String(), 3000))
	}
	return res, nil
}

// profile runs one sub-benchmark again under the CPU profiler and returns `go tool pprof -top`
// (flat, then cumulative over the functions matching show).
func (g goBench) profile(ctx context.Context, c config, benchtime, sub, show string) string {
	prof := filepath.Join(c.Out, strings.TrimPrefix(g.Bench, "Benchmark")+"-"+sub+".cpu.prof")
	logf("profiling %s/%s into %s", g.Bench, sub, prof)
	if _, err := g.run(ctx, c, benchtime, 1, sub, "-test.cpuprofile="+prof); err != nil {
		return "(profiling failed: " + err.Error() + ")"
	}
	return pprofTop(ctx, g.binary(c), prof, 12, show)
}

const streamShow = `codeberg.org/atelier|sendfile|sendFile|ReadAt|ServeContent|ServeFile|Syscall6`

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func benchFeed(ctx context.Context, c config, _ string, rep *report) error {
	return benchFeedOn(ctx, c, rep, onSQLite)
}

func benchFeedOn(ctx context.Context, c config, rep *report, db benchDB) error {
	g := goBench{Pkg: "./schedule", Bench: "BenchmarkFeed", Env: db.env}
	count := 3
	if c.Quick {
		count = 2
	}
	logf("iCal feed: 10 000 events, full renders for %s and conditional GETs for %s, %d times", c.Feed, c.Feed/3, count)
	// Full renders and 304s get different times: two runs.
	full, err := g.run(ctx, c, c.Feed.String(), count, "full")
	if err != nil {
		return err
	}
	cond, err := g.run(ctx, c, (c.Feed / 3).String(), count, "(unchanged|304)")
	if err != nil {
		return err
	}
	for _, cs := range []struct {
		sub, name string
		res       benchResult
		limitMS   float64
		benchtime string
	}{
		{"full", "iCal feed, 10 000 events" + db.label + ": full render", full, 100, "15x"},
		{"304", "iCal feed, 10 000 events" + db.label + ": 304 path", cond, 1, "3s"},
	} {
		p50, p99 := cs.res.median(cs.sub, "p50-ms"), cs.res.median(cs.sub, "p99-ms")
		ok := p99 <= cs.limitMS
		rep.Rows = append(rep.Rows, row{Case: cs.name, Atelier: fmt.Sprintf("p99 %s (p50 %s, n=%.0f)", fmtMS(p99), fmtMS(p50), cs.res.median(cs.sub, "n")),
			Baseline: "—", Ratio: "—", PeakMem: fmtBytes(cs.res.PeakRSS), Target: "p99 ≤ " + fmtMS(cs.limitMS), Result: passMiss(ok)})
		if !ok {
			rep.Findings = append(rep.Findings, finding{Case: cs.name,
				Summary: fmt.Sprintf("p99 %s against a target of %s (`go test -bench 'BenchmarkFeed/%s' ./schedule`). CPU profile of that benchmark:",
					fmtMS(p99), fmtMS(cs.limitMS), cs.sub),
				Profile: g.profile(ctx, c, cs.benchtime, cs.sub, `codeberg.org/atelier|database/sql\.\(\*DB\)\.Query|Syscall6|go-ical\.\(\*Encoder\)`)})
		}
	}
	if db.env != nil {
		return nil // the notes and the restart case are SQLite's; the database is the one change
	}
	if err := benchFeedRestart(ctx, c, rep); err != nil {
		return err
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("iCal feed: `GET /calendar.ics` through schedule's real handler (httptest), 10 000 workshops in SQLite "+
		"(one in five a weekly series, four time zones). The full render follows an edit of one workshop (untimed), so the handler's "+
		"rendered-feed cache cannot answer it; a 200 of an unchanged feed (from that cache) takes p99 %s (p50 %s); "+
		"the 304 path sends the ETag of the previous answer",
		fmtMS(cond.median("unchanged", "p99-ms")), fmtMS(cond.median("unchanged", "p50-ms"))))
	return nil
}

// benchFeedRestart measures the first GET /calendar.ics after a restart (10 000 events): as serve
// runs it, with the feeds rendered in the background at start (the target), and fully cold, a
// request that arrives before that warm-up is done (reported, it waits for the same render).
func benchFeedRestart(ctx context.Context, c config, rep *report) error {
	g := goBench{Pkg: "./schedule", Bench: "BenchmarkFeedRender"}
	count := 3
	if c.Quick {
		count = 2
	}
	logf("iCal feed: first request after a restart, 10 000 events, %d times", count)
	res, err := g.run(ctx, c, "10x", count, "(cold|started)")
	if err != nil {
		return err
	}
	for _, cs := range []struct {
		sub, name, target string
		limitMS           float64
	}{
		{"started", "iCal feed, 10 000 events: first request after a restart", "p99 ≤ 100 ms", 100},
		{"cold", "iCal feed, 10 000 events: request during the warm-up at start (cold render)", "— (reported)", 0},
	} {
		p50, p99 := res.median(cs.sub, "p50-ms"), res.median(cs.sub, "p99-ms")
		r := row{Case: cs.name, Atelier: fmt.Sprintf("p99 %s (p50 %s, %.0f CPU ms, n=%.0f)", fmtMS(p99), fmtMS(p50),
			res.median(cs.sub, "cpu-ms/op"), res.median(cs.sub, "n")),
			Baseline: "—", Ratio: "—", PeakMem: fmtBytes(res.PeakRSS), Target: cs.target, Result: "—"}
		if cs.limitMS > 0 {
			ok := p99 <= cs.limitMS
			r.Result = passMiss(ok)
			if !ok {
				rep.Findings = append(rep.Findings, finding{Case: cs.name,
					Summary: fmt.Sprintf("p99 %s against a target of %s (`go test -run '^$' -bench 'FeedRender/%s' ./schedule`). CPU profile of that benchmark:",
						fmtMS(p99), fmtMS(cs.limitMS), cs.sub),
					Profile: g.profile(ctx, c, "10x", cs.sub, `codeberg.org/atelier|database/sql\.\(\*Rows\)\.Next|Syscall6`)})
			}
		}
		rep.Rows = append(rep.Rows, r)
	}
	rep.Notes = append(rep.Notes, "iCal feed after a restart: a fresh schedule API over the same 10 000 workshops; serve renders the "+
		"feeds in the background at start (API.Warm), so the first request finds them (\"started\"); a request that arrives "+
		"during that warm-up waits for the same render, at most the cold time (\"cold\", no warm-up at all)")
	return nil
}

func benchCatalog(ctx context.Context, c config, _ string, rep *report) error {
	return benchCatalogOn(ctx, c, rep, onSQLite)
}

func benchCatalogOn(ctx context.Context, c config, rep *report, db benchDB) error {
	g := goBench{Pkg: "./catalog", Bench: "BenchmarkCatalogQueries", Env: db.env}
	count := 3
	if c.Quick {
		count = 2
	}
	logf("catalog: 100 000 replays, each query kind for %s, %d times (the first run seeds the cached database)", c.Queries, count)
	res, err := g.run(ctx, c, c.Queries.String(), count, "")
	if err != nil {
		return err
	}
	for _, cs := range []struct{ sub, what string }{
		{"list", "list"}, {"filter", "filter (software, version, status, language)"}, {"for", "`for=software@version`"}, {"q", "full-text `q=`"},
	} {
		p50, p99 := res.median(cs.sub, "p50-ms"), res.median(cs.sub, "p99-ms")
		ok := p99 <= 10
		name := "catalog at 100 000 replays" + db.label + ": " + cs.what
		rep.Rows = append(rep.Rows, row{Case: name, Atelier: fmt.Sprintf("p99 %s (p50 %s, n=%.0f)", fmtMS(p99), fmtMS(p50), res.median(cs.sub, "n")),
			Baseline: "—", Ratio: "—", PeakMem: fmtBytes(res.PeakRSS), Target: "p99 ≤ 10 ms", Result: passMiss(ok)})
		if !ok {
			rep.Findings = append(rep.Findings, finding{Case: name,
				Summary: fmt.Sprintf("p99 %s (p50 %s) against 10 ms (`go test -bench 'BenchmarkCatalogQueries/%s' ./catalog`). CPU profile of that benchmark:",
					fmtMS(p99), fmtMS(p50), cs.sub),
				Profile: g.profile(ctx, c, "5s", cs.sub, `codeberg.org/atelier|database/sql\.\(\*DB\)\.Query|Syscall6`)})
		}
	}
	if db.env != nil {
		return nil // the notes are SQLite's; the database is the one change
	}
	rep.Notes = append(rep.Notes, "catalog: `GET /api/replays` through the catalog's real handler as the public asks it, over SQLite "+
		"with 100 000 replays (1–2 tags each plus chapter tags, 3 chapters, subtitles on one in five), 50 software, 2 000 releases; "+
		"queries rotate over several pages, software and words")
	return nil
}

func benchStream(ctx context.Context, c config, src string, rep *report) error {
	g := goBench{Pkg: "./web", Bench: "BenchmarkStreamRanges", Env: []string{"ATELIER_BENCH_MP4=" + src}}
	count := 5
	if c.Quick {
		count = 3
	}
	logf("streaming: 32 concurrent readers, %d ranges of 1 MiB, %d times", c.Ranges, count)
	res, err := g.run(ctx, c, fmt.Sprintf("%dx", c.Ranges), count, "")
	if err != nil {
		return err
	}
	a, b := res.median("atelier", "MB/s"), res.median("servefile", "MB/s")
	ratio := a / b
	ok := ratio >= 0.9
	name := "streaming, 32 concurrent range readers"
	rep.Rows = append(rep.Rows, row{Case: name, Atelier: fmt.Sprintf("%.0f MB/s", a), Baseline: fmt.Sprintf("%.0f MB/s", b),
		Ratio: fmt.Sprintf("%.2f× throughput", ratio), PeakMem: fmtBytes(res.PeakRSS), Target: "≥ 0.9× throughput", Result: passMiss(ok),
		Note: "1 MiB ranges at random offsets of the generated MP4 over loopback TCP: `/replays/{id}/video.mp4` (Dir store) against " +
			"`http.ServeFile` on the very file the store holds; runs interleaved"})
	if !ok {
		rep.Findings = append(rep.Findings, finding{Case: name,
			Summary: fmt.Sprintf("%.0f MB/s against %.0f MB/s. CPU profiles of the Atelier side, then of the baseline "+
				"(look for sendfile: http.ServeFile hands an *os.File to ServeContent, which copies with sendfile(2); "+
				"the stream route's objectReader is no *os.File, so every byte goes through pread(2) and write(2) in user space):", a, b),
			Profile: g.profile(ctx, c, fmt.Sprintf("%dx", c.Ranges), "atelier", streamShow) + "\n\n" +
				g.profile(ctx, c, fmt.Sprintf("%dx", c.Ranges), "servefile", streamShow)})
	}
	return nil
}
