package media

import (
	"fmt"
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
			src, p, pk := scannedClip(t, tc.opt)
			rng := rand.New(rand.NewPCG(1, 2))
			dur := p.Duration
			windowedN := 0
			for n := range 12 {
				cuts := randomCuts(rng, dur)
				if n == 0 {
					cuts = []time.Duration{0, sec(1), dur - sec(1.5), dur}
				}
				spans, ok := cutSpans(cuts, dur)
				if !ok {
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

// TestWindowPiecesMatchFullScan: the smart cut's pieces planned from the windows around the
// cut points are those the whole file's packets give (but for copied pieces' frame counts,
// which the in-place join does not use), for random spans; when the windows cannot prove
// the plan, the caller scans the whole file.
func TestWindowPiecesMatchFullScan(t *testing.T) {
	tests := []struct {
		name       string
		opt        testenv.ClipOptions
		mustWindow bool
	}{
		{"2 s GOP", clip12, true},
		{"1 s GOP", testenv.ClipOptions{Duration: 12 * time.Second, FPS: 25, GOP: 25}, true},
		{"10 s GOP", testenv.ClipOptions{Duration: 30 * time.Second, Width: 320, Height: 240, FPS: 25, GOP: 250}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, p, pk := scannedClip(t, tc.opt)
			plan := func(pk packets, spans []Span) (string, error) {
				frs, err := frameRanges(pk, spans)
				if err != nil {
					return "", err
				}
				var ps []piece
				for _, fr := range frs {
					for _, pc := range planPieces(pk, fr, false) {
						if pc.Copy {
							pc.Frames = 0
						}
						ps = append(ps, pc)
					}
				}
				return fmt.Sprint(ps, actualSpans(pk, frs), pk.frameDur()), nil
			}
			rng := rand.New(rand.NewPCG(3, 4))
			dur := p.Duration
			windowedN := 0
			for n := range 16 {
				cuts := randomCuts(rng, dur)
				switch n {
				case 0:
					cuts = []time.Duration{0, sec(1), dur - sec(1.5), dur}
				case 1: // on keyframes, and within one GOP
					cuts = []time.Duration{sec(2), sec(4), sec(4.1), sec(4.5)}
				}
				spans, ok := cutSpans(cuts, dur)
				if !ok {
					continue
				}
				want, err := plan(pk, spans)
				if err != nil {
					continue // a span without a frame: the full scan's error
				}
				_, wspans, w, err := probeWindowRuns(ctxT(t), src, spans)
				if err != nil {
					t.Fatal(err)
				}
				if w == nil {
					t.Fatalf("spans %v: no window listing", spans)
				}
				wpk, ok := w.packets(wspans)
				if !ok {
					t.Logf("spans %v: not proven by the windows", spans)
					continue
				}
				windowedN++
				got, err := plan(wpk, wspans)
				if err != nil || got != want {
					t.Errorf("spans %v: windows plan %v (%v)\nthe full scan %v", spans, got, err, want)
				}
			}
			if tc.mustWindow && windowedN < 12 {
				t.Errorf("only %d of 16 cuts planned from the windows", windowedN)
			}
			t.Logf("%d of 16 cuts planned from the windows", windowedN)
		})
	}
}

// randomCuts draws 1 to 3 sorted spans' cut points within dur (an even count); one in three on
// a 40 ms frame time, the others anywhere.
func randomCuts(rng *rand.Rand, dur time.Duration) []time.Duration {
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
	return cuts
}

// cutSpans pairs cut points into spans checked against dur (checkSpans); false when there is
// none or checkSpans refuses them.
func cutSpans(cuts []time.Duration, dur time.Duration) ([]Span, bool) {
	var spans []Span
	for i := 0; i+1 < len(cuts); i += 2 {
		spans = append(spans, Span{cuts[i], cuts[i+1]})
	}
	if len(spans) == 0 {
		return nil, false
	}
	spans, err := checkSpans(spans, dur)
	return spans, err == nil
}

// scannedClip makes a clip of opt, probes it and scans all its packets: the answers the
// windows must match.
func scannedClip(t *testing.T, opt testenv.ClipOptions) (string, Probe, packets) {
	t.Helper()
	src := testenv.Clip(t, opt)
	p, err := probeStreams(ctxT(t), src)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := scanPackets(ctxT(t), src, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	return src, p, pk
}
