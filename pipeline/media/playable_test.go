package media

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

func TestPlayableArgsGolden(t *testing.T) {
	keys := []time.Duration{sec(4), sec(8.5), sec(12.3)}
	tests := map[string][]string{
		"hls_copy":         copyHLSArgs("/r/video.mp4", true, "/r/hls/source"),
		"hls_copy_noaudio": copyHLSArgs("/r/video.mp4", false, "/r/hls/source"),
		"rung_fallback":    rungArgs("/r/video.mp4", Rung{Width: 1280, Height: 720, Preset: fallbackPreset}, 30, true, nil, "/r/hls/720p"),
		"rung_aligned":     rungArgs("/r/video.mp4", Rung{Width: 640, Height: 360}, 30, true, keys, "/r/hls/360p"),
		"first_rung": firstRungArgs("/in/rec.webm", streams{V: "0", A: "1"}, []Span{{sec(1.19), sec(4.59)}, {sec(5.39), sec(6.99)}},
			[]Span{{sec(1.2), sec(4.6)}, {sec(5.4), sec(7)}}, Rung{Width: 1280, Height: 720, Preset: fallbackPreset}, 30, true, true, "/r/hls/720p"),
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) { golden(t, "args_"+name, argLines(args)) })
	}
	// The old ladder's arguments are the rung's without keys.
	if got, want := rungArgs("/r/video.mp4", Rung{Width: 1280, Height: 720}, 30, true, nil, "/r/hls/720p"), hlsArgs("/r/video.mp4", 1280, 720, 30, true, "/r/hls/720p"); !slices.Equal(got, want) {
		t.Errorf("rungArgs without keys differs from hlsArgs:\n%q\n%q", got, want)
	}
}

// The master as the ladder grows: the source rendition alone, then each rung added as it is
// done (in whatever order), tallest first.
func TestLadderMasterGolden(t *testing.T) {
	src := Variant{URI: "source/index.m3u8", Width: 1920, Height: 1080, Bandwidth: 4100000, AverageBandwidth: 3000000, Codecs: "avc1.640028,mp4a.40.2", FrameRate: 30}
	r360 := Variant{URI: "360p/index.m3u8", Width: 640, Height: 360, Bandwidth: 700000, AverageBandwidth: 500000, Codecs: "avc1.64001e,mp4a.40.2", FrameRate: 30}
	r720 := Variant{URI: "720p/index.m3u8", Width: 1280, Height: 720, Bandwidth: 2500000, AverageBandwidth: 1800000, Codecs: "avc1.64001f,mp4a.40.2", FrameRate: 30}
	subs := []SubtitleRendition{{Lang: "fr", Name: "Français", URI: "subs/fr/index.m3u8"}}
	vs := LadderVariants(nil, src)
	golden(t, "ladder_1", MasterPlaylist(vs, subs))
	vs2 := LadderVariants(vs, r360)
	golden(t, "ladder_2", MasterPlaylist(vs2, subs))
	vs3 := LadderVariants(vs2, r720)
	golden(t, "ladder_3", MasterPlaylist(vs3, subs))
	if len(vs) != 1 || len(vs2) != 2 {
		t.Errorf("LadderVariants changed its argument: %d, %d", len(vs), len(vs2))
	}
	// A rung encoded again replaces its entry.
	r720.Bandwidth = 2600000
	if vs4 := LadderVariants(vs3, r720); len(vs4) != 3 || vs4[1].Bandwidth != 2600000 {
		t.Errorf("re-added rung: %+v", vs4)
	}
}

