package subtitle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
	"github.com/asticode/go-astisub"
)

func TestWriteVTT(t *testing.T) {
	in := astisub.NewSubtitles()
	a := cue(time.Second, 2*time.Second, "a --> b & <c>")
	a.Lines = append(a.Lines, astisub.Line{}, astisub.Line{Items: []astisub.LineItem{{Text: "second\nline"}}})
	a.Region = &astisub.Region{ID: "r1"}
	in.Regions["r1"] = a.Region
	in.Items = append(in.Items, a)
	got, err := VTT(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\na -> b &amp; &lt;c>\nsecond line\n"
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	empty, err := VTT(astisub.NewSubtitles())
	if err != nil || string(empty) != "WEBVTT\n" {
		t.Errorf("empty track: %q, %v", empty, err)
	}
}

func TestSegmentedVTT(t *testing.T) {
	subs, err := Parse([]byte("1\n00:00:01,000 --> 00:00:02,000\n<i>one</i>\n\n2\n00:00:29,000 --> 00:00:31,000\nacross\n\n3\n00:00:65,000 --> 00:01:06,000\nlate\n"), "x.srt")
	if err == nil {
		t.Fatal("65 seconds accepted")
	}
	subs, err = Parse([]byte("1\n00:00:01,000 --> 00:00:02,000\n<i>one</i>\n\n2\n00:00:29,000 --> 00:00:31,000\nacross\n\n3\n00:01:05,000 --> 00:01:06,000\nlate\n"), "x.srt")
	if err != nil {
		t.Fatal(err)
	}
	vtt, err := VTT(subs)
	if err != nil {
		t.Fatal(err)
	}
	pl, segs, err := SegmentedVTT(vtt, 70*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantPL := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:30\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
		"#EXTINF:30.000,\n00000.vtt\n#EXTINF:30.000,\n00001.vtt\n#EXTINF:10.000,\n00002.vtt\n#EXT-X-ENDLIST\n"
	if string(pl) != wantPL {
		t.Errorf("playlist:\n%s\nwant:\n%s", pl, wantPL)
	}
	if len(segs) != 3 {
		t.Fatalf("%d segments", len(segs))
	}
	head := "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n"
	for name, want := range map[string][]string{
		"00000.vtt": {"<i>one</i>", "00:00:29.000 --> 00:00:31.000\nacross"},
		"00001.vtt": {"00:00:29.000 --> 00:00:31.000\nacross"},
		"00002.vtt": {"00:01:05.000 --> 00:01:06.000\nlate"},
	} {
		seg := string(segs[name])
		if !strings.HasPrefix(seg, head) {
			t.Errorf("%s: header %q", name, seg)
		}
		for _, w := range want {
			if !strings.Contains(seg, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, seg)
			}
		}
		// each segment reads back as WebVTT
		if _, err := astisub.ReadFromWebVTT(strings.NewReader(seg)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := Segment(subs, 0, SegmentOptions{}); err == nil {
		t.Error("zero duration accepted")
	}
	_, segs, _ = Segment(subs, 70*time.Second, SegmentOptions{Prefix: "subs/fr/", SegmentDuration: time.Minute, MPEGTS: 126000})
	if !strings.Contains(string(segs["subs/fr/00001.vtt"]), "MPEGTS:126000,") {
		t.Errorf("options ignored: %q", segs)
	}
}

// TestHLSWithFFmpeg checks the rendition with an independent reader: ffmpeg's HLS demuxer reads our
// subtitle playlist and segments and gets each cue back once, at the right time (ffmpeg 5.1 does
// not follow subtitle renditions from a master playlist, so the media playlist is read directly). It also checks the premise of
// MPEGTS:0: ffmpeg's fMP4 HLS output starts its timeline at 0.
func TestHLSWithFFmpeg(t *testing.T) {
	_, err := exec.LookPath("ffmpeg")
	testenv.Require(t, "ffmpeg", err)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	run("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=8",
		"-c:v", "libx264", "-g", "50", "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "2",
		"-hls_playlist_type", "vod", "video.m3u8")
	start := run("ffprobe", "-v", "error", "-show_entries", "stream=start_time", "-of", "csv=p=0", "video.m3u8")
	// The first frame's pts is the encoder delay (2 frames with B-frames), not a timeline offset.
	if s, err := strconv.ParseFloat(strings.Fields(start)[0], 64); err != nil || s > 0.2 {
		t.Errorf("ffmpeg fMP4 HLS starts at %q, not ~0: MPEGTS:0 would be wrong", start)
	}
	subs, err := Parse([]byte("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfirst\n\n00:00:05.500 --> 00:00:06.000\nsecond\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	pl, segs, err := Segment(subs, 8*time.Second, SegmentOptions{SegmentDuration: 4 * time.Second, Prefix: "subs-fr-"})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("subs-fr.m3u8", pl)
	for name, b := range segs {
		write(name, b)
	}
	out := run("ffmpeg", "-nostdin", "-loglevel", "error", "-protocol_whitelist", "file", "-i", "file:subs-fr.m3u8",
		"-map", "0:s:0", "-f", "webvtt", "-")
	for _, want := range []string{"00:01.000 --> 00:02.000\nfirst", "00:05.500 --> 00:06.000\nsecond"} {
		if !strings.Contains(out, want) {
			t.Errorf("ffmpeg read back:\n%s\nwant %q", out, want)
		}
	}
	if n := len(regexp.MustCompile(`first`).FindAllString(out, -1)); n != 1 {
		t.Errorf("cue repeated %d times", n)
	}
}
