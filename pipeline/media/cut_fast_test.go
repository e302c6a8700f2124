package media

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

// audioPackets lists the start times of path's audio packets.
func audioPackets(t *testing.T, path string) []time.Duration {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var ts []time.Duration
	for _, l := range strings.Fields(string(out)) {
		if f, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64); err == nil {
			ts = append(ts, time.Duration(f*float64(time.Second)))
		}
	}
	return ts
}

// TestFastCutHonest: a fast cut copies both streams; what it reports is what
// the output holds, and the copied audio stays within one AAC frame of the
// video at every join.
func TestFastCutHonest(t *testing.T) {
	src := testenv.Clip(t, clip12) // 25 fps, keyframe every 2 s, AAC 48 kHz
	mkv := filepath.Join(t.TempDir(), "audio-first.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", src, "-map", "0:a", "-map", "0:v", "-c", "copy", mkv).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	mp4 := filepath.Join(t.TempDir(), "audio-first.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", src, "-map", "0:a", "-map", "0:v", "-c", "copy", mp4).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// A file that starts 5 s in: its keyframes, relative to its start,
	// are at 0.021 + 2k s (the audio starts first).
	late := filepath.Join(t.TempDir(), "late.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", src, "-c", "copy", "-output_ts_offset", "5", late).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	const aframe = 1024 * time.Second / 48000 // one AAC frame
	tests := []struct {
		name string
		src  string
		keep []Span
		want []Span
	}{
		{"three ranges, the last to the end", src, []Span{{sec(0.5), sec(1.5)}, {sec(4.1), sec(5.9)}, {sec(8.3), sec(12)}},
			[]Span{{0, sec(2)}, {sec(4), sec(6)}, {sec(8), sec(12)}}},
		{"ranges that snap together", src, []Span{{sec(2.5), sec(3.5)}, {sec(3.7), sec(5.1)}},
			[]Span{{sec(2), sec(6)}}},
		{"audio first, MP4", mp4, []Span{{sec(1.3), sec(3.7)}, {sec(7.1), sec(9.9)}},
			[]Span{{0, sec(4)}, {sec(6), sec(10)}}},
		{"starts 5 s in", late, []Span{{sec(1.3), sec(3.7)}, {sec(7.1), sec(9.9)}},
			[]Span{{sec(0.021), sec(4.021)}, {sec(6.021), sec(10.021)}}},
		// The remux starts the video 21 ms in (the AAC priming): so do its
		// keyframes, and the ranges, snapped, touch.
		{"audio first, Matroska", mkv, []Span{{sec(1.3), sec(5.7)}, {sec(7.1), sec(9.9)}},
			[]Span{{sec(0.021), sec(10.021)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "cut.mp4")
			res, err := Cut(ctxT(t), tc.src, tc.keep, CutFast, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Mode != CutFast {
				t.Fatalf("mode %s (fallback %q)", res.Mode, res.Fallback)
			}
			var total time.Duration
			for _, s := range res.Actual {
				total += s.End - s.Start
			}
			if len(res.Actual) != len(tc.want) {
				t.Fatalf("actual %v, want %v", res.Actual, tc.want)
			}
			for i, s := range res.Actual {
				if absDiff(s.Start, tc.want[i].Start) > time.Millisecond || absDiff(s.End, tc.want[i].End) > time.Millisecond {
					t.Errorf("actual[%d] = %v, want %v", i, s, tc.want[i])
				}
			}
			if res.Duration != total {
				t.Errorf("reported duration %s, actual spans %s", res.Duration, total)
			}
			si := countFrames(t, out)
			if want := int((total*25 + time.Second/2) / time.Second); si.frames != want {
				t.Errorf("%d frames, want %d", si.frames, want)
			}
			if absDiff(si.vdur, res.Duration) > time.Millisecond {
				t.Errorf("output video %s, reported %s", si.vdur, res.Duration)
			}
			if !si.hasAudio || absDiff(si.adur, si.vdur) > aframe {
				t.Errorf("output audio %s (present %v), video %s: more than one AAC frame apart", si.adur, si.hasAudio, si.vdur)
			}
			// The audio of each kept range starts within one frame of its
			// video; at a join the last frame of a range may run into the
			// next (by less than a frame), and the audio never leaves a
			// gap of a frame.
			ap := audioPackets(t, out)
			var at time.Duration
			for _, s := range res.Actual {
				i := 0
				for i < len(ap) && ap[i] < at-time.Millisecond {
					i++
				}
				if i == len(ap) || ap[i]-at > aframe {
					t.Errorf("no audio within one frame after the join at %s", at)
				}
				at += s.End - s.Start
			}
			for i := 1; i < len(ap); i++ {
				if d := ap[i] - ap[i-1]; d <= 0 || d > 2*aframe {
					t.Errorf("audio packets at %s and %s: step %s", ap[i-1], ap[i], d)
				}
			}
			decodeClean(t, out)
		})
	}
}

// TestFastCutEncodesOtherAudio: audio that is not AAC is encoded (the
// video still copied), and the output is probed for its duration.
func TestFastCutEncodesOtherAudio(t *testing.T) {
	src := testenv.Clip(t, clip12)
	mkv := filepath.Join(t.TempDir(), "mp3.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", src, "-c:v", "copy", "-c:a", "libmp3lame", mkv).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	out := filepath.Join(t.TempDir(), "cut.mp4")
	res, err := Cut(ctxT(t), mkv, []Span{{sec(2.5), sec(3.5)}, {sec(8.3), sec(9.1)}}, CutFast, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	si := countFrames(t, out)
	if res.Mode != CutFast || si.frames != 100 || !si.hasAudio || absDiff(res.Duration, si.vdur) > 30*time.Millisecond ||
		absDiff(si.adur, si.vdur) > 30*time.Millisecond {
		t.Errorf("result %+v, output %+v", res, si)
	}
	decodeClean(t, out)
}
