package schedule

import (
	"context"
	"io"
	"testing"
	"time"
)

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
			for b.Loop() {
				if err := c.write(io.Discard, ws, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFeedWorkshops times reading the 10 000 workshops of a feed from SQLite.
func BenchmarkFeedWorkshops(b *testing.B) {
	api, _ := benchFeedAPI(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := api.store.FeedWorkshops(context.Background(), Feed{Kind: "all"}); err != nil {
			b.Fatal(err)
		}
	}
}
