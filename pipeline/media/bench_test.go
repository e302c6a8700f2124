package media

import (
	"path/filepath"
	"testing"
	"time"

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
