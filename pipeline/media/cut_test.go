package media

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// expectFrames lists the source frame indexes (25 fps) kept by actual spans.
func expectFrames(actual []Span, fps int) []int {
	var idx []int
	for _, s := range actual {
		i0 := int((s.Start*time.Duration(fps) + time.Second/2) / time.Second)
		i1 := int((s.End*time.Duration(fps) + time.Second/2) / time.Second)
		for i := i0; i < i1; i++ {
			idx = append(idx, i)
		}
	}
	return idx
}

func TestCutModes(t *testing.T) {
	src := testenv.Clip(t, clip12)
	srcGray := grayFrames(t, src)
	srcMD5 := frameMD5s(t, src)
	keep := []Span{{sec(1.3), sec(5.7)}, {sec(7.1), sec(11.0)}}
	tests := []struct {
		name       string
		mode       CutMode
		keep       []Span
		wantActual []Span
		wantFrames int
		copied     [][2]int // [out index, source index] ranges of bit-exact frames: start pairs, length 1 each checked
	}{
		{
			name: "accurate", mode: CutAccurate, keep: keep,
			wantActual: []Span{{sec(1.32), sec(5.72)}, {sec(7.12), sec(11.0)}},
			wantFrames: 110 + 97,
			// range 1: head 33..49 (17 frames), copied 50..99 -> out 17..66;
			// range 2: head 178..199 (22 frames) at out 110, copied 200..249 -> out 132..181.
			copied: [][2]int{{17, 50}, {66, 99}, {132, 200}, {181, 249}},
		},
		{
			name: "accurate to the end", mode: CutAccurate, keep: []Span{{sec(0), sec(0.5)}, {sec(9.01), sec(12)}},
			wantActual: []Span{{0, sec(0.52)}, {sec(9.04), sec(12)}},
			wantFrames: 13 + 74,
			// range 2: head 226..249 (24 frames) at out 13, copied 250..299 -> out 37..86.
			copied: [][2]int{{37, 250}, {86, 299}},
		},
		{
			name: "reencode", mode: CutReencode, keep: keep,
			wantActual: []Span{{sec(1.32), sec(5.72)}, {sec(7.12), sec(11.0)}},
			wantFrames: 207,
		},
		{
			name: "fast", mode: CutFast, keep: []Span{{sec(2.5), sec(3.5)}, {sec(8.3), sec(9.1)}},
			wantActual: []Span{{sec(2), sec(4)}, {sec(8), sec(10)}},
			wantFrames: 100,
			copied:     [][2]int{{0, 50}, {49, 99}, {50, 200}, {99, 249}},
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.name), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "cut.mp4")
			var last Progress
			var fractions []float64
			start := time.Now()
			res, err := Cut(ctxT(t), src, tc.keep, tc.mode, out, func(p Progress) {
				last = p
				fractions = append(fractions, p.Fraction)
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s cut in %s (fallback %q)", tc.mode, time.Since(start).Round(time.Millisecond), res.Fallback)
			if res.Mode != tc.mode {
				t.Errorf("mode %s, want %s (fallback %q)", res.Mode, tc.mode, res.Fallback)
			}
			if len(res.Actual) != len(tc.wantActual) {
				t.Fatalf("actual %v, want %v", res.Actual, tc.wantActual)
			}
			var want time.Duration
			for i, s := range res.Actual {
				w := tc.wantActual[i]
				if absDiff(s.Start, w.Start) > time.Millisecond || absDiff(s.End, w.End) > time.Millisecond {
					t.Errorf("actual[%d] = %v, want %v", i, s, w)
				}
				want += w.End - w.Start
			}
			if absDiff(res.Duration, want) > 30*time.Millisecond {
				t.Errorf("duration %s, want %s", res.Duration, want)
			}
			si := countFrames(t, out)
			// The reported duration is the output's (one frame of slack for
			// reencode's rounded trims).
			if absDiff(res.Duration, si.vdur) > 40*time.Millisecond || absDiff(res.Duration, si.adur) > 30*time.Millisecond {
				t.Errorf("reported duration %s, output video %s, audio %s", res.Duration, si.vdur, si.adur)
			}
			if si.frames != tc.wantFrames {
				t.Errorf("%d frames, want %d", si.frames, tc.wantFrames)
			}
			if !si.hasAudio || absDiff(si.adur, si.vdur) > 30*time.Millisecond {
				t.Errorf("audio %s (present %v) vs video %s", si.adur, si.hasAudio, si.vdur)
			}
			decodeClean(t, out)

			// Every output frame is the expected source frame (nearest of
			// its neighbours), in particular the first frame after each join.
			exp := expectFrames(res.Actual, 25)
			got := grayFrames(t, out)
			if len(got) != len(exp) {
				t.Fatalf("decoded %d frames, expected %d", len(got), len(exp))
			}
			for j, e := range exp {
				if n := nearest(srcGray, got[j], e-2, e+3); n != e {
					t.Errorf("output frame %d looks like source frame %d, want %d", j, n, e)
				}
			}
			// Copied frames are bit-identical to the source.
			outMD5 := frameMD5s(t, out)
			for _, c := range tc.copied {
				if outMD5[c[0]] != srcMD5[c[1]] {
					t.Errorf("output frame %d is not a copy of source frame %d", c[0], c[1])
				}
			}
			if last.Fraction != 1 {
				t.Errorf("last progress %+v, want fraction 1", last)
			}
			for i := 1; i < len(fractions); i++ {
				if fractions[i] < fractions[i-1] {
					t.Errorf("progress went back: %v", fractions)
					break
				}
			}
		})
	}
}

