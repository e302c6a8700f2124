package testenv

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchCacheDir is where benchmarks keep what is slow to make and safe to
// reuse (seeded databases, generated media), keyed by the caller in the file
// name: $ATELIER_BENCH_CACHE, else <repo>/.cache/bench, else a directory in
// the system's temp directory.
func BenchCacheDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("ATELIER_BENCH_CACHE")
	if dir == "" {
		if root := RepoRoot(); root != "" {
			dir = filepath.Join(root, ".cache", "bench")
		} else {
			dir = filepath.Join(os.TempDir(), "atelier-bench")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("testenv: bench cache: %v", err)
	}
	return dir
}

// BenchQuick reports whether BENCH_QUICK=1 asks for the reduced benchmarks.
func BenchQuick() bool { return os.Getenv("BENCH_QUICK") == "1" }

// BenchInt reads a size from the environment variable name, or def.
func BenchInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("testenv: %s=%q: want a positive integer", name, s)
	}
	return n
}

// ReportLatency reports the median and the 99th percentile of the per-op
// durations d as the metrics p50-ms and p99-ms, which `make bench` reads.
// It reports nothing for an empty d.
func ReportLatency(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1 // nearest rank
		i = min(max(i, 0), len(s)-1)
		return float64(s[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}
