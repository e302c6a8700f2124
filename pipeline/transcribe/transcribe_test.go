package transcribe

import (
	"codeberg.org/atelier/atelier/pipeline/media"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"codeberg.org/atelier/atelier/internal/testenv"
	"codeberg.org/atelier/atelier/pipeline/subtitle"
)

func TestExtractAudioArgs(t *testing.T) {
	got := strings.Join(ExtractAudioArgs("/in/rec.mp4", "/tmp/a.wav"), " ")
	want := "-nostdin -hide_banner -loglevel error -y -protocol_whitelist file,pipe -i file:/in/rec.mp4 -map 0:a:0 -vn -sn -dn -ac 1 -ar 16000 -c:a pcm_s16le -f wav file:/tmp/a.wav"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = strings.Join(ExtractAudioArgs("/in/rec.mp4", "/tmp/a.wav", media.Span{Start: 40 * time.Second, End: time.Minute},
		media.Span{Start: 10*time.Second + 500*time.Millisecond, End: 30 * time.Second}), " ")
	want = "-nostdin -hide_banner -loglevel error -y -protocol_whitelist file,pipe -i file:/in/rec.mp4 -map 0:a:0 -vn -sn -dn " +
		"-af aselect='between(t,10.500000,30.000000)+between(t,40.000000,60.000000)',asetpts=N/SR/TB -ac 1 -ar 16000 -c:a pcm_s16le -f wav file:/tmp/a.wav"
	if got != want {
		t.Errorf("with kept spans:\ngot  %s\nwant %s", got, want)
	}
}

func TestParsePocketsphinx(t *testing.T) {
	cont := "testing testing want to three\n<s> 0.000 0.030 0.999600\ntesting 0.040 0.510 0.002518\n<sil> 0.520 0.570 0.999200\nthe(2) 1.460 1.530 0.284379\n[NOISE] 1.6 1.7 0.1\n</s> 4.710 5.290 1.000000\nhello world it is\n"
	got := ParsePocketsphinxTimes([]byte(cont))
	want := []Word{{"testing", 40 * time.Millisecond, 510 * time.Millisecond}, {"the", 1460 * time.Millisecond, 1530 * time.Millisecond}}
	if !slices.Equal(got, want) {
		t.Errorf("continuous: got %v, want %v", got, want)
	}
	js := `{"b":0.000,"d":1.500,"p":1.000,"t":"hello world","w":[{"b":0.000,"d":0.100,"p":1.000,"t":"<s>"},{"b":0.100,"d":0.500,"p":0.9,"t":"hello"},{"b":0.600,"d":0.700,"p":0.9,"t":"world(2)"}]}
{"b":2.000,"d":0.500,"p":1.000,"t":"test","w":[{"b":2.000,"d":0.500,"p":0.9,"t":"test"}]}
`
	got, err := ParsePocketsphinxJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	want = []Word{{"hello", 100 * time.Millisecond, 600 * time.Millisecond}, {"world", 600 * time.Millisecond, 1300 * time.Millisecond}, {"test", 2 * time.Second, 2500 * time.Millisecond}}
	if !slices.Equal(got, want) {
		t.Errorf("json: got %v, want %v", got, want)
	}
	if _, err := ParsePocketsphinxJSON([]byte("{broken")); err == nil {
		t.Error("broken JSON accepted")
	}
}

// speechClip makes a short video with spoken English as its audio track.
func speechClip(t *testing.T, text string) string {
	t.Helper()
	_, err := exec.LookPath("ffmpeg")
	testenv.Require(t, "ffmpeg", err)
	wav := testenv.Speech(t, text)
	clip := filepath.Join(t.TempDir(), "talk.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:size=64x36:rate=10",
		"-i", wav, "-shortest", "-c:v", "libx264", "-c:a", "aac", "-y", clip)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return clip
}

func audioDuration(t *testing.T, path string) time.Duration {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	d, err := time.ParseDuration(strings.TrimSpace(string(out)) + "s")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPocketsphinx(t *testing.T) {
	testenv.Pocketsphinx(t)
	clip := speechClip(t, "testing testing one two three. the weather is nice today. welcome to the workshop.")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	wav := filepath.Join(t.TempDir(), "audio.wav")
	if err := ExtractAudio(ctx, clip, wav); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,channels,codec_name", "-of", "csv=p=0", wav).Output()
	if err != nil || strings.TrimSpace(string(out)) != "pcm_s16le,16000,1" {
		t.Fatalf("extracted audio: %q, %v", out, err)
	}
	span := audioDuration(t, wav)
	kept := filepath.Join(t.TempDir(), "kept.wav")
	if err := ExtractAudio(ctx, clip, kept, media.Span{Start: 0, End: time.Second}, media.Span{Start: 2 * time.Second, End: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if d := audioDuration(t, kept); d < 1900*time.Millisecond || d > 2100*time.Millisecond {
		t.Errorf("kept audio lasts %s, want 2s", d)
	}

	var p Pocketsphinx
	subs, err := p.Transcribe(ctx, wav, "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs.Items) == 0 {
		t.Fatal("no cues")
	}
	var text []string
	var last time.Duration
	for i, it := range subs.Items {
		if it.StartAt < last || it.EndAt <= it.StartAt || it.EndAt > span+time.Second {
			t.Errorf("cue %d %s-%s outside the audio (%s) or overlapping", i, it.StartAt, it.EndAt, span)
		}
		last = it.EndAt
		text = append(text, subtitle.PlainText(it))
	}
	all := strings.Join(text, " ")
	t.Logf("recognised: %q in %d cues", all, len(subs.Items))
	if !strings.Contains(all, "testing") && !strings.Contains(all, "three") && !strings.Contains(all, "weather") && !strings.Contains(all, "workshop") {
		t.Errorf("none of the expected words recognised in %q", all)
	}
	if _, err := p.Transcribe(ctx, wav, "fr"); !errors.Is(err, ErrUnsupportedLang) {
		t.Errorf("French: %v, want ErrUnsupportedLang", err)
	}
}

func TestCommand(t *testing.T) {
	script, err := filepath.Abs("testdata/fake-transcriber.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		testenv.Require(t, "sh", err)
	}
	audio := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(audio, []byte("RIFF fake audio"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		mode, text, errText string
	}{
		{mode: "vtt", text: "hello from fr"},
		{mode: "stdout", text: "srt on stdout"},
		{mode: "broken", errText: "line 6: malformed timestamp"},
		{mode: "fail", errText: "model not found"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			tr, err := New(BackendCommand, script+" "+tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			subs, err := tr.Transcribe(ctx, audio, "fr")
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("got %v, want an error with %q", err, tt.errText)
				}
				var pe *subtitle.ParseError
				if tt.mode == "broken" && !errors.As(err, &pe) {
					t.Errorf("bad output is not a *subtitle.ParseError: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(subs.Items) != 1 || subtitle.PlainText(subs.Items[0]) != tt.text {
				t.Errorf("got %d cues, first %q", len(subs.Items), subtitle.PlainText(subs.Items[0]))
			}
		})
	}
	if _, err := New(BackendCommand, "  "); err == nil {
		t.Error("empty command accepted")
	}
	if tr, err := New("", ""); tr != nil || err != nil {
		t.Errorf("off: %v, %v", tr, err)
	}
	if _, err := New("whisper", ""); err == nil {
		t.Error("unknown backend accepted")
	}
}
