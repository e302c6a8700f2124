package media

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/proc"
	"codeberg.org/atelier/atelier/internal/testenv"
)

// BenchmarkCut compares the modes on a 60 s 1280x720 30 fps clip (keyframe
// every 2 s) keeping two ranges, 43.3 s in all, like shared/notes/smart-cut.md:
//
//	go test ./pipeline/media -run '^$' -bench Cut -benchtime 3x
func BenchmarkCut(b *testing.B) {
	src := testenv.Clip(b, testenv.ClipOptions{Duration: 60 * time.Second, Width: 1280, Height: 720, FPS: 30, GOP: 60, Audio: true})
	keep := []Span{{sec(3.3), sec(40.7)}, {sec(52.1), sec(58)}}
	for _, mode := range []CutMode{CutFast, CutAccurate, CutReencode} {
		b.Run(string(mode), func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "cut.mp4")
			for b.Loop() {
				if _, err := Cut(b.Context(), src, keep, mode, out, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWaveform computes the peaks of 1-minute and 10-minute stereo AAC sources: the Go side
// allocates the same few tens of KiB whatever the length (B/op), since the PCM streams through a
// fixed buffer; only the peaks (2 bytes per 100 ms) grow.
//
//	go test ./pipeline/media -run '^$' -bench Waveform -benchtime 2x
func BenchmarkWaveform(b *testing.B) {
	for _, d := range []time.Duration{time.Minute, 10 * time.Minute} {
		src := filepath.Join(b.TempDir(), "talk.m4a")
		args := []string{"-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", int(d.Seconds())),
			"-ac", "2", "-c:a", "aac", "-b:a", "96k", src}
		if stderr, err := proc.Run(b.Context(), FFmpegPath, args, proc.Options{}); err != nil {
			b.Fatalf("%v: %s", err, stderr)
		}
		p, err := ProbeFile(b.Context(), src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(d.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w, err := MakeWaveform(b.Context(), src, p)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(w.Length), "peaks")
			}
		})
	}
}
