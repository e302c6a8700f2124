package schedule

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
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
	ws, err := api.store.FeedWorkshops(context.Background(), Feed{Kind: "all"}, time.Time{})
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
		if _, err := api.store.FeedWorkshops(context.Background(), Feed{Kind: "all"}, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkFeedRender times GET /calendar.ics with 10 000 events through the real handler when
// the feed must be rendered: "cold" on a fresh API each time (no VEVENT cached: a request that
// reaches a process that just started before its warm-up), "started" on a fresh API once its
// warm-up at start is done (the first request after a restart as serve runs), "warm" after one
// workshop was edited through the Store (the other 9 999 VEVENTs reused). p50-ms and p99-ms are wall time per request, cpu-ms/op the process's CPU.
func BenchmarkFeedRender(b *testing.B) {
	api, _ := benchFeedAPI(b, testenv.BenchInt(b, "ATELIER_BENCH_EVENTS", 10000))
	get := func(b *testing.B, api *API) {
		rec := httptest.NewRecorder()
		if err := api.CalendarAll(rec, httptest.NewRequest(http.MethodGet, "/calendar.ics", nil)); err != nil {
			b.Fatal(err)
		}
		if rec.Code != http.StatusOK {
			b.Fatalf("calendar.ics: %d", rec.Code)
		}
	}
	b.Run("cold", func(b *testing.B) {
		var d []time.Duration
		cpu := cpuTime(b)
		for b.Loop() {
			fresh := NewAPI(api.store, nil, api.publicURL, Options{Now: api.now})
			t0 := time.Now()
			get(b, fresh)
			d = append(d, time.Since(t0))
		}
		reportCPU(b, cpu)
		testenv.ReportLatency(b, d)
	})
	// "started" is the first request after a restart as serve runs it: the feeds were rendered
	// in the background at start (API.Warm, untimed here), so the request finds them.
	b.Run("started", func(b *testing.B) {
		var d []time.Duration
		var cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			fresh := NewAPI(api.store, nil, api.publicURL, Options{Now: api.now})
			if err := fresh.Warm(context.Background()); err != nil {
				b.Fatal(err)
			}
			// The warm-up's garbage is collected by the time a client comes, as in a server that
			// started some time before: without this the request would pay for that GC.
			runtime.GC()
			b.StartTimer()
			t0, c0 := time.Now(), cpuTime(b)
			get(b, fresh)
			d = append(d, time.Since(t0))
			cpu += cpuTime(b) - c0
		}
		b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op") // the request's alone
		testenv.ReportLatency(b, d)
	})
	b.Run("warm", func(b *testing.B) {
		get(b, api)
		var d []time.Duration
		seq := 0
		cpu := cpuTime(b)
		for b.Loop() {
			b.StopTimer()
			seq++
			if _, err := api.store.Update(context.Background(), "w000000000000001", func(w *Workshop) (bool, error) {
				w.Title = fmt.Sprintf("Edited %d", seq)
				return true, nil
			}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			get(b, api)
			d = append(d, time.Since(t0))
		}
		reportCPU(b, cpu)
		testenv.ReportLatency(b, d)
	})
}