func TestLadderPlan(t *testing.T) {
	first, rest := ladderPlan(nil, 1920, 1080, true)
	if first != nil || !slices.Equal(rest, []Rung{{1280, 720, ""}, {640, 360, ""}}) {
		t.Errorf("copied 1080p: %v %v", first, rest)
	}
	first, rest = ladderPlan(nil, 1920, 1080, false)
	if first == nil || *first != (Rung{1280, 720, fallbackPreset}) || !slices.Equal(rest, []Rung{{1920, 1080, ""}, {640, 360, ""}}) {
		t.Errorf("fallback 1080p: %v %v", first, rest)
	}
	first, rest = ladderPlan(nil, 320, 240, false)
	if first == nil || *first != (Rung{320, 240, fallbackPreset}) || len(rest) != 0 {
		t.Errorf("fallback 240p: %v %v", first, rest)
	}
}

func TestLadderETA(t *testing.T) {
	if _, ok := LadderETA(time.Minute, 0, 0, Rung{Width: 1280, Height: 720}, nil); ok {
		t.Error("an estimate without a measured speed")
	}
	// 720p at 2x, half done: 15 s left of it; 360p costs (0.2+0.25)/(0.2+1) of 720p: 60 s at
	// 2*1.2/0.45 = 5.33x, 11.25 s.
	got, ok := LadderETA(time.Minute, 30*time.Second, 2, Rung{Width: 1280, Height: 720}, []Rung{{Width: 640, Height: 360}})
	if !ok || got != 26*time.Second {
		t.Errorf("ETA %s, want 26 s", got)
	}
}

func TestCopyBlocker(t *testing.T) {
	ok := Probe{VideoCodec: "h264", PixFmt: "yuv420p", Profile: "High", Level: 40, HasAudio: true, AudioCodec: "aac"}
	if b := copyBlocker(ok, 2*time.Second); b != "" {
		t.Errorf("H.264/AAC refused: %s", b)
	}
	bad := map[string]func(p *Probe) time.Duration{
		"vp9":      func(p *Probe) time.Duration { p.VideoCodec = "vp9"; return time.Second },
		"10-bit":   func(p *Probe) time.Duration { p.PixFmt = "yuv420p10le"; return time.Second },
		"hi444":    func(p *Probe) time.Duration { p.Profile = "High 4:4:4 Predictive"; return time.Second },
		"rotated":  func(p *Probe) time.Duration { p.Rotation = 90; return time.Second },
		"opus":     func(p *Probe) time.Duration { p.AudioCodec = "opus"; return time.Second },
		"long GOP": func(p *Probe) time.Duration { return 20 * time.Second },
	}
	for name, f := range bad {
		p := ok
		if gap := f(&p); copyBlocker(p, gap) == "" {
			t.Errorf("%s: accepted for copy", name)
		}
	}
}