func TestCutFallback(t *testing.T) {
	tests := []struct {
		name string
		opt  testenv.ClipOptions
		mode CutMode
		why  string
	}{
		{"open GOP accurate", testenv.ClipOptions{Duration: 6 * time.Second, GOP: 50, OpenGOP: true, Audio: true}, CutAccurate, "open GOP"},
		{"open GOP fast", testenv.ClipOptions{Duration: 6 * time.Second, GOP: 50, OpenGOP: true, Audio: true}, CutFast, "open GOP"},
		{"VFR fast copies", testenv.ClipOptions{Duration: 6 * time.Second, GOP: 50, VFR: true}, CutFast, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := testenv.Clip(t, tc.opt)
			p, err := ProbeFile(ctxT(t), src)
			if err != nil {
				t.Fatal(err)
			}
			if tc.opt.OpenGOP && !p.OpenGOP || tc.opt.VFR && !p.VFR {
				t.Errorf("probe %+v misses open GOP/VFR", p)
			}
			out := filepath.Join(t.TempDir(), "cut.mp4")
			res, err := Cut(ctxT(t), src, []Span{{sec(1.3), sec(4.7)}}, tc.mode, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.why == "" {
				if res.Mode != tc.mode || res.Fallback != "" {
					t.Errorf("mode %s fallback %q, want %s", res.Mode, res.Fallback, tc.mode)
				}
			} else if res.Mode != CutReencode || !strings.Contains(res.Fallback, tc.why) {
				t.Errorf("mode %s fallback %q, want reencode because of %q", res.Mode, res.Fallback, tc.why)
			}
			if absDiff(res.Duration, res.Actual[0].End-res.Actual[0].Start) > 50*time.Millisecond {
				t.Errorf("duration %s for %v", res.Duration, res.Actual)
			}
			decodeClean(t, out)
		})
	}
}

func TestCutRejects(t *testing.T) {
	src := testenv.Clip(t, clip12)
	dir := t.TempDir()
	tests := []struct {
		name string
		keep []Span
		mode CutMode
		is   error
		msg  string
	}{
		{"past the end", []Span{{sec(1), sec(2)}, {sec(5), sec(20)}}, CutAccurate, ErrOutOfRange, "keep range 2"},
		{"starts after the end", []Span{{sec(13), sec(14)}}, CutFast, ErrOutOfRange, "starts after the end"},
		{"overlap", []Span{{sec(1), sec(5)}, {sec(4), sec(6)}}, CutAccurate, nil, "overlaps"},
		{"empty", []Span{{sec(3), sec(3)}}, CutAccurate, nil, "empty"},
		{"nothing", nil, CutAccurate, nil, "nothing to keep"},
		{"bad mode", []Span{{sec(1), sec(2)}}, "slow", nil, "unknown mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cut(ctxT(t), src, tc.keep, tc.mode, filepath.Join(dir, "out.mp4"), nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want %q (%v)", err, tc.msg, tc.is)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out.mp4")); !os.IsNotExist(err) {
		t.Errorf("a failed cut left an output: %v", err)
	}
}

