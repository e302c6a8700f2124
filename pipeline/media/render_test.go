package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
)

func TestRender(t *testing.T) {
	src := testenv.Clip(t, clip12)
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mp4")
	if _, err := Cut(ctxT(t), src, []Span{{sec(1.3), sec(5.7)}, {sec(7.1), sec(11)}}, CutAccurate, cut, nil); err != nil {
		t.Fatal(err)
	}
	subs := filepath.Join(dir, "fr.srt")
	os.WriteFile(subs, []byte("1\n00:00:01,000 --> 00:00:03,000\nBonjour\n"), 0o644)
	out := filepath.Join(dir, "out")
	var fractions []float64
	start := time.Now()
	res, err := Render(ctxT(t), cut, out, RenderOptions{
		Ladder:   []int{1080, 240, 120},
		Loudnorm: true,
		BurnIn:   subs,
		Chapters: []Chapter{{0, "Intro"}, {sec(4.4), "Partage par lien"}},
	}, func(p Progress) { fractions = append(fractions, p.Fraction) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("render in %s: %v", time.Since(start).Round(time.Millisecond), res.Files)
	dur := res.Duration
	if absDiff(dur, sec(8.28)) > 50*time.Millisecond {
		t.Errorf("duration %s, want 8.28 s", dur)
	}
	for _, f := range []string{"video.mp4", "audio.m4a", "poster.jpg", "storyboard.jpg", "storyboard.vtt", "chapters.vtt",
		"hls/master.m3u8", "hls/variants.json", "hls/240p/index.m3u8", "hls/240p/init.mp4", "hls/120p/index.m3u8"} {
		if !slices.Contains(res.Files, f) {
			t.Errorf("missing %s in %v", f, res.Files)
		}
	}
	for _, f := range res.Files {
		if strings.HasPrefix(f, ".") || strings.Contains(f, "/.") {
			t.Errorf("work file left behind: %s", f)
		}
	}
	decodeClean(t, filepath.Join(out, "video.mp4"))
	si := countFrames(t, filepath.Join(out, "video.mp4"))
	if si.frames != 207 || !si.hasAudio {
		t.Errorf("video.mp4: %+v", si)
	}
	// audio.m4a: the sound of video.mp4 alone, as long as it, decoding cleanly.
	decodeClean(t, filepath.Join(out, "audio.m4a"))
	if ai := countFrames(t, filepath.Join(out, "audio.m4a")); ai.frames != 0 || !ai.hasAudio || absDiff(ai.adur, si.adur) > 30*time.Millisecond {
		t.Errorf("audio.m4a: %+v, want audio only lasting %s", ai, si.adur)
	}

	// Master: one variant per capped ladder height, with the measured numbers.
	master, _ := os.ReadFile(filepath.Join(out, "hls", "master.m3u8"))
	vj, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(VariantsFile)))
	variants, err := ParseVariants(vj)
	if err != nil {
		t.Fatal(err)
	}
	if string(MasterPlaylist(variants, nil)) != string(master) {
		t.Errorf("variants.json does not regenerate master.m3u8:\n%s", master)
	}
	if len(variants) != 2 || variants[0].Height != 240 || variants[0].Width != 320 || variants[1].Height != 120 || variants[1].Width != 160 {
		t.Fatalf("variants %+v", variants)
	}
	for _, v := range variants {
		if v.Bandwidth <= 0 || v.AverageBandwidth <= 0 || v.AverageBandwidth > v.Bandwidth || v.Codecs != "avc1.64001e,mp4a.40.2" {
			t.Errorf("variant %+v", v)
		}
		if !strings.Contains(string(master), "RESOLUTION="+itoa(v.Width)+"x"+itoa(v.Height)) {
			t.Errorf("master lacks %dx%d:\n%s", v.Width, v.Height, master)
		}
		// Media playlist complete: every segment exists, durations sum up.
		vdir := filepath.Join(out, "hls", filepath.Dir(v.URI))
		data, err := os.ReadFile(filepath.Join(out, "hls", v.URI))
		if err != nil {
			t.Fatal(err)
		}
		pl, err := ParseMediaPlaylist(data)
		if err != nil || !pl.Ended || pl.Init == "" {
			t.Fatalf("%s: %+v %v", v.URI, pl, err)
		}
		var sum time.Duration
		for _, s := range pl.Segments {
			if _, err := os.Stat(filepath.Join(vdir, s.URI)); err != nil {
				t.Errorf("%s: %v", v.URI, err)
			}
			if s.Duration > 6*time.Second {
				t.Errorf("%s: segment %s lasts %s", v.URI, s.URI, s.Duration)
			}
			sum += s.Duration
		}
		if absDiff(sum, dur) > 100*time.Millisecond {
			t.Errorf("%s: segments sum to %s, want %s", v.URI, sum, dur)
		}
		entries, _ := os.ReadDir(vdir)
		if len(entries) != len(pl.Segments)+2 {
			t.Errorf("%s: %d files for %d segments", v.URI, len(entries), len(pl.Segments))
		}
		// The fMP4 rendition decodes cleanly as a whole, and is what CODECS says.
		decodeClean(t, filepath.Join(out, "hls", v.URI))
		pi, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=profile,level,width,height",
			"-of", "csv=p=0", filepath.Join(out, "hls", v.URI)).Output()
		if want := fmt.Sprintf("High,%d,%d,30", v.Width, v.Height); err != nil || !strings.HasPrefix(strings.TrimSpace(string(pi)), want) {
			t.Errorf("%s: stream %q (%v), want %s", v.URI, pi, err, want)
		}
	}

	// Storyboard cues cover [0, duration) without gaps.
	vtt, _ := os.ReadFile(filepath.Join(out, "storyboard.vtt"))
	var prev time.Duration
	cues := 0
	for _, l := range strings.Split(string(vtt), "\n") {
		if a, b, ok := strings.Cut(l, " --> "); ok {
			if s := vttDur(a); s != prev {
				t.Errorf("cue starts at %s, previous ended at %s", s, prev)
			}
			prev = vttDur(b)
			cues++
		}
	}
	if absDiff(prev, dur) > time.Millisecond || cues != 5 || !strings.Contains(string(vtt), "storyboard.jpg#xywh=640,0,160,120") {
		t.Errorf("storyboard.vtt ends at %s with %d cues:\n%s", prev, cues, vtt)
	}
	if w, h := jpegSize(t, filepath.Join(out, "storyboard.jpg")); w != 800 || h != 120 {
		t.Errorf("storyboard.jpg is %dx%d, want 800x120", w, h)
	}
	if w, h := jpegSize(t, filepath.Join(out, "poster.jpg")); w != 320 || h != 240 {
		t.Errorf("poster.jpg is %dx%d", w, h)
	}
	ch, _ := os.ReadFile(filepath.Join(out, "chapters.vtt"))
	if !strings.Contains(string(ch), "00:00:04.400 --> "+vttTime(dur)+"\nPartage par lien") {
		t.Errorf("chapters.vtt:\n%s", ch)
	}
	if fractions[len(fractions)-1] != 1 || !slices.IsSorted(fractions) {
		t.Errorf("progress fractions %v", fractions)
	}
}

func vttDur(s string) time.Duration {
	var h, m, sec, ms int
	if _, err := fmtSscanf(strings.TrimSpace(s), &h, &m, &sec, &ms); err != nil {
		return -1
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond
}

func TestRenderCancel(t *testing.T) {
	src := testenv.Clip(t, testenv.ClipOptions{Duration: 20 * time.Second, Width: 640, Height: 360, Audio: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	var stages []string
	_, err := Render(ctx, src, t.TempDir(), RenderOptions{Ladder: []int{360}}, func(p Progress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
		if p.Stage == "hls 360p" && p.Fraction > 0.1 && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || cancelled.IsZero() {
		t.Fatalf("err = %v after stages %v, want context.Canceled during hls", err, stages)
	}
	if d := time.Since(cancelled); d > 3*time.Second {
		t.Errorf("render took %s to stop after cancel", d)
	}
}
