package media

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// TestWindowSnapMatchesFullScan: the keyframes a fast cut finds in the
// windows around its cut points are those the whole file's packets give,
// for random spans (on frames, between frames, at the ends); when the
// windows cannot prove an answer (GOPs longer than a window) the caller
// scans the whole file, so ok may be false but an answer is never wrong.
func TestWindowSnapMatchesFullScan(t *testing.T) {
	tests := []struct {
		name       string
		opt        testenv.ClipOptions
		mustWindow bool
	}{
		{"2 s GOP", clip12, true},
		{"10 s GOP", testenv.ClipOptions{Duration: 30 * time.Second, Width: 320, Height: 240, FPS: 25, GOP: 250}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := testenv.Clip(t, tc.opt)
			p, err := probeStreams(ctxT(t), src)
			if err != nil {
				t.Fatal(err)
			}
			pk, err := scanPackets(ctxT(t), src, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			dur := p.Duration
			windowedN := 0
			for n := range 12 {
				// 1 to 3 sorted spans; some on frame times, some at the ends.
				var cuts []time.Duration
				for range 2 * (1 + rng.IntN(3)) {
					c := time.Duration(rng.Int64N(int64(dur)))
					if rng.IntN(3) == 0 {
						c = c / (40 * time.Millisecond) * (40 * time.Millisecond)
					}
					cuts = append(cuts, c)
				}
				slices.Sort(cuts)
				cuts = slices.Compact(cuts)
				if len(cuts)%2 == 1 {
					cuts = cuts[:len(cuts)-1]
				}
				if n == 0 {
					cuts = []time.Duration{0, sec(1), dur - sec(1.5), dur}
				}
				var spans []Span
				for i := 0; i+1 < len(cuts); i += 2 {
					spans = append(spans, Span{cuts[i], cuts[i+1]})
				}
				if len(spans) == 0 {
					continue
				}
				spans, err = checkSpans(spans, dur)
				if err != nil {
					continue
				}
				wantSegs, wantActual, err := fullSnap(pk, spans)
				if err != nil {
					t.Logf("spans %v: %v", spans, err)
					continue // a span without a frame: the full scan's error
				}
				segs, actual, ok, err := scanWindows(ctxT(t), src, p, spans)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					t.Logf("spans %v: not proven by the windows", spans)
					continue
				}
				windowedN++
				if !slices.Equal(actual, wantActual) || !slices.Equal(segs, wantSegs) {
					t.Errorf("spans %v: windows give %v %v, the full scan %v %v", spans, actual, segs, wantActual, wantSegs)
				}
				// The same windows listed by the probe itself (all streams).
				_, _, psegs, pactual, pok, err := probeWindows(ctxT(t), src, spans)
				if err != nil {
					t.Fatal(err)
				}
				if !pok {
					t.Errorf("spans %v: the probe's windows prove nothing", spans)
				} else if !slices.Equal(pactual, wantActual) || !slices.Equal(psegs, wantSegs) {
					t.Errorf("spans %v: the probe's windows give %v %v, the full scan %v %v", spans, pactual, psegs, wantActual, wantSegs)
				}
			}
			if tc.mustWindow && windowedN < 8 {
				t.Errorf("only %d of 12 cuts answered from the windows", windowedN)
			}
			t.Logf("%d of 12 cuts answered from the windows", windowedN)
		})
	}
}
