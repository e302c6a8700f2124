package media

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// pk25 is a 25 fps, 12 s packet list with keyframes every 50 frames.
func pk25() packets {
	var pk packets
	for i := 0; i < 300; i++ {
		t := time.Duration(i) * 40 * time.Millisecond
		pk.pts = append(pk.pts, t)
		if i%50 == 0 {
			pk.keys = append(pk.keys, t)
			pk.keyDTS = append(pk.keyDTS, t-80*time.Millisecond) // B-pyramid: decoded 2 frames early
		}
	}
	return pk
}

func TestPlanPieces(t *testing.T) {
	pk := pk25()
	d := 80 * time.Millisecond // the keyframes' pts - dts
	tests := []struct {
		name string
		keep Span
		fast bool
		want []piece
	}{
		{"head middle tail", Span{sec(1.3), sec(5.7)}, false, []piece{
			{Start: sec(1.32), Frames: 17, Dur: sec(0.68), Delay: d},
			{Start: sec(2), Frames: 50, Copy: true, Dur: sec(2), Out: sec(3.92)},
			{Start: sec(4), Frames: 43, Key: true, Dur: sec(1.72), Delay: d}}},
		{"starts on a keyframe", Span{sec(2), sec(4.5)}, false, []piece{
			{Start: sec(2), Frames: 50, Copy: true, Dur: sec(2), Out: sec(3.92)},
			{Start: sec(4), Frames: 13, Key: true, Dur: sec(0.52), Delay: d}}},
		{"ends on a keyframe", Span{sec(1), sec(6)}, false, []piece{
			{Start: sec(1), Frames: 25, Dur: sec(1), Delay: d},
			{Start: sec(2), Frames: 100, Copy: true, Dur: sec(4), Out: sec(5.92)}}},
		{"inside one GOP", Span{sec(2.1), sec(3.9)}, false, []piece{{Start: sec(2.12), Frames: 45, Dur: sec(1.8), Delay: d}}},
		{"one keyframe inside", Span{sec(1.5), sec(2.5)}, false, []piece{
			{Start: sec(1.52), Frames: 12, Dur: sec(0.48), Delay: d},
			{Start: sec(2), Frames: 13, Key: true, Dur: sec(0.52), Delay: d}}},
		{"to the end", Span{sec(9), sec(12)}, false, []piece{
			{Start: sec(9), Frames: 25, Dur: sec(1), Delay: d},
			{Start: sec(10), Frames: 50, Copy: true, Dur: sec(2)}}},
		{"fast (snapped)", Span{sec(2), sec(4)}, true, []piece{{Start: sec(2), Frames: 50, Copy: true, Dur: sec(2), Out: sec(3.92)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frs, err := frameRanges(pk, []Span{tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			got := planPieces(pk, frs[0], tc.fast)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestSnapOut(t *testing.T) {
	pk := pk25()
	frs, _ := frameRanges(pk, []Span{{sec(1.3), sec(2.5)}, {sec(3), sec(5)}, {sec(9.5), sec(12)}})
	got := actualSpans(pk, snapOut(pk, frs))
	want := []Span{{0, sec(6)}, {sec(8), sec(12)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMaxKeyGap(t *testing.T) {
	pk := pk25()
	if g := pk.maxKeyGap(); g != 2*time.Second {
		t.Errorf("gap %s, want 2s", g)
	}
	pk.keys = pk.keys[:2] // keyframes at 0 and 2 s, then none until 11.96 s
	if g := pk.maxKeyGap(); g != sec(9.96) {
		t.Errorf("gap %s, want 9.96s", g)
	}
}

func TestCheckSpans(t *testing.T) {
	got, err := checkSpans([]Span{{0, sec(5)}, {sec(6), sec(10.05)}}, sec(10))
	if err != nil || got[1].End != sec(10) {
		t.Errorf("got %v, %v; want the end clamped to 10 s", got, err)
	}
	_, err = checkSpans([]Span{{0, sec(5)}, {sec(6), sec(11)}}, sec(10))
	if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), "keep range 2 [00:00:06.000, 00:00:11.000)") {
		t.Errorf("err = %v", err)
	}
}

func TestParsePackets(t *testing.T) {
	// ffmpeg 5.1 csv with trailing commas, an open GOP (pts after the
	// keyframe in decode order going back), a start offset of 1 s.
	in := "15360,14336,K_,\n16384,14848,__,\n\n14848,15360,__\nN/A,N/A,__\n"
	pk := parsePackets([]byte(in), 1, 15360, time.Second)
	want := []time.Duration{-time.Second / 30, 0, time.Second / 15}
	if len(pk.pts) != 3 || !pk.openGOP || len(pk.keys) != 1 || pk.keys[0] != 0 {
		t.Fatalf("got %+v", pk)
	}
	for i := range want {
		if absDiff(pk.pts[i], want[i]) > time.Microsecond {
			t.Errorf("pts[%d] = %s, want %s", i, pk.pts[i], want[i])
		}
	}
}

func TestProgressParser(t *testing.T) {
	in := "frame=10\nout_time_us=1500000\nspeed=2.5x\nprogress=continue\nout_time_us=N/A\nspeed=N/A\nprogress=end\n"
	var ticks []tick
	if err := readProgress(strings.NewReader(in), func(tk tick) { ticks = append(ticks, tk) }); err != nil {
		t.Fatal(err)
	}
	want := []tick{{OutTime: 1500 * time.Millisecond, Speed: 2.5}, {OutTime: 1500 * time.Millisecond, Speed: 2.5, End: true}}
	if !reflect.DeepEqual(ticks, want) {
		t.Errorf("got %+v, want %+v", ticks, want)
	}
}

func TestTracker(t *testing.T) {
	var got []Progress
	tr := newTracker(func(p Progress) { got = append(got, p) })
	tr.plan(stage{"a", 1}, stage{"b", 3})
	tr.begin(10 * time.Second)
	tr.tick(tick{OutTime: 5 * time.Second, Speed: 2})
	tr.end()
	tr.begin(10 * time.Second)
	tr.tick(tick{OutTime: 5 * time.Second})
	tr.tick(tick{OutTime: time.Second}) // going back is ignored
	tr.end()
	tr.finish()
	fr := []float64{}
	for _, p := range got {
		fr = append(fr, p.Fraction)
	}
	want := []float64{0, 0.125, 0.25, 0.25, 0.625, 0.625, 1, 1}
	if !reflect.DeepEqual(fr, want) {
		t.Errorf("fractions %v, want %v", fr, want)
	}
	if got[1].Stage != "a" || got[1].Speed != 2 || got[4].Stage != "b" {
		t.Errorf("progress %+v", got)
	}
}

func TestHints(t *testing.T) {
	e := &Error{Tool: "ffprobe", Err: errors.New("exit status 1"), Stderr: "x\nfile:/a: Invalid data found when processing input\n"}
	e.Hint, e.notMedia = hintFor(e.Stderr)
	if !errors.Is(e, ErrNotMedia) || !strings.Contains(e.Error(), "not a readable audio or video file") {
		t.Errorf("err = %v", e)
	}
	for _, tc := range []struct{ stderr, want string }{
		{"[lrc @ 0x55caa4f4d2c0] Format not on whitelist 'mov,mp4'", "not a readable audio or video file (ffmpeg reads it as lrc)"},
		{"[hls @ 0x1f] Format not on whitelist 'mov,mp4'", "playlist or refers to other files"},
		{"[concat @ 0x2a] Format not on whitelist 'mov'", "playlist or refers to other files"},
	} {
		hint, notMedia := hintFor(tc.stderr)
		if !notMedia || !strings.Contains(hint, tc.want) {
			t.Errorf("hintFor(%q) = %q, %v; want %q", tc.stderr, hint, notMedia, tc.want)
		}
	}
}

func TestLadder(t *testing.T) {
	tests := []struct {
		want []int
		srcH int
		out  []int
	}{
		{nil, 1080, []int{1080, 720, 360}},
		{nil, 900, []int{900, 720, 360}},
		{nil, 240, []int{240}},
		{[]int{480, 241, 0}, 360, []int{360, 240}},
	}
	for _, tc := range tests {
		if got := ladder(tc.want, tc.srcH); !reflect.DeepEqual(got, tc.out) {
			t.Errorf("ladder(%v, %d) = %v, want %v", tc.want, tc.srcH, got, tc.out)
		}
	}
}

func TestParseMediaPlaylist(t *testing.T) {
	pl, err := ParseMediaPlaylist([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.000000,\nseg_0000.m4s\n#EXTINF:0.28,\nseg_0001.m4s\n#EXT-X-ENDLIST\n"))
	if err != nil || pl.Init != "init.mp4" || len(pl.Segments) != 2 || !pl.Ended || pl.Segments[1].Duration != 280*time.Millisecond {
		t.Errorf("got %+v, %v", pl, err)
	}
	if _, err := ParseMediaPlaylist([]byte("#EXTM3U\nseg.m4s\n")); err == nil {
		t.Error("a URI without EXTINF was accepted")
	}
}

// pkPyramid is a 25 fps packet list with keyframes every 49 frames and x264's B-pyramid in
// mini-GOPs of 4 (decoded I0 P4 B2 b1 b3 P8 …), or without B-frames.
func pkPyramid(bframes bool) packets {
	const f = 40 * time.Millisecond
	var pts []time.Duration // in decode order
	for g := 0; g < 6; g++ {
		base := g * 49
		pts = append(pts, time.Duration(base)*f)
		for a := 4; a <= 48; a += 4 {
			order := []int{a - 3, a - 2, a - 1, a}
			if bframes {
				order = []int{a, a - 2, a - 3, a - 1}
			}
			for _, i := range order {
				pts = append(pts, time.Duration(base+i)*f)
			}
		}
	}
	var pk packets
	delay := time.Duration(0)
	if bframes {
		delay = 2 * f
	}
	for j, p := range pts {
		pk.pts = append(pk.pts, p)
		pk.dts = append(pk.dts, time.Duration(j)*f-delay)
	}
	pk.pts, pk.dts = byPTS(pk.pts, pk.dts)
	for i, p := range pk.pts {
		if i%49 == 0 {
			pk.keys = append(pk.keys, p)
			pk.keyDTS = append(pk.keyDTS, pk.dts[i])
		}
	}
	return pk
}

func TestTailOut(t *testing.T) {
	const f = 40 * time.Millisecond
	for _, tc := range []struct {
		bframes bool
		k, n    int
		ok      bool
	}{
		{true, 49, 13, true}, // I0 P4 B2 b1 b3 … P12 B10 b9 b11: frames 0-12 are decoded first
		{true, 49, 12, false},
		{true, 49, 14, false},
		{true, 98, 5, true},
		{true, 98, 44, false},
		{false, 49, 13, true},
		{false, 98, 44, true},
	} {
		pk := pkPyramid(tc.bframes)
		out, ok := pk.tailOut(tc.k, tc.k+tc.n)
		if ok != tc.ok {
			t.Errorf("B-frames %v, %d frames from %d: copyable %v, want %v", tc.bframes, tc.n, tc.k, ok, tc.ok)
			continue
		}
		// The next packet in decode order: n packets after the keyframe's.
		if want := pk.dts[tc.k] + time.Duration(tc.n)*f; ok && out != want {
			t.Errorf("B-frames %v, %d frames from %d: out %s, want %s", tc.bframes, tc.n, tc.k, out, want)
		}
	}
	// planPieces copies such a tail with the GOPs before it.
	pk := pkPyramid(true)
	frs, err := frameRanges(pk, []Span{{30 * f, 111 * f}}) // head 30-48, GOP 49-97, tail 98-110
	if err != nil {
		t.Fatal(err)
	}
	got := planPieces(pk, frs[0], false)
	want := []piece{
		{Start: 30 * f, Frames: 19, Dur: 19 * f, Delay: 2 * f},
		{Start: 49 * f, Frames: 62, Copy: true, Dur: 62 * f, Out: pk.dts[98] + 13*f},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