func TestCutCancel(t *testing.T) {
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 20 * time.Second, Width: 640, Height: 360, Audio: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	out := filepath.Join(t.TempDir(), "cut.mp4")
	_, err := Cut(ctx, src, []Span{{0, sec(20)}}, CutReencode, out, func(p Progress) {
		if p.Stage == "encode" && p.Fraction > 0.02 && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if cancelled.IsZero() {
		t.Fatal("never saw encode progress")
	}
	if d := time.Since(cancelled); d > 3*time.Second {
		t.Errorf("ffmpeg took %s to stop after cancel", d)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("cancelled cut left an output: %v", err)
	}
}

func TestCutAudioOnly(t *testing.T) {
	testenv.FFmpeg(t)
	src := filepath.Join(t.TempDir(), "talk.m4a")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "6", "-c:a", "aac", src).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	p, err := ProbeFile(ctxT(t), src)
	if err != nil || p.HasVideo || !p.HasAudio {
		t.Fatalf("probe %+v, %v", p, err)
	}
	out := filepath.Join(t.TempDir(), "cut.mp4")
	res, err := Cut(ctxT(t), src, []Span{{sec(1), sec(2.5)}, {sec(4), sec(5)}}, CutAccurate, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != CutReencode || absDiff(res.Duration, sec(2.5)) > 50*time.Millisecond {
		t.Errorf("result %+v, want a 2.5 s audio re-encode", res)
	}
}

// TestCutStreamOrder: the streams described by the probe are the ones cut,
// whatever their order in the file (here audio first, in Matroska).
func TestCutStreamOrder(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "audio-first.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", testenv.Clip(t, clip12), "-map", "0:a", "-map", "0:v", "-c", "copy", src).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	p, err := ProbeFile(ctxT(t), src)
	if err != nil || p.vIdx != 1 || p.aIdx != 0 {
		t.Fatalf("probe %+v, %v", p, err)
	}
	out := filepath.Join(dir, "cut.mp4")
	if _, err := Cut(ctxT(t), src, []Span{{sec(1.3), sec(5.7)}}, CutAccurate, out, nil); err != nil {
		t.Fatal(err)
	}
	if si := countFrames(t, out); si.frames != 110 || !si.hasAudio || absDiff(si.adur, si.vdur) > 30*time.Millisecond {
		t.Errorf("cut %+v", si)
	}
	decodeClean(t, out)
}

func TestCutVideoOnly(t *testing.T) {
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 6 * time.Second})
	out := filepath.Join(t.TempDir(), "cut.mp4")
	res, err := Cut(ctxT(t), src, []Span{{sec(0.5), sec(2.5)}, {sec(3), sec(5.5)}}, CutAccurate, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if si := countFrames(t, out); res.Mode != CutAccurate || si.frames != 50+63 || si.hasAudio {
		t.Errorf("result %+v, output %+v", res, si)
	}
	decodeClean(t, out)
}

// framePTS lists the presentation times of path's decoded video frames, in order.
func framePTS(t *testing.T, path string) []time.Duration {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var ts []time.Duration
	for _, l := range strings.Fields(string(out)) {
		if f, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64); err == nil {
			ts = append(ts, time.Duration(math.Round(f*1e6))*time.Microsecond)
		}
	}
	return ts
}

// TestCutAccurateVFR: a variable frame rate source (frames dropped, as screen recorders do) is
// smart-cut, not re-encoded: the output holds exactly the kept source frames, each shown at its
// source time shifted by the cut, copied GOPs bit-identical, the joins not drifting.
func TestCutAccurateVFR(t *testing.T) {
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 12 * time.Second, GOP: 50, VFR: true, Audio: true})
	srcPTS := framePTS(t, src)
	srcGray := grayFrames(t, src)
	srcMD5 := frameMD5s(t, src)
	out := filepath.Join(t.TempDir(), "cut.mp4")
	keep := []Span{{sec(1.3), sec(5.7)}, {sec(7.1), sec(11.0)}}
	res, err := Cut(ctxT(t), src, keep, CutAccurate, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != CutAccurate || res.Fallback != "" {
		t.Fatalf("mode %s fallback %q, want accurate", res.Mode, res.Fallback)
	}
	// The source frames kept, and where each must be shown.
	var want []time.Duration
	var idx []int
	var at time.Duration
	for _, s := range keep {
		first := -1
		for i, p := range srcPTS {
			if p >= s.Start && p < s.End {
				if first < 0 {
					first = i
				}
				want = append(want, at+p-srcPTS[first])
				idx = append(idx, i)
			}
		}
		next := len(srcPTS)
		for i, p := range srcPTS {
			if p >= s.End {
				next = i
				break
			}
		}
		end := srcPTS[len(srcPTS)-1] + 40*time.Millisecond
		if next < len(srcPTS) {
			end = srcPTS[next]
		}
		at += end - srcPTS[first]
	}
	got := framePTS(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d frames, want the %d kept source frames", len(got), len(want))
	}
	for i := range want {
		if absDiff(got[i], want[i]) > time.Millisecond {
			t.Errorf("output frame %d (source frame %d) shown at %s, want %s", i, idx[i], got[i], want[i])
		}
	}
	if absDiff(res.Duration, at) > time.Millisecond {
		t.Errorf("reported duration %s, want %s", res.Duration, at)
	}
	decodeClean(t, out)
	gray := grayFrames(t, out)
	sums := frameMD5s(t, out)
	copied := 0
	for i, si := range idx {
		if n := nearest(srcGray, gray[i], si-2, si+3); n != si {
			t.Errorf("output frame %d looks like source frame %d, want %d", i, n, si)
		}
		if sums[i] == srcMD5[si] {
			copied++
		}
	}
	// Each range copies at least one whole GOP (50 frames).
	if copied < 100 {
		t.Errorf("%d frames are bit-identical copies of the source, want at least 100", copied)
	}
	if si := countFrames(t, out); !si.hasAudio || absDiff(si.adur, si.vdur) > 30*time.Millisecond {
		t.Errorf("audio %s (present %v) vs video %s", si.adur, si.hasAudio, si.vdur)
	}
}
