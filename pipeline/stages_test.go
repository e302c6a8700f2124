package pipeline

import (
	"testing"
	"time"
)

func TestStageShareETA(t *testing.T) {
	for _, c := range []struct {
		stage   string
		total   float64
		elapsed time.Duration
		want    time.Duration
		ok      bool
	}{
		{"cut", 0.10, 10 * time.Second, 90 * time.Second, true},
		{"ladder", 0.50, time.Minute, time.Minute, true},
		{"cut", 0.01, time.Second, 0, false}, // too early to say
		{"ladder", 1, time.Minute, 0, false},
		{"captions", 0.97, 10 * time.Minute, 0, false}, // a transcription's length is not the share done
	} {
		span, known := stages[c.stage]
		if !known {
			t.Fatalf("no stage %q", c.stage)
		}
		got, ok := span.shareETA(c.total, c.elapsed)
		if ok != c.ok || got.Round(time.Millisecond) != c.want {
			t.Errorf("%s at %.2f after %s: %s %v, want %s %v", c.stage, c.total, c.elapsed, got, ok, c.want, c.ok)
		}
	}
}
