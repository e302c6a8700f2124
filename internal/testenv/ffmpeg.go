package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FFmpeg requires ffmpeg and ffprobe on PATH (see Require).
func FFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		_, err := exec.LookPath(tool)
		Require(t, tool, err)
	}
}

// ClipOptions describe a generated test clip. Zero values take defaults:
// 10 s, 320x240, 25 fps, a keyframe every 2 s (GOP = 2*FPS).
type ClipOptions struct {
	Duration      time.Duration
	Width, Height int
	FPS           int
	GOP           int // frames between keyframes (closed GOP unless OpenGOP)
	Audio         bool
	OpenGOP       bool // x264 open-gop, for the smart-cut fallback
	// VFR drops some frames so the frame rate is variable.
	VFR bool
}

func (o ClipOptions) withDefaults() ClipOptions {
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 320, 240
	}
	if o.FPS <= 0 {
		o.FPS = 25
	}
	if o.GOP <= 0 {
		o.GOP = 2 * o.FPS
	}
	return o
}

const counterFont = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

// ClipArgs are the ffmpeg arguments generating o into out: testsrc2 with
// the frame number drawn (when the DejaVu font is installed), H.264 high
// profile with B-frames and a fixed GOP, a 440 Hz sine in AAC.
func ClipArgs(o ClipOptions, out string) []string {
	o = o.withDefaults()
	video := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", o.Width, o.Height, o.FPS)
	if _, err := os.Stat(counterFont); err == nil {
		video += fmt.Sprintf(",drawtext=fontfile=%s:text='%%{frame_num}':fontsize=%d:fontcolor=white:box=1:boxcolor=black:x=8:y=8",
			counterFont, max(16, o.Height/6))
	}
	if o.VFR {
		// Drop every 7th and 11th frame, keeping the timestamps: durations vary.
		video += ",select='not(eq(mod(n\\,7)\\,3))*not(eq(mod(n\\,11)\\,5))'"
	}
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", video}
	if o.Audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000")
	}
	x264 := "open-gop=0"
	if o.OpenGOP {
		x264 = "open-gop=1"
	}
	args = append(args, "-t", strconv.FormatFloat(o.Duration.Seconds(), 'f', 3, 64),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-g", strconv.Itoa(o.GOP), "-keyint_min", strconv.Itoa(o.GOP), "-sc_threshold", "0", "-bf", "2",
		"-x264-params", x264)
	if o.VFR {
		args = append(args, "-fps_mode", "vfr")
	}
	if o.Audio {
		args = append(args, "-c:a", "aac", "-b:a", "96k")
	}
	return append(args, "-movflags", "+faststart", out)
}

var clips = struct {
	sync.Mutex
	paths map[string]string
}{paths: map[string]string{}}

var ffmpegVersion = sync.OnceValue(func() string {
	out, _ := exec.Command("ffmpeg", "-version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return first
})

// Clip returns the path of a generated H.264/AAC MP4 clip described by o.
// Clips are cached by their exact command and the ffmpeg version in
// $TMPDIR/atelier-clips-<uid>, shared by test binaries (written atomically),
// so the cache stays small and a second run skips the encoding. Tests must
// not modify the file.
func Clip(t testing.TB, o ClipOptions) string {
	t.Helper()
	FFmpeg(t)
	o = o.withDefaults()
	clips.Lock()
	defer clips.Unlock()
	args := ClipArgs(o, "OUT")
	sum := sha256.Sum256([]byte(ffmpegVersion() + "\x00" + strings.Join(args, "\x00")))
	key := hex.EncodeToString(sum[:8])
	if p, ok := clips.paths[key]; ok {
		return p
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("atelier-clips-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("testenv: clip dir: %v", err)
	}
	out := filepath.Join(dir, key+".mp4")
	if _, err := os.Stat(out); err != nil {
		tmp, err := os.CreateTemp(dir, key+"-*.mp4")
		if err != nil {
			t.Fatalf("testenv: clip: %v", err)
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		args[len(args)-1] = tmp.Name()
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("testenv: generate clip %+v: %v\n%s", o, err, b)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			t.Fatalf("testenv: clip: %v", err)
		}
	}
	clips.paths[key] = out
	return out
}
