package schedule

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used, user and system, GC included: on a shared
// machine it varies far less with the load than the wall time does.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU milliseconds per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkWriteFeed times the encoding alone of the 10 000 workshops of BenchmarkFeed, read once
// from the store: the direct encoder against the go-ical one it replaced (reference).
func BenchmarkWriteFeed(b *testing.B) {
	api, _ := benchFeedAPI(b, 10000)
	ws, err := api.store.FeedWorkshops(context.Background(), Feed{Kind: "all"})
	if err != nil {
		b.Fatal(err)
	}
	opt := FeedOptions{Name: "Atelier workshops", PublicURL: api.publicURL, Now: time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		name  string
		write func(io.Writer, []*Workshop, FeedOptions) error
	}{{"direct", WriteFeed}, {"go-ical", refWriteFeed}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if err := c.write(io.Discard, ws, opt); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkFeedWorkshops times reading the 10 000 workshops of a feed from SQLite.
func BenchmarkFeedWorkshops(b *testing.B) {
	api, _ := benchFeedAPI(b, 10000)
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		if _, err := api.store.FeedWorkshops(context.Background(), Feed{Kind: "all"}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
