package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/proc"
	"codeberg.org/atelier/atelier/internal/testenv"
)

func TestWaveformBucket(t *testing.T) {
	var pcm bytes.Buffer
	// 2.5 peaks' worth: a ramp −100..+100 (scaled to 16 bits), then silence, then half a peak
	// of a single loud sample.
	for i := 0; i < WaveformSamplesPerPeak; i++ {
		binary.Write(&pcm, binary.LittleEndian, int16((i*200/WaveformSamplesPerPeak-100)*256))
	}
	for i := 0; i < WaveformSamplesPerPeak; i++ {
		binary.Write(&pcm, binary.LittleEndian, int16(0))
	}
	for i := 0; i < WaveformSamplesPerPeak/2; i++ {
		v := int16(0)
		if i == 3 {
			v = -32768
		}
		binary.Write(&pcm, binary.LittleEndian, v)
	}
	pcm.WriteByte(7) // a torn last sample is dropped
	var w Waveform
	if err := w.bucket(&pcm); err != nil {
		t.Fatal(err)
	}
	want := []int8{-100, 99, 0, 0, -128, 0}
	if w.Length != 3 || !slicesEqual(w.Data, want) {
		t.Errorf("bucket: length %d data %v, want 3 %v", w.Length, w.Data, want)
	}
}

func slicesEqual(a, b []int8) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMakeWaveform decodes a real clip whose audio is quiet, then loud for one second, then
// quiet: ten peaks per second over its duration, high only where the audio is loud.
func TestMakeWaveform(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	clip := filepath.Join(t.TempDir(), "loud-middle.mp4")
	args := []string{"-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=3",
		"-f", "lavfi", "-i", "aevalsrc=if(between(t\\,1\\,2)\\,0.8\\,0.02)*sin(2*PI*440*t):s=48000:d=3",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip}
	if stderr, err := proc.Run(ctx, FFmpegPath, args, proc.Options{}); err != nil {
		t.Fatalf("making the clip: %v: %s", err, stderr)
	}
	p, err := ProbeFile(ctx, clip)
	if err != nil {
		t.Fatal(err)
	}
	w, err := MakeWaveform(ctx, clip, p)
	if err != nil {
		t.Fatal(err)
	}
	want := int(p.Duration.Seconds() * WaveformPeaksPerSecond)
	if w.Version != 2 || w.Channels != 1 || w.Bits != 8 || w.SampleRate/w.SamplesPerPixel != 10 || w.Length < want-1 || w.Length > want+1 || len(w.Data) != 2*w.Length {
		t.Fatalf("waveform header %+v (data %d), want about %d pairs at 10 per second", w, len(w.Data), want)
	}
	peak := func(i int) int { return max(int(w.Data[2*i+1]), -int(w.Data[2*i])) }
	for i := 12; i < 18; i++ { // 1.2–1.8 s: loud
		if peak(i) < 80 {
			t.Errorf("peak %d (loud part) = %d", i, peak(i))
		}
	}
	for _, i := range []int{2, 5, 8, 22, 25} { // quiet parts
		if peak(i) > 10 {
			t.Errorf("peak %d (quiet part) = %d", i, peak(i))
		}
	}
}

func TestSourceStoryboard(t *testing.T) {
	testenv.FFmpeg(t)
	ctx := context.Background()
	clip := testenv.Clip(t, testenv.ClipOptions{Duration: 5 * time.Second, Audio: true})
	p, err := ProbeFile(ctx, clip)
	if err != nil {
		t.Fatal(err)
	}
	jpg := filepath.Join(t.TempDir(), "storyboard.jpg")
	vtt, err := SourceStoryboard(ctx, clip, p, jpg, "storyboard.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(vtt), "WEBVTT\n") || !strings.Contains(string(vtt), "00:00:04.000 --> 00:00:05.000\nstoryboard.jpg#xywh=320,0,160,120") {
		t.Errorf("storyboard index:\n%s", vtt)
	}
	f, err := os.Open(jpg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil || img.Bounds().Dx() != 3*160 || img.Bounds().Dy() != 120 {
		t.Fatalf("sprite %v (%v), want 480x120", img.Bounds(), err)
	}
	// Every tile shows a frame: the last interval's one used to be dropped (a black tile).
	for i := range 3 {
		if l := meanLuma(img, image.Rect(i*160, 0, (i+1)*160, 120)); l < 16 {
			t.Errorf("tile %d is black (mean luma %.1f)", i, l)
		}
	}
}

func meanLuma(img image.Image, r image.Rectangle) float64 {
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}
