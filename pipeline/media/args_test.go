package media

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func argLines(args []string) []byte { return []byte(strings.Join(args, "\n") + "\n") }

func TestArgsGolden(t *testing.T) {
	const src, out = "/in/source file.mp4", "/out/cut.mp4"
	spans := []Span{{sec(1.32), sec(5.72)}, {sec(7.12), sec(11)}}
	frame := 40 * time.Millisecond
	st := streams{V: "1", A: "2"} // e.g. stream 0 is cover art
	enc := encParams{Profile: "high", PixFmt: "yuv420p", CRF: 16, Reorder: 2, TrackID: 1, Timescale: 12800}
	// A head, copied GOPs, a tail (the first kept range of TestCutModes' accurate case).
	pieces := []piece{{Start: sec(1.32), Frames: 17, Dur: sec(0.68), Delay: sec(0.08)},
		{Start: sec(2), Frames: 50, Copy: true, Dur: sec(2), Out: sec(3.92)},
		{Start: sec(4), Frames: 43, Key: true, Dur: sec(1.72), Delay: sec(0.08)}}
	sb := storyboardFor(sec(8.28), 320, 240)
	sbKeys := sb
	sbKeys.KeysOnly = true
	tests := map[string][]string{
		"probe":             probeArgs(src),
		"packets":           packetArgs(src, 0, time.Minute),
		"packets_windows":   windowArgs(src, 1, cutWindows([]Span{{sec(1.32), sec(5.72)}, {sec(7.12), sec(11)}}, sec(12)), 0),
		"probe_windows":     probeWindowArgs(src, cutWindows([]Span{{sec(1.32), sec(5.72)}, {sec(30), sec(60)}}, 1<<62)),
		"piece_encode":      pieceArgs(src, st, piece{Start: sec(1.32), Frames: 17, Delay: sec(0.08)}, frame, enc, "/work/p0000.mp4"),
		"piece_encode_tail": pieceArgs(src, st, piece{Start: sec(4), Frames: 43, Key: true, Delay: sec(0.08)}, frame, enc, "/work/p0002.mp4"),
		"piece_copy":        pieceArgs(src, st, piece{Start: sec(2), Frames: 50, Copy: true}, frame, enc, "/work/p0001.ts"),
		"join":              joinArgs("/work/list.ffconcat", "/work/audio.m4a", out),
		"join_noaudio":      joinArgs("/work/list.ffconcat", "", out),
		"audio_encode":      audioEncodeArgs(src, st, spans, "/work/audio.m4a"),
		"fast_audio":        audioCopyArgs(src, st, []Span{{sec(2), sec(6)}, {sec(8), sec(12)}}, []string{"/work/a0000.aac", "/work/a0001.aac"}),
		"fast_join":         fastJoinArgs("/work/list.ffconcat", "/work/audio.ffconcat", "0", out),
		"fast_join_noaud":   fastJoinArgs("/work/list.ffconcat", "", st.V, out),
		"reencode":          reencodeArgs(src, st, spans, spans, true, true, out),
		"reencode_one":      reencodeArgs(src, st, spans[:1], spans[:1], true, false, out),
		"mp4_copy":          mp4Args("/cut.mp4", false, "", true, "/r/video.mp4"),
		"mp4_loud_burn":     mp4Args("/cut.mp4", true, "/r/.render-1/burn.srt", true, "/r/video.mp4"),
		"audio":             audioArgs("/r/video.mp4", "/r/audio.m4a"),
		"hls_720":           hlsArgs("/r/video.mp4", 1280, 720, 30, true, "/r/hls/720p"),
		"poster":            posterArgs("/r/video.mp4", sec(0.828), 320, 240, "/r/poster.jpg"),
		"storyboard":        storyboardArgs("/r/video.mp4", sb, "/r/storyboard.jpg"),
		"storyboard_keys":   storyboardArgs("/r/video.mp4", sbKeys, "/r/storyboard.jpg"),
		"waveform":          waveformArgs(src),
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) { golden(t, "args_"+name, argLines(args)) })
	}
	t.Run("fast_lists", func(t *testing.T) {
		segs := []copySeg{{In: sec(2), Out: sec(5.92), Dur: sec(4)}, {In: sec(8), Dur: sec(4.04)}}
		golden(t, "fast_list", fastList(src, 1, segs))
		golden(t, "fast_audio_list", audioList([]string{"/work/a0000.aac", "/work/a0001.aac"}, segs))
	})
	t.Run("accurate_list", func(t *testing.T) {
		golden(t, "accurate_list", accurateList("/in/it's.mp4", sec(1), 1, pieces, []string{"/work/p0000.mp4", "", "/work/p0002.mp4"}))
		golden(t, "accurate_list_files", accurateList("/in/it's.mkv", 0, -1, pieces, []string{"/work/p0000.mp4", "/work/p0001.ts", "/work/p0002.mp4"}))
	})
}

func TestTextGolden(t *testing.T) {
	variants := []Variant{
		{URI: "720p/index.m3u8", Width: 1280, Height: 720, Bandwidth: 2500000, AverageBandwidth: 1800000, Codecs: "avc1.64001f,mp4a.40.2", FrameRate: 30},
		{URI: "360p/index.m3u8", Width: 640, Height: 360, Bandwidth: 700000, AverageBandwidth: 500000, Codecs: "avc1.64001e,mp4a.40.2", FrameRate: 30},
	}
	subs := []SubtitleRendition{
		{Lang: "fr", Name: "Français", Default: true, URI: "subs/fr/playlist.m3u8"},
		{Lang: "en", Name: `English "auto"`, URI: "subs/en/playlist.m3u8"},
	}
	golden(t, "master", MasterPlaylist(variants, nil))
	golden(t, "master_subs", MasterPlaylist(variants, subs))
	golden(t, "storyboard_vtt", storyboardVTT(storyboardFor(sec(25.5), 1280, 720), sec(25.5), "storyboard.jpg"))
	ch, err := ChaptersVTT([]Chapter{{0, "Intro"}, {sec(65.5), "Partage\npar --> lien"}}, sec(120))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "chapters_vtt", ch)
}