// A replay is playable from its stream-copied source rendition, and the rungs encoded
// afterwards cut their segments exactly where it does, so players switch on boundaries.
func TestRenderPlayableThenRungs(t *testing.T) {
	// Keyframes every 3 s: the copy's segments are 6, 3, 3, 6, … s long, not the rungs' own 4 s.
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 20 * time.Second, Width: 640, Height: 360, FPS: 25, GOP: 75, Audio: true})
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mp4")
	if _, err := Cut(ctxT(t), src, []Span{{sec(1.3), sec(8.7)}, {sec(10.1), sec(19)}}, CutAccurate, cut, nil); err != nil {
		t.Fatal(err)
	}
	want := countFrames(t, cut)
	out := filepath.Join(dir, "out")
	pl, err := RenderPlayable(ctxT(t), cut, out, RenderOptions{Ladder: []int{360, 240, 120}, Chapters: []Chapter{{0, "Intro"}, {sec(5), "Suite"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !pl.Copied || pl.Fallback != "" {
		t.Fatalf("not copied: %s", pl.Fallback)
	}
	if len(pl.Variants) != 1 || pl.Variants[0].URI != "source/index.m3u8" || pl.Variants[0].Codecs != "avc1.64001e,mp4a.40.2" {
		t.Fatalf("variants %+v", pl.Variants)
	}
	if !slices.Equal(pl.Rungs, []Rung{{426, 240, ""}, {214, 120, ""}}) {
		t.Errorf("rungs %+v", pl.Rungs)
	}
	for _, f := range []string{"video.mp4", "poster.jpg", "chapters.vtt",
		"hls/master.m3u8", "hls/variants.json", "hls/source/index.m3u8", "hls/source/init.mp4"} {
		if !slices.Contains(pl.Files, f) {
			t.Errorf("missing %s in %v", f, pl.Files)
		}
	}
	// Nothing a learner needs to start watching waits for the whole-file work.
	for _, f := range []string{"audio.m4a", "storyboard.jpg", "storyboard.vtt"} {
		if slices.Contains(pl.Files, f) {
			t.Errorf("%s made before playable: %v", f, pl.Files)
		}
	}
	// The cut output is already what video.mp4 must be: the same file, not a remux.
	ci, err1 := os.Stat(cut)
	vi, err2 := os.Stat(filepath.Join(out, "video.mp4"))
	if err1 != nil || err2 != nil || !os.SameFile(ci, vi) {
		t.Errorf("video.mp4 is not the cut output itself (%v, %v)", err1, err2)
	}
	extras, err := RenderExtras(ctxT(t), out, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(extras, []string{"audio.m4a", "storyboard.jpg", "storyboard.vtt"}) {
		t.Errorf("extras %v", extras)
	}
	if got := countFrames(t, filepath.Join(out, "audio.m4a")); !got.hasAudio || got.frames != 0 {
		t.Errorf("audio.m4a: %+v", got)
	}
	// The master alone plays the whole replay, every frame of the cut.
	master := filepath.Join(out, "hls", "master.m3u8")
	decodeClean(t, master)
	if got := countFrames(t, master); got.frames != want.frames || !got.hasAudio {
		t.Errorf("master plays %+v, want %d frames with audio", got, want.frames)
	}
	srcSegs := segDurations(t, filepath.Join(out, "hls", "source", "index.m3u8"))
	if slices.Equal(srcSegs, uniform(len(srcSegs))) {
		t.Fatalf("the source rendition's segments are regular (%v): the test proves nothing", srcSegs)
	}

	vs := pl.Variants
	for _, r := range pl.Rungs {
		v, files, err := RenderRung(ctxT(t), out, pl, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(files, "hls/"+r.Name()+"/index.m3u8") || !slices.Contains(files, "hls/"+r.Name()+"/init.mp4") {
			t.Errorf("%s files %v", r.Name(), files)
		}
		got := segDurations(t, filepath.Join(out, "hls", r.Name(), "index.m3u8"))
		if !sameSegments(got, srcSegs) {
			t.Errorf("%s segments %v, source rendition %v", r.Name(), got, srcSegs)
		}
		vs = LadderVariants(vs, v)
		if err := WriteLadder(out, vs); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(VariantsFile)))
	final, err := ParseVariants(data)
	if err != nil || len(final) != 3 || final[0].URI != "source/index.m3u8" || final[2].Height != 120 {
		t.Errorf("final variants %+v %v", final, err)
	}
}

// A cut output whose keyframes are too far apart to segment gets one fast rung first.
func TestRenderPlayableFallback(t *testing.T) {
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 16 * time.Second, FPS: 25, GOP: 375, Audio: true})
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mp4")
	if _, err := Cut(ctxT(t), src, []Span{{0, sec(16)}}, CutFast, cut, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	pl, err := RenderPlayable(ctxT(t), cut, out, RenderOptions{Ladder: []int{240, 120}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Copied || pl.Fallback == "" || len(pl.Variants) != 1 || pl.Variants[0].URI != "240p/index.m3u8" {
		t.Fatalf("want the fast rung: %+v", pl)
	}
	if !slices.Equal(pl.Rungs, []Rung{{160, 120, ""}}) {
		t.Errorf("rungs %+v", pl.Rungs)
	}
	if got := countFrames(t, filepath.Join(out, "hls", "master.m3u8")); got.frames != 400 {
		t.Errorf("master plays %d frames, want 400", got.frames)
	}
	t.Logf("fallback: %s", pl.Fallback)
}

func segDurations(t *testing.T, path string) []time.Duration {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := ParseMediaPlaylist(data)
	if err != nil || !pl.Ended {
		t.Fatalf("%s: %v", path, err)
	}
	var out []time.Duration
	for _, s := range pl.Segments {
		out = append(out, s.Duration)
	}
	return out
}

func uniform(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = segmentSeconds * time.Second
	}
	return out
}

// sameSegments: the same cuts, within a millisecond (the audio may end the last one).
func sameSegments(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if i < len(a)-1 && absDiff(a[i], b[i]) > time.Millisecond {
			return false
		}
	}
	return true
}

// A source the cut re-encodes (VP9, as browsers record) is playable from one fast rung encoded
// straight from it: the frames the re-encoding cut keeps, at most 720 lines and never above the
// source; video.mp4 comes afterwards from the cut, and the rungs line up with the first one.
func TestRenderFastFirst(t *testing.T) {
	testenv.FFmpeg(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "rec.webm")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=12",
		"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k", "-g", "50", "-c:a", "libopus", src).CombinedOutput(); err != nil {
		t.Fatalf("make a VP9 clip: %v\n%s", err, out)
	}
	keep := []Span{{sec(1.3), sec(5.7)}, {sec(7.1), sec(11)}}
	fast, why, err := FastFirst(ctxT(t), src, CutAccurate)
	if err != nil || !fast || !strings.Contains(why, "vp9") {
		t.Fatalf("FastFirst: %v %q %v", fast, why, err)
	}
	out := filepath.Join(dir, "out")
	fc, err := PlanFirstCut(ctxT(t), src, keep, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := RenderFastFirst(ctxT(t), fc, out, RenderOptions{Ladder: []int{1080, 240}, Chapters: []Chapter{{0, "Intro"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Copied || !pl.NeedsVideo || len(pl.Variants) != 1 || pl.Variants[0].URI != "360p/index.m3u8" || pl.Variants[0].Width != 640 {
		t.Fatalf("first rendition %+v", pl)
	}
	if !slices.Equal(pl.Rungs, []Rung{{426, 240, ""}}) {
		t.Errorf("rungs %+v", pl.Rungs)
	}
	if slices.Contains(pl.Files, "video.mp4") || !slices.Contains(pl.Files, "poster.jpg") || !slices.Contains(pl.Files, "chapters.vtt") {
		t.Errorf("files %v", pl.Files)
	}
	master := filepath.Join(out, "hls", "master.m3u8")
	decodeClean(t, master)
	first := countFrames(t, master)

	// The full-quality cut keeps the same frames, and the cut points FastFirst announced.
	cut := filepath.Join(dir, "cut.mp4")
	res, err := Cut(ctxT(t), src, keep, CutAccurate, cut, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Actual, fc.Actual) {
		t.Errorf("the cut kept %v, the first rendition %v", res.Actual, fc.Actual)
	}
	if want := countFrames(t, cut); first.frames != want.frames || !first.hasAudio {
		t.Errorf("the first rendition plays %+v, the cut has %d frames", first, want.frames)
	}
	if _, err := RenderVideo(ctxT(t), cut, out, RenderOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	r := pl.Rungs[0]
	if _, _, err := RenderRung(ctxT(t), out, pl, r, nil); err != nil {
		t.Fatal(err)
	}
	if a, b := segDurations(t, filepath.Join(out, "hls", "360p", "index.m3u8")), segDurations(t, filepath.Join(out, "hls", r.Name(), "index.m3u8")); !sameSegments(a, b) {
		t.Errorf("%s segments %v, first rendition %v", r.Name(), b, a)
	}
	if _, err := RenderExtras(ctxT(t), out, pl, nil); err != nil {
		t.Fatal(err)
	}
}
